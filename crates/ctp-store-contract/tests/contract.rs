//! The store interface (`ctp_store::Store`) against a real backend (SQLite, or PostgreSQL with
//! `CTPD_TEST_BACKEND=postgres`): the hierarchy, change identifiers, the trigger rules inside
//! a push's transaction, cascades, the outbox, and durability under concurrency.

use std::sync::Arc;

use ctp_model::resources::{Kind, LogBody, MeasurementState, Ref};
use ctp_model::{ResourceId, Status};
use ctp_store::{LogFilter, NewTrigger, NewView, StoreError};
use ctp_store_contract::{at, fixture, level, named};

#[tokio::test]
async fn tags_are_inherited_down_the_hierarchy() {
    let f = fixture(false).await;
    assert_eq!(f.store.asset(&f.asset).await.unwrap().access_tags, vec!["account:c1"]);
    assert_eq!(f.store.attribute(&f.attribute).await.unwrap().access_tags, vec!["account:c1"]);
    assert_eq!(f.store.measurement(&f.measurement).await.unwrap().access_tags, vec!["account:c1"]);
    assert_eq!(f.store.metric(&f.metric).await.unwrap().access_tags, vec!["role:user"]);
}

#[tokio::test]
async fn a_push_changes_the_change_ids_up_to_the_service_view() {
    let f = fixture(false).await;
    let before = (
        f.store.measurement(&f.measurement).await.unwrap().change_id,
        f.store.attribute(&f.attribute).await.unwrap().change_id,
        f.store.asset(&f.asset).await.unwrap().change_id,
        f.store.view(Kind::ServiceView, &f.view).await.unwrap().change_id,
    );
    let metric_before = f.store.metric(&f.metric).await.unwrap().change_id;
    f.push(3, at(1)).await;
    let after = (
        f.store.measurement(&f.measurement).await.unwrap().change_id,
        f.store.attribute(&f.attribute).await.unwrap().change_id,
        f.store.asset(&f.asset).await.unwrap().change_id,
        f.store.view(Kind::ServiceView, &f.view).await.unwrap().change_id,
    );
    assert!(after.0 > before.0 && after.1 > before.1 && after.2 > before.2 && after.3 > before.3);
    assert_eq!(f.store.metric(&f.metric).await.unwrap().change_id, metric_before, "metrics are not in the scope");
}

#[tokio::test]
async fn a_push_activates_a_pending_measurement_and_evaluates_its_objective() {
    let f = fixture(false).await;
    let created = f.store.measurement(&f.measurement).await.unwrap();
    assert_eq!(created.state, MeasurementState::Pending);
    assert_eq!(created.objective.as_ref().unwrap().status, Status::False);
    assert_eq!(created.objective.as_ref().unwrap().status_update_time, at(0));
    f.push(3, at(5)).await;
    let pushed = f.store.measurement(&f.measurement).await.unwrap();
    assert_eq!(pushed.state, MeasurementState::Activated);
    assert_eq!(pushed.objective.as_ref().unwrap().status, Status::True);
    assert_eq!(pushed.objective.as_ref().unwrap().status_update_time, at(5));
    assert!(pushed.result.unwrap().contains(r#""level": 3"#));
    f.push(12, at(6)).await;
    assert_eq!(f.store.measurement(&f.measurement).await.unwrap().objective.unwrap().status, Status::False);
}

#[tokio::test]
async fn triggers_honour_the_guard_time() {
    let f = fixture(false).await;
    let trigger = f.trigger("value[0].level >= 7", 60.0, at(0)).await;
    assert_eq!(f.push(3, at(1)).await, 0);
    assert_eq!(f.push(9, at(2)).await, 1, "false to true: an alert");
    assert_eq!(f.push(9, at(30)).await, 0, "within the guard time: nothing");
    assert_eq!(f.store.trigger(&trigger).await.unwrap().evaluated.status_update_time, at(2), "not even evaluated");
    assert_eq!(f.push(9, at(63)).await, 1, "past the guard time and still true: another alert");
    assert_eq!(f.push(2, at(200)).await, 0);
    assert_eq!(f.store.trigger(&trigger).await.unwrap().evaluated.status, Status::False);
    assert_eq!(f.push(8, at(201)).await, 1, "false to true again: at once");
    assert_eq!(f.log_count().await, 3);
    let (_, entries) = f.store.logs(Some(&f.view), &LogFilter::default(), None).await.unwrap();
    let first = f.store.log_entry(&entries[0].id).await.unwrap();
    assert_eq!(first.creation_time, at(2));
    assert_eq!(first.tags, vec!["severity:high"]);
    assert_eq!(first.access_tags, vec!["account:c1"], "a log entry inherits its trigger's tags");
    assert!(matches!(first.body, LogBody::Result(ref r) if r.contains(r#""level": 9"#)));
}

#[tokio::test]
async fn an_error_is_logged_once_and_sticks() {
    let f = fixture(false).await;
    let trigger = f.trigger("value[0].missing.field > 1", 0.0, at(0)).await;
    assert_eq!(f.push(3, at(1)).await, 1);
    assert_eq!(f.push(4, at(2)).await, 0);
    assert_eq!(f.push(5, at(3)).await, 0);
    let stored = f.store.trigger(&trigger).await.unwrap();
    assert_eq!(stored.evaluated.status, Status::Error);
    assert_eq!(stored.evaluated.status_update_time, at(1));
    let (_, entries) = f.store.logs(Some(&f.view), &LogFilter::default(), None).await.unwrap();
    let entry = f.store.log_entry(&entries[0].id).await.unwrap();
    assert_eq!(entry.tags, vec!["error"]);
    assert!(
        matches!(entry.body, LogBody::Error(ref m) if m.contains("cannot read field `field` of null")),
        "{entry:?}"
    );
}

#[tokio::test]
async fn a_new_trigger_is_evaluated_at_once_on_an_existing_result() {
    let f = fixture(false).await;
    f.push(9, at(1)).await;
    let new = NewTrigger {
        header: named("late"),
        measurement_id: f.measurement.clone(),
        condition: "value[0].level >= 7".into(),
        notification: String::new(),
        guard_time: 0.0,
        tags: vec![],
        owner_id: None,
        owner_tags: vec!["*".into()],
    };
    let (trigger, logs) = f.store.create_trigger(&f.view, new, at(2), f.evaluations()).await.unwrap();
    assert_eq!(trigger.evaluated.status, Status::True);
    assert_eq!(logs.len(), 1);
}

#[tokio::test]
async fn triggers_need_a_measurement_of_the_view_that_allows_them() {
    let f = fixture(false).await;
    let other = f.store.create_view(None, NewView::default()).await.unwrap();
    let new = NewTrigger {
        header: named("elsewhere"),
        measurement_id: f.measurement.clone(),
        condition: "true".into(),
        notification: String::new(),
        guard_time: 0.0,
        tags: vec![],
        owner_id: None,
        owner_tags: vec!["*".into()],
    };
    let err = f.store.create_trigger(&other.id, new, at(1), f.evaluations()).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(ref m) if m.contains("not part of service view")), "{err}");
}

#[tokio::test]
async fn the_user_activation_state_machine() {
    let f = fixture(true).await;
    let push = f.store.push_result(&f.measurement, level(1, at(1)), at(1), f.evaluations()).await;
    assert!(matches!(push, Err(StoreError::Conflict(_))), "a deactivated measurement takes no result");
    let m = f.store.set_state(&f.measurement, MeasurementState::Activated).await.unwrap();
    assert_eq!(m.state, MeasurementState::Pending);
    f.push(1, at(2)).await;
    assert_eq!(f.store.measurement(&f.measurement).await.unwrap().state, MeasurementState::Activated);
    let m = f.store.set_state(&f.measurement, MeasurementState::Deactivated).await.unwrap();
    assert_eq!((m.state, m.result), (MeasurementState::Deactivated, None));

    let provider_managed = fixture(false).await;
    let err = provider_managed.store.set_state(&provider_managed.measurement, MeasurementState::Activated).await;
    assert!(matches!(err, Err(StoreError::Conflict(_))));
}

#[tokio::test]
async fn deleting_a_service_view_takes_everything_in_it() {
    let f = fixture(false).await;
    let trigger = f.trigger("true", 0.0, at(0)).await;
    f.push(1, at(1)).await;
    let dependency = f
        .store
        .create_view(Some(&Ref { kind: Kind::ServiceView, id: f.view.clone() }), NewView::default())
        .await
        .unwrap();
    assert_eq!(dependency.access_tags, vec!["account:c1"]);
    let err = f.store.delete(&Ref { kind: Kind::Metric, id: f.metric.clone() }).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(ref m) if m.contains("used by 1 measurement")), "{err}");

    f.store.delete(&Ref { kind: Kind::ServiceView, id: f.view.clone() }).await.unwrap();
    assert!(matches!(f.store.asset(&f.asset).await, Err(StoreError::NotFound(Kind::Asset, _))));
    assert!(matches!(f.store.attribute(&f.attribute).await, Err(StoreError::NotFound(..))));
    assert!(matches!(f.store.measurement(&f.measurement).await, Err(StoreError::NotFound(..))));
    assert!(matches!(f.store.trigger(&trigger).await, Err(StoreError::NotFound(..))));
    assert!(matches!(f.store.view(Kind::Dependency, &dependency.id).await, Err(StoreError::NotFound(..))));
    assert_eq!(f.store.logs(None, &LogFilter::default(), None).await.unwrap().0, 0);
    f.store.delete(&Ref { kind: Kind::Metric, id: f.metric.clone() }).await.unwrap();
}

#[tokio::test]
async fn log_filters_and_windows() {
    let f = fixture(false).await;
    f.trigger("value[0].level >= 7", 0.0, at(0)).await;
    for (i, value) in [9, 2, 9, 2, 9].iter().enumerate() {
        f.push(*value, at(10 * (i as i64 + 1))).await;
    }
    let all = LogFilter::default();
    assert_eq!(f.store.logs(Some(&f.view), &all, None).await.unwrap().0, 3);
    let since = LogFilter { oldest: Some(at(30)), ..LogFilter::default() };
    assert_eq!(f.store.logs(Some(&f.view), &since, None).await.unwrap().0, 2, "oldest is inclusive");
    let before = LogFilter { newest: Some(at(30)), ..LogFilter::default() };
    assert_eq!(f.store.logs(Some(&f.view), &before, None).await.unwrap().0, 1, "newest is exclusive");
    let tagged = LogFilter { tags: vec!["severity:high".into()], ..LogFilter::default() };
    assert_eq!(f.store.logs(Some(&f.view), &tagged, None).await.unwrap().0, 3);
    let both = LogFilter { tags: vec!["severity:high".into(), "other".into()], ..LogFilter::default() };
    assert_eq!(f.store.logs(Some(&f.view), &both, None).await.unwrap().0, 0, "every tag must match");
    let (total, page) =
        f.store.logs(Some(&f.view), &all, Some(ctp_store::Window { offset: 2, limit: 2 })).await.unwrap();
    assert_eq!((total, page.len()), (3, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_pushes_are_all_durable_and_change_ids_never_repeat() {
    let f = Arc::new(fixture(false).await);
    f.trigger("value[0].level >= 0", 0.0, at(0)).await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let f = Arc::clone(&f);
        tasks.push(tokio::spawn(async move {
            let outcome = f.store.push_result(&f.measurement, level(i, at(i)), at(i), f.evaluations()).await.unwrap();
            (outcome.measurement.change_id, outcome.logs.len() as u64)
        }));
    }
    let mut change_ids = Vec::new();
    let mut acknowledged_logs = 0;
    for task in tasks {
        let (change_id, logs) = task.await.unwrap();
        change_ids.push(change_id);
        acknowledged_logs += logs;
    }
    change_ids.sort();
    change_ids.dedup();
    assert_eq!(change_ids.len(), 200, "every push got its own change identifier");
    // Every log entry a push acknowledged is in the store, and reopening the file finds
    // them all: they were committed.
    assert!(acknowledged_logs >= 1);
    assert_eq!(f.log_count().await, acknowledged_logs);
    let reopened = f.location.open().await;
    assert_eq!(reopened.logs(None, &LogFilter::default(), None).await.unwrap().0, acknowledged_logs);
}

#[tokio::test]
async fn a_deleted_or_replaced_account_stops_authenticating_at_once() {
    let f = fixture(false).await;
    let new = |token_hash: &str| ctp_store::NewAccount {
        id: ResourceId::parse("a1").unwrap(),
        header: named("customer"),
        account_tags: vec!["role:user".into()],
        access_tags: vec!["role:admin".into()],
        token_hash: token_hash.into(),
        webhook_secret: "whsec_test".into(),
    };
    f.store.create_account(new("hash-1")).await.unwrap();
    for _ in 0..2 {
        assert!(f.store.account_by_token_hash("hash-1").await.unwrap().is_some(), "found, then cached");
    }
    f.store.ensure_account(new("hash-2")).await.unwrap();
    assert!(f.store.account_by_token_hash("hash-1").await.unwrap().is_none(), "the replaced token is refused");
    assert!(f.store.account_by_token_hash("hash-2").await.unwrap().is_some());
    let tags = f
        .store
        .set_access_tags(&Ref { kind: Kind::Account, id: ResourceId::parse("a1").unwrap() }, vec![], false)
        .await;
    assert_eq!(tags.unwrap(), Vec::<String>::new());
    assert_eq!(f.store.account_by_token_hash("hash-2").await.unwrap().unwrap().access_tags, Vec::<String>::new());
    f.store.delete(&Ref { kind: Kind::Account, id: ResourceId::parse("a1").unwrap() }).await.unwrap();
    assert!(f.store.account_by_token_hash("hash-2").await.unwrap().is_none(), "the deleted token is refused");
}

/// The outbox: a job per log entry of a trigger with a `notification`, written with the
/// entry; claims lease jobs; outcomes are recorded; a retry starts a fresh series; jobs go
/// with their service view.
#[tokio::test]
async fn the_outbox_follows_its_jobs_from_log_entry_to_outcome() {
    use ctp_model::resources::DeliveryState;
    use ctp_store::DeliveryOutcome;
    let f = fixture(false).await;
    let owner = ResourceId::parse("c1").unwrap();
    let new = NewTrigger {
        header: named("hook"),
        measurement_id: f.measurement.clone(),
        condition: "value[0].level >= 7".into(),
        notification: "https://example.com/hook".into(),
        guard_time: 0.0,
        tags: vec![],
        owner_id: Some(owner.clone()),
        owner_tags: vec!["*".into()],
    };
    f.store.create_trigger(&f.view, new, at(0), f.evaluations()).await.unwrap();
    f.trigger("value[0].level >= 7", 0.0, at(0)).await; // no notification: log only
    let pushed = f.store.push_result(&f.measurement, level(9, at(1)), at(1), f.evaluations()).await.unwrap();
    assert_eq!(pushed.logs.len(), 2);
    let jobs = f.store.deliveries(None).await.unwrap();
    assert_eq!(jobs.len(), 1, "only the trigger with a notification gets a job");
    assert_eq!(jobs[0].state, DeliveryState::Pending);
    assert_eq!(jobs[0].target, "https://example.com/hook");
    assert_eq!(jobs[0].owner_id.as_ref(), Some(&owner));
    assert_eq!(f.store.next_delivery_time().await.unwrap(), Some(at(1)));

    // Not due yet: nothing claimed. Due: claimed once, leased until at(60).
    assert!(f.store.claim_deliveries(at(0), at(60), 10).await.unwrap().is_empty());
    let claimed = f.store.claim_deliveries(at(2), at(60), 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].log.id, jobs[0].log_id);
    assert!(f.store.claim_deliveries(at(3), at(60), 10).await.unwrap().is_empty(), "a leased job is not claimed twice");
    // The claimer died: when its lease ends the job is due again (and a restart of a
    // single-instance store may release it sooner).
    f.store.release_claims(at(4)).await.unwrap();
    let id = f.store.claim_deliveries(at(60), at(61), 10).await.unwrap().remove(0).delivery.id;

    // Deferred without an attempt (the worker had no slot for it): due again at its time,
    // nothing counted.
    f.store.finish_delivery(&id, DeliveryOutcome::Deferred { at: at(7) }, at(5)).await.unwrap();
    let job = f.store.delivery(&id).await.unwrap();
    assert_eq!((job.state, job.attempts, job.next_attempt, job.last_error), (DeliveryState::Pending, 0, at(7), None));
    assert!(f.store.claim_deliveries(at(6), at(60), 10).await.unwrap().is_empty());
    assert_eq!(f.store.claim_deliveries(at(7), at(61), 10).await.unwrap().len(), 1);

    let retry = DeliveryOutcome::Retry { at: at(10), error: "the receiver answered 500".into() };
    f.store.finish_delivery(&id, retry, at(5)).await.unwrap();
    let job = f.store.delivery(&id).await.unwrap();
    assert_eq!((job.state, job.attempts, job.next_attempt), (DeliveryState::Pending, 1, at(10)));
    assert_eq!(job.last_error.as_deref(), Some("the receiver answered 500"));
    f.store.claim_deliveries(at(10), at(60), 10).await.unwrap();
    f.store.finish_delivery(&id, DeliveryOutcome::Failed { error: "still 500".into() }, at(11)).await.unwrap();
    assert_eq!(f.store.deliveries(Some(DeliveryState::Failed)).await.unwrap().len(), 1);
    assert_eq!(f.store.next_delivery_time().await.unwrap(), None);

    let retried = f.store.retry_delivery(&id, at(20)).await.unwrap();
    assert_eq!((retried.state, retried.attempts), (DeliveryState::Pending, 0));
    f.store.claim_deliveries(at(20), at(60), 10).await.unwrap();
    f.store.finish_delivery(&id, DeliveryOutcome::Delivered { handed_over: at(20) }, at(21)).await.unwrap();
    let done = f.store.delivery(&id).await.unwrap();
    assert_eq!((done.state, done.attempts, done.delivery_time), (DeliveryState::Delivered, 1, Some(at(21))));
    assert!(matches!(f.store.retry_delivery(&id, at(22)).await, Err(StoreError::Conflict(_))));
    assert_eq!(f.store.prune_deliveries(at(21)).await.unwrap(), 0);
    assert_eq!(f.store.prune_deliveries(at(22)).await.unwrap(), 1);

    // A new job, then the service view is deleted: its jobs go with it.
    f.store.push_result(&f.measurement, level(9, at(30)), at(30), f.evaluations()).await.unwrap();
    assert_eq!(f.store.deliveries(None).await.unwrap().len(), 1);
    f.store.delete(&Ref { kind: Kind::ServiceView, id: f.view.clone() }).await.unwrap();
    assert!(f.store.deliveries(None).await.unwrap().is_empty());
}

/// Reads that a backend may cache never outlive the write that changes them.
#[tokio::test]
async fn a_read_after_a_write_sees_the_write() {
    let f = fixture(true).await;
    for _ in 0..2 {
        assert_eq!(f.store.measurement(&f.measurement).await.unwrap().state, MeasurementState::Deactivated);
    }
    f.store.set_state(&f.measurement, MeasurementState::Activated).await.unwrap();
    assert_eq!(f.store.measurement(&f.measurement).await.unwrap().state, MeasurementState::Pending);
    f.store.push_result(&f.measurement, level(4, at(1)), at(1), f.evaluations()).await.unwrap();
    let read = f.store.measurement(&f.measurement).await.unwrap();
    assert_eq!(read.state, MeasurementState::Activated);
    assert!(read.result.as_deref().unwrap().contains("4"));
    f.store.push_result(&f.measurement, level(5, at(2)), at(2), f.evaluations()).await.unwrap();
    assert!(f.store.measurement(&f.measurement).await.unwrap().result.as_deref().unwrap().contains("5"));
    f.store.set_state(&f.measurement, MeasurementState::Deactivated).await.unwrap();
    assert_eq!(f.store.measurement(&f.measurement).await.unwrap().state, MeasurementState::Deactivated);
    let resource = Ref { kind: Kind::Measurement, id: f.measurement.clone() };
    f.store.set_access_tags(&resource, vec!["tenant:b".into()], false).await.unwrap();
    assert_eq!(f.store.measurement(&f.measurement).await.unwrap().access_tags, ["tenant:b"]);
    f.store.delete(&resource).await.unwrap();
    assert!(matches!(f.store.measurement(&f.measurement).await, Err(StoreError::NotFound(..))));
}

/// `set_access_tags` with `subtree` from every level of the hierarchy: the provider's rows
/// below take the new tags, the trigger and its log entry keep only those of theirs that
/// remain.
#[tokio::test]
async fn tags_given_to_a_subtree_from_every_level() {
    let f = fixture(false).await;
    let trigger = f.trigger("true", 0.0, at(0)).await;
    assert_eq!(f.push(1, at(1)).await, 1);
    let (_, logs) = f.store.logs(Some(&f.view), &LogFilter::default(), None).await.unwrap();
    let log = logs[0].id.clone();
    let tags_of = |kind: Kind, id: &ResourceId| {
        let (store, resource) = (Arc::clone(&f.store), Ref { kind, id: id.clone() });
        async move { store.access_tags(&resource).await.unwrap() }
    };
    // From the bottom up, each level reaching what is below it.
    let levels = [
        (Kind::Log, log.clone()),
        (Kind::Trigger, trigger.clone()),
        (Kind::Measurement, f.measurement.clone()),
        (Kind::Attribute, f.attribute.clone()),
        (Kind::Asset, f.asset.clone()),
        (Kind::ServiceView, f.view.clone()),
    ];
    for (i, (kind, id)) in levels.iter().enumerate() {
        let tags = vec![format!("level:{i}"), "account:c1".to_owned()];
        f.store.set_access_tags(&Ref { kind: *kind, id: id.clone() }, tags.clone(), true).await.unwrap();
        for (below_kind, below_id) in &levels[..i] {
            let got = tags_of(*below_kind, below_id).await;
            if matches!(below_kind, Kind::Log | Kind::Trigger) {
                assert_eq!(got, ["account:c1"], "{below_kind:?} below {kind:?} keeps only what remains");
            } else {
                assert_eq!(got, tags, "{below_kind:?} below {kind:?}");
            }
        }
    }
    // A metric has nothing below it; a deleted trigger's log entry is still reached from the view.
    let metric = Ref { kind: Kind::Metric, id: f.metric.clone() };
    f.store.set_access_tags(&metric, vec!["role:user".into()], true).await.unwrap();
    f.store.delete(&Ref { kind: Kind::Trigger, id: trigger }).await.unwrap();
    f.store.set_access_tags(&Ref { kind: Kind::ServiceView, id: f.view.clone() }, vec![], true).await.unwrap();
    assert!(tags_of(Kind::Log, &log).await.is_empty());
}

#[tokio::test]
async fn a_batch_of_pushes_and_feed_positions_is_stored_all_or_nothing() {
    use ctp_store::{FeedPosition, Push};
    let f = fixture(false).await;
    let position = |offset: u64| FeedPosition {
        source: "alerts".into(),
        path: "/var/ossec/logs/alerts/alerts.json".into(),
        fingerprint: "sha256-1024:ab".into(),
        offset,
        line: offset / 10 + 1,
        update_time: at(2),
    };
    let push = |id: &ResourceId, value: i64| Push {
        measurement_id: id.clone(),
        result: level(value, at(2)),
        evaluations: f.evaluations(),
    };
    assert!(f.store.feed_positions().await.unwrap().is_empty());

    // A batch whose second push cannot be stored (no such measurement) stores nothing.
    let missing = ResourceId::parse("no-such-measurement").unwrap();
    let failed = f.store.push_results(vec![push(&f.measurement, 3), push(&missing, 4)], vec![position(100)], at(2));
    assert!(matches!(failed.await, Err(StoreError::NotFound(..))));
    assert!(f.store.measurement(&f.measurement).await.unwrap().result.is_none(), "the first push was rolled back");
    assert!(f.store.feed_positions().await.unwrap().is_empty(), "the position was rolled back");

    // A good batch stores both results (outcomes in order) and the position, replacing it later.
    let outcomes = f.store.push_results(vec![push(&f.measurement, 3)], vec![position(100)], at(2)).await.unwrap();
    assert_eq!(outcomes.len(), 1);
    assert!(outcomes[0].measurement.result.as_deref().unwrap().contains(r#""level": 3"#));
    assert_eq!(f.store.feed_positions().await.unwrap(), vec![position(100)]);
    f.store.push_results(vec![], vec![position(250)], at(2)).await.unwrap();
    assert_eq!(f.store.feed_positions().await.unwrap(), vec![position(250)]);
    // It travels with an export.
    let dump = f.store.export().await.unwrap();
    let table = dump.tables.iter().find(|t| t.name == "feed_positions").unwrap();
    assert_eq!(table.rows.len(), 1);
}

/// A drill writes, in one transaction, a log entry tagged `drill` and an outbox job per
/// message whose trigger still notifies (skipping deleted or log-only triggers), changes no
/// status; the delivered attempt's start is recorded as handed over; the first
/// acknowledgement is kept; its jobs are not pruned; it travels with an export and goes
/// with its service view.
#[tokio::test]
async fn a_drill_is_stored_whole_and_its_jobs_outlive_pruning() {
    use ctp_model::resources::DeliveryState;
    use ctp_store::{DeliveryOutcome, NewDrill, NewDrillMessage};
    let f = fixture(false).await;
    let hook = NewTrigger {
        header: named("hook"),
        measurement_id: f.measurement.clone(),
        condition: "value[0].level >= 7".into(),
        notification: "https://example.com/hook".into(),
        guard_time: 0.0,
        tags: vec![],
        owner_id: None,
        owner_tags: vec!["*".into()],
    };
    let hook = f.store.create_trigger(&f.view, hook, at(0), f.evaluations()).await.unwrap().0;
    let log_only = f.trigger("value[0].level >= 7", 0.0, at(0)).await;
    f.push(9, at(1)).await;
    let before = (f.store.trigger(&hook.id).await.unwrap(), f.store.measurement(&f.measurement).await.unwrap());
    let logs_before = f.log_count().await;
    let message = |trigger: &ResourceId, token: &str| {
        NewDrillMessage {
        trigger_id: trigger.clone(),
        result: r#"{"value":[{"message":"DRILL"}],"updateTime":"2026-01-01T00:00:00.000Z","authorityId":null,"signature":null}"#.into(),
        token: token.into(),
    }
    };
    let drill = |id: &str, messages| NewDrill {
        id: ResourceId::parse(id).unwrap(),
        view_id: f.view.clone(),
        started_by: ResourceId::parse("admin").unwrap(),
        annotation: "rehearsal".into(),
        messages,
    };

    // Only log-only or deleted triggers: refused, nothing stored.
    let gone = ResourceId::parse("deleted-trigger").unwrap();
    let refused = f.store.start_drill(drill("d0", vec![message(&log_only, "t0"), message(&gone, "t1")]), at(5)).await;
    assert!(matches!(refused, Err(StoreError::Invalid(_))), "{refused:?}");
    assert!(f.store.drills(None).await.unwrap().is_empty());
    assert_eq!(f.log_count().await, logs_before);

    let started = f.store.start_drill(drill("d1", vec![message(&hook.id, "tok-1"), message(&log_only, "t2")]), at(5));
    let started = started.await.unwrap();
    assert_eq!(started.messages.len(), 1);
    let sent = &started.messages[0];
    assert_eq!((sent.trigger_name.as_str(), sent.target.as_str()), ("hook", "https://example.com/hook"));
    assert_eq!(sent.delivery.as_ref().unwrap().state, DeliveryState::Pending);
    let entry = f.store.log_entry(&sent.log_id).await.unwrap();
    assert_eq!(entry.tags, ["drill"]);
    assert_eq!(f.log_count().await, logs_before + 1);
    assert_eq!((f.store.trigger(&hook.id).await.unwrap(), f.store.measurement(&f.measurement).await.unwrap()), before);

    // Delivered: handed over at the attempt's start; then acknowledged, the first answer kept.
    f.store.claim_deliveries(at(6), at(60), 10).await.unwrap();
    let delivered = DeliveryOutcome::Delivered { handed_over: at(6) };
    f.store.finish_delivery(&sent.delivery_id, delivered, at(7)).await.unwrap();
    assert!(matches!(f.store.acknowledge_drill(&started.id, "wrong", None, at(8)).await, Err(StoreError::Missing(_))));
    let acknowledged = f.store.acknowledge_drill(&started.id, "tok-1", Some("alice".into()), at(8)).await.unwrap();
    assert_eq!((acknowledged.acknowledge_time, acknowledged.acknowledged_by.as_deref()), (Some(at(8)), Some("alice")));
    let again = f.store.acknowledge_drill(&started.id, "tok-1", Some("bob".into()), at(9)).await.unwrap();
    assert_eq!((again.acknowledge_time, again.acknowledged_by.as_deref()), (Some(at(8)), Some("alice")));
    let report = f.store.drill(&started.id).await.unwrap();
    assert_eq!(report.messages[0].handed_over_time, Some(at(6)));
    assert_eq!(report.messages[0].delivery.as_ref().unwrap().delivery_time, Some(at(7)));

    // Pruning keeps a drill's jobs (its report needs them), and an export carries the drill.
    assert_eq!(f.store.prune_deliveries(at(100)).await.unwrap(), 0);
    assert!(f.store.drill(&started.id).await.unwrap().messages[0].delivery.is_some());
    let dump = f.store.export().await.unwrap();
    let rows = |name: &str| dump.tables.iter().find(|t| t.name == name).unwrap().rows.len();
    assert_eq!((rows("drills"), rows("drill_messages")), (1, 1));
    assert!(matches!(f.store.drill(&ResourceId::parse("d0").unwrap()).await, Err(StoreError::Missing(_))));

    f.store.delete(&Ref { kind: Kind::ServiceView, id: f.view.clone() }).await.unwrap();
    assert!(f.store.drills(None).await.unwrap().is_empty(), "a drill goes with its service view");
}

/// The transparency log: each stored result and log entry appends its leaf in the same
/// transaction (a refused push appends nothing); the stored hashes are those of RFC 6962
/// over the leaves (checked against `ctp_ledger`'s in-memory tree); the newest leaf of a
/// record is found; deleting resources removes no leaf; the key is made once.
#[tokio::test]
async fn results_and_log_entries_are_appended_to_the_transparency_log() {
    use ctp_store::ledger::LeafKind;
    let f = fixture(false).await;
    assert_eq!(f.store.ledger_size().await.unwrap(), 0);
    f.trigger("value[0].level >= 7", 0.0, at(0)).await;
    f.push(3, at(1)).await; // a result
    f.push(9, at(2)).await; // a result and a log entry
    let missing = ResourceId::parse("no-such-measurement").unwrap();
    assert!(f.store.push_result(&missing, level(1, at(3)), at(3), f.evaluations()).await.is_err());
    assert_eq!(f.store.ledger_size().await.unwrap(), 3, "the refused push appended nothing");

    let leaves = f.store.ledger_leaves(0, 10).await.unwrap();
    assert_eq!(leaves.len(), 3);
    let decoded: Vec<ctp_ledger::Leaf> = leaves.iter().map(|l| ctp_ledger::Leaf::decode(l).unwrap()).collect();
    assert_eq!(decoded.iter().map(|l| l.kind).collect::<Vec<_>>(), [LeafKind::Result, LeafKind::Result, LeafKind::Log]);
    let stored = f.store.measurement(&f.measurement).await.unwrap();
    let hash = ctp_model::ledger::result_hash(stored.result.as_deref().unwrap()).unwrap();
    assert_eq!(decoded[1].sha256, hash, "the leaf hashes the result as stored");
    let (_, log) = f.store.logs(Some(&f.view), &Default::default(), None).await.unwrap();
    let entry = f.store.log_entry(&log[0].id).await.unwrap();
    assert_eq!(decoded[2], ctp_model::ledger::log_leaf(&entry).unwrap());

    // The stored hashes are the tree's: every one of them as ctp_ledger computes it.
    let mut memory = ctp_ledger::MemoryHashes::default();
    for leaf in &leaves {
        memory.append(ctp_ledger::leaf_hash(leaf)).unwrap();
    }
    let count = ctp_ledger::stored_hash_count(3).unwrap();
    assert_eq!(f.store.ledger_hashes((0..count).collect()).await.unwrap(), memory.hashes().to_vec());
    assert_eq!(
        f.store.ledger_leaf_of(LeafKind::Result, &f.measurement).await.unwrap(),
        Some((1, leaves[1].clone())),
        "the newest leaf of the measurement's result"
    );
    assert_eq!(f.store.ledger_leaf_of(LeafKind::Log, &entry.id).await.unwrap(), Some((2, leaves[2].clone())));

    // Deleting the service view removes its resources, not their leaves.
    f.store.delete(&Ref { kind: Kind::ServiceView, id: f.view.clone() }).await.unwrap();
    assert_eq!(f.store.ledger_leaves(0, 10).await.unwrap(), leaves);

    // The key: the first one offered is kept.
    let first = f.store.ledger_key("o1".into(), "k1".into()).await.unwrap();
    assert_eq!(first, ("o1".to_owned(), "k1".to_owned()));
    assert_eq!(f.store.ledger_key("o2".into(), "k2".into()).await.unwrap(), first);
    let dump = f.store.export().await.unwrap();
    let rows = |name: &str| dump.tables.iter().find(|t| t.name == name).unwrap().rows.len();
    assert_eq!((rows("ledger_leaves"), rows("ledger_hashes"), rows("ledger_key")), (3, count as usize, 1));
}
