//! `ctpd serve` as an operator runs it: the real binary on an ephemeral port, its
//! configuration file and flags, the admin token across restarts, the demo data set, and a
//! clean stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Command;

use ctp_test_support::{Ctpd, StoreLocation};

/// A new store of the backend under test (see the harness), for the tests that do not
/// check SQLite's own files.
fn store_location() -> StoreLocation {
    tokio::runtime::Runtime::new().unwrap().block_on(StoreLocation::new())
}

/// `ctpd serve` in `dir` with `args`, its standard output piped to the test.
fn start(dir: &Path, args: &[&str]) -> Ctpd {
    Ctpd::serve(env!("CARGO_BIN_EXE_ctpd")).dir(dir).args(args).stdout_piped().start()
}

/// A minimal HTTP/1.1 client, so that this test needs no client library.
trait Http {
    /// A request (`method path` and extra header lines); the whole answer.
    fn request(&self, method_and_path: &str, headers: &str) -> std::io::Result<String>;

    /// A GET: the status and the body.
    fn get(&self, path: &str, token: Option<&str>) -> std::io::Result<(u16, String)> {
        let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
        let response = self.request(&format!("GET {path}"), &auth)?;
        let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
        Ok((status, body))
    }
}

impl Http for Ctpd {
    fn request(&self, method_and_path: &str, headers: &str) -> std::io::Result<String> {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port))?;
        write!(
            stream,
            "{method_and_path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n{headers}Connection: close\r\n\r\n",
            self.port
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        Ok(response)
    }
}

#[test]
fn serves_with_the_default_store_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &["--admin-token", "first-admin-token-0123"]);
    let (status, body) = server.get("/api/1.0/", Some("first-admin-token-0123")).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"version\":\"1.0\""), "{body}");
    let (status, _) = server.get("/api/1.0/", Some("wrong-token-000000000")).unwrap();
    assert_eq!(status, 401);
    assert!(server.terminate().success(), "a clean exit on SIGTERM");
    assert!(dir.path().join("ctpd-data/ctpd.db").exists(), "the default store is created in ./ctpd-data");
    assert!(
        !dir.path().join("ctpd-data/ctpd.db-wal").exists(),
        "the store was closed: its last connection checkpointed and removed the WAL"
    );
}

/// The database folder and file are private (they hold token hashes and webhook secrets),
/// the admin token can come from a file (never in a process listing), and a log written to
/// a file has no terminal colour codes.
#[test]
fn secrets_stay_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("admin-token");
    std::fs::write(&token_file, "token-from-a-file-0123\n").unwrap();
    let server = Ctpd::serve(env!("CARGO_BIN_EXE_ctpd"))
        .dir(dir.path())
        .args(["--admin-token-file", token_file.to_str().unwrap()])
        .env_remove("RUST_LOG")
        .start();
    assert_eq!(
        server.get("/api/1.0/", Some("token-from-a-file-0123")).unwrap().0,
        200,
        "the file's token, without its newline"
    );
    let mode = |path: &str| std::fs::metadata(dir.path().join(path)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("ctpd-data"), 0o700);
    assert_eq!(mode("ctpd-data/ctpd.db"), 0o600);
    assert_eq!(mode("ctpd-data/ctpd.db-wal"), 0o600, "SQLite gives its companion files the database's mode");
    assert!(server.terminate().success());
    let log = std::fs::read_to_string(dir.path().join("ctpd.log")).unwrap();
    assert!(log.contains("ctpd is serving"), "{log}");
    assert!(!log.contains('\u{1b}'), "no ANSI codes in a file: {log:?}");

    // A database made world-readable by an earlier version is made private at start.
    std::fs::set_permissions(dir.path().join("ctpd-data/ctpd.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let server = start(dir.path(), &["--admin-token-file", token_file.to_str().unwrap()]);
    assert_eq!(mode("ctpd-data/ctpd.db"), 0o600);
    server.terminate();
    let output = Command::new(env!("CARGO_BIN_EXE_ctpd"))
        .current_dir(dir.path())
        .args(["serve", "--admin-token-file", "/nonexistent/token"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read admin_token_file"));
}

#[test]
fn the_admin_token_is_idempotent_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_location();
    for token in ["admin-token-one-0123", "admin-token-one-0123", "admin-token-two-4567"] {
        let server = start(dir.path(), &["--database", &store.url, "--admin-token", token]);
        assert_eq!(server.get("/api/1.0/accounts", Some(token)).unwrap().0, 200);
        let (_, accounts) = server.get("/api/1.0/accounts?name=admin", Some(token)).unwrap();
        assert!(accounts.contains("\"collectionLength\":1"), "one admin account: {accounts}");
        server.terminate();
    }
    let server = start(dir.path(), &["--database", &store.url, "--admin-token", "admin-token-two-4567"]);
    assert_eq!(server.get("/api/1.0/", Some("admin-token-one-0123")).unwrap().0, 401, "the old token is gone");
}

#[test]
fn flags_override_the_configuration_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ctpd.toml");
    std::fs::write(
        &config,
        "base_path = \"/ctp/\"\ndatabase = \"sqlite:from-file/ctpd.db\"\nadmin_token = \"file-admin-token-0123\"\n\
         public_url = \"https://ctp.example.com/ctp\"\ncors_origin = [\"https://dash.example.org\"]\n",
    )
    .unwrap();
    let config_arg = config.to_str().unwrap();
    let server = start(dir.path(), &["--config", config_arg]);
    let (status, body) = server.get("/ctp/", Some("file-admin-token-0123")).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"self\":\"https://ctp.example.com/ctp/\""), "links use the public URL: {body}");
    assert!(dir.path().join("from-file/ctpd.db").exists());
    let preflight = server
        .request(
            "OPTIONS /ctp/serviceViews",
            "Origin: https://dash.example.org\r\nAccess-Control-Request-Method: GET\r\n\
             Access-Control-Request-Headers: authorization\r\n",
        )
        .unwrap()
        .to_ascii_lowercase();
    assert!(preflight.contains("access-control-allow-origin: https://dash.example.org"), "{preflight}");
    server.terminate();

    let server = start(dir.path(), &["--config", config_arg, "--base-path", "/api/2/"]);
    assert_eq!(server.get("/api/2/", Some("file-admin-token-0123")).unwrap().0, 200, "the flag wins");
    assert_eq!(server.get("/ctp/", Some("file-admin-token-0123")).unwrap().0, 404);
}

#[test]
fn a_bad_configuration_is_refused_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "listen = 8080\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_ctpd"))
        .args(["serve", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.toml"), "{stderr}");
    let output = Command::new(env!("CARGO_BIN_EXE_ctpd"))
        .current_dir(dir.path())
        .args(["serve", "--database", "mysql://somewhere/db"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stderr).contains("unsupported database URL"));
    let output = Command::new(env!("CARGO_BIN_EXE_ctpd"))
        .current_dir(dir.path())
        .args(["serve", "--cors-origin", "https://dash.example.org/"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stderr).contains("without path or trailing slash"));
}

#[test]
fn the_demo_prints_working_tokens_and_commands() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_location();
    let mut server = start(dir.path(), &["--database", &store.url, "--demo"]);
    let stdout = server.take_stdout();
    let lines: Vec<String> = BufReader::new(stdout).lines().take(14).map(|l| l.unwrap()).collect();
    let token = |label: &str| {
        lines.iter().find(|l| l.contains(label)).and_then(|l| l.split_whitespace().last()).unwrap().to_owned()
    };
    let customer = token("customer token");
    let admin = token("admin token");
    assert_eq!(lines.iter().filter(|l| l.trim_start().starts_with("curl")).count(), 3, "{lines:?}");
    let (status, views) = server.get("/api/1.0/serviceViews", Some(&customer)).unwrap();
    assert_eq!(status, 200);
    assert!(views.contains("GlucoCloud"), "{views}");
    assert_eq!(server.get("/api/1.0/accounts", Some(&admin)).unwrap().0, 200);
    assert_eq!(server.get("/api/1.0/accounts", Some(&customer)).unwrap().0, 403);
}

/// `ctpd serve --demo | head -1`: the demo's printout meets a closed pipe, and the server
/// keeps serving (it used to panic on the broken pipe and exit).
#[test]
fn a_closed_stdout_does_not_stop_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_location();
    let port = ctp_test_support::free_port();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child = Command::new(env!("CARGO_BIN_EXE_ctpd"))
        .current_dir(dir.path())
        .args(["serve", "--demo", "--database", &store.url, "--listen", &format!("127.0.0.1:{port}")])
        .env_remove("CTPD_ADMIN_TOKEN")
        .stdout(writer)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let healthy = loop {
        let answer = std::net::TcpStream::connect(("127.0.0.1", port)).and_then(|mut stream| {
            use std::io::{Read, Write};
            write!(stream, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
            let mut text = String::new();
            stream.read_to_string(&mut text)?;
            Ok(text)
        });
        if answer.as_deref().is_ok_and(|a| a.starts_with("HTTP/1.1 200")) {
            break true;
        }
        if child.try_wait().unwrap().is_some() || started.elapsed() > std::time::Duration::from_secs(30) {
            break false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let exited = child.try_wait().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(healthy && exited.is_none(), "ctpd stopped serving after its stdout closed: {exited:?}");
}
