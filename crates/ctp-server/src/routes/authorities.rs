//! Authorities (issue 14, a back-office extension): who measures and signs results, with
//! their public keys. Administrators register them, add keys and retire keys or whole
//! authorities; any account may read them (customers verify signatures with these keys).
//! Nothing is ever deleted: a retired key stays listed with the end of its validity, so that
//! the signatures it made can still be checked.

use axum::body::Bytes;
use axum::extract::Path;
use axum::response::Response;
use ctp_model::resources::{Authority, AuthorityKey, Header};
use ctp_model::tags::ROLE_ADMIN;
use ctp_model::{ResourceId, Timestamp};
use ctp_store::{AuthorityChange, NewAuthority};
use serde::{Deserialize, Serialize};

use super::{body, created, ok, unknown_operation};
use crate::context::{parse_id, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::openapi::params::{Id, PutAuthority};
use crate::openapi::{BadRequest, Conflict, NotFound};

/// The most keys one authority holds.
const MAX_KEYS: usize = 100;
/// The longest key id.
const MAX_KID: usize = 128;

/// A key in a request body: the public key as a JWK or as PEM (SPKI), its key id, and
/// optionally when it is valid.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(as = NewAuthorityKey)]
pub(crate) struct KeyBody {
    /// The key id signatures name it by (the JWS header's `kid`): 1 to 128 printable
    /// characters, never reused within the authority.
    kid: String,
    /// The public key as a JWK (RSA ≥ 2048 bits for RS256, EC P-256 for ES256, OKP Ed25519
    /// for EdDSA); or give `pem`.
    #[schema(value_type = Option<Object>)]
    jwk: Option<serde_json::Map<String, serde_json::Value>>,
    /// The public key in PEM (`-----BEGIN PUBLIC KEY-----`, as `openssl pkey -pubout`
    /// prints it); or give `jwk`.
    pem: Option<String>,
    /// Valid from (RFC 3339); unbounded when absent.
    #[schema(format = DateTime)]
    not_before: Option<String>,
    /// Valid until (RFC 3339); unbounded when absent (retiring the key sets it).
    #[schema(format = DateTime)]
    not_after: Option<String>,
}

/// The body of `POST /authorities`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(as = NewAuthority)]
pub(crate) struct AuthorityBody {
    /// A name, possibly empty.
    #[serde(default)]
    name: String,
    /// A description, possibly empty.
    #[serde(default)]
    annotation: String,
    /// Its keys, at least one.
    keys: Vec<KeyBody>,
    /// Ignored (the server sets it).
    #[serde(default, rename = "self")]
    #[schema(value_type = serde_json::Value)]
    _self: serde::de::IgnoredAny,
    /// Ignored.
    #[serde(default, rename = "retired")]
    #[schema(value_type = serde_json::Value)]
    _retired: serde::de::IgnoredAny,
    /// Ignored.
    #[serde(default, rename = "retireTime")]
    #[schema(value_type = serde_json::Value)]
    _retire_time: serde::de::IgnoredAny,
}

/// The body of `PUT /authorities/{id}?x=retireKey`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RetireKeyBody)]
pub(crate) struct RetireKeyBody {
    /// The key to retire.
    kid: String,
}

/// The body of `?x=retire`: none, or an empty object.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RetireBody)]
pub(crate) struct EmptyBody {}

/// The body of `PUT /authorities/{id}`: the one `x` selects (documentation only).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub(crate) enum PutAuthorityBody {
    /// `x=retireKey`.
    RetireKey(RetireKeyBody),
    /// `x=retire`.
    Retire(EmptyBody),
}

/// An authority.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Authority)]
pub(crate) struct AuthorityJson {
    /// The authority's URL; its id is what results name as `authorityId`.
    #[serde(rename = "self")]
    #[schema(format = "uri")]
    self_link: String,
    /// A name, possibly empty.
    name: String,
    /// A description, possibly empty.
    annotation: String,
    /// Whether it was retired (no result it signs is accepted since).
    retired: bool,
    /// When it was retired.
    #[schema(format = DateTime)]
    retire_time: Option<String>,
    /// Its keys, in the order they were added.
    keys: Vec<KeyJson>,
}

/// A public key of an authority.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AuthorityKey)]
pub(crate) struct KeyJson {
    /// Its key id.
    kid: String,
    /// The JWS algorithm it verifies: `RS256`, `ES256` or `EdDSA`.
    algorithm: String,
    /// The public key as a JWK.
    #[schema(value_type = Object)]
    jwk: serde_json::Map<String, serde_json::Value>,
    /// Valid from.
    #[schema(format = DateTime)]
    not_before: Option<String>,
    /// Valid until (set when the key is retired).
    #[schema(format = DateTime)]
    not_after: Option<String>,
}

fn encode(ctx: &Ctx, authority: &Authority) -> AuthorityJson {
    let time = |ms: Option<i64>| ms.and_then(Timestamp::from_millis).map(|t| t.to_string());
    AuthorityJson {
        self_link: authority_link(ctx, &authority.id),
        name: authority.header.name.clone(),
        annotation: authority.header.annotation.clone(),
        retired: authority.retired.is_some(),
        retire_time: authority.retired.map(|t| t.to_string()),
        keys: authority
            .keys
            .iter()
            .map(|k| KeyJson {
                kid: k.kid.clone(),
                algorithm: k.algorithm.clone(),
                jwk: k.jwk.clone(),
                not_before: time(k.not_before),
                not_after: time(k.not_after),
            })
            .collect(),
    }
}

fn authority_link(ctx: &Ctx, id: &ResourceId) -> String {
    format!("{}authorities/{id}", ctx.base)
}

/// Checks a key of a request body: a usable public key, a key id, RFC 3339 bounds.
fn key_of(body: KeyBody) -> ApiResult<AuthorityKey> {
    let kid = body.kid;
    if kid.is_empty() || kid.chars().count() > MAX_KID || kid.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!("kid: 1 to {MAX_KID} characters, no control characters")));
    }
    let public = match (body.jwk, body.pem) {
        (Some(jwk), None) => ctp_jws::PublicKey::from_jwk_members(&jwk),
        (None, Some(pem)) => ctp_jws::PublicKey::from_spki_pem(&pem),
        _ => {
            return Err(ApiError::bad_request(format!(
                "key {kid:?}: give its public key as jwk or as pem, one of them"
            )))
        }
    }
    .map_err(|e| ApiError::bad_request(format!("key {kid:?}: {e}")))?;
    let bound = |name: &str, text: Option<String>| -> ApiResult<Option<i64>> {
        text.map(|t| {
            Timestamp::parse_rfc3339(&t)
                .map(Timestamp::millis)
                .ok_or_else(|| ApiError::bad_request(format!("key {kid:?}: {name} {t:?} is not an RFC 3339 time")))
        })
        .transpose()
    };
    let not_before = bound("notBefore", body.not_before)?;
    let not_after = bound("notAfter", body.not_after)?;
    if let (Some(start), Some(end)) = (not_before, not_after) {
        if end < start {
            return Err(ApiError::bad_request(format!("key {kid:?}: notAfter is before notBefore")));
        }
    }
    Ok(AuthorityKey {
        algorithm: public.algorithm().name().to_owned(),
        jwk: public.to_jwk(),
        kid,
        not_before,
        not_after,
    })
}

/// `POST /authorities`
#[utoipa::path(post, path = "/authorities", tag = "extensions", request_body = AuthorityBody, responses(
    (status = 201, description = "The new authority", body = AuthorityJson,
        headers(("Location" = String, description = "The authority's URL"))),
    (status = 400, response = BadRequest)))]
pub async fn create_authority(ctx: Ctx, bytes: Bytes) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    let new: AuthorityBody = body(&bytes)?;
    if new.keys.is_empty() || new.keys.len() > MAX_KEYS {
        return Err(ApiError::bad_request(format!("keys: 1 to {MAX_KEYS} keys")));
    }
    let mut keys: Vec<AuthorityKey> = Vec::new();
    for key in new.keys {
        let key = key_of(key)?;
        if keys.iter().any(|k| k.kid == key.kid) {
            return Err(ApiError::bad_request(format!("keys: two keys have the kid {:?}", key.kid)));
        }
        keys.push(key);
    }
    let header = Header { name: new.name, annotation: new.annotation };
    let authority = ctx.state.store.create_authority(NewAuthority { header, keys }).await?;
    tracing::info!(authority = %authority.id, by = %ctx.caller.account.id, "authority registered");
    Ok(created(authority_link(&ctx, &authority.id), &encode(&ctx, &authority)))
}

/// `GET /authorities`: any account may list them.
#[utoipa::path(get, path = "/authorities", tag = "extensions", params(crate::openapi::params::Page), responses(
    (status = 200, description = "The authorities, in registration order", body = crate::encode::CollectionJson),
    (status = 400, response = BadRequest)))]
pub async fn list_authorities(ctx: Ctx) -> ApiResult<Response> {
    let query = crate::query::CollectionQuery::parse(ctx.query.as_deref())?;
    let all = ctx.state.store.authorities().await?;
    let named: Vec<&Authority> =
        all.iter().filter(|a| query.name.as_ref().is_none_or(|name| &a.header.name == name)).collect();
    let total = named.len() as u64;
    let window: Vec<&Authority> = match query.window {
        Some(w) => named.into_iter().skip(w.offset as usize).take(w.limit as usize).collect(),
        None => named,
    };
    Ok(ok(&serde_json::json!({
        "self": ctx.self_link("authorities"),
        "scope": ctx.base,
        "collectionLength": total,
        "returnedLength": window.len(),
        "collectionType": "authorities",
        "collection": window.iter().map(|a| serde_json::json!({
            "link": authority_link(&ctx, &a.id),
            "name": a.header.name,
        })).collect::<Vec<_>>(),
    })))
}

/// `GET /authorities/{id}`: any account may read one.
#[utoipa::path(get, path = "/authorities/{id}", tag = "extensions", params(Id), responses(
    (status = 200, description = "The authority and its keys", body = AuthorityJson),
    (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn get_authority(ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    if let Some(x) = crate::query::operation(ctx.query.as_deref()) {
        return Err(unknown_operation(&x, "GET", "/authorities/{id}"));
    }
    let authority = ctx.state.store.authority(&parse_id(&id)?).await?;
    Ok(ok(&encode(&ctx, &authority)))
}

/// `POST /authorities/{id}/keys`: adds a key (rotation: add the new key, then retire the
/// old one).
#[utoipa::path(post, path = "/authorities/{id}/keys", tag = "extensions", params(Id), request_body = KeyBody,
    responses(
        (status = 201, description = "The authority with its new key", body = AuthorityJson,
            headers(("Location" = String, description = "The authority's URL"))),
        (status = 400, response = BadRequest), (status = 404, response = NotFound),
        (status = 409, response = Conflict)))]
pub async fn add_key(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    let id = parse_id(&id)?;
    let key = key_of(body(&bytes)?)?;
    let authority = ctx.state.store.authority(&id).await?;
    if authority.keys.len() >= MAX_KEYS {
        return Err(ApiError::bad_request(format!("an authority holds at most {MAX_KEYS} keys")));
    }
    let authority = ctx.state.store.change_authority(&id, AuthorityChange::AddKey(key), Timestamp::now()).await?;
    Ok(created(authority_link(&ctx, &authority.id), &encode(&ctx, &authority)))
}

/// `PUT /authorities/{id}?x=retireKey` (body `{"kid"}`: the key's validity ends now) or
/// `?x=retire` (the whole authority).
#[utoipa::path(put, path = "/authorities/{id}", tag = "extensions", params(Id, PutAuthority),
    request_body(content = Option<PutAuthorityBody>, description = "With x=retireKey: the key; with x=retire: none or {}"),
    responses(
        (status = 200, description = "The authority as it is now", body = AuthorityJson),
        (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn put_authority(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> ApiResult<Response> {
    ctx.caller.require_role(ROLE_ADMIN)?;
    let id = parse_id(&id)?;
    let change = match crate::query::operation(ctx.query.as_deref()).as_deref() {
        Some("retireKey") => {
            let RetireKeyBody { kid } = body(&bytes)?;
            AuthorityChange::RetireKey { kid }
        }
        Some("retire") => {
            if !bytes.iter().all(u8::is_ascii_whitespace) {
                let _: EmptyBody = body(&bytes)?;
            }
            AuthorityChange::Retire
        }
        Some(x) => return Err(unknown_operation(x, "PUT", "/authorities/{id}")),
        None => return Err(ApiError::bad_request("PUT /authorities/{id} needs ?x=retireKey or ?x=retire")),
    };
    let authority = ctx.state.store.change_authority(&id, change, Timestamp::now()).await?;
    tracing::info!(authority = %id, by = %ctx.caller.account.id, "authority changed");
    Ok(ok(&encode(&ctx, &authority)))
}
