//! `ctpd serve`: the CTP server, on the embedded SQLite store or on PostgreSQL.
//!
//! Settings come from defaults, then a TOML file (`--config`), then flags and environment
//! variables, each overriding the one before.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use ctp_model::resources::Header;
use ctp_model::tags::WILDCARD;
use ctp_model::ResourceId;
use ctp_server::limits::Limits;
use ctp_server::notify::policy::{parse_network, WebhookPolicy};
use ctp_server::notify::xmpp::{XmppSettings, XmppTls};
use ctp_server::notify::NotifySettings;
use ctp_server::ossec::OssecConfig;
use ctp_server::{auth, demo, AppState, ServerConfig};
use ctp_store::NewAccount;
use serde::Deserialize;

mod connections;

/// The store when none is configured: the embedded SQLite database.
pub const DEFAULT_DATABASE: &str = "sqlite:ctpd-data/ctpd.db";

/// Flags of `ctpd serve`; each overrides the configuration file's key of the same name.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML configuration file (keys: the flags' names with `_` for `-`, e.g. `base_path`,
    /// `xmpp_jid`, `delivery_attempts`).
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

    /// A file holding the admin token (so that it never appears in a process listing; for
    /// example a systemd credential).
    #[arg(long, value_name = "PATH", conflicts_with = "admin_token")]
    pub admin_token_file: Option<PathBuf>,

    /// Seed the demo data set and print tokens and example commands.
    #[arg(long)]
    pub demo: bool,

    /// Log format: text or json [default: text].
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<String>,

    /// ctpd's own XMPP address, which sends the notifications of `xmpp:` triggers.
    #[arg(long, value_name = "JID")]
    pub xmpp_jid: Option<String>,

    /// Password of the XMPP account.
    #[arg(long, env = "CTPD_XMPP_PASSWORD", value_name = "PASSWORD", hide_env_values = true)]
    pub xmpp_password: Option<String>,

    /// A file holding the XMPP password.
    #[arg(long, value_name = "PATH", conflicts_with = "xmpp_password")]
    pub xmpp_password_file: Option<PathBuf>,

    /// XMPP server [default: the JID's domain, port 5222].
    #[arg(long, value_name = "HOST:PORT")]
    pub xmpp_server: Option<String>,

    /// XMPP transport security: starttls (verified) or off (loopback servers only) [default: starttls].
    #[arg(long, value_name = "MODE")]
    pub xmpp_tls: Option<String>,

    /// A PEM file of CA certificates trusted, beside the system's, for the XMPP server.
    #[arg(long, value_name = "PATH")]
    pub xmpp_ca_file: Option<PathBuf>,

    /// Attempts of a notification before it is kept as failed [default: 10].
    #[arg(long, value_name = "N")]
    pub delivery_attempts: Option<u32>,

    /// Seconds to wait after a notification's first failed attempt, doubled after each
    /// further one [default: 1].
    #[arg(long, value_name = "SECONDS")]
    pub delivery_backoff: Option<f64>,

    /// Longest wait between two attempts, in seconds [default: 300].
    #[arg(long, value_name = "SECONDS")]
    pub delivery_max_backoff: Option<f64>,

    /// Seconds allowed for one attempt (webhook answer, XMPP acknowledgement) [default: 10].
    #[arg(long, value_name = "SECONDS")]
    pub delivery_timeout: Option<f64>,

    /// An origin (scheme://host[:port], or *) whose browser clients may call the API
    /// (CORS); repeatable [default: none].
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    pub cors_origins: Vec<String>,

    /// Serve the web dashboard at / (outside the base path): true or false [default: true].
    #[arg(long, value_name = "BOOL", action = clap::ArgAction::Set)]
    pub dashboard: Option<bool>,

    /// Days the result history keeps an entry (the dashboard's bars need 90); 0: no age
    /// limit [default: 400].
    #[arg(long, value_name = "DAYS")]
    pub history_max_age_days: Option<u64>,

    /// Entries of the result history kept per measurement, the newest; 0: no count limit
    /// [default: 100000].
    #[arg(long, value_name = "N")]
    pub history_max_results: Option<u64>,

    /// Triggers one account may keep; 0: no limit [default: 1000].
    #[arg(long, value_name = "N")]
    pub max_triggers_per_account: Option<usize>,

    /// Bytes of compiled conditions one account's triggers may hold together; 0: no limit
    /// [default: 16777216].
    #[arg(long, value_name = "BYTES")]
    pub max_condition_bytes_per_account: Option<usize>,

    /// Requests per second one token may send on average (bursts of twice as many); over
    /// it, 429 with Retry-After; 0: no limit [default: 1000].
    #[arg(long, value_name = "N")]
    pub rate_limit: Option<u32>,
    /// Attempts in flight at the same time to one receiving host (a webhook's host and
    /// port, an XMPP domain); 64 in all [default: 4].
    #[arg(long, value_name = "N")]
    pub delivery_host_concurrency: Option<usize>,

    /// Let webhooks reach any address, also loopback, private and link-local ones (tests,
    /// private deployments) [default: public addresses only].
    #[arg(long)]
    pub webhook_allow_private: bool,

    /// A network webhooks may reach although it is not public, as CIDR or an address;
    /// repeatable.
    #[arg(long, value_name = "CIDR")]
    pub webhook_allow_network: Vec<String>,

    /// Accept only https webhook URLs.
    #[arg(long)]
    pub webhook_require_https: bool,
    /// Seconds between two re-evaluations of the conditions that read the clock
    /// (`timeUTC("now")`): freshness objectives and triggers [default: 10].
    #[arg(long, value_name = "SECONDS")]
    pub clock_tick: Option<f64>,

    /// Limits on connections and requests, and HTTPS.
    #[command(flatten)]
    pub connections: connections::ConnectionArgs,
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
    admin_token_file: Option<PathBuf>,
    demo: Option<bool>,
    log_format: Option<String>,
    xmpp_jid: Option<String>,
    xmpp_password: Option<String>,
    xmpp_password_file: Option<PathBuf>,
    xmpp_server: Option<String>,
    xmpp_tls: Option<String>,
    xmpp_ca_file: Option<PathBuf>,
    delivery_attempts: Option<u32>,
    delivery_backoff: Option<f64>,
    delivery_max_backoff: Option<f64>,
    delivery_timeout: Option<f64>,
    cors_origin: Option<Vec<String>>,
    dashboard: Option<bool>,
    history_max_age_days: Option<u64>,
    history_max_results: Option<u64>,
    max_triggers_per_account: Option<usize>,
    max_condition_bytes_per_account: Option<usize>,
    rate_limit: Option<u32>,
    delivery_host_concurrency: Option<usize>,
    webhook_allow_private: Option<bool>,
    webhook_allow_network: Option<Vec<String>>,
    webhook_require_https: Option<bool>,
    header_timeout: Option<f64>,
    idle_timeout: Option<f64>,
    body_timeout: Option<f64>,
    request_timeout: Option<f64>,
    max_connections: Option<usize>,
    max_connections_per_ip: Option<usize>,
    shutdown_grace: Option<f64>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    clock_tick: Option<f64>,
    /// The OSSEC/Wazuh feed (a table of its own; see docs/ossec.md).
    ossec: Option<OssecConfig>,
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
    xmpp: Option<XmppSettings>,
    xmpp_ca_file: Option<PathBuf>,
    delivery_attempts: u32,
    delivery_backoff: Duration,
    delivery_max_backoff: Duration,
    delivery_timeout: Duration,
    cors_origins: Vec<String>,
    dashboard: bool,
    history: ctp_server::history::HistoryRetention,
    limits: Limits,
    delivery_host_concurrency: usize,
    webhook_policy: WebhookPolicy,
    connections: connections::ConnectionSettings,
    ossec: Option<OssecConfig>,
    clock_tick: Duration,
}

/// The retention of the result history: days and entries per measurement, 0 for no limit.
fn history_retention(days: Option<u64>, results: Option<u64>) -> anyhow::Result<ctp_server::history::HistoryRetention> {
    let defaults = ctp_server::history::HistoryRetention::default();
    let max_age = match days {
        None => defaults.max_age,
        Some(0) => None,
        Some(days) if days <= 100 * 366 => Some(Duration::from_secs(days * 86_400)),
        Some(days) => bail!("history_max_age_days must be at most 36600 (0: no limit), got {days}"),
    };
    let max_results_per_measurement = match results {
        None => defaults.max_results_per_measurement,
        Some(0) => None,
        Some(n) => Some(n),
    };
    Ok(ctp_server::history::HistoryRetention { max_age, max_results_per_measurement })
}

/// A positive number of seconds.
fn seconds(name: &str, value: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| anyhow::anyhow!("{name} must be a positive number of seconds, got {value}"))
}

/// A secret given as itself or in a file (flag, then configuration file); giving both
/// ways at the same level is an error. The file's text without its final line break.
fn secret(
    name: &str,
    (flag, flag_file): (&Option<String>, &Option<PathBuf>),
    (key, key_file): (&Option<String>, &Option<PathBuf>),
) -> anyhow::Result<Option<String>> {
    if key.is_some() && key_file.is_some() {
        bail!("give {name} or {name}_file, not both");
    }
    let read = |path: &PathBuf| -> anyhow::Result<String> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read {name}_file {}", path.display()))?;
        Ok(text.trim_end_matches(['\n', '\r']).to_owned())
    };
    match (flag, flag_file, key, key_file) {
        (Some(value), _, _, _) => Ok(Some(value.clone())),
        (None, Some(path), _, _) => read(path).map(Some),
        (None, None, Some(value), _) => Ok(Some(value.clone())),
        (None, None, None, Some(path)) => read(path).map(Some),
        (None, None, None, None) => Ok(None),
    }
}

/// ctpd's XMPP account, when a JID is configured.
fn xmpp_settings(args: &ServeArgs, file: &FileConfig) -> anyhow::Result<Option<XmppSettings>> {
    let Some(jid) = args.xmpp_jid.clone().or(file.xmpp_jid.clone()) else {
        return Ok(None);
    };
    let jid = XmppSettings::parse_jid(&jid).map_err(|e| anyhow::anyhow!("xmpp_jid: {e}"))?;
    let given = secret(
        "xmpp_password",
        (&args.xmpp_password, &args.xmpp_password_file),
        (&file.xmpp_password, &file.xmpp_password_file),
    )?;
    let Some(password) = given else {
        bail!("xmpp_jid needs a password: --xmpp-password(-file), CTPD_XMPP_PASSWORD or xmpp_password(_file)");
    };
    let tls = match args.xmpp_tls.clone().or(file.xmpp_tls.clone()).as_deref().unwrap_or("starttls") {
        "starttls" => XmppTls::StartTls,
        "off" => XmppTls::Off,
        other => bail!("xmpp_tls must be starttls or off, got {other:?}"),
    };
    Ok(Some(XmppSettings { jid, password, server: args.xmpp_server.clone().or(file.xmpp_server.clone()), tls }))
}

/// Where webhooks may go; networks given as flags replace those of the file.
fn webhook_policy(args: &ServeArgs, file: &FileConfig) -> anyhow::Result<WebhookPolicy> {
    let networks = match &args.webhook_allow_network {
        flags if !flags.is_empty() => flags.clone(),
        _ => file.webhook_allow_network.clone().unwrap_or_default(),
    };
    Ok(WebhookPolicy {
        allow_private: args.webhook_allow_private || file.webhook_allow_private.unwrap_or(false),
        allowed_networks: networks
            .iter()
            .map(|network| parse_network(network).map_err(|e| anyhow::anyhow!("webhook_allow_network: {e}")))
            .collect::<anyhow::Result<_>>()?,
        require_https: args.webhook_require_https || file.webhook_require_https.unwrap_or(false),
    })
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
    let xmpp = xmpp_settings(args, &file)?;
    let webhook_policy = webhook_policy(args, &file)?;
    let connections = connections::settings(&args.connections, &file)?;
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
    let cors_origins =
        if args.cors_origins.is_empty() { file.cors_origin.unwrap_or_default() } else { args.cors_origins.clone() };
    for origin in &cors_origins {
        ctp_server::cors::check_origin(origin).map_err(|e| anyhow::anyhow!("cors_origin: {e}"))?;
    }
    let defaults = Limits::default();
    let limits = Limits {
        triggers_per_account: args
            .max_triggers_per_account
            .or(file.max_triggers_per_account)
            .unwrap_or(defaults.triggers_per_account),
        condition_bytes_per_account: args
            .max_condition_bytes_per_account
            .or(file.max_condition_bytes_per_account)
            .unwrap_or(defaults.condition_bytes_per_account),
        requests_per_second: args.rate_limit.or(file.rate_limit).unwrap_or(defaults.requests_per_second),
    };
    let delivery_host_concurrency = args.delivery_host_concurrency.or(file.delivery_host_concurrency).unwrap_or(4);
    if delivery_host_concurrency == 0 {
        bail!("delivery_host_concurrency must be at least 1");
    }
    Ok(Settings {
        limits,
        cors_origins,
        dashboard: args.dashboard.or(file.dashboard).unwrap_or(true),
        history: history_retention(
            args.history_max_age_days.or(file.history_max_age_days),
            args.history_max_results.or(file.history_max_results),
        )?,
        xmpp,
        webhook_policy,
        xmpp_ca_file: args.xmpp_ca_file.clone().or(file.xmpp_ca_file),
        delivery_attempts: match args.delivery_attempts.or(file.delivery_attempts).unwrap_or(10) {
            0 => bail!("delivery_attempts must be at least 1"),
            n => n,
        },
        delivery_backoff: seconds("delivery_backoff", args.delivery_backoff.or(file.delivery_backoff).unwrap_or(1.0))?,
        delivery_max_backoff: seconds(
            "delivery_max_backoff",
            args.delivery_max_backoff.or(file.delivery_max_backoff).unwrap_or(300.0),
        )?,
        delivery_timeout: seconds("delivery_timeout", args.delivery_timeout.or(file.delivery_timeout).unwrap_or(10.0))?,
        delivery_host_concurrency,
        listen: args.listen.or(file.listen).unwrap_or_else(|| "127.0.0.1:8080".parse().expect("valid address")),
        base_path,
        public_url,
        database: args.database.clone().or(file.database).unwrap_or_else(|| DEFAULT_DATABASE.into()),
        admin_token: secret(
            "admin_token",
            (&args.admin_token, &args.admin_token_file),
            (&file.admin_token, &file.admin_token_file),
        )?,
        demo: args.demo || file.demo.unwrap_or(false),
        json_logs,
        connections,
        clock_tick: seconds("clock_tick", args.clock_tick.or(file.clock_tick).unwrap_or(10.0))?,
        ossec: match file.ossec {
            Some(ossec) => {
                ossec.check().map_err(|e| anyhow::anyhow!("[ossec]: {e}"))?;
                Some(ossec)
            }
            None => None,
        },
    })
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn"));
    // Colours only for a person at a terminal, never in a file or a journal.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Runs the server until SIGINT or SIGTERM.
pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let mut settings = settings(args)?;
    init_logging(settings.json_logs);
    settings.connections.fit_open_file_limit();
    if let Some(ca_file) = &settings.xmpp_ca_file {
        trust_extra_ca(ca_file)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(serve(settings))
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let signal = shutdown_signal().context("cannot install the signal handlers")?;
    let certificate = settings.connections.load_certificate()?;
    connections::reload_on_hangup(certificate.clone()).context("cannot install the signal handlers")?;
    let store = ctp_store_open::open(&settings.database).await?;
    let config = ServerConfig {
        base_path: settings.base_path.clone(),
        public_url: settings.public_url.clone(),
        cors_origins: settings.cors_origins.clone(),
        dashboard: settings.dashboard,
        limits: settings.limits,
        webhook_policy: settings.webhook_policy.clone(),
        ..ServerConfig::default()
    };
    let state = AppState::new(Arc::clone(&store), config);
    // The rate limiter forgets idle accounts, so that its memory follows the active ones.
    let request_rate = Arc::clone(&state.request_rate);
    tokio::spawn(async move {
        let mut every_minute = tokio::time::interval(Duration::from_secs(60));
        loop {
            every_minute.tick().await;
            request_rate.forget_idle();
        }
    });

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
                webhook_secret: auth::generate_webhook_secret(),
            })
            .await
            .map_err(|e| anyhow::anyhow!("cannot set up the admin account: {e}"))?;
    }

    let listener =
        ctp_server::bind(settings.listen).with_context(|| format!("cannot listen on {}", settings.listen))?;
    let address = listener.local_addr()?;
    let scheme = if settings.connections.https() { "https" } else { "http" };
    let base_url = settings.public_url.clone().unwrap_or_else(|| format!("{scheme}://{address}{}", settings.base_path));

    if settings.demo {
        let data = demo::seed(&store, &state.conditions).await.map_err(|e| anyhow::anyhow!("demo data: {e}"))?;
        // The dashboard is on the same origin as the API, outside its base path.
        let dashboard = settings.dashboard.then(|| {
            let origin = base_url.strip_suffix(settings.base_path.as_str()).unwrap_or(&base_url);
            format!("{origin}{}", ctp_server::dashboard::page_path(&settings.base_path))
        });
        print_demo(&base_url, &data, admin_token.as_deref().unwrap_or(""), dashboard.as_deref());
    }
    if let Some(config) = settings.ossec.clone() {
        let (feed, started) =
            ctp_server::ossec::start(&state, config).await.map_err(|e| anyhow::anyhow!("the OSSEC/Wazuh feed: {e}"))?;
        for (name, udp, tcp) in &started.syslog {
            tracing::info!(source = %name, udp = ?udp, tcp = ?tcp, "OSSEC/Wazuh syslog source listening");
        }
        let _ = state.ossec.set(feed);
    }
    tokio::spawn(ctp_server::timer::run(state.clone(), settings.clock_tick));
    tokio::spawn(settings.history.run(Arc::clone(&store)));
    tracing::info!(%address, database = %settings.database, "ctpd is serving {base_url}");

    // The instant of the shutdown signal, once it came.
    let (stop, stopped) = tokio::sync::watch::channel(None::<tokio::time::Instant>);
    let mut notify = NotifySettings::new(base_url.clone());
    notify.max_attempts = settings.delivery_attempts;
    notify.initial_backoff = settings.delivery_backoff;
    notify.max_backoff = settings.delivery_max_backoff;
    notify.attempt_timeout = settings.delivery_timeout;
    notify.per_host_concurrency = settings.delivery_host_concurrency;
    notify.xmpp = settings.xmpp.clone();
    notify.webhook_policy = settings.webhook_policy.clone();
    if settings.webhook_policy.allow_private {
        tracing::warn!("webhooks may reach any address, also loopback and private ones (--webhook-allow-private)");
    }
    let mut worker = tokio::spawn(ctp_server::notify::run(Arc::clone(&store), Arc::clone(&state.outbox), notify, {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(Option::is_some).await;
        }
    }));
    let limits = settings.connections.limits;
    let options =
        ctp_server::ServeOptions { limits, tls: certificate.as_ref().map(|c| c.server_config()).transpose()? };
    let server = ctp_server::serve_with(listener, state, options, {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(Option::is_some).await;
        }
    });
    tokio::spawn(async move {
        signal.await;
        let _ = stop.send(Some(tokio::time::Instant::now()));
    });
    server.await?;
    // The worker stops with the server; what it has not finished by the end of the grace
    // is abandoned (its claimed deliveries are attempted again, as after a crash).
    let stopped_at = stopped.borrow().unwrap_or_else(tokio::time::Instant::now);
    let finished = match tokio::time::timeout_at(stopped_at + limits.shutdown_grace, &mut worker).await {
        Ok(finished) => finished,
        Err(_) => {
            tracing::warn!("the notification worker did not stop within the shutdown grace; abandoning its attempts");
            worker.abort();
            worker.await
        }
    };
    match finished {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "the notification worker failed"),
        Err(e) if e.is_panic() => tracing::error!(error = %e, "the notification worker panicked"),
        Err(_) => {}
    }
    // The last handle on the store: dropping it finishes queued writes and closes the file.
    drop(store);
    tracing::info!("ctpd stopped; the store is closed");
    Ok(())
}

fn print_demo(base_url: &str, data: &demo::DemoData, admin_token: &str, dashboard: Option<&str>) {
    let measurement = format!("{base_url}measurements/{}", data.intrusion_measurement);
    let text = format!(
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
{dashboard}"#,
        name = demo::SERVICE_VIEW_NAME,
        view = data.service_view,
        customer = data.customer_token,
        agent = data.agent_token,
        admin = admin_token,
        dashboard = dashboard
            .map(|url| format!("\nDashboard: open {url} and paste the customer token (or the admin token).\n"))
            .unwrap_or_default(),
    );
    // Informational: a reader that went away (`ctpd serve --demo | head`) must not stop the
    // server, as `println!` would by panicking on the broken pipe.
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_all(text.as_bytes()).and_then(|()| writeln!(stdout)).and_then(|()| stdout.flush()) {
        tracing::warn!(error = %e, "cannot print the demo's tokens on stdout");
    }
}

/// Adds the CA certificates of `ca_file` to the trust store of ctpd's outgoing TLS
/// connections. tokio-xmpp verifies with the system's store, read by rustls-native-certs,
/// which honours `SSL_CERT_FILE`: that variable is pointed, before any thread starts, at a
/// bundle of the system's certificates and these.
fn trust_extra_ca(ca_file: &std::path::Path) -> anyhow::Result<()> {
    let extra = std::fs::read_to_string(ca_file).with_context(|| format!("cannot read {}", ca_file.display()))?;
    if !extra.contains("-----BEGIN CERTIFICATE-----") {
        bail!("{} holds no PEM certificate", ca_file.display());
    }
    let system = std::env::var_os("SSL_CERT_FILE")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"]
                .map(PathBuf::from),
        )
        .find_map(|path| std::fs::read_to_string(path).ok())
        .unwrap_or_default();
    let bundle = std::env::temp_dir().join(format!("ctpd-trust-{}.pem", std::process::id()));
    std::fs::write(&bundle, format!("{system}\n{extra}\n"))
        .with_context(|| format!("cannot write {}", bundle.display()))?;
    std::env::set_var("SSL_CERT_FILE", &bundle);
    Ok(())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this is called,
/// before the server listens, so that a signal is never taken by the default action.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            tracing::info!("shutting down: finishing requests in flight");
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down: finishing requests in flight");
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use clap::{Args, Parser};

    use super::*;

    /// `ctpd serve` as the command line parses it.
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn example() -> (PathBuf, String) {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ctpd.example.toml");
        let text = std::fs::read_to_string(&path).expect("ctpd.example.toml at the repository's root");
        (path, text)
    }

    /// The keys the example names, set or commented out (`# key = value`).
    fn keys_named(text: &str) -> BTreeSet<String> {
        text.lines()
            .filter_map(|line| {
                let line = line.trim_start_matches('#').trim_start();
                let (key, _) = line.split_once('=')?;
                let key = key.trim();
                (!key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_')).then(|| key.to_owned())
            })
            .collect()
    }

    #[test]
    fn the_example_configuration_names_every_flag() {
        let (_, text) = example();
        let flags: BTreeSet<String> = ServeArgs::augment_args(clap::Command::new("serve"))
            .get_arguments()
            .filter_map(|arg| arg.get_long())
            .filter(|long| *long != "config")
            .map(|long| long.replace('-', "_"))
            .collect();
        assert_eq!(keys_named(&text), flags, "ctpd.example.toml and the flags of ctpd serve differ");
        // Every key it sets, and every key it comments out, is a valid key of the file.
        toml::from_str::<FileConfig>(&text).expect("the keys it sets");
        let uncommented: String = text
            .lines()
            .map(|l| l.strip_prefix("# ").filter(|l| l.contains(" = ")).unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        toml::from_str::<FileConfig>(&uncommented).expect("the keys it comments out, once uncommented");
    }

    #[test]
    fn the_example_configuration_gives_the_defaults() {
        let (path, _) = example();
        let defaults = settings(&Cli::try_parse_from(["serve"]).unwrap().serve).unwrap();
        let from_example =
            settings(&Cli::try_parse_from(["serve", "--config", path.to_str().unwrap()]).unwrap().serve).unwrap();
        assert_eq!(
            format!("{from_example:?}"),
            format!("{defaults:?}"),
            "a value in ctpd.example.toml is not the default"
        );
    }
}
