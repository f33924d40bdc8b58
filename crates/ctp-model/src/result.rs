//! Measurement results (4.2.6) as pushed by agents: checked against the metric's result
//! format, and kept exactly as pushed so that a JWS signature over them still verifies.
//!
//! The decisions page asks for two things at once: a result is returned "exactly as it was
//! pushed" (same keys in the same order, same number spelling), and it is emitted with the
//! wire names `updateTime` and `authorityId`. ctpd therefore keeps every value's text as
//! pushed and only renames the input aliases `dateTime` and `authority` in place, appends
//! the members the push did not have (`updateTime` as the server's time, `authorityId` and
//! `signature` as `null`: 4.2.6 types them as nullable, not optional), and drops white
//! space between the top-level tokens.

use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::metric::{describe, Column};
use crate::time::Timestamp;

/// A result that passed every check, in the two forms the server needs.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedResult {
    /// The text stored and returned: the pushed object with the changes described above.
    pub raw: String,
    /// The same, decoded, for evaluating conditions.
    pub value: Value,
    /// Whose signature was verified on it (issue 14); set by the server after
    /// [`check_result`], stored with the result.
    pub verification: Option<crate::resources::ResultVerification>,
}

/// Top-level members of a JSON object in their order, each value's text untouched.
struct OrderedMembers(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for OrderedMembers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = OrderedMembers;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedMembers, A::Error> {
                let mut members = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, Box<RawValue>>()? {
                    members.push((key, value));
                }
                Ok(OrderedMembers(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

/// The names a result may have, the canonical one first.
const MEMBERS: [(&str, &[&str]); 4] = [
    ("value", &["value"]),
    ("updateTime", &["updateTime", "dateTime"]),
    ("authorityId", &["authorityId", "authority"]),
    ("signature", &["signature"]),
];

/// Checks the JSON text of a pushed result against the metric's columns: an object with
/// `value` (an array of rows, each with exactly the metric's columns, of their types), an
/// optional RFC 3339 `updateTime`, and optional nullable strings `authorityId` and
/// `signature`. A missing `updateTime` becomes `now`; missing `authorityId` and `signature`
/// become `null`.
pub fn check_result(text: &str, columns: &[Column], now: Timestamp) -> Result<CheckedResult, String> {
    let OrderedMembers(members) =
        serde_json::from_str(text).map_err(|e| format!("result must be a JSON object: {e}"))?;
    let mut raw = String::with_capacity(text.len() + 40);
    raw.push('{');
    let mut value = serde_json::Map::new();
    for (key, member) in &members {
        let Some((canonical, _)) = MEMBERS.iter().find(|(_, names)| names.contains(&key.as_str())) else {
            return Err(format!(
                "result has an unknown property {key:?}; a result has value, updateTime, authorityId and signature"
            ));
        };
        if value.contains_key(*canonical) {
            return Err(format!("result has {canonical:?} twice (or under two names)"));
        }
        let decoded: Value =
            serde_json::from_str(member.get()).map_err(|e| format!("result.{canonical} is not valid JSON: {e}"))?;
        match *canonical {
            "value" => check_rows(&decoded, columns)?,
            "updateTime" => match &decoded {
                Value::String(s) if Timestamp::parse_rfc3339(s).is_some() => {}
                other => {
                    return Err(format!(
                        "result.updateTime must be an RFC 3339 date-time such as \"2026-11-22T10:41:58Z\", got {}",
                        describe(other)
                    ))
                }
            },
            _ => {
                if !matches!(decoded, Value::String(_) | Value::Null) {
                    return Err(format!("result.{canonical} must be a string or null, got {}", describe(&decoded)));
                }
            }
        }
        if raw.len() > 1 {
            raw.push(',');
        }
        raw.push('"');
        raw.push_str(canonical);
        raw.push_str("\":");
        raw.push_str(member.get());
        value.insert((*canonical).to_owned(), decoded);
    }
    if !value.contains_key("value") {
        return Err("result has no \"value\": it must hold the rows of the result".to_owned());
    }
    if !value.contains_key("updateTime") {
        let stamp = now.to_string();
        raw.push_str(",\"updateTime\":\"");
        raw.push_str(&stamp);
        raw.push('"');
        value.insert("updateTime".to_owned(), Value::String(stamp));
    }
    // 4.2.6 types authorityId and signature as nullable strings, not optional ones.
    for member in ["authorityId", "signature"] {
        if !value.contains_key(member) {
            raw.push_str(",\"");
            raw.push_str(member);
            raw.push_str("\":null");
            value.insert(member.to_owned(), Value::Null);
        }
    }
    raw.push('}');
    Ok(CheckedResult { raw, value: Value::Object(value), verification: None })
}

/// Each row has exactly the metric's columns, each of its declared type.
fn check_rows(rows: &Value, columns: &[Column]) -> Result<(), String> {
    let Value::Array(rows) = rows else {
        return Err(format!("result.value must be an array of rows, got {}", describe(rows)));
    };
    for (i, row) in rows.iter().enumerate() {
        let Value::Object(cells) = row else {
            return Err(format!("result.value[{i}] must be an object (a row), got {}", describe(row)));
        };
        for column in columns {
            match cells.get(&column.name) {
                None => return Err(format!("result.value[{i}] has no column {:?}", column.name)),
                Some(cell) if !column.value_type.admits(cell) => {
                    return Err(format!(
                        "result.value[{i}]: column {:?} expects a {}, got {}",
                        column.name,
                        column.value_type.as_str(),
                        describe(cell)
                    ))
                }
                Some(_) => {}
            }
        }
        if let Some(extra) = cells.keys().find(|k| !columns.iter().any(|c| &c.name == *k)) {
            let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
            return Err(format!(
                "result.value[{i}] has the column {extra:?}, which the metric does not define (its columns: {})",
                names.join(", ")
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::ValueType;

    fn columns() -> Vec<Column> {
        vec![
            Column { name: "level".into(), value_type: ValueType::Number },
            Column { name: "rule".into(), value_type: ValueType::String },
        ]
    }

    fn now() -> Timestamp {
        Timestamp::from_millis(1_795_000_000_123).unwrap()
    }

    #[test]
    fn a_result_is_kept_as_pushed() {
        let text = r#"{ "value": [ {"rule": "5710", "level": 7.50} ],
                        "updateTime": "2026-11-22T10:00:00+01:00", "signature": null }"#;
        let checked = check_result(text, &columns(), now()).unwrap();
        assert_eq!(
            checked.raw,
            r#"{"value":[ {"rule": "5710", "level": 7.50} ],"updateTime":"2026-11-22T10:00:00+01:00","signature":null,"authorityId":null}"#
        );
        assert_eq!(checked.value["value"][0]["level"], 7.5);
    }

    #[test]
    fn aliases_are_renamed_in_place_and_a_missing_time_is_added() {
        let text = r#"{"authority": "agent", "value": []}"#;
        let checked = check_result(text, &columns(), now()).unwrap();
        assert_eq!(
            checked.raw,
            r#"{"authorityId":"agent","value":[],"updateTime":"2026-11-18T11:06:40.123Z","signature":null}"#
        );
        let text = r#"{"dateTime": "2026-11-22T10:00:00Z", "value": []}"#;
        assert_eq!(
            check_result(text, &columns(), now()).unwrap().raw,
            r#"{"updateTime":"2026-11-22T10:00:00Z","value":[],"authorityId":null,"signature":null}"#
        );
        let signed = r#"{"value": [], "updateTime": "2026-11-22T10:00:00Z", "authorityId": "a", "signature": "x.y.z"}"#;
        assert_eq!(
            check_result(signed, &columns(), now()).unwrap().raw,
            r#"{"value":[],"updateTime":"2026-11-22T10:00:00Z","authorityId":"a","signature":"x.y.z"}"#,
            "nothing is added to a complete result"
        );
    }

    #[test]
    fn bad_results_say_what_to_fix() {
        let check = |text: &str| check_result(text, &columns(), now()).unwrap_err();
        assert_eq!(
            check(r#"{"value": [{"level": "high", "rule": "1"}]}"#),
            r#"result.value[0]: column "level" expects a number, got the string "high""#
        );
        assert!(check(r#"{"value": [{"level": 1}]}"#).contains(r#"has no column "rule""#));
        assert!(check(r#"{"value": [{"level": 1, "rule": "x", "extra": 2}]}"#).contains(r#"the column "extra""#));
        assert!(check(r#"{"value": {}}"#).contains("must be an array"));
        assert!(check(r#"{"value": [], "updateTime": "noon"}"#).contains("RFC 3339"));
        assert!(check(r#"{"value": [], "dateTime": "2026-11-22T10:00:00Z", "updateTime": "2026-11-22T10:00:00Z"}"#)
            .contains("twice"));
        assert!(check(r#"{"value": [], "authorityId": 3}"#).contains("string or null"));
        assert!(check(r#"{"values": []}"#).contains("unknown property"));
        assert!(check(r#"{}"#).contains("no \"value\""));
        assert!(check(r#"[]"#).contains("JSON object"));
    }
}
