//! `ctpd ossec parse`: the dry run of the OSSEC/Wazuh feed. Reads alert files (or standard
//! input), prints one normalized alert a line (JSON Lines, the columns of
//! `ossec_alerts::COLUMNS` in order) and, on standard error, what was read per format and
//! every record skipped, with its file, line and reason.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use ossec_alerts::{Context, Format, Parser, Record};

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
        let text = String::from_utf8_lossy(&line);
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
            writeln!(out, "{}", alert.to_json_line())?;
            *summary.alerts.entry(format).or_default() += 1;
        }
        Err(reason) => {
            summary.skipped += 1;
            eprintln!("{name}:{}: skipped ({}): {reason}", record.line, format.name());
        }
    }
    Ok(())
}
