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
    insert(tx, account).await?;
    rows::load_account(tx, &account.id).await
}

/// Makes sure the account exists as given: an existing one keeps its place, its webhook
/// secret and, when nothing changes, its changeId; another account with its token loses
/// it (it is deleted).
pub(crate) async fn ensure(tx: &Tx<'_>, account: &NewAccount) -> StoreResult<Account> {
    tx.execute("DELETE FROM accounts WHERE token_hash = $1 AND id <> $2", &[&account.token_hash, &account.id.as_str()])
        .await
        .context("deleting the account that had a token")?;
    let Ok(existing) = rows::load_account(tx, &account.id).await else {
        insert(tx, account).await?;
        return rows::load_account(tx, &account.id).await;
    };
    if !checks::account_differs(&existing, account) {
        return Ok(existing);
    }
    let change = rows::next_change_id(tx).await?;
    tx.execute(
        "UPDATE accounts SET name = $1, annotation = $2, account_tags = $3, access_tags = $4, token_hash = $5, \
         change_id = $6 WHERE id = $7",
        &[
            &account.header.name,
            &account.header.annotation,
            &tags_to_text(&account.account_tags),
            &tags_to_text(&account.access_tags),
            &account.token_hash,
            &change,
            &account.id.as_str(),
        ],
    )
    .await
    .context("updating an account")?;
    rows::load_account(tx, &account.id).await
}

async fn insert(tx: &Tx<'_>, account: &NewAccount) -> StoreResult<()> {
    let change = rows::next_change_id(tx).await?;
    tx.execute(
        "INSERT INTO accounts (id, name, annotation, account_tags, access_tags, token_hash, change_id, webhook_secret) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
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
    .context("inserting an account")?;
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
