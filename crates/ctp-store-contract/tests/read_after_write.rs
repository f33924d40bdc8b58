//! "A cached read never outlives a write": for every write method that changes a kind the
//! SQLite store caches (accounts, read on every request; measurements, polled by
//! customers), a read that could have filled a cache before the write sees the write right
//! after it. The SQLite caches are emptied by its writer from SQLite's update hook, so this
//! also covers rows changed by the schema's cascades. It holds on every backend (the
//! PostgreSQL store caches nothing), so it is part of the contract.

use ctp_model::resources::{Header, Kind, Measurement, MeasurementState, Ref};
use ctp_model::ResourceId;
use ctp_store::{NewAccount, StoreError};
use ctp_store_contract::{at, fixture, level, Fixture};
use ctp_test_support::StoreLocation;

fn account(id: &ResourceId, token_hash: &str, tags: &[&str]) -> NewAccount {
    NewAccount {
        id: id.clone(),
        header: Header { name: "customer".into(), annotation: String::new() },
        account_tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        access_tags: vec!["role:admin".into()],
        token_hash: token_hash.into(),
        webhook_secret: "whsec_first".into(),
    }
}

/// Reads the measurement twice, so that the second read may come from a cache.
async fn cached_measurement(f: &Fixture) -> Measurement {
    let first = f.store.measurement(&f.measurement).await.unwrap();
    assert_eq!(f.store.measurement(&f.measurement).await.unwrap(), first);
    first
}

#[tokio::test]
async fn account_writes_are_seen_by_the_next_token_lookup() {
    let f = fixture(false).await;
    let store = &f.store;
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
    let secret = store.account_by_token_hash("h2").await.unwrap().unwrap().webhook_secret;
    assert_eq!(secret.as_deref(), Some("whsec_second"));
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
    let source = fixture(false).await;
    source.store.create_account(account(&ResourceId::generate(), "h9", &["customer:a"])).await.unwrap();
    let dump = source.store.export().await.unwrap();
    let location = StoreLocation::new().await;
    let target = location.open().await;
    assert!(target.account_by_token_hash("h9").await.unwrap().is_none());
    target.import(dump).await.unwrap();
    assert!(target.account_by_token_hash("h9").await.unwrap().is_some());
}

#[tokio::test]
async fn measurement_writes_are_seen_by_the_next_read() {
    let f = fixture(true).await;
    let store = &f.store;
    // set_state: a deactivated user-activated measurement asked to activate becomes pending
    cached_measurement(&f).await;
    store.set_state(&f.measurement, MeasurementState::Activated).await.unwrap();
    assert_eq!(store.measurement(&f.measurement).await.unwrap().state, MeasurementState::Pending);
    // push_result
    let before = cached_measurement(&f).await;
    store.push_result(&f.measurement, level(12, at(1)), at(1), f.evaluations()).await.unwrap();
    let pushed = store.measurement(&f.measurement).await.unwrap();
    assert!(pushed.result.is_some() && before.result.is_none());
    assert!(pushed.change_id > before.change_id);
    // set_objective
    cached_measurement(&f).await;
    store.set_objective(&f.measurement, Some("value[0].level < 20".into()), at(2), &f.conditions).await.unwrap();
    assert_eq!(store.measurement(&f.measurement).await.unwrap().objective.unwrap().condition, "value[0].level < 20");
    // set_state, deactivating (which clears the result)
    cached_measurement(&f).await;
    store.set_state(&f.measurement, MeasurementState::Deactivated).await.unwrap();
    let deactivated = store.measurement(&f.measurement).await.unwrap();
    assert_eq!(deactivated.state, MeasurementState::Deactivated);
    assert!(deactivated.result.is_none());
    // set_access_tags on the measurement
    cached_measurement(&f).await;
    let measurement_ref = Ref { kind: Kind::Measurement, id: f.measurement.clone() };
    store.set_access_tags(&measurement_ref, vec!["customer:m".into()], false).await.unwrap();
    assert_eq!(store.measurement(&f.measurement).await.unwrap().access_tags, ["customer:m"]);
    // set_access_tags on the service view's subtree (the measurement changes by cascade)
    cached_measurement(&f).await;
    let view_ref = Ref { kind: Kind::ServiceView, id: f.view.clone() };
    store.set_access_tags(&view_ref, vec!["customer:v".into()], true).await.unwrap();
    assert_eq!(store.measurement(&f.measurement).await.unwrap().access_tags, ["customer:v"]);
    // set_access_tags on the asset alone leaves the measurement as it was
    let asset_ref = Ref { kind: Kind::Asset, id: f.asset.clone() };
    store.set_access_tags(&asset_ref, vec!["customer:x".into()], false).await.unwrap();
    assert_eq!(store.measurement(&f.measurement).await.unwrap().access_tags, ["customer:v"]);
}

#[tokio::test]
async fn deletions_are_seen_by_the_next_measurement_read_even_by_cascade() {
    for deleted in [Kind::Measurement, Kind::Attribute, Kind::Asset, Kind::ServiceView] {
        let f = fixture(false).await;
        cached_measurement(&f).await;
        let id = match deleted {
            Kind::Measurement => f.measurement.clone(),
            Kind::Attribute => f.attribute.clone(),
            Kind::Asset => f.asset.clone(),
            _ => f.view.clone(),
        };
        f.store.delete(&Ref { kind: deleted, id }).await.unwrap();
        let read = f.store.measurement(&f.measurement).await;
        assert!(
            matches!(read, Err(StoreError::NotFound(Kind::Measurement, _))),
            "after deleting its {deleted:?}: {read:?}"
        );
    }
}
