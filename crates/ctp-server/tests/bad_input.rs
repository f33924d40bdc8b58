//! Every 4xx of the decisions page: the status, a JSON `{"error": ...}` that says what to
//! fix, and a store that the bad request did not change.

use ctp_test_support::{link, Client, TestServer, Tree};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// What a bad request must not change: the changeIds of the tree and the sizes of its
/// collections.
async fn snapshot(admin: &Client, tree: &Tree) -> Vec<Value> {
    let mut state = Vec::new();
    for resource in [&tree.view, &tree.asset, &tree.attribute, &tree.measurement, &tree.metric] {
        let current = admin.get_ok(&link(resource)).await;
        state.push(current["changeId"].clone());
        state.push(current.get("result").cloned().unwrap_or(Value::Null));
    }
    for collection in ["serviceViews", "metrics", "accounts", "logs"] {
        state.push(admin.get_ok(collection).await["collectionLength"].clone());
    }
    for sub in ["assets", "triggers", "dependencies"] {
        state.push(admin.get_ok(&format!("{}/{sub}", link(&tree.view))).await["collectionLength"].clone());
    }
    state
}

/// Sends a raw request and checks the status and the JSON error body.
async fn expect_error(client: &Client, method: Method, url: &str, body: Option<&str>, status: StatusCode) -> String {
    let (got, answer) = client.send(method.clone(), url, body.map(str::to_owned)).await;
    assert_eq!(got, status, "{method} {url}: {answer}");
    let message = answer["error"].as_str().unwrap_or_else(|| panic!("no error message: {answer}"));
    assert!(!message.is_empty());
    message.to_owned()
}

struct Setup {
    server: TestServer,
    tree: Tree,
    customer: Client,
    agent: Client,
}

async fn setup() -> Setup {
    let server = TestServer::start().await;
    let tree = Tree::build(&server.admin(), &["customer:h1"], false).await;
    let customer = server.client(&server.account(&["role:user", "customer:h1"]).await);
    let agent = server.client(&server.account(&["role:agent", "customer:h1"]).await);
    Setup { server, tree, customer, agent }
}

#[tokio::test]
async fn status_400_for_bodies_ids_queries_results_and_conditions() {
    let Setup { server, tree, customer, agent } = setup().await;
    let admin = server.admin();
    // Resources some cases need, made before the snapshot.
    let other = Tree::build(&admin, &["customer:h1"], false).await;
    let closed = admin
        .create(
            &format!("{}/measurements", link(&tree.attribute)),
            json!({"metric": link(&tree.metric), "createTrigger": false}),
        )
        .await;
    let before = snapshot(&admin, &tree).await;
    let view = link(&tree.view);
    let measurement = link(&tree.measurement);
    let bad = StatusCode::BAD_REQUEST;
    let triggers = format!("{view}/triggers");

    // malformed JSON, wrong types, unknown properties
    let m = expect_error(&admin, Method::POST, "serviceViews", Some("{\"name\": "), bad).await;
    assert!(m.contains("request body"), "{m}");
    expect_error(&admin, Method::POST, "serviceViews", Some(r#"{"accessTags": "customer:h1"}"#), bad).await;
    let m = expect_error(&admin, Method::POST, "serviceViews", Some(r#"{"nmae": "x"}"#), bad).await;
    assert!(m.contains("unknown field `nmae`"), "{m}");
    let body = json!({"measurement": measurement, "condition": "true", "guardTime": "abc"}).to_string();
    expect_error(&customer, Method::POST, &triggers, Some(&body), bad).await;
    let body = json!({"measurement": measurement, "condition": "true", "guardTime": -1}).to_string();
    expect_error(&customer, Method::POST, &triggers, Some(&body), bad).await;
    // a property no trigger has (status, which a GET shows, is ignored: see round_trip.rs)
    let body = json!({"measurement": measurement, "condition": "true", "statsu": "true"}).to_string();
    let m = expect_error(&customer, Method::POST, &triggers, Some(&body), bad).await;
    assert!(m.contains("unknown field `statsu`"), "{m}");
    expect_error(&admin, Method::POST, "serviceViews", None, bad).await;
    // an array where an object is meant is not bound field by field
    let m = expect_error(&admin, Method::POST, "accounts", Some(r#"["n", "a", ["*"]]"#), bad).await;
    assert!(m.contains("expected a JSON object"), "{m}");
    // an account without rights
    let m = expect_error(&admin, Method::POST, "accounts", Some(r#"{"accessTags": ["role:user"]}"#), bad).await;
    assert!(m.contains("accountTags is missing"), "{m}");
    // a first result that does not fit the metric, or with a deactivated measurement
    let body = json!({"metric": link(&tree.metric), "result": {"value": [{"level": "high"}]}}).to_string();
    let m =
        expect_error(&admin, Method::POST, &format!("{}/measurements", link(&tree.attribute)), Some(&body), bad).await;
    assert!(m.contains(r#"column "level" expects a number"#), "{m}");
    let body = json!({"metric": link(&tree.metric), "state": "deactivated", "result": {"value": []}}).to_string();
    let m =
        expect_error(&admin, Method::POST, &format!("{}/measurements", link(&tree.attribute)), Some(&body), bad).await;
    assert!(m.contains("deactivated measurement has no result"), "{m}");

    // ids outside base64url, or longer than 96 characters
    for id in ["a.b", "a%20b", "a+b", &"a".repeat(97)] {
        let m = expect_error(&customer, Method::GET, &format!("assets/{id}"), None, bad).await;
        assert!(m.contains("invalid id"), "{m}");
    }
    assert_eq!(customer.get(&format!("assets/{}", "a".repeat(96))).await.0, StatusCode::NOT_FOUND, "96 is fine");
    // a segment that is not UTF-8 once percent-decoded is refused by the framework, with a
    // JSON body too
    let m = expect_error(&customer, Method::GET, "assets/a%FFb", None, bad).await;
    assert!(m.contains("UTF-8") || m.contains("URL"), "{m}");

    // page and items
    let assets = format!("{view}/assets");
    for query in [
        "page=0",
        "items=2",
        "page=x&items=2",
        "page=-1&items=2",
        "page=1.5&items=2",
        "page=0&items=0",
        "page=9223372036854775808&items=1",
        "page=0&items=9223372036854775808",
    ] {
        expect_error(&customer, Method::GET, &format!("{assets}?{query}"), None, bad).await;
    }
    expect_error(&customer, Method::GET, &format!("{view}/logs?oldest=yesterday"), None, bad).await;

    // results that do not fit the metric's resultFormat
    let push = format!("{measurement}?x=result");
    for (result, expected) in [
        (json!({"value": [{"level": "high"}]}), r#"column "level" expects a number, got the string "high""#),
        (json!({"value": [{}]}), r#"has no column "level""#),
        (json!({"value": [{"level": 1, "extra": 2}]}), r#"the column "extra""#),
        (json!({"value": [{"level": null}]}), r#"expects a number, got null"#),
        (json!({"value": {"level": 1}}), "must be an array"),
        (json!({"value": [], "updateTime": "noon"}), "RFC 3339"),
        (json!({"rows": []}), "unknown property"),
    ] {
        let body = json!({"result": result}).to_string();
        let m = expect_error(&agent, Method::PUT, &push, Some(&body), bad).await;
        assert!(m.contains(expected), "{m} should contain {expected}");
    }

    // CTPScript syntax errors in a new trigger or objective
    let body = json!({"measurement": measurement, "condition": "value[0].level >="}).to_string();
    let m = expect_error(&customer, Method::POST, &triggers, Some(&body), bad).await;
    assert!(m.contains("syntax error at column 18"), "{m}");
    let body = json!({"objective": {"condition": "value[0].level ="}}).to_string();
    let m = expect_error(&admin, Method::PUT, &format!("{measurement}?x=objective"), Some(&body), bad).await;
    assert!(m.contains("syntax error"), "{m}");

    // triggers on a measurement elsewhere, or one that does not allow triggers
    let body = json!({"measurement": link(&other.measurement), "condition": "true"}).to_string();
    let m = expect_error(&customer, Method::POST, &triggers, Some(&body), bad).await;
    assert!(m.contains("not part of service view"), "{m}");
    assert_eq!(closed["createTrigger"], Value::Null);
    let body = json!({"measurement": link(&closed), "condition": "true"}).to_string();
    let m = expect_error(&customer, Method::POST, &triggers, Some(&body), bad).await;
    assert!(m.contains("does not allow triggers"), "{m}");
    // an unknown operation
    expect_error(&customer, Method::GET, &format!("{measurement}?x=nothing"), None, bad).await;
    // subtree is true or false, whatever the operation (only x=tags uses it)
    let state = Some(r#"{"state": "activated"}"#);
    let m = expect_error(&customer, Method::PUT, &format!("{measurement}?x=state&subtree=maybe"), state, bad).await;
    assert!(m.contains("subtree must be true or false"), "{m}");

    assert_eq!(before, snapshot(&admin, &tree).await, "no bad request changed anything");
}

/// U+0000 in a string: PostgreSQL cannot store it (nor cast it to JSONB, as the log filters
/// do), so neither backend takes it, in a body, a result or a query (it was a 500 on
/// PostgreSQL). A backslash before `u0000` is text, not a NUL.
#[tokio::test]
async fn nul_characters_are_refused_in_bodies_and_queries() {
    let Setup { server, tree, customer, agent } = setup().await;
    let admin = server.admin();
    let bad = StatusCode::BAD_REQUEST;
    let before = snapshot(&admin, &tree).await;
    let m = expect_error(&admin, Method::POST, "serviceViews", Some(r#"{"name": "a\u0000b"}"#), bad).await;
    assert!(m.contains("U+0000"), "{m}");
    let trigger = json!({"measurement": link(&tree.measurement), "condition": "true", "tags": ["x\u{0}"]});
    expect_error(&customer, Method::POST, &format!("{}/triggers", link(&tree.view)), Some(&trigger.to_string()), bad)
        .await;
    let push = format!("{}?x=result", link(&tree.measurement));
    expect_error(&agent, Method::PUT, &push, Some(r#"{"result": {"value": [], "signature": "\\\u0000"}}"#), bad).await;
    let m = expect_error(&customer, Method::GET, &format!("{}/logs?tags=a%00b", link(&tree.view)), None, bad).await;
    assert!(m.contains("tags holds U+0000"), "{m}");
    expect_error(&customer, Method::GET, "serviceViews?name=%00", None, bad).await;
    assert_eq!(before, snapshot(&admin, &tree).await, "nothing changed");

    let text = admin.create("serviceViews", json!({"name": "a\\u0000b"})).await;
    assert_eq!(text["name"], "a\\u0000b", "an escaped backslash and u0000 is text");
}

#[tokio::test]
async fn status_404_405_409_and_413() {
    let Setup { server, tree, customer, agent } = setup().await;
    let admin = server.admin();
    let view = link(&tree.view);
    let measurement = link(&tree.measurement);

    // 404: unknown resources, unknown paths, trailing slashes (the entry point excepted)
    expect_error(&customer, Method::GET, "assets/doesNotExist", None, StatusCode::NOT_FOUND).await;
    expect_error(&customer, Method::GET, "nothing/here", None, StatusCode::NOT_FOUND).await;
    expect_error(&customer, Method::GET, "serviceViews/", None, StatusCode::NOT_FOUND).await;
    expect_error(&customer, Method::GET, &format!("{view}/"), None, StatusCode::NOT_FOUND).await;
    assert_eq!(customer.get("").await.0, StatusCode::OK, "the entry point ends with /");
    expect_error(
        &customer,
        Method::GET,
        &link(&tree.view).replace("serviceViews", "dependencies"),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;

    // 405 with Allow
    for (method, path) in [(Method::PATCH, "serviceViews"), (Method::DELETE, "metrics"), (Method::POST, "logs")] {
        let response = reqwest::Client::new()
            .request(method.clone(), format!("{}{path}", server.base))
            .bearer_auth(&server.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert!(response.headers().get("allow").is_some(), "{method} {path} has Allow");
        assert_eq!(response.headers()["content-type"], "application/json");
        assert!(response.json::<Value>().await.unwrap()["error"].is_string());
    }

    let before = snapshot(&admin, &tree).await;
    // 409: ?x=state on a measurement that is not user-activated
    let body = json!({"state": "activated"}).to_string();
    expect_error(&customer, Method::PUT, &format!("{measurement}?x=state"), Some(&body), StatusCode::CONFLICT).await;
    // 409: deleting a metric still in use, which then still exists
    let m = expect_error(&admin, Method::DELETE, &link(&tree.metric), None, StatusCode::CONFLICT).await;
    assert!(m.contains("used by 1 measurement"), "{m}");
    assert_eq!(admin.get(&link(&tree.metric)).await.0, StatusCode::OK);
    // 413: a body over 1 MiB
    let huge = format!("{{\"result\": {{\"value\": [], \"x\": \"{}\"}}}}", "a".repeat(1_100_000));
    expect_error(&agent, Method::PUT, &format!("{measurement}?x=result"), Some(&huge), StatusCode::PAYLOAD_TOO_LARGE)
        .await;
    assert_eq!(before, snapshot(&admin, &tree).await, "no refused request changed anything");

    // 409: a result pushed to a deactivated measurement
    let scan = Tree::build(&admin, &["customer:h1"], true).await;
    let body = json!({"result": {"value": []}}).to_string();
    expect_error(
        &agent,
        Method::PUT,
        &format!("{}?x=result", link(&scan.measurement)),
        Some(&body),
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(admin.get_ok(&link(&scan.measurement)).await["result"], Value::Null);
}

#[tokio::test]
async fn creation_answers_201_with_location_and_deletion_204() {
    let Setup { server, tree, .. } = setup().await;
    let response = reqwest::Client::new()
        .post(format!("{}/assets", link(&tree.view)))
        .bearer_auth(&server.admin_token)
        .header("content-type", "application/json")
        .body(r#"{"name": "db"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["self"], location.as_str());
    let response = reqwest::Client::new().delete(&location).bearer_auth(&server.admin_token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.text().await.unwrap().is_empty());
}
