//! A drill with real peers: the real `ctpd` binary (on the backend under test), started by
//! `ctpd drill start`, reaching a customer's webhook receiver and a customer's XMPP client
//! through a real Prosody; people acknowledge through the links the messages carry, and the
//! report (`ctpd drill show`) says who was reached, when, and who answered. Nothing but the
//! drill's own log entries changes.

use axum::http::StatusCode;
use ctp_test_support::{api_path, free_port, link, wait_for, Ctpd, StoreLocation, Tree};
use serde_json::{json, Value};

#[path = "common/webhook.rs"]
mod webhook;
#[path = "common/xmpp.rs"]
mod xmpp;

const ADMIN_TOKEN: &str = "admin-token-for-drill-tests";

/// Runs `ctpd drill ARGS --url BASE --json` (token in the environment) and returns its exit
/// status and printed JSON.
async fn drill_cli(ctpd: &Ctpd, args: &[&str]) -> (i32, Value) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_ctpd"))
        .arg("drill")
        .args(args)
        .args(["--url", &ctpd.base(), "--json"])
        .env("CTPD_TOKEN", ADMIN_TOKEN)
        .output()
        .await
        .expect("ctpd drill runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!("ctpd drill {args:?} prints JSON ({e}): {stdout}{}", String::from_utf8_lossy(&output.stderr))
    });
    (output.status.code().unwrap_or(-1), json)
}

#[tokio::test]
async fn a_drill_reaches_the_webhook_and_xmpp_and_reports_deliveries_and_acknowledgements() {
    let dir = tempfile::tempdir().unwrap();
    let db = StoreLocation::new().await;
    let prosody = xmpp::Prosody::start(dir.path());
    let mut chats = xmpp::customer_client(prosody.port).await;
    let ctpd = Ctpd::serve(env!("CARGO_BIN_EXE_ctpd"))
        .dir(dir.path())
        .port(free_port())
        .args(["--database", &db.url, "--webhook-allow-private"])
        .args(prosody.ctpd_flags())
        .admin_token(ADMIN_TOKEN)
        .start();
    let admin = ctpd.admin();
    let tree = Tree::build(&admin, &["tenant:a"], false).await;
    let view = api_path(&link(&tree.view));
    let measurement = api_path(&link(&tree.measurement));
    let customer =
        admin.create("accounts", json!({"name": "hospital", "accountTags": ["role:user", "tenant:a"]})).await;
    let secret = customer["webhookSecret"].as_str().unwrap().to_owned();
    let customer = ctpd.client(customer["token"].as_str().unwrap());
    let agent = admin.create("accounts", json!({"name": "agent", "accountTags": ["role:agent", "tenant:a"]})).await;
    let agent = ctpd.client(agent["token"].as_str().unwrap());
    let mut hook = webhook::receiver().await;
    for (name, notification) in
        [("on-call webhook", hook.url.clone()), ("team chat", format!("xmpp:{}", xmpp::CUSTOMER_JID))]
    {
        customer
            .create(
                &format!("{view}/triggers"),
                json!({"name": name, "measurement": link(&tree.measurement), "condition": "value[0].level >= 7",
                       "notification": notification, "tags": ["intrusion"]}),
            )
            .await;
    }
    // One real alert first, so that there are statuses and real log entries to keep.
    assert_eq!(
        agent.put(&format!("{measurement}?x=result"), json!({"result": {"value": [{"level": 8}]}})).await.0,
        StatusCode::OK
    );
    let real = hook.next().await;
    assert_eq!(serde_json::from_str::<Value>(&real.body).unwrap()["tags"], json!(["intrusion"]));
    assert_eq!(xmpp::next_chat(&mut chats).await.subject, None, "a real alert has no drill subject");
    let measurement_before = customer.get_ok(&measurement).await;
    let triggers = customer.get_ok(&format!("{view}/triggers")).await;
    let mut triggers_before = Vec::new();
    for member in triggers["collection"].as_array().unwrap() {
        triggers_before.push(customer.get_ok(&api_path(member["link"].as_str().unwrap())).await);
    }
    let logs_before = customer.get_ok(&format!("{view}/logs")).await;
    assert_eq!(logs_before["collectionLength"], 2);

    // The provider starts a drill and waits for its messages to be delivered.
    let view_id = view.rsplit('/').next().unwrap();
    let (status, report) =
        drill_cli(&ctpd, &["start", view_id, "--annotation", "quarterly drill", "--wait", "30"]).await;
    assert_eq!(status, 0, "every message delivered: {report:#}");
    assert_eq!(report["outcome"], "delivered");
    assert_eq!(report["reachedEveryone"], true);
    assert_eq!(report["messages"], 2);
    for message in report["deliveries"].as_array().unwrap() {
        let job = &message["job"];
        assert_eq!(job["state"], "delivered", "{message:#}");
        assert_eq!(job["attempts"], 1);
        assert!(message["handedOverTime"].as_str().unwrap() >= message["queuedTime"].as_str().unwrap());
        assert!(message["deliveryTime"].as_str().unwrap() >= message["handedOverTime"].as_str().unwrap());
        assert!(message["deliveryLatencySeconds"].as_f64().unwrap() < 30.0);
    }

    // The webhook receiver gets the drill's log entry, signed like any alert; it says it is
    // a drill. The on-call engineer acknowledges by calling the link.
    let post = hook.next().await;
    webhook::verify(&secret, &post);
    let entry: Value = serde_json::from_str(&post.body).unwrap();
    assert_eq!(entry["tags"], json!(["drill"]));
    let row = &entry["result"]["value"][0];
    assert!(row["message"].as_str().unwrap().starts_with("DRILL - this is an incident-response drill, not an alert"));
    assert_eq!(row["drill"], report["self"]);
    let http = reqwest::Client::new();
    let acknowledged =
        http.post(format!("{}&by=on-call%20engineer", row["acknowledge"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(acknowledged.status(), StatusCode::OK);

    // The XMPP client gets it with a subject that says it is a drill; a person opens the link.
    let chat = xmpp::next_chat(&mut chats).await;
    assert_eq!(chat.subject.as_deref(), Some("CTP DRILL - this is a drill, not an alert"));
    let chat_entry: Value = serde_json::from_str(&chat.body).unwrap();
    assert_eq!(chat_entry["tags"], json!(["drill"]));
    let opened = http.get(format!("{}&by=Alice", chat_entry["result"]["value"][0]["acknowledge"].as_str().unwrap()));
    assert_eq!(opened.send().await.unwrap().status(), StatusCode::OK);

    // The report shows both deliveries and both acknowledgements, by whom.
    let drill_id = report["self"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let (status, shown) = drill_cli(&ctpd, &["show", &drill_id]).await;
    assert_eq!(status, 0);
    assert_eq!(shown["acknowledged"], 2, "{shown:#}");
    let by: Vec<(&str, &str)> = shown["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["job"]["channel"].as_str().unwrap(), m["acknowledgedBy"].as_str().unwrap()))
        .collect();
    assert_eq!(by, [("webhook", "on-call engineer"), ("xmpp", "Alice")]);
    for message in shown["deliveries"].as_array().unwrap() {
        assert!(message["acknowledgeTime"].as_str().unwrap() >= message["deliveryTime"].as_str().unwrap());
    }
    let (_, list) = drill_cli(&ctpd, &["list"]).await;
    assert_eq!(list["collectionLength"], 1);
    assert_eq!(list["collection"][0]["annotation"], "quarterly drill");

    // Nothing else changed: statuses, the real alerts; the drill's entries are apart.
    assert_eq!(customer.get_ok(&measurement).await, measurement_before);
    for before in triggers_before {
        assert_eq!(customer.get_ok(&api_path(before["self"].as_str().unwrap())).await, before);
    }
    let logs = customer.get_ok(&format!("{view}/logs")).await;
    assert_eq!(logs["collectionLength"], 4);
    assert_eq!(customer.get_ok(&format!("{view}/logs?tags=intrusion")).await["collection"], logs_before["collection"]);
    assert_eq!(customer.get_ok(&format!("{view}/logs?tags=drill")).await["collectionLength"], 2);
    wait_for("the counters to show four deliveries", || async {
        let metrics = admin.text("/metrics").await;
        metrics.contains("ctpd_deliveries_sent_total{channel=\"xmpp\"} 2")
            && metrics.contains("ctpd_deliveries_sent_total{channel=\"webhook\"} 2")
    })
    .await;
}
