//! What the transparency log (issue 14) records of CTP records: the leaf of an accepted
//! result and of a log entry. The server appends these leaves; a customer's client rebuilds
//! the content hash from what the API returns and compares it with the leaf of a proof.
//!
//! - A **result** leaf: kind `result`, id and measurement = the measurement's id, `sha256` =
//!   SHA-256 of the result's JSON with white space outside strings removed (the text is kept
//!   as pushed, so any server returns the same bytes once compacted), time = acceptance.
//! - An **audit** leaf: kind `audit`, id = the audit record's id, `sha256` = SHA-256 of
//!   [`audit_content`] (who, what, a digest of the body, when, the outcome).
//! - A **log** leaf: kind `log`, id = the log entry's id, no measurement, `sha256` = SHA-256
//!   of [`log_content`]: `{"view":ID,"trigger":ID,"creationTime":T,"tags":[...],"result":R}`
//!   (or `"error":"..."` instead of `result`), where R is the compacted result, written by
//!   serde_json (its escaping), so that links, which depend on the server's base URL, are
//!   not part of it.

use ctp_ledger::{Hash, Leaf, LeafKind};
use serde::Serialize;

use crate::resources::{AuditRecord, LogBody, LogEntry};
use crate::{ResourceId, Timestamp};

/// Why a leaf cannot be made from a record.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The result (or a log entry's result) is not a JSON object within the limits.
    #[error("the result cannot be hashed: {0}")]
    Result(#[from] ctp_jws::PayloadError),
    /// The record's ids do not fit a leaf.
    #[error("the record does not fit a leaf: {0}")]
    Leaf(#[from] ctp_ledger::Error),
}

/// SHA-256 of a result's compact JSON.
pub fn result_hash(result_text: &str) -> Result<Hash, LedgerError> {
    Ok(ctp_ledger::sha256(&ctp_jws::compact(result_text)?))
}

/// The leaf of a result accepted for `measurement` at `accepted`.
pub fn result_leaf(measurement: &ResourceId, result_text: &str, accepted: Timestamp) -> Result<Leaf, LedgerError> {
    Ok(Leaf {
        kind: LeafKind::Result,
        id: measurement.as_str().to_owned(),
        measurement: Some(measurement.as_str().to_owned()),
        sha256: result_hash(result_text)?,
        time: accepted.to_datetime(),
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogContent<'a> {
    view: &'a str,
    trigger: &'a str,
    creation_time: String,
    tags: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<Box<serde_json::value::RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

/// The bytes a log leaf hashes (see the module documentation).
pub fn log_content(
    view: &str,
    trigger: &str,
    creation_time: Timestamp,
    tags: &[String],
    body: &LogBody,
) -> Result<Vec<u8>, LedgerError> {
    let (result, error) = match body {
        LogBody::Result(text) => {
            let compact = String::from_utf8(ctp_jws::compact(text)?).expect("compacted UTF-8 stays UTF-8");
            (Some(serde_json::value::RawValue::from_string(compact).expect("compact JSON is JSON")), None)
        }
        LogBody::Error(message) => (None, Some(message.as_str())),
    };
    let content = LogContent { view, trigger, creation_time: creation_time.to_string(), tags, result, error };
    Ok(serde_json::to_vec(&content).expect("a log entry serializes"))
}

/// The leaf of a log entry.
pub fn log_leaf(entry: &LogEntry) -> Result<Leaf, LedgerError> {
    let content =
        log_content(entry.view_id.as_str(), entry.trigger_id.as_str(), entry.creation_time, &entry.tags, &entry.body)?;
    Ok(Leaf {
        kind: LeafKind::Log,
        id: entry.id.as_str().to_owned(),
        measurement: None,
        sha256: ctp_ledger::sha256(&content),
        time: entry.creation_time.to_datetime(),
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuditContent<'a> {
    account: Option<&'a str>,
    method: &'a str,
    resource: &'a str,
    body_sha256: &'a str,
    status: u16,
    time: String,
}

/// The bytes an audit leaf hashes: `{"account":ID|null,"method":M,"resource":R,
/// "bodySha256":HEX,"status":N,"time":T}` written by serde_json, as the audit API returns
/// the record's members.
pub fn audit_content(record: &AuditRecord) -> Vec<u8> {
    let content = AuditContent {
        account: record.account_id.as_ref().map(ResourceId::as_str),
        method: &record.method,
        resource: &record.resource,
        body_sha256: &record.body_sha256,
        status: record.status,
        time: record.time.to_string(),
    };
    serde_json::to_vec(&content).expect("an audit record serializes")
}

/// The leaf of an audit record: kind `audit`, id = the record's id, no measurement.
pub fn audit_leaf(record: &AuditRecord) -> Leaf {
    Leaf {
        kind: LeafKind::Audit,
        id: record.id.as_str().to_owned(),
        measurement: None,
        sha256: ctp_ledger::sha256(&audit_content(record)),
        time: record.time.to_datetime(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_hashes_the_same_however_it_is_spaced() {
        let pushed = r#"{ "value": [ {"a b": 1.50} ], "updateTime": "2026-01-01T00:00:00Z", "signature": null }"#;
        let served = r#"{"value":[{"a b":1.50}],"updateTime":"2026-01-01T00:00:00Z","signature":null}"#;
        assert_eq!(result_hash(pushed).unwrap(), result_hash(served).unwrap());
        assert_ne!(result_hash(pushed).unwrap(), result_hash(&served.replace("1.50", "1.5")).unwrap());
        let m = ResourceId::parse("m1").unwrap();
        let leaf = result_leaf(&m, pushed, Timestamp::from_millis(1_000).unwrap()).unwrap();
        assert_eq!(Leaf::decode(&leaf.encode().unwrap()).unwrap(), leaf);
    }

    #[test]
    fn a_log_entry_content_is_fixed_and_leaves_links_out() {
        let body = LogBody::Result(r#"{ "value": [], "updateTime": "2026-01-01T00:00:00Z" }"#.into());
        let content = log_content("v", "t", Timestamp::from_millis(0).unwrap(), &["a\"b".into()], &body).unwrap();
        assert_eq!(
            String::from_utf8(content).unwrap(),
            r#"{"view":"v","trigger":"t","creationTime":"1970-01-01T00:00:00.000Z","tags":["a\"b"],"result":{"value":[],"updateTime":"2026-01-01T00:00:00Z"}}"#
        );
        let error =
            log_content("v", "t", Timestamp::from_millis(0).unwrap(), &[], &LogBody::Error("x".into())).unwrap();
        assert_eq!(
            String::from_utf8(error).unwrap(),
            r#"{"view":"v","trigger":"t","creationTime":"1970-01-01T00:00:00.000Z","tags":[],"error":"x"}"#
        );
    }
}
