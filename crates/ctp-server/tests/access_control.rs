//! The access control of the decisions page over every route: two tenants, their agents and
//! the administrator; no cross-tenant read or write, no back-office call with a customer or
//! agent token, 401 without a valid token.

use ctp_test_support::{link, Client, TestServer, Tree};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// One tenant's resources and callers.
struct Tenant {
    tree: Tree,
    customer: Client,
    agent: Client,
    trigger: String,
    log: String,
    dependency: String,
    account: String,
}

async fn tenant(server: &TestServer, tag: &str) -> Tenant {
    let admin = server.admin();
    let tree = Tree::build(&admin, &[tag], false).await;
    let customer = server.client(&server.account(&["role:user", tag]).await);
    let agent = server.client(&server.account(&["role:agent", tag]).await);
    let trigger = customer
        .create(
            &format!("{}/triggers", link(&tree.view)),
            json!({"measurement": link(&tree.measurement), "condition": "value[0].level > 5"}),
        )
        .await;
    let (status, _) =
        agent.put(&format!("{}?x=result", link(&tree.measurement)), json!({"result": {"value": [{"level": 9}]}})).await;
    assert_eq!(status, StatusCode::OK);
    let logs = customer.get_ok(&format!("{}/logs", link(&tree.view))).await;
    let log = logs["collection"][0]["link"].as_str().expect("a log entry").to_owned();
    let dependency = admin.create(&format!("{}/dependencies", link(&tree.view)), json!({"name": "IaaS"})).await;
    let account = admin.create("accounts", json!({"name": tag, "accountTags": [tag], "accessTags": [tag]})).await;
    Tenant {
        tree,
        customer,
        agent,
        trigger: link(&trigger),
        log,
        dependency: link(&dependency),
        account: link(&account),
    }
}

/// The URLs of every route for one tenant, with a request body for writes.
fn routes(t: &Tenant) -> Vec<(Method, String, Option<Value>)> {
    let view = link(&t.tree.view);
    let asset = link(&t.tree.asset);
    let attribute = link(&t.tree.attribute);
    let measurement = link(&t.tree.measurement);
    let metric = link(&t.tree.metric);
    let tags = Some(json!({"accessTags": ["x"]}));
    let named = Some(json!({"name": "n"}));
    vec![
        (Method::GET, view.clone(), None),
        (Method::GET, format!("{view}?x=tags"), None),
        (Method::PUT, format!("{view}?x=tags"), tags.clone()),
        (Method::DELETE, view.clone(), None),
        (Method::GET, format!("{view}/dependencies"), None),
        (Method::POST, format!("{view}/dependencies"), named.clone()),
        (Method::GET, format!("{view}/assets"), None),
        (Method::POST, format!("{view}/assets"), named.clone()),
        (Method::GET, format!("{view}/triggers"), None),
        (Method::POST, format!("{view}/triggers"), Some(json!({"measurement": measurement, "condition": "true"}))),
        (Method::GET, format!("{view}/logs"), None),
        (Method::GET, t.dependency.clone(), None),
        (Method::GET, format!("{}?x=tags", t.dependency), None),
        (Method::PUT, format!("{}?x=tags", t.dependency), tags.clone()),
        (Method::DELETE, t.dependency.clone(), None),
        (Method::GET, format!("{}/dependencies", t.dependency), None),
        (Method::POST, format!("{}/dependencies", t.dependency), named.clone()),
        (Method::GET, format!("{}/assets", t.dependency), None),
        (Method::GET, format!("{}/triggers", t.dependency), None),
        (Method::GET, format!("{}/logs", t.dependency), None),
        (Method::GET, asset.clone(), None),
        (Method::GET, format!("{asset}?x=tags"), None),
        (Method::PUT, format!("{asset}?x=tags"), tags.clone()),
        (Method::DELETE, asset.clone(), None),
        (Method::GET, format!("{asset}/attributes"), None),
        (Method::POST, format!("{asset}/attributes"), named.clone()),
        (Method::GET, attribute.clone(), None),
        (Method::GET, format!("{attribute}?x=tags"), None),
        (Method::PUT, format!("{attribute}?x=tags"), tags.clone()),
        (Method::DELETE, attribute.clone(), None),
        (Method::GET, format!("{attribute}/measurements"), None),
        (Method::POST, format!("{attribute}/measurements"), Some(json!({"metric": metric}))),
        (Method::GET, measurement.clone(), None),
        (Method::GET, format!("{measurement}?x=tags"), None),
        (Method::PUT, format!("{measurement}?x=tags"), tags.clone()),
        (Method::PUT, format!("{measurement}?x=state"), Some(json!({"state": "activated"}))),
        (Method::PUT, format!("{measurement}?x=result"), Some(json!({"result": {"value": [{"level": 1}]}}))),
        (Method::PUT, format!("{measurement}?x=objective"), Some(json!({"objective": {"condition": "true"}}))),
        (Method::DELETE, measurement.clone(), None),
        (Method::GET, format!("{metric}?x=tags"), None),
        (Method::PUT, format!("{metric}?x=tags"), tags.clone()),
        (Method::DELETE, metric.clone(), None),
        (Method::GET, t.trigger.clone(), None),
        (Method::GET, format!("{}?x=tags", t.trigger), None),
        (Method::PUT, format!("{}?x=tags", t.trigger), tags.clone()),
        (Method::DELETE, t.trigger.clone(), None),
        (Method::GET, t.log.clone(), None),
        (Method::GET, format!("{}?x=tags", t.log), None),
        (Method::PUT, format!("{}?x=tags", t.log), tags.clone()),
        (Method::GET, t.account.clone(), None),
        (Method::GET, format!("{}?x=tags", t.account), None),
        (Method::PUT, format!("{}?x=tags", t.account), tags),
        (Method::DELETE, t.account.clone(), None),
    ]
}

/// Calls that are not scoped by a tenant's resource.
fn global_routes() -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, String::new(), None),
        (Method::GET, "serviceViews".into(), None),
        (Method::POST, "serviceViews".into(), Some(json!({"name": "n"}))),
        (Method::GET, "metrics".into(), None),
        (Method::POST, "metrics".into(), Some(json!({"resultFormat": [{"name": "a", "type": "number"}]}))),
        (Method::GET, "logs".into(), None),
        (Method::GET, "accounts".into(), None),
        (Method::POST, "accounts".into(), Some(json!({"accountTags": ["role:user"]}))),
    ]
}

/// The calls a customer may make on its own resources (client API): reads, `?x=state`,
/// trigger creation and deletion.
fn customer_may(method: &Method, url: &str) -> bool {
    let back_office = url.contains("x=tags") || url.contains("x=result") || url.contains("x=objective");
    let trigger_write = (method == Method::POST && url.ends_with("/triggers"))
        || (method == Method::DELETE && url.contains("/triggers/"));
    let state = url.contains("x=state");
    !url.contains("/accounts/") && !back_office && (method == Method::GET || trigger_write || state)
}

async fn call(client: &Client, method: &Method, url: &str, body: &Option<Value>) -> (StatusCode, Value) {
    client.send(method.clone(), url, body.as_ref().map(Value::to_string)).await
}

#[tokio::test]
async fn no_tenant_reaches_another_and_customers_stay_out_of_the_back_office() {
    let server = TestServer::start().await;
    let a = tenant(&server, "customer:A").await;
    let b = tenant(&server, "customer:B").await;
    for (method, url, body) in routes(&b) {
        // Tenant A's customer and agent on tenant B's resources: always 403, never a change.
        for (who, client) in [("A's customer", &a.customer), ("A's agent", &a.agent)] {
            let (status, answer) = call(client, &method, &url, &body).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{who}: {method} {url}: {answer}");
            assert!(answer["error"].as_str().is_some_and(|m| !m.is_empty()), "{answer}");
        }
    }
    for (method, url, body) in routes(&a) {
        // Tenant A's customer on its own resources: the client API only.
        let (status, answer) = call(&a.customer, &method, &url, &body).await;
        if customer_may(&method, &url) {
            let allowed = [StatusCode::OK, StatusCode::CREATED, StatusCode::NO_CONTENT, StatusCode::CONFLICT];
            assert!(allowed.contains(&status), "A's customer: {method} {url}: {status} {answer}");
        } else {
            assert_eq!(status, StatusCode::FORBIDDEN, "A's customer: {method} {url}: {answer}");
        }
        // Tenant A's agent on its own resources: only pushes results.
        if !(method == Method::DELETE && url.contains("/triggers/")) {
            let (status, answer) = call(&a.agent, &method, &url, &body).await;
            let expected = if url.contains("x=result") { StatusCode::OK } else { StatusCode::FORBIDDEN };
            assert_eq!(status, expected, "A's agent: {method} {url}: {answer}");
        }
    }
    for (method, url, body) in global_routes() {
        let (status, answer) = call(&a.customer, &method, &url, &body).await;
        let expected = match (method.as_str(), url.as_str()) {
            ("GET", "" | "serviceViews" | "metrics") => StatusCode::OK,
            _ => StatusCode::FORBIDDEN,
        };
        assert_eq!(status, expected, "A's customer: {method} /{url}: {answer}");
        let (status, answer) = call(&a.agent, &method, &url, &body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "A's agent: {method} /{url}: {answer}");
    }
}

#[tokio::test]
async fn global_collections_list_only_what_the_caller_may_see() {
    let server = TestServer::start().await;
    let a = tenant(&server, "customer:A").await;
    let b = tenant(&server, "customer:B").await;
    let views = a.customer.get_ok("serviceViews").await;
    assert_eq!(views["collectionLength"], 1);
    assert_eq!(views["collection"][0]["link"], a.tree.view["self"]);
    let views = b.customer.get_ok("serviceViews").await;
    assert_eq!(views["collection"][0]["link"], b.tree.view["self"]);
    assert_eq!(server.admin().get_ok("serviceViews").await["collectionLength"], 2, "the wildcard sees all");
    // Metrics default to role:user: every customer sees them.
    assert_eq!(a.customer.get_ok("metrics").await["collectionLength"], 2);
    let private = server
        .admin()
        .create(
            "metrics",
            json!({"name": "private", "resultFormat": [{"name": "a", "type": "number"}], "accessTags": ["customer:B"]}),
        )
        .await;
    assert_eq!(a.customer.get_ok("metrics").await["collectionLength"], 2);
    assert_eq!(b.customer.get_ok("metrics").await["collectionLength"], 3);
    assert_eq!(a.customer.get(&link(&private)).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_administrator_may_do_everything() {
    let server = TestServer::start().await;
    let a = tenant(&server, "customer:A").await;
    let admin = server.admin();
    for (method, url, body) in routes(&a).into_iter().chain(global_routes()) {
        if method == Method::DELETE {
            continue; // deletions are checked below, in an order that keeps the rest in place
        }
        let (status, answer) = call(&admin, &method, &url, &body).await;
        assert!(
            [StatusCode::OK, StatusCode::CREATED, StatusCode::CONFLICT].contains(&status),
            "admin: {method} {url}: {status} {answer}"
        );
    }
    for url in
        [a.trigger.clone(), link(&a.tree.measurement), a.dependency.clone(), a.account.clone(), link(&a.tree.view)]
    {
        let (status, answer) = admin.delete(&url).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "admin: DELETE {url}: {answer}");
        assert_eq!(admin.get(&url).await.0, StatusCode::NOT_FOUND, "{url} is gone");
    }
}

#[tokio::test]
async fn no_token_or_an_unknown_token_is_401_with_the_challenge() {
    let server = TestServer::start().await;
    let a = tenant(&server, "customer:A").await;
    let http = reqwest::Client::new();
    let unknown = Client::url(&server.anonymous(), "");
    assert!(unknown.ends_with('/'));
    for (method, url, body) in routes(&a).into_iter().chain(global_routes()) {
        let full = server.anonymous().url(&url);
        for token in [None, Some("not-a-token-of-this-server"), Some("")] {
            let mut request = http.request(method.clone(), &full);
            if let Some(token) = token {
                request = request.header("authorization", format!("Bearer {token}"));
            }
            if let Some(body) = &body {
                request = request.header("content-type", "application/json").body(body.to_string());
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{method} {url} with {token:?}");
            let challenge = response.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).map(str::to_owned);
            assert_eq!(challenge.as_deref(), Some(r#"Bearer realm="CTP", scope="CTP API 1.0""#));
            let body: Value = response.json().await.unwrap();
            assert!(body["error"].is_string());
        }
    }
}

/// In a service view shared by two customers (two hospitals), each customer's triggers and
/// their log entries are its own: the other customer neither sees, lists nor deletes them,
/// while two accounts of one hospital share them and the administrator sees all.
#[tokio::test]
async fn a_customers_triggers_are_its_own_in_a_shared_view() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let tree = Tree::build(&admin, &["customer:st-mary", "customer:st-john"], false).await;
    let mary = server.client(&server.account(&["role:user", "customer:st-mary"]).await);
    let mary_colleague = server.client(&server.account(&["role:user", "customer:st-mary"]).await);
    let john = server.client(&server.account(&["role:user", "customer:st-john"]).await);
    let agent = server.client(&server.account(&["role:agent", "customer:st-mary", "customer:st-john"]).await);
    let view = link(&tree.view);
    let measurement = link(&tree.measurement);

    let marys = mary
        .create(
            &format!("{view}/triggers"),
            json!({"measurement": measurement, "condition": "value[0].level > 5",
                   "notification": "https://hooks.invalid/ctp?key=st-mary-secret"}),
        )
        .await;
    let johns = john
        .create(&format!("{view}/triggers"), json!({"measurement": measurement, "condition": "value[0].level > 7"}))
        .await;
    assert_eq!(admin.get_ok(&format!("{}?x=tags", link(&marys))).await["accessTags"], json!(["customer:st-mary"]));
    let (status, _) = agent.put(&format!("{measurement}?x=result"), json!({"result": {"value": [{"level": 9}]}})).await;
    assert_eq!(status, StatusCode::OK);

    let listed = |collection: Value| -> Vec<String> {
        collection["collection"].as_array().unwrap().iter().map(|m| m["link"].as_str().unwrap().to_owned()).collect()
    };
    let triggers = format!("{view}/triggers");
    let logs = format!("{view}/logs");
    assert_eq!(listed(mary.get_ok(&triggers).await), [link(&marys)]);
    assert_eq!(listed(mary_colleague.get_ok(&triggers).await), [link(&marys)], "one hospital shares its triggers");
    assert_eq!(listed(john.get_ok(&triggers).await), [link(&johns)]);
    assert_eq!(listed(admin.get_ok(&triggers).await).len(), 2, "the administrator sees all");
    let marys_logs = listed(mary.get_ok(&logs).await);
    let johns_logs = listed(john.get_ok(&logs).await);
    assert_eq!((marys_logs.len(), johns_logs.len()), (1, 1), "one alert each");
    assert_eq!(listed(mary_colleague.get_ok(&logs).await), marys_logs);
    assert_eq!(admin.get_ok(&logs).await["collectionLength"], 2);
    assert_eq!(john.get_ok(&logs).await["collectionLength"], 1, "the count is of what the caller may see");

    // John can neither read nor delete St Mary's trigger (and its webhook key), nor its alert.
    for path in [link(&marys), marys_logs[0].clone()] {
        let (status, answer) = john.get(&path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "GET {path}: {answer}");
        assert!(!answer.to_string().contains("st-mary-secret"));
    }
    assert_eq!(john.delete(&link(&marys)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(mary.get(&link(&johns)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        mary_colleague.get_ok(&link(&marys)).await["notification"],
        "https://hooks.invalid/ctp?key=st-mary-secret"
    );
    assert_eq!(mary_colleague.delete(&link(&marys)).await.0, StatusCode::NO_CONTENT, "a colleague may remove it");
    assert_eq!(john.get_ok(&link(&johns)).await["status"], "true", "John's trigger is untouched");
}

/// `PUT ?x=tags&subtree=true` revokes a customer from a whole service view in one call:
/// its assets, attributes, measurements, triggers and log entries, for reading, creating
/// triggers and pushing. Without `subtree`, only the view itself changes.
#[tokio::test]
async fn revocation_of_a_subtree_in_one_call() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let tree = Tree::build(&admin, &["customer:st-mary", "customer:st-john"], false).await;
    let mary = server.client(&server.account(&["role:user", "customer:st-mary"]).await);
    let john = server.client(&server.account(&["role:user", "customer:st-john"]).await);
    let johns_agent = server.client(&server.account(&["role:agent", "customer:st-john"]).await);
    let view = link(&tree.view);
    let measurement = link(&tree.measurement);
    let trigger = |client: Client| {
        let url = format!("{view}/triggers");
        let body = json!({"measurement": measurement, "condition": "true"});
        async move { link(&client.create(&url, body).await) }
    };
    let marys = trigger(mary.clone()).await;
    let johns = trigger(john.clone()).await;
    let (status, _) =
        johns_agent.put(&format!("{measurement}?x=result"), json!({"result": {"value": [{"level": 1}]}})).await;
    assert_eq!(status, StatusCode::OK);
    let johns_log = john.get_ok(&format!("{view}/logs")).await["collection"][0]["link"].as_str().unwrap().to_owned();
    let below = [link(&tree.asset), link(&tree.attribute), measurement.clone(), johns.clone(), johns_log.clone()];

    // The view alone: John loses it, but not what is below it.
    let (status, _) = admin.put(&format!("{view}?x=tags"), json!({"accessTags": ["customer:st-mary"]})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(john.get(&view).await.0, StatusCode::FORBIDDEN);
    assert_eq!(john.get(&link(&tree.asset)).await.0, StatusCode::OK, "without subtree, only the view changes");

    // The whole subtree at once.
    let (status, answer) =
        admin.put(&format!("{view}?x=tags&subtree=true"), json!({"accessTags": ["customer:st-mary"]})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    for path in below.iter().chain([&view]) {
        assert_eq!(john.get(path).await.0, StatusCode::FORBIDDEN, "John still reads {path}");
        assert_eq!(
            mary.get(path).await.0,
            if path == &johns || path == &johns_log { StatusCode::FORBIDDEN } else { StatusCode::OK },
            "{path}"
        );
    }
    let (status, _) =
        john.post(&format!("{view}/triggers"), json!({"measurement": measurement, "condition": "true"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no new trigger");
    let (status, _) =
        johns_agent.put(&format!("{measurement}?x=result"), json!({"result": {"value": [{"level": 2}]}})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no push");
    assert_eq!(
        admin.get_ok(&format!("{johns}?x=tags")).await["accessTags"],
        json!([]),
        "John's trigger: only administrators"
    );
    assert_eq!(mary.get_ok(&marys).await["status"], "true");

    // The subtree's tags become the view's: the provider's resources take them all, a
    // customer's triggers keep only those of theirs that remain.
    let (status, _) = admin
        .put(&format!("{view}?x=tags&subtree=true"), json!({"accessTags": ["customer:st-mary", "auditor:x"]}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        admin.get_ok(&format!("{measurement}?x=tags")).await["accessTags"],
        json!(["customer:st-mary", "auditor:x"])
    );
    assert_eq!(admin.get_ok(&format!("{marys}?x=tags")).await["accessTags"], json!(["customer:st-mary"]));
    let (status, answer) = admin.put(&format!("{view}?x=tags&subtree=yes"), json!({"accessTags": []})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
}
