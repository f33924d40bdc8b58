//! Accounts: who may call the API, with which tags, and the secret that signs their
//! webhooks. Every write here changes `accounts`, which the writer notices by itself to
//! empty the account cache (see `cache`).

use ctp_model::resources::{Account, Kind, Member};
use ctp_model::ResourceId;
use ctp_store::{checks, NewAccount, StoreError, StoreResult};
use rusqlite::{params, Connection};

use crate::rows::{self, backend, tags_to_text};

/// Every account, in creation order.
pub(crate) fn list(conn: &Connection) -> StoreResult<Vec<Member>> {
    rows::members(conn, "SELECT id, name, access_tags FROM accounts ORDER BY seq", [])
}

/// A new account, whose token and id must be free.
pub(crate) fn create(conn: &Connection, account: &NewAccount) -> StoreResult<Account> {
    let token_taken = rows::account_by_token_hash(conn, &account.token_hash)?.is_some();
    checks::account_is_new(account, token_taken, rows::load_account(conn, &account.id).is_ok())?;
    write(conn, account, false)?;
    rows::load_account(conn, &account.id)
}

/// The account as `account` says (the administrator's, from the settings): an existing
/// one keeps its place, its webhook secret (receivers keep verifying) and, when nothing
/// changes, its changeId; another account with its token loses it (it is deleted).
pub(crate) fn ensure(conn: &Connection, account: &NewAccount) -> StoreResult<Account> {
    conn.execute(
        "DELETE FROM accounts WHERE token_hash = ?1 AND id <> ?2",
        params![account.token_hash, account.id.as_str()],
    )
    .map_err(backend)?;
    match rows::load_account(conn, &account.id) {
        Ok(existing) if !checks::account_differs(&existing, account) => return Ok(existing),
        Ok(_) => write(conn, account, true)?,
        Err(_) => write(conn, account, false)?,
    }
    rows::load_account(conn, &account.id)
}

/// A new webhook secret for an account.
pub(crate) fn set_webhook_secret(conn: &Connection, account_id: &ResourceId, secret: &str) -> StoreResult<Account> {
    let change = rows::next_change_id(conn)?;
    let changed = conn
        .execute(
            "UPDATE accounts SET webhook_secret = ?1, change_id = ?2 WHERE id = ?3",
            params![secret, change, account_id.as_str()],
        )
        .map_err(backend)?;
    if changed == 0 {
        return Err(StoreError::NotFound(Kind::Account, account_id.clone()));
    }
    rows::load_account(conn, account_id)
}

/// Writes an account with a new change identifier: a new row, or with `replace` the row
/// of its id rewritten in place, which keeps its place and its webhook secret.
fn write(conn: &Connection, account: &NewAccount, replace: bool) -> StoreResult<()> {
    let change = rows::next_change_id(conn)?;
    let mut sql = "INSERT INTO accounts (id, name, annotation, account_tags, access_tags, token_hash, change_id, \
                   webhook_secret) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        .to_owned();
    if replace {
        sql.push_str(
            " ON CONFLICT (id) DO UPDATE SET name = excluded.name, annotation = excluded.annotation, \
             account_tags = excluded.account_tags, access_tags = excluded.access_tags, \
             token_hash = excluded.token_hash, change_id = excluded.change_id",
        );
    }
    conn.execute(
        &sql,
        params![
            account.id.as_str(),
            account.header.name,
            account.header.annotation,
            tags_to_text(&account.account_tags),
            tags_to_text(&account.access_tags),
            account.token_hash,
            change,
            account.webhook_secret
        ],
    )
    .map_err(backend)?;
    Ok(())
}
