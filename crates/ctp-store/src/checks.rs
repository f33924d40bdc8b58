//! The checks a backend makes inside its transactions, on what it has just read: each
//! turns a state of the store into the error the caller gets (400, 404 or 409).

use ctp_model::resources::{Account, Delivery, DeliveryState, DrillMessage, Measurement, MeasurementState};
use ctp_model::ResourceId;

use crate::error::{StoreError, StoreResult};
use crate::inputs::NewAccount;

/// The measurement a new trigger of `view_id` watches (`found`, looked up by `wanted`)
/// must exist, be in that service view and allow triggers.
pub fn trigger_measurement(
    found: StoreResult<Measurement>,
    wanted: &ResourceId,
    view_id: &ResourceId,
) -> StoreResult<Measurement> {
    let measurement =
        found.map_err(|_| StoreError::Invalid(format!("no measurement with id {wanted} in this service view")))?;
    if &measurement.view_id != view_id {
        return Err(StoreError::Invalid(format!(
            "measurement {} is not part of service view {view_id}",
            measurement.id
        )));
    }
    if !measurement.triggers_allowed {
        return Err(StoreError::Invalid(format!(
            "measurement {} does not allow triggers (its createTrigger is null)",
            measurement.id
        )));
    }
    Ok(measurement)
}

/// The metric a new measurement implements (`found`, looked up by `wanted`) must exist.
pub fn measurement_metric<T>(found: StoreResult<T>, wanted: &ResourceId) -> StoreResult<T> {
    found.map_err(|_| StoreError::Invalid(format!("no metric with id {wanted} (create the metric first)")))
}

/// A deactivated measurement takes no result (5.2.11).
pub fn accepts_results(measurement: &Measurement) -> StoreResult<()> {
    if measurement.state == MeasurementState::Deactivated {
        return Err(StoreError::Conflict(format!(
            "measurement {} is deactivated: it takes no result until it is activated",
            measurement.id
        )));
    }
    Ok(())
}

/// Only a user-activated measurement changes state through the API.
pub fn user_activated(measurement: &Measurement) -> StoreResult<()> {
    if !measurement.user_activated {
        return Err(StoreError::Conflict(format!(
            "measurement {} is not user-activated: its state is managed by the provider",
            measurement.id
        )));
    }
    Ok(())
}

/// A metric used by `users` measurements cannot be deleted.
pub fn metric_unused(metric_id: &ResourceId, users: i64) -> StoreResult<()> {
    if users > 0 {
        return Err(StoreError::Conflict(format!(
            "metric {metric_id} is used by {users} measurement(s); delete them first"
        )));
    }
    Ok(())
}

/// A delivered job has nothing to retry.
pub fn retriable(delivery: &Delivery) -> StoreResult<()> {
    if delivery.state == DeliveryState::Delivered {
        return Err(StoreError::Conflict(format!("delivery {} was delivered; there is nothing to retry", delivery.id)));
    }
    Ok(())
}

/// An import goes only into an empty store: `used` counts its accounts, service views
/// and metrics.
pub fn empty_for_import(used: i64) -> StoreResult<()> {
    if used > 0 {
        return Err(StoreError::Conflict("the store is not empty: import into a new database".into()));
    }
    Ok(())
}

/// A new account's token and id must be free (`token_taken`, `id_taken`: whether an
/// account already has them).
pub fn account_is_new(account: &NewAccount, token_taken: bool, id_taken: bool) -> StoreResult<()> {
    if token_taken {
        return Err(StoreError::Conflict("an account already has this token".into()));
    }
    if id_taken {
        return Err(StoreError::Conflict(format!("an account with id {} exists", account.id)));
    }
    Ok(())
}

/// Whether `ensure_account` must rewrite an existing account.
pub fn account_differs(existing: &Account, wanted: &NewAccount) -> bool {
    existing.header != wanted.header
        || existing.account_tags != wanted.account_tags
        || existing.access_tags != wanted.access_tags
        || existing.token_hash != wanted.token_hash
}

/// A drill must send at least one message: its service view needs a trigger with a
/// notification.
pub fn drill_has_messages(messages: usize, view_id: &ResourceId) -> StoreResult<()> {
    if messages == 0 {
        return Err(StoreError::Invalid(format!(
            "service view {view_id} has no trigger with a notification: a drill would reach no one"
        )));
    }
    Ok(())
}

/// The message of a drill whose acknowledgement token is `token`, compared in constant
/// time with every message's; none is [`StoreError::Missing`] (the same answer as for an
/// unknown drill, so that the link reveals nothing).
pub fn drill_message_by_token<'a>(messages: &'a [DrillMessage], token: &str) -> StoreResult<&'a DrillMessage> {
    use subtle::ConstantTimeEq;
    let mut found = None;
    for message in messages {
        if bool::from(message.token.as_bytes().ct_eq(token.as_bytes())) {
            found = Some(message);
        }
    }
    found.ok_or_else(drill_link_unknown)
}

/// The error of an acknowledgement link that matches no drill message.
pub fn drill_link_unknown() -> StoreError {
    StoreError::Missing("no drill message with this acknowledgement link".into())
}
