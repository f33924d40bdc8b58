//! Accounts of the back office (2.1, 3.2): tokens are returned once, at creation, and
//! stored only hashed.

use axum::body::Bytes;
use axum::extract::Path;
use axum::response::Response;
use ctp_model::resources::{Header, Kind, Ref};
use ctp_model::tags::{account_tag, ACCOUNT_PREFIX, ROLE_ADMIN};
use ctp_model::ResourceId;
use ctp_store::NewAccount;
use serde::de::IgnoredAny;
use serde::Deserialize;

use super::{body, collection_response, created, delete_resource, get_or_tags, ok, put_tags_only};
use crate::auth::{generate_token, generate_webhook_secret, token_hash};
use crate::context::{parse_id, Ctx};
use crate::encode::{self, AccountJson, CollectionJson};
use crate::error::{ApiError, ApiResult};
use crate::openapi::answers::{AccountAnswer, AccountPutAnswer};
use crate::openapi::params::{GetAccount, Id, Page, PutAccount};
use crate::openapi::{BadRequest, Conflict, NotFound};

/// `GET /accounts`
#[utoipa::path(get, path = "/accounts", tag = "back office", params(Page), responses(
    (status = 200, description = "The accounts the caller may see", body = CollectionJson),
    (status = 400, response = BadRequest)))]
pub async fn list_accounts(ctx: Ctx) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    let members = ctx.state.store.accounts().await?;
    collection_response(&ctx, "accounts", ctx.base.clone(), Kind::Account, members, true)
}

/// `GET /accounts/{id}`, `?x=tags` and `?x=webhookSecret`.
#[utoipa::path(get, path = "/accounts/{id}", tag = "back office", params(Id, GetAccount), responses(
    (status = 200, description = "The account (without its token), its access tags (x=tags) or its webhook secret \
        (x=webhookSecret)", body = AccountAnswer),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
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
#[utoipa::path(put, path = "/accounts/{id}", tag = "back office", params(Id, PutAccount),
    request_body(content = Option<PutAccountBody>, description = "x=tags: a tag resource; x=webhookSecret: the \
        secret to set, or no body (or {}) for a new random one"),
    responses(
        (status = 200, description = "The new access tags or webhook secret", body = AccountPutAnswer),
        (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn put_account(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    if super::put_operation(&ctx)?.as_deref() == Some("webhookSecret") {
        return webhook_secret(ctx, id, Some(&bytes)).await;
    }
    put_tags_only(ctx, Ref { kind: Kind::Account, id }, bytes).await
}

/// The body of `PUT /accounts/{id}`: the one `x` selects (documentation only).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub(crate) enum PutAccountBody {
    /// `x=tags`.
    Tags(super::TagsBody),
    /// `x=webhookSecret`.
    WebhookSecret(WebhookSecretBody),
}

/// The body of `PUT ?x=webhookSecret`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(as = WebhookSecretBody)]
pub(crate) struct WebhookSecretBody {
    /// The secret to use (`whsec_` and the base64 of at least 24 bytes); `null` or absent: a
    /// new random one.
    #[serde(default)]
    #[schema(pattern = "^whsec_(?:[A-Za-z0-9+/]{4}){8,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")]
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
    Ok(ok(&encode::webhook_secret(&ctx, &account)))
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
#[utoipa::path(delete, path = "/accounts/{id}", tag = "back office", params(Id), responses(
    (status = 204, description = "Deleted: its token no longer works"),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn delete_account(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    delete_resource(&ctx, Ref { kind: Kind::Account, id: parse_id(&id)? }).await
}

/// The body that creates an account: an account as `GET` returns it (`self` and `changeId`
/// ignored), plus `accessTags`, and optionally the `token` and `webhookSecret` to use.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(as = NewAccount)]
pub(crate) struct AccountBody {
    /// A name.
    #[serde(default)]
    name: String,
    /// A description.
    #[serde(default)]
    annotation: String,
    /// Its rights (required): role tags and the tags of what it may access; `account:...`
    /// tags are the server's and ignored, and at least one other is needed.
    #[serde(default)]
    #[schema(value_type = Vec<String>, required = true, min_items = 1)]
    account_tags: Option<Vec<String>>,
    /// Who may read the account (default `["role:admin"]`).
    #[serde(default)]
    access_tags: Option<Vec<String>>,
    /// The token to use: at least 16 characters without white space (default: a new random
    /// one); a token another account has is a 409.
    #[serde(default)]
    #[schema(min_length = 16)]
    token: Option<String>,
    /// The webhook secret to use (`whsec_` and the base64 of at least 24 bytes; default: a
    /// new random one).
    #[serde(default)]
    #[schema(pattern = "^whsec_(?:[A-Za-z0-9+/]{4}){8,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")]
    webhook_secret: Option<String>,
    /// Ignored (the server sets it).
    #[serde(default, rename = "self")]
    #[schema(value_type = Value)]
    _self: IgnoredAny,
    /// Ignored.
    #[serde(default, rename = "changeId")]
    #[schema(value_type = Value)]
    _change_id: IgnoredAny,
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
#[utoipa::path(post, path = "/accounts", tag = "back office", request_body = AccountBody, responses(
    (status = 201, description = "The new account, with its token and webhook secret (shown only here)",
        body = AccountJson, headers(("Location" = String, description = "The new account's URL"))),
    (status = 400, response = BadRequest),
    (status = 409, response = Conflict)))]
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
