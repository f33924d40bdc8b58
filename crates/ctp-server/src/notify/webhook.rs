//! Webhooks: an HTTP POST of the log entry's JSON, signed as the Standard Webhooks
//! specification (<https://www.standardwebhooks.com>) says, so that receivers can use its
//! libraries: `webhook-id` (the log entry's URL), `webhook-timestamp` (Unix seconds) and
//! `webhook-signature: v1,BASE64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))`, where the
//! key is the base64 part of the account's `whsec_...` secret.
//!
//! Requests go only where the [`WebhookPolicy`] allows: the URL is checked before each
//! request and names are resolved by a [`PolicyResolver`]; redirects are not followed and
//! proxies from the environment are not used (either would connect elsewhere than the
//! address checked).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use hmac::{KeyInit, Mac};
use url::Url;

use super::policy::{PolicyResolver, Refusal, WebhookPolicy};
use super::AttemptError;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The prefix of webhook secrets.
pub const SECRET_PREFIX: &str = "whsec_";

/// The key bytes of a `whsec_...` secret.
pub fn secret_key(secret: &str) -> Result<Vec<u8>, String> {
    let encoded =
        secret.strip_prefix(SECRET_PREFIX).ok_or_else(|| format!("a webhook secret starts with {SECRET_PREFIX:?}"))?;
    let key = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| format!("a webhook secret is {SECRET_PREFIX} and base64: {e}"))?;
    if key.len() < 24 {
        return Err("a webhook secret needs at least 24 bytes of key".into());
    }
    Ok(key)
}

/// The `webhook-signature` header value of a message.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String, String> {
    let mut mac = HmacSha256::new_from_slice(&secret_key(secret)?).map_err(|e| e.to_string())?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    Ok(format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())))
}

/// Sends webhooks over one pooled HTTP client.
pub struct WebhookSender {
    client: reqwest::Client,
    policy: Arc<WebhookPolicy>,
}

impl WebhookSender {
    /// A sender whose requests time out after `timeout` and go only where `policy` allows.
    pub fn new(timeout: Duration, policy: WebhookPolicy) -> Result<WebhookSender, String> {
        super::install_crypto_provider();
        let policy = Arc::new(policy);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(PolicyResolver::new(Arc::clone(&policy))))
            .user_agent(concat!("ctpd/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the webhook client: {e}"))?;
        Ok(WebhookSender { client, policy })
    }

    /// POSTs `body` to `url`; a 2xx answer is success, anything else an error to retry,
    /// except a URL the policy refuses, which no retry can deliver.
    pub async fn send(&self, url: &Url, id: &str, body: String, secret: Option<&str>) -> Result<(), AttemptError> {
        self.policy.check_url(url).map_err(AttemptError::refused)?;
        let secret = secret.ok_or("the trigger's owner account has no webhook secret (it may have been deleted)")?;
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        let signature = signature(secret, id, timestamp, &body)?;
        let response = self
            .client
            .post(url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|e| match Refusal::find(&e) {
                Some(refusal) => AttemptError::refused(refusal.clone()),
                None => AttemptError::from(format!("POST {url}: {}", error_chain(&e))),
            })?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("POST {url}: the receiver answered {status}").into())
        }
    }
}

/// An error and its sources, which say what actually failed (refused, timed out...).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = r#"{"test": 2432232314}"#;
        let signed = signature(secret, id, 1614265330, body).unwrap();
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn secrets_must_be_whsec_base64() {
        assert!(secret_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(secret_key("whsec_not base64!").is_err());
        assert!(secret_key("whsec_c2hvcnQ=").is_err());
    }
}
