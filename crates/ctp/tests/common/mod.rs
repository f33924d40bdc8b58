//! What the end-to-end tests share: the real `ctpd` (built by `cargo build -p ctpd` in the
//! same target folder as this crate's binary) on a fresh SQLite file, a tree made through
//! its API, and the real `ctp` binary run against it.

#![allow(dead_code)]

use std::io::Write as _;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ctp_client::Client;
use serde_json::{json, Value};

pub const ADMIN: &str = "ctp-cli-test-admin-token-0123456789";

/// The `ctpd` binary, built once per test process.
pub fn ctpd_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let ctp = PathBuf::from(env!("CARGO_BIN_EXE_ctp"));
            let profile_dir = ctp.parent().expect("the binary's folder").to_owned();
            let target = profile_dir.parent().expect("the target folder").to_owned();
            let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
            let status = Command::new(env!("CARGO"))
                .current_dir(&workspace)
                .env("CARGO_TARGET_DIR", &target)
                .args(["build", "-p", "ctpd", "--quiet"])
                .status()
                .expect("cargo runs");
            assert!(status.success(), "cargo build -p ctpd failed");
            let ctpd = profile_dir.join("ctpd");
            assert!(ctpd.exists(), "{} was not built", ctpd.display());
            ctpd
        })
        .clone()
}

/// A running ctpd, killed on drop, with a home folder for `ctp`'s config and state.
pub struct Server {
    child: Child,
    pub base: String,
    pub dir: tempfile::TempDir,
}

impl Server {
    pub fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = std::fs::File::create(dir.path().join("ctpd.log")).unwrap();
        let child = Command::new(ctpd_binary())
            .current_dir(dir.path())
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--admin-token", ADMIN, "--database"])
            .arg(format!("sqlite:{}", dir.path().join("ctpd.db").display()))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("ctpd starts");
        let mut server = Server { child, base: format!("http://127.0.0.1:{port}/api/1.0/"), dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("ctpd exited ({status}):\n{}", server.log());
            }
            assert!(Instant::now() < deadline, "ctpd did not start:\n{}", server.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("ctpd.log")).unwrap_or_default()
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn admin(&self) -> Client {
        Client::new(&self.base, ADMIN).unwrap()
    }

    /// POSTs `body` as admin; the created resource.
    pub fn create(&self, url: &str, body: Value) -> Value {
        let text = self.admin().request("POST", url, Some(&body.to_string())).unwrap_or_else(|e| panic!("{url}: {e}"));
        serde_json::from_str(&text).unwrap()
    }

    /// An account with these tags; its token.
    pub fn account(&self, tags: &[&str]) -> String {
        let account = self.create(&format!("{}accounts", self.base), json!({"name": "t", "accountTags": tags}));
        account["token"].as_str().unwrap().to_owned()
    }

    /// A view (tag `customer:c1`) → asset → attribute → measurement of a `level` number,
    /// objective `value[0].level < 10`; returns (view, measurement) links, a customer's and
    /// an agent's tokens.
    pub fn tree(&self) -> Tree {
        let b = &self.base;
        let view = self.create(
            &format!("{b}serviceViews"),
            json!({"name": "glucose-api", "provider": "Acme", "accessTags": ["customer:c1"]}),
        );
        let asset = self.create(&format!("{}/assets", link(&view)), json!({"name": "api-endpoint"}));
        let attribute = self.create(&format!("{}/attributes", link(&asset)), json!({"name": "intrusions"}));
        let metric = self.create(
            &format!("{b}metrics"),
            json!({"name": "level", "baseMetric": "https://example.org/level",
                   "resultFormat": [{"name": "level", "type": "number"}]}),
        );
        let measurement = self.create(
            &format!("{}/measurements", link(&attribute)),
            json!({"name": "max-level", "metric": link(&metric), "createTrigger": true,
                   "objective": {"condition": "value[0].level < 10"}}),
        );
        Tree {
            view: link(&view),
            measurement: link(&measurement),
            customer: self.account(&["role:user", "customer:c1"]),
            agent: self.account(&["role:agent", "customer:c1"]),
        }
    }

    /// `ctp` with `args`, the home folders in the test's folder, no CTP_* from outside.
    pub fn ctp(&self, args: &[&str]) -> Command {
        let home = self.home();
        let mut command = Command::new(env!("CARGO_BIN_EXE_ctp"));
        command
            .args(args)
            .env_remove("CTP_URL")
            .env_remove("CTP_TOKEN")
            .env_remove("NO_COLOR")
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_STATE_HOME", home.join(".local/state"))
            .stdin(Stdio::null());
        command
    }

    /// Runs `ctp` as `token` against this server.
    pub fn run(&self, token: &str, args: &[&str]) -> Output {
        self.ctp(args).env("CTP_URL", &self.base).env("CTP_TOKEN", token).output().unwrap()
    }

    /// Runs `ctp` with `stdin`.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child =
            self.ctp(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- ctpd's log:\n{}", self.log());
        }
    }
}

/// What `Server::tree` made.
pub struct Tree {
    pub view: String,
    pub measurement: String,
    pub customer: String,
    pub agent: String,
}

pub fn link(resource: &Value) -> String {
    resource["self"].as_str().expect("a self link").to_owned()
}

pub fn id(link: &str) -> String {
    link.rsplit('/').next().unwrap().to_owned()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Asserts success and returns stdout.
#[track_caller]
pub fn ok(output: Output) -> String {
    assert!(output.status.success(), "ctp failed ({}): {}{}", output.status, stderr(&output), stdout(&output));
    stdout(&output)
}

/// Asserts the exit code and returns stderr.
#[track_caller]
pub fn fails(output: Output, code: i32) -> String {
    assert_eq!(output.status.code(), Some(code), "stdout: {}\nstderr: {}", stdout(&output), stderr(&output));
    let err = stderr(&output);
    assert!(err.starts_with("ctp: ") || code == 1, "{err}");
    err
}
