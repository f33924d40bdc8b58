//! One tenant cannot slow, stall or starve another: costly conditions are evaluated outside
//! the store's writer and stop at their time budget, an account's triggers and their
//! compiled conditions are limited, and a token's request rate is bounded.

use std::time::{Duration, Instant};

use ctp_server::limits::Limits;
use ctp_server::ServerConfig;
use ctp_test_support::{link, TestServer, Tree};
use reqwest::StatusCode;
use serde_json::json;

/// The attack of issue 10: triggers whose condition compiles a large regular expression
/// built from each new result. Tenant A's pushes pay for them (each trigger stops at its
/// time budget with an `error` entry); tenant B's pushes, to another measurement, do not
/// wait for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn costly_triggers_of_one_tenant_do_not_stall_another_tenants_pushes() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let a = Tree::build(&admin, &["customer:a"], false).await;
    let b = Tree::build(&admin, &["customer:b"], false).await;
    let customer_a = server.client(&server.account(&["role:user", "customer:a"]).await);
    let agent_a = server.client(&server.account(&["role:agent", "customer:a"]).await);
    let agent_b = server.client(&server.account(&["role:agent", "customer:b"]).await);
    // A's measurement of a text (a log line, say), which A's agent pushes.
    let text =
        admin.create("metrics", json!({"name": "text", "resultFormat": [{"name": "s", "type": "string"}]})).await;
    let measurement = admin
        .create(&format!("{}/measurements", link(&a.attribute)), json!({"metric": link(&text), "createTrigger": true}))
        .await;

    // A pattern with no literal a prefilter could skip by, built from each new result (so
    // never cached), matched against a large text, many times over.
    let term = r#"matchRegexp(updateTime + "|(a|b){1,255}(a|b){1,255}[^ab]", value[0].s)"#;
    let condition = vec![term; 24].join(" || ");
    for i in 0..4 {
        // Four different conditions, each evaluated on its own.
        let condition = format!("{condition} || value[0].s == \"{i}\"");
        customer_a
            .create(
                &format!("{}/triggers", link(&a.view)),
                json!({"measurement": link(&measurement), "condition": condition}),
            )
            .await;
    }
    let attack = tokio::spawn(async move {
        let mut took = Vec::new();
        for i in 0..4 {
            let started = Instant::now();
            let body = json!({"result": {"value": [{"s": "ab".repeat(100_000)}],
                                         "updateTime": format!("2026-12-02T08:00:0{i}.{i}12Z")}});
            let (status, answer) = agent_a.put(&format!("{}?x=result", link(&measurement)), body).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            took.push(started.elapsed());
        }
        took
    });
    let mut latencies = Vec::new();
    let started = Instant::now();
    while !attack.is_finished() && started.elapsed() < Duration::from_secs(60) {
        let begun = Instant::now();
        let (status, _) = agent_b
            .put(&format!("{}?x=result", link(&b.measurement)), json!({"result": {"value": [{"level": 1}]}}))
            .await;
        assert_eq!(status, StatusCode::OK);
        latencies.push(begun.elapsed());
    }
    let attack_took = attack.await.unwrap();
    latencies.sort();
    let slowest_attack = attack_took.iter().max().unwrap();
    let slowest_b = *latencies.last().expect("B pushed during the attack");
    eprintln!(
        "A's pushes took {attack_took:?}; B pushed {} times, median {:?}, slowest {slowest_b:?}",
        latencies.len(),
        latencies[latencies.len() / 2]
    );
    // Each of the 4 conditions runs to its time budget of 100 ms: about 400 ms a push (the
    // budget is checked between steps of the matcher, so a push can end a little under it;
    // 383 ms was seen). Three quarters of it says the attack is costly without a coin toss.
    assert!(*slowest_attack > Duration::from_millis(300), "the attack is costly: {attack_took:?}");
    assert!(
        slowest_b * 2 < *slowest_attack && slowest_b < Duration::from_millis(300),
        "B waited for A: slowest B push {slowest_b:?}, A's pushes {attack_took:?}"
    );

    // A's triggers stopped at their time budget, visibly.
    let logs = customer_a.get_ok(&format!("{}/logs?tags=error", link(&a.view))).await;
    let first = customer_a.get_ok(logs["collection"][0]["link"].as_str().expect("an error entry")).await;
    assert!(first["error"].as_str().unwrap().contains("time budget"), "{first}");
}

#[tokio::test]
async fn an_accounts_triggers_and_their_conditions_are_limited() {
    let limits = Limits { triggers_per_account: 3, condition_bytes_per_account: 20_000, requests_per_second: 0 };
    let server = TestServer::start_with(ServerConfig { limits, ..ServerConfig::default() }).await;
    let admin = server.admin();
    let tree = Tree::build(&admin, &["customer:a"], false).await;
    let customer = server.client(&server.account(&["role:user", "customer:a"]).await);
    let colleague = server.client(&server.account(&["role:user", "customer:a"]).await);
    let triggers = format!("{}/triggers", link(&tree.view));
    let trigger = |condition: &str| json!({"measurement": link(&tree.measurement), "condition": condition});

    // A condition whose literal regular expression compiles to a large automaton.
    let (status, answer) = customer
        .post(&triggers, trigger(r#"matchRegexp("[a-z]{1,40}[0-9]{1,40}x{3,200}", value[0].level + "")"#))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("over its limit of 20000"), "{answer}");
    let mut created = Vec::new();
    for i in 0..3 {
        created.push(link(&customer.create(&triggers, trigger(&format!("value[0].level > {i}"))).await));
    }
    let (status, answer) = customer.post(&triggers, trigger("true")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(answer["error"].as_str().unwrap().contains("3 triggers, its limit"), "{answer}");
    colleague.create(&triggers, trigger("true")).await; // the limit is per account
    assert_eq!(customer.delete(&created[0]).await.0, StatusCode::NO_CONTENT);
    customer.create(&triggers, trigger("true")).await;
}

#[tokio::test]
async fn a_tokens_request_rate_is_bounded() {
    let limits = Limits { requests_per_second: 5, ..Limits::default() };
    let server = TestServer::start_with(ServerConfig { limits, ..ServerConfig::default() }).await;
    let busy = server.client(&server.account(&["role:user"]).await);
    let other = server.client(&server.account(&["role:user"]).await);
    let mut refused = None;
    for _ in 0..30 {
        let (status, answer) = busy.get("").await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(answer);
            break;
        }
    }
    let answer = refused.expect("a 429 within 30 requests at 5 per second with bursts of 10");
    assert!(answer["error"].as_str().unwrap().contains("more than 5 requests per second"), "{answer}");
    assert_eq!(other.get("").await.0, StatusCode::OK, "another token is not slowed");
    let response = reqwest::Client::new().get(&server.base).bearer_auth(&server.admin_token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // Retry-After says when to come back.
    let mut last = None;
    for _ in 0..30 {
        let response = reqwest::Client::new().get(&server.base).bearer_auth(&server.admin_token).send().await.unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            last = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
            break;
        }
    }
    assert_eq!(last.as_deref(), Some("1"));
}
