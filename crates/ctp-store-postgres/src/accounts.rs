//! Accounts: their creation (`create`, and `ensure` for accounts a configuration names),
//! listing and webhook secret. Reads of one account are in `rows`; deletion is
//! `hierarchy::delete`'s.

use ctp_model::resources::{Account, Kind, Member};
use ctp_model::ResourceId;
use ctp_store::{checks, NewAccount, StoreError, StoreResult};

use crate::rows::{self, tags_to_text};
use crate::{Context, Tx};

/// Creates an account; its token and id must be free.
pub(crate) async fn create(tx: &Tx<'_>, account: &NewAccount) -> StoreResult<Account> {
    let token_taken = rows::account_by_token_hash(tx, &account.token_hash).await?.is_some();
    let id_taken = rows::load_account(tx, &account.id).await.is_ok();
    checks::account_is_new(account, token_taken, id_taken)?;
    write(tx, account, false).await?;
    rows::load_account(tx, &account.id).await
}

/// Makes sure the account exists as given: an existing one keeps its place, its webhook
/// secret and, when nothing changes, its changeId; another account with its token loses
/// it (it is deleted).
pub(crate) async fn ensure(tx: &Tx<'_>, account: &NewAccount) -> StoreResult<Account> {
    tx.execute("DELETE FROM accounts WHERE token_hash = $1 AND id <> $2", &[&account.token_hash, &account.id.as_str()])
        .await
        .context("deleting the account that had a token")?;
    match rows::load_account(tx, &account.id).await {
        Ok(existing) if !checks::account_differs(&existing, account) => return Ok(existing),
        Ok(_) => write(tx, account, true).await?,
        Err(_) => write(tx, account, false).await?,
    }
    rows::load_account(tx, &account.id).await
}

/// Writes an account with a new change identifier: a new row, or with `replace` the row
/// of its id rewritten in place, which keeps its place and its webhook secret.
async fn write(tx: &Tx<'_>, account: &NewAccount, replace: bool) -> StoreResult<()> {
    let change = rows::next_change_id(tx).await?;
    let mut sql = "INSERT INTO accounts (id, name, annotation, account_tags, access_tags, token_hash, change_id, \
                   webhook_secret) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        .to_owned();
    if replace {
        sql.push_str(
            " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, annotation = EXCLUDED.annotation, \
             account_tags = EXCLUDED.account_tags, access_tags = EXCLUDED.access_tags, \
             token_hash = EXCLUDED.token_hash, change_id = EXCLUDED.change_id",
        );
    }
    tx.execute(
        &sql,
        &[
            &account.id.as_str(),
            &account.header.name,
            &account.header.annotation,
            &tags_to_text(&account.account_tags),
            &tags_to_text(&account.access_tags),
            &account.token_hash,
            &change,
            &account.webhook_secret,
        ],
    )
    .await
    .context("writing an account")?;
    Ok(())
}

/// Every account, in creation order.
pub(crate) async fn list(tx: &Tx<'_>) -> StoreResult<Vec<Member>> {
    rows::members(tx, "SELECT id, name, access_tags FROM accounts ORDER BY seq", &[]).await
}

/// Replaces the webhook secret of an account.
pub(crate) async fn set_webhook_secret(tx: &Tx<'_>, account_id: &ResourceId, secret: &str) -> StoreResult<Account> {
    let change = rows::next_change_id(tx).await?;
    let changed = tx
        .execute(
            "UPDATE accounts SET webhook_secret = $1, change_id = $2 WHERE id = $3",
            &[&secret, &change, &account_id.as_str()],
        )
        .await
        .context("setting a webhook secret")?;
    if changed == 0 {
        return Err(StoreError::NotFound(Kind::Account, account_id.clone()));
    }
    rows::load_account(tx, account_id).await
}
