//! Accounts of the back office (2.1, 3.2): tokens are returned once, at creation, and
//! stored only hashed.

use axum::body::Bytes;
use axum::extract::Path;
use axum::response::Response;
use ctp_model::resources::{Header, Kind, Ref};
use ctp_model::tags::{account_tag, ACCOUNT_PREFIX, ROLE_ADMIN};
use ctp_model::ResourceId;
use ctp_store::NewAccount;
use serde::Deserialize;

use super::{body, collection_response, created, delete_resource, get_or_tags, ok, put_tags_only};
use crate::auth::{generate_token, generate_webhook_secret, token_hash};
use crate::context::{parse_id, Ctx};
use crate::encode;
use crate::error::{ApiError, ApiResult};

/// `GET /accounts`
pub async fn list_accounts(ctx: Ctx) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    let members = ctx.state.store.accounts().await?;
    collection_response(&ctx, "accounts", ctx.base.clone(), Kind::Account, members, true)
}

/// `GET /accounts/{id}`, `?x=tags` and `?x=webhookSecret`.
pub async fn get_account(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    if crate::query::operation(ctx.query.as_deref()).as_deref() == Some("webhookSecret") {
        return webhook_secret(ctx, id, None).await;
    }
    get_or_tags(ctx, Ref { kind: Kind::Account, id: id.clone() }, |ctx| async move {
        ctx.caller.require_role(ROLE_ADMIN)?;
        let account = ctx.state.store.account(&id).await?;
        ctx.caller.require_access(&account.access_tags, "this account")?;
        Ok(ok(&encode::account(&ctx, &account, None)))
    })
    .await
}

/// `PUT /accounts/{id}?x=tags` (the access tags; account tags do not change), and
/// `PUT /accounts/{id}?x=webhookSecret` (sets or, with `{}`, regenerates the secret that
/// signs the webhooks of the account's triggers).
pub async fn put_account(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    if crate::query::operation(ctx.query.as_deref()).as_deref() == Some("webhookSecret") {
        return webhook_secret(ctx, id, Some(&bytes)).await;
    }
    put_tags_only(ctx, Ref { kind: Kind::Account, id }, bytes).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct WebhookSecretBody {
    #[serde(default)]
    webhook_secret: Option<String>,
}

/// `GET` and `PUT /accounts/{id}?x=webhookSecret`: administrators read or replace the
/// secret they hand to the account's owner for verifying webhooks.
async fn webhook_secret(ctx: Ctx, id: ResourceId, put: Option<&Bytes>) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    let store = &ctx.state.store;
    let account = store.account(&id).await?;
    ctx.caller.require_access(&account.access_tags, "this account")?;
    let account = match put {
        None => account,
        Some(bytes) => {
            let WebhookSecretBody { webhook_secret } =
                if bytes.is_empty() { WebhookSecretBody { webhook_secret: None } } else { body(bytes)? };
            store.set_webhook_secret(&id, chosen_or_new_secret(webhook_secret)?).await?
        }
    };
    Ok(ok(&serde_json::json!({
        "self": format!("{}?x=webhookSecret", ctx.link(Kind::Account, &id)),
        "webhookSecret": account.webhook_secret,
    })))
}

/// A webhook secret given by an administrator (checked), or a new random one.
fn chosen_or_new_secret(secret: Option<String>) -> ApiResult<String> {
    match secret {
        Some(secret) => {
            crate::notify::webhook::secret_key(&secret).map_err(ApiError::bad_request)?;
            Ok(secret)
        }
        None => Ok(generate_webhook_secret()),
    }
}

/// `DELETE /accounts/{id}`
pub async fn delete_account(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    delete_resource(&ctx, Ref { kind: Kind::Account, id: parse_id(&id)? }).await
}

creation_body! {
    /// The body that creates an account: an account as `GET` returns it (`self` and `changeId`
    /// ignored), plus `accessTags`, and optionally the `token` and `webhookSecret` to use.
    struct AccountBody {
        #[serde(default)]
        name: String,
        #[serde(default)]
        annotation: String,
        #[serde(default)]
        account_tags: Option<Vec<String>>,
        #[serde(default)]
        access_tags: Option<Vec<String>>,
        #[serde(default)]
        token: Option<String>,
        #[serde(default)]
        webhook_secret: Option<String>,
    }
    computed {  }
}

/// The rights of a new account: its `accountTags` without the identity tags `account:…`,
/// which the server assigns (a copied account must not act as the original). An account
/// with no rights could do nothing, so it is refused (the back office's example 4.37 puts
/// the rights in `accessTags`, which say who may read the account).
fn account_rights(account_tags: Option<Vec<String>>) -> ApiResult<Vec<String>> {
    const MEANING: &str = "an account's rights are its accountTags (for example [\"role:user\", \"customer:h1\"]); \
                           its accessTags only say who may read the account itself (default [\"role:admin\"])";
    let Some(tags) = account_tags else {
        return Err(ApiError::bad_request(format!("accountTags is missing: {MEANING}")));
    };
    let rights: Vec<String> = tags.into_iter().filter(|t| !t.starts_with(ACCOUNT_PREFIX)).collect();
    if rights.is_empty() {
        return Err(ApiError::bad_request(format!(
            "accountTags gives no rights (account:… tags are assigned by the server): {MEANING}"
        )));
    }
    Ok(rights)
}

/// Shortest token accepted when the caller chooses it.
const MIN_TOKEN_LENGTH: usize = 16;

/// `POST /accounts`: creates an account with a generated or a given token; the answer is
/// the only place the token ever appears.
pub async fn create_account(ctx: Ctx, bytes: Bytes) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    let new: AccountBody = body(&bytes)?;
    let token = match new.token {
        Some(token) if token.len() < MIN_TOKEN_LENGTH || token.contains(char::is_whitespace) => {
            return Err(ApiError::bad_request(format!(
                "token must be at least {MIN_TOKEN_LENGTH} characters without white space"
            )))
        }
        Some(token) => token,
        None => generate_token(),
    };
    let mut account_tags = account_rights(new.account_tags)?;
    let webhook_secret = chosen_or_new_secret(new.webhook_secret)?;
    let id = ResourceId::generate();
    account_tags.push(account_tag(id.as_str()));
    let account = ctx
        .state
        .store
        .create_account(NewAccount {
            id,
            header: Header { name: new.name, annotation: new.annotation },
            account_tags,
            access_tags: new.access_tags.unwrap_or_else(|| vec![ROLE_ADMIN.to_owned()]),
            token_hash: token_hash(&token),
            webhook_secret,
        })
        .await?;
    Ok(created(ctx.link(Kind::Account, &account.id), &encode::account(&ctx, &account, Some(token))))
}
