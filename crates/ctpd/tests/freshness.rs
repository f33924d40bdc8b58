//! Silence is an alert, with the real binary on the backend under test (see the harness):
//! an agent pushes once and falls silent; within a tick of its result growing stale, the
//! freshness objective is false and the customer's freshness trigger reaches its webhook
//! (ticks of 0.2 s; a freshness of 2 s, so the test waits about 2 s).

use axum::http::StatusCode;
use ctp_test_support::{api_path, link, wait_for, Ctpd, StoreLocation, Tree};
use serde_json::{json, Value};

#[path = "common/webhook.rs"]
mod webhook;

#[tokio::test]
async fn an_agent_that_falls_silent_fires_the_freshness_trigger_through_its_webhook() {
    let db = StoreLocation::new().await;
    let ctpd = Ctpd::serve(env!("CARGO_BIN_EXE_ctpd"))
        .args(["--database", &db.url, "--clock-tick", "0.2", "--webhook-allow-private"])
        .admin_token("admin-token-for-freshness")
        .start();
    let admin = ctpd.admin();
    let tree = Tree::build(&admin, &["tenant:a"], false).await;
    let measurement = api_path(&link(&tree.measurement));
    let objective = json!({"objective": {"condition": r#"timeUTC("now") - timeUTC(updateTime) < 2"#}});
    assert_eq!(admin.put(&format!("{measurement}?x=objective"), objective).await.0, StatusCode::OK);
    let customer =
        admin.create("accounts", json!({"name": "hospital", "accountTags": ["role:user", "tenant:a"]})).await;
    let secret = customer["webhookSecret"].as_str().unwrap().to_owned();
    let customer = ctpd.client(customer["token"].as_str().unwrap());
    let agent = admin.create("accounts", json!({"name": "agent", "accountTags": ["role:agent", "tenant:a"]})).await;
    let agent = ctpd.client(agent["token"].as_str().unwrap());
    let mut hook = webhook::receiver().await;
    customer
        .create(
            &format!("{}/triggers", api_path(&link(&tree.view))),
            json!({"name": "agent silent", "measurement": link(&tree.measurement), "guardTime": 3600,
                   "condition": r#"timeUTC("now") - timeUTC(updateTime) > 2"#, "notification": hook.url}),
        )
        .await;
    let pushed = agent.put(&format!("{measurement}?x=result"), json!({"result": {"value": [{"level": 1}]}})).await;
    assert_eq!(pushed.0, StatusCode::OK, "{}", pushed.1);
    assert_eq!(customer.get_ok(&measurement).await["objective"]["status"], "true");

    // No result comes any more: the webhook gets the log entry, with the last result.
    let post = hook.next().await;
    webhook::verify(&secret, &post);
    let entry: Value = serde_json::from_str(&post.body).unwrap();
    assert_eq!(entry["result"]["value"][0]["level"], 1, "{entry}");
    wait_for("the objective to be false", || async {
        customer.get_ok(&measurement).await["objective"]["status"] == "false"
    })
    .await;
}
