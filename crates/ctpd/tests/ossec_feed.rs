//! The OSSEC/Wazuh feed end to end, with the real `ctpd` binary on the backend under test
//! (see the harness): `ctpd ossec setup`, then `ctpd serve --config` following a real
//! `alerts.json` that the test appends to and rotates, a syslog receiver fed by `logger`
//! (util-linux), the HTTP intake fed by the integration script of `contrib/wazuh/`, a
//! trigger's webhook, and `kill -9` in the middle of a burst.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use axum::http::StatusCode;
use ctp_test_support::{free_port, wait_for, Client, Ctpd, StoreLocation};
use serde_json::{json, Value};

#[path = "common/webhook.rs"]
mod webhook;

const ADMIN: &str = "admin-token-for-ossec-tests";

/// A configured feed: its folder (with `alerts/alerts.json`), store and configuration, and
/// what `ctpd ossec setup` made.
struct Feed {
    dir: tempfile::TempDir,
    _db: StoreLocation,
    config: PathBuf,
    /// The service view's id.
    view: String,
    /// Route name → measurement id.
    measurements: BTreeMap<String, String>,
}

/// What the `[ossec]` table holds besides the file source and the routes.
#[derive(Default)]
struct Options {
    window: Option<u32>,
    syslog_port: Option<u16>,
    intake: bool,
}

async fn feed(options: Options) -> Feed {
    let dir = tempfile::tempdir().unwrap();
    let db = StoreLocation::new().await;
    std::fs::create_dir_all(dir.path().join("alerts")).unwrap();
    let syslog = match options.syslog_port {
        Some(port) => {
            format!("[[ossec.syslog]]\nname = \"csyslogd\"\nudp = \"127.0.0.1:{port}\"\ntcp = \"127.0.0.1:{port}\"\n")
        }
        None => String::new(),
    };
    let text = format!(
        r#"database = "{database}"

[ossec]
window = {window}
max_rows = 100000
intake = {intake}

[ossec.setup]
service_view = "Intrusion detection"
access_tags = ["tenant:a"]
objective = 'select("level", value).max() < 10'

[[ossec.file]]
name = "manager"
path = "{alerts}"
poll_ms = 5

{syslog}
[[ossec.route]]
name = "web servers"
agent = "web-*"

[[ossec.route]]
name = "everything else"
"#,
        database = db.url,
        window = options.window.unwrap_or(3600),
        intake = options.intake,
        alerts = dir.path().join("alerts/alerts.json").display(),
    );
    let config = dir.path().join("ctpd.toml");
    std::fs::write(&config, text).unwrap();
    let stdout = ctpd_ossec(&["setup", "--config"], &config);
    let (mut view, mut measurements) = (String::new(), BTreeMap::new());
    for line in stdout.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["created", "service", "view", id, ..] => view = (*id).to_owned(),
            ["created", "measurement", id, name @ ..] => {
                measurements.insert(name.join(" "), (*id).to_owned());
            }
            _ => {}
        }
    }
    assert_eq!(measurements.len(), 2, "{stdout}");
    // Run again, it finds everything and creates nothing.
    let again = ctpd_ossec(&["setup", "--config"], &config);
    assert!(again.lines().filter(|l| !l.contains("route(s) ready")).all(|l| l.starts_with("exists")), "{again}");
    assert_eq!(again.lines().filter(|l| l.starts_with("exists")).count(), 6, "{again}");
    Feed { dir, _db: db, config, view, measurements }
}

/// `ctpd ossec ARGS CONFIG`, which must succeed; its standard output.
fn ctpd_ossec(args: &[&str], config: &Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_ctpd")).arg("ossec").args(args).arg(config).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

impl Feed {
    fn serve(&self, port: u16) -> Ctpd {
        Ctpd::serve(env!("CARGO_BIN_EXE_ctpd"))
            .dir(self.dir.path())
            .port(port)
            .args(["--config".as_ref(), self.config.as_os_str()])
            .args(["--webhook-allow-private", "--delivery-backoff", "0.1"])
            .admin_token(ADMIN)
            .start()
    }

    fn alerts(&self) -> PathBuf {
        self.dir.path().join("alerts/alerts.json")
    }

    fn append(&self, lines: &[String]) {
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(self.alerts()).unwrap();
        let mut text = lines.join("\n");
        text.push('\n');
        file.write_all(text.as_bytes()).unwrap();
    }

    /// The alerts of a route's measurement (its current result's rows).
    async fn rows(&self, admin: &Client, route: &str) -> Vec<Value> {
        let measurement = admin.get_ok(&format!("measurements/{}", self.measurements[route])).await;
        let result: Value = match &measurement["result"] {
            Value::Null => return Vec::new(),
            result => result.clone(),
        };
        result["value"].as_array().cloned().unwrap_or_default()
    }

    async fn ids(&self, admin: &Client) -> Vec<String> {
        let mut ids = Vec::new();
        for route in self.measurements.keys() {
            ids.extend(self.rows(admin, route).await.iter().map(|row| row["id"].as_str().unwrap().to_owned()));
        }
        ids
    }
}

/// An `alerts.json` line as Wazuh 4 writes it, at the current time.
fn alert(id: &str, agent: &str, level: u32, rule: u32) -> String {
    let time = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3f+0000");
    json!({
        "timestamp": time.to_string(),
        "rule": {"level": level, "description": format!("test alert {id}"), "id": rule.to_string(),
                 "groups": ["syslog", "sshd", "authentication_failed"], "hipaa": ["164.312.b"]},
        "agent": {"id": "001", "name": agent, "ip": "10.0.0.7"},
        "manager": {"name": "wazuh-manager"},
        "id": id,
        "full_log": "Dec  2 10:00:00 web-1 sshd[1]: Failed password for invalid user admin from 203.0.113.9",
        "decoder": {"name": "sshd"},
        "data": {"srcip": "203.0.113.9", "srcuser": "admin"},
        "location": "/var/log/auth.log"
    })
    .to_string()
}

#[tokio::test]
async fn an_alert_appended_to_alerts_json_reaches_the_customers_webhook() {
    let f = feed(Options::default()).await;
    let ctpd = f.serve(free_port());
    let admin = ctpd.admin();
    let customer =
        admin.create("accounts", json!({"name": "hospital", "accountTags": ["role:user", "tenant:a"]})).await;
    let secret = customer["webhookSecret"].as_str().unwrap().to_owned();
    let customer = ctpd.client(customer["token"].as_str().unwrap());
    let mut hook = webhook::receiver().await;
    let measurement = format!("{}measurements/{}", ctpd.base(), f.measurements["web servers"]);
    customer
        .create(
            &format!("serviceViews/{}/triggers", f.view),
            json!({"name": "intrusion", "measurement": measurement, "notification": hook.url, "guardTime": 0,
                   "condition": "select(\"level\", value).max() >= 10"}),
        )
        .await;

    f.append(&[alert("1764669600.100", "web-1", 12, 5712)]);
    let post = hook.next().await;
    webhook::verify(&secret, &post);
    let entry: Value = serde_json::from_str(&post.body).unwrap();
    let rows = entry["result"]["value"].as_array().expect("the log entry carries the result");
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row["id"], "1764669600.100");
    assert_eq!((row["level"].as_u64(), row["rule"].as_u64()), (Some(12), Some(5712)));
    assert_eq!(row["agent"], "web-1");
    assert_eq!(row["srcip"], "203.0.113.9");
    assert_eq!(row["user"], "admin");
    assert_eq!(row["compliance"], "hipaa:164.312.b");
    assert_eq!(row["groups"], "syslog,sshd,authentication_failed");

    // The customer reads the same window, and the objective says it is not met.
    let read = customer.get_ok(&format!("measurements/{}", f.measurements["web servers"])).await;
    assert_eq!(read["objective"]["status"], "false", "{read}");
    assert_eq!(read["result"]["value"][0]["id"], "1764669600.100");
    // An alert of another agent goes to the other route, and is counted.
    f.append(&[alert("1764669600.101", "db-1", 3, 5501)]);
    wait_for("the other route's alert", || async { f.rows(&admin, "everything else").await.len() == 1 }).await;
    let metrics = admin.text("/metrics").await;
    assert!(metrics.contains("ctpd_ossec_alerts_routed_total{source=\"manager\"} 2"), "{metrics}");
    let status = admin.get_ok("ossec/status").await;
    let manager = &status["sources"]["manager"];
    assert_eq!(manager["alerts"], 2, "{status}");
    assert_eq!(manager["position"]["lagBytes"], 0, "{status}");
    let (code, _) = customer.get("ossec/status").await;
    assert_eq!(code, StatusCode::FORBIDDEN, "the feed's status is for administrators");
    // The same from the store, with the server's configuration.
    let offline = ctpd_ossec(&["status", "--config"], &f.config);
    let size = std::fs::metadata(f.alerts()).unwrap().len();
    assert!(offline.contains(&format!("at byte {size} (line 3)")) && offline.contains("lag 0 byte(s)"), "{offline}");
    assert!(offline.contains("route web servers: measurement") && offline.contains("holds 1 alert(s)"), "{offline}");
    assert!(offline.contains("objective false"), "{offline}");
}

#[tokio::test]
async fn the_window_moves_when_no_alert_arrives() {
    let f = feed(Options { window: Some(2), ..Options::default() }).await;
    let ctpd = f.serve(free_port());
    let admin = ctpd.admin();
    f.append(&[alert("1764669600.200", "web-1", 12, 5712)]);
    let path = format!("measurements/{}", f.measurements["web servers"]);
    wait_for("the alert in the window", || async { admin.get_ok(&path).await["objective"]["status"] == "false" }).await;
    // Two seconds later the alert has aged out: the result is empty and the objective is
    // met again, with no new alert.
    wait_for("the alert to age out", || async {
        let m = admin.get_ok(&path).await;
        m["objective"]["status"] == "true" && m["result"]["value"].as_array().is_some_and(Vec::is_empty)
    })
    .await;
}

#[tokio::test]
async fn syslog_alerts_from_logger_over_udp_and_tcp() {
    let port = free_port();
    let f = feed(Options { syslog_port: Some(port), ..Options::default() }).await;
    let ctpd = f.serve(free_port());
    let admin = ctpd.admin();
    let default = "Alert Level: 10; Rule: 5712 - SSHD brute force trying to get access to the system.; \
                   Location: (web-2) 10.0.0.8->/var/log/auth.log; classification:  syslog,sshd,authentication_failures,; \
                   srcip: 198.51.100.4; Dec  2 10:00:00 web-2 sshd[9]: Failed password for root";
    let json = r#"{"crit":5,"id":4101,"component":"db-7->/var/log/kern.log","classification":" firewall,","description":"Firewall drop event.","message":"DROP","srcip":"10.10.10.10"}"#;
    let port = port.to_string();
    for args in [
        vec!["--udp", "--rfc3164", "-t", "ossec", "--", default],
        vec!["--tcp", "--octet-count", "--rfc5424", "-t", "ossec", "--", json],
    ] {
        let status = Command::new("logger").args(["--server", "127.0.0.1", "--port", &port]).args(&args).status();
        assert!(status.expect("logger (util-linux) runs").success());
    }
    wait_for("both syslog alerts", || async { f.ids(&admin).await.len() == 2 }).await;
    let web = f.rows(&admin, "web servers").await;
    assert_eq!((web[0]["rule"].as_u64(), web[0]["level"].as_u64()), (Some(5712), Some(10)));
    assert_eq!((web[0]["agent"].as_str(), web[0]["srcip"].as_str()), (Some("web-2"), Some("198.51.100.4")));
    let other = f.rows(&admin, "everything else").await;
    assert_eq!((other[0]["rule"].as_u64(), other[0]["agent"].as_str()), (Some(4101), Some("db-7")));
    assert_eq!(other[0]["description"], "Firewall drop event.");
    let metrics = admin.text("/metrics").await;
    assert!(metrics.contains("ctpd_ossec_alerts_received_total{source=\"csyslogd\"} 2"), "{metrics}");
}

#[tokio::test]
async fn rotation_and_kill_9_in_a_burst_lose_no_alert_and_count_none_twice() {
    let f = feed(Options::default()).await;
    let port = free_port();
    let ctpd = f.serve(port);
    let daily = f.dir.path().join("alerts/2026/Dec");
    std::fs::create_dir_all(&daily).unwrap();
    let id = |n: usize| format!("1764669600.{n}");
    let agent = |n: usize| if n % 3 == 0 { "web-1" } else { "db-1" };
    // A burst: 10 alerts every 2 ms; rotated into the daily folder halfway.
    for n in (0..300).step_by(10) {
        f.append(&(n..n + 10).map(|i| alert(&id(i), agent(i), 5, 5710)).collect::<Vec<_>>());
        if n == 150 {
            std::fs::rename(f.alerts(), daily.join("ossec-alerts-01.json")).unwrap();
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    // Killed in the middle of the next burst, which goes on without it, and the file
    // rotates again while it is down.
    let writer = {
        let alerts = f.alerts();
        let rotated = daily.join("ossec-alerts-02.json");
        std::thread::spawn(move || {
            for n in 300..600 {
                let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&alerts).unwrap();
                writeln!(
                    file,
                    "{}",
                    alert(&format!("1764669600.{n}"), if n % 3 == 0 { "web-1" } else { "db-1" }, 5, 5710)
                )
                .unwrap();
                if n == 500 {
                    std::fs::rename(&alerts, &rotated).unwrap();
                }
                std::thread::sleep(Duration::from_micros(300));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(40));
    ctpd.kill();
    writer.join().unwrap();
    let ctpd = f.serve(port);
    let admin = ctpd.admin();
    wait_for("every alert after the restart", || async { f.ids(&admin).await.len() >= 600 }).await;
    let ids = f.ids(&admin).await;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for id in &ids {
        *counts.entry(id).or_default() += 1;
    }
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "alerts counted twice: {twice:?}");
    let missing: Vec<String> = (0..600).map(id).filter(|i| !counts.contains_key(i.as_str())).collect();
    assert!(missing.is_empty(), "alerts lost: {missing:?}");
    assert_eq!(f.rows(&admin, "web servers").await.len(), 200, "routed by agent");
}

#[tokio::test]
async fn the_integrators_script_posts_alerts_to_the_intake() {
    let f = feed(Options { intake: true, ..Options::default() }).await;
    let ctpd = f.serve(free_port());
    let admin = ctpd.admin();
    let agent = admin.create("accounts", json!({"name": "wazuh", "accountTags": ["role:agent", "tenant:a"]})).await;
    let token = agent["token"].as_str().unwrap().to_owned();
    let outsider = admin.create("accounts", json!({"name": "other", "accountTags": ["role:agent", "tenant:b"]})).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contrib/wazuh/custom-ctpd");
    let alert_file = f.dir.path().join("alert.json");
    // The integrator writes the alert as one JSON object (indented here, as a person would).
    let one: Value = serde_json::from_str(&alert("1764669600.300", "web-3", 7, 5710)).unwrap();
    std::fs::write(&alert_file, serde_json::to_string_pretty(&one).unwrap()).unwrap();
    let hook_url = format!("{}ossec/alerts", ctpd.base());
    let run = |token: &str| {
        Command::new(&script).arg(&alert_file).arg(token).arg(&hook_url).arg("debug").output().expect("the script runs")
    };
    let output = run(&token);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer, json!({"received": 1, "routed": 1, "unrouted": 0, "skipped": []}));
    // Committed before the answer.
    assert_eq!(f.rows(&admin, "web servers").await[0]["id"], "1764669600.300");
    // The same alert again (the integrator retried) is kept once.
    assert!(run(&token).status.success());
    assert_eq!(f.ids(&admin).await.len(), 1);
    // An agent without access to the measurement, or a customer, is refused; nothing changes.
    let refused = run(outsider["token"].as_str().unwrap());
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("403"), "{}", String::from_utf8_lossy(&refused.stderr));
    let (code, body) =
        ctpd.client(&token).send(reqwest::Method::POST, "ossec/alerts", Some("not an alert".into())).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(f.ids(&admin).await.len(), 1);
}
