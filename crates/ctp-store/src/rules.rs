//! The CTP rules every backend applies alike, as pure functions: a backend decides how to
//! store, never what CTP means. Each is written once and unit-tested here.

use ctp_model::history::Standing;
use ctp_model::resources::{ChangeId, Evaluated, Kind, LogBody, LogEntry, Measurement, MeasurementState, Trigger};
use ctp_model::trigger_rules::Alert;
use ctp_model::{tags, CheckedResult, Evaluate, ResourceId, Status, Timestamp};

use crate::error::{StoreError, StoreResult};
use crate::inputs::{HistoryEntry, NewMeasurement};

/// The status of an objective on a result (or `false` without one).
pub fn objective_status(
    condition: &str,
    result: Option<&serde_json::Value>,
    now: Timestamp,
    conditions: &dyn Evaluate,
) -> Status {
    match result {
        Some(value) => Status::of(&conditions.evaluate(condition, value, now.seconds())),
        None => Status::False,
    }
}

/// An objective `condition` evaluated on `result` at `now`, with `now` as its status time.
pub fn evaluate_objective(
    condition: &str,
    result: Option<&serde_json::Value>,
    now: Timestamp,
    conditions: &dyn Evaluate,
) -> Evaluated {
    Evaluated {
        condition: condition.to_owned(),
        status: objective_status(condition, result, now, conditions),
        status_update_time: now,
    }
}

/// A measurement after `result` is pushed to it at `now` with the change identifier
/// `change`: the result as pushed, the state `activated` (a pending measurement becomes
/// active with its first result), the objective evaluated on the result.
pub fn after_push(
    measurement: Measurement,
    result: &CheckedResult,
    now: Timestamp,
    change: ChangeId,
    conditions: &dyn Evaluate,
) -> Measurement {
    let objective =
        measurement.objective.as_ref().map(|o| evaluate_objective(&o.condition, Some(&result.value), now, conditions));
    Measurement {
        result: Some(result.raw.clone()),
        verification: result.verification.clone(),
        state: MeasurementState::Activated,
        objective,
        change_id: change,
        ..measurement
    }
}

/// The objective of a new measurement, evaluated on its first result (`false` without
/// one), with `now` as its status time.
pub fn first_objective(measurement: &NewMeasurement, now: Timestamp, conditions: &dyn Evaluate) -> Option<Evaluated> {
    let result = measurement.result.as_ref().map(|r| &r.value);
    measurement.objective.as_deref().map(|condition| evaluate_objective(condition, result, now, conditions))
}

/// Where a measurement stands with this objective, with or without a result.
pub fn standing(objective: Option<&Evaluated>, has_result: bool) -> Standing {
    Standing::of(objective.map(|o| o.status), has_result)
}

/// The history entry (issue 15) a write at `now` makes for a measurement that stood at
/// `before` (`None`: it is new) and now has `objective`, with or without a result:
/// every pushed result (`pushed`) is an entry; without one, only a change of standing is.
pub fn history_entry(
    before: Option<Standing>,
    objective: Option<&Evaluated>,
    has_result: bool,
    pushed: Option<&str>,
    now: Timestamp,
) -> Option<HistoryEntry> {
    let standing = standing(objective, has_result);
    let status_changed = before != Some(standing);
    (pushed.is_some() || status_changed).then(|| HistoryEntry {
        time: now,
        result: pushed.map(str::to_owned),
        objective_status: objective.map(|o| o.status),
        standing,
        status_changed,
    })
}

/// Decodes a stored result.
pub fn decode_result(raw: &str) -> StoreResult<serde_json::Value> {
    serde_json::from_str(raw).map_err(|e| StoreError::backend("reading a stored result (not JSON)", e))
}

/// The log entry a trigger's alert writes (4.2.8): the result and the trigger's tags, or
/// the error and the tag `error`.
pub fn log_entry(trigger: &Trigger, alert: Alert, result: &str, now: Timestamp) -> LogEntry {
    match alert {
        Alert::Normal => entry_of(trigger, LogBody::Result(result.to_owned()), trigger.tags.clone(), now),
        Alert::Error(message) => entry_of(trigger, LogBody::Error(message), vec!["error".to_owned()], now),
    }
}

fn entry_of(trigger: &Trigger, body: LogBody, tags: Vec<String>, now: Timestamp) -> LogEntry {
    LogEntry {
        id: ResourceId::generate(),
        view_id: trigger.view_id.clone(),
        trigger_id: trigger.id.clone(),
        creation_time: now,
        body,
        tags,
        access_tags: trigger.access_tags.clone(),
    }
}

/// Applies a change to an authority (read in the change's transaction) at `now`.
pub fn change_authority(
    authority: &mut ctp_model::resources::Authority,
    change: &crate::inputs::AuthorityChange,
    now: Timestamp,
) -> StoreResult<()> {
    use crate::inputs::AuthorityChange;
    match change {
        AuthorityChange::AddKey(key) => {
            if authority.keys.iter().any(|k| k.kid == key.kid) {
                return Err(StoreError::Conflict(format!(
                    "authority {} already has a key {:?}: key ids are never reused",
                    authority.id, key.kid
                )));
            }
            authority.keys.push(key.clone());
        }
        AuthorityChange::RetireKey { kid } => {
            let key = authority
                .keys
                .iter_mut()
                .find(|k| &k.kid == kid)
                .ok_or_else(|| StoreError::Invalid(format!("authority {} has no key {kid:?}", authority.id)))?;
            key.not_after = Some(key.not_after.map_or(now.millis(), |end| end.min(now.millis())));
        }
        AuthorityChange::Retire => {
            authority.retired.get_or_insert(now);
        }
    }
    Ok(())
}

/// The tag of every log entry a drill writes, and of nothing else.
pub const DRILL_TAG: &str = "drill";

/// The log entry of a drill's message to a trigger (issue 13): a normal log entry (4.2.8)
/// whose result is the drill's notice, tagged [`DRILL_TAG`] only (not with the trigger's
/// tags, so that nothing that filters real alerts by tag counts it).
pub fn drill_log_entry(trigger: &Trigger, result: &str, now: Timestamp) -> LogEntry {
    entry_of(trigger, LogBody::Result(result.to_owned()), vec![DRILL_TAG.to_owned()], now)
}

/// The decision of 5.3.2 for one trigger on a new result (the condition is evaluated
/// only when the rules say so).
pub fn trigger_step(
    trigger: &Trigger,
    result: &serde_json::Value,
    now: Timestamp,
    conditions: &dyn Evaluate,
) -> ctp_model::TriggerStep {
    let state = ctp_model::TriggerState {
        status: trigger.evaluated.status,
        status_update_time: trigger.evaluated.status_update_time,
        guard_time: trigger.guard_time,
    };
    ctp_model::trigger_rules::process(state, now, || {
        conditions.evaluate(&trigger.evaluated.condition, result, now.seconds())
    })
}

/// A decision of 5.3.2 for one trigger: [`trigger_step`] for a new result, [`clock_step`]
/// for a re-evaluation by the clock.
pub type StepRule = fn(&Trigger, &serde_json::Value, Timestamp, &dyn Evaluate) -> ctp_model::TriggerStep;

/// The decision of 5.3.2 for one trigger re-evaluated by the clock (issue 13): the same as
/// [`trigger_step`], but a status the evaluation leaves as it was is not rewritten (its
/// `statusUpdateTime` stays the time of the last change or push), so that a tick over
/// thousands of quiet conditions writes nothing.
pub fn clock_step(
    trigger: &Trigger,
    result: &serde_json::Value,
    now: Timestamp,
    conditions: &dyn Evaluate,
) -> ctp_model::TriggerStep {
    let mut step = trigger_step(trigger, result, now, conditions);
    if step.alert.is_none() && step.new_status.is_some_and(|(status, _)| status == trigger.evaluated.status) {
        step.new_status = None;
    }
    step
}

/// Of a measurement's triggers, those a clock round re-evaluates (`clocked`: their conditions
/// read the clock), and the first whose status the round changes (the caller renews its
/// service view's changeId once).
pub fn clock_triggers(
    triggers: Vec<Trigger>,
    clocked: &[ResourceId],
    result: &serde_json::Value,
    now: Timestamp,
    conditions: &dyn Evaluate,
) -> (Vec<Trigger>, Option<ResourceId>) {
    let due: Vec<Trigger> = triggers.into_iter().filter(|t| clocked.contains(&t.id)).collect();
    let changed =
        due.iter().find(|t| clock_step(t, result, now, conditions).new_status.is_some()).map(|t| t.id.clone());
    (due, changed)
}

/// The objective of `measurement` re-evaluated by the clock at `now`: `Some` with the new
/// status (and `now` as its time) only when the status changes; `None` without an objective,
/// without a result, or when nothing changes.
pub fn clock_objective(
    measurement: &Measurement,
    now: Timestamp,
    conditions: &dyn Evaluate,
) -> StoreResult<Option<Evaluated>> {
    let (Some(objective), Some(raw)) = (&measurement.objective, &measurement.result) else { return Ok(None) };
    let result = decode_result(raw)?;
    let evaluated = evaluate_objective(&objective.condition, Some(&result), now, conditions);
    Ok((evaluated.status != objective.status).then_some(evaluated))
}

/// The user-activation state machine (5.2.11): the new state of a measurement in
/// `current` asked to be `requested`, and whether its result is cleared.
pub fn state_transition(current: MeasurementState, requested: MeasurementState) -> (MeasurementState, bool) {
    match (current, requested) {
        (MeasurementState::Deactivated, MeasurementState::Activated) => (MeasurementState::Pending, false),
        (_, MeasurementState::Deactivated) => (MeasurementState::Deactivated, true),
        (current, _) => (current, false),
    }
}

/// The resource whose change identifier a change below it renews (4.1.5: "a change in a
/// sub-resource updates the changeId of its parent"): a measurement's attribute, an
/// attribute's asset, an asset's or a trigger's service view, a dependency's parent (a
/// service view or another dependency). Service views, metrics, accounts, log entries and
/// deliveries have no parent whose changeId they renew.
///
/// A write (a creation, a change, a deletion) renews the changeId of every ancestor, up
/// to the service view and through the parents of dependencies; a created or changed
/// resource gets the new changeId itself, in the statement that writes it. The backends'
/// walks (`changes::renew_ancestors`) follow this one level at a time.
pub fn parent_kind(kind: Kind) -> Option<Kind> {
    match kind {
        Kind::Measurement => Some(Kind::Attribute),
        Kind::Attribute => Some(Kind::Asset),
        Kind::Asset | Kind::Trigger | Kind::Dependency => Some(Kind::ServiceView),
        Kind::ServiceView | Kind::Metric | Kind::Account | Kind::Log | Kind::Delivery => None,
    }
}

/// Whether resources of `kind` carry a change identifier (log entries and deliveries do
/// not: they never change).
pub fn has_change_id(kind: Kind) -> bool {
    !matches!(kind, Kind::Log | Kind::Delivery)
}

/// The access tags of a new resource of `kind` (3.3): those the creation body gives, or
/// else those of its parent (`inherited`; nothing for a service view); a metric without
/// tags is readable by every user (`role:user`).
pub fn initial_access_tags(kind: Kind, given: Option<&[String]>, inherited: &[String]) -> Vec<String> {
    match (given, kind) {
        (Some(given), _) => given.to_vec(),
        (None, Kind::Metric) => vec![tags::ROLE_USER.to_owned()],
        (None, _) => inherited.to_vec(),
    }
}

/// The access tags of a new trigger: those of its measurement that its owner holds, so
/// that it is never readable by another customer.
pub fn trigger_access_tags(measurement_tags: &[String], owner_tags: &[String]) -> Vec<String> {
    tags::held_tags(measurement_tags, owner_tags)
}

/// The new access tags of a row below a resource whose tags become `new`: a row of the
/// provider's (an asset, attribute, measurement, dependency) takes them, as it would
/// have inherited them at creation; a row `private` to a customer (a trigger, its log
/// entries and deliveries) keeps those of its tags that are in `new`, so that it is never
/// opened to another customer. `None` when nothing changes.
pub fn cascade_tags(new: &[String], row_tags: &[String], private: bool) -> Option<Vec<String>> {
    let tags: Vec<String> =
        if private { row_tags.iter().filter(|t| new.contains(t)).cloned().collect() } else { new.to_vec() };
    (tags != row_tags).then_some(tags)
}

/// Whether rows of `kind` belong to one customer (a trigger, its log entries and
/// deliveries): tags added above them are not added to them ([`cascade_tags`]).
pub fn private_to_a_customer(kind: Kind) -> bool {
    matches!(kind, Kind::Trigger | Kind::Log | Kind::Delivery)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctp_model::resources::{Evaluated, Header};
    use ctp_model::{CheckedResult, Outcome};

    /// Evaluates every condition as a constant: "true", "false", anything else an error.
    struct Constant;

    impl Evaluate for Constant {
        fn evaluate(&self, condition: &str, _: &serde_json::Value, _: f64) -> Outcome {
            match condition {
                "true" => Outcome::True,
                "false" => Outcome::False,
                other => Outcome::Error(format!("cannot evaluate {other}")),
            }
        }
    }

    fn now() -> Timestamp {
        Timestamp::from_millis(1_700_000_000_000).unwrap()
    }

    fn trigger(status: Status, tags: &[&str]) -> Trigger {
        Trigger {
            id: ResourceId::generate(),
            view_id: ResourceId::generate(),
            measurement_id: ResourceId::generate(),
            header: Header::default(),
            evaluated: Evaluated {
                condition: "true".into(),
                status,
                status_update_time: Timestamp::from_millis(0).unwrap(),
            },
            notification: String::new(),
            guard_time: 0.0,
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            change_id: 1,
            access_tags: vec!["customer:a".into()],
            owner_id: None,
        }
    }

    #[test]
    fn an_objective_is_false_without_a_result_and_an_error_when_it_cannot_be_evaluated() {
        let result = serde_json::json!([]);
        assert_eq!(objective_status("true", Some(&result), now(), &Constant), Status::True);
        assert_eq!(objective_status("false", Some(&result), now(), &Constant), Status::False);
        assert_eq!(objective_status("broken", Some(&result), now(), &Constant), Status::Error);
        assert_eq!(objective_status("true", None, now(), &Constant), Status::False);
    }

    #[test]
    fn a_first_objective_is_evaluated_on_the_first_result_at_creation_time() {
        let mut new = NewMeasurement {
            header: Header::default(),
            metric_id: ResourceId::generate(),
            objective: Some("true".into()),
            result: None,
            triggers_allowed: true,
            user_activated: false,
            state: MeasurementState::Pending,
            access_tags: None,
            signed_results_required: false,
        };
        let first = first_objective(&new, now(), &Constant).unwrap();
        assert_eq!((first.status, first.status_update_time), (Status::False, now()), "no result: false");
        new.result = Some(CheckedResult { raw: "[]".into(), value: serde_json::json!([]), verification: None });
        assert_eq!(first_objective(&new, now(), &Constant).unwrap().status, Status::True);
        new.objective = None;
        assert!(first_objective(&new, now(), &Constant).is_none());
    }

    #[test]
    fn a_push_activates_the_measurement_and_evaluates_its_objective_on_the_result() {
        let pending = Measurement {
            id: ResourceId::generate(),
            attribute_id: ResourceId::generate(),
            view_id: ResourceId::generate(),
            metric_id: ResourceId::generate(),
            header: Header::default(),
            result: None,
            objective: Some(Evaluated {
                condition: "true".into(),
                status: Status::False,
                status_update_time: Timestamp::from_millis(0).unwrap(),
            }),
            triggers_allowed: true,
            user_activated: false,
            state: MeasurementState::Pending,
            change_id: 3,
            access_tags: vec!["customer:a".into()],
            verification: None,
            signed_results_required: false,
        };
        let result = CheckedResult { raw: "[ 1 ]".into(), value: serde_json::json!([1]), verification: None };
        let pushed = after_push(pending.clone(), &result, now(), 9, &Constant);
        assert_eq!(pushed.result.as_deref(), Some("[ 1 ]"), "the result as pushed, byte for byte");
        assert_eq!((pushed.state, pushed.change_id), (MeasurementState::Activated, 9));
        let objective = pushed.objective.unwrap();
        assert_eq!((objective.status, objective.status_update_time), (Status::True, now()));
        assert_eq!((&pushed.id, &pushed.access_tags), (&pending.id, &pending.access_tags));
        let without = Measurement { objective: None, ..pending };
        assert!(after_push(without, &result, now(), 9, &Constant).objective.is_none());
    }

    #[test]
    fn a_log_entry_carries_the_result_and_trigger_tags_or_the_error_and_the_error_tag() {
        let trigger = trigger(Status::False, &["ops", "night"]);
        let normal = log_entry(&trigger, Alert::Normal, "[1]", now());
        assert_eq!(normal.body, LogBody::Result("[1]".into()));
        assert_eq!(normal.tags, ["ops", "night"]);
        assert_eq!((&normal.trigger_id, &normal.view_id), (&trigger.id, &trigger.view_id));
        assert_eq!(normal.access_tags, trigger.access_tags);
        assert_eq!(normal.creation_time, now());
        let error = log_entry(&trigger, Alert::Error("division by zero".into()), "[1]", now());
        assert_eq!(error.body, LogBody::Error("division by zero".into()));
        assert_eq!(error.tags, ["error"]);
        assert_ne!(normal.id, error.id, "each entry has its own id");
    }

    #[test]
    fn a_trigger_fires_once_when_its_condition_becomes_true() {
        let result = serde_json::json!([]);
        let step = trigger_step(&trigger(Status::False, &[]), &result, now(), &Constant);
        assert_eq!(step.new_status, Some((Status::True, now())));
        assert!(matches!(step.alert, Some(Alert::Normal)));
        let within_guard_time = Trigger { guard_time: 1e10, ..trigger(Status::True, &[]) };
        let step = trigger_step(&within_guard_time, &result, now(), &Constant);
        assert_eq!(step, ctp_model::TriggerStep::NOTHING, "true within its guard time: not even evaluated");
    }

    #[test]
    fn the_user_activation_state_machine_of_5_2_11() {
        use MeasurementState::{Activated, Deactivated, Pending};
        assert_eq!(state_transition(Deactivated, Activated), (Pending, false));
        assert_eq!(state_transition(Activated, Deactivated), (Deactivated, true));
        assert_eq!(state_transition(Pending, Deactivated), (Deactivated, true));
        assert_eq!(state_transition(Deactivated, Deactivated), (Deactivated, true));
        assert_eq!(state_transition(Activated, Activated), (Activated, false));
        assert_eq!(state_transition(Pending, Activated), (Pending, false));
        assert_eq!(state_transition(Activated, Pending), (Activated, false));
    }

    #[test]
    fn a_write_renews_the_changeids_of_the_ancestors_up_to_the_service_view() {
        use Kind::*;
        let ancestors = |kind| std::iter::successors(parent_kind(kind), |k| parent_kind(*k)).collect::<Vec<_>>();
        assert_eq!(ancestors(Measurement), [Attribute, Asset, ServiceView]);
        assert_eq!(ancestors(Attribute), [Asset, ServiceView]);
        assert_eq!(ancestors(Asset), [ServiceView]);
        assert_eq!(ancestors(Trigger), [ServiceView]);
        assert_eq!(ancestors(Dependency), [ServiceView]);
        for kind in [ServiceView, Metric, Account, Log, Delivery] {
            assert_eq!(ancestors(kind), Vec::<Kind>::new(), "{kind:?}");
        }
        assert!(!has_change_id(Log) && !has_change_id(Delivery), "log entries and jobs never change");
        assert!(has_change_id(Metric) && has_change_id(Account));
    }

    #[test]
    fn new_resources_inherit_their_parents_tags_unless_given_and_metrics_are_public() {
        let parent = vec!["customer:a".to_owned()];
        let given = vec!["customer:b".to_owned()];
        assert_eq!(initial_access_tags(Kind::Asset, None, &parent), parent);
        assert_eq!(initial_access_tags(Kind::Measurement, Some(&given), &parent), given);
        assert_eq!(initial_access_tags(Kind::ServiceView, None, &[]), Vec::<String>::new());
        assert_eq!(initial_access_tags(Kind::Metric, None, &[]), [tags::ROLE_USER]);
        assert_eq!(initial_access_tags(Kind::Metric, Some(&[]), &[]), Vec::<String>::new());
        let owner = vec!["customer:a".to_owned(), "role:user".to_owned()];
        let measurement = vec!["customer:a".to_owned(), "customer:b".to_owned()];
        assert_eq!(trigger_access_tags(&measurement, &owner), ["customer:a"]);
    }

    #[test]
    fn a_cascade_opens_provider_rows_but_only_narrows_a_customers_rows() {
        let row = vec!["customer:a".to_owned(), "customer:b".to_owned()];
        let new = vec!["customer:a".to_owned(), "customer:c".to_owned()];
        assert_eq!(cascade_tags(&new, &row, false), Some(new.clone()));
        assert_eq!(cascade_tags(&new, &row, true), Some(vec!["customer:a".to_owned()]));
        assert_eq!(cascade_tags(&row, &row, true), None, "nothing changes");
        assert!(private_to_a_customer(Kind::Trigger) && private_to_a_customer(Kind::Log));
        assert!(!private_to_a_customer(Kind::Measurement));
    }

    #[test]
    fn every_push_is_history_but_otherwise_only_a_change_of_standing() {
        let now = Timestamp::from_millis(1_000).unwrap();
        let met = Evaluated { condition: "x".into(), status: Status::True, status_update_time: now };
        let entry = history_entry(Some(Standing::Met), Some(&met), true, Some("{}"), now).unwrap();
        assert!(!entry.status_changed, "the same standing");
        assert_eq!(entry.result.as_deref(), Some("{}"));
        assert_eq!(history_entry(Some(Standing::Met), Some(&met), true, None, now), None);
        let entry = history_entry(Some(Standing::NotMet), Some(&met), true, None, now).unwrap();
        assert!(entry.status_changed && entry.result.is_none());
        assert_eq!((entry.standing, entry.objective_status), (Standing::Met, Some(Status::True)));
        let first = history_entry(None, None, false, None, now).unwrap();
        assert_eq!(first.standing, Standing::NoObjective, "a new measurement starts its history");
        assert_eq!(history_entry(Some(Standing::NoResult), Some(&met), false, None, now), None);
    }
}
