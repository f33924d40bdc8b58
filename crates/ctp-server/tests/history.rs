//! The history extension over HTTP (issue 15): `GET {measurement}?x=history` lists past
//! results and changes of standing, paginated and filtered by time; `GET
//! {serviceView}?x=overview` gives each readable measurement's standing, day cells and met
//! shares; bad parameters are 400s whatever `x` is; what a token may not read stays out.

use ctp_server::history::HistoryRetention;
use ctp_test_support::{link, TestServer, Tree};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn push(admin: &ctp_test_support::Client, measurement: &str, level: i64) {
    let (status, body) =
        admin.put(&format!("{measurement}?x=result"), json!({"result": {"value": [{"level": level}]}})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn the_history_lists_every_push_and_change_oldest_first_in_pages() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let tree = Tree::build(&admin, &["customer:a"], false).await;
    let measurement = link(&tree.measurement);
    for level in [3, 4, 12, 1] {
        push(&admin, &measurement, level).await;
    }
    let history = admin.get_ok(&format!("{measurement}?x=history")).await;
    assert_eq!(history["collectionType"], "history");
    assert_eq!(history["scope"], measurement);
    assert_eq!(history["collectionLength"], 5, "creation and four pushes: {history:#}");
    let entries = history["collection"].as_array().unwrap();
    let summary: Vec<(Value, Value, bool)> = entries
        .iter()
        .map(|e| (e["objectiveStatus"].clone(), e["standing"].clone(), e["statusChanged"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        summary,
        [
            (json!("false"), json!("noResult"), true),
            (json!("true"), json!("met"), true),
            (json!("true"), json!("met"), false),
            (json!("false"), json!("notMet"), true),
            (json!("true"), json!("met"), true),
        ]
    );
    assert_eq!(entries[0]["result"], Value::Null);
    assert_eq!(entries[3]["result"]["value"][0]["level"], 12, "the result as pushed");
    let times: Vec<&str> = entries.iter().map(|e| e["time"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "oldest first: {times:?}");

    // Pages, as 4.1.6.
    let page = admin.get_ok(&format!("{measurement}?x=history&page=1&items=2")).await;
    assert_eq!((page["collectionLength"].as_u64(), page["returnedLength"].as_u64()), (Some(5), Some(2)));
    assert_eq!(page["collection"][0]["time"], entries[2]["time"]);
    // Time filters: [oldest, newest).
    let oldest = entries[3]["time"].as_str().unwrap();
    let recent = admin.get_ok(&format!("{measurement}?x=history&oldest={oldest}")).await;
    assert_eq!(recent["collectionLength"], 2);
    let early = admin.get_ok(&format!("{measurement}?x=history&newest={oldest}")).await;
    assert_eq!(early["collectionLength"], 3);

    // Bad parameters are 400s, with x=history or without.
    for query in ["x=history&oldest=yesterday", "x=history&page=0&items=10001", "x=history&page=1", "items=0&page=0"] {
        let (status, body) = admin.get(&format!("{measurement}?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{body}");
    }

    // Who may not read the measurement gets no history.
    let other = server.account(&["role:user", "customer:b"]).await;
    let (status, _) = server.client(&other).get(&format!("{measurement}?x=history")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let reader = server.account(&["role:user", "customer:a"]).await;
    let seen = server.client(&reader).get_ok(&format!("{measurement}?x=history")).await;
    assert_eq!(seen["collectionLength"], 5);
    let (status, _) = admin.get("measurements/no-such-measurement?x=history").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_overview_gives_standings_day_cells_and_shares_of_what_the_token_may_read() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let tree = Tree::build(&admin, &["customer:a"], false).await;
    let measurement = link(&tree.measurement);
    let view = link(&tree.view);
    // A second measurement the customer may not read, and one without objective.
    let hidden = admin
        .create(
            &format!("{}/measurements", link(&tree.attribute)),
            json!({"name": "provider only", "metric": link(&tree.metric), "accessTags": ["provider:x"],
                   "objective": {"condition": "value[0].level < 10"}}),
        )
        .await;
    let plain = admin
        .create(
            &format!("{}/measurements", link(&tree.attribute)),
            json!({"name": "plain", "metric": link(&tree.metric)}),
        )
        .await;
    push(&admin, &measurement, 3).await;
    push(&admin, &measurement, 12).await;

    let customer = server.client(&server.account(&["role:user", "customer:a"]).await);
    let overview = customer.get_ok(&format!("{view}?x=overview&days=7&utcOffset=120")).await;
    assert_eq!(overview["serviceView"], view);
    assert_eq!(overview["name"], "view");
    assert_eq!((overview["days"].as_u64(), overview["utcOffset"].as_i64()), (Some(7), Some(120)));
    assert_eq!(overview["counts"], json!({"met": 0, "notMet": 1, "error": 0, "noResult": 0, "noObjective": 1}));
    let measurements = overview["measurements"].as_array().unwrap();
    let links: Vec<&str> = measurements.iter().map(|m| m["link"].as_str().unwrap()).collect();
    assert!(!links.contains(&link(&hidden).as_str()), "a measurement the token may not read is left out");
    assert!(!overview.to_string().contains("provider only"));
    let m = measurements.iter().find(|m| m["link"] == measurement).unwrap();
    assert_eq!(m["status"], "notMet");
    assert_eq!(m["hasResult"], true);
    assert_eq!(m["objective"], "value[0].level < 10");
    assert_eq!(m["asset"]["name"], "api");
    assert_eq!(m["attribute"]["link"], link(&tree.attribute));
    let cells = m["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 7);
    let today = &cells[6];
    assert_eq!(today["worst"], "notMet", "{today}");
    let changes: Vec<&str> =
        today["changes"].as_array().unwrap().iter().map(|c| c["standing"].as_str().unwrap()).collect();
    assert_eq!(changes, ["noResult", "met", "notMet"]);
    assert_eq!(cells[0]["worst"], "noResult", "before anything was recorded");
    assert!(m["uptime"]["24h"].as_f64().is_some_and(|s| (0.0..=1.0).contains(&s)), "{}", m["uptime"]);
    let p = measurements.iter().find(|m| m["link"] == link(&plain)).unwrap();
    assert_eq!((p["status"].as_str(), &p["uptime"]["90d"]), (Some("noObjective"), &Value::Null));

    // The administrator sees all three; defaults are 90 days in UTC.
    let all = admin.get_ok(&format!("{view}?x=overview")).await;
    assert_eq!(all["measurements"].as_array().unwrap().len(), 3);
    assert_eq!(all["measurements"][0]["cells"].as_array().unwrap().len(), 90);
    assert_eq!(all["counts"]["noResult"], 1);

    // Bad parameters are 400s whatever x is; a customer without the view's tag gets 403.
    for query in
        ["x=overview&days=0", "x=overview&days=400", "x=overview&utcOffset=9999", "days=x", "x=tags&utcOffset=1.5"]
    {
        let (status, body) = admin.get(&format!("{view}?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
    }
    let stranger = server.client(&server.account(&["role:user", "customer:b"]).await);
    let (status, body) = stranger.get(&format!("{view}?x=overview")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(!body.to_string().contains("max level"));
}

#[tokio::test]
async fn retention_prunes_by_age_and_count() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let tree = Tree::build(&admin, &["customer:a"], false).await;
    let measurement = link(&tree.measurement);
    for level in 1..=6 {
        push(&admin, &measurement, level).await;
    }
    let count = |v: Value| v["collectionLength"].as_u64().unwrap();
    assert_eq!(count(admin.get_ok(&format!("{measurement}?x=history")).await), 7);
    let now = ctp_model::Timestamp::now();
    let keep_three = HistoryRetention { max_age: None, max_results_per_measurement: Some(3) };
    assert_eq!(keep_three.prune(server.store.as_ref(), now).await.unwrap(), 4);
    let left = admin.get_ok(&format!("{measurement}?x=history")).await;
    assert_eq!(count(left.clone()), 3);
    assert_eq!(left["collection"][2]["result"]["value"][0]["level"], 6, "the newest stay");
    let unlimited = HistoryRetention { max_age: None, max_results_per_measurement: None };
    assert_eq!(unlimited.prune(server.store.as_ref(), now).await.unwrap(), 0);
    // An hour from now, a day's age limit keeps them; a year on, none is left.
    let a_day = HistoryRetention { max_age: Some(std::time::Duration::from_secs(86_400)), ..unlimited };
    assert_eq!(a_day.prune(server.store.as_ref(), now).await.unwrap(), 0);
    let later = ctp_model::Timestamp::from_millis(now.millis() + 366 * 86_400_000).unwrap();
    assert_eq!(a_day.prune(server.store.as_ref(), later).await.unwrap(), 3);
    assert_eq!(count(admin.get_ok(&format!("{measurement}?x=history")).await), 0);
}
