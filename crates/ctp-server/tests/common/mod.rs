//! The test harness: a real ctpd server (the same router `ctpd serve` runs) on an
//! ephemeral port over a real SQLite file, and a small HTTP client that follows links.
#![allow(dead_code)] // each test file uses a different part of the harness

use std::sync::Arc;

use ctp_model::resources::Header;
use ctp_model::ResourceId;
use ctp_server::{auth, AppState, ServerConfig};
use ctp_store::{NewAccount, Store};
use ctp_store_sqlite::SqliteStore;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A running server; dropped, it shuts down.
pub struct TestServer {
    /// `{CtpBase}`, ending with `/`.
    pub base: String,
    /// The admin's token (account tags `["*"]`).
    pub admin_token: String,
    /// The store behind the server.
    pub store: Arc<dyn Store>,
    _dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl TestServer {
    /// Starts a server with the default configuration.
    pub async fn start() -> TestServer {
        TestServer::start_with(ServerConfig::default()).await
    }

    /// Starts a server with `config`.
    pub async fn start_with(config: ServerConfig) -> TestServer {
        let dir = tempfile::tempdir().expect("temporary folder");
        let store: Arc<dyn Store> = SqliteStore::open(&dir.path().join("ctpd.db")).expect("store opens");
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
        let state = AppState::new(Arc::clone(&store), config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("ephemeral port");
        let address = listener.local_addr().unwrap();
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(ctp_server::serve(listener, state, async move {
            let _ = stopped.await;
        }));
        TestServer { base: format!("http://{address}{base_path}"), admin_token, store, _dir: dir, _shutdown: shutdown }
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

    /// A full URL: links are used as they are, paths are relative to `{CtpBase}`, and
    /// paths starting with `/` to the server's root.
    pub fn url(&self, path_or_link: &str) -> String {
        if path_or_link.starts_with("http") {
            path_or_link.to_owned()
        } else if path_or_link.starts_with('/') {
            let host_end = self.base.find("://").map(|i| i + 3).unwrap_or(0);
            let origin_end = self.base[host_end..].find('/').map_or(self.base.len(), |i| host_end + i);
            format!("{}{path_or_link}", &self.base[..origin_end])
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
        let mut request = self.http.get(self.url(path));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the server answers");
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.expect("a body")
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
    pub view: Value,
    pub asset: Value,
    pub attribute: Value,
    pub metric: Value,
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
