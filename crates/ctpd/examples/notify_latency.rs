//! Benchmark of notification delivery (issue 4): `RATE` triggers firing per second for
//! `SECONDS` seconds, each to a webhook receiver in this process; reports the latency from
//! the push's response to the receiver's arrival (p50, p99, max) and checks that every
//! notification arrived. Run with `scripts/bench-notify [SECONDS] [RATE]`, which builds the
//! release binary this program starts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use ctp_test_support::Ctpd;
use serde_json::{json, Value};

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(&self, method: reqwest::Method, url: &str, token: &str, body: Value) -> Value {
        let url = if url.starts_with("http") { url.to_owned() } else { format!("{}{url}", self.base) };
        let response =
            self.http.request(method, &url).bearer_auth(token).json(&body).send().await.expect("ctpd answers");
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{url}: {status} {value}");
        value
    }

    async fn post(&self, url: &str, token: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, url, token, body).await
    }
}

fn link(resource: &Value) -> String {
    resource["self"].as_str().expect("a self link").to_owned()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let binary = args.get(1).expect("usage: notify_latency CTPD_BINARY [SECONDS] [RATE]").clone();
    let seconds: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(60);
    let rate: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(100);
    ctp_server::notify::install_crypto_provider();

    // The receiver: arrival time of each notification, keyed by the `seq` in its result.
    let arrivals: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let receiver = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", receiver.local_addr().unwrap());
    let record = Arc::clone(&arrivals);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let now = Instant::now();
            let entry: Value = serde_json::from_str(&body).expect("JSON");
            let seq = entry["result"]["value"][0]["seq"].as_u64().expect("a seq");
            record.lock().unwrap().insert(seq, now);
            async { StatusCode::NO_CONTENT }
        }),
    );
    tokio::spawn(async move { axum::serve(receiver, app).await });

    // ctpd on a fresh store in a temporary folder.
    let admin = "bench-admin-token-0123456789";
    let ctpd = Ctpd::serve(&binary)
        .admin_token(admin)
        .args(["--webhook-allow-network", "127.0.0.1"]) // the receiver
        .args(["--database", "sqlite:ctpd.db"])
        .start();
    let api = Api { http: reqwest::Client::new(), base: ctpd.base() };

    // RATE measurements with one trigger each; each is pushed once a second.
    let view = api.post("serviceViews", admin, json!({"name": "bench", "provider": "Acme"})).await;
    let asset = api.post(&format!("{}/assets", link(&view)), admin, json!({"name": "api"})).await;
    let attribute = api.post(&format!("{}/attributes", link(&asset)), admin, json!({"name": "alerts"})).await;
    let metric = api
        .post(
            "metrics",
            admin,
            json!({"name": "level", "baseMetric": "https://example.org/level",
                   "resultFormat": [{"name": "level", "type": "number"}, {"name": "seq", "type": "number"}]}),
        )
        .await;
    let mut measurements = Vec::new();
    for i in 0..rate {
        let measurement = api
            .post(
                &format!("{}/measurements", link(&attribute)),
                admin,
                json!({"name": format!("m{i}"), "metric": link(&metric), "createTrigger": true}),
            )
            .await;
        api.post(
            &format!("{}/triggers", link(&view)),
            admin,
            json!({"measurement": link(&measurement), "condition": "value[0].level >= 7", "notification": hook,
                   "guardTime": 0}),
        )
        .await;
        measurements.push(format!("{}?x=result", link(&measurement)));
    }

    // The pushes, paced evenly: one every 1/RATE s.
    let pushed: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let total = seconds * rate;
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for seq in 0..total {
        tokio::time::sleep_until((start + interval * seq as u32).into()).await;
        let (http, url, pushed) = (api.http.clone(), measurements[(seq % rate) as usize].clone(), Arc::clone(&pushed));
        tasks.spawn(async move {
            let body = json!({"result": {"value": [{"level": 9, "seq": seq}]}});
            let response = http.put(&url).bearer_auth("bench-admin-token-0123456789").json(&body).send().await;
            let answered = Instant::now();
            assert!(response.expect("ctpd answers").status().is_success());
            pushed.lock().unwrap().insert(seq, answered);
        });
    }
    while tasks.join_next().await.is_some() {}
    let push_seconds = start.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(30);
    while arrivals.lock().unwrap().len() < total as usize && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(ctpd);

    let pushed = pushed.lock().unwrap();
    let arrivals = arrivals.lock().unwrap();
    // Microseconds from the push's response to the arrival; an arrival before the
    // response (the worker is woken before the answer is written) counts as 0.
    let mut latencies: Vec<u64> = pushed
        .iter()
        .filter_map(|(seq, answered)| {
            arrivals.get(seq).map(|a| a.saturating_duration_since(*answered).as_micros() as u64)
        })
        .collect();
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1];
    let lost = total as usize - arrivals.len();
    println!(
        "notifications: {total} pushes in {push_seconds:.1} s ({:.0}/s), {} delivered, {lost} lost",
        total as f64 / push_seconds,
        arrivals.len()
    );
    println!(
        "latency push response -> webhook arrival: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        at(0.50) as f64 / 1000.0,
        at(0.99) as f64 / 1000.0,
        at(1.0) as f64 / 1000.0
    );
    if lost > 0 {
        std::process::exit(1);
    }
}
