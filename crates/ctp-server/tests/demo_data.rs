//! The demo data set of `ctpd serve --demo` loads and is consistent, walked over HTTP with
//! the tokens it hands out.

use std::sync::Arc;

use ctp_model::ConditionCache;
use ctp_server::demo;
use ctp_test_support::TestServer;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn links(collection: &Value) -> Vec<String> {
    collection["collection"].as_array().unwrap().iter().map(|m| m["link"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn the_demo_is_consistent_and_usable() {
    let server = TestServer::start().await;
    let conditions = Arc::new(ConditionCache::default());
    let data = demo::seed(&server.store, &conditions).await.expect("the demo seeds");
    let customer = server.client(&data.customer_token);
    let agent = server.client(&data.agent_token);

    let views = customer.get_ok("serviceViews").await;
    assert_eq!(views["collectionLength"], 1);
    assert_eq!(views["collection"][0]["name"], demo::SERVICE_VIEW_NAME);
    let view = customer.get_ok(&links(&views)[0]).await;
    let assets = customer.get_ok(view["assets"].as_str().unwrap()).await;
    assert_eq!(assets["collectionLength"], 3);

    let mut measured = 0;
    let mut user_activated = Vec::new();
    for asset in links(&assets) {
        let asset = customer.get_ok(&asset).await;
        for attribute in links(&customer.get_ok(asset["attributes"].as_str().unwrap()).await) {
            let attribute = customer.get_ok(&attribute).await;
            for measurement in links(&customer.get_ok(attribute["measurements"].as_str().unwrap()).await) {
                let measurement = customer.get_ok(&measurement).await;
                let metric = customer.get_ok(measurement["metric"].as_str().unwrap()).await;
                let columns: Vec<&str> =
                    metric["resultFormat"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
                assert!(!metric["baseMetric"].as_str().unwrap().is_empty());
                if measurement["userActivated"] == true {
                    user_activated.push(measurement["state"].clone());
                    continue;
                }
                measured += 1;
                assert_eq!(measurement["state"], "activated", "{measurement}");
                for row in measurement["result"]["value"].as_array().unwrap() {
                    let mut keys: Vec<&str> = row.as_object().unwrap().keys().map(String::as_str).collect();
                    keys.sort();
                    let mut expected = columns.clone();
                    expected.sort();
                    assert_eq!(keys, expected, "the row fits the metric");
                }
                let status = measurement["objective"]["status"].as_str().unwrap();
                assert!(status == "true" || status == "false", "{} has status {status}", measurement["name"]);
            }
        }
    }
    assert!(measured >= 10, "{measured} measurements with results");
    assert_eq!(user_activated, vec![json!("deactivated")], "one user-activated scan, deactivated");

    let dependencies = customer.get_ok(view["dependencies"].as_str().unwrap()).await;
    assert_eq!(
        (dependencies["collectionLength"].as_u64(), dependencies["collectionType"].as_str()),
        (Some(1), Some("serviceViews"))
    );
    let dependency = customer.get_ok(&links(&dependencies)[0]).await;
    assert_eq!(dependency["scope"], view["self"]);
    assert_eq!(dependency["provider"], "ExampleCloud");

    let triggers = customer.get_ok(view["triggers"].as_str().unwrap()).await;
    assert_eq!(triggers["collectionLength"], 1);
    let logs_link = view["logs"].as_str().unwrap().to_owned();
    let logs_before = customer.get_ok(&logs_link).await["collectionLength"].as_u64().unwrap();
    let intrusion = format!("measurements/{}?x=result", data.intrusion_measurement);
    let alert = json!({"result": {"value": [{"level": 12, "rule": 5720, "description": "Multiple SSHD authentication failures.", "agent": "api-1"}]}});
    let (status, pushed) = agent.put(&intrusion, alert).await;
    assert_eq!(status, StatusCode::OK, "{pushed}");
    assert_eq!(pushed["objective"]["status"], "false", "level 12 breaks the objective");
    assert_eq!(
        customer.get_ok(&logs_link).await["collectionLength"].as_u64().unwrap(),
        logs_before + 1,
        "the demo trigger fired"
    );

    // The availability measurements have a month of history: bars with bad days, shares below 1.
    let overview = customer.get_ok(&format!("{}?x=overview", view["self"].as_str().unwrap())).await;
    let availability: Vec<&Value> =
        overview["measurements"].as_array().unwrap().iter().filter(|m| m["name"] == "monthly availability").collect();
    assert_eq!(availability.len(), 3);
    for m in availability {
        let bad_days = m["cells"].as_array().unwrap().iter().filter(|c| c["worst"] == "notMet").count();
        // Two bad results, each in force for a day, over two or three calendar days each.
        assert!((2..=4).contains(&bad_days), "{m}");
        let share = m["uptime"]["30d"].as_f64().unwrap();
        assert!(share > 0.9 && share < 1.0, "{share}");
        let history = customer.get_ok(&format!("{}?x=history", m["link"].as_str().unwrap())).await;
        assert!(history["collectionLength"].as_u64().unwrap() > 30, "{}", history["collectionLength"]);
    }

    // Seeding again keeps the data and hands out new, working tokens.
    let again = demo::seed(&server.store, &conditions).await.unwrap();
    assert_eq!(again.service_view, data.service_view);
    assert_eq!(again.intrusion_measurement, data.intrusion_measurement);
    assert_eq!(server.client(&again.customer_token).get_ok("serviceViews").await["collectionLength"], 1);
    assert_eq!(customer.get("serviceViews").await.0, StatusCode::UNAUTHORIZED, "the old token is replaced");
}
