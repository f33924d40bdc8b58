//! Drills through the API, on the backend under test (the delivery worker does not run
//! here: `crates/ctpd/tests/drills.rs` sends drills through Prosody and a webhook). What a
//! drill writes, who may start and read one, and the public acknowledgement link.

use axum::http::StatusCode;
use ctp_test_support::{api_path, id_of, link, Client, TestServer, Tree};
use serde_json::{json, Value};

/// A tree with a customer's triggers: one webhook, one XMPP, one log-only.
struct Drilled {
    server: TestServer,
    tree: Tree,
    customer: Client,
}

async fn drilled() -> Drilled {
    let server = TestServer::start().await;
    let admin = server.admin();
    let tree = Tree::build(&admin, &["tenant:a"], false).await;
    let customer = server.client(&server.account(&["role:user", "tenant:a"]).await);
    let triggers = format!("{}/triggers", api_path(&link(&tree.view)));
    for (name, notification) in
        [("hook", "https://hooks.example.com/ctp"), ("chat", "xmpp:team@example.com"), ("log only", "")]
    {
        customer
            .create(
                &triggers,
                json!({"name": name, "measurement": link(&tree.measurement), "condition": "value[0].level >= 7",
                       "notification": notification, "tags": ["intrusion"]}),
            )
            .await;
    }
    Drilled { server, tree, customer }
}

impl Drilled {
    fn drills(&self) -> String {
        format!("{}/drills", api_path(&link(&self.tree.view)))
    }

    async fn logs(&self, query: &str) -> Value {
        self.customer.get_ok(&format!("{}/logs{query}", api_path(&link(&self.tree.view)))).await
    }
}

#[tokio::test]
async fn a_drill_writes_drill_entries_and_jobs_for_notifying_triggers_and_changes_no_status() {
    let d = drilled().await;
    let admin = d.server.admin();
    let measurement = api_path(&link(&d.tree.measurement));
    let agent = d.server.client(&d.server.account(&["role:agent", "tenant:a"]).await);
    assert_eq!(
        agent.put(&format!("{measurement}?x=result"), json!({"result": {"value": [{"level": 8}]}})).await.0,
        StatusCode::OK
    );
    let before_measurement = admin.get_ok(&measurement).await;
    let before_triggers = admin.get_ok(&format!("{}/triggers", api_path(&link(&d.tree.view)))).await;
    let mut trigger_states = Vec::new();
    for member in before_triggers["collection"].as_array().unwrap() {
        trigger_states.push(admin.get_ok(&api_path(member["link"].as_str().unwrap())).await);
    }
    let real_alerts = d.logs("").await["collectionLength"].clone();
    assert_eq!(real_alerts, 3, "each trigger fired once on level 8");

    let (status, drill) = admin.post(&d.drills(), json!({"annotation": "Q4 rehearsal"})).await;
    assert_eq!(status, StatusCode::CREATED, "{drill}");
    assert_eq!(drill["messages"], 2, "the log-only trigger has no channel to test: {drill}");
    assert_eq!(drill["outcome"], "pending");
    assert_eq!(drill["annotation"], "Q4 rehearsal");
    assert_eq!(drill["startedBy"], format!("{}accounts/admin", d.server.base));
    let names: Vec<&str> =
        drill["deliveries"].as_array().unwrap().iter().map(|m| m["triggerName"].as_str().unwrap()).collect();
    assert_eq!(names, ["hook", "chat"]);
    let channels: Vec<&str> =
        drill["deliveries"].as_array().unwrap().iter().map(|m| m["job"]["channel"].as_str().unwrap()).collect();
    assert_eq!(channels, ["webhook", "xmpp"]);

    // The drill's log entries: tagged drill only, saying so, with an acknowledgement link.
    let drill_logs = d.logs("?tags=drill").await;
    assert_eq!(drill_logs["collectionLength"], 2);
    for member in drill_logs["collection"].as_array().unwrap() {
        let entry = d.customer.get_ok(&api_path(member["link"].as_str().unwrap())).await;
        assert_eq!(entry["tags"], json!(["drill"]));
        let row = &entry["result"]["value"][0];
        assert!(row["message"]
            .as_str()
            .unwrap()
            .starts_with("DRILL - this is an incident-response drill, not an alert"));
        assert_eq!(row["drill"], drill["self"]);
        assert!(row["acknowledge"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/ack?token=", drill["self"].as_str().unwrap())));
        assert_eq!(entry["result"]["authorityId"], Value::Null);
    }
    assert_eq!(d.logs("?tags=intrusion").await["collectionLength"], real_alerts, "no real alert was added");
    assert_eq!(admin.get_ok(&measurement).await, before_measurement, "the objective is untouched");
    for before in trigger_states {
        assert_eq!(admin.get_ok(&api_path(before["self"].as_str().unwrap())).await, before, "the trigger is untouched");
    }
    // The report, alone and in both listings.
    let report = admin.get_ok(&api_path(drill["self"].as_str().unwrap())).await;
    assert_eq!(report, drill);
    assert_eq!(admin.get_ok(&d.drills()).await["collection"], json!([drill]));
    assert_eq!(admin.get_ok("drills").await["collectionLength"], 1);
    let deliveries = admin.get_ok("deliveries?state=pending").await;
    assert_eq!(deliveries["collectionLength"], 4, "two real alerts and two drill messages are queued");
}

#[tokio::test]
async fn only_an_administrator_who_sees_the_view_drills_it_and_a_view_without_channels_is_refused() {
    let d = drilled().await;
    assert_eq!(d.customer.post(&d.drills(), json!({})).await.0, StatusCode::FORBIDDEN);
    let other_admin = d.server.client(&d.server.account(&["role:admin", "tenant:b"]).await);
    assert_eq!(other_admin.post(&d.drills(), json!({})).await.0, StatusCode::FORBIDDEN);
    assert_eq!(other_admin.get(&d.drills()).await.0, StatusCode::FORBIDDEN);
    let admin = d.server.admin();
    let (status, body) = admin.post(&d.drills(), json!({"subject": "x"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let long = "x".repeat(1001);
    assert_eq!(admin.post(&d.drills(), json!({"annotation": long})).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(admin.post("serviceViews/nosuchview/drills", json!({})).await.0, StatusCode::NOT_FOUND);

    // A service view whose triggers only log: nothing to drill, and nothing is stored.
    let quiet = Tree::build(&admin, &["tenant:a"], false).await;
    d.customer
        .create(
            &format!("{}/triggers", api_path(&link(&quiet.view))),
            json!({"measurement": link(&quiet.measurement), "condition": "true", "notification": ""}),
        )
        .await;
    let (status, body) = admin.post(&format!("{}/drills", api_path(&link(&quiet.view))), json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("no trigger with a notification"), "{body}");
    assert_eq!(admin.get_ok("drills").await["collectionLength"], 0);

    // One started by the administrator is listed for it, not for the other one.
    let drill = admin.create(&d.drills(), json!({})).await;
    assert_eq!(other_admin.get(&api_path(drill["self"].as_str().unwrap())).await.0, StatusCode::FORBIDDEN);
    assert_eq!(other_admin.get_ok("drills").await["collectionLength"], 0);
    assert_eq!(d.customer.get(&api_path(drill["self"].as_str().unwrap())).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_acknowledgement_link_needs_its_token_and_keeps_the_first_answer() {
    let d = drilled().await;
    let admin = d.server.admin();
    let drill = admin.create(&d.drills(), json!({})).await;
    let drill_path = api_path(drill["self"].as_str().unwrap());
    let mut links = Vec::new();
    for member in d.logs("?tags=drill").await["collection"].as_array().unwrap() {
        let entry = d.customer.get_ok(&api_path(member["link"].as_str().unwrap())).await;
        links.push(entry["result"]["value"][0]["acknowledge"].as_str().unwrap().to_owned());
    }
    let anonymous = d.server.anonymous();

    // Wrong, missing or malformed tokens: 404 or 400, and nothing recorded.
    let wrong = format!("{drill_path}/ack?token={}", "A".repeat(32));
    assert_eq!(anonymous.get(&wrong).await.0, StatusCode::NOT_FOUND);
    assert_eq!(anonymous.get(&format!("{drill_path}/ack?token=short")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(anonymous.get(&format!("{drill_path}/ack")).await.0, StatusCode::BAD_REQUEST);
    let other_drill = format!("drills/{}/ack?token={}", "nosuchdrill", links[0].rsplit('=').next().unwrap());
    assert_eq!(anonymous.get(&other_drill).await.0, StatusCode::NOT_FOUND);
    let too_long = format!("{}&by={}", links[0], "n".repeat(201));
    assert_eq!(anonymous.get(&too_long).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(anonymous.get(&format!("{}&by=a%0Ab", links[0])).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(admin.get_ok(&drill_path).await["acknowledged"], 0);

    // The right link, opened (GET) by a person who names themself; a second answer on the
    // same message (POST, as a receiver calling it) keeps the first.
    let (status, answer) = anonymous.get(&format!("{}&by=Alice%20(on%20call)", links[0])).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["acknowledgedBy"], "Alice (on call)");
    assert!(answer["message"].as_str().unwrap().contains("drill, not an alert"));
    let (status, again) = anonymous.send(reqwest::Method::POST, &format!("{}&by=Bob", links[0]), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["acknowledgedBy"], "Alice (on call)");
    assert_eq!(again["acknowledgeTime"], answer["acknowledgeTime"]);
    let report = admin.get_ok(&drill_path).await;
    assert_eq!(report["acknowledged"], 1);
    let first = &report["deliveries"][0];
    assert_eq!(first["acknowledgedBy"], "Alice (on call)");
    assert_eq!(first["acknowledgeTime"], answer["acknowledgeTime"]);
    assert!(first["acknowledgeLatencySeconds"].as_f64().unwrap() >= 0.0);
    assert_eq!(report["deliveries"][1]["acknowledgeTime"], Value::Null);
    assert_eq!(id_of(&report["scope"]), id_of(&d.tree.view["self"]));
}

#[tokio::test]
async fn no_trigger_may_carry_the_drill_tag() {
    let d = drilled().await;
    let (status, body) = d
        .customer
        .post(
            &format!("{}/triggers", api_path(&link(&d.tree.view))),
            json!({"measurement": link(&d.tree.measurement), "condition": "true", "tags": ["drill"]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("reserved for the log entries of drills"), "{body}");
}
