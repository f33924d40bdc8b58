//! Notifications with real peers: the real `ctpd` binary (on the backend under test, see
//! the harness), a webhook receiver in the test, a real Prosody XMPP server (started by the
//! test on its own port and folder) and a real XMPP client for the customer.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::http::StatusCode;
use ctp_test_support::{api_path, free_port, link, wait_for, Client, Ctpd, StoreLocation, Tree};
use serde_json::{json, Value};

/// The real binary on a given port over `database`, in `dir`; restarted on the same port,
/// its links stay the same.
fn start(dir: &Path, database: &str, port: u16, extra: &[&str]) -> Ctpd {
    Ctpd::serve(env!("CARGO_BIN_EXE_ctpd"))
        .dir(dir)
        .port(port)
        .args(["--database", database])
        .admin_token("admin-token-for-notification-tests")
        .args(["--delivery-backoff", "0.1", "--delivery-max-backoff", "0.4", "--delivery-timeout", "3"])
        // The receivers of these tests are on loopback.
        .args(["--webhook-allow-private"])
        .args(extra)
        .env("RUST_LOG", "info,ctp_server::notify=debug")
        .start()
}

/// A tenant: the tree, a customer (with its webhook secret) and an agent.
struct Tenant {
    tree: Tree,
    customer: Client,
    agent: Client,
    webhook_secret: String,
}

async fn tenant(ctpd: &Ctpd) -> Tenant {
    let admin = ctpd.admin();
    let tree = Tree::build(&admin, &["tenant:a"], false).await;
    let customer =
        admin.create("accounts", json!({"name": "hospital", "accountTags": ["role:user", "tenant:a"]})).await;
    let agent = admin.create("accounts", json!({"name": "agent", "accountTags": ["role:agent", "tenant:a"]})).await;
    let webhook_secret = customer["webhookSecret"].as_str().expect("a webhook secret at creation").to_owned();
    Tenant {
        tree,
        customer: ctpd.client(customer["token"].as_str().unwrap()),
        agent: ctpd.client(agent["token"].as_str().unwrap()),
        webhook_secret,
    }
}

impl Tenant {
    async fn trigger(&self, notification: &str) -> Value {
        self.customer
            .create(
                &format!("{}/triggers", api_path(&link(&self.tree.view))),
                json!({"name": "high level", "measurement": link(&self.tree.measurement), "condition": "value[0].level >= 7",
                       "notification": notification, "guardTime": 0}),
            )
            .await
    }

    /// Pushes a result that makes the trigger fire; returns the URL of the new log entry.
    async fn fire(&self, level: i64) -> String {
        let measurement = api_path(&link(&self.tree.measurement));
        let (status, body) =
            self.agent.put(&format!("{measurement}?x=result"), json!({"result": {"value": [{"level": level}]}})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let logs = self.customer.get_ok(&format!("{}/logs", api_path(&link(&self.tree.view)))).await;
        let newest = logs["collection"].as_array().unwrap().last().unwrap()["link"].as_str().unwrap().to_owned();
        newest
    }
}

/// The exact bytes of `GET {link}`.
async fn raw_get(client: &Client, link: &str) -> String {
    let (status, _) = client.get(&api_path(link)).await;
    assert_eq!(status, StatusCode::OK);
    client.text(&api_path(link)).await
}

// ----- webhooks -----

#[path = "common/webhook.rs"]
mod webhook;
use webhook::{receiver, receiver_on, verify};

#[tokio::test]
async fn a_webhook_carries_the_log_entry_signed_and_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let db = StoreLocation::new().await;
    let ctpd = start(dir.path(), &db.url, free_port(), &[]);
    let mut hook = receiver().await;
    let tenant = tenant(&ctpd).await;
    tenant.trigger(&hook.url).await;
    let log = tenant.fire(9).await;

    let post = hook.next().await;
    assert_eq!(post.headers["content-type"], "application/json");
    assert_eq!(post.headers["webhook-id"], log.as_str(), "the log entry's URL is the message id");
    assert_eq!(post.body, raw_get(&tenant.customer, &log).await, "the body is GET /logs/{{id}}, byte for byte");
    verify(&tenant.webhook_secret, &post);

    let admin = ctpd.admin();
    wait_for("the delivery to be recorded", || async {
        admin.get_ok("deliveries?state=delivered").await["collectionLength"] == 1
    })
    .await;
    let delivery = &admin.get_ok("deliveries").await["collection"][0];
    assert_eq!(delivery["logEntry"], log.as_str());
    assert_eq!((delivery["channel"].as_str(), delivery["attempts"].as_u64()), (Some("webhook"), Some(1)));
    let metrics = admin.text("/metrics").await;
    assert!(metrics.contains("ctpd_deliveries_sent_total{channel=\"webhook\"} 1"), "{metrics}");
    let (status, _) = tenant.customer.get("/metrics").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "metrics are for administrators");
    let (status, _) = tenant.customer.get("deliveries").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the outbox is for administrators");
}

#[tokio::test]
async fn a_trigger_needs_a_notification_ctpd_can_deliver() {
    let dir = tempfile::tempdir().unwrap();
    let db = StoreLocation::new().await;
    let ctpd = start(dir.path(), &db.url, free_port(), &[]);
    let tenant = tenant(&ctpd).await;
    for bad in ["mailto:team@example.com", "xmpp:example.com", "team@example.com", "https://"] {
        let (status, body) = tenant
            .customer
            .post(
                &format!("{}/triggers", api_path(&link(&tenant.tree.view))),
                json!({"measurement": link(&tenant.tree.measurement), "condition": "true", "notification": bad}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        let message = body["error"].as_str().unwrap();
        assert!(message.contains("xmpp:") && message.contains("http(s)"), "{message}");
    }
    let triggers = tenant.customer.get_ok(&format!("{}/triggers", api_path(&link(&tenant.tree.view)))).await;
    assert_eq!(triggers["collectionLength"], 0, "nothing was created");
}

#[tokio::test]
async fn a_failing_receiver_ends_failed_and_an_admin_retry_delivers() {
    let dir = tempfile::tempdir().unwrap();
    let db = StoreLocation::new().await;
    let ctpd = start(dir.path(), &db.url, free_port(), &["--delivery-attempts", "3"]);
    let mut hook = receiver().await;
    hook.status.store(500, Ordering::SeqCst);
    let tenant = tenant(&ctpd).await;
    tenant.trigger(&hook.url).await;
    let log = tenant.fire(8).await;
    for _ in 0..3 {
        assert_eq!(hook.next().await.headers["webhook-id"], log.as_str());
    }
    let admin = ctpd.admin();
    wait_for("the job to fail", || async { admin.get_ok("deliveries?state=failed").await["collectionLength"] == 1 })
        .await;
    let failed = admin.get_ok("deliveries?state=failed").await["collection"][0].clone();
    assert_eq!(failed["attempts"], 3);
    assert!(failed["lastError"].as_str().unwrap().contains("500"), "{failed}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(hook.posts.try_recv().is_err(), "no attempt after the last one");

    hook.status.store(204, Ordering::SeqCst);
    let (status, retried) =
        admin.put(&format!("{}?x=retry", api_path(failed["self"].as_str().unwrap())), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{retried}");
    let post = hook.next().await;
    assert_eq!(post.headers["webhook-id"], log.as_str());
    verify(&tenant.webhook_secret, &post);
    wait_for("the retried job to be delivered", || async {
        admin.get_ok("deliveries?state=delivered").await["collectionLength"] == 1
    })
    .await;
    let metrics = admin.text("/metrics").await;
    for line in [
        "ctpd_deliveries_retried_total{channel=\"webhook\"} 2",
        "ctpd_deliveries_failed_total{channel=\"webhook\"} 1",
        "ctpd_deliveries_sent_total{channel=\"webhook\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
}

#[tokio::test]
async fn pending_jobs_survive_a_sigkill_and_are_delivered_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = StoreLocation::new().await;
    let port = free_port();
    let ctpd = start(dir.path(), &db.url, port, &["--delivery-attempts", "1000"]);
    // The receiver's port is reserved but nobody listens yet: every attempt is refused.
    let hook_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook_address = hook_listener.local_addr().unwrap();
    drop(hook_listener);
    let tenant = tenant(&ctpd).await;
    tenant.trigger(&format!("http://{hook_address}/ctp-alerts")).await;
    let mut logs = HashSet::new();
    for level in 7..12 {
        logs.insert(tenant.fire(level).await);
    }
    let admin = ctpd.admin();
    wait_for("attempts to fail", || async {
        let pending = admin.get_ok("deliveries?state=pending").await;
        pending["collectionLength"] == 5 && pending["collection"][4]["attempts"].as_u64() >= Some(1)
    })
    .await;
    ctpd.kill();

    let listener = tokio::net::TcpListener::bind(hook_address).await.unwrap();
    let mut hook = receiver_on(listener).await;
    let _ctpd = start(dir.path(), &db.url, port, &[]);
    let mut received = HashSet::new();
    while received.len() < logs.len() {
        let post = hook.next().await;
        verify(&tenant.webhook_secret, &post);
        received.insert(post.headers["webhook-id"].to_str().unwrap().to_owned());
    }
    assert_eq!(received, logs, "every log entry arrived");
}

// ----- XMPP -----

#[path = "common/xmpp.rs"]
mod xmpp;
use xmpp::{customer_client, next_chat, Prosody, CTPD_JID, CTPD_PASSWORD, CUSTOMER_JID};

#[tokio::test]
async fn an_xmpp_customer_receives_exactly_the_log_entry() {
    let dir = tempfile::tempdir().unwrap();
    let db = StoreLocation::new().await;
    let prosody = Prosody::start(dir.path());
    let mut chats = customer_client(prosody.port).await;
    let flags = prosody.ctpd_flags();
    let ctpd = start(dir.path(), &db.url, free_port(), &flags.iter().map(String::as_str).collect::<Vec<_>>());
    let tenant = tenant(&ctpd).await;
    let trigger = tenant.trigger(&format!("xmpp:{CUSTOMER_JID}")).await;
    assert_eq!(trigger["notification"], "xmpp:customer@localhost");
    let log = tenant.fire(10).await;

    let chat = next_chat(&mut chats).await;
    assert_eq!(chat.from, CTPD_JID);
    assert_eq!(chat.id, log, "the log entry's URL is the message id");
    assert_eq!(chat.body, raw_get(&tenant.customer, &log).await, "the body is GET /logs/{{id}}, byte for byte");
    let admin = ctpd.admin();
    wait_for("the delivery to be recorded", || async {
        admin.get_ok("deliveries?state=delivered").await["collection"][0]["channel"] == "xmpp"
    })
    .await;
    assert!(admin.text("/metrics").await.contains("ctpd_deliveries_sent_total{channel=\"xmpp\"} 1"));
}

#[tokio::test]
async fn notifications_sent_while_the_xmpp_server_is_down_arrive_once_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = StoreLocation::new().await;
    let mut prosody = Prosody::start(dir.path());
    let flags = prosody.ctpd_flags();
    let ctpd = start(
        dir.path(),
        &db.url,
        free_port(),
        &flags.iter().map(String::as_str).chain(["--delivery-attempts", "1000"]).collect::<Vec<_>>(),
    );
    let tenant = tenant(&ctpd).await;
    tenant.trigger(&format!("xmpp:{CUSTOMER_JID}")).await;
    let first = tenant.fire(7).await;
    let mut chats = customer_client(prosody.port).await;
    assert_eq!(next_chat(&mut chats).await.id, first);

    prosody.stop();
    let mut logs = HashSet::new();
    for level in 7..12 {
        logs.insert(tenant.fire(level).await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let admin = ctpd.admin();
    wait_for("attempts to fail while the server is down", || async {
        let pending = admin.get_ok("deliveries?state=pending").await;
        pending["collection"].as_array().is_some_and(|jobs| jobs.iter().any(|j| j["attempts"].as_u64() >= Some(1)))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    prosody.resume();
    // Messages that arrive before the customer is back online wait in offline storage.
    let mut chats = customer_client(prosody.port).await;
    let mut received = HashSet::new();
    while !logs.is_subset(&received) {
        let chat = next_chat(&mut chats).await;
        assert_eq!(chat.body, raw_get(&tenant.customer, &chat.id).await);
        received.insert(chat.id);
    }
    wait_for("every job to be recorded as delivered", || async {
        admin.get_ok("deliveries?state=delivered").await["collectionLength"] == 6
    })
    .await;
}

#[tokio::test]
async fn starttls_is_verified_against_the_system_store_plus_the_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = StoreLocation::new().await;
    let prosody = Prosody::start_with(dir.path(), true);
    let mut chats = customer_client(prosody.port).await;
    let server = format!("127.0.0.1:{}", prosody.port);
    let ca_file = prosody.dir.join("certs/ca.crt");
    let xmpp = ["--xmpp-jid", CTPD_JID, "--xmpp-password", CTPD_PASSWORD, "--xmpp-server", &server];

    // Without the CA file the server's certificate is not trusted: nothing is sent.
    let untrusting = dir.path().join("untrusting");
    std::fs::create_dir_all(&untrusting).unwrap();
    let ctpd = start(&untrusting, &db.url, free_port(), &xmpp);
    let refused = tenant(&ctpd).await;
    refused.trigger(&format!("xmpp:{CUSTOMER_JID}")).await;
    refused.fire(9).await;
    let admin = ctpd.admin();
    wait_for("an attempt to fail", || async {
        admin.get_ok("deliveries?state=pending").await["collection"][0]["attempts"].as_u64() >= Some(1)
    })
    .await;
    assert!(chats.try_recv().is_err(), "no message over an unverified connection");
    drop(ctpd);

    // With it, STARTTLS verifies and the message arrives.
    let trusting = dir.path().join("trusting");
    std::fs::create_dir_all(&trusting).unwrap();
    let ca = ["--xmpp-tls", "starttls", "--xmpp-ca-file", ca_file.to_str().unwrap()];
    let db = StoreLocation::new().await;
    let ctpd = start(&trusting, &db.url, free_port(), &xmpp.iter().chain(ca.iter()).copied().collect::<Vec<_>>());
    let tenant = tenant(&ctpd).await;
    tenant.trigger(&format!("xmpp:{CUSTOMER_JID}")).await;
    let log = tenant.fire(9).await;
    assert_eq!(next_chat(&mut chats).await.id, log);
}
