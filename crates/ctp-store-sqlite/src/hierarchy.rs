//! The scope hierarchy (4.1): service views and their dependencies, assets, attributes,
//! measurements, and the metrics they implement — their creation, their collections,
//! and deletion. Access tags of new resources follow `rules::initial_access_tags`;
//! change identifiers are renewed by `changes::renew`.

use ctp_model::resources::{Asset, Attribute, Kind, Measurement, Member, Metric, Ref, View};
use ctp_model::{Evaluate, ResourceId, Timestamp};
use ctp_store::rules;
use ctp_store::{checks, NewAsset, NewAttribute, NewMeasurement, NewMetric, NewView, StoreError, StoreResult};
use ctp_store_sql::{parent_column, table_of};
use rusqlite::{params, Connection};

use crate::changes::renew_ancestors;
use crate::rows::{self, backend, tags_to_text};

/// A new service view (no `parent`) or dependency.
pub(crate) fn create_view(conn: &Connection, parent: Option<&Ref>, view: &NewView) -> StoreResult<View> {
    let inherited = match parent {
        None => Vec::new(),
        Some(p) => rows::load_view(conn, p.kind, &p.id)?.access_tags,
    };
    let kind = if parent.is_some() { Kind::Dependency } else { Kind::ServiceView };
    let id = ResourceId::generate();
    let change = rows::next_change_id(conn)?;
    conn.execute(
        "INSERT INTO views (id, parent_kind, parent_id, name, annotation, provider, service_class, change_id, \
         access_tags) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            id.as_str(),
            parent.map(|p| p.kind.segment()),
            parent.map(|p| p.id.as_str()),
            view.header.name,
            view.header.annotation,
            view.provider,
            view.service_class,
            change,
            tags_to_text(&rules::initial_access_tags(kind, view.access_tags.as_deref(), &inherited))
        ],
    )
    .map_err(backend)?;
    renew_ancestors(conn, kind, &id, change)?;
    rows::load_view(conn, kind, &id)
}

/// A new asset of a service view or dependency.
pub(crate) fn create_asset(conn: &Connection, view_id: &ResourceId, asset: &NewAsset) -> StoreResult<Asset> {
    let view = rows::load_any_view(conn, view_id)?;
    let id = ResourceId::generate();
    let change = rows::next_change_id(conn)?;
    conn.execute(
        "INSERT INTO assets (id, view_id, name, annotation, asset_class, change_id, access_tags) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            id.as_str(),
            view_id.as_str(),
            asset.header.name,
            asset.header.annotation,
            asset.asset_class,
            change,
            tags_to_text(&rules::initial_access_tags(Kind::Asset, asset.access_tags.as_deref(), &view.access_tags))
        ],
    )
    .map_err(backend)?;
    renew_ancestors(conn, Kind::Asset, &id, change)?;
    rows::load_asset(conn, &id)
}

/// A new attribute of an asset.
pub(crate) fn create_attribute(
    conn: &Connection,
    asset_id: &ResourceId,
    attribute: &NewAttribute,
) -> StoreResult<Attribute> {
    let asset = rows::load_asset(conn, asset_id)?;
    let id = ResourceId::generate();
    let change = rows::next_change_id(conn)?;
    let tags = rules::initial_access_tags(Kind::Attribute, attribute.access_tags.as_deref(), &asset.access_tags);
    conn.execute(
        "INSERT INTO attributes (id, asset_id, name, annotation, change_id, access_tags) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            id.as_str(),
            asset_id.as_str(),
            attribute.header.name,
            attribute.header.annotation,
            change,
            tags_to_text(&tags)
        ],
    )
    .map_err(backend)?;
    renew_ancestors(conn, Kind::Attribute, &id, change)?;
    rows::load_attribute(conn, &id)
}

/// A new metric.
pub(crate) fn create_metric(conn: &Connection, metric: &NewMetric) -> StoreResult<Metric> {
    let id = ResourceId::generate();
    let change = rows::next_change_id(conn)?;
    conn.execute(
        "INSERT INTO metrics (id, name, annotation, base_metric, parameters, result_format, change_id, access_tags) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            id.as_str(),
            metric.header.name,
            metric.header.annotation,
            metric.base_metric,
            serde_json::to_string(&metric.parameters).map_err(|e| StoreError::backend("encoding parameters", e))?,
            serde_json::to_string(&metric.result_format).map_err(|e| StoreError::backend("encoding a format", e))?,
            change,
            tags_to_text(&rules::initial_access_tags(Kind::Metric, metric.access_tags.as_deref(), &[]))
        ],
    )
    .map_err(backend)?;
    if metric.signed_results_required {
        crate::authorities::set_signing_required(conn, &id, true)?;
    }
    rows::load_metric(conn, &id)
}

/// A new measurement of an attribute, with its objective evaluated on its first result.
pub(crate) fn create_measurement(
    conn: &Connection,
    attribute_id: &ResourceId,
    measurement: &NewMeasurement,
    now: Timestamp,
    conditions: &dyn Evaluate,
) -> StoreResult<Measurement> {
    let attribute = rows::load_attribute(conn, attribute_id)?;
    let asset = rows::load_asset(conn, &attribute.asset_id)?;
    checks::measurement_metric(rows::load_metric(conn, &measurement.metric_id), &measurement.metric_id)?;
    let id = ResourceId::generate();
    let change = rows::next_change_id(conn)?;
    let objective = rules::first_objective(measurement, now, conditions);
    let (objective_status, objective_time) = ctp_store_sql::objective_columns(objective.as_ref());
    let tags =
        rules::initial_access_tags(Kind::Measurement, measurement.access_tags.as_deref(), &attribute.access_tags);
    conn.execute(
        "INSERT INTO measurements (id, attribute_id, view_id, metric_id, name, annotation, result, \
         objective_condition, objective_status, objective_time, triggers_allowed, user_activated, state, \
         change_id, access_tags) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        params![
            id.as_str(),
            attribute_id.as_str(),
            asset.view_id.as_str(),
            measurement.metric_id.as_str(),
            measurement.header.name,
            measurement.header.annotation,
            measurement.result.as_ref().map(|r| r.raw.as_str()),
            measurement.objective,
            objective_status,
            objective_time,
            measurement.triggers_allowed,
            measurement.user_activated,
            measurement.state.as_str(),
            change,
            tags_to_text(&tags)
        ],
    )
    .map_err(backend)?;
    renew_ancestors(conn, Kind::Measurement, &id, change)?;
    let first = measurement.result.as_ref().map(|r| r.raw.as_str());
    let entry = rules::history_entry(None, objective.as_ref(), first.is_some(), first, now);
    crate::history::append(conn, &id, entry)?;
    if measurement.objective.is_some() {
        crate::clock::watch(conn, &id, now)?;
    }
    let verification = measurement.result.as_ref().and_then(|r| r.verification.as_ref());
    crate::authorities::save_verification(conn, &id, false, verification)?;
    if measurement.signed_results_required {
        crate::authorities::set_signing_required(conn, &id, true)?;
    }
    if let Some(result) = &measurement.result {
        crate::ledger::append_result(conn, &id, &result.raw, now)?;
    }
    rows::load_measurement(conn, &id)
}

/// Every service view, in creation order.
pub(crate) fn service_views(conn: &Connection) -> StoreResult<Vec<Member>> {
    rows::members(conn, "SELECT id, name, access_tags FROM views WHERE parent_kind IS NULL ORDER BY seq", [])
}

/// The dependencies directly under a service view or a dependency, in creation order.
pub(crate) fn dependencies(conn: &Connection, parent: &Ref) -> StoreResult<Vec<Member>> {
    let sql = "SELECT id, name, access_tags FROM views WHERE parent_kind = ?1 AND parent_id = ?2 ORDER BY seq";
    rows::members(conn, sql, params![parent.kind.segment(), parent.id.as_str()])
}

/// The members of a collection of `kind` (assets, attributes, measurements, triggers)
/// under the resource `parent_id`, in creation order.
pub(crate) fn members(conn: &Connection, kind: Kind, parent_id: &ResourceId) -> StoreResult<Vec<Member>> {
    let (table, column) = parent_column(kind).expect("a collection under a parent");
    let sql = format!("SELECT id, name, access_tags FROM {table} WHERE {column} = ?1 ORDER BY seq");
    rows::members(conn, &sql, [parent_id.as_str()])
}

/// Every metric, in creation order.
pub(crate) fn metrics(conn: &Connection) -> StoreResult<Vec<Member>> {
    rows::members(conn, "SELECT id, name, access_tags FROM metrics ORDER BY seq", [])
}

/// Makes sure a resource exists (of the right kind, for views), or answers `NotFound`.
pub(crate) fn require(conn: &Connection, resource: &Ref) -> StoreResult<()> {
    match resource.kind {
        Kind::ServiceView | Kind::Dependency => rows::load_view(conn, resource.kind, &resource.id).map(drop),
        kind => {
            let sql = format!("SELECT 1 FROM {} WHERE id = ?1", table_of(kind));
            let found =
                conn.prepare_cached(&sql).and_then(|mut s| s.exists([resource.id.as_str()])).map_err(backend)?;
            if found {
                Ok(())
            } else {
                Err(StoreError::NotFound(kind, resource.id.clone()))
            }
        }
    }
}

/// Deletes a resource and, through the schema's cascades, everything below it; renews
/// the change identifiers of its ancestors.
pub(crate) fn delete(conn: &Connection, resource: &Ref) -> StoreResult<()> {
    require(conn, resource)?;
    if resource.kind == Kind::Metric {
        let users: i64 = conn
            .query_row("SELECT COUNT(*) FROM measurements WHERE metric_id = ?1", [resource.id.as_str()], |r| r.get(0))
            .map_err(backend)?;
        checks::metric_unused(&resource.id, users)?;
    }
    let change = rows::next_change_id(conn)?;
    renew_ancestors(conn, resource.kind, &resource.id, change)?;
    conn.execute(&format!("DELETE FROM {} WHERE id = ?1", table_of(resource.kind)), [resource.id.as_str()])
        .map_err(backend)?;
    Ok(())
}
