//! Building the result an agent pushes (§4.2.6), and signing it.
//!
//! The text is `{"value":VALUE,"updateTime":T,"authorityId":A|null}` and then the
//! `signature` member, last: the compact JWS of exactly
//! [`ctp_jws::signing_payload`] of the text without it, or `null`. The server keeps the
//! members, their order and their spelling, so anyone can recompute the payload from what it
//! returns.

use chrono::{SecondsFormat, SubsecRound, Utc};
use ctp_jws::PrivateKey;

/// Why a result could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ResultError {
    /// The value is not a JSON array.
    #[error("the value must be a JSON array of rows, e.g. '[{{\"level\": 3}}]': {0}")]
    Value(String),
    /// The update time is not RFC 3339.
    #[error("the update time {0:?} is not an RFC 3339 date-time, e.g. 2026-11-22T10:41:58.123Z")]
    UpdateTime(String),
    /// Signing failed.
    #[error("cannot sign the result: {0}")]
    Sign(String),
}

/// Now, RFC 3339 in UTC with milliseconds (`2026-11-22T10:41:58.123Z`).
pub fn now_rfc3339_ms() -> String {
    Utc::now().trunc_subsecs(3).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The result's text without `signature`: `{"value":VALUE,"updateTime":T,"authorityId":A|null}`.
/// `value` is kept as given (trimmed), after checking that it is a JSON array.
pub fn result_text(value: &str, update_time: &str, authority_id: Option<&str>) -> Result<String, ResultError> {
    let value = value.trim();
    match serde_json::from_str::<serde_json::Value>(value) {
        Ok(serde_json::Value::Array(_)) => {}
        Ok(_) => return Err(ResultError::Value("it is not an array".into())),
        Err(e) => return Err(ResultError::Value(e.to_string())),
    }
    if chrono::DateTime::parse_from_rfc3339(update_time).is_err() {
        return Err(ResultError::UpdateTime(update_time.to_owned()));
    }
    let json = |s: &str| serde_json::to_string(s).expect("a string serializes");
    let authority = authority_id.map_or_else(|| "null".to_owned(), json);
    Ok(format!("{{\"value\":{value},\"updateTime\":{},\"authorityId\":{authority}}}", json(update_time)))
}

/// Adds `"signature": null` as the last member of `text` (an object without `signature`).
pub fn unsigned(text: &str) -> String {
    with_signature(text, "null")
}

/// Signs `text` (an object without `signature`) with `key`, header `kid`, and adds the compact
/// JWS as its last member `signature`.
pub fn signed(text: &str, key: &PrivateKey, kid: &str) -> Result<String, ResultError> {
    let payload = ctp_jws::signing_payload(text).map_err(|e| ResultError::Sign(e.to_string()))?;
    let jws = ctp_jws::sign(&payload, key, kid).map_err(|e| ResultError::Sign(e.to_string()))?;
    Ok(with_signature(text, &serde_json::to_string(&jws).expect("a string serializes")))
}

fn with_signature(text: &str, signature: &str) -> String {
    let body = text.trim_end();
    let body = body.strip_suffix('}').unwrap_or(body);
    format!("{body},\"signature\":{signature}}}")
}

/// The body of `PUT {measurement}?x=result`: `{"result": TEXT}`.
pub fn push_body(result_text: &str) -> String {
    format!("{{\"result\":{result_text}}}")
}

#[cfg(test)]
mod tests {
    use ctp_jws::{Algorithm, TrustedKey, Validity};

    use super::*;

    #[test]
    fn the_text_has_the_members_in_order_and_the_value_as_given() {
        let text = result_text(" [{\"level\": 3.50}] ", "2026-11-22T10:41:58.123Z", Some("auth\"1")).unwrap();
        assert_eq!(
            text,
            r#"{"value":[{"level": 3.50}],"updateTime":"2026-11-22T10:41:58.123Z","authorityId":"auth\"1"}"#
        );
        let text = result_text("[]", "2026-11-22T10:41:58Z", None).unwrap();
        assert_eq!(
            unsigned(&text),
            r#"{"value":[],"updateTime":"2026-11-22T10:41:58Z","authorityId":null,"signature":null}"#
        );
        assert!(matches!(result_text("{}", "2026-11-22T10:41:58Z", None), Err(ResultError::Value(_))));
        assert!(matches!(result_text("[1,", "2026-11-22T10:41:58Z", None), Err(ResultError::Value(_))));
        assert!(matches!(result_text("[]", "yesterday", None), Err(ResultError::UpdateTime(_))));
        assert!(now_rfc3339_ms().ends_with('Z') && now_rfc3339_ms().len() == 24);
    }

    #[test]
    fn a_signed_result_verifies_over_the_exact_payload() {
        for alg in [Algorithm::EdDsa, Algorithm::Es256] {
            let key = PrivateKey::generate(alg).unwrap();
            let kid = key.public_key().thumbprint();
            let text = result_text("[{\"a\": 1}]", "2026-11-22T10:41:58.123Z", Some("a1")).unwrap();
            let result = signed(&text, &key, &kid).unwrap();
            assert!(result.starts_with(&text[..text.len() - 1]) && result.contains(",\"signature\":\""));
            let trusted = [TrustedKey { kid: kid.clone(), key: key.public_key(), validity: Validity::ALWAYS }];
            let verified = ctp_jws::verify_result(&result, &trusted, 0).unwrap();
            assert_eq!(verified.kid, kid);
            // The JWS is over the payload of the text without signature, white space removed.
            let jws: String = serde_json::from_value(
                serde_json::from_str::<serde_json::Value>(&result).unwrap()["signature"].clone(),
            )
            .unwrap();
            let payload = ctp_jws::signing_payload(&text).unwrap();
            assert_eq!(payload, br#"{"value":[{"a":1}],"updateTime":"2026-11-22T10:41:58.123Z","authorityId":"a1"}"#);
            ctp_jws::verify(&jws, &payload, &trusted, 0).unwrap();
            // Changing the value breaks it.
            let forged = result.replace("\"a\": 1", "\"a\": 2");
            assert!(ctp_jws::verify_result(&forged, &trusted, 0).is_err());
        }
        assert_eq!(push_body("{}"), r#"{"result":{}}"#);
    }
}
