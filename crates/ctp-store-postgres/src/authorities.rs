//! Authorities and signed results (issue 14): the PostgreSQL twin of `ctp-store-sqlite`'s
//! `authorities.rs` (same tables, same rules).

use ctp_model::resources::{Authority, Header, ResultVerification};
use ctp_model::{ResourceId, Timestamp};
use ctp_store::{rules, AuthorityChange, NewAuthority, StoreError, StoreResult};
use ctp_store_sql::{keys_from_text, keys_to_text, verification_to_text};
use tokio_postgres::Row;

use crate::rows::{get, id_at};
use crate::{Context, Tx};

const SELECT: &str = "SELECT id, name, annotation, keys, retired_time FROM authorities";

fn authority_of(row: &Row) -> StoreResult<Authority> {
    let retired: Option<i64> = get(row, 4)?;
    Ok(Authority {
        id: id_at(row, 0)?,
        header: Header { name: get(row, 1)?, annotation: get(row, 2)? },
        keys: keys_from_text(get(row, 3)?)?,
        retired: retired.and_then(Timestamp::from_millis),
    })
}

/// Registers an authority.
pub(crate) async fn create(tx: &Tx<'_>, new: &NewAuthority) -> StoreResult<Authority> {
    let id = ResourceId::generate();
    tx.execute(
        "INSERT INTO authorities (id, name, annotation, keys) VALUES ($1, $2, $3, $4)",
        &[&id.as_str(), &new.header.name, &new.header.annotation, &keys_to_text(&new.keys)],
    )
    .await
    .context("registering an authority")?;
    load(tx, &id, false).await
}

/// One authority (locked until the end of the transaction with `lock`).
pub(crate) async fn load(tx: &Tx<'_>, id: &ResourceId, lock: bool) -> StoreResult<Authority> {
    let sql = format!("{SELECT} WHERE id = $1{}", if lock { " FOR UPDATE" } else { "" });
    match tx.query_opt(&sql, &[&id.as_str()]).await.context("loading an authority")? {
        Some(row) => authority_of(&row),
        None => Err(StoreError::Missing(format!("no authority with id {id}"))),
    }
}

/// Every authority.
pub(crate) async fn list(tx: &Tx<'_>) -> StoreResult<Vec<Authority>> {
    let found = tx.query(&format!("{SELECT} ORDER BY seq"), &[]).await.context("listing authorities")?;
    found.iter().map(authority_of).collect()
}

/// Applies a change ([`rules::change_authority`]).
pub(crate) async fn change(
    tx: &Tx<'_>,
    id: &ResourceId,
    change: &AuthorityChange,
    now: Timestamp,
) -> StoreResult<Authority> {
    let mut authority = load(tx, id, true).await?;
    rules::change_authority(&mut authority, change, now)?;
    tx.execute(
        "UPDATE authorities SET keys = $1, retired_time = $2 WHERE id = $3",
        &[&keys_to_text(&authority.keys), &authority.retired.map(Timestamp::millis), &id.as_str()],
    )
    .await
    .context("changing an authority")?;
    load(tx, id, false).await
}

/// Makes `id` require signed results, or not.
pub(crate) async fn set_signing_required(tx: &Tx<'_>, id: &ResourceId, required: bool) -> StoreResult<()> {
    let sql = if required {
        "INSERT INTO signing_required (id) VALUES ($1) ON CONFLICT (id) DO NOTHING"
    } else {
        "DELETE FROM signing_required WHERE id = $1"
    };
    tx.execute(sql, &[&id.as_str()]).await.context("setting a signing requirement")?;
    Ok(())
}

/// Records whose signature was verified on a measurement's new result (none: unsigned),
/// replacing the previous result's record if it `had` one.
pub(crate) async fn save_verification(
    tx: &Tx<'_>,
    measurement_id: &ResourceId,
    had: bool,
    verification: Option<&ResultVerification>,
) -> StoreResult<()> {
    if had {
        tx.execute("DELETE FROM result_verifications WHERE id = $1", &[&measurement_id.as_str()])
            .await
            .context("replacing a result verification")?;
    }
    if let Some(verification) = verification {
        tx.execute(
            "INSERT INTO result_verifications (id, verification) VALUES ($1, $2)",
            &[&measurement_id.as_str(), &verification_to_text(verification)],
        )
        .await
        .context("recording a result verification")?;
    }
    Ok(())
}
