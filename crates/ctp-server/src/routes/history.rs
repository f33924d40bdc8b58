//! The history extension (issue 15): a measurement's past results and changes of standing
//! (`GET /measurements/{id}?x=history`, paginated as 4.1.6), and the overview of a service
//! view (`GET /serviceViews/{id}?x=overview`): each measurement the caller may read with its
//! standing, one cell per calendar day with the day's worst standing, and the share of time
//! its objective was met over 24 h, 7 d, 30 d and 90 d, computed here from the changes of
//! standing the store keeps, never from every result.

use std::collections::BTreeMap;

use axum::response::Response;
use ctp_model::history::{met_share, Calendar, DayCell, Standing};
use ctp_model::resources::{Kind, Measurement, View};
use ctp_model::{ResourceId, Status, Timestamp};
use ctp_store::HistoryFilter;
use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use super::ok;
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::openapi::schema::StatusName;
use crate::query::CollectionQuery;

/// The most entries one answer lists: ask with `page` and `items` for more.
pub const MAX_ENTRIES: u64 = 10_000;

/// The windows of the met shares, with their names.
const SHARE_WINDOWS: [(&str, i64); 4] =
    [("24h", 86_400_000), ("7d", 7 * 86_400_000), ("30d", 30 * 86_400_000), ("90d", 90 * 86_400_000)];

/// One entry of a measurement's history.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = HistoryEntry)]
pub(crate) struct HistoryEntryJson {
    /// When it was recorded.
    #[schema(format = DateTime)]
    time: String,
    /// The result pushed then, as stored; `null` for a change of the objective's status
    /// alone (a new objective, a clock round).
    #[schema(value_type = Option<Object>)]
    result: Option<Box<RawValue>>,
    /// The objective's status from then on; `null` without an objective.
    #[schema(value_type = Option<StatusName>)]
    objective_status: Option<Status>,
    /// Where the measurement stands from then on: `met`, `notMet`, `error`, `noResult`
    /// (an objective waiting for a result) or `noObjective`.
    #[schema(value_type = StandingName)]
    standing: Standing,
    /// Whether the standing differs from the entry before.
    status_changed: bool,
}

/// A page of a measurement's history.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = HistoryCollection)]
pub(crate) struct HistoryCollection {
    /// The collection's URL, with the query string of the request.
    #[serde(rename = "self")]
    #[schema(format = "uri")]
    self_link: String,
    /// The measurement's URL.
    #[schema(format = "uri")]
    scope: String,
    /// How many entries match, over all pages.
    collection_length: u64,
    /// How many this answer lists.
    returned_length: u64,
    /// `history`.
    #[schema(value_type = String, pattern = "^history$")]
    collection_type: &'static str,
    /// The entries, oldest first.
    collection: Vec<HistoryEntryJson>,
}

/// The name of a standing.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub(crate) enum StandingName {
    /// The objective does not hold on the result (`"false"`).
    NotMet,
    /// The objective cannot be evaluated on the result (`"error"`).
    Error,
    /// The objective waits for a first result.
    NoResult,
    /// The objective holds on the result (`"true"`).
    Met,
    /// No objective.
    NoObjective,
}

/// `GET /measurements/{id}?x=history[&oldest&newest][&page&items]`.
pub(crate) async fn history(ctx: &Ctx, measurement: &Measurement, query: CollectionQuery) -> ApiResult<Response> {
    let filter = HistoryFilter { oldest: query.logs.oldest, newest: query.logs.newest };
    // Unpaged, the whole collection, if it is not too long.
    let window = query.window.unwrap_or(ctp_store::Window { offset: 0, limit: MAX_ENTRIES });
    let (total, entries) = ctx.state.store.history(&measurement.id, &filter, Some(window)).await?;
    if query.window.is_none() && total > MAX_ENTRIES {
        return Err(ApiError::bad_request(format!(
            "{total} history entries match: ask for them with page and items (at most {MAX_ENTRIES} per page), \
             or narrow them with oldest and newest"
        )));
    }
    let collection: Vec<HistoryEntryJson> = entries
        .into_iter()
        .map(|e| HistoryEntryJson {
            time: e.time.to_string(),
            result: e.result.and_then(|r| RawValue::from_string(r).ok()),
            objective_status: e.objective_status,
            standing: e.standing,
            status_changed: e.status_changed,
        })
        .collect();
    let path = format!("measurements/{}", measurement.id);
    Ok(ok(&HistoryCollection {
        self_link: ctx.self_link(&path),
        scope: ctx.link(Kind::Measurement, &measurement.id),
        collection_length: total,
        returned_length: collection.len() as u64,
        collection_type: "history",
        collection,
    }))
}

/// The history's query: `oldest`, `newest`, `page` and `items` (at most [`MAX_ENTRIES`]).
pub(crate) fn history_query(raw: Option<&str>) -> ApiResult<CollectionQuery> {
    let query = CollectionQuery::parse(raw)?;
    if query.window.is_some_and(|w| w.limit > MAX_ENTRIES) {
        return Err(ApiError::bad_request(format!("items must be at most {MAX_ENTRIES} for x=history")));
    }
    Ok(query)
}

/// The overview's query: `days` (1 to 366, 90 if absent) and `utcOffset` (the minutes east
/// of UTC of the reader's time zone, -840 to 840, 0 if absent).
pub(crate) fn overview_query(raw: Option<&str>) -> ApiResult<(u32, i32)> {
    let (mut days, mut offset) = (90u32, 0i32);
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "days" => {
                days = value.parse().ok().filter(|d| (1..=366).contains(d)).ok_or_else(|| {
                    ApiError::bad_request(format!("days must be a whole number from 1 to 366, got {value:?}"))
                })?
            }
            "utcOffset" => {
                offset = value.parse().ok().filter(|o: &i32| (-840..=840).contains(o)).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "utcOffset must be the minutes east of UTC, from -840 to 840, got {value:?}"
                    ))
                })?
            }
            _ => {}
        }
    }
    Ok((days, offset))
}

/// A link with a name.
#[derive(Serialize, ToSchema)]
#[schema(as = NamedLink)]
pub(crate) struct NamedLink {
    /// The URL.
    #[schema(format = "uri")]
    link: String,
    /// The name.
    name: String,
}

/// A measurement in an overview.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = OverviewMeasurement)]
pub(crate) struct OverviewMeasurement {
    /// Its URL.
    #[schema(format = "uri")]
    link: String,
    /// Its name.
    name: String,
    /// Its asset.
    asset: NamedLink,
    /// Its attribute.
    attribute: NamedLink,
    /// Its objective's condition, if it has one.
    objective: Option<String>,
    /// Whether it has a result.
    has_result: bool,
    /// Where it stands now.
    #[schema(value_type = StandingName)]
    status: Standing,
    /// One cell per day, the oldest first, today last.
    #[schema(value_type = Vec<Object>)]
    cells: Vec<DayCell>,
    /// The share of the time its objective was met (of the time it was evaluated on a
    /// result) over the last 24 h, 7 d, 30 d and 90 d; `null` when it never was.
    #[schema(value_type = Object)]
    uptime: BTreeMap<&'static str, Option<f64>>,
}

/// The overview of a service view.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Overview)]
pub(crate) struct OverviewJson {
    /// The overview's URL, with the query string of the request.
    #[serde(rename = "self")]
    #[schema(format = "uri")]
    self_link: String,
    /// The service view's URL.
    #[schema(format = "uri")]
    service_view: String,
    /// Its name.
    name: String,
    /// The number of days of the cells.
    days: u32,
    /// The time zone of the days, in minutes east of UTC.
    utc_offset: i32,
    /// When it was computed.
    #[schema(format = DateTime)]
    time: String,
    /// How many of its measurements stand where (`met`, `notMet`, `error`, `noResult`,
    /// `noObjective`).
    #[schema(value_type = Object)]
    counts: BTreeMap<&'static str, u64>,
    /// Its measurements the caller may read, in the tree's order.
    measurements: Vec<OverviewMeasurement>,
}

/// `GET /serviceViews/{id}?x=overview[&days][&utcOffset]`, on a view the caller may read.
pub(crate) async fn overview(ctx: &Ctx, view: &View, (days, utc_offset_minutes): (u32, i32)) -> ApiResult<Response> {
    let now = Timestamp::now();
    let calendar = Calendar { days, utc_offset_minutes, now };
    let store = &ctx.state.store;
    let mut found: Vec<(Measurement, NamedLink, NamedLink)> = Vec::new();
    // The listings carry each member's name and tags: only measurements are read whole.
    for asset in store.assets(&view.id).await? {
        if !ctx.caller.can_see(&asset.access_tags) {
            continue;
        }
        for attribute in store.attributes(&asset.id).await? {
            if !ctx.caller.can_see(&attribute.access_tags) {
                continue;
            }
            for member in store.measurements(&attribute.id).await? {
                if !ctx.caller.can_see(&member.access_tags) {
                    continue;
                }
                let measurement = store.measurement(&member.id).await?;
                let asset_link = NamedLink { link: ctx.link(Kind::Asset, &asset.id), name: asset.name.clone() };
                let attribute_link =
                    NamedLink { link: ctx.link(Kind::Attribute, &attribute.id), name: attribute.name.clone() };
                found.push((measurement, asset_link, attribute_link));
            }
        }
    }
    let longest = SHARE_WINDOWS.iter().map(|(_, w)| *w).max().unwrap_or(0);
    let since = calendar.start().min(now.millis() - longest);
    let since = Timestamp::from_millis(since).unwrap_or(now);
    let ids: Vec<ResourceId> = found.iter().map(|(m, ..)| m.id.clone()).collect();
    let timelines = store.status_timelines(&ids, since).await?;
    let mut counts: BTreeMap<&'static str, u64> = Standing::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    let measurements = found
        .into_iter()
        .zip(timelines)
        .map(|((measurement, asset, attribute), timeline)| {
            let status = ctp_store::rules::standing(measurement.objective.as_ref(), measurement.result.is_some());
            *counts.entry(status.as_str()).or_default() += 1;
            let uptime = SHARE_WINDOWS
                .iter()
                .map(|(name, width)| (*name, met_share(&timeline, now.millis() - width, now.millis())))
                .collect();
            OverviewMeasurement {
                link: ctx.link(Kind::Measurement, &measurement.id),
                name: measurement.header.name.clone(),
                asset,
                attribute,
                objective: measurement.objective.as_ref().map(|o| o.condition.clone()),
                has_result: measurement.result.is_some(),
                status,
                cells: calendar.cells(&timeline),
                uptime,
            }
        })
        .collect();
    Ok(ok(&OverviewJson {
        self_link: ctx.self_link(&format!("serviceViews/{}", view.id)),
        service_view: ctx.link(Kind::ServiceView, &view.id),
        name: view.header.name.clone(),
        days,
        utc_offset: utc_offset_minutes,
        time: now.to_string(),
        counts,
        measurements,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overview_query_is_checked() {
        assert_eq!(overview_query(None).unwrap(), (90, 0));
        assert_eq!(overview_query(Some("x=overview&days=30&utcOffset=-300")).unwrap(), (30, -300));
        for bad in ["days=0", "days=367", "days=ten", "utcOffset=900", "utcOffset=1.5", "utcOffset=-841"] {
            assert!(overview_query(Some(bad)).is_err(), "{bad}");
        }
    }
}
