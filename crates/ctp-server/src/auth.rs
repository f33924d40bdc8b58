//! Authentication by bearer token and authorization by tags (the decisions page's access
//! control). Tokens are stored as SHA-256 hashes and compared in constant time.

use ctp_model::resources::Account;
use ctp_model::tags::{any_match, WILDCARD};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{ApiError, ApiResult};

/// The hash under which a token is stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new random token: 192 bits, base64url.
pub fn generate_token() -> String {
    use base64::Engine;
    use rand::Rng;
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A new webhook secret: `whsec_` and 32 random bytes in base64 (Standard Webhooks).
pub fn generate_webhook_secret() -> String {
    use base64::Engine;
    use rand::Rng;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{}{}", crate::notify::webhook::SECRET_PREFIX, base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// The token of an `Authorization: Bearer ...` header value.
pub fn bearer_token(header: Option<&str>) -> ApiResult<&str> {
    let Some(value) = header else {
        return Err(ApiError::unauthorized("this call needs an `Authorization: Bearer <token>` header"));
    };
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => Ok(token.trim()),
        _ => Err(ApiError::unauthorized("the Authorization header must be `Bearer <token>`")),
    }
}

/// Checks that the account found by hash really has this token's hash, in constant time.
pub fn verify(account: Option<Account>, token: &str) -> ApiResult<Account> {
    let presented = token_hash(token);
    match account {
        Some(account) if bool::from(account.token_hash.as_bytes().ct_eq(presented.as_bytes())) => Ok(account),
        _ => Err(ApiError::unauthorized("unknown token")),
    }
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The caller's account.
    pub account: Account,
}

impl Caller {
    /// The call's signature tag (`role:user`, `role:agent`, `role:admin`) must match one of
    /// the caller's tags.
    pub fn require_role(&self, role: &str) -> ApiResult<()> {
        if any_match(&self.account.account_tags, &[role]) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("this call needs an account with the tag {role}")))
        }
    }

    /// One of the caller's tags must match one of the resource's (or, for a collection, of
    /// the resource that scopes it).
    pub fn require_access(&self, resource_tags: &[String], what: &str) -> ApiResult<()> {
        if any_match(&self.account.account_tags, resource_tags) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("this account has no access to {what}")))
        }
    }

    /// Whether the caller may see a resource with these tags (for global collections).
    pub fn can_see(&self, resource_tags: &[String]) -> bool {
        any_match(&self.account.account_tags, resource_tags)
    }

    /// The tags one of which a resource must carry for the caller to see it, for filters
    /// run by the store (the caller's tags and the wildcard); `None` when the caller sees
    /// everything. The same rule as [`Caller::can_see`].
    pub fn visibility_filter(&self) -> Option<Vec<String>> {
        let tags = &self.account.account_tags;
        if tags.iter().any(|t| t == WILDCARD) {
            return None;
        }
        Some(tags.iter().cloned().chain([WILDCARD.to_owned()]).collect())
    }
}
