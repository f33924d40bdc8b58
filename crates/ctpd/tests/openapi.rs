//! The OpenAPI document against the real server: Schemathesis (`st`, PyPI `schemathesis`
//! 4.32.5, which `scripts/test` installs) generates requests from the document that `ctpd
//! serve` serves and checks every answer against it. The server is the real binary with the
//! demo data set and a few more resources, so that the fuzzer reaches real resources of
//! every kind (their ids, and valid conditions and links for request bodies, are handed to it
//! as dictionaries) and not only 404s; it runs once with the demo customer's token and once
//! with the administrator's.
//!
//! It fails on any 5xx, any answer whose status, content type, headers or body the document
//! does not describe, any invalid request the server accepts, and any crash of Schemathesis.
//! Both runs take about 20 s each here (some 3 300 requests each); a hard limit stops a run
//! that hangs. `CTPD_SCHEMATHESIS_SEED` picks another seed (the default is fixed, so that a
//! failure reproduces), `CTPD_SCHEMATHESIS_EXAMPLES` the number of fuzzed requests per
//! operation (10), `CTPD_SCHEMATHESIS_DIR` a folder that keeps the store, the configurations,
//! the output and a HAR file of every request. The store is SQLite, or PostgreSQL with
//! `CTPD_TEST_BACKEND=postgres` (see the harness).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ctp_test_support::{id_of, link, Client, Ctpd, DatabaseUrl, StoreLocation, Tree};
use serde_json::{json, Value};

const ADMIN_TOKEN: &str = "admin-token-for-the-openapi-test";
/// The Schemathesis checks that must pass. `positive_data_acceptance` is not one: much of
/// what the server checks is beyond a JSON schema (CTPScript syntax, a result against its
/// metric's columns, links to resources of the right service view, the webhook policy,
/// `page` only with `items`), so it would report the 400s the document describes.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_headers_conformance,response_schema_conformance,negative_data_rejection,\
                      missing_required_header,unsupported_method,allow_header_conformance,ignored_auth";
/// No run of Schemathesis may take longer.
const RUN_TIME_LIMIT: Duration = Duration::from_secs(90);

/// The real binary with the demo data set, and the demo customer's token; its log goes to
/// `dir/ctpd.log`.
struct Demo {
    process: Ctpd,
    customer_token: String,
}

impl Demo {
    fn start(dir: &Path, database: &str) -> Demo {
        let mut process = Ctpd::serve(env!("CARGO_BIN_EXE_ctpd"))
            .dir(dir)
            .args(["--database", database])
            .admin_token(ADMIN_TOKEN)
            .args(["--demo", "--rate-limit", "0"])
            .stdout_piped()
            .start();
        // The demo prints its tokens once the data is seeded, before serving; the rest of
        // the output is read too, so that ctpd never writes to a closed pipe.
        let mut stdout = BufReader::new(process.take_stdout()).lines();
        let lines: Vec<String> = stdout.by_ref().take(8).map(|l| l.unwrap()).collect();
        std::thread::spawn(move || stdout.for_each(drop));
        let customer_token = lines
            .iter()
            .find(|l| l.contains("customer token"))
            .and_then(|l| l.split_whitespace().last())
            .unwrap_or_else(|| panic!("the demo prints the customer's token: {lines:?}"))
            .to_owned();
        Demo { process, customer_token }
    }

    fn base(&self) -> String {
        self.process.base()
    }
}

/// The ids Schemathesis is given, by dictionary name: the resources of each kind that the
/// operations read and change (`{kind}`), those that `DELETE` operations may delete
/// (`doomed_{kind}`), and links for request bodies.
type Dictionaries = BTreeMap<String, Vec<String>>;

/// Lists a collection as the administrator: the ids of its members.
async fn ids(admin: &Client, collection: &str) -> Vec<String> {
    let listing = admin.get_ok(collection).await;
    listing["collection"].as_array().unwrap().iter().map(|member| id_of(&member["link"])).collect()
}

/// Everything the demo has, and more: a dependency of a dependency, a trigger with a webhook
/// that fired (a log entry and a delivery job), a second service view to delete, accounts.
async fn fixtures(ctpd: &Demo) -> Dictionaries {
    let admin = Client::new(&ctpd.base(), Some(ADMIN_TOKEN));
    let customer = Client::new(&ctpd.base(), Some(&ctpd.customer_token));
    let mut d = Dictionaries::new();
    fn add(d: &mut Dictionaries, name: &str, id: String) {
        d.entry(name.to_owned()).or_default().push(id);
    }

    let views = ids(&admin, "serviceViews").await;
    let view = views[0].clone();
    for dependency in ids(&admin, &format!("serviceViews/{view}/dependencies")).await {
        let nested = admin.create(&format!("dependencies/{dependency}/dependencies"), json!({"name": "nested"})).await;
        add(&mut d, "dependencies", id_of(&nested["self"]));
        add(&mut d, "dependencies", dependency);
    }
    let mut measurement_links = Vec::new();
    for asset in ids(&admin, &format!("serviceViews/{view}/assets")).await {
        for attribute in ids(&admin, &format!("assets/{asset}/attributes")).await {
            for measurement in ids(&admin, &format!("attributes/{attribute}/measurements")).await {
                measurement_links.push(format!("{}measurements/{measurement}", ctpd.base()));
                // The user-activated one first: it is the one PUT operations change.
                let user_activated =
                    admin.get_ok(&format!("measurements/{measurement}")).await["userActivated"] == true;
                let measurements = d.entry("measurements".to_owned()).or_default();
                match user_activated {
                    true => measurements.insert(0, measurement),
                    false => measurements.push(measurement),
                }
            }
            add(&mut d, "attributes", attribute);
        }
        add(&mut d, "assets", asset);
    }
    // A trigger of the customer that fires at once (its measurement has a result) and
    // notifies a webhook: a log entry and a delivery job (which fails: the name does not
    // resolve here).
    let fired = customer
        .create(
            &format!("serviceViews/{view}/triggers"),
            json!({"name": "always", "measurement": measurement_links[0], "condition": "value.length >= 0",
                   "notification": "https://hooks.example.com/ctp"}),
        )
        .await;
    assert_eq!(fired["status"], "true", "{fired}");
    for trigger in ids(&admin, &format!("serviceViews/{view}/triggers")).await {
        add(&mut d, "triggers", trigger);
    }
    for log in ids(&admin, "logs").await {
        add(&mut d, "logs", log);
    }
    // An authority with a key (results may name it).
    let authority = admin
        .create(
            "authorities",
            json!({"name": "fixture", "keys": [{"kid": "k1", "jwk": {"kty": "OKP", "crv": "Ed25519",
                   "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}}]}),
        )
        .await;
    add(&mut d, "authorities", id_of(&authority["self"]));
    // An audit record (of the changes above).
    let audit = admin.get_ok("audit?page=0&items=1").await;
    add(&mut d, "audit", id_of(&audit["collection"][0]["self"]));
    // A drill of that view (its message goes to the same webhook).
    let drill = admin.create(&format!("serviceViews/{view}/drills"), json!({"annotation": "fixture"})).await;
    add(&mut d, "drills", id_of(&drill["self"]));
    let deliveries = admin.get_ok("deliveries").await;
    for delivery in deliveries["collection"].as_array().unwrap() {
        add(&mut d, "deliveries", id_of(&delivery["self"]));
    }
    for metric in ids(&admin, "metrics").await {
        add(&mut d, "metric_links", format!("{}metrics/{metric}", ctpd.base()));
        add(&mut d, "metrics", metric);
    }
    for account in ids(&admin, "accounts").await {
        add(&mut d, "accounts", account);
    }
    add(&mut d, "views", view);
    for measurement in measurement_links {
        add(&mut d, "measurement_links", measurement);
    }
    // Valid conditions and notifications, which random text seldom is.
    for condition in ["true", "value.length > 0", "value.length == 0 || value[0].level >= 10"] {
        add(&mut d, "conditions", condition.to_owned());
    }
    for notification in ["", "https://hooks.example.com/ctp", "xmpp:security-team@example.com"] {
        add(&mut d, "notifications", notification.to_owned());
    }

    // What DELETE operations delete: a tree of the customer's, with a dependency, a trigger
    // and a metric of its own, and an account.
    let doomed = Tree::build(&admin, &["customer:st-mary-hospital"], false).await;
    let dependency = admin.create(&format!("{}/dependencies", link(&doomed.view)), json!({"name": "d"})).await;
    let trigger = customer
        .create(
            &format!("{}/triggers", link(&doomed.view)),
            json!({"measurement": link(&doomed.measurement), "condition": "true"}),
        )
        .await;
    let metric = admin.create("metrics", json!({"resultFormat": [{"name": "n", "type": "number"}]})).await;
    let account = admin.create("accounts", json!({"accountTags": ["role:user"]})).await;
    for (kind, resource) in [
        ("views", &doomed.view),
        ("dependencies", &dependency),
        ("assets", &doomed.asset),
        ("attributes", &doomed.attribute),
        ("measurements", &doomed.measurement),
        ("triggers", &trigger),
        ("metrics", &metric),
        ("accounts", &account),
    ] {
        add(&mut d, &format!("doomed_{kind}"), id_of(&resource["self"]));
    }
    d
}

/// `schemathesis.toml`: the dictionaries, and for each operation of the served `document`
/// with an `{id}`, the resources it works on. A `GET` draws an id of its kind 4 times in 5
/// (otherwise the fuzzer's own ids, for the 400s and 404s). A `PUT` or `POST` always takes
/// the first of its kind, so that the bodies of the coverage phase, which sees no
/// dictionaries, are checked by the server and not refused for a missing resource. A
/// `DELETE` always takes a doomed id: ids the fuzzer picked up from answers could be the
/// administrator's own account or the resources the other operations read. Operations are
/// named by their operationId: Schemathesis selects an operation that matches any one of
/// the filters of an `[[operations]]` entry.
fn config(document: &Value, dictionaries: &Dictionaries, token: &str, examples: u32) -> String {
    let mut toml = format!(
        "generation.max-examples = {examples}\ngeneration.database = \"none\"\n\n\
         [phases.stateful]\nenabled = false\n\n[auth.openapi.bearer]\nbearer = \"{token}\"\n\n"
    );
    for (name, values) in dictionaries {
        let values: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
        writeln!(toml, "[dictionaries.{name}]\nvalues = [{}]\n", values.join(", ")).unwrap();
    }
    // One entry per operation: of several that select it, Schemathesis uses one.
    let mut parameters: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut bind = |operation: &str, parameter: &str, value: String| {
        parameters.entry(operation.to_owned()).or_default().push(format!("\"{parameter}\" = {value}"));
    };
    let draw = |dictionary: &str| {
        assert!(dictionaries.contains_key(dictionary), "no fixture for {dictionary}");
        format!("{{ dictionary = \"{dictionary}\", probability = 0.8 }}")
    };
    let first = |dictionary: &str| format!("{:?}", dictionaries[dictionary][0]);
    for (path, item) in document["paths"].as_object().unwrap() {
        let Some(rest) = path.strip_prefix("/api/1.0/").filter(|p| p.contains("/{id}")) else { continue };
        let kind = match rest.split('/').next().unwrap() {
            "serviceViews" => "views",
            other => other,
        };
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap();
            let value = match method.as_str() {
                "get" => draw(kind),
                "delete" => first(&format!("doomed_{kind}")),
                _ => first(kind),
            };
            bind(id, "path.id", value);
        }
    }
    bind("create_trigger", "body.measurement", draw("measurement_links"));
    bind("create_trigger", "body.condition", draw("conditions"));
    bind("create_trigger", "body.notification", draw("notifications"));
    bind("create_measurement", "body.metric", draw("metric_links"));
    // The operations whose bodies have the most to check get more examples.
    let busy = ["create_trigger", "create_measurement", "put_measurement"];
    for (operation, parameters) in parameters {
        writeln!(
            toml,
            "[[operations]]\ninclude-operation-id = \"{operation}\"\nparameters = {{ {} }}",
            parameters.join(", ")
        )
        .unwrap();
        if busy.contains(&operation.as_str()) {
            writeln!(toml, "generation.max-examples = {}", examples * 4).unwrap();
        }
        writeln!(toml).unwrap();
    }
    toml
}

/// `st --version`, or a failure that says how to install it.
fn schemathesis_version() -> String {
    let output = Command::new("st").arg("--version").output().unwrap_or_else(|e| {
        panic!(
            "Schemathesis is not installed ({e}): this test needs its `st` command; install it with \
             `pip install schemathesis==4.32.5` (scripts/test does)"
        )
    });
    assert!(output.status.success(), "`st --version` failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Runs `st run` on the served document, with the checks, within the time limit; its
/// output, whether it passed, and how long it took.
fn schemathesis(dir: &Path, ctpd: &Demo, config_file: &Path, seed: &str) -> (String, bool, Duration) {
    let started = Instant::now();
    let output_file = dir.join(format!("{}.out", config_file.file_stem().unwrap().to_string_lossy()));
    let output = std::fs::File::create(&output_file).unwrap();
    // One worker: with two, Python 3.11.7's parser fails now and then in Hypothesis
    // ("AST constructor recursion depth mismatch"), which is a crash of the run.
    let mut child = Command::new("st")
        .current_dir(dir)
        .arg("--config-file")
        .arg(config_file)
        .arg("run")
        .arg(format!("{}openapi.json", ctpd.base()))
        .args(["--checks", CHECKS, "--phases", "examples,coverage,fuzzing", "--workers", "1"])
        .args(["--seed", seed, "--no-color", "--request-timeout", "20", "--report", "har", "--report-har-path"])
        .arg(dir.join(format!("{}.har", config_file.file_stem().unwrap().to_string_lossy())))
        .stdin(Stdio::null())
        .stdout(output.try_clone().unwrap())
        .stderr(output)
        .spawn()
        .expect("st runs");
    let passed = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.success();
        }
        if started.elapsed() > RUN_TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            let output = std::fs::read_to_string(&output_file).unwrap_or_default();
            panic!("Schemathesis did not finish within {RUN_TIME_LIMIT:?}:\n{output}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    (std::fs::read_to_string(&output_file).unwrap_or_default(), passed, started.elapsed())
}

#[test]
fn schemathesis_finds_the_server_as_documented() {
    let version = schemathesis_version();
    let temporary = tempfile::tempdir().unwrap();
    // CTPD_SCHEMATHESIS_DIR keeps the store, the configurations and Schemathesis' output.
    let dir = match std::env::var_os("CTPD_SCHEMATHESIS_DIR") {
        Some(kept) => {
            std::fs::create_dir_all(&kept).unwrap();
            let _ = std::fs::remove_file(Path::new(&kept).join("ctpd.db"));
            let _ = std::fs::remove_file(Path::new(&kept).join("ctpd.log"));
            std::path::PathBuf::from(kept)
        }
        None => temporary.path().to_owned(),
    };
    let dir = dir.as_path();
    let store = tokio::runtime::Runtime::new().unwrap().block_on(StoreLocation::new());
    let database = match store.database_url() {
        DatabaseUrl::Sqlite(_) => "sqlite:ctpd.db",
        DatabaseUrl::Postgres(_) => &store.url,
    };
    let ctpd = Demo::start(dir, database);
    let (document, dictionaries) = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let document = Client::new(&ctpd.base(), None).get_ok("openapi.json").await;
        (document, fixtures(&ctpd).await)
    });
    let seed = std::env::var("CTPD_SCHEMATHESIS_SEED").unwrap_or_else(|_| "20261122".to_owned());
    let examples = std::env::var("CTPD_SCHEMATHESIS_EXAMPLES").map_or(10, |n| n.parse().expect("a number"));
    // The customer first: the administrator's run changes access tags at random.
    for (who, token) in [("customer", ctpd.customer_token.clone()), ("admin", ADMIN_TOKEN.to_owned())] {
        let config_file = dir.join(format!("{who}.toml"));
        std::fs::write(&config_file, config(&document, &dictionaries, &token, examples)).unwrap();
        let (output, passed, took) = schemathesis(dir, &ctpd, &config_file, &seed);
        eprintln!("{version}, {who}'s token, seed {seed}: {} in {took:.1?}", if passed { "passed" } else { "failed" });
        let summary = output.lines().skip_while(|l| !l.contains("SUMMARY")).collect::<Vec<_>>().join("\n");
        eprintln!("{summary}");
        assert!(
            passed,
            "Schemathesis found answers that the OpenAPI document does not describe, with the {who}'s \
             token (reproduce: CTPD_SCHEMATHESIS_SEED={seed}):\n{output}\n--- ctpd's log:\n{}",
            ctpd.process.log()
        );
    }
    let mut ctpd = ctpd;
    assert!(ctpd.process.child.try_wait().unwrap().is_none(), "ctpd is still running: {}", ctpd.process.log());
}
