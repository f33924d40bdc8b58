//! `ctp`: the command-line client of the Cloud Trust Protocol, for providers (push signed
//! results), customers (browse, triggers, logs) and auditors (verify records against the
//! server's transparency log without trusting the server). A thin layer over `ctp-client`.
//!
//! The server and token come from `--url`/`--token`, else `CTP_URL`/`CTP_TOKEN`, else the
//! config file (`--config PATH`, else `$XDG_CONFIG_HOME/ctp/config.toml`, else
//! `~/.config/ctp/config.toml`) that `ctp login` writes (mode 0600). What `ctp verify` pins
//! and remembers lives in `$XDG_STATE_HOME/ctp/` (else `~/.local/state/ctp/`).
//!
//! Exit codes: 0 success; 1 usage or configuration error; 2 server or network error;
//! 3 verification failed (signature, proof or consistency).

mod output;

use std::collections::HashSet;
use std::io::{BufRead as _, IsTerminal as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use ctp_client::local::{create_private, Config, LocalError, StateStore};
use ctp_client::verify::Failure;
use ctp_client::{id_of, Client, Kind, LogEntry, LogQuery, Measurement, NewTrigger, VerifyError, VerifyOptions};
use ctp_jws::{Algorithm, PrivateKey};

use crate::output::{pretty, state_words};

const EXIT_CODES: &str = "\
Server and token: --url/--token, else CTP_URL/CTP_TOKEN, else the config file that `ctp login` writes
($XDG_CONFIG_HOME/ctp/config.toml or ~/.config/ctp/config.toml; --config PATH).

Exit codes:
  0  success
  1  usage or configuration error (arguments, no server or token, local files)
  2  server or network error (unreachable, token refused, the server's 4xx/5xx)
  3  verification failed (signature, inclusion proof, or consistency: a rewritten history)";

/// The command line.
#[derive(Parser)]
#[command(name = "ctp", version, about = "A client of the Cloud Trust Protocol (CTP 2.14) API", after_help = EXIT_CODES)]
struct Cli {
    /// The API's base URL, e.g. http://127.0.0.1:8080/api/1.0/
    #[arg(long, global = true, env = "CTP_URL")]
    url: Option<String>,
    /// The bearer token.
    #[arg(long, global = true, env = "CTP_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The config file (default: $XDG_CONFIG_HOME/ctp/config.toml or ~/.config/ctp/config.toml).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a token against the server and store both in the config file (mode 0600).
    Login {
        /// The API's base URL.
        #[arg(value_name = "URL")]
        server: String,
    },
    /// Print service views → assets → attributes → measurements with their objective status.
    Tree,
    /// Print any resource (by URL, or by id).
    Get {
        /// A URL, or an id (looked up in every collection unless --kind is given).
        #[arg(allow_hyphen_values = true)]
        target: String,
        /// The kind of the id.
        #[arg(long, value_enum)]
        kind: Option<KindArg>,
    },
    /// Make a signing key: a PKCS#8 PEM private key file (0600) and its public JWK.
    Keygen {
        /// The algorithm.
        #[arg(long, value_enum, default_value = "EdDSA")]
        alg: AlgArg,
        /// The private key file to create (never overwritten).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Push a result to a measurement (an agent's token), signed or not.
    Push {
        /// The measurement (id or URL).
        #[arg(allow_hyphen_values = true)]
        measurement: String,
        /// The result's value: a JSON array of rows, e.g. '[{"level": 3}]'.
        #[arg(long, value_name = "JSON")]
        value: String,
        /// The result's updateTime (RFC 3339; default: now, UTC, milliseconds).
        #[arg(long, value_name = "TIME")]
        update_time: Option<String>,
        /// Sign with this PKCS#8 PEM private key.
        #[arg(long, value_name = "KEYFILE", requires = "authority")]
        sign: Option<PathBuf>,
        /// The authority's id (the result's authorityId).
        #[arg(long, value_name = "AUTHORITY_ID", allow_hyphen_values = true)]
        authority: Option<String>,
        /// The key id in the signature's header (default: the key's RFC 7638 thumbprint).
        #[arg(long, requires = "sign")]
        kid: Option<String>,
    },
    /// Create, list and delete triggers.
    #[command(subcommand)]
    Trigger(TriggerCommand),
    /// Print a service view's log entries, oldest first.
    Logs {
        /// The service view (id or URL).
        #[arg(allow_hyphen_values = true)]
        view: String,
        /// Only entries with all these tags (a,b).
        #[arg(long, value_delimiter = ',')]
        tags: Vec<String>,
        /// Keep polling (every 2 s) for new entries until Ctrl-C.
        #[arg(long)]
        follow: bool,
    },
    /// Check a measurement's result or a log entry against the server's transparency log.
    Verify {
        /// A measurement or log entry (id or URL).
        #[arg(allow_hyphen_values = true)]
        target: String,
        /// The id is a log entry's.
        #[arg(long)]
        log: bool,
        /// Verify the signature with this public key (JWK, JWK set or PEM) instead of the
        /// authority's keys as the server lists them.
        #[arg(long, value_name = "FILE")]
        authority_key: Option<PathBuf>,
        /// Accept a server checkpoint key other than the one pinned (and pin it).
        #[arg(long)]
        trust_new_server_key: bool,
        /// Accept authority keys other than the ones pinned (and pin them).
        #[arg(long)]
        trust_new_authority_keys: bool,
    },
}

#[derive(Subcommand)]
enum TriggerCommand {
    /// Create a trigger in a service view.
    Create {
        /// The service view (id or URL).
        #[arg(allow_hyphen_values = true)]
        view: String,
        /// The measurement (id or URL).
        #[arg(long, allow_hyphen_values = true)]
        measurement: String,
        /// The CTPScript condition, e.g. 'value[0].level > 10'.
        #[arg(long)]
        condition: String,
        /// Its name.
        #[arg(long, default_value = "")]
        name: String,
        /// Where alerts go: xmpp: URI or http(s) URL (default: the log only).
        #[arg(long, default_value = "")]
        notification: String,
        /// Seconds during which the condition holding again raises no new alert.
        #[arg(long, default_value_t = 0.0)]
        guard_time: f64,
        /// Tags copied to its log entries (a,b).
        #[arg(long, value_delimiter = ',')]
        tags: Vec<String>,
    },
    /// List a service view's triggers.
    List {
        /// The service view (id or URL).
        #[arg(allow_hyphen_values = true)]
        view: String,
    },
    /// Delete a trigger.
    Delete {
        /// The trigger (id or URL).
        #[arg(allow_hyphen_values = true)]
        trigger: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum KindArg {
    #[value(name = "serviceView")]
    ServiceView,
    Dependency,
    Asset,
    Attribute,
    Measurement,
    Metric,
    Trigger,
    Log,
    Authority,
}

impl From<KindArg> for Kind {
    fn from(kind: KindArg) -> Kind {
        match kind {
            KindArg::ServiceView => Kind::ServiceView,
            KindArg::Dependency => Kind::Dependency,
            KindArg::Asset => Kind::Asset,
            KindArg::Attribute => Kind::Attribute,
            KindArg::Measurement => Kind::Measurement,
            KindArg::Metric => Kind::Metric,
            KindArg::Trigger => Kind::Trigger,
            KindArg::Log => Kind::Log,
            KindArg::Authority => Kind::Authority,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum AlgArg {
    #[value(name = "EdDSA")]
    EdDsa,
    #[value(name = "ES256")]
    Es256,
}

/// A failure, with its exit code.
enum Fail {
    /// 1.
    Usage(String),
    /// 2.
    Server(String),
    /// 3.
    Verification(String),
}

impl Fail {
    fn code(&self) -> u8 {
        match self {
            Fail::Usage(_) => 1,
            Fail::Server(_) => 2,
            Fail::Verification(_) => 3,
        }
    }

    fn message(&self) -> &str {
        match self {
            Fail::Usage(m) | Fail::Server(m) | Fail::Verification(m) => m,
        }
    }
}

impl From<ctp_client::Error> for Fail {
    fn from(e: ctp_client::Error) -> Fail {
        match e {
            ctp_client::Error::InvalidUrl { .. } | ctp_client::Error::InvalidTarget { .. } => {
                Fail::Usage(e.to_string())
            }
            e => Fail::Server(e.to_string()),
        }
    }
}

impl From<LocalError> for Fail {
    fn from(e: LocalError) -> Fail {
        Fail::Usage(e.to_string())
    }
}

impl From<Failure> for Fail {
    fn from(e: Failure) -> Fail {
        Fail::Verification(e.to_string())
    }
}

type Outcome = Result<(), Fail>;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(fail) => {
            eprintln!("ctp: {}", fail.message());
            ExitCode::from(fail.code())
        }
    }
}

/// What every command shares.
struct Ctx {
    url: Option<String>,
    token: Option<String>,
    config: Option<PathBuf>,
    json: bool,
    color: bool,
}

fn env_dir(name: &str, fallback: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").filter(|h| !h.is_empty()).map(|h| PathBuf::from(h).join(fallback)))
}

impl Ctx {
    fn config_path(&self) -> Result<PathBuf, Fail> {
        match &self.config {
            Some(path) => Ok(path.clone()),
            None => env_dir("XDG_CONFIG_HOME", ".config").map(|d| d.join("ctp/config.toml")).ok_or_else(|| {
                Fail::Usage("no config file: HOME and XDG_CONFIG_HOME are unset — give --config PATH".into())
            }),
        }
    }

    fn state_store(&self) -> Result<StateStore, Fail> {
        env_dir("XDG_STATE_HOME", ".local/state").map(|d| StateStore::new(d.join("ctp"))).ok_or_else(|| {
            Fail::Usage("no state folder: HOME and XDG_STATE_HOME are unset — set XDG_STATE_HOME".into())
        })
    }

    fn client(&self) -> Result<Client, Fail> {
        let config = match (&self.url, &self.token) {
            (Some(_), Some(_)) => Config::default(),
            _ => Config::load(&self.config_path()?)?,
        };
        let url = self
            .url
            .clone()
            .or(config.url)
            .ok_or_else(|| Fail::Usage("no server: give --url URL, set CTP_URL, or run `ctp login URL`".into()))?;
        let token =
            self.token.clone().or(config.token).ok_or_else(|| {
                Fail::Usage("no token: give --token TOKEN, set CTP_TOKEN, or run `ctp login URL`".into())
            })?;
        Ok(Client::new(&url, &token)?)
    }

    fn print_json(&self, value: &impl serde::Serialize) {
        println!("{}", serde_json::to_string(value).expect("serializes"));
    }
}

fn run(cli: Cli) -> Outcome {
    let json = cli.json;
    let color = !json && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let ctx = Ctx { url: cli.url, token: cli.token, config: cli.config, json, color };
    match cli.command {
        Command::Login { server } => login(&ctx, &server),
        Command::Tree => tree(&ctx),
        Command::Get { target, kind } => get(&ctx, &target, kind.map(Kind::from)),
        Command::Keygen { alg, out } => keygen(&ctx, alg, &out),
        Command::Push { measurement, value, update_time, sign, authority, kid } => {
            push(&ctx, &measurement, &value, update_time, sign.as_deref(), authority.as_deref(), kid)
        }
        Command::Trigger(TriggerCommand::Create {
            view,
            measurement,
            condition,
            name,
            notification,
            guard_time,
            tags,
        }) => {
            let trigger =
                NewTrigger { name, annotation: String::new(), measurement, condition, notification, guard_time, tags };
            trigger_create(&ctx, &view, &trigger)
        }
        Command::Trigger(TriggerCommand::List { view }) => trigger_list(&ctx, &view),
        Command::Trigger(TriggerCommand::Delete { trigger }) => {
            ctx.client()?.delete_trigger(&trigger)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({"deleted": trigger}));
            } else {
                println!("deleted trigger {trigger}");
            }
            Ok(())
        }
        Command::Logs { view, tags, follow } => logs(&ctx, &view, tags, follow),
        Command::Verify { target, log, authority_key, trust_new_server_key, trust_new_authority_keys } => {
            verify(&ctx, &target, log, authority_key.as_deref(), trust_new_server_key, trust_new_authority_keys)
        }
    }
}

fn login(ctx: &Ctx, server: &str) -> Outcome {
    let token = match &ctx.token {
        Some(token) => token.clone(),
        None => {
            if std::io::stdin().is_terminal() {
                eprint!("token for {server}: ");
            }
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| Fail::Usage(format!("cannot read the token from stdin: {e}")))?;
            line.trim().to_owned()
        }
    };
    if token.is_empty() {
        return Err(Fail::Usage("no token: give --token TOKEN or type it on stdin".into()));
    }
    let client = Client::new(server, &token)?;
    let entry = client.entry_point()?;
    let path = ctx.config_path()?;
    Config { url: Some(client.base().to_owned()), token: Some(token) }.save(&path)?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({"url": client.base(), "name": entry.name, "config": path}));
    } else {
        println!("logged in to {} ({}); saved in {} (mode 0600)", entry.name, client.base(), path.display());
    }
    Ok(())
}

fn measurement_json(measurement: &Measurement) -> serde_json::Value {
    let mut value = serde_json::to_value(measurement).expect("a measurement serializes");
    value["objectiveState"] = measurement.objective_state().words().into();
    value
}

fn tree(ctx: &Ctx) -> Outcome {
    let client = ctx.client()?;
    let views = client.tree()?;
    if ctx.json {
        let views: Vec<_> = views
            .iter()
            .map(|v| {
                let assets: Vec<_> = v
                    .assets
                    .iter()
                    .map(|a| {
                        let attributes: Vec<_> = a
                            .attributes
                            .iter()
                            .map(|t| {
                                serde_json::json!({"attribute": t.attribute,
                                "measurements": t.measurements.iter().map(measurement_json).collect::<Vec<_>>()})
                            })
                            .collect();
                        serde_json::json!({"asset": a.asset, "attributes": attributes})
                    })
                    .collect();
                serde_json::json!({"view": v.view, "assets": assets})
            })
            .collect();
        ctx.print_json(&views);
        return Ok(());
    }
    if views.is_empty() {
        println!("no service views are visible to this token");
    }
    for view in &views {
        println!("{}  (service view {})", view.view.name, id_of(&view.view.self_link));
        for asset in &view.assets {
            println!("  {}  (asset {})", asset.asset.name, id_of(&asset.asset.self_link));
            for attribute in &asset.attributes {
                println!("    {}  (attribute {})", attribute.attribute.name, id_of(&attribute.attribute.self_link));
                for m in &attribute.measurements {
                    let objective =
                        m.objective.as_ref().map_or(String::new(), |o| format!("  objective: {}", o.condition));
                    println!(
                        "      {}  (measurement {}): {}{objective}",
                        m.name,
                        id_of(&m.self_link),
                        state_words(m.objective_state(), ctx.color)
                    );
                }
            }
        }
    }
    Ok(())
}

fn get(ctx: &Ctx, target: &str, kind: Option<Kind>) -> Outcome {
    let (_, text) = ctx.client()?.get(target, kind)?;
    if ctx.json {
        println!("{}", text.trim());
    } else {
        println!("{}", pretty(&text));
    }
    Ok(())
}

fn keygen(ctx: &Ctx, alg: AlgArg, out: &Path) -> Outcome {
    let algorithm = match alg {
        AlgArg::EdDsa => Algorithm::EdDsa,
        AlgArg::Es256 => Algorithm::Es256,
    };
    let key = PrivateKey::generate(algorithm).map_err(|e| Fail::Usage(format!("cannot make a key: {e}")))?;
    create_private(out, key.to_pkcs8_pem().as_bytes()).map_err(|e| match e {
        LocalError::Io { source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists => {
            Fail::Usage(format!("{} exists: keys are never overwritten — choose another --out", out.display()))
        }
        e => e.into(),
    })?;
    let public = key.public_key();
    let kid = public.thumbprint();
    let mut jwk = public.to_jwk();
    jwk.insert("kid".into(), kid.clone().into());
    let jwk = serde_json::Value::Object(jwk);
    if ctx.json {
        ctx.print_json(&serde_json::json!({"privateKey": out, "kid": kid, "algorithm": algorithm.name(), "jwk": jwk}));
    } else {
        println!("private key: {} (PKCS#8 PEM, mode 0600; keep it secret)", out.display());
        println!("suggested kid: {kid} (its RFC 7638 thumbprint)");
        println!("public key (JWK), to register with the authority:");
        println!("{}", pretty(&jwk.to_string()));
    }
    Ok(())
}

fn push(
    ctx: &Ctx,
    measurement: &str,
    value: &str,
    update_time: Option<String>,
    sign: Option<&Path>,
    authority: Option<&str>,
    kid: Option<String>,
) -> Outcome {
    let update_time = update_time.unwrap_or_else(ctp_client::result::now_rfc3339_ms);
    let usage = |e: ctp_client::result::ResultError| Fail::Usage(e.to_string());
    let text = ctp_client::result::result_text(value, &update_time, authority).map_err(usage)?;
    let result = match sign {
        None => ctp_client::result::unsigned(&text),
        Some(file) => {
            let pem = std::fs::read_to_string(file).map_err(|e| {
                Fail::Usage(format!("{}: {e} — give the private key file `ctp keygen` wrote", file.display()))
            })?;
            let key = PrivateKey::from_pkcs8_pem(&pem)
                .map_err(|e| Fail::Usage(format!("{}: not a PKCS#8 PEM private key: {e}", file.display())))?;
            let kid = kid.unwrap_or_else(|| key.public_key().thumbprint());
            ctp_client::result::signed(&text, &key, &kid).map_err(usage)?
        }
    };
    let after = ctx.client()?.push_result(measurement, &result)?;
    if ctx.json {
        ctx.print_json(&measurement_json(&after));
    } else {
        let objective = after.objective.as_ref().map_or(String::new(), |o| format!(" ({})", o.condition));
        println!(
            "pushed to {} (measurement {}){}; objective: {}{objective}",
            after.name,
            id_of(&after.self_link),
            if sign.is_some() { ", signed" } else { "" },
            state_words(after.objective_state(), ctx.color)
        );
    }
    Ok(())
}

fn trigger_create(ctx: &Ctx, view: &str, trigger: &NewTrigger) -> Outcome {
    let created = ctx.client()?.create_trigger(view, trigger)?;
    if ctx.json {
        ctx.print_json(&created);
    } else {
        println!("created trigger {} ({})", id_of(&created.self_link), created.self_link);
    }
    Ok(())
}

fn trigger_list(ctx: &Ctx, view: &str) -> Outcome {
    let triggers = ctx.client()?.triggers(view)?;
    if ctx.json {
        ctx.print_json(&triggers);
        return Ok(());
    }
    if triggers.is_empty() {
        println!("no triggers");
    }
    for t in &triggers {
        println!(
            "{}  {:?}  status {}  measurement {}  condition {}  tags [{}]",
            id_of(&t.self_link),
            t.name,
            t.status,
            id_of(&t.measurement),
            t.condition,
            t.tags.join(",")
        );
    }
    Ok(())
}

fn print_entry(ctx: &Ctx, entry: &LogEntry) {
    if ctx.json {
        ctx.print_json(entry);
        return;
    }
    let body = match (&entry.result, &entry.error) {
        (Some(result), _) => format!("result {}", result.get()),
        (None, Some(error)) => format!("error: {error}"),
        (None, None) => String::new(),
    };
    println!(
        "{}  {}  trigger {}  tags [{}]  {body}",
        entry.creation_time,
        id_of(&entry.self_link),
        id_of(&entry.trigger),
        entry.tags.join(",")
    );
}

fn sort_oldest_first(entries: &mut [LogEntry]) {
    let key = |e: &LogEntry| ctp_client::resources::parse_time(&e.creation_time);
    entries.sort_by_key(key);
}

fn logs(ctx: &Ctx, view: &str, tags: Vec<String>, follow: bool) -> Outcome {
    let client = ctx.client()?;
    let mut query = LogQuery { tags, ..LogQuery::default() };
    let mut entries = client.logs(view, &query)?;
    sort_oldest_first(&mut entries);
    // The newest time printed, and the ids printed at that time (`oldest` is inclusive).
    let mut last: Option<String> = None;
    let mut at_last: HashSet<String> = HashSet::new();
    let note = |entry: &LogEntry, last: &mut Option<String>, at_last: &mut HashSet<String>| {
        let newer = last.as_ref().is_none_or(|l| {
            ctp_client::resources::parse_time(&entry.creation_time) > ctp_client::resources::parse_time(l)
        });
        if newer {
            *last = Some(entry.creation_time.clone());
            at_last.clear();
        }
        at_last.insert(entry.self_link.clone());
    };
    for entry in &entries {
        print_entry(ctx, entry);
        note(entry, &mut last, &mut at_last);
    }
    if !follow {
        if entries.is_empty() && !ctx.json {
            println!("no log entries");
        }
        return Ok(());
    }
    loop {
        std::thread::sleep(Duration::from_secs(2));
        query.oldest = last.clone();
        let mut entries = match client.logs(view, &query) {
            Ok(entries) => entries,
            Err(e @ (ctp_client::Error::Network { .. } | ctp_client::Error::Server { .. })) => {
                eprintln!("ctp: {e} (still following)");
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        sort_oldest_first(&mut entries);
        for entry in &entries {
            if !at_last.contains(&entry.self_link) {
                print_entry(ctx, entry);
                note(entry, &mut last, &mut at_last);
            }
        }
    }
}

fn verify(
    ctx: &Ctx,
    target: &str,
    log: bool,
    authority_key: Option<&Path>,
    trust_new_server_key: bool,
    trust_new_authority_keys: bool,
) -> Outcome {
    let kind = if target.contains("://") {
        match Kind::of_url(target) {
            Some(kind @ (Kind::Measurement | Kind::Log)) => kind,
            _ => return Err(Fail::Usage(format!("{target} is not the URL of a measurement or of a log entry"))),
        }
    } else if log {
        Kind::Log
    } else {
        Kind::Measurement
    };
    let authority_keys = match authority_key {
        None => None,
        Some(file) => {
            let text = std::fs::read_to_string(file).map_err(|e| Fail::Usage(format!("{}: {e}", file.display())))?;
            Some(ctp_client::verify::keys_from_file(&text).map_err(|e| Fail::Usage(e.to_string()))?)
        }
    };
    let client = ctx.client()?;
    let store = ctx.state_store()?;
    let mut state = store.load(client.base())?;
    let options = VerifyOptions { trust_new_server_key, trust_new_authority_keys, authority_keys };
    let now = ctp_client::result::now_rfc3339_ms();
    let report = match client.verify(target, kind, &mut state, &options, &now) {
        Ok(report) => report,
        Err(VerifyError::Client(e)) => return Err(e.into()),
        Err(VerifyError::Failed(Failure::Nothing(what))) => {
            return Err(Fail::Usage(format!("nothing to verify: {what}")))
        }
        Err(VerifyError::Failed(failure)) => return Err(failure.into()),
    };
    store.save(&state)?;
    if ctx.json {
        ctx.print_json(&report);
    } else {
        for line in &report.lines {
            println!("ok  {line}");
        }
        let verified = if ctx.color { "\x1b[32mVERIFIED\x1b[0m" } else { "VERIFIED" };
        println!("{verified}: {}", report.record);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use ctp_client::ObjectiveState;

    use super::*;

    #[test]
    fn the_help_documents_the_exit_codes() {
        use clap::CommandFactory as _;
        let help = Cli::command().render_long_help().to_string();
        for line in ["0  success", "1  usage", "2  server or network error", "3  verification failed"] {
            assert!(help.contains(line), "{line}: {help}");
        }
        Cli::command().debug_assert();
    }

    #[test]
    fn an_objective_state_is_printed_in_words() {
        let m: Measurement = serde_json::from_str(
            r#"{"self":"http://h/api/1.0/measurements/m","result":{"value":[]},
                "objective":{"condition":"c","status":"true"}}"#,
        )
        .unwrap();
        assert_eq!(measurement_json(&m)["objectiveState"], "met");
        assert_eq!(state_words(ObjectiveState::Met, false), "met");
    }
}
