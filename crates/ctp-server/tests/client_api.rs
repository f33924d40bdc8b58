//! The client API over HTTP against a real server: the Appendix A walkthrough following
//! links only, the pagination examples of 4.1.6, changeId propagation (4.1.5), the
//! user-activation state machine (5.2.11) and triggers (5.3.2) with their log entries.

use ctp_test_support::{id_of, link, TestServer, Tree};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn appendix_a_walkthrough_following_links_only() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let tree = Tree::build(&admin, &["customer:h1"], false).await;
    let customer = server.client(&server.account(&["role:user", "customer:h1"]).await);

    // Step 1: the entry point.
    let entry = customer.get_ok("").await;
    assert_eq!(entry["self"], server.base.as_str());
    assert!(entry["self"].as_str().unwrap().ends_with('/'), "the entry point's self ends with /");
    assert_eq!(entry["version"], "1.0");
    // Step 2: the service views the customer may access.
    let views = customer.get_ok(entry["serviceViews"].as_str().unwrap()).await;
    assert_eq!(views["collectionType"], "serviceViews");
    assert_eq!(views["collectionLength"], 1);
    // Step 3: the service view.
    let view = customer.get_ok(views["collection"][0]["link"].as_str().unwrap()).await;
    assert_eq!(view["scope"], server.base.as_str());
    assert_eq!(view["serviceClass"], serde_json::Value::Null);
    // Steps 4-5: its assets, the first asset.
    let assets = customer.get_ok(view["assets"].as_str().unwrap()).await;
    assert_eq!(assets["scope"], view["self"]);
    let asset = customer.get_ok(assets["collection"][0]["link"].as_str().unwrap()).await;
    assert_eq!(asset["name"], "api");
    assert_eq!(asset["assetClass"], serde_json::Value::Null);
    // Steps 6-7: its attributes, the first attribute.
    let attributes = customer.get_ok(asset["attributes"].as_str().unwrap()).await;
    let attribute = customer.get_ok(attributes["collection"][0]["link"].as_str().unwrap()).await;
    assert_eq!(attribute["scope"], asset["self"]);
    // Steps 8-9: its measurements, the first measurement.
    let measurements = customer.get_ok(attribute["measurements"].as_str().unwrap()).await;
    let measurement = customer.get_ok(measurements["collection"][0]["link"].as_str().unwrap()).await;
    assert_eq!(measurement["self"], tree.measurement["self"]);
    assert_eq!(measurement["state"], "pending");
    assert_eq!(measurement["result"], serde_json::Value::Null);
    assert_eq!(measurement["objective"]["status"], "false");
    assert!(measurement["objective"]["statusUpdateTime"].is_string(), "never null");
    assert_eq!(measurement["createTrigger"], format!("{}/triggers", view["self"].as_str().unwrap()).as_str());
    // Step 10: the metric.
    let metric = customer.get_ok(measurement["metric"].as_str().unwrap()).await;
    assert_eq!(metric["resultFormat"], json!([{"name": "level", "type": "number"}]));
    assert_eq!(metric["scope"], server.base.as_str());
    for resource in [&view, &asset, &attribute, &measurement, &metric] {
        assert!(resource["changeId"].is_string(), "{resource}");
    }
}

#[tokio::test]
async fn pagination_examples_5_to_7() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let view = admin.create("serviceViews", json!({"name": "v"})).await;
    for i in 1..=5 {
        admin.create(&format!("{}/assets", link(&view)), json!({"name": format!("asset {i}")})).await;
    }
    let assets = format!("{}/assets", link(&view));
    let whole = admin.get_ok(&assets).await;
    assert_eq!((whole["collectionLength"].as_u64(), whole["returnedLength"].as_u64()), (Some(5), Some(5)));

    let first = admin.get_ok(&format!("{assets}?page=0&items=3")).await;
    assert_eq!(first["self"], format!("{assets}?page=0&items=3").as_str());
    assert_eq!((first["collectionLength"].as_u64(), first["returnedLength"].as_u64()), (Some(5), Some(3)));
    let names: Vec<&str> =
        first["collection"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["asset 1", "asset 2", "asset 3"]);

    let last = admin.get_ok(&format!("{assets}?page=1&items=3")).await;
    assert_eq!(last["returnedLength"], 2);
    assert_eq!(last["collection"][1]["name"], "asset 5");

    let beyond = admin.get_ok(&format!("{assets}?page=2&items=3")).await;
    assert_eq!((beyond["collectionLength"].as_u64(), beyond["returnedLength"].as_u64()), (Some(5), Some(0)));
    assert_eq!(beyond["collection"], json!([]));

    let named = admin.get_ok(&format!("{assets}?name=asset%204")).await;
    assert_eq!(named["collectionLength"], 1);
    assert_eq!(named["collection"][0]["name"], "asset 4");
    assert_eq!(whole, admin.get_ok(&assets).await, "the order is stable across queries");
}

#[tokio::test]
async fn change_ids_propagate_up_the_scope_and_never_repeat() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let tree = Tree::build(&admin, &["customer:h1"], false).await;
    let agent = server.client(&server.account(&["role:agent", "customer:h1"]).await);
    let change_ids = |admin: ctp_test_support::Client, links: Vec<String>| async move {
        let mut ids = Vec::new();
        for l in links {
            ids.push(admin.get_ok(&l).await["changeId"].as_str().unwrap().to_owned());
        }
        ids
    };
    let chain = vec![link(&tree.measurement), link(&tree.attribute), link(&tree.asset), link(&tree.view)];
    let before = change_ids(admin.clone(), chain.clone()).await;
    let metric_before = admin.get_ok(&link(&tree.metric)).await["changeId"].clone();
    let mut seen: Vec<String> = before.clone();
    for level in [1, 2, 3] {
        let (status, _) = agent
            .put(&format!("{}?x=result", link(&tree.measurement)), json!({"result": {"value": [{"level": level}]}}))
            .await;
        assert_eq!(status, StatusCode::OK);
        let now = change_ids(admin.clone(), chain.clone()).await;
        for (old, new) in seen.iter().zip(&now) {
            assert_ne!(old, new, "every resource up to the service view has a new changeId");
        }
        seen = now;
    }
    assert_eq!(admin.get_ok(&link(&tree.metric)).await["changeId"], metric_before, "a metric is not in the scope");
    // A new trigger updates its service view, not the measurement.
    let measurement_change = admin.get_ok(&link(&tree.measurement)).await["changeId"].clone();
    let view_change = admin.get_ok(&link(&tree.view)).await["changeId"].clone();
    let customer = server.client(&server.account(&["role:user", "customer:h1"]).await);
    customer
        .create(
            &format!("{}/triggers", link(&tree.view)),
            json!({"measurement": link(&tree.measurement), "condition": "value[0].level > 100"}),
        )
        .await;
    assert_ne!(admin.get_ok(&link(&tree.view)).await["changeId"], view_change);
    assert_eq!(admin.get_ok(&link(&tree.measurement)).await["changeId"], measurement_change);
}

#[tokio::test]
async fn the_user_activated_state_machine() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let tree = Tree::build(&admin, &["customer:h1"], true).await;
    let customer = server.client(&server.account(&["role:user", "customer:h1"]).await);
    let agent = server.client(&server.account(&["role:agent", "customer:h1"]).await);
    let measurement = link(&tree.measurement);
    assert_eq!(tree.measurement["userActivated"], true);
    assert_eq!(tree.measurement["state"], "deactivated");

    let push = |level: i64| json!({"result": {"value": [{"level": level}], "updateTime": "2026-11-22T10:00:00Z"}});
    let (status, body) = agent.put(&format!("{measurement}?x=result"), push(1)).await;
    assert_eq!(status, StatusCode::CONFLICT, "a deactivated measurement takes no result: {body}");

    let (status, body) = customer.put(&format!("{measurement}?x=state"), json!({"state": "activated"})).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("pending")));
    let (status, body) = agent.put(&format!("{measurement}?x=result"), push(3)).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("activated")));
    assert_eq!(body["result"]["value"][0]["level"], 3);
    assert_eq!(body["objective"]["status"], "true");

    let (status, body) = customer.put(&format!("{measurement}?x=state"), json!({"state": "deactivated"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((body["state"].as_str(), &body["result"]), (Some("deactivated"), &serde_json::Value::Null));

    let (status, body) = customer.put(&format!("{measurement}?x=state"), json!({"state": "paused"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let provider_managed = Tree::build(&admin, &["customer:h1"], false).await;
    let (status, body) =
        customer.put(&format!("{}?x=state", link(&provider_managed.measurement)), json!({"state": "activated"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

#[tokio::test]
async fn a_result_comes_back_exactly_as_pushed() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let tree = Tree::build(&admin, &["customer:h1"], false).await;
    let agent = server.client(&server.account(&["role:agent", "customer:h1"]).await);
    // An empty signature is "no signature" (4.2.6); a signature is verified against its
    // authority (tests/signed_results.rs).
    let pushed = r#"{"result":{"value":[{"level":7.50}],"dateTime":"2026-11-22T10:41:58+01:00","authority":"agent-7","signature":""}}"#;
    let (status, _) =
        agent.send(reqwest::Method::PUT, &format!("{}?x=result", link(&tree.measurement)), Some(pushed.into())).await;
    assert_eq!(status, StatusCode::OK);
    let raw = reqwest::Client::new()
        .get(link(&tree.measurement))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        raw.contains(r#""result":{"value":[{"level":7.50}],"updateTime":"2026-11-22T10:41:58+01:00","authorityId":"agent-7","signature":""}"#),
        "same keys, order, number spelling and time string, with the wire names: {raw}"
    );
}

#[tokio::test]
async fn triggers_fire_with_guard_time_and_log_errors_once() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let tree = Tree::build(&admin, &["customer:h1"], false).await;
    let customer = server.client(&server.account(&["role:user", "customer:h1"]).await);
    let agent = server.client(&server.account(&["role:agent", "customer:h1"]).await);
    let triggers = format!("{}/triggers", link(&tree.view));
    let alert = customer
        .create(
            &triggers,
            json!({"name": "high", "measurement": link(&tree.measurement), "condition": "value[0].level >= 7",
                   "guardTime": 3600, "tags": ["severity:high"], "notification": ""}),
        )
        .await;
    assert_eq!((alert["status"].as_str(), alert["guardTime"].as_u64()), (Some("false"), Some(3600)));
    let broken = customer
        .create(
            &triggers,
            json!({"name": "broken", "measurement": link(&tree.measurement), "condition": "value[0].missing.x > 1"}),
        )
        .await;
    let push = |level: i64| {
        let agent = agent.clone();
        let url = format!("{}?x=result", link(&tree.measurement));
        async move {
            let (status, body) = agent.put(&url, json!({"result": {"value": [{"level": level}]}})).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    };
    push(9).await; // alert: false -> true (log); broken: false -> error (log)
    push(9).await; // alert: within the guard time; broken: sticky error
    push(2).await;
    let logs_link = format!("{}/logs", link(&tree.view));
    let logs = customer.get_ok(&logs_link).await;
    assert_eq!(logs["collectionLength"], 2, "{logs}");
    let mut normal = 0;
    let mut error = 0;
    for member in logs["collection"].as_array().unwrap() {
        let entry = customer.get_ok(member["link"].as_str().unwrap()).await;
        assert_eq!(entry["scope"], tree.view["self"]);
        if entry["tags"] == json!(["error"]) {
            error += 1;
            assert_eq!(entry["trigger"], broken["self"]);
            assert!(entry["error"].as_str().unwrap().contains("cannot read field `x` of null"), "{entry}");
            assert!(entry.get("result").is_none());
        } else {
            normal += 1;
            assert_eq!(entry["trigger"], alert["self"]);
            assert_eq!(entry["tags"], json!(["severity:high"]));
            assert_eq!(entry["result"]["value"][0]["level"], 9);
        }
    }
    assert_eq!((normal, error), (1, 1));
    assert_eq!(customer.get_ok(&link(&broken)).await["status"], "error");
    let tagged = customer.get_ok(&format!("{logs_link}?tags=error")).await;
    assert_eq!(tagged["collectionLength"], 1);
    let (status, _) = customer.delete(&link(&alert)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(customer.get(&link(&alert)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(customer.get_ok(&logs_link).await["collectionLength"], 2, "log entries outlive their trigger");
    assert_eq!(id_of(&alert["measurement"]), id_of(&tree.measurement["self"]));
}

#[tokio::test]
async fn log_time_filters_round_trip_creation_times() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let tree = Tree::build(&admin, &["customer:h1"], false).await;
    let customer = server.client(&server.account(&["role:user", "customer:h1"]).await);
    let agent = server.client(&server.account(&["role:agent", "customer:h1"]).await);
    customer
        .create(
            &format!("{}/triggers", link(&tree.view)),
            json!({"measurement": link(&tree.measurement), "condition": "true"}),
        )
        .await;
    for level in 0..3 {
        agent
            .put(&format!("{}?x=result", link(&tree.measurement)), json!({"result": {"value": [{"level": level}]}}))
            .await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let logs_link = format!("{}/logs", link(&tree.view));
    let all = customer.get_ok(&logs_link).await;
    let entries = all["collection"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    let second = customer.get_ok(entries[1]["link"].as_str().unwrap()).await;
    let time = second["creationTime"].as_str().unwrap();
    assert!(time.ends_with('Z') && time.len() == "2026-11-22T10:41:58.123Z".len(), "{time}");
    let since = customer.get_ok(&format!("{logs_link}?oldest={time}")).await;
    assert_eq!(since["collection"][0]["link"], entries[1]["link"], "oldest is inclusive");
    let before = customer.get_ok(&format!("{logs_link}?newest={time}")).await;
    assert_eq!(before["collectionLength"], 1, "newest is exclusive");

    // Windows past what SQL's signed OFFSET and LIMIT hold (page * items beyond i64::MAX;
    // found by Schemathesis: PostgreSQL answered 500, SQLite the first page), in the store's
    // log windows and the in-memory ones of other collections.
    let assets = format!("{}/assets", link(&tree.view));
    for collection in [&logs_link, &assets] {
        let expected = customer.get_ok(collection.as_str()).await["collectionLength"].clone();
        for (query, returned) in [
            ("page=0&items=9223372036854775807", expected.clone()),
            ("page=9223372036854775807&items=2", json!(0)),
            ("page=9223372036854775807&items=9223372036854775807", json!(0)),
        ] {
            let page = customer.get_ok(&format!("{collection}?{query}")).await;
            assert_eq!(page["collectionLength"], expected, "{collection}?{query}");
            assert_eq!(page["returnedLength"], returned, "{collection}?{query}");
        }
    }
}
