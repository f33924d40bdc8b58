//! A webhook receiver for the tests of the real binary: it records every POST and answers
//! with a status the test controls (`#[path = "common/webhook.rs"] mod webhook;`).
#![allow(dead_code)]

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use hmac::{KeyInit, Mac};
use tokio::sync::mpsc;

/// One POST as the receiver got it.
pub struct Received {
    pub headers: HeaderMap,
    pub body: String,
}

/// A webhook receiver that answers with a status the test controls.
pub struct Receiver {
    pub url: String,
    pub status: Arc<AtomicU16>,
    pub posts: mpsc::UnboundedReceiver<Received>,
}

pub async fn receiver_on(listener: tokio::net::TcpListener) -> Receiver {
    let url = format!("http://{}/ctp-alerts", listener.local_addr().unwrap());
    let status = Arc::new(AtomicU16::new(200));
    let (tx, posts) = mpsc::unbounded_channel();
    let answer = Arc::clone(&status);
    let app = axum::Router::new().route(
        "/ctp-alerts",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let answer = StatusCode::from_u16(answer.load(Ordering::SeqCst)).unwrap();
            let _ = tx.send(Received { headers, body });
            async move { answer }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver { url, status, posts }
}

pub async fn receiver() -> Receiver {
    receiver_on(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()).await
}

impl Receiver {
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(20), self.posts.recv()).await.expect("a webhook arrives").unwrap()
    }
}

/// Checks a signature as a receiver following the Standard Webhooks specification does.
pub fn verify(secret: &str, received: &Received) {
    let header = |name: &str| received.headers.get(name).unwrap_or_else(|| panic!("{name} header")).to_str().unwrap();
    let (id, timestamp) = (header("webhook-id"), header("webhook-timestamp"));
    let age = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
        - timestamp.parse::<i64>().unwrap();
    assert!(age.abs() < 300, "a fresh timestamp");
    let key = base64::engine::general_purpose::STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.{}", received.body).as_bytes());
    let expected = format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()));
    assert!(header("webhook-signature").split(' ').any(|s| s == expected), "the signature verifies");
}
