//! A measurement's history (issue 15) against a real backend: every push is an entry, a
//! change of standing without a result is one too, timelines give the changes of many
//! measurements around an instant, pruning keeps what retention says, and the history
//! travels with an export and goes with its measurement.

use ctp_model::history::Standing;
use ctp_model::resources::{Kind, Ref};
use ctp_model::Status;
use ctp_store::{HistoryFilter, StoreError, Window};
use ctp_store_contract::{at, fixture};

#[tokio::test]
async fn every_push_and_every_change_of_standing_is_recorded_oldest_first() {
    let f = fixture(false).await;
    f.push(3, at(10)).await; // met
    f.push(4, at(20)).await; // still met
    f.push(12, at(30)).await; // not met
    f.store.set_objective(&f.measurement, None, at(40), &f.conditions).await.unwrap();
    let (total, entries) = f.store.history(&f.measurement, &HistoryFilter::default(), None).await.unwrap();
    assert_eq!(total, 5, "creation, three pushes, the objective removed: {entries:#?}");
    let summary: Vec<_> = entries
        .iter()
        .map(|e| (e.time, e.result.is_some(), e.objective_status, e.standing, e.status_changed))
        .collect();
    assert_eq!(
        summary,
        [
            (at(0), false, Some(Status::False), Standing::NoResult, true),
            (at(10), true, Some(Status::True), Standing::Met, true),
            (at(20), true, Some(Status::True), Standing::Met, false),
            (at(30), true, Some(Status::False), Standing::NotMet, true),
            (at(40), false, None, Standing::NoObjective, true),
        ]
    );
    assert!(entries[2].result.as_deref().unwrap().contains(r#""level": 4"#), "the result as pushed");

    // Filters by time ([oldest, newest)) and windows.
    let filter = HistoryFilter { oldest: Some(at(10)), newest: Some(at(30)) };
    let (total, entries) = f.store.history(&f.measurement, &filter, None).await.unwrap();
    assert_eq!((total, entries.len()), (2, 2));
    let (total, entries) = f
        .store
        .history(&f.measurement, &HistoryFilter::default(), Some(Window { offset: 3, limit: 10 }))
        .await
        .unwrap();
    assert_eq!(total, 5);
    assert_eq!(entries.iter().map(|e| e.time).collect::<Vec<_>>(), [at(30), at(40)]);

    // An unknown measurement is not found.
    let unknown = ctp_model::ResourceId::generate();
    let missing = f.store.history(&unknown, &HistoryFilter::default(), None).await;
    assert!(matches!(missing, Err(StoreError::NotFound(..))), "{missing:?}");
}

#[tokio::test]
async fn timelines_give_the_standing_before_an_instant_and_the_changes_after() {
    let f = fixture(false).await;
    f.push(3, at(10)).await;
    f.push(4, at(20)).await;
    f.push(12, at(30)).await;
    f.push(1, at(50)).await;
    let unknown = ctp_model::ResourceId::generate();
    let timelines = f.store.status_timelines(&[unknown, f.measurement.clone()], at(25)).await.unwrap();
    assert_eq!(timelines.len(), 2);
    assert_eq!(timelines[0], Default::default(), "an unknown id has an empty timeline");
    let timeline = &timelines[1];
    let before = timeline.before.as_ref().unwrap();
    assert_eq!((before.time, before.standing), (at(10), Standing::Met), "the last change before, not the last push");
    let changes: Vec<_> = timeline.changes.iter().map(|c| (c.time, c.standing, c.status)).collect();
    assert_eq!(changes, [(at(30), Standing::NotMet, Some(Status::False)), (at(50), Standing::Met, Some(Status::True))]);

    // Changes at the same millisecond come in the order they were written.
    let g = fixture(false).await;
    g.push(3, at(0)).await; // created at 0 without a result, then met at 0
    let timelines = g.store.status_timelines(std::slice::from_ref(&g.measurement), at(0)).await.unwrap();
    let standings: Vec<_> = timelines[0].changes.iter().map(|c| c.standing).collect();
    assert_eq!(standings, [Standing::NoResult, Standing::Met]);
}

#[tokio::test]
async fn pruning_keeps_the_newest_within_the_age_and_the_count() {
    let f = fixture(false).await;
    for i in 1..=8 {
        f.push(i, at(i * 10)).await;
    }
    // 9 entries (creation and 8 pushes); older than 15 s: 2 go; beyond the newest 5: 2 more.
    let deleted = f.store.prune_history(at(15), 5).await.unwrap();
    assert_eq!(deleted, 4);
    let (total, entries) = f.store.history(&f.measurement, &HistoryFilter::default(), None).await.unwrap();
    assert_eq!(total, 5);
    assert_eq!(entries.iter().map(|e| e.time).collect::<Vec<_>>(), [at(40), at(50), at(60), at(70), at(80)]);
    assert_eq!(f.store.prune_history(at(15), 5).await.unwrap(), 0, "nothing more to prune");
}

#[tokio::test]
async fn the_history_travels_with_an_export_and_goes_with_its_measurement() {
    let f = fixture(false).await;
    f.push(3, at(10)).await;
    f.push(12, at(20)).await;
    let dump = f.store.export().await.unwrap();
    let location = ctp_test_support::StoreLocation::new().await;
    let empty = location.open().await;
    empty.import(dump).await.unwrap();
    let (total, _) = empty.history(&f.measurement, &HistoryFilter::default(), None).await.unwrap();
    assert_eq!(total, 3);
    f.store.delete(&Ref { kind: Kind::Measurement, id: f.measurement.clone() }).await.unwrap();
    let timelines = f.store.status_timelines(std::slice::from_ref(&f.measurement), at(0)).await.unwrap();
    assert!(timelines[0].changes.is_empty() && timelines[0].before.is_none(), "deleted with the measurement");
}
