//! "A cached read never outlives a write": for every write method that changes a cached
//! kind (accounts, read on every request; measurements, polled by customers), a read that
//! filled the cache before the write sees the write right after it. The caches are emptied
//! by the writer from SQLite's update hook, so this also covers rows changed by the
//! schema's cascades.

use std::sync::Arc;

use ctp_model::resources::{Header, Kind, Measurement, MeasurementState, Ref};
use ctp_model::{check_result, Column, ConditionCache, Evaluations, ResourceId, Timestamp, ValueType};
use ctp_store::{NewAccount, NewAsset, NewAttribute, NewMeasurement, NewMetric, NewView, Store, StoreError};
use ctp_store_sqlite::SqliteStore;

fn now() -> Timestamp {
    Timestamp::from_millis(1_795_000_000_000).unwrap()
}

fn named(name: &str) -> Header {
    Header { name: name.into(), annotation: String::new() }
}

fn columns() -> Vec<Column> {
    vec![Column { name: "level".into(), value_type: ValueType::Number }]
}

fn account(id: &ResourceId, token_hash: &str, tags: &[&str]) -> NewAccount {
    NewAccount {
        id: id.clone(),
        header: named("customer"),
        account_tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        access_tags: vec!["role:admin".into()],
        token_hash: token_hash.into(),
        webhook_secret: "whsec_first".into(),
    }
}

struct Tree {
    store: Arc<SqliteStore>,
    _dir: tempfile::TempDir,
    conditions: Arc<ConditionCache>,
    view: ResourceId,
    asset: ResourceId,
    attribute: ResourceId,
    measurement: ResourceId,
}

async fn tree() -> Tree {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("ctpd.db")).unwrap();
    let view = store
        .create_view(None, NewView { header: named("cloud"), provider: "Acme".into(), ..NewView::default() })
        .await
        .unwrap();
    let asset = store.create_asset(&view.id, NewAsset { header: named("api"), ..NewAsset::default() }).await.unwrap();
    let attribute = store
        .create_attribute(&asset.id, NewAttribute { header: named("intrusions"), ..NewAttribute::default() })
        .await
        .unwrap();
    let metric = store
        .create_metric(NewMetric { header: named("level"), result_format: columns(), ..NewMetric::default() })
        .await
        .unwrap();
    let conditions = Arc::new(ConditionCache::default());
    let measurement = store
        .create_measurement(
            &attribute.id,
            NewMeasurement {
                header: named("max level"),
                metric_id: metric.id,
                objective: Some("value[0].level < 10".into()),
                result: None,
                triggers_allowed: true,
                user_activated: true,
                state: MeasurementState::Pending,
                access_tags: None,
            },
            now(),
            &conditions,
        )
        .await
        .unwrap();
    Tree {
        store,
        _dir: dir,
        conditions,
        view: view.id,
        asset: asset.id,
        attribute: attribute.id,
        measurement: measurement.id,
    }
}

impl Tree {
    /// Reads the measurement twice, so that the second read comes from the cache.
    async fn cached_measurement(&self) -> Measurement {
        let first = self.store.measurement(&self.measurement).await.unwrap();
        assert_eq!(self.store.measurement(&self.measurement).await.unwrap(), first);
        first
    }
}

#[tokio::test]
async fn account_writes_are_seen_by_the_next_token_lookup() {
    let tree = tree().await;
    let store = &tree.store;
    let id = ResourceId::generate();
    assert!(store.account_by_token_hash("h1").await.unwrap().is_none());
    // create_account
    store.create_account(account(&id, "h1", &["customer:a"])).await.unwrap();
    let cached = store.account_by_token_hash("h1").await.unwrap().expect("created");
    assert_eq!(store.account_by_token_hash("h1").await.unwrap().as_ref(), Some(&cached));
    // ensure_account, changing its tags
    store.ensure_account(account(&id, "h1", &["customer:b"])).await.unwrap();
    assert_eq!(store.account_by_token_hash("h1").await.unwrap().unwrap().account_tags, ["customer:b"]);
    // ensure_account, moving the token
    store.ensure_account(account(&id, "h2", &["customer:b"])).await.unwrap();
    assert!(store.account_by_token_hash("h1").await.unwrap().is_none());
    assert!(store.account_by_token_hash("h2").await.unwrap().is_some());
    // set_webhook_secret
    store.set_webhook_secret(&id, "whsec_second".into()).await.unwrap();
    assert_eq!(
        store.account_by_token_hash("h2").await.unwrap().unwrap().webhook_secret.as_deref(),
        Some("whsec_second")
    );
    // set_access_tags on the account
    let account_ref = Ref { kind: Kind::Account, id: id.clone() };
    store.set_access_tags(&account_ref, vec!["role:user".into()], false).await.unwrap();
    assert_eq!(store.account_by_token_hash("h2").await.unwrap().unwrap().access_tags, ["role:user"]);
    // delete_account
    store.delete_account(&id).await.unwrap();
    assert!(store.account_by_token_hash("h2").await.unwrap().is_none());
    // delete (of an account, through the generic method)
    let other = ResourceId::generate();
    store.create_account(account(&other, "h3", &["customer:c"])).await.unwrap();
    assert!(store.account_by_token_hash("h3").await.unwrap().is_some());
    store.delete(&Ref { kind: Kind::Account, id: other }).await.unwrap();
    assert!(store.account_by_token_hash("h3").await.unwrap().is_none());
}

#[tokio::test]
async fn an_import_is_seen_by_the_next_token_lookup() {
    let source = tree().await;
    source.store.create_account(account(&ResourceId::generate(), "h9", &["customer:a"])).await.unwrap();
    let dump = source.store.export().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = SqliteStore::open(&dir.path().join("ctpd.db")).unwrap();
    assert!(target.account_by_token_hash("h9").await.unwrap().is_none());
    target.import(dump).await.unwrap();
    assert!(target.account_by_token_hash("h9").await.unwrap().is_some());
}

#[tokio::test]
async fn measurement_writes_are_seen_by_the_next_read() {
    let tree = tree().await;
    let store = &tree.store;
    // push_result
    let before = tree.cached_measurement().await;
    let result = check_result(r#"{"value": [{"level": 12}]}"#, &columns(), now()).unwrap();
    store
        .push_result(&tree.measurement, result, now(), Arc::new(Evaluations::none(Arc::clone(&tree.conditions))))
        .await
        .unwrap();
    let pushed = store.measurement(&tree.measurement).await.unwrap();
    assert!(pushed.result.is_some() && before.result.is_none());
    assert!(pushed.change_id > before.change_id);
    // set_objective
    tree.cached_measurement().await;
    store.set_objective(&tree.measurement, Some("value[0].level < 20".into()), now(), &tree.conditions).await.unwrap();
    assert_eq!(store.measurement(&tree.measurement).await.unwrap().objective.unwrap().condition, "value[0].level < 20");
    // set_state
    tree.cached_measurement().await;
    store.set_state(&tree.measurement, MeasurementState::Deactivated).await.unwrap();
    let deactivated = store.measurement(&tree.measurement).await.unwrap();
    assert_eq!(deactivated.state, MeasurementState::Deactivated);
    assert!(deactivated.result.is_none());
    // set_access_tags on the measurement
    tree.cached_measurement().await;
    let measurement_ref = Ref { kind: Kind::Measurement, id: tree.measurement.clone() };
    store.set_access_tags(&measurement_ref, vec!["customer:m".into()], false).await.unwrap();
    assert_eq!(store.measurement(&tree.measurement).await.unwrap().access_tags, ["customer:m"]);
    // set_access_tags on the service view's subtree (the measurement changes by cascade)
    tree.cached_measurement().await;
    let view_ref = Ref { kind: Kind::ServiceView, id: tree.view.clone() };
    store.set_access_tags(&view_ref, vec!["customer:v".into()], true).await.unwrap();
    assert_eq!(store.measurement(&tree.measurement).await.unwrap().access_tags, ["customer:v"]);
    // set_access_tags on the asset alone: the measurement is not changed, its cache may stay
    let asset_ref = Ref { kind: Kind::Asset, id: tree.asset.clone() };
    store.set_access_tags(&asset_ref, vec!["customer:x".into()], false).await.unwrap();
    assert_eq!(store.measurement(&tree.measurement).await.unwrap().access_tags, ["customer:v"]);
}

#[tokio::test]
async fn deletions_are_seen_by_the_next_measurement_read_even_by_cascade() {
    for deleted in [Kind::Measurement, Kind::Attribute, Kind::Asset, Kind::ServiceView] {
        let tree = tree().await;
        tree.cached_measurement().await;
        let id = match deleted {
            Kind::Measurement => tree.measurement.clone(),
            Kind::Attribute => tree.attribute.clone(),
            Kind::Asset => tree.asset.clone(),
            _ => tree.view.clone(),
        };
        tree.store.delete(&Ref { kind: deleted, id }).await.unwrap();
        let read = tree.store.measurement(&tree.measurement).await;
        assert!(
            matches!(read, Err(StoreError::NotFound(Kind::Measurement, _))),
            "after deleting its {deleted:?}: {read:?}"
        );
    }
}
