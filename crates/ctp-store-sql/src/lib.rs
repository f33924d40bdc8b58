//! The SQL both backends of ctpd share. Their schemas have the same tables and columns
//! (see `ctp_store::dump::TABLES`), and the statements here are in the part of SQL that
//! SQLite and PostgreSQL read alike; placeholders differ (`?1` and `$1`), so a statement
//! that takes a value has `{id}` where the backend puts its own.
//!
//! What the statements mean is decided in `ctp_store::rules`; this crate only says it in
//! SQL.

use ctp_model::resources::{AuthorityKey, Evaluated, Kind, LogBody, ResultVerification};
use ctp_model::{ResourceId, Timestamp};
use ctp_store::dump::ColumnType;
use ctp_store::{rules, StoreError, StoreResult, Window};

/// The table of a resource kind: its path segment, but for service views and
/// dependencies, which share `views`.
pub fn table_of(kind: Kind) -> &'static str {
    match kind {
        Kind::ServiceView | Kind::Dependency => "views",
        other => other.segment(),
    }
}

/// The column of a resource's row that holds the id of its parent, the one whose change
/// identifier a change renews ([`rules::parent_kind`]): `(table, column)`. Every row of
/// `views` has one (`parent_id`, NULL for a service view, which ends a walk up a chain of
/// dependencies); metrics, accounts, log entries and deliveries renew no parent.
pub fn parent_column(kind: Kind) -> Option<(&'static str, &'static str)> {
    match kind {
        Kind::ServiceView | Kind::Dependency => Some(("views", "parent_id")),
        Kind::Asset => Some(("assets", "view_id")),
        Kind::Attribute => Some(("attributes", "asset_id")),
        Kind::Measurement => Some(("measurements", "attribute_id")),
        Kind::Trigger => Some(("triggers", "view_id")),
        Kind::Metric | Kind::Account | Kind::Log | Kind::Delivery => None,
    }
}

/// A log entry's body as its two columns, `result` and `error` (one of them NULL).
pub fn log_body_columns(body: &LogBody) -> (Option<&str>, Option<&str>) {
    match body {
        LogBody::Result(result) => (Some(result), None),
        LogBody::Error(error) => (None, Some(error)),
    }
}

/// An objective's status and its time as the columns `objective_status` and
/// `objective_time` (both NULL without an objective).
pub fn objective_columns(objective: Option<&Evaluated>) -> (Option<&'static str>, Option<i64>) {
    (objective.map(|o| o.status.as_str()), objective.map(|o| o.status_update_time.millis()))
}

/// `"a, b, c"`: the column list of a table.
pub fn column_list(columns: &[(&str, ColumnType)]) -> String {
    columns.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ")
}

/// Counts what makes a store non-empty for `import`: accounts, service views, metrics.
pub const USED: &str =
    "SELECT (SELECT COUNT(*) FROM accounts) + (SELECT COUNT(*) FROM views) + (SELECT COUNT(*) FROM metrics)";

/// A window as SQL's `OFFSET` and `LIMIT`, which are signed 64-bit integers: an offset or
/// a limit past `i64::MAX` (`page * items` can be) is clamped to it, never wrapped to a
/// negative number, which SQLite reads as "no offset" and PostgreSQL refuses.
pub fn offset_and_limit(window: Window) -> (i64, i64) {
    let clamp = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    (clamp(window.offset), clamp(window.limit))
}

/// Rows below a resource, of one table: what a change of access tags applied to a
/// subtree reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Below {
    /// The table.
    pub table: &'static str,
    /// Whether its rows belong to one customer ([`rules::private_to_a_customer`]).
    pub private: bool,
    /// Whether its rows have a change identifier to renew ([`rules::has_change_id`]).
    pub has_change_id: bool,
    /// The SQL condition on the table's rows, with `{id}` for the resource's id.
    pub condition: String,
}

/// The stored text of a result's verification (a JSON object).
pub fn verification_to_text(verification: &ResultVerification) -> String {
    serde_json::json!({
        "authorityId": verification.authority_id.as_str(),
        "keyId": verification.key_id,
        "algorithm": verification.algorithm,
    })
    .to_string()
}

/// A result's verification out of its stored text.
pub fn verification_from_text(text: &str) -> StoreResult<ResultVerification> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| StoreError::backend("reading a stored result verification", e))?;
    let field = |name: &str| {
        value[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| StoreError::broken(format!("a stored verification lacks {name}")))
    };
    Ok(ResultVerification {
        authority_id: ResourceId::parse(&field("authorityId")?)
            .map_err(|e| StoreError::backend("reading a stored result verification", e))?,
        key_id: field("keyId")?,
        algorithm: field("algorithm")?,
    })
}

/// The stored text of an authority's keys (a JSON array).
pub fn keys_to_text(keys: &[AuthorityKey]) -> String {
    serde_json::to_string(keys).expect("keys serialize")
}

/// An authority's keys out of their stored text.
pub fn keys_from_text(text: &str) -> StoreResult<Vec<AuthorityKey>> {
    serde_json::from_str(text).map_err(|e| StoreError::backend("reading an authority's stored keys", e))
}

/// The SQL expressions (subqueries) of a measurement's stored verification and of whether
/// it or its metric requires signed results, appended to the column list of a measurement
/// read.
pub const SIGNING_COLUMNS: &str = "(SELECT v.verification FROM result_verifications v WHERE v.id = measurements.id), \
     EXISTS (SELECT 1 FROM signing_required s WHERE s.id IN (measurements.id, measurements.metric_id))";

/// Everything below a resource of `kind`, table by table, parents first: a service view
/// or dependency has its dependencies (recursively), assets, attributes, measurements,
/// triggers, log entries and deliveries; an asset its attributes and what is below them;
/// an attribute its measurements...; a trigger its log entries and deliveries; a log
/// entry its deliveries. Log entries whose trigger was deleted are reached from their
/// service view only.
pub fn below(kind: Kind) -> Vec<Below> {
    let row = |row_kind: Kind, condition: String| Below {
        table: table_of(row_kind),
        private: rules::private_to_a_customer(row_kind),
        has_change_id: rules::has_change_id(row_kind),
        condition,
    };
    // The measurements below the resource, and the triggers on them.
    let measurements = match kind {
        Kind::ServiceView | Kind::Dependency => "SELECT id FROM measurements WHERE view_id = {id}",
        Kind::Asset => {
            "SELECT m.id FROM measurements m JOIN attributes a ON m.attribute_id = a.id WHERE a.asset_id = {id}"
        }
        Kind::Attribute => "SELECT id FROM measurements WHERE attribute_id = {id}",
        Kind::Measurement => "SELECT CAST({id} AS TEXT)",
        Kind::Trigger => {
            return vec![row(Kind::Log, "trigger_id = {id}".into()), row(Kind::Delivery, "trigger_id = {id}".into())]
        }
        Kind::Log => return vec![row(Kind::Delivery, "log_id = {id}".into())],
        Kind::Metric | Kind::Account | Kind::Delivery => return Vec::new(),
    };
    let triggers = format!("SELECT id FROM triggers WHERE measurement_id IN ({measurements})");
    let mut rows = Vec::new();
    if matches!(kind, Kind::ServiceView | Kind::Dependency) {
        rows.push(row(
            Kind::Dependency,
            "id IN (WITH RECURSIVE sub(id) AS (SELECT id FROM views WHERE parent_id = {id} \
             UNION SELECT v.id FROM views v JOIN sub ON v.parent_id = sub.id) SELECT id FROM sub)"
                .into(),
        ));
        rows.push(row(Kind::Asset, "view_id = {id}".into()));
        rows.push(row(Kind::Attribute, "asset_id IN (SELECT id FROM assets WHERE view_id = {id})".into()));
    }
    if kind == Kind::Asset {
        rows.push(row(Kind::Attribute, "asset_id = {id}".into()));
    }
    if kind != Kind::Measurement {
        rows.push(row(Kind::Measurement, format!("id IN ({measurements})")));
    }
    rows.push(row(Kind::Trigger, format!("id IN ({triggers})")));
    let (logs, deliveries) = if matches!(kind, Kind::ServiceView | Kind::Dependency) {
        ("view_id = {id}".to_owned(), "view_id = {id}".to_owned())
    } else {
        (format!("trigger_id IN ({triggers})"), format!("trigger_id IN ({triggers})"))
    };
    rows.push(row(Kind::Log, logs));
    rows.push(row(Kind::Delivery, deliveries));
    rows
}

/// Reads the stored time, objective status and standing of a history entry (issue 15).
pub fn history_change(
    time: i64,
    status: Option<&str>,
    standing: &str,
) -> StoreResult<(Timestamp, Option<ctp_model::Status>, ctp_model::history::Standing)> {
    let broken = |what: &str| StoreError::broken(format!("a history entry with a bad {what}"));
    let time = Timestamp::from_millis(time).ok_or_else(|| broken("time"))?;
    let status = status.map(|s| ctp_model::Status::parse(s).ok_or_else(|| broken("status"))).transpose()?;
    let standing = ctp_model::history::Standing::parse(standing).ok_or_else(|| broken("standing"))?;
    Ok((time, status, standing))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parent_kind_has_its_column() {
        for kind in Kind::ALL {
            let walks_up = rules::parent_kind(kind).is_some() || kind == Kind::ServiceView;
            assert_eq!(parent_column(kind).is_some(), walks_up, "{kind:?}");
            if let Some((table, _)) = parent_column(kind) {
                assert_eq!(table, table_of(kind));
            }
        }
    }

    #[test]
    fn below_a_view_is_everything_and_customer_rows_are_private() {
        let tables: Vec<_> = below(Kind::ServiceView).iter().map(|b| (b.table, b.private, b.has_change_id)).collect();
        assert_eq!(
            tables,
            [
                ("views", false, true),
                ("assets", false, true),
                ("attributes", false, true),
                ("measurements", false, true),
                ("triggers", true, true),
                ("logs", true, false),
                ("deliveries", true, false)
            ]
        );
        assert_eq!(below(Kind::Log).len(), 1);
        assert!(below(Kind::Metric).is_empty());
    }

    #[test]
    fn windows_past_i64_are_clamped() {
        assert_eq!(offset_and_limit(Window { offset: u64::MAX, limit: 5 }), (i64::MAX, 5));
    }
}
