//! The scope hierarchy (service views, dependencies, assets, attributes, measurements)
//! and metrics: their creation, with the access tags `rules` gives a new resource and the
//! change identifiers it renews; their collections; `require`; and `delete`, whose
//! cascades follow from the schema's foreign keys.

use ctp_model::resources::{Asset, Attribute, Kind, Measurement, Member, Metric, Ref, View};
use ctp_model::{Evaluate, ResourceId, Timestamp};
use ctp_store::rules;
use ctp_store::{checks, NewAsset, NewAttribute, NewMeasurement, NewMetric, NewView, StoreError, StoreResult};
use ctp_store_sql::{below, parent_column, table_of};

use ctp_store_sql::objective_columns;

use crate::rows::{self, tags_to_text};
use crate::{changes, Context, Tx};

/// Creates a service view, or a dependency under `parent`.
pub(crate) async fn create_view(tx: &Tx<'_>, parent: Option<&Ref>, view: &NewView) -> StoreResult<View> {
    let inherited = match parent {
        None => Vec::new(),
        Some(p) => rows::load_view(tx, p.kind, &p.id).await?.access_tags,
    };
    let kind = if parent.is_some() { Kind::Dependency } else { Kind::ServiceView };
    let tags = rules::initial_access_tags(kind, view.access_tags.as_deref(), &inherited);
    let id = ResourceId::generate();
    let change = rows::next_change_id(tx).await?;
    tx.execute(
        "INSERT INTO views (id, parent_kind, parent_id, name, annotation, provider, service_class, change_id, \
         access_tags) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &id.as_str(),
            &parent.map(|p| p.kind.segment()),
            &parent.map(|p| p.id.as_str()),
            &view.header.name,
            &view.header.annotation,
            &view.provider,
            &view.service_class,
            &change,
            &tags_to_text(&tags),
        ],
    )
    .await
    .context("inserting a view")?;
    changes::renew_ancestors(tx, kind, &id, change).await?;
    rows::load_view(tx, kind, &id).await
}

/// Creates an asset in a service view or dependency.
pub(crate) async fn create_asset(tx: &Tx<'_>, view_id: &ResourceId, asset: &NewAsset) -> StoreResult<Asset> {
    let view = rows::load_any_view(tx, view_id).await?;
    let tags = rules::initial_access_tags(Kind::Asset, asset.access_tags.as_deref(), &view.access_tags);
    let id = ResourceId::generate();
    let change = rows::next_change_id(tx).await?;
    tx.execute(
        "INSERT INTO assets (id, view_id, name, annotation, asset_class, change_id, access_tags) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &id.as_str(),
            &view_id.as_str(),
            &asset.header.name,
            &asset.header.annotation,
            &asset.asset_class,
            &change,
            &tags_to_text(&tags),
        ],
    )
    .await
    .context("inserting an asset")?;
    changes::renew_ancestors(tx, Kind::Asset, &id, change).await?;
    rows::load_asset(tx, &id).await
}

/// Creates an attribute of an asset.
pub(crate) async fn create_attribute(
    tx: &Tx<'_>,
    asset_id: &ResourceId,
    attribute: &NewAttribute,
) -> StoreResult<Attribute> {
    let asset = rows::load_asset(tx, asset_id).await?;
    let tags = rules::initial_access_tags(Kind::Attribute, attribute.access_tags.as_deref(), &asset.access_tags);
    let id = ResourceId::generate();
    let change = rows::next_change_id(tx).await?;
    tx.execute(
        "INSERT INTO attributes (id, asset_id, name, annotation, change_id, access_tags) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &id.as_str(),
            &asset_id.as_str(),
            &attribute.header.name,
            &attribute.header.annotation,
            &change,
            &tags_to_text(&tags),
        ],
    )
    .await
    .context("inserting an attribute")?;
    changes::renew_ancestors(tx, Kind::Attribute, &id, change).await?;
    rows::load_attribute(tx, &id).await
}

/// Creates a metric.
pub(crate) async fn create_metric(tx: &Tx<'_>, metric: &NewMetric) -> StoreResult<Metric> {
    let json = |e| StoreError::backend("writing a metric as JSON", e);
    let parameters = serde_json::to_string(&metric.parameters).map_err(json)?;
    let result_format = serde_json::to_string(&metric.result_format).map_err(json)?;
    let tags = rules::initial_access_tags(Kind::Metric, metric.access_tags.as_deref(), &[]);
    let id = ResourceId::generate();
    let change = rows::next_change_id(tx).await?;
    tx.execute(
        "INSERT INTO metrics (id, name, annotation, base_metric, parameters, result_format, change_id, access_tags) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &id.as_str(),
            &metric.header.name,
            &metric.header.annotation,
            &metric.base_metric,
            &parameters,
            &result_format,
            &change,
            &tags_to_text(&tags),
        ],
    )
    .await
    .context("inserting a metric")?;
    if metric.signed_results_required {
        crate::authorities::set_signing_required(tx, &id, true).await?;
    }
    rows::load_metric(tx, &id).await
}

/// Creates a measurement of an attribute, with its first result if it has one, and its
/// objective evaluated on it.
pub(crate) async fn create_measurement(
    tx: &Tx<'_>,
    attribute_id: &ResourceId,
    measurement: &NewMeasurement,
    now: Timestamp,
    conditions: &dyn Evaluate,
) -> StoreResult<Measurement> {
    let attribute = rows::load_attribute(tx, attribute_id).await?;
    let asset = rows::load_asset(tx, &attribute.asset_id).await?;
    checks::measurement_metric(rows::load_metric(tx, &measurement.metric_id).await, &measurement.metric_id)?;
    let tags =
        rules::initial_access_tags(Kind::Measurement, measurement.access_tags.as_deref(), &attribute.access_tags);
    let objective = rules::first_objective(measurement, now, conditions);
    let id = ResourceId::generate();
    let change = rows::next_change_id(tx).await?;
    let (objective_status, objective_time) = objective_columns(objective.as_ref());
    tx.execute(
        "INSERT INTO measurements (id, attribute_id, view_id, metric_id, name, annotation, result, \
         objective_condition, objective_status, objective_time, triggers_allowed, user_activated, state, \
         change_id, access_tags) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        &[
            &id.as_str(),
            &attribute_id.as_str(),
            &asset.view_id.as_str(),
            &measurement.metric_id.as_str(),
            &measurement.header.name,
            &measurement.header.annotation,
            &measurement.result.as_ref().map(|r| r.raw.as_str()),
            &measurement.objective,
            &objective_status,
            &objective_time,
            &measurement.triggers_allowed,
            &measurement.user_activated,
            &measurement.state.as_str(),
            &change,
            &tags_to_text(&tags),
        ],
    )
    .await
    .context("inserting a measurement")?;
    changes::renew_ancestors(tx, Kind::Measurement, &id, change).await?;
    let first = measurement.result.as_ref().map(|r| r.raw.as_str());
    let entry = rules::history_entry(None, objective.as_ref(), first.is_some(), first, now);
    crate::history::append(tx, &id, entry).await?;
    if measurement.objective.is_some() {
        crate::clock::watch(tx, &id, now).await?;
    }
    let verification = measurement.result.as_ref().and_then(|r| r.verification.as_ref());
    crate::authorities::save_verification(tx, &id, false, verification).await?;
    if measurement.signed_results_required {
        crate::authorities::set_signing_required(tx, &id, true).await?;
    }
    if let Some(result) = &measurement.result {
        crate::ledger::append_result(tx, &id, &result.raw, now).await?;
    }
    rows::load_measurement(tx, &id).await
}

/// Every service view, in creation order.
pub(crate) async fn service_views(tx: &Tx<'_>) -> StoreResult<Vec<Member>> {
    rows::members(tx, "SELECT id, name, access_tags FROM views WHERE parent_kind IS NULL ORDER BY seq", &[]).await
}

/// The dependencies directly under a service view or a dependency, in creation order.
pub(crate) async fn dependencies(tx: &Tx<'_>, parent: &Ref) -> StoreResult<Vec<Member>> {
    let sql = "SELECT id, name, access_tags FROM views WHERE parent_kind = $1 AND parent_id = $2 ORDER BY seq";
    rows::members(tx, sql, &[&parent.kind.segment(), &parent.id.as_str()]).await
}

/// The members of a collection of `kind` (assets, attributes, measurements, triggers)
/// under the resource `parent_id`, in creation order.
pub(crate) async fn members(tx: &Tx<'_>, kind: Kind, parent_id: &ResourceId) -> StoreResult<Vec<Member>> {
    let (table, column) = parent_column(kind).expect("a collection under a parent");
    let sql = format!("SELECT id, name, access_tags FROM {table} WHERE {column} = $1 ORDER BY seq");
    rows::members(tx, &sql, &[&parent_id.as_str()]).await
}

/// Every metric, in creation order.
pub(crate) async fn metrics(tx: &Tx<'_>) -> StoreResult<Vec<Member>> {
    rows::members(tx, "SELECT id, name, access_tags FROM metrics ORDER BY seq", &[]).await
}

/// Makes sure a resource exists (of the right kind, for views), or answers `NotFound`.
pub(crate) async fn require(tx: &Tx<'_>, resource: &Ref) -> StoreResult<()> {
    if matches!(resource.kind, Kind::ServiceView | Kind::Dependency) {
        return rows::load_view(tx, resource.kind, &resource.id).await.map(drop);
    }
    let sql = format!("SELECT 1 FROM {} WHERE id = $1", table_of(resource.kind));
    match tx.query_opt(&sql, &[&resource.id.as_str()]).await.context("looking a resource up")? {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound(resource.kind, resource.id.clone())),
    }
}

/// Deletes a resource and everything in its scope, renewing the change identifiers of its
/// ancestors; a metric still used is a conflict.
pub(crate) async fn delete(tx: &Tx<'_>, resource: &Ref) -> StoreResult<()> {
    require(tx, resource).await?;
    lock_measurements_below(tx, resource).await?;
    let change = rows::next_change_id(tx).await?;
    if resource.kind == Kind::Metric {
        let sql = "SELECT COUNT(*) FROM measurements WHERE metric_id = $1";
        let users = tx.query_one(sql, &[&resource.id.as_str()]).await.context("counting a metric's users")?;
        checks::metric_unused(&resource.id, rows::get(&users, 0)?)?;
    }
    changes::renew_ancestors(tx, resource.kind, &resource.id, change).await?;
    // Cascades follow from the schema's foreign keys.
    let sql = format!("DELETE FROM {} WHERE id = $1", table_of(resource.kind));
    tx.execute(&sql, &[&resource.id.as_str()]).await.context("deleting a resource")?;
    Ok(())
}

/// Locks the measurements a deletion removes, in the order of their ids, before anything
/// else: a push locks its measurement first and then its ancestors, so a deletion that
/// took an ancestor first would deadlock with it; this way one waits for the other.
async fn lock_measurements_below(tx: &Tx<'_>, resource: &Ref) -> StoreResult<()> {
    let condition = match resource.kind {
        Kind::Measurement => "id = {id}".to_owned(),
        kind => match below(kind).into_iter().find(|below| below.table == table_of(Kind::Measurement)) {
            Some(below) => below.condition,
            None => return Ok(()),
        },
    };
    let sql = format!("SELECT id FROM measurements WHERE {} ORDER BY id FOR UPDATE", condition.replace("{id}", "$1"));
    tx.query(&sql, &[&resource.id.as_str()]).await.context("locking the measurements to delete")?;
    Ok(())
}
