//! The resources of the CTP API as the client reads them (CTP 2.14 §4.2, ctpd's encodings).
//! Every link is an absolute URL. Members a client does not need may be absent; results are
//! kept as the raw JSON text the server returned, byte for byte, so that hashes and
//! signatures can be checked on exactly what was served.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The kinds of resources, and their collection's path segment under the base URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `serviceViews/{id}`.
    ServiceView,
    /// `dependencies/{id}`.
    Dependency,
    /// `assets/{id}`.
    Asset,
    /// `attributes/{id}`.
    Attribute,
    /// `measurements/{id}`.
    Measurement,
    /// `metrics/{id}`.
    Metric,
    /// `triggers/{id}`.
    Trigger,
    /// `logs/{id}`.
    Log,
    /// `authorities/{id}` (ctpd's extension: who signs results).
    Authority,
}

impl Kind {
    /// Every kind, in the order an id of unknown kind is looked up.
    pub const ALL: [Kind; 9] = [
        Kind::ServiceView,
        Kind::Asset,
        Kind::Attribute,
        Kind::Measurement,
        Kind::Trigger,
        Kind::Log,
        Kind::Metric,
        Kind::Dependency,
        Kind::Authority,
    ];

    /// The path segment of its collection.
    pub fn segment(self) -> &'static str {
        match self {
            Kind::ServiceView => "serviceViews",
            Kind::Dependency => "dependencies",
            Kind::Asset => "assets",
            Kind::Attribute => "attributes",
            Kind::Measurement => "measurements",
            Kind::Metric => "metrics",
            Kind::Trigger => "triggers",
            Kind::Log => "logs",
            Kind::Authority => "authorities",
        }
    }

    /// The kind of a resource URL (`.../{segment}/{id}`), if its last segments name one.
    pub fn of_url(url: &str) -> Option<Kind> {
        let path = url.split(['?', '#']).next().unwrap_or(url);
        let mut parts = path.trim_end_matches('/').rsplit('/');
        let _id = parts.next()?;
        let segment = parts.next()?;
        Kind::ALL.into_iter().find(|k| k.segment() == segment)
    }
}

/// The id of a resource: the last path segment of its link.
pub fn id_of(link: &str) -> &str {
    let path = link.split(['?', '#']).next().unwrap_or(link);
    path.trim_end_matches('/').rsplit('/').next().unwrap_or(path)
}

/// An RFC 3339 time as the API writes them (`creationTime`, `updateTime`...), for ordering.
pub fn parse_time(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&chrono::Utc))
}

/// The entry point (`GET {base}`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryPoint {
    /// `{base}`.
    #[serde(rename = "self")]
    pub self_link: String,
    /// The server's name.
    #[serde(default)]
    pub name: String,
    /// A description.
    #[serde(default)]
    pub annotation: String,
    /// Who runs it.
    #[serde(default)]
    pub provider: String,
    /// The service views' collection.
    pub service_views: String,
    /// The metrics' collection.
    #[serde(default)]
    pub metrics: Option<String>,
    /// The transparency log's description (ctpd extension), when the server keeps one.
    #[serde(default)]
    pub ledger: Option<String>,
}

/// One member of a collection.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Member {
    /// Its URL.
    pub link: String,
    /// Its name (absent when empty).
    #[serde(default)]
    pub name: String,
}

/// A collection (4.1.6).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Collection {
    /// Its URL, with the query.
    #[serde(rename = "self")]
    pub self_link: String,
    /// How many members match, over all pages.
    #[serde(default)]
    pub collection_length: u64,
    /// How many this answer lists.
    #[serde(default)]
    pub returned_length: u64,
    /// The kind of the members.
    #[serde(default)]
    pub collection_type: String,
    /// The members.
    pub collection: Vec<Member>,
}

/// A service view (4.2.1).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceView {
    /// Its URL.
    #[serde(rename = "self")]
    pub self_link: String,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Its description.
    #[serde(default)]
    pub annotation: String,
    /// The provider.
    #[serde(default)]
    pub provider: String,
    /// Its assets' collection.
    pub assets: String,
    /// Its triggers' collection.
    #[serde(default)]
    pub triggers: Option<String>,
    /// Its log entries' collection.
    #[serde(default)]
    pub logs: Option<String>,
}

/// An asset (4.2.3).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Asset {
    /// Its URL.
    #[serde(rename = "self")]
    pub self_link: String,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Its attributes' collection.
    pub attributes: String,
}

/// An attribute (4.2.4).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attribute {
    /// Its URL.
    #[serde(rename = "self")]
    pub self_link: String,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Its measurements' collection.
    pub measurements: String,
}

/// An objective and its status.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Objective {
    /// The CTPScript condition.
    pub condition: String,
    /// `"true"`, `"false"` or `"error"`.
    pub status: String,
    /// When the status was set.
    #[serde(default)]
    pub status_update_time: String,
}

/// A measurement (4.2.6).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Measurement {
    /// Its URL.
    #[serde(rename = "self")]
    pub self_link: String,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Its metric's URL.
    #[serde(default)]
    pub metric: String,
    /// The last result, as the server returned it (raw JSON text), or `None`.
    #[serde(default)]
    pub result: Option<Box<RawValue>>,
    /// The objective, if any.
    #[serde(default)]
    pub objective: Option<Objective>,
    /// Where triggers on it are created, or `None`.
    #[serde(default)]
    pub create_trigger: Option<String>,
    /// `pending`, `activated` or `deactivated`.
    #[serde(default)]
    pub state: String,
    /// How its results are signed (ctpd extension): `{"authority", "keyId", "algorithm"}`.
    #[serde(default)]
    pub result_verification: Option<serde_json::Value>,
}

/// What a measurement's objective says now, in words (colour is never the only signal).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ObjectiveState {
    /// The objective holds.
    Met,
    /// It does not.
    NotMet,
    /// It could not be evaluated.
    Error,
    /// No result yet.
    NoResult,
    /// The measurement has no objective.
    NoObjective,
}

impl ObjectiveState {
    /// The words printed.
    pub fn words(self) -> &'static str {
        match self {
            ObjectiveState::Met => "met",
            ObjectiveState::NotMet => "not met",
            ObjectiveState::Error => "error",
            ObjectiveState::NoResult => "no result",
            ObjectiveState::NoObjective => "no objective",
        }
    }
}

impl Measurement {
    /// Its objective's state.
    pub fn objective_state(&self) -> ObjectiveState {
        match (&self.result, &self.objective) {
            (None, _) => ObjectiveState::NoResult,
            (Some(_), None) => ObjectiveState::NoObjective,
            (Some(_), Some(o)) => match o.status.as_str() {
                "true" => ObjectiveState::Met,
                "false" => ObjectiveState::NotMet,
                _ => ObjectiveState::Error,
            },
        }
    }
}

/// A trigger (4.2.7).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trigger {
    /// Its URL.
    #[serde(rename = "self")]
    pub self_link: String,
    /// Its service view.
    #[serde(default)]
    pub scope: String,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// The measurement it watches.
    pub measurement: String,
    /// Its condition.
    pub condition: String,
    /// Where alerts go.
    #[serde(default)]
    pub notification: String,
    /// Its guard time, in seconds.
    #[serde(default)]
    pub guard_time: serde_json::Value,
    /// Tags copied to its log entries.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The last evaluation's outcome.
    #[serde(default)]
    pub status: String,
}

/// The body that creates a trigger.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewTrigger {
    /// Its name.
    pub name: String,
    /// Its description.
    pub annotation: String,
    /// The measurement's URL (or id).
    pub measurement: String,
    /// The CTPScript condition.
    pub condition: String,
    /// An `xmpp:` URI, an `http(s)` URL, or empty.
    pub notification: String,
    /// Seconds.
    pub guard_time: f64,
    /// Tags.
    pub tags: Vec<String>,
}

/// A log entry (4.2.8): `result` for a normal entry, `error` for an error entry.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    /// Its URL.
    #[serde(rename = "self")]
    pub self_link: String,
    /// Its service view's URL.
    pub scope: String,
    /// The trigger that wrote it.
    pub trigger: String,
    /// When (RFC 3339, UTC, milliseconds).
    pub creation_time: String,
    /// The result that met the condition, raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Box<RawValue>>,
    /// Why the condition could not be evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// What `GET {view}/logs` selects (5.2.18).
#[derive(Clone, Debug, Default)]
pub struct LogQuery {
    /// Entries with all these tags.
    pub tags: Vec<String>,
    /// Entries created at or after (RFC 3339).
    pub oldest: Option<String>,
    /// Entries created at or before (RFC 3339).
    pub newest: Option<String>,
    /// `(page, items)`: a window.
    pub page: Option<(u64, u64)>,
}

impl LogQuery {
    /// The query string (without `?`), empty when nothing is selected.
    pub fn to_query(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        if !self.tags.is_empty() {
            query.append_pair("tags", &self.tags.join(","));
        }
        if let Some(oldest) = &self.oldest {
            query.append_pair("oldest", oldest);
        }
        if let Some(newest) = &self.newest {
            query.append_pair("newest", newest);
        }
        if let Some((page, items)) = self.page {
            query.append_pair("page", &page.to_string());
            query.append_pair("items", &items.to_string());
        }
        query.finish()
    }
}

/// One key of an authority (ctpd extension).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorityKey {
    /// The key id JWS headers name it by.
    pub kid: String,
    /// `RS256`, `ES256` or `EdDSA` (absent in a creation body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// The public key as a JWK.
    pub jwk: serde_json::Map<String, serde_json::Value>,
    /// First valid instant (RFC 3339), or none.
    #[serde(default)]
    pub not_before: Option<String>,
    /// Last valid instant (RFC 3339), or none.
    #[serde(default)]
    pub not_after: Option<String>,
}

/// An authority: who signs results, with its public keys (ctpd extension).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Authority {
    /// Its URL.
    #[serde(rename = "self")]
    pub self_link: String,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Its description.
    #[serde(default)]
    pub annotation: String,
    /// Whether it was retired.
    #[serde(default)]
    pub retired: bool,
    /// Its keys.
    #[serde(default)]
    pub keys: Vec<AuthorityKey>,
}

/// The body that registers an authority (admin).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewAuthority {
    /// Its name.
    pub name: String,
    /// Its description.
    pub annotation: String,
    /// Its keys.
    pub keys: Vec<AuthorityKey>,
}

/// The transparency log's description (`GET {base}ledger`, ctpd extension).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerInfo {
    /// Its URL.
    #[serde(rename = "self")]
    pub self_link: String,
    /// The checkpoints' origin line.
    pub origin: String,
    /// The C2SP signed-note verifier key text of the checkpoints' signer.
    pub public_key: String,
    /// The latest signed checkpoint's URL.
    pub checkpoint: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_ids_come_from_links() {
        assert_eq!(Kind::of_url("http://h/api/1.0/measurements/m1"), Some(Kind::Measurement));
        assert_eq!(Kind::of_url("http://h/api/1.0/logs/l1?x=proof"), Some(Kind::Log));
        assert_eq!(Kind::of_url("http://h/api/1.0/serviceViews/v1/logs"), None);
        assert_eq!(id_of("http://h/api/1.0/logs/l1?x=proof"), "l1");
        assert_eq!(id_of("http://h/api/1.0/triggers/t9"), "t9");
    }

    #[test]
    fn log_queries_are_encoded_as_the_api_defines() {
        let query = LogQuery {
            tags: vec!["a".into(), "b c".into()],
            oldest: Some("2026-01-01T00:00:00.000+01:00".into()),
            newest: None,
            page: Some((0, 10)),
        };
        assert_eq!(query.to_query(), "tags=a%2Cb+c&oldest=2026-01-01T00%3A00%3A00.000%2B01%3A00&page=0&items=10");
        assert_eq!(LogQuery::default().to_query(), "");
    }

    #[test]
    fn a_measurement_keeps_its_result_text_and_says_its_state_in_words() {
        let text = r#"{"self":"u","name":"n","result":{"value":[{"a": 1.50}],"signature":null},
                       "objective":{"condition":"c","status":"false","statusUpdateTime":"t"}}"#;
        let m: Measurement = serde_json::from_str(text).unwrap();
        assert_eq!(m.result.as_ref().unwrap().get(), r#"{"value":[{"a": 1.50}],"signature":null}"#);
        assert_eq!(m.objective_state().words(), "not met");
        let m: Measurement = serde_json::from_str(r#"{"self":"u","result":null,"objective":null}"#).unwrap();
        assert_eq!(m.objective_state(), ObjectiveState::NoResult);
    }
}
