//! Checking a record against the server's transparency log without trusting the server:
//! pure functions over what was fetched and what the client remembers ([`ServerState`]).
//! [`Client::verify`](crate::Client::verify) fetches and calls them in order:
//!
//! 1. [`Record`]: the content hash of the record as served (a measurement's raw `result`
//!    text, or a log entry's ids, time, tags and result or error: `ctp_model::ledger`).
//! 2. [`server_verifier`]: the server's checkpoint key, pinned on first use; a changed key
//!    is a failure unless the caller trusts it.
//! 3. [`check_inclusion`]: the tlog-proof's leaf is this record's (kind, id, hash), its
//!    checkpoint is signed by the pinned key, and the leaf is in its tree.
//! 4. [`seen_to_check`], [`check_consistency`], [`remember_checkpoint`]: every checkpoint
//!    seen before is a prefix of the current one, or the history was rewritten.
//! 5. [`authority_keys`] / [`keys_from_file`], [`check_signature`]: a signed result verifies
//!    with its authority's keys at the ledger-proven acceptance time.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ctp_jws::{PublicKey, TrustedKey, Validity, Verified};
use ctp_ledger::{Checkpoint, Hash, Leaf, LeafKind, TlogProof, Verifier};
use ctp_model::resources::LogBody;
use ctp_model::Timestamp;
use serde::{Deserialize, Serialize};

use crate::resources::{id_of, Authority, AuthorityKey, LogEntry, Measurement};

/// How many checkpoints are remembered per server (the largest is always kept; consistency
/// is transitive, so the ones dropped stay covered).
pub const MAX_SEEN_CHECKPOINTS: usize = 16;

/// Why a record did not verify. Each message is one line, plain about what it means.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// There is nothing to check (a measurement without a result).
    #[error("nothing to verify: {0}")]
    Nothing(String),
    /// What the server returned cannot be read as it must be.
    #[error("MALFORMED {what}: {detail}")]
    Malformed {
        /// What was malformed.
        what: &'static str,
        /// Why.
        detail: String,
    },
    /// The proof is about another record.
    #[error("WRONG PROOF: the server's proof is for the {found} leaf, not for {expected}")]
    WrongLeaf {
        /// The record asked for.
        expected: String,
        /// The leaf's kind and id.
        found: String,
    },
    /// The ledger recorded other content than what the server returns now.
    #[error(
        "CONTENT MISMATCH: the ledger recorded another content for {record} than the server returns \
         (ledger {ledger}, served {served}) — the record was changed after it was logged"
    )]
    ContentMismatch {
        /// The record.
        record: String,
        /// The leaf's hash (hex).
        ledger: String,
        /// The hash of what was served (hex).
        served: String,
    },
    /// The server's checkpoint key is not the one pinned.
    #[error(
        "SERVER KEY CHANGED: the server now signs its checkpoints with {served}, not with {pinned} pinned on \
         {since} — if its operator announced a new key, rerun with --trust-new-server-key"
    )]
    ServerKeyChanged {
        /// The pinned key text.
        pinned: String,
        /// The served key text.
        served: String,
        /// When it was pinned.
        since: String,
    },
    /// The checkpoint's signature does not verify with the pinned key.
    #[error("BAD CHECKPOINT: the checkpoint is not signed by the server's pinned key: {0}")]
    BadCheckpoint(String),
    /// The inclusion proof fails.
    #[error("NOT IN THE LOG: the inclusion proof does not verify: {0}")]
    NotIncluded(String),
    /// A checkpoint seen before is not a prefix of the current one.
    #[error(
        "HISTORY REWRITTEN: the server's checkpoint of size {current} is not consistent with the one of size \
         {seen_size} seen on {seen_on} ({detail})"
    )]
    HistoryRewritten {
        /// The current checkpoint's size.
        current: u64,
        /// The size of the one seen before.
        seen_size: u64,
        /// When it was seen.
        seen_on: String,
        /// Why.
        detail: String,
    },
    /// An authority's key is not the one pinned.
    #[error(
        "AUTHORITY KEY CHANGED: authority {authority} now lists key {kid} differently than pinned on {since} — \
         if the authority announced it, rerun with --trust-new-authority-keys"
    )]
    AuthorityKeyChanged {
        /// The authority's id.
        authority: String,
        /// The key id.
        kid: String,
        /// When its keys were pinned.
        since: String,
    },
    /// The signature names a key of the authority that was not pinned.
    #[error(
        "NEW AUTHORITY KEY: the result is signed with key {kid} of authority {authority}, which was not among \
         its keys pinned on {since} — if the authority announced it, rerun with --trust-new-authority-keys"
    )]
    UnpinnedAuthorityKey {
        /// The authority's id.
        authority: String,
        /// The key id.
        kid: String,
        /// When its keys were pinned.
        since: String,
    },
    /// The authority's keys cannot be used.
    #[error("BAD AUTHORITY KEY: {0}")]
    BadAuthorityKey(String),
    /// The result's signature does not verify.
    #[error("BAD SIGNATURE: {0}")]
    BadSignature(String),
}

/// A checkpoint the client saw.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeenCheckpoint {
    /// Its tree size.
    pub size: u64,
    /// Its root, base64.
    pub root: String,
    /// The signed note, verbatim.
    pub note: String,
    /// When the client saw it (RFC 3339).
    pub seen: String,
}

/// An authority's keys as pinned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PinnedAuthority {
    /// Its name then.
    #[serde(default)]
    pub name: String,
    /// Its keys then.
    pub keys: Vec<AuthorityKey>,
    /// When (RFC 3339).
    pub pinned: String,
}

/// What the client remembers of one server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerState {
    /// The server's base URL.
    pub server: String,
    /// The checkpoint verifier key text, pinned on first use.
    #[serde(default)]
    pub server_key: Option<String>,
    /// When it was pinned.
    #[serde(default)]
    pub server_key_pinned: Option<String>,
    /// Checkpoints seen, by size.
    #[serde(default)]
    pub checkpoints: Vec<SeenCheckpoint>,
    /// Authorities' keys, pinned on first use, by authority id.
    #[serde(default)]
    pub authorities: BTreeMap<String, PinnedAuthority>,
}

impl ServerState {
    /// Nothing known yet of the server at `base`.
    pub fn new(base: &str) -> ServerState {
        ServerState {
            server: base.to_owned(),
            server_key: None,
            server_key_pinned: None,
            checkpoints: Vec::new(),
            authorities: BTreeMap::new(),
        }
    }
}

/// A record as served, reduced to what its leaf commits to.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    /// A measurement's current result.
    Result {
        /// The measurement's id.
        measurement: String,
        /// The result's JSON text as served.
        text: String,
    },
    /// A log entry.
    Log {
        /// Its id.
        id: String,
        /// Its service view's id.
        view: String,
        /// Its trigger's id.
        trigger: String,
        /// Its creation time.
        creation_time: Timestamp,
        /// Its tags.
        tags: Vec<String>,
        /// Its result or error.
        body: LogBody,
    },
}

impl Record {
    /// The record of a measurement's result.
    pub fn of_measurement(measurement: &Measurement) -> Result<Record, Failure> {
        let id = id_of(&measurement.self_link).to_owned();
        let text = measurement
            .result
            .as_ref()
            .ok_or_else(|| Failure::Nothing(format!("measurement {id} has no result yet")))?
            .get()
            .to_owned();
        Ok(Record::Result { measurement: id, text })
    }

    /// The record of a log entry.
    pub fn of_log(entry: &LogEntry) -> Result<Record, Failure> {
        let creation_time = Timestamp::parse_rfc3339(&entry.creation_time).ok_or_else(|| Failure::Malformed {
            what: "LOG ENTRY",
            detail: format!("creationTime {:?} is not RFC 3339", entry.creation_time),
        })?;
        let body = match (&entry.result, &entry.error) {
            (Some(result), None) => LogBody::Result(result.get().to_owned()),
            (None, Some(error)) => LogBody::Error(error.clone()),
            _ => {
                return Err(Failure::Malformed {
                    what: "LOG ENTRY",
                    detail: "it must have exactly one of result and error".into(),
                })
            }
        };
        Ok(Record::Log {
            id: id_of(&entry.self_link).to_owned(),
            view: id_of(&entry.scope).to_owned(),
            trigger: id_of(&entry.trigger).to_owned(),
            creation_time,
            tags: entry.tags.clone(),
            body,
        })
    }

    /// The leaf kind and id it must have.
    pub fn leaf_kind_and_id(&self) -> (LeafKind, &str) {
        match self {
            Record::Result { measurement, .. } => (LeafKind::Result, measurement),
            Record::Log { id, .. } => (LeafKind::Log, id),
        }
    }

    /// Words for messages: `result of measurement m1`, `log entry l1`.
    pub fn describe(&self) -> String {
        match self {
            Record::Result { measurement, .. } => format!("the result of measurement {measurement}"),
            Record::Log { id, .. } => format!("log entry {id}"),
        }
    }

    /// The content hash its leaf must carry.
    pub fn content_hash(&self) -> Result<Hash, Failure> {
        let malformed =
            |e: ctp_model::ledger::LedgerError| Failure::Malformed { what: "RECORD", detail: e.to_string() };
        match self {
            Record::Result { text, .. } => ctp_model::ledger::result_hash(text).map_err(malformed),
            Record::Log { view, trigger, creation_time, tags, body, .. } => {
                let content =
                    ctp_model::ledger::log_content(view, trigger, *creation_time, tags, body).map_err(malformed)?;
                Ok(ctp_ledger::sha256(&content))
            }
        }
    }

    /// The result text it holds, if any (what a signature covers).
    pub fn result_text(&self) -> Option<&str> {
        match self {
            Record::Result { text, .. } => Some(text),
            Record::Log { body: LogBody::Result(text), .. } => Some(text),
            Record::Log { .. } => None,
        }
    }
}

/// How the server's key compared with the pin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyPin {
    /// First use: pinned now.
    PinnedNow,
    /// The pinned key.
    Known {
        /// Since when.
        since: String,
    },
    /// A different key, trusted by the caller: the pin was replaced.
    Replaced {
        /// The old key text.
        old: String,
    },
}

/// The checkpoint verifier to use: the pinned key (pinned now on first use). A served key
/// other than the pinned one fails unless `trust_new`.
pub fn server_verifier(
    state: &mut ServerState,
    served_key: &str,
    trust_new: bool,
    now: &str,
) -> Result<(Verifier, KeyPin), Failure> {
    let served = served_key.trim();
    let parse = |text: &str| {
        Verifier::from_key_text(text).map_err(|e| Failure::Malformed { what: "SERVER KEY", detail: e.to_string() })
    };
    let pin = match &state.server_key {
        Some(pinned) if pinned == served => {
            KeyPin::Known { since: state.server_key_pinned.clone().unwrap_or_else(|| "an unknown date".into()) }
        }
        Some(pinned) if !trust_new => {
            return Err(Failure::ServerKeyChanged {
                pinned: pinned.clone(),
                served: served.to_owned(),
                since: state.server_key_pinned.clone().unwrap_or_else(|| "an unknown date".into()),
            })
        }
        Some(pinned) => KeyPin::Replaced { old: pinned.clone() },
        None => KeyPin::PinnedNow,
    };
    let verifier = parse(served)?;
    if !matches!(pin, KeyPin::Known { .. }) {
        state.server_key = Some(served.to_owned());
        state.server_key_pinned = Some(now.to_owned());
    }
    Ok((verifier, pin))
}

/// A record found in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Included {
    /// The leaf (its time is when the server accepted the record).
    pub leaf: Leaf,
    /// Its index.
    pub index: u64,
    /// The checkpoint it is proven in.
    pub checkpoint: Checkpoint,
    /// That checkpoint's signed note.
    pub note: String,
}

/// Step 3: the proof's leaf is `record`'s, the checkpoint is signed by `verifier`, and the
/// leaf is in the checkpoint's tree.
pub fn check_inclusion(record: &Record, proof_text: &str, verifier: &Verifier) -> Result<Included, Failure> {
    let malformed = |detail: String| Failure::Malformed { what: "PROOF", detail };
    let proof = TlogProof::parse(proof_text).map_err(|e| malformed(e.to_string()))?;
    let extra = proof.extra.as_deref().ok_or_else(|| malformed("it carries no leaf (no extra line)".into()))?;
    let leaf = Leaf::decode(extra).map_err(|e| malformed(format!("its leaf: {e}")))?;
    let (kind, id) = record.leaf_kind_and_id();
    let measurement_ok = match record {
        Record::Result { measurement, .. } => leaf.measurement.as_deref() == Some(measurement.as_str()),
        Record::Log { .. } => leaf.measurement.is_none(),
    };
    if leaf.kind != kind || leaf.id != id || !measurement_ok {
        return Err(Failure::WrongLeaf {
            expected: record.describe(),
            found: format!("{} {}", leaf.kind.as_str(), leaf.id),
        });
    }
    let served = record.content_hash()?;
    if leaf.sha256 != served {
        return Err(Failure::ContentMismatch {
            record: record.describe(),
            ledger: leaf.sha256.to_hex(),
            served: served.to_hex(),
        });
    }
    let checkpoint =
        Checkpoint::open(proof.checkpoint.as_bytes(), verifier).map_err(|e| Failure::BadCheckpoint(e.to_string()))?;
    let leaf_hash = leaf.leaf_hash().map_err(|e| malformed(e.to_string()))?;
    ctp_ledger::check_record(&proof.hashes, checkpoint.size, &checkpoint.root, proof.index, &leaf_hash)
        .map_err(|e| Failure::NotIncluded(e.to_string()))?;
    Ok(Included { leaf, index: proof.index, checkpoint, note: proof.checkpoint })
}

/// Step 4, first half: the seen checkpoints that need a consistency proof to `current`
/// (those smaller than it, not empty). A seen checkpoint larger than `current`, or of its
/// size with another root, is a rewritten history.
pub fn seen_to_check(state: &ServerState, current: &Checkpoint) -> Result<Vec<SeenCheckpoint>, Failure> {
    let mut to_check = Vec::new();
    for seen in &state.checkpoints {
        let rewritten = |detail: &str| Failure::HistoryRewritten {
            current: current.size,
            seen_size: seen.size,
            seen_on: seen.seen.clone(),
            detail: detail.to_owned(),
        };
        if seen.size > current.size {
            return Err(rewritten("the log shrank"));
        }
        if seen.size == current.size {
            if seen.root != current.root.to_base64() {
                return Err(rewritten("same size, another root"));
            }
        } else if seen.size > 0 {
            to_check.push(seen.clone());
        }
    }
    Ok(to_check)
}

/// Reads a consistency proof: one base64 hash a line.
pub fn parse_hashes(text: &str) -> Result<Vec<Hash>, Failure> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            Hash::from_base64(line.trim())
                .map_err(|e| Failure::Malformed { what: "CONSISTENCY PROOF", detail: e.to_string() })
        })
        .collect()
}

/// Step 4, second half: `seen` is a prefix of `current` by `proof`.
pub fn check_consistency(seen: &SeenCheckpoint, current: &Checkpoint, proof: &[Hash]) -> Result<(), Failure> {
    let rewritten = |detail: String| Failure::HistoryRewritten {
        current: current.size,
        seen_size: seen.size,
        seen_on: seen.seen.clone(),
        detail,
    };
    let old_root =
        Hash::from_base64(&seen.root).map_err(|e| rewritten(format!("the stored root is unreadable: {e}")))?;
    ctp_ledger::check_tree(proof, current.size, &current.root, seen.size, &old_root)
        .map_err(|e| rewritten(e.to_string()))
}

/// Step 4, last: remembers `current` (its note), keeping at most [`MAX_SEEN_CHECKPOINTS`]
/// (always the largest).
pub fn remember_checkpoint(state: &mut ServerState, current: &Checkpoint, note: &str, now: &str) {
    if state.checkpoints.iter().any(|s| s.size == current.size) {
        return;
    }
    state.checkpoints.push(SeenCheckpoint {
        size: current.size,
        root: current.root.to_base64(),
        note: note.to_owned(),
        seen: now.to_owned(),
    });
    state.checkpoints.sort_by_key(|s| s.size);
    while state.checkpoints.len() > MAX_SEEN_CHECKPOINTS {
        state.checkpoints.remove(0);
    }
}

/// Who a result says signed it: its `authorityId` and whether it has a signature.
pub fn signature_claim(result_text: &str) -> Result<(Option<String>, bool), Failure> {
    let value: serde_json::Value =
        serde_json::from_str(result_text).map_err(|e| Failure::Malformed { what: "RESULT", detail: e.to_string() })?;
    let authority = value.get("authorityId").and_then(|a| a.as_str()).filter(|a| !a.is_empty()).map(str::to_owned);
    let signed = value.get("signature").and_then(|s| s.as_str()).is_some_and(|s| !s.is_empty());
    Ok((authority, signed))
}

fn unix_seconds(text: &Option<String>, kid: &str) -> Result<Option<i64>, Failure> {
    text.as_deref()
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|d| d.timestamp())
                .map_err(|_| Failure::BadAuthorityKey(format!("key {kid}: {t:?} is not an RFC 3339 date-time")))
        })
        .transpose()
}

/// The trusted keys of an authority's key list.
pub fn trusted_keys(keys: &[AuthorityKey]) -> Result<Vec<TrustedKey>, Failure> {
    keys.iter()
        .map(|k| {
            let key = PublicKey::from_jwk_members(&k.jwk)
                .map_err(|e| Failure::BadAuthorityKey(format!("key {}: {e}", k.kid)))?;
            let validity = Validity {
                not_before: unix_seconds(&k.not_before, &k.kid)?,
                not_after: unix_seconds(&k.not_after, &k.kid)?,
            };
            Ok(TrustedKey { kid: k.kid.clone(), key, validity })
        })
        .collect()
}

/// Keys given in a file: a JWK (its `kid`, else its RFC 7638 thumbprint), a JWK set
/// `{"keys": [...]}`, or a PEM public key (kid: its thumbprint). Valid at any time.
pub fn keys_from_file(text: &str) -> Result<Vec<TrustedKey>, Failure> {
    let bad = |e: String| Failure::BadAuthorityKey(format!("the key file: {e}"));
    let trusted = |key: PublicKey, kid: Option<&str>| TrustedKey {
        kid: kid.map_or_else(|| key.thumbprint(), str::to_owned),
        key,
        validity: Validity::ALWAYS,
    };
    if text.trim_start().starts_with("-----BEGIN") {
        let key = PublicKey::from_spki_pem(text).map_err(|e| bad(e.to_string()))?;
        return Ok(vec![trusted(key, None)]);
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let jwks = match value.get("keys").and_then(|k| k.as_array()) {
        Some(keys) => keys.clone(),
        None => vec![value],
    };
    jwks.iter()
        .map(|jwk| {
            let members = jwk.as_object().ok_or_else(|| bad("a key is not a JSON object".into()))?;
            let kid = members.get("kid").and_then(|k| k.as_str());
            let mut without_kid = members.clone();
            without_kid.remove("kid");
            let key = PublicKey::from_jwk_members(&without_kid).map_err(|e| bad(e.to_string()))?;
            Ok(trusted(key, kid))
        })
        .collect()
}

/// How an authority's keys compared with the pin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthorityPin {
    /// First use: pinned now.
    PinnedNow,
    /// As pinned.
    Known {
        /// Since when.
        since: String,
    },
    /// Changed, and trusted by the caller: the pin was replaced.
    Replaced,
}

/// Step 5: the keys of `authority_id` to verify with: the pinned ones (pinned now on first
/// use, from `fetched`). A pinned key the server now lists differently fails unless
/// `trust_new`; keys the server added since are used only with `trust_new` (the returned
/// list of new kids lets the caller say why a signature by one of them was refused).
pub fn authority_keys(
    state: &mut ServerState,
    authority_id: &str,
    fetched: &Authority,
    trust_new: bool,
    now: &str,
) -> Result<(Vec<TrustedKey>, AuthorityPin, Vec<String>), Failure> {
    let fresh = PinnedAuthority { name: fetched.name.clone(), keys: fetched.keys.clone(), pinned: now.to_owned() };
    let (pinned, pin, new_kids) = match state.authorities.get(authority_id) {
        None => (fresh, AuthorityPin::PinnedNow, Vec::new()),
        Some(pinned) => {
            let same = |a: &AuthorityKey, b: &AuthorityKey| a.jwk == b.jwk;
            let changed = pinned
                .keys
                .iter()
                .find(|p| fetched.keys.iter().any(|f| f.kid == p.kid && !same(f, p)))
                .map(|p| p.kid.clone());
            let added: Vec<String> = fetched
                .keys
                .iter()
                .filter(|f| !pinned.keys.iter().any(|p| p.kid == f.kid))
                .map(|f| f.kid.clone())
                .collect();
            match (changed, trust_new) {
                (Some(kid), false) => {
                    return Err(Failure::AuthorityKeyChanged {
                        authority: authority_id.to_owned(),
                        kid,
                        since: pinned.pinned.clone(),
                    })
                }
                (None, false) => (pinned.clone(), AuthorityPin::Known { since: pinned.pinned.clone() }, added),
                (_, true) if added.is_empty() && pinned.keys == fetched.keys => {
                    (pinned.clone(), AuthorityPin::Known { since: pinned.pinned.clone() }, Vec::new())
                }
                (_, true) => (fresh, AuthorityPin::Replaced, Vec::new()),
            }
        }
    };
    let keys = trusted_keys(&pinned.keys)?;
    if !matches!(pin, AuthorityPin::Known { .. }) {
        state.authorities.insert(authority_id.to_owned(), pinned);
    }
    Ok((keys, pin, new_kids))
}

/// Step 5: the result's signature verifies with `keys` at `at` (the ledger-proven time).
pub fn check_signature(result_text: &str, keys: &[TrustedKey], at: DateTime<Utc>) -> Result<Verified, Failure> {
    ctp_jws::verify_result(result_text, keys, at.timestamp()).map_err(|e| Failure::BadSignature(e.to_string()))
}

#[cfg(test)]
mod tests;
