//! Two `ctpd` processes on one PostgreSQL database behave as one server: concurrent pushes
//! through both lose no acknowledged result, changeIds never repeat, the rules of 5.3.2 hold
//! as if the pushes were processed one after another (a guard time is never beaten by a
//! race), and every notification job is delivered by exactly one instance.
//!
//! And a store moves: `ctpd export` of a populated SQLite store, `ctpd import` into
//! PostgreSQL, and the API answers identically.
//!
//! These tests always use PostgreSQL (`CTPD_TEST_POSTGRES_URL`, set by `scripts/test`).

use std::collections::{HashMap, HashSet};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use ctp_test_support::{api_path, link, Ctpd, StoreLocation, Tree};
use serde_json::{json, Value};

const ADMIN_TOKEN: &str = "admin-token-for-scale-out-tests";
/// The one public URL of both instances, as behind a load balancer: links and message ids
/// are the same whichever instance makes them.
const PUBLIC_URL: &str = "http://ctpd.example/api/1.0/";

/// An instance of ctpd on `database`, its log in the file `log`.
fn instance(database: &str, log: &std::path::Path) -> Ctpd {
    Ctpd::serve(env!("CARGO_BIN_EXE_ctpd"))
        .args(["--database", database, "--public-url", PUBLIC_URL])
        .admin_token(ADMIN_TOKEN)
        .args(["--delivery-backoff", "0.1", "--delivery-timeout", "3"])
        .args(["--webhook-allow-private"]) // the receivers are on loopback
        .log(log)
        .start()
}

#[tokio::test]
async fn two_instances_on_one_postgres_database_behave_as_one_server() {
    let dir = tempfile::tempdir().unwrap();
    let db = StoreLocation::postgres().await;
    let a = instance(&db.url, &dir.path().join("a.log"));
    let b = instance(&db.url, &dir.path().join("b.log"));

    // The webhook receiver counts each message id.
    let received: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    let record = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap| {
            let id = headers["webhook-id"].to_str().unwrap().to_owned();
            *record.lock().unwrap().entry(id).or_default() += 1;
            async { StatusCode::NO_CONTENT }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });

    // Four measurements, each with a guarded trigger (fires once in an hour) and an
    // unguarded one, both notifying; the tree is made through instance A.
    let admin = a.client(ADMIN_TOKEN);
    let tree = Tree::build(&admin, &["tenant:a"], false).await;
    let customer = admin.create("accounts", json!({"accountTags": ["role:user", "tenant:a"]})).await;
    let agent = admin.create("accounts", json!({"accountTags": ["role:agent", "tenant:a"]})).await;
    let customer_token = customer["token"].as_str().unwrap().to_owned();
    let agent_token = agent["token"].as_str().unwrap().to_owned();
    let mut measurements = vec![api_path(&link(&tree.measurement))];
    for i in 1..4 {
        let m = admin
            .create(
                &format!("{}/measurements", api_path(&link(&tree.attribute))),
                json!({"name": format!("m{i}"), "metric": link(&tree.metric), "createTrigger": true}),
            )
            .await;
        measurements.push(api_path(&link(&m)));
    }
    let customer_a = a.client(&customer_token);
    let mut guarded = HashSet::new();
    for m in &measurements {
        for guard in [3600, 0] {
            let trigger = customer_a
                .create(
                    &format!("{}/triggers", api_path(&link(&tree.view))),
                    json!({"measurement": format!("{PUBLIC_URL}{m}"), "condition": "value[0].level >= 0",
                           "notification": hook, "guardTime": guard}),
                )
                .await;
            if guard > 0 {
                guarded.insert(link(&trigger));
            }
        }
    }

    // 200 pushes, alternating instances, 16 at a time.
    let agents = [a.client(&agent_token), b.client(&agent_token)];
    let semaphore = Arc::new(tokio::sync::Semaphore::new(16));
    let mut tasks = Vec::new();
    for seq in 0..200u64 {
        let agent = agents[(seq % 2) as usize].clone();
        let measurement = measurements[(seq % 4) as usize].clone();
        let permit = Arc::clone(&semaphore).acquire_owned().await.unwrap();
        tasks.push(tokio::spawn(async move {
            let (status, body) =
                agent.put(&format!("{measurement}?x=result"), json!({"result": {"value": [{"level": seq}]}})).await;
            drop(permit);
            assert_eq!(status, StatusCode::OK, "{body}");
            (measurement, body["changeId"].as_str().unwrap().parse::<i64>().unwrap(), seq)
        }));
    }
    let mut change_ids = HashSet::new();
    let mut last_by_measurement: HashMap<String, (i64, u64)> = HashMap::new();
    for task in tasks {
        let (measurement, change_id, seq) = task.await.unwrap();
        assert!(change_ids.insert(change_id), "changeId {change_id} was handed out twice");
        let last = last_by_measurement.entry(measurement).or_insert((change_id, seq));
        if change_id > last.0 {
            *last = (change_id, seq);
        }
    }

    // The pushes of one measurement were serialized: the stored result is the one whose
    // acknowledged changeId is the highest, and the measurement still has that changeId.
    let customer_b = b.client(&customer_token);
    for (measurement, (change_id, seq)) in &last_by_measurement {
        let stored = customer_b.get_ok(measurement).await;
        assert_eq!(stored["changeId"], change_id.to_string());
        assert_eq!(stored["result"]["value"][0]["level"], *seq, "the last acknowledged result is kept");
    }

    // Each guarded trigger fired exactly once, whichever instance processed its pushes.
    let logs = customer_b.get_ok(&format!("{}/logs", api_path(&link(&tree.view)))).await;
    let entries: Vec<&Value> = logs["collection"].as_array().unwrap().iter().collect();
    let mut fired: HashMap<String, u32> = HashMap::new();
    let mut log_links = HashSet::new();
    for entry in &entries {
        let full = customer_b.get_ok(&api_path(entry["link"].as_str().unwrap())).await;
        *fired.entry(full["trigger"].as_str().unwrap().to_owned()).or_default() += 1;
        log_links.insert(full["self"].as_str().unwrap().to_owned());
    }
    for trigger in &guarded {
        assert_eq!(fired.get(trigger), Some(&1), "guarded trigger {trigger} fired once: {fired:?}");
    }

    // Every notification was delivered, each by one instance only.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let delivered = admin.get_ok("deliveries?state=delivered").await["collectionLength"].as_u64().unwrap();
        if delivered == log_links.len() as u64 {
            break;
        }
        assert!(Instant::now() < deadline, "{delivered} of {} notifications delivered", log_links.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = received.lock().unwrap();
    assert_eq!(received.len(), log_links.len(), "one message per log entry");
    let duplicated: Vec<_> = received.iter().filter(|(_, n)| **n > 1).collect();
    assert!(duplicated.is_empty(), "delivered more than once: {duplicated:?}");
}

fn ctpd(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ctpd")).args(args).output().expect("ctpd runs")
}

#[tokio::test]
async fn a_sqlite_store_moved_to_postgres_answers_identically() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite:{}", dir.path().join("ctpd.db").display());
    let source = instance(&sqlite, &dir.path().join("source.log"));
    let admin = source.client(ADMIN_TOKEN);
    let tree = Tree::build(&admin, &["tenant:a"], false).await;
    let customer = admin.create("accounts", json!({"accountTags": ["role:user", "tenant:a"]})).await;
    let agent = admin.create("accounts", json!({"accountTags": ["role:agent", "tenant:a"]})).await;
    let (customer_token, agent_token) =
        (customer["token"].as_str().unwrap().to_owned(), agent["token"].as_str().unwrap().to_owned());
    let view = api_path(&link(&tree.view));
    let measurement = api_path(&link(&tree.measurement));
    let dead = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let trigger = source
        .client(&customer_token)
        .create(
            &format!("{view}/triggers"),
            json!({"measurement": link(&tree.measurement), "condition": "value[0].level >= 7", "guardTime": 0,
                   "notification": format!("http://{dead}/hook"), "tags": ["severity:high"]}),
        )
        .await;
    for level in [3, 9, 12] {
        let (status, body) = source
            .client(&agent_token)
            .put(&format!("{measurement}?x=result"), json!({"result": {"value": [{"level": level}]}}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    admin.create(&format!("{view}/dependencies"), json!({"name": "IaaS", "provider": "Hoster"})).await;

    let customer_paths = [
        String::new(),
        "serviceViews".into(),
        view.clone(),
        format!("{view}/assets"),
        api_path(&link(&tree.asset)),
        format!("{}/attributes", api_path(&link(&tree.asset))),
        api_path(&link(&tree.attribute)),
        format!("{}/measurements", api_path(&link(&tree.attribute))),
        measurement.clone(),
        "metrics".into(),
        api_path(&link(&tree.metric)),
        format!("{view}/triggers"),
        api_path(&link(&trigger)),
        format!("{view}/logs"),
        format!("{view}/logs?tags=severity:high&page=0&items=1"),
        format!("{view}/dependencies"),
    ];
    let admin_paths = ["accounts".to_owned(), "logs".into(), format!("{view}?x=tags")];
    async fn answers(instance: &Ctpd, token: &str, paths: &[String]) -> Vec<Value> {
        let client = instance.client(token);
        let mut all = Vec::new();
        for p in paths {
            all.push(client.get_ok(p).await);
        }
        all
    }
    let mut before = answers(&source, &customer_token, &customer_paths).await;
    before.extend(answers(&source, ADMIN_TOKEN, &admin_paths).await);
    let logs = source.client(&customer_token).get_ok(&format!("{view}/logs")).await;
    let log_paths: Vec<String> =
        logs["collection"].as_array().unwrap().iter().map(|l| api_path(l["link"].as_str().unwrap())).collect();
    assert_eq!(log_paths.len(), 2);
    before.extend(answers(&source, &customer_token, &log_paths).await);
    drop(source);

    let file = dir.path().join("export.json");
    let exported = ctpd(&["export", "--database", &sqlite, "--output", file.to_str().unwrap()]);
    assert!(exported.status.success(), "{}", String::from_utf8_lossy(&exported.stderr));
    let postgres = StoreLocation::postgres().await;
    let imported = ctpd(&["import", "--database", &postgres.url, "--input", file.to_str().unwrap()]);
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
    let again = ctpd(&["import", "--database", &postgres.url, "--input", file.to_str().unwrap()]);
    assert!(!again.status.success(), "a second import into a store that is not empty is refused");
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    let target = instance(&postgres.url, &dir.path().join("target.log"));
    let mut after = answers(&target, &customer_token, &customer_paths).await;
    after.extend(answers(&target, ADMIN_TOKEN, &admin_paths).await);
    after.extend(answers(&target, &customer_token, &log_paths).await);
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        assert_eq!(b, a, "answer {i} differs after the move");
    }
    // The pending notification moved too.
    let jobs = target.client(ADMIN_TOKEN).get_ok("deliveries").await;
    assert_eq!(jobs["collectionLength"], 2, "{jobs}");
}

#[tokio::test]
async fn ctpd_migrate_prepares_a_database_once() {
    let postgres = StoreLocation::postgres().await;
    let first = ctpd(&["migrate", "--database", &postgres.url]);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert_eq!(String::from_utf8_lossy(&first.stdout).trim(), "10 migration(s) applied; the schema is up to date");
    let again = ctpd(&["migrate", "--database", &postgres.url]);
    assert_eq!(String::from_utf8_lossy(&again.stdout).trim(), "0 migration(s) applied; the schema is up to date");
    let refused = ctpd(&["migrate", "--database", "mysql://nobody@localhost/ctpd"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("sqlite:PATH or postgres://"));
}
