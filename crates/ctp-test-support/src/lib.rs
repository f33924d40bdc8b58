//! The test harness of every integration suite of ctpd: a real ctpd server (the same router
//! `ctpd serve` runs) on an ephemeral port over a real store, a small HTTP client that follows
//! links, the backend under test, and the real `ctpd` binary as a process ([`Ctpd`]).
//!
//! The store is a SQLite file, or with `CTPD_TEST_BACKEND=postgres` a fresh database of
//! the PostgreSQL server at `CTPD_TEST_POSTGRES_URL` (`scripts/test` runs the suites both
//! ways). A URL chooses the backend only in `ctp_store_open`, as in `ctpd`.

mod ctpd;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ctp_model::resources::Header;
use ctp_model::ResourceId;
use ctp_server::{auth, AppState, ServerConfig};
use ctp_store::{NewAccount, Store};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub use crate::ctpd::{Ctpd, CtpdBuilder};
pub use ctp_store_open::DatabaseUrl;

/// A running server; dropped, it shuts down.
pub struct TestServer {
    /// `{CtpBase}`, ending with `/`.
    pub base: String,
    /// The admin's token (account tags `["*"]`).
    pub admin_token: String,
    /// The store behind the server.
    pub store: Arc<dyn Store>,
    /// The server's state (what the timer of `ctp_server::timer` ticks on).
    pub state: AppState,
    /// Where the store is (another instance opens it again).
    pub location: StoreLocation,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl TestServer {
    /// Starts a server with the default configuration.
    pub async fn start() -> TestServer {
        TestServer::start_with(ServerConfig::default()).await
    }

    /// Starts a server with `config`.
    pub async fn start_with(config: ServerConfig) -> TestServer {
        TestServer::start_with_clock(config, Arc::new(ctp_server::timer::SystemClock)).await
    }

    /// Starts a server with `config` whose timer reads `clock`.
    pub async fn start_with_clock(config: ServerConfig, clock: Arc<dyn ctp_server::timer::Clock>) -> TestServer {
        let location = StoreLocation::new().await;
        let store = location.open().await;
        let admin_token = auth::generate_token();
        store
            .ensure_account(NewAccount {
                id: ResourceId::parse("admin").unwrap(),
                header: Header::default(),
                account_tags: vec!["*".into(), "account:admin".into()],
                access_tags: vec!["role:admin".into()],
                token_hash: auth::token_hash(&admin_token),
                webhook_secret: auth::generate_webhook_secret(),
            })
            .await
            .expect("admin account");
        let base_path = config.base_path.clone();
        let mut state = AppState::new(Arc::clone(&store), config);
        state.clock = clock;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("ephemeral port");
        let address = listener.local_addr().unwrap();
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(ctp_server::serve(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        TestServer {
            base: format!("http://{address}{base_path}"),
            admin_token,
            store,
            state,
            location,
            _shutdown: shutdown,
        }
    }

    /// A client with the admin's token.
    pub fn admin(&self) -> Client {
        Client::new(&self.base, Some(&self.admin_token))
    }

    /// A client with `token`.
    pub fn client(&self, token: &str) -> Client {
        Client::new(&self.base, Some(token))
    }

    /// A client without a token.
    pub fn anonymous(&self) -> Client {
        Client::new(&self.base, None)
    }

    /// Creates an account with these tags and returns its token.
    pub async fn account(&self, tags: &[&str]) -> String {
        let (status, body) = self.admin().post("accounts", json!({"name": "test", "accountTags": tags})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().expect("a token").to_owned()
    }
}

/// Where a test's store lives: a SQLite file in a temporary folder, or a fresh
/// PostgreSQL database; `url` is what `ctpd serve --database` takes.
pub struct StoreLocation {
    /// The database URL.
    pub url: String,
    _dir: tempfile::TempDir,
}

impl StoreLocation {
    /// A new, empty store of the backend under test.
    pub async fn new() -> StoreLocation {
        let dir = tempfile::tempdir().expect("temporary folder");
        let url = match std::env::var("CTPD_TEST_BACKEND").as_deref() {
            Ok("postgres") => fresh_postgres_database().await,
            Ok("sqlite") | Err(_) => format!("sqlite:{}", dir.path().join("ctpd.db").display()),
            Ok(other) => panic!("CTPD_TEST_BACKEND must be sqlite or postgres, not {other:?}"),
        };
        StoreLocation { url, _dir: dir }
    }

    /// A new, empty PostgreSQL database, whatever the backend under test (for tests of
    /// several instances on one database).
    pub async fn postgres() -> StoreLocation {
        StoreLocation { url: fresh_postgres_database().await, _dir: tempfile::tempdir().expect("temporary folder") }
    }

    /// Which backend, and where: the URL as `ctp_store_open` parses it.
    pub fn database_url(&self) -> DatabaseUrl {
        DatabaseUrl::parse(&self.url).expect("a URL of the harness names a backend")
    }

    /// Opens (again) the store.
    pub async fn open(&self) -> Arc<dyn Store> {
        ctp_store_open::open(&self.url).await.unwrap_or_else(|e| panic!("the store at {} opens: {e}", self.url))
    }
}

/// Creates a database for one test on the server of `CTPD_TEST_POSTGRES_URL` (a URL of
/// any database there, with the right to create databases) and returns its URL.
async fn fresh_postgres_database() -> String {
    let server = std::env::var("CTPD_TEST_POSTGRES_URL")
        .expect("CTPD_TEST_BACKEND=postgres needs CTPD_TEST_POSTGRES_URL (scripts/test sets both)");
    let (client, connection) =
        tokio_postgres::connect(&server, tokio_postgres::NoTls).await.expect("the test PostgreSQL server answers");
    tokio::spawn(connection);
    let name = format!("ctpd_test_{}", auth::generate_token().to_lowercase().replace(['-', '_'], ""));
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("CREATE DATABASE");
    let (without_query, query) = server.split_once('?').map_or((server.as_str(), ""), |(a, q)| (a, q));
    let base = without_query.rsplit_once('/').map_or(without_query, |(base, _)| base);
    if query.is_empty() {
        format!("{base}/{name}")
    } else {
        format!("{base}/{name}?{query}")
    }
}

/// An HTTP client bound to one token.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// A response: status and JSON body (`Value::Null` when empty).
pub type Answer = (StatusCode, Value);

impl Client {
    /// A client of the API at `base` (`{CtpBase}`) with `token`.
    pub fn new(base: &str, token: Option<&str>) -> Client {
        ctp_server::notify::install_crypto_provider();
        Client { http: reqwest::Client::new(), base: base.to_owned(), token: token.map(str::to_owned) }
    }

    /// A full URL: links are sent to this client's server (a server behind a public URL
    /// names that URL in its links), paths are relative to `{CtpBase}`, and paths starting
    /// with `/` to the server's root.
    pub fn url(&self, path_or_link: &str) -> String {
        let host_end = self.base.find("://").map(|i| i + 3).unwrap_or(0);
        let origin_end = self.base[host_end..].find('/').map_or(self.base.len(), |i| host_end + i);
        let (origin, base_path) = self.base.split_at(origin_end);
        if path_or_link.starts_with("http") {
            match path_or_link.split_once(base_path) {
                Some((_, rest)) => format!("{}{rest}", self.base),
                None => path_or_link.to_owned(),
            }
        } else if path_or_link.starts_with('/') {
            format!("{origin}{path_or_link}")
        } else {
            format!("{}{path_or_link}", self.base)
        }
    }

    /// Sends a request and decodes the answer.
    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<String>) -> Answer {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let text = response.text().await.expect("a body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
        };
        (status, value)
    }

    /// The body of a `GET` that must succeed, as text.
    pub async fn text(&self, path: &str) -> String {
        let (status, bytes) = self.bytes(path).await;
        assert_eq!(status, StatusCode::OK, "GET {path}");
        String::from_utf8(bytes).expect("a text body")
    }

    /// The status and the raw body of a `GET`.
    pub async fn bytes(&self, path: &str) -> (StatusCode, Vec<u8>) {
        let mut request = self.http.get(self.url(path));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the server answers");
        (response.status(), response.bytes().await.expect("a body").to_vec())
    }

    /// `GET`
    pub async fn get(&self, path: &str) -> Answer {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// `GET` that must succeed.
    pub async fn get_ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    /// `POST` with a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(reqwest::Method::POST, path, Some(body.to_string())).await
    }

    /// `POST` that must create; returns the new resource.
    pub async fn create(&self, path: &str, body: Value) -> Value {
        let (status, answer) = self.post(path, body).await;
        assert_eq!(status, StatusCode::CREATED, "POST {path}: {answer}");
        answer
    }

    /// `PUT` with a JSON body.
    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.send(reqwest::Method::PUT, path, Some(body.to_string())).await
    }

    /// `DELETE`
    pub async fn delete(&self, path: &str) -> Answer {
        self.send(reqwest::Method::DELETE, path, None).await
    }
}

/// The id at the end of a link.
pub fn id_of(link: &Value) -> String {
    link.as_str().expect("a link").rsplit('/').next().unwrap().to_owned()
}

/// A service view with one asset, attribute, metric (column `level`, a number) and
/// measurement, all tagged `tags`; returns the links.
pub struct Tree {
    /// The service view.
    pub view: Value,
    /// Its asset.
    pub asset: Value,
    /// The asset's attribute.
    pub attribute: Value,
    /// The metric of the measurement.
    pub metric: Value,
    /// The attribute's measurement.
    pub measurement: Value,
}

impl Tree {
    /// Builds the tree through the back-office API.
    pub async fn build(admin: &Client, tags: &[&str], user_activated: bool) -> Tree {
        let view = admin.create("serviceViews", json!({"name": "view", "provider": "Acme", "accessTags": tags})).await;
        let asset = admin.create(&format!("{}/assets", link(&view)), json!({"name": "api"})).await;
        let attribute = admin.create(&format!("{}/attributes", link(&asset)), json!({"name": "intrusions"})).await;
        let metric = admin
            .create(
                "metrics",
                json!({"name": "level", "baseMetric": "https://example.org/level",
                       "resultFormat": [{"name": "level", "type": "number"}]}),
            )
            .await;
        let measurement = admin
            .create(
                &format!("{}/measurements", link(&attribute)),
                json!({"name": "max level", "metric": link(&metric), "createTrigger": true,
                       "userActivated": user_activated, "objective": {"condition": "value[0].level < 10"}}),
            )
            .await;
        Tree { view, asset, attribute, metric, measurement }
    }
}

/// The `self` link of a resource.
pub fn link(resource: &Value) -> String {
    resource["self"].as_str().expect("a self link").to_owned()
}

/// The path under the API (`/api/1.0/`) of a link.
pub fn api_path(link: &str) -> String {
    link.split_once("/api/1.0/").expect("a link of the API").1.to_owned()
}

/// A TCP port of 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits until `check` holds, for 30 s at most.
pub async fn wait_for<F: Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
