//! What every handler gets: the shared state (defined and built here: [`AppState::new`]),
//! the authenticated caller, and `{CtpBase}` for building links.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use ctp_model::resources::Kind;
use ctp_model::{ConditionCache, ResourceId};
use ctp_store::Store;

use crate::auth::{self, Caller};
use crate::error::{ApiError, ApiResult};

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The base path of the API, starting and ending with `/` (default `/api/1.0/`).
    pub base_path: String,
    /// The public URL of `{CtpBase}`; without it, links use the request's `Host`.
    pub public_url: Option<String>,
    /// The entry point's `name`.
    pub name: String,
    /// The entry point's `annotation`.
    pub annotation: String,
    /// The entry point's `provider`.
    pub provider: String,
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Origins of browser clients allowed to call the API cross-origin (CORS); `*` for
    /// any; none by default.
    pub cors_origins: Vec<String>,
    /// What one account may use.
    pub limits: crate::limits::Limits,
    /// Where webhooks may go: a trigger whose `notification` it refuses is not created.
    pub webhook_policy: crate::notify::policy::WebhookPolicy,
    /// Whether the web dashboard is served (at `/`; see [`crate::dashboard`]).
    pub dashboard: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            base_path: "/api/1.0/".into(),
            public_url: None,
            name: "ctpd".into(),
            annotation: "Cloud Trust Protocol server".into(),
            provider: String::new(),
            body_limit: 1 << 20,
            cors_origins: Vec::new(),
            limits: crate::limits::Limits::default(),
            webhook_policy: Default::default(),
            dashboard: true,
        }
    }
}

/// State shared by every request.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Compiled conditions, shared by every push.
    pub conditions: Arc<ConditionCache>,
    /// Settings.
    pub config: Arc<ServerConfig>,
    /// The notification outbox's wake-up call and counters.
    pub outbox: Arc<crate::notify::Outbox>,
    /// Requests per second per account.
    pub request_rate: Arc<crate::limits::RequestRate>,
    /// Where the clock timer ([`crate::timer`]) reads the time.
    pub clock: Arc<dyn crate::timer::Clock>,
    /// The OSSEC/Wazuh feed, once started ([`crate::ossec::start`]).
    pub ossec: Arc<std::sync::OnceLock<Arc<crate::ossec::Feed>>>,
    /// The transparency log's key, loaded on first use ([`crate::ledger`]).
    pub ledger: Arc<crate::ledger::Ledger>,
}

impl AppState {
    /// The state of a server on `store`.
    pub fn new(store: Arc<dyn Store>, config: ServerConfig) -> AppState {
        let request_rate = Arc::new(crate::limits::RequestRate::new(config.limits.requests_per_second));
        AppState {
            store,
            conditions: Arc::new(ConditionCache::default()),
            config: Arc::new(config),
            outbox: Arc::new(crate::notify::Outbox::default()),
            request_rate,
            clock: Arc::new(crate::timer::SystemClock),
            ossec: Arc::default(),
            ledger: Arc::default(),
        }
    }
}

/// The context of one authenticated request.
pub struct Ctx {
    /// Shared state.
    pub state: AppState,
    /// Who is calling.
    pub caller: Caller,
    /// `{CtpBase}`, ending with `/`.
    pub base: String,
    /// The query string as received, for `self` links.
    pub query: Option<String>,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Ctx, ApiError> {
        // A change the audit trail records was authenticated and counted there already.
        let account = match parts.extensions.remove::<crate::audit::Authenticated>() {
            Some(crate::audit::Authenticated(account)) => account,
            None => {
                let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
                let account = authenticate(state, header).await?;
                state.request_rate.check(&account.id)?;
                account
            }
        };
        Ok(Ctx {
            base: ctp_base(&state.config, parts),
            caller: Caller { account },
            query: parts.uri.query().map(str::to_owned),
            state: state.clone(),
        })
    }
}

/// The account of an `Authorization: Bearer` header value: 401 without one, or with an
/// unknown token.
pub async fn authenticate(state: &AppState, header: Option<&str>) -> ApiResult<ctp_model::resources::Account> {
    let token = auth::bearer_token(header)?;
    let found = state.store.account_by_token_hash(&auth::token_hash(token)).await?;
    auth::verify(found, token)
}

/// `{CtpBase}`: the configured public URL, else the scheme and `Host` of the request and
/// the base path. The scheme is `https` on a TLS connection, else `X-Forwarded-Proto` (from
/// a proxy that ends TLS) or `http`.
fn ctp_base(config: &ServerConfig, parts: &Parts) -> String {
    if let Some(url) = &config.public_url {
        return url.clone();
    }
    let headers = &parts.headers;
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let scheme = if parts.extensions.get::<crate::listen::Https>().is_some() {
        "https"
    } else {
        headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()).unwrap_or("http")
    };
    format!("{scheme}://{host}{}", config.base_path)
}

/// `{CtpBase}/{kind}/{id}`, for a `base` ending with `/`.
pub fn link(base: &str, kind: Kind, id: &ResourceId) -> String {
    format!("{base}{}/{id}", kind.segment())
}

impl Ctx {
    /// `{CtpBase}/{kind}/{id}`.
    pub fn link(&self, kind: Kind, id: &ResourceId) -> String {
        link(&self.base, kind, id)
    }

    /// `{CtpBase}/{kind}/{id}/{sub}`.
    pub fn sub_link(&self, kind: Kind, id: &ResourceId, sub: &str) -> String {
        format!("{}{}/{}/{}", self.base, kind.segment(), id, sub)
    }

    /// `{CtpBase}{path}` with the request's query string, for a `self` link.
    pub fn self_link(&self, path: &str) -> String {
        match &self.query {
            Some(query) => format!("{}{path}?{query}", self.base),
            None => format!("{}{path}", self.base),
        }
    }
}

/// Parses an `{id}` from a URL: base64url, at most 96 characters, else 400.
pub fn parse_id(text: &str) -> ApiResult<ResourceId> {
    ResourceId::parse(text).map_err(|e| ApiError::bad_request(format!("invalid id {text:?}: {e}")))
}

/// The id at the end of a link to a resource (`.../metrics/abc`), or a bare id.
pub fn id_from_link(text: &str, kind: Kind) -> ApiResult<ResourceId> {
    let trimmed = text.trim_end_matches('/');
    let last = trimmed.rsplit('/').next().unwrap_or(trimmed);
    if trimmed.contains('/') && !trimmed.contains(&format!("/{}/", kind.segment())) {
        return Err(ApiError::bad_request(format!("{text:?} is not a link to a {}", kind.noun())));
    }
    parse_id(last)
}
