//! Authorities and signed results (issue 14): the authorities that sign results and their
//! keys, which measurements and metrics require signed results, and whose signature was
//! verified on each measurement's current result.

use ctp_model::resources::{Authority, ResultVerification};
use ctp_model::{ResourceId, Timestamp};
use ctp_store::{rules, AuthorityChange, NewAuthority, StoreError, StoreResult};
use ctp_store_sql::{keys_from_text, keys_to_text, verification_to_text};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::rows::backend;

const SELECT: &str = "SELECT id, name, annotation, keys, retired_time FROM authorities";

type AuthorityRow = (String, String, String, String, Option<i64>);

fn row_of(row: &Row<'_>) -> rusqlite::Result<AuthorityRow> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
}

fn authority_of((id, name, annotation, keys, retired): AuthorityRow) -> StoreResult<Authority> {
    Ok(Authority {
        id: ResourceId::parse(&id).map_err(|e| StoreError::backend("reading an authority", e))?,
        header: ctp_model::resources::Header { name, annotation },
        keys: keys_from_text(&keys)?,
        retired: retired.and_then(Timestamp::from_millis),
    })
}

/// Registers an authority.
pub(crate) fn create(conn: &Connection, new: &NewAuthority) -> StoreResult<Authority> {
    let id = ResourceId::generate();
    conn.execute(
        "INSERT INTO authorities (id, name, annotation, keys) VALUES (?1, ?2, ?3, ?4)",
        params![id.as_str(), new.header.name, new.header.annotation, keys_to_text(&new.keys)],
    )
    .map_err(backend)?;
    load(conn, &id)
}

/// One authority.
pub(crate) fn load(conn: &Connection, id: &ResourceId) -> StoreResult<Authority> {
    let found = conn
        .prepare_cached(&format!("{SELECT} WHERE id = ?1"))
        .and_then(|mut s| s.query_row([id.as_str()], row_of).optional())
        .map_err(backend)?;
    authority_of(found.ok_or_else(|| StoreError::Missing(format!("no authority with id {id}")))?)
}

/// Every authority.
pub(crate) fn list(conn: &Connection) -> StoreResult<Vec<Authority>> {
    let mut statement = conn.prepare_cached(&format!("{SELECT} ORDER BY seq")).map_err(backend)?;
    let rows = statement.query_map([], row_of).map_err(backend)?.collect::<rusqlite::Result<Vec<_>>>();
    rows.map_err(backend)?.into_iter().map(authority_of).collect()
}

/// Applies a change ([`rules::change_authority`]).
pub(crate) fn change(
    conn: &Connection,
    id: &ResourceId,
    change: &AuthorityChange,
    now: Timestamp,
) -> StoreResult<Authority> {
    let mut authority = load(conn, id)?;
    rules::change_authority(&mut authority, change, now)?;
    conn.execute(
        "UPDATE authorities SET keys = ?1, retired_time = ?2 WHERE id = ?3",
        params![keys_to_text(&authority.keys), authority.retired.map(Timestamp::millis), id.as_str()],
    )
    .map_err(backend)?;
    load(conn, id)
}

/// Makes `id` require signed results, or not.
pub(crate) fn set_signing_required(conn: &Connection, id: &ResourceId, required: bool) -> StoreResult<()> {
    let sql = if required {
        "INSERT INTO signing_required (id) VALUES (?1) ON CONFLICT (id) DO NOTHING"
    } else {
        "DELETE FROM signing_required WHERE id = ?1"
    };
    conn.execute(sql, [id.as_str()]).map_err(backend)?;
    Ok(())
}

/// Records whose signature was verified on a measurement's new result (none: unsigned),
/// replacing the previous result's record if it `had` one.
pub(crate) fn save_verification(
    conn: &Connection,
    measurement_id: &ResourceId,
    had: bool,
    verification: Option<&ResultVerification>,
) -> StoreResult<()> {
    if had {
        conn.prepare_cached("DELETE FROM result_verifications WHERE id = ?1")
            .and_then(|mut s| s.execute([measurement_id.as_str()]))
            .map_err(backend)?;
    }
    if let Some(verification) = verification {
        conn.prepare_cached("INSERT INTO result_verifications (id, verification) VALUES (?1, ?2)")
            .and_then(|mut s| s.execute(params![measurement_id.as_str(), verification_to_text(verification)]))
            .map_err(backend)?;
    }
    Ok(())
}
