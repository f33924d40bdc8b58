//! `ctpd serve`: the CTP server on the embedded store (PostgreSQL arrives with issue 5).
//!
//! Settings come from defaults, then a TOML file (`--config`), then flags and environment
//! variables, each overriding the one before.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Args;
use ctp_model::resources::Header;
use ctp_model::tags::WILDCARD;
use ctp_model::ResourceId;
use ctp_server::{auth, demo, AppState, ServerConfig};
use ctp_store::{NewAccount, Store};
use ctp_store_sqlite::SqliteStore;
use serde::Deserialize;

/// Flags of `ctpd serve`; each overrides the configuration file's key of the same name.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML configuration file (keys: listen, base_path, public_url, database, admin_token,
    /// demo, log_format).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,

    /// Base path of the API [default: /api/1.0/].
    #[arg(long, value_name = "PATH")]
    pub base_path: Option<String>,

    /// Public URL of the API's entry point, used in links [default: from the request's Host].
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,

    /// The store [default: sqlite:ctpd-data/ctpd.db].
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,

    /// Token of the `admin` account (tags ["*"]), created or updated at start.
    #[arg(long, env = "CTPD_ADMIN_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// Seed the demo data set and print tokens and example commands.
    #[arg(long)]
    pub demo: bool,

    /// Log format: text or json [default: text].
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<String>,
}

/// The configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    base_path: Option<String>,
    public_url: Option<String>,
    database: Option<String>,
    admin_token: Option<String>,
    demo: Option<bool>,
    log_format: Option<String>,
}

/// The settings in force.
#[derive(Debug)]
struct Settings {
    listen: SocketAddr,
    base_path: String,
    public_url: Option<String>,
    database: String,
    admin_token: Option<String>,
    demo: bool,
    json_logs: bool,
}

fn settings(args: &ServeArgs) -> anyhow::Result<Settings> {
    let file = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            toml::from_str::<FileConfig>(&text)
                .with_context(|| format!("{} is not a valid configuration", path.display()))?
        }
        None => FileConfig::default(),
    };
    let mut base_path = args.base_path.clone().or(file.base_path).unwrap_or_else(|| "/api/1.0/".into());
    if !base_path.starts_with('/') {
        base_path.insert(0, '/');
    }
    if !base_path.ends_with('/') {
        base_path.push('/');
    }
    let public_url =
        args.public_url.clone().or(file.public_url).map(|url| if url.ends_with('/') { url } else { format!("{url}/") });
    let log_format = args.log_format.clone().or(file.log_format).unwrap_or_else(|| "text".into());
    let json_logs = match log_format.as_str() {
        "text" => false,
        "json" => true,
        other => bail!("log_format must be text or json, got {other:?}"),
    };
    Ok(Settings {
        listen: args.listen.or(file.listen).unwrap_or_else(|| "127.0.0.1:8080".parse().expect("valid address")),
        base_path,
        public_url,
        database: args.database.clone().or(file.database).unwrap_or_else(|| "sqlite:ctpd-data/ctpd.db".into()),
        admin_token: args.admin_token.clone().or(file.admin_token),
        demo: args.demo || file.demo.unwrap_or(false),
        json_logs,
    })
}

/// Opens the store a database URL names.
fn open_store(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        let store = SqliteStore::open(std::path::Path::new(path)).map_err(|e| anyhow::anyhow!("{e}"))?;
        return Ok(store);
    }
    bail!("unsupported database URL {url:?}: use sqlite:PATH")
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Runs the server until SIGINT or SIGTERM.
pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let settings = settings(args)?;
    init_logging(settings.json_logs);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(serve(settings))
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let store = open_store(&settings.database)?;
    let config = ServerConfig {
        base_path: settings.base_path.clone(),
        public_url: settings.public_url.clone(),
        ..ServerConfig::default()
    };
    let state = AppState::new(Arc::clone(&store), config);

    let admin_token = match (&settings.admin_token, settings.demo) {
        (Some(token), _) => Some(token.clone()),
        (None, true) => Some(auth::generate_token()),
        (None, false) => None,
    };
    if let Some(token) = &admin_token {
        store
            .ensure_account(NewAccount {
                id: ResourceId::parse("admin").expect("valid id"),
                header: Header { name: "admin".into(), annotation: "administrator of this server".into() },
                account_tags: vec![WILDCARD.into(), "account:admin".into()],
                access_tags: vec!["role:admin".into()],
                token_hash: auth::token_hash(token),
            })
            .await
            .map_err(|e| anyhow::anyhow!("cannot set up the admin account: {e}"))?;
    }

    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let address = listener.local_addr()?;
    let base_url = settings.public_url.clone().unwrap_or_else(|| format!("http://{address}{}", settings.base_path));

    if settings.demo {
        let data = demo::seed(&store, &state.conditions).await.map_err(|e| anyhow::anyhow!("demo data: {e}"))?;
        print_demo(&base_url, &data, admin_token.as_deref().unwrap_or(""));
    }
    tracing::info!(%address, database = %settings.database, "ctpd is serving {base_url}");
    ctp_server::serve(listener, state, shutdown_signal()).await?;
    // The last handle on the store: dropping it finishes queued writes and closes the file.
    drop(store);
    tracing::info!("ctpd stopped; the store is closed");
    Ok(())
}

fn print_demo(base_url: &str, data: &demo::DemoData, admin_token: &str) {
    let measurement = format!("{base_url}measurements/{}", data.intrusion_measurement);
    println!(
        r#"
ctpd demo data set: "{name}" (service view {view})

  customer token (role:user):  {customer}
  agent token (role:agent):    {agent}
  admin token (*):             {admin}

Try:
  curl -s -H "Authorization: Bearer {customer}" {base_url}serviceViews
  curl -s -H "Authorization: Bearer {customer}" {measurement}
  curl -s -X PUT -H "Authorization: Bearer {agent}" -H "Content-Type: application/json" \
    -d '{{"result": {{"value": [{{"level": 12, "rule": 5720, "description": "Multiple SSHD authentication failures.", "agent": "api-1"}}]}}}}' \
    "{measurement}?x=result"
"#,
        name = demo::SERVICE_VIEW_NAME,
        view = data.service_view,
        customer = data.customer_token,
        agent = data.agent_token,
        admin = admin_token,
    );
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}
