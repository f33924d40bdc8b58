//! Benchmark of tenant isolation (issue 10): tenant B's push latency while tenant A's
//! triggers are as costly as CTPScript allows (4 conditions, each a chain of large regular
//! expressions built from every new result and matched against a 200 KB text, stopped by
//! the time budget), against B's latency without the attack, measured in the same run.
//! Run with `scripts/bench-isolation [SECONDS]`, which builds the release binary this
//! program starts.

use std::time::{Duration, Instant};

use ctp_test_support::Ctpd;
use serde_json::{json, Value};

const ADMIN: &str = "bench-admin-token-0123456789";

/// Sends one request and returns the decoded answer, which must be a success.
async fn send(http: &reqwest::Client, method: reqwest::Method, url: &str, token: &str, body: &Value) -> Value {
    let response = http.request(method, url).bearer_auth(token).json(body).send().await.expect("ctpd answers");
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{url}: {status} {answer}");
    answer
}

fn link(resource: &Value) -> String {
    resource["self"].as_str().expect("a self link").to_owned()
}

/// p50, p99 and max of `samples`, in milliseconds.
fn summary(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1e3;
    format!("{} pushes, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms", samples.len(), at(0.5), at(0.99), at(1.0))
}

/// B pushes one result after the other for `seconds`; the latency of each.
async fn pushes_of_b(http: &reqwest::Client, measurement: &str, token: &str, seconds: u64) -> Vec<Duration> {
    let mut latencies = Vec::new();
    let end = Instant::now() + Duration::from_secs(seconds);
    let url = format!("{measurement}?x=result");
    while Instant::now() < end {
        let started = Instant::now();
        send(http, reqwest::Method::PUT, &url, token, &json!({"result": {"value": [{"s": "", "level": 1}]}})).await;
        latencies.push(started.elapsed());
    }
    latencies
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let binary = args.get(1).expect("usage: tenant_isolation CTPD_BINARY [SECONDS]").clone();
    let seconds: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(20);
    ctp_server::notify::install_crypto_provider();
    // ctpd on a fresh store in a temporary folder.
    let server =
        Ctpd::serve(binary).admin_token(ADMIN).args(["--rate-limit", "0", "--database", "sqlite:ctpd.db"]).start();
    let base = server.base();
    let http = reqwest::Client::new();
    let post = |url: String, token: &'static str, body: Value| {
        let http = http.clone();
        let url = if url.starts_with("http") { url } else { format!("{base}{url}") };
        async move { send(&http, reqwest::Method::POST, &url, token, &body).await }
    };

    // Two tenants, each with a service view and a measurement of text.
    let metric = post(
        "metrics".into(),
        ADMIN,
        json!({"name": "text", "resultFormat": [{"name": "s", "type": "string"}, {"name": "level", "type": "number"}]}),
    )
    .await;
    let mut tenants = Vec::new();
    for tag in ["customer:a", "customer:b"] {
        let view = post("serviceViews".into(), ADMIN, json!({"name": tag, "accessTags": [tag]})).await;
        let asset = post(format!("{}/assets", link(&view)), ADMIN, json!({"name": "api"})).await;
        let attribute = post(format!("{}/attributes", link(&asset)), ADMIN, json!({"name": "log"})).await;
        let measurement = post(
            format!("{}/measurements", link(&attribute)),
            ADMIN,
            json!({"metric": link(&metric), "createTrigger": true}),
        )
        .await;
        let customer = post("accounts".into(), ADMIN, json!({"accountTags": ["role:user", tag]})).await;
        let agent = post("accounts".into(), ADMIN, json!({"accountTags": ["role:agent", tag]})).await;
        let token = |account: &Value| account["token"].as_str().unwrap().to_owned();
        tenants.push((view, link(&measurement), token(&customer), token(&agent)));
    }
    let (view_a, measurement_a, customer_a, agent_a) = tenants[0].clone();
    let (_, measurement_b, _, agent_b) = tenants[1].clone();

    let reference = pushes_of_b(&http, &measurement_b, &agent_b, seconds).await;

    let term = r#"matchRegexp(updateTime + "|(a|b){1,255}(a|b){1,255}[^ab]", value[0].s)"#;
    for i in 0..4 {
        let condition = format!("{} || value[0].level == {i}", vec![term; 24].join(" || "));
        let body = json!({"measurement": measurement_a, "condition": condition});
        send(&http, reqwest::Method::POST, &format!("{}/triggers", link(&view_a)), &customer_a, &body).await;
    }
    let attack = tokio::spawn({
        let http = http.clone();
        async move {
            let mut latencies = Vec::new();
            let end = Instant::now() + Duration::from_secs(seconds);
            let url = format!("{measurement_a}?x=result");
            while Instant::now() < end {
                let body = json!({"result": {"value": [{"s": "ab".repeat(100_000), "level": 9}]}});
                let started = Instant::now();
                send(&http, reqwest::Method::PUT, &url, &agent_a, &body).await;
                latencies.push(started.elapsed());
            }
            latencies
        }
    });
    let attacked = pushes_of_b(&http, &measurement_b, &agent_b, seconds).await;
    let attack = attack.await.unwrap();
    println!("tenant B alone:          {}", summary(reference));
    println!("tenant B under attack:   {}", summary(attacked));
    println!("tenant A (the attacker): {}", summary(attack));
}
