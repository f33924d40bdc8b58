//! `ctpd ossec parse`: the dry run of the OSSEC/Wazuh feed. Reads alert files (or standard
//! input), prints one normalized alert a line (JSON Lines, the columns of
//! `ossec_alerts::COLUMNS` in order) and, on standard error, what was read per format and
//! every record skipped, with its file, line and reason.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use ctp_model::ConditionCache;
use ctp_server::ossec::OssecConfig;
use ossec_alerts::{Context, Format, Parser, Record};
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;

/// The longest line read; a longer one is skipped (and reported), not buffered.
const MAX_LINE: usize = 1 << 20;

/// `ctpd ossec ...`.
#[derive(Debug, Subcommand)]
pub enum OssecCommand {
    /// Parse alert files and print one normalized alert per line (JSON Lines); a summary
    /// and every skipped record go to standard error.
    ///
    /// Exit status: 0 when every record was read, 2 when some were skipped (each is
    /// reported), 1 when a file could not be read.
    Parse(ParseArgs),
    /// Create what the routes of the configuration's `[ossec]` table need: the metric of
    /// alert windows, the service view, asset and attribute, and a measurement per route.
    /// Existing resources (found by name) are kept: running it again changes nothing.
    Setup(StoreArgs),
    /// Show where each file source of the feed stands (its stored position and the file's
    /// lag) and each route's measurement with the alerts of its current window.
    Status(StoreArgs),
}

/// Flags of `ctpd ossec setup` and `ctpd ossec status`.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The configuration file of `ctpd serve`, with its `[ossec]` table.
    #[arg(long, value_name = "PATH")]
    pub config: PathBuf,
    /// The store, overriding the file's `database`.
    #[arg(long, value_name = "URL", env = "CTPD_DATABASE")]
    pub database: Option<String>,
}

/// What these commands read of the configuration file.
#[derive(Deserialize)]
struct FeedFile {
    database: Option<String>,
    ossec: Option<OssecConfig>,
}

/// The `[ossec]` table and the store of a configuration file.
fn load(args: &StoreArgs) -> anyhow::Result<(OssecConfig, String)> {
    let text =
        std::fs::read_to_string(&args.config).with_context(|| format!("cannot read {}", args.config.display()))?;
    let file: FeedFile =
        toml::from_str(&text).with_context(|| format!("{} is not a valid configuration", args.config.display()))?;
    let Some(ossec) = file.ossec else {
        anyhow::bail!("{} has no [ossec] table (see docs/ossec.md)", args.config.display());
    };
    ossec.check().map_err(|e| anyhow::anyhow!("[ossec]: {e}"))?;
    let database = args.database.clone().or(file.database).unwrap_or_else(|| super::serve::DEFAULT_DATABASE.into());
    Ok((ossec, database))
}

fn setup(args: &StoreArgs) -> anyhow::Result<u8> {
    let (config, database) = load(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let store = ctp_store_open::open(&database).await?;
        let conditions = Arc::new(ConditionCache::default());
        let report = ctp_server::ossec::setup::setup(&store, &conditions, &config)
            .await
            .map_err(|e| anyhow::anyhow!(e.chain()))?;
        for (kind, name, id, created) in &report.resources {
            println!("{:<8} {kind:<13} {id}  {name}", if *created { "created" } else { "exists" });
        }
        // Every route now has its measurement: the feed would start.
        ctp_server::ossec::setup::router(&store, &config).await.map_err(|e| anyhow::anyhow!(e))?;
        println!(
            "{} route(s) ready; start the feed with `ctpd serve --config {}`",
            config.route.len(),
            args.config.display()
        );
        Ok(0)
    })
}

fn status(args: &StoreArgs) -> anyhow::Result<u8> {
    let (config, database) = load(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let store = ctp_store_open::open(&database).await?;
        let positions = store.feed_positions().await.map_err(|e| anyhow::anyhow!(e.chain()))?;
        for file in &config.file {
            let size = std::fs::metadata(&file.path).map(|m| m.len()).ok();
            match positions.iter().find(|p| p.source == file.name) {
                Some(p) => {
                    let same = ossec_sources::file::has_fingerprint(std::path::Path::new(&p.path), &p.fingerprint);
                    let lag = if p.path == file.path.display().to_string() && same.unwrap_or(false) {
                        size.map(|s| s.saturating_sub(p.offset).to_string()).unwrap_or_else(|| "?".into())
                    } else {
                        "? (rotated since)".into()
                    };
                    println!(
                        "file {}: {} at byte {} (line {}), committed {}, lag {lag} byte(s)",
                        file.name, p.path, p.offset, p.line, p.update_time
                    );
                }
                None => println!("file {}: {} not read yet", file.name, file.path.display()),
            }
        }
        for syslog in &config.syslog {
            println!("syslog {}: udp {:?}, tcp {:?} (no stored position: live counters at GET ossec/status)", syslog.name, syslog.udp, syslog.tcp);
        }
        let router = ctp_server::ossec::setup::router(&store, &config).await.map_err(|e| anyhow::anyhow!(e))?;
        for route in &router.routes {
            let measurement = store.measurement(&route.measurement).await.map_err(|e| anyhow::anyhow!(e.chain()))?;
            let (rows, newest, updated) = window_summary(measurement.result.as_deref());
            let objective = measurement.objective.as_ref().map(|o| o.status.as_str()).unwrap_or("none");
            println!(
                "route {}: measurement {} holds {rows} alert(s), newest {newest}, result of {updated}, objective {objective}",
                route.name, route.measurement
            );
        }
        Ok(0)
    })
}

/// Rows, newest alert time and update time of a stored window result.
fn window_summary(result: Option<&str>) -> (usize, String, String) {
    let value: serde_json::Value = result.and_then(|r| serde_json::from_str(r).ok()).unwrap_or_default();
    let rows = value["value"].as_array().cloned().unwrap_or_default();
    let newest = rows.iter().filter_map(|r| r["time"].as_str()).max().unwrap_or("-").to_owned();
    (rows.len(), newest, value["updateTime"].as_str().unwrap_or("-").to_owned())
}

/// Flags of `ctpd ossec parse`.
#[derive(Debug, Args)]
pub struct ParseArgs {
    /// The format of the files; `auto` detects it per file from its first line.
    #[arg(long, value_enum, default_value = "auto")]
    pub format: FormatArg,
    /// Alert files (`alerts.log`, `alerts.json`, syslog captures); `-` is standard input.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<String>,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Detect per file.
    Auto,
    /// `alerts.log`.
    AlertsLog,
    /// `alerts.json`.
    AlertsJson,
    /// ossec-csyslogd / wazuh-csyslogd output (default, json, cef, splunk).
    Syslog,
}

/// Runs a subcommand; the exit status it asks for.
pub fn run(command: &OssecCommand) -> anyhow::Result<u8> {
    match command {
        OssecCommand::Parse(args) => parse(args),
        OssecCommand::Setup(args) => setup(args),
        OssecCommand::Status(args) => status(args),
    }
}

/// What one run read.
#[derive(Default)]
struct Summary {
    alerts: BTreeMap<Format, u64>,
    skipped: u64,
}

fn parse(args: &ParseArgs) -> anyhow::Result<u8> {
    let forced = match args.format {
        FormatArg::Auto => None,
        FormatArg::AlertsLog => Some(Format::AlertsLog),
        FormatArg::AlertsJson => Some(Format::AlertsJson),
        FormatArg::Syslog => Some(Format::Syslog),
    };
    let context = Context { now: chrono::Utc::now() };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut summary = Summary::default();
    for name in &args.files {
        let input: Box<dyn Read> = if name == "-" {
            Box::new(std::io::stdin())
        } else {
            Box::new(std::fs::File::open(name).with_context(|| format!("cannot open {name}"))?)
        };
        parse_stream(name, BufReader::new(input), forced, context, &mut out, &mut summary)
            .with_context(|| format!("cannot read {name}"))?;
    }
    out.flush()?;
    let per_format: Vec<String> =
        summary.alerts.iter().map(|(format, count)| format!("{count} {}", format.name())).collect();
    let total: u64 = summary.alerts.values().sum();
    eprintln!(
        "ctpd ossec parse: {total} alert(s) ({}), {} record(s) skipped",
        if per_format.is_empty() { "none".to_owned() } else { per_format.join(", ") },
        summary.skipped
    );
    Ok(if summary.skipped > 0 { 2 } else { 0 })
}

/// Reads one stream: the format from its first non-empty line (unless `forced`), then
/// every line through one parser.
fn parse_stream(
    name: &str,
    mut input: impl BufRead,
    forced: Option<Format>,
    context: Context,
    out: &mut impl Write,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    let mut parser: Option<Parser> = forced.map(|format| Parser::new(format, context));
    // Lines before the format is known (empty ones), replayed into the parser.
    let mut waiting = 0usize;
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = (&mut input).take(MAX_LINE as u64 + 1).read_until(b'\n', &mut line)?;
        if read == 0 {
            break;
        }
        let too_long = line.len() > MAX_LINE && line.last() != Some(&b'\n');
        if too_long {
            // Skip the rest of the line without keeping it.
            let mut rest = Vec::new();
            while (&mut input).take(MAX_LINE as u64).read_until(b'\n', &mut rest)? > 0 && rest.last() != Some(&b'\n') {
                rest.clear();
            }
        }
        // Valid UTF-8 (the usual case) is checked by the fast path; only invalid bytes are
        // replaced.
        let text = match std::str::from_utf8(&line) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(&line),
        };
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let parser = match &mut parser {
            Some(parser) => parser,
            None if text.trim().is_empty() => {
                waiting += 1;
                continue;
            }
            None => {
                let format = Format::detect(text).unwrap_or(Format::Syslog);
                let mut fresh = Parser::new(format, context);
                for _ in 0..waiting {
                    fresh.push_line("");
                }
                parser.insert(fresh)
            }
        };
        let record = if too_long {
            parser.push_line("");
            Some(Record { line: 0, outcome: Err(format!("a line longer than {MAX_LINE} bytes")) })
        } else {
            parser.push_line(text)
        };
        report(name, parser.format(), record, out, summary)?;
    }
    if let Some(parser) = &mut parser {
        let format = parser.format();
        let last = parser.finish();
        report(name, format, last, out, summary)?;
    }
    Ok(())
}

fn report(
    name: &str,
    format: Format,
    record: Option<Record>,
    out: &mut impl Write,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    let Some(record) = record else { return Ok(()) };
    match record.outcome {
        Ok(alert) => {
            let mut row = alert.to_json_line().into_bytes();
            row.push(b'\n');
            out.write_all(&row)?;
            *summary.alerts.entry(format).or_default() += 1;
        }
        Err(reason) => {
            summary.skipped += 1;
            eprintln!("{name}:{}: skipped ({}): {reason}", record.line, format.name());
        }
    }
    Ok(())
}
