//! Accounts: who may call the API, with which tags, and the secret that signs their
//! webhooks. Every write here changes `accounts`, which the writer notices by itself to
//! empty the account cache (see `cache`).

use ctp_model::resources::{Account, Kind};
use ctp_model::ResourceId;
use ctp_store::{checks, NewAccount, StoreError, StoreResult};
use rusqlite::{params, Connection};

use crate::rows::{self, backend, tags_to_text};

/// A new account, whose token and id must be free.
pub(crate) fn create(conn: &Connection, account: &NewAccount) -> StoreResult<Account> {
    let token_taken = rows::account_by_token_hash(conn, &account.token_hash)?.is_some();
    checks::account_is_new(account, token_taken, rows::load_account(conn, &account.id).is_ok())?;
    insert(conn, account)?;
    rows::load_account(conn, &account.id)
}

/// The account as `account` says (the administrator's, from the settings): an existing
/// one keeps its place, its webhook secret (receivers keep verifying) and, when nothing
/// changes, its changeId; another account with its token loses it.
pub(crate) fn ensure(conn: &Connection, account: &NewAccount) -> StoreResult<Account> {
    conn.execute(
        "DELETE FROM accounts WHERE token_hash = ?1 AND id <> ?2",
        params![account.token_hash, account.id.as_str()],
    )
    .map_err(backend)?;
    let Ok(existing) = rows::load_account(conn, &account.id) else {
        insert(conn, account)?;
        return rows::load_account(conn, &account.id);
    };
    if !checks::account_differs(&existing, account) {
        return Ok(existing);
    }
    let change = rows::next_change_id(conn)?;
    conn.execute(
        "UPDATE accounts SET name = ?1, annotation = ?2, account_tags = ?3, access_tags = ?4, \
         token_hash = ?5, change_id = ?6 WHERE id = ?7",
        params![
            account.header.name,
            account.header.annotation,
            tags_to_text(&account.account_tags),
            tags_to_text(&account.access_tags),
            account.token_hash,
            change,
            account.id.as_str()
        ],
    )
    .map_err(backend)?;
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

fn insert(conn: &Connection, account: &NewAccount) -> StoreResult<()> {
    let change = rows::next_change_id(conn)?;
    conn.execute(
        "INSERT INTO accounts (id, name, annotation, account_tags, access_tags, token_hash, change_id, webhook_secret) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
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
