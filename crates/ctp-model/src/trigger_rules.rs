//! The trigger processing rules of CTP 5.3.2, as a pure function: the store loads a
//! trigger's state, this decides, the store writes the decision in the same transaction
//! as the result that caused it.

use ctpscript::Outcome;

use crate::status::Status;
use crate::time::Timestamp;

/// What the rules need to know about a trigger.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TriggerState {
    /// The status of the last evaluation.
    pub status: Status,
    /// When the status was last updated.
    pub status_update_time: Timestamp,
    /// Seconds that must elapse between two alerts of the trigger.
    pub guard_time: f64,
}

/// The log entry an alert writes (4.2.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alert {
    /// A normal log entry: the condition became (or stayed, past the guard time) true.
    Normal,
    /// An error log entry, with the message of the failed evaluation.
    Error(String),
}

/// The decision for one trigger on one new result.
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerStep {
    /// The trigger's new status and its time, when the condition was evaluated.
    pub new_status: Option<(Status, Timestamp)>,
    /// The log entry to write and notify, if any.
    pub alert: Option<Alert>,
}

impl TriggerStep {
    /// Nothing happens: the condition is not even evaluated.
    pub const NOTHING: TriggerStep = TriggerStep { new_status: None, alert: None };
}

/// Applies 5.3.2 to a trigger on a new result at `now`; `evaluate` runs the condition and
/// is only called when the rules say so.
///
/// - `"true"`: evaluated only once more than `guard_time` seconds have passed since the
///   status was last updated; then like `"false"`.
/// - `"false"`: evaluated; `"true"` writes a normal log entry, `"error"` an error entry.
/// - `"error"`: nothing, ever: the trigger must be replaced (so an error is logged once).
pub fn process(state: TriggerState, now: Timestamp, evaluate: impl FnOnce() -> Outcome) -> TriggerStep {
    match state.status {
        Status::Error => TriggerStep::NOTHING,
        Status::True if now.seconds_since(state.status_update_time) <= state.guard_time => TriggerStep::NOTHING,
        Status::True | Status::False => {
            let outcome = evaluate();
            let status = Status::of(&outcome);
            let alert = match outcome {
                Outcome::True => Some(Alert::Normal),
                Outcome::False => None,
                Outcome::Error(message) => Some(Alert::Error(message)),
            };
            TriggerStep { new_status: Some((status, now)), alert }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_millis(seconds * 1000).unwrap()
    }

    fn state(status: Status, since: i64, guard_time: f64) -> TriggerState {
        TriggerState { status, status_update_time: at(since), guard_time }
    }

    #[test]
    fn false_evaluates_and_alerts_on_true() {
        let step = process(state(Status::False, 0, 60.0), at(1), || Outcome::True);
        assert_eq!(step, TriggerStep { new_status: Some((Status::True, at(1))), alert: Some(Alert::Normal) });
        let step = process(state(Status::False, 0, 60.0), at(1), || Outcome::False);
        assert_eq!(step, TriggerStep { new_status: Some((Status::False, at(1))), alert: None });
    }

    #[test]
    fn true_waits_for_the_guard_time() {
        let never = || -> Outcome { panic!("must not be evaluated within the guard time") };
        assert_eq!(process(state(Status::True, 100, 60.0), at(130), never), TriggerStep::NOTHING);
        assert_eq!(process(state(Status::True, 100, 60.0), at(160), never), TriggerStep::NOTHING, "strictly more");
        let step = process(state(Status::True, 100, 60.0), at(161), || Outcome::True);
        assert_eq!(step, TriggerStep { new_status: Some((Status::True, at(161))), alert: Some(Alert::Normal) });
        let step = process(state(Status::True, 100, 60.0), at(161), || Outcome::False);
        assert_eq!(step, TriggerStep { new_status: Some((Status::False, at(161))), alert: None });
    }

    #[test]
    fn errors_are_logged_once_and_stick() {
        let step = process(state(Status::False, 0, 0.0), at(1), || Outcome::Error("boom".into()));
        assert_eq!(
            step,
            TriggerStep { new_status: Some((Status::Error, at(1))), alert: Some(Alert::Error("boom".into())) }
        );
        let never = || -> Outcome { panic!("an error trigger is never evaluated again") };
        assert_eq!(process(state(Status::Error, 1, 0.0), at(1000), never), TriggerStep::NOTHING);
    }
}
