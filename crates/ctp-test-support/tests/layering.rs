//! The layering rules of ARCHITECTURE.md ("Layering: the rules"), checked. The dependencies
//! come from `cargo metadata --no-deps` (each workspace crate's declared dependencies with
//! their kind: normal, dev or build), the rest from the sources. A failure names the rule,
//! the crate and the dependency or line that breaks it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The backends: the only crates that implement `ctp_store::Store` over a database.
const BACKENDS: [&str; 2] = ["ctp-store-sqlite", "ctp-store-postgres"];

/// The pure crates below ctp-model (rule 1): what it may build on.
const PURE: [&str; 3] = ["ctpscript", "ctp-ledger", "ctp-jws"];

/// The SQL the backends share (a crate of the store reshaping, issue 11): it sits with them.
const BACKEND_SQL: &str = "ctp-store-sql";

/// Besides the backends, the only crates that may see a backend or a driver.
const SEE_BACKENDS: [&str; 4] = ["ctpd", "ctp-store-open", "ctp-test-support", "ctp-store-contract"];

/// Database drivers and pools.
const DRIVERS: [&str; 20] = [
    "rusqlite",
    "libsqlite3-sys",
    "sqlite",
    "tokio-postgres",
    "postgres",
    "postgres-types",
    "postgres-protocol",
    "postgres-native-tls",
    "postgres-openssl",
    "deadpool",
    "deadpool-postgres",
    "deadpool-sqlite",
    "r2d2",
    "r2d2_postgres",
    "r2d2_sqlite",
    "sqlx",
    "diesel",
    "sea-orm",
    "mysql",
    "mysql_async",
];

/// Async runtimes and crates whose purpose is I/O (network, files, processes).
const RUNTIMES_AND_IO: [&str; 22] = [
    "tokio",
    "tokio-util",
    "async-std",
    "smol",
    "async-executor",
    "async-io",
    "futures-executor",
    "mio",
    "socket2",
    "hyper",
    "hyper-util",
    "reqwest",
    "ureq",
    "curl",
    "axum",
    "tower-http",
    "tokio-rustls",
    "tokio-xmpp",
    "hickory-resolver",
    "tempfile",
    "walkdir",
    "memmap2",
];

/// HTTP crates (clients, servers and their plumbing).
const HTTP: [&str; 9] = ["hyper", "hyper-util", "http-body", "reqwest", "ureq", "curl", "axum", "tower", "tower-http"];

/// Paths of the standard library that do I/O.
const STD_IO: [&str; 5] = ["std::fs", "std::net", "std::io", "std::process", "std::env"];

/// SQL that a crate which knows no SQL does not hold.
const SQL: [&str; 10] = [
    "SELECT ",
    "INSERT INTO",
    "UPDATE ",
    "DELETE FROM",
    "CREATE TABLE",
    "CREATE INDEX",
    "CREATE SEQUENCE",
    "ALTER TABLE",
    "DROP TABLE",
    " WHERE ",
];

/// One declared dependency of a workspace crate.
#[derive(Clone, Debug)]
struct Dependency {
    name: String,
    /// `normal`, `dev` or `build`.
    kind: &'static str,
}

/// The workspace's crates and their declared dependencies.
type Workspace = BTreeMap<String, Vec<Dependency>>;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// `cargo metadata --no-deps`, in the workspace root: every workspace crate with its declared
/// dependencies.
fn workspace() -> Workspace {
    let output = Command::new(env!("CARGO"))
        .current_dir(workspace_root())
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&output.stderr));
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    let packages = metadata["packages"].as_array().expect("packages");
    packages
        .iter()
        .map(|package| {
            let dependencies = package["dependencies"].as_array().expect("dependencies");
            let dependencies = dependencies
                .iter()
                .map(|d| Dependency {
                    name: d["name"].as_str().expect("a name").to_owned(),
                    kind: match d["kind"].as_str() {
                        None => "normal",
                        Some("dev") => "dev",
                        Some("build") => "build",
                        Some(other) => panic!("unknown dependency kind {other:?}"),
                    },
                })
                .collect();
            (package["name"].as_str().expect("a name").to_owned(), dependencies)
        })
        .collect()
}

/// The workspace crates `name` depends on through normal and build dependencies, directly or
/// through other workspace crates (what its library is built with).
fn library_closure(workspace: &Workspace, name: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut next = vec![name.to_owned()];
    while let Some(current) = next.pop() {
        for dependency in workspace.get(&current).into_iter().flatten() {
            if dependency.kind != "dev"
                && workspace.contains_key(&dependency.name)
                && seen.insert(dependency.name.clone())
            {
                next.push(dependency.name.clone());
            }
        }
    }
    seen
}

/// Every broken rule, one line each.
fn violations(workspace: &Workspace) -> Vec<String> {
    let mut found = Vec::new();
    let is_workspace = |name: &str| workspace.contains_key(name);
    let is_backend = |name: &str| BACKENDS.contains(&name);
    let is_driver = |name: &str| DRIVERS.contains(&name);
    for (krate, dependencies) in workspace {
        let krate = krate.as_str();
        let mut broken = |rule: &str, dependency: &Dependency| {
            found.push(format!("{rule}: {krate} has a {} dependency on {}", dependency.kind, dependency.name));
        };
        let library = |d: &&Dependency| d.kind != "dev";
        let internal: Vec<&Dependency> = dependencies.iter().filter(|d| is_workspace(&d.name)).collect();
        match krate {
            "ctpscript" | "ossec-alerts" | "ctp-ledger" | "ctp-jws" => {
                for d in &internal {
                    broken(&format!("rule 1 ({krate} depends on no other workspace crate)"), d);
                }
                for d in dependencies.iter().filter(library) {
                    if RUNTIMES_AND_IO.contains(&d.name.as_str()) || is_driver(&d.name) {
                        broken(&format!("rule 1 ({krate} does no I/O: no runtime, I/O or driver crate)"), d);
                    }
                }
            }
            "ossec-sources" => {
                for d in internal.iter().filter(|d| d.name != "ossec-alerts") {
                    broken("rule 7 (ossec-sources depends on no workspace crate but ossec-alerts)", d);
                }
                for d in dependencies.iter().filter(|d| HTTP.contains(&d.name.as_str()) || is_driver(&d.name)) {
                    broken("rule 7 (ossec-sources knows no HTTP and no store: no HTTP or driver crate)", d);
                }
            }
            "ctp-model" => {
                for d in internal.iter().filter(|d| !PURE.contains(&d.name.as_str())) {
                    broken("rule 2 (ctp-model depends only on ctpscript, ctp-ledger and ctp-jws)", d);
                }
                for d in dependencies.iter().filter(library) {
                    if RUNTIMES_AND_IO.contains(&d.name.as_str()) || is_driver(&d.name) {
                        broken("rule 2 (ctp-model has no async runtime, I/O or driver crate)", d);
                    }
                }
            }
            "ctp-store" => {
                for d in
                    internal.iter().filter(|d| !["ctp-model", "ctpscript", "ctp-ledger"].contains(&d.name.as_str()))
                {
                    broken("rule 3 (ctp-store, the interface, depends only on ctp-model, ctpscript and ctp-ledger)", d);
                }
                for d in dependencies.iter().filter(|d| is_driver(&d.name)) {
                    broken("rule 3 (ctp-store, the interface, knows no SQL: no driver)", d);
                }
            }
            "ctp-client" => {
                for d in internal
                    .iter()
                    .filter(|d| !["ctp-model", "ctpscript", "ctp-ledger", "ctp-jws"].contains(&d.name.as_str()))
                {
                    broken(
                        "rule 8 (ctp-client depends only on ctp-model, ctp-ledger and ctp-jws: never on ctp-server, the \
                         store or a backend)",
                        d,
                    );
                }
                for d in dependencies.iter().filter(|d| is_driver(&d.name)) {
                    broken("rule 8 (ctp-client knows no database: no driver)", d);
                }
            }
            "ctp" => {
                for d in internal.iter().filter(|d| {
                    !["ctp-client", "ctp-model", "ctpscript", "ctp-ledger", "ctp-jws"].contains(&d.name.as_str())
                }) {
                    broken("rule 8 (ctp, the client binary, depends only on ctp-client and the pure crates)", d);
                }
                for d in dependencies.iter().filter(|d| is_driver(&d.name)) {
                    broken("rule 8 (ctp knows no database: no driver)", d);
                }
            }
            _ if is_backend(krate) || krate == BACKEND_SQL => {
                let allowed = ["ctp-store", "ctp-model", "ctpscript", "ctp-ledger", BACKEND_SQL];
                for d in internal.iter().filter(|d| !allowed.contains(&d.name.as_str())) {
                    broken(
                        "rule 4 (a backend depends only on ctp-store, ctp-model, ctpscript, ctp-ledger and ctp-store-sql; \
                         never on ctp-server)",
                        d,
                    );
                }
            }
            _ => {}
        }
        let may_see_backends = is_backend(krate) || SEE_BACKENDS.contains(&krate);
        if !may_see_backends {
            for d in dependencies.iter().filter(|d| is_backend(&d.name) || is_driver(&d.name)) {
                let rule = if krate == "ctp-server" {
                    "rule 5 (ctp-server, the HTTP crate, depends on no backend and no driver, not even for tests)"
                } else {
                    "rule 6 (only ctpd, ctp-store-open, ctp-test-support and ctp-store-contract see the backends \
                     and drivers)"
                };
                broken(rule, d);
            }
            for through in library_closure(workspace, krate).into_iter().filter(|c| is_backend(c)) {
                found.push(format!(
                    "rule 5/6 (no backend below a crate that may not see them): {krate} is built with the backend \
                     {through} through its workspace dependencies"
                ));
            }
        }
    }
    found
}

/// The lines of the Rust sources under `dir` (comments left out) that hold one of `needles`.
fn lines_holding(dir: &Path, needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap_or_else(|e| panic!("{}: {e}", folder.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (number, line) in text.lines().enumerate() {
                    let code = line.trim_start();
                    if !code.starts_with("//") && needles.iter().any(|n| code.contains(n)) {
                        found.push(format!("{}:{}: {}", path.display(), number + 1, code));
                    }
                }
            }
        }
    }
    found.sort();
    found
}

#[test]
fn the_crates_depend_on_each_other_as_the_layering_rules_say() {
    let workspace = workspace();
    for expected in ["ctpscript", "ctp-model", "ctp-store", "ctp-server", "ctpd", "ctp-test-support"] {
        assert!(workspace.contains_key(expected), "cargo metadata lists {expected}: {:?}", workspace.keys());
    }
    let found = violations(&workspace);
    assert!(found.is_empty(), "the layering rules of ARCHITECTURE.md are broken:\n{}", found.join("\n"));
}

#[test]
fn a_broken_rule_is_reported_with_the_rule_and_the_dependency() {
    let mut workspace = workspace();
    let add = |workspace: &mut Workspace, krate: &str, name: &str, kind: &'static str| {
        workspace.get_mut(krate).unwrap().push(Dependency { name: name.into(), kind });
    };
    add(&mut workspace, "ctp-server", "tokio-postgres", "dev");
    add(&mut workspace, "ctp-store", "rusqlite", "normal");
    add(&mut workspace, "ctp-model", "ctp-store-sqlite", "normal");
    add(&mut workspace, "ctpscript", "tokio", "normal");
    add(&mut workspace, "ctp-store-postgres", "ctp-server", "dev");
    add(&mut workspace, "ossec-sources", "ctp-store", "normal");
    add(&mut workspace, "ossec-sources", "axum", "dev");
    add(&mut workspace, "ctp-jws", "reqwest", "normal");
    add(&mut workspace, "ctp-jws", "ctp-model", "normal");
    add(&mut workspace, "ctp-client", "ctp-server", "normal");
    add(&mut workspace, "ctp", "ctp-test-support", "dev");
    let found = violations(&workspace);
    let expect = |rule: &str, text: &str| {
        assert!(found.iter().any(|v| v.starts_with(rule) && v.contains(text)), "{rule} {text}: {found:#?}");
    };
    expect("rule 5 (ctp-server", "ctp-server has a dev dependency on tokio-postgres");
    expect("rule 3 (ctp-store, the interface, knows no SQL", "ctp-store has a normal dependency on rusqlite");
    expect(
        "rule 2 (ctp-model depends only on ctpscript, ctp-ledger and ctp-jws)",
        "ctp-model has a normal dependency on ctp-store-sqlite",
    );
    expect("rule 6", "ctp-model has a normal dependency on ctp-store-sqlite");
    expect("rule 1 (ctpscript does no I/O", "ctpscript has a normal dependency on tokio");
    expect("rule 1 (ctp-jws does no I/O", "ctp-jws has a normal dependency on reqwest");
    expect("rule 1 (ctp-jws depends on no other workspace crate)", "ctp-jws has a normal dependency on ctp-model");
    expect("rule 4", "ctp-store-postgres has a dev dependency on ctp-server");
    expect("rule 7 (ossec-sources depends on no workspace crate", "ossec-sources has a normal dependency on ctp-store");
    expect("rule 7 (ossec-sources knows no HTTP", "ossec-sources has a dev dependency on axum");
    expect("rule 8 (ctp-client depends only on", "ctp-client has a normal dependency on ctp-server");
    expect("rule 8 (ctp, the client binary", "ctp has a dev dependency on ctp-test-support");
    // ctp-server is built with ctp-model, which would now bring a backend along.
    expect("rule 5/6", "ctp-server is built with the backend ctp-store-sqlite");
}

#[test]
fn ctpscript_ctp_model_the_alert_parsers_the_ledger_and_ctp_jws_do_no_io() {
    let root = workspace_root();
    for krate in ["ctpscript", "ctp-model", "ossec-alerts", "ctp-ledger", "ctp-jws"] {
        let found = lines_holding(&root.join("crates").join(krate).join("src"), &STD_IO);
        assert!(found.is_empty(), "rule 1/2 ({krate} does no I/O: no {}):\n{}", STD_IO.join(", "), found.join("\n"));
    }
}

/// Rule 3, in the sources: the interface crate holds no SQL (the SQL both backends share
/// is in ctp-store-sql).
#[test]
fn the_interface_crate_holds_no_sql() {
    let found = lines_holding(&workspace_root().join("crates/ctp-store/src"), &SQL);
    assert!(
        found.is_empty(),
        "rule 3 (ctp-store, the interface, knows no SQL): SQL in crates/ctp-store/src:\n{}",
        found.join("\n")
    );
}
