//! `GET {base}measurements/{id}?x=check&condition=...` (an extension, issue 15): checks a
//! condition as the server would at trigger or objective creation, and evaluates it on the
//! measurement's current result, without storing anything. The dashboard calls it as the
//! user types, so a syntax error is an answer (200, `valid: false`, with its line and
//! column), not a failed request.

use axum::response::Response;
use ctp_model::resources::Measurement;
use ctp_model::{Status, Timestamp};
use ctpscript::{Bindings, Condition, Outcome};
use serde::Serialize;
use utoipa::ToSchema;

use super::ok;
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::openapi::schema::StatusName;

/// The verdict on a condition.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConditionCheck {
    /// The condition, as received.
    pub condition: String,
    /// Whether it compiles (a trigger or an objective with it would be accepted).
    pub valid: bool,
    /// Its outcome on the measurement's current result now; null when invalid or when the
    /// measurement has no result.
    #[schema(value_type = Option<StatusName>)]
    pub outcome: Option<Status>,
    /// Why the outcome is `error`, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// What is wrong, when invalid (without the position).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The line of the error, from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// The column of the error, in characters from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
}

/// Answers `?x=check` on a measurement the caller may read.
pub(crate) async fn check(ctx: &Ctx, measurement: &Measurement) -> ApiResult<Response> {
    let condition = form_urlencoded::parse(ctx.query.as_deref().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "condition")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| ApiError::bad_request("x=check needs the condition to check: ?x=check&condition=..."))?;
    let result = measurement.result.as_deref().map(serde_json::from_str::<serde_json::Value>).transpose();
    let result = result.map_err(|e| ApiError::internal(format!("reading the stored result: {e}")))?;
    let verdict = tokio::task::spawn_blocking(move || verdict(condition, result.as_ref(), Timestamp::now()))
        .await
        .map_err(|e| ApiError::internal(format!("checking a condition failed: {e}")))?;
    Ok(ok(&verdict))
}

/// Compiles `condition` (not through the shared cache: what a user types while editing
/// must not evict the conditions of live triggers) and evaluates it on `result` at `now`.
fn verdict(condition: String, result: Option<&serde_json::Value>, now: Timestamp) -> ConditionCheck {
    let mut answer =
        ConditionCheck { condition, valid: false, outcome: None, message: None, error: None, line: None, column: None };
    match Condition::compile(&answer.condition) {
        Err(e) => {
            answer.error = Some(e.message.clone());
            answer.line = Some(e.position.line);
            answer.column = Some(e.position.column);
        }
        Ok(compiled) => {
            answer.valid = true;
            if let Some(result) = result {
                let outcome = compiled.evaluate(&Bindings::from_result(result).at(now.seconds()));
                if let Outcome::Error(message) = &outcome {
                    answer.message = Some(message.clone());
                }
                answer.outcome = Some(Status::of(&outcome));
            }
        }
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_syntax_error_says_where() {
        let v = verdict("value.length >\n  (1 +".into(), None, Timestamp::now());
        assert!(!v.valid);
        assert_eq!((v.line, v.column), (Some(2), Some(7)));
        assert!(v.error.is_some() && v.outcome.is_none());
    }

    #[test]
    fn a_valid_condition_is_evaluated_on_the_result() {
        let result = serde_json::json!({"value": [{"level": 12}]});
        let v = verdict("value[0].level >= 10".into(), Some(&result), Timestamp::now());
        assert!(v.valid && v.error.is_none());
        assert_eq!(v.outcome, Some(Status::True));
        let v = verdict("nosuch(1)".into(), Some(&result), Timestamp::now());
        assert_eq!(v.outcome, Some(Status::Error));
        assert!(v.message.is_some());
        let v = verdict("value[0].level >= 10".into(), None, Timestamp::now());
        assert!(v.valid && v.outcome.is_none());
    }
}
