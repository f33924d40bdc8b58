//! The project's leaf: one line of canonical JSON naming a record and the SHA-256 of its content.
//!
//! ```text
//! {"kind":"result","id":"r-42","measurement":"m-7","sha256":"<64 lowercase hex>","time":"2026-01-02T03:04:05Z"}
//! ```
//!
//! - `kind`: `result`, `log` or `audit`;
//! - `id`: the record's id; `measurement`: the id of the measurement it belongs to, omitted
//!   when there is none (both 1 to 256 printable ASCII characters, no `"` and no `\`, so
//!   that no JSON escape is ever needed);
//! - `sha256`: the SHA-256 of the record's content, lowercase hex;
//! - `time`: when the server accepted it, RFC 3339 in UTC with `Z`, with 0, 3, 6 or 9
//!   fractional digits (chrono's `SecondsFormat::AutoSi`).
//!
//! The keys come in that order, without spaces or a trailing newline. [`Leaf::decode`] accepts
//! only this exact spelling (it re-encodes and compares), so one record has one leaf and one
//! leaf hash. A leaf is at most about 700 bytes, far under the 64 KiB an entry bundle allows.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::hash::{leaf_hash, Hash};

/// The longest id.
pub const MAX_ID_LEN: usize = 256;

/// What a leaf records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LeafKind {
    /// An accepted measurement result.
    Result,
    /// A log entry.
    Log,
    /// An audit record.
    Audit,
}

impl LeafKind {
    /// The name in the JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            LeafKind::Result => "result",
            LeafKind::Log => "log",
            LeafKind::Audit => "audit",
        }
    }

    fn parse(text: &str) -> Option<LeafKind> {
        [LeafKind::Result, LeafKind::Log, LeafKind::Audit].into_iter().find(|k| k.as_str() == text)
    }
}

/// A leaf of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leaf {
    /// What it records.
    pub kind: LeafKind,
    /// The record's id.
    pub id: String,
    /// The measurement the record belongs to, if any.
    pub measurement: Option<String>,
    /// SHA-256 of the record's content.
    pub sha256: Hash,
    /// When the server accepted it.
    pub time: DateTime<Utc>,
}

fn check_id(what: &str, id: &str) -> Result<()> {
    if id.is_empty()
        || id.len() > MAX_ID_LEN
        || !id.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        return Err(Error::MalformedLeaf(format!(
            "{what} is not 1 to {MAX_ID_LEN} printable ASCII characters without \" or \\"
        )));
    }
    Ok(())
}

impl Leaf {
    /// The canonical bytes (see the module documentation).
    pub fn encode(&self) -> Result<Vec<u8>> {
        check_id("the id", &self.id)?;
        let mut out = format!("{{\"kind\":\"{}\",\"id\":\"{}\"", self.kind.as_str(), self.id);
        if let Some(measurement) = &self.measurement {
            check_id("the measurement", measurement)?;
            out.push_str(&format!(",\"measurement\":\"{measurement}\""));
        }
        out.push_str(&format!(
            ",\"sha256\":\"{}\",\"time\":\"{}\"}}",
            self.sha256.to_hex(),
            self.time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
        ));
        Ok(out.into_bytes())
    }

    /// Reads canonical leaf bytes; anything else (other spelling, order, spaces, unknown or
    /// missing keys) is an error.
    pub fn decode(bytes: &[u8]) -> Result<Leaf> {
        let bad = |why: &str| Error::MalformedLeaf(why.to_owned());
        if bytes.len() > 4 * MAX_ID_LEN {
            return Err(bad("too long"));
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|e| Error::MalformedLeaf(e.to_string()))?;
        let object = value.as_object().ok_or_else(|| bad("not a JSON object"))?;
        for key in object.keys() {
            if !["kind", "id", "measurement", "sha256", "time"].contains(&key.as_str()) {
                return Err(bad("an unknown key"));
            }
        }
        let text = |key: &str| object.get(key).map(|v| v.as_str().ok_or_else(|| bad("a value is not a string")));
        let kind = text("kind").ok_or_else(|| bad("no kind"))??;
        let kind = LeafKind::parse(kind).ok_or_else(|| bad("an unknown kind"))?;
        let id = text("id").ok_or_else(|| bad("no id"))??.to_owned();
        let measurement = text("measurement").transpose()?.map(str::to_owned);
        let sha256 = text("sha256").ok_or_else(|| bad("no sha256"))??;
        let sha256 = Hash::from_hex(sha256).map_err(|_| bad("sha256 is not 64 hex digits"))?;
        let time = text("time").ok_or_else(|| bad("no time"))??;
        let time = DateTime::parse_from_rfc3339(time).map_err(|_| bad("time is not RFC 3339"))?.with_timezone(&Utc);
        let leaf = Leaf { kind, id, measurement, sha256, time };
        if leaf.encode()? != bytes {
            return Err(bad("not the canonical encoding"));
        }
        Ok(leaf)
    }

    /// The leaf's RFC 6962 leaf hash (of its canonical bytes).
    pub fn leaf_hash(&self) -> Result<Hash> {
        Ok(leaf_hash(&self.encode()?))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::hash::sha256;

    fn example() -> Leaf {
        Leaf {
            kind: LeafKind::Result,
            id: "r-42".into(),
            measurement: Some("m-7".into()),
            sha256: sha256(b"content"),
            time: DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z").unwrap().with_timezone(&Utc),
        }
    }

    #[test]
    fn the_documented_shape() {
        let leaf = example();
        let bytes = leaf.encode().unwrap();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            format!(
                "{{\"kind\":\"result\",\"id\":\"r-42\",\"measurement\":\"m-7\",\"sha256\":\"{}\",\"time\":\"2026-01-02T03:04:05Z\"}}",
                sha256(b"content").to_hex()
            )
        );
        assert_eq!(Leaf::decode(&bytes).unwrap(), leaf);
        let audit = Leaf { kind: LeafKind::Audit, measurement: None, ..example() };
        let bytes = audit.encode().unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains("measurement"));
        assert_eq!(Leaf::decode(&bytes).unwrap(), audit);
        let longest = Leaf { id: "i".repeat(MAX_ID_LEN), measurement: Some("m".repeat(MAX_ID_LEN)), ..example() };
        assert!(longest.encode().unwrap().len() < 1024);
        assert_eq!(Leaf::decode(&longest.encode().unwrap()).unwrap(), longest);
    }

    #[test]
    fn only_the_canonical_spelling_decodes() {
        let good = String::from_utf8(example().encode().unwrap()).unwrap();
        let hex = sha256(b"content").to_hex();
        for bad in [
            good.replace(",", ", "),
            format!("{good}\n"),
            good.replace("\"kind\":\"result\",\"id\":\"r-42\"", "\"id\":\"r-42\",\"kind\":\"result\""),
            good.replace("result", "Result"),
            good.replace("result", "other"),
            good.replace(&hex, &hex.to_uppercase()),
            good.replace(&hex, &hex[..62]),
            good.replace("05Z", "05+00:00"),
            good.replace("05Z", "05.000Z"),
            good.replace("05Z", "05z"),
            good.replace("r-42", "r\\u002d42"),
            good.replace("r-42", ""),
            good.replace("}", ",\"extra\":\"x\"}"),
            good.replace("}", ",\"id\":\"r-42\"}"),
            good.replace("\"m-7\"", "7"),
            good.replace(",\"measurement\":\"m-7\"", ",\"measurement\":null"),
            "[]".into(),
            "".into(),
        ] {
            assert!(Leaf::decode(bad.as_bytes()).is_err(), "{bad} accepted");
        }
        assert!(Leaf { id: "a\"b".into(), ..example() }.encode().is_err());
        assert!(Leaf { id: "é".into(), ..example() }.encode().is_err());
        assert!(Leaf { measurement: Some(String::new()), ..example() }.encode().is_err());
    }

    proptest! {
        #[test]
        fn leaves_round_trip(id in "[!#-\\[\\]-~]{1,40}", nanos in 0u32..1_000_000_000, secs in 0i64..4_000_000_000, m: bool) {
            let time = DateTime::from_timestamp(secs, nanos).unwrap();
            let leaf = Leaf { kind: LeafKind::Log, id: id.clone(), measurement: m.then(|| id.clone()), sha256: sha256(id.as_bytes()), time };
            let bytes = leaf.encode().unwrap();
            prop_assert_eq!(Leaf::decode(&bytes).unwrap(), leaf);
        }

        #[test]
        fn hostile_leaves_do_not_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Leaf::decode(&bytes);
        }
    }
}
