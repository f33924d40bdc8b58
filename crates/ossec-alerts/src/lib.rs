//! Intrusion alerts of OSSEC and Wazuh, read from every format their managers write and
//! normalized to one row per alert ([`Alert`], whose fields are the columns of the metric
//! ctpd measures alerts with). No I/O: callers hand over text, line by line
//! ([`Parser`]) or whole ([`parse_text`]).
//!
//! Formats (see `SOURCES.md` of the sample set for the writers' code):
//! - [`Format::AlertsLog`]: `alerts.log`, multi-line blocks starting at `** Alert `;
//! - [`Format::AlertsJson`]: `alerts.json`, one object per line, OSSEC jsonout or Wazuh;
//! - [`Format::Syslog`]: what `ossec-csyslogd`/`wazuh-csyslogd` send, in the `default`,
//!   `json`, `cef` and `splunk` formats, with or without the `<PRI>` and BSD header.
//!
//! A record that cannot be read is a [`Record`] with an error saying why, never dropped.

mod alerts_json;
mod alerts_log;
mod fields;
mod syslog;

use chrono::{DateTime, Utc};

/// The columns of an alert row, in order (the metric's `resultFormat`).
pub const COLUMNS: [&str; 11] =
    ["id", "time", "level", "rule", "description", "groups", "agent", "location", "srcip", "user", "compliance"];

/// One alert, normalized. Strings are `""` when the format does not carry the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The manager's alert id, `<epoch>.<n>` (`""` when the format has none).
    pub id: String,
    /// When the event happened, RFC 3339 in UTC.
    pub time: String,
    /// The rule's level (0–16).
    pub level: u32,
    /// The rule id.
    pub rule: u64,
    /// The rule's description.
    pub description: String,
    /// The rule's groups, comma-separated, without compliance tags.
    pub groups: String,
    /// The monitored host: the agent's name, or the manager's for its own events.
    pub agent: String,
    /// Where the event was read on that host (a file, `syscheck`, `EventChannel`...).
    pub location: String,
    /// The source IP address of the event.
    pub srcip: String,
    /// The user of the event.
    pub user: String,
    /// Compliance tags, comma-separated, `framework:requirement` (`hipaa:164.312.b`).
    pub compliance: String,
}

impl Alert {
    /// The alert as one line of JSON: an object with the [`COLUMNS`] in their order
    /// (`level` and `rule` numbers, the rest strings), what `ctpd ossec parse` prints.
    pub fn to_json_line(&self) -> String {
        let mut line = Vec::with_capacity(256);
        let text_fields = [
            ("id", &self.id),
            ("time", &self.time),
            ("description", &self.description),
            ("groups", &self.groups),
            ("agent", &self.agent),
            ("location", &self.location),
            ("srcip", &self.srcip),
            ("user", &self.user),
            ("compliance", &self.compliance),
        ];
        line.push(b'{');
        for (name, value) in &text_fields[..2] {
            push_member(&mut line, name, value);
        }
        line.extend_from_slice(format!(r#""level":{},"rule":{},"#, self.level, self.rule).as_bytes());
        for (name, value) in &text_fields[2..] {
            push_member(&mut line, name, value);
        }
        line.pop(); // the last comma
        line.push(b'}');
        String::from_utf8(line).expect("JSON text of strings is UTF-8")
    }

    /// The alert as a JSON object (a row of a result; key order is not kept).
    pub fn to_json(&self) -> serde_json::Value {
        let mut row = serde_json::Map::new();
        let text = |s: &str| serde_json::Value::String(s.to_owned());
        row.insert("id".into(), text(&self.id));
        row.insert("time".into(), text(&self.time));
        row.insert("level".into(), self.level.into());
        row.insert("rule".into(), self.rule.into());
        row.insert("description".into(), text(&self.description));
        row.insert("groups".into(), text(&self.groups));
        row.insert("agent".into(), text(&self.agent));
        row.insert("location".into(), text(&self.location));
        row.insert("srcip".into(), text(&self.srcip));
        row.insert("user".into(), text(&self.user));
        row.insert("compliance".into(), text(&self.compliance));
        serde_json::Value::Object(row)
    }
}

impl Alert {
    /// The alert of a row made by [`Alert::to_json`] or [`Alert::to_json_line`] (a result
    /// read back from the store); `None` when a column is missing or of the wrong type.
    pub fn from_json(row: &serde_json::Value) -> Option<Alert> {
        let text = |name: &str| row.get(name)?.as_str().map(str::to_owned);
        let number = |name: &str| row.get(name)?.as_u64();
        Some(Alert {
            id: text("id")?,
            time: text("time")?,
            level: u32::try_from(number("level")?).ok()?,
            rule: number("rule")?,
            description: text("description")?,
            groups: text("groups")?,
            agent: text("agent")?,
            location: text("location")?,
            srcip: text("srcip")?,
            user: text("user")?,
            compliance: text("compliance")?,
        })
    }
}

/// Appends `"name":value,` to a JSON line (serde_json escapes the value).
fn push_member(line: &mut Vec<u8>, name: &str, value: &str) {
    line.push(b'"');
    line.extend_from_slice(name.as_bytes());
    line.extend_from_slice(b"\":");
    serde_json::to_writer(&mut *line, value).expect("a string serializes");
    line.push(b',');
}

/// An alert format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// `alerts.log`.
    AlertsLog,
    /// `alerts.json`.
    AlertsJson,
    /// csyslogd output.
    Syslog,
}

impl Format {
    /// The name the command line uses: `alerts-log`, `alerts-json`, `syslog`.
    pub fn name(self) -> &'static str {
        match self {
            Format::AlertsLog => "alerts-log",
            Format::AlertsJson => "alerts-json",
            Format::Syslog => "syslog",
        }
    }

    /// The format of a name from [`Format::name`].
    pub fn from_name(name: &str) -> Option<Format> {
        [Format::AlertsLog, Format::AlertsJson, Format::Syslog].into_iter().find(|f| f.name() == name)
    }

    /// The format of a text from its first non-empty line: `** Alert ` starts an
    /// alerts.log, `{` an alerts.json; anything else is read as syslog. `None` for a text
    /// without a non-empty line.
    pub fn detect(text: &str) -> Option<Format> {
        let first = text.lines().map(str::trim_start).find(|line| !line.is_empty())?;
        Some(if first.starts_with("** Alert ") {
            Format::AlertsLog
        } else if first.starts_with('{') {
            Format::AlertsJson
        } else {
            Format::Syslog
        })
    }
}

/// The outcome of one record: its first line (1-based) and its alert, or why it was
/// skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The record's first line.
    pub line: usize,
    /// The alert, or why the record could not be read.
    pub outcome: Result<Alert, String>,
}

/// What parsing needs to know besides the text: when it happens (syslog formats carry
/// no year and no time zone: their time is read as UTC in the year that puts it closest
/// before `now`, and a message without a header gets `now`).
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// The time the text was received.
    pub now: DateTime<Utc>,
}

/// A parser of one stream, fed line by line. An `alerts.log` record ends where the next
/// starts (a line beginning with `** Alert `) or at [`Parser::finish`]; the other formats
/// have one record a line.
pub struct Parser {
    format: Format,
    context: Context,
    line: usize,
    block: Option<(usize, Vec<String>)>,
}

impl Parser {
    /// A parser of `format`.
    pub fn new(format: Format, context: Context) -> Parser {
        Parser { format, context, line: 0, block: None }
    }

    /// The format it reads.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The line where the record still open starts (an `alerts.log` block waiting for the
    /// next `** Alert` line or [`Parser::finish`]); `None` when every line read so far is in
    /// a record already returned. A follower resumes there after a restart.
    pub fn pending_since(&self) -> Option<usize> {
        self.block.as_ref().map(|(line, _)| *line)
    }

    /// Changes the reception time of what is read next (a long-lived stream).
    pub fn set_now(&mut self, now: DateTime<Utc>) {
        self.context.now = now;
    }

    /// Reads the next line (without its end of line); returns the record it completes.
    pub fn push_line(&mut self, text: &str) -> Option<Record> {
        self.line += 1;
        let line = self.line;
        let text = text.strip_suffix('\r').unwrap_or(text);
        match self.format {
            Format::AlertsLog => {
                if text.starts_with("** Alert ") {
                    let done = self.finish();
                    self.block = Some((line, vec![text.to_owned()]));
                    done
                } else if let Some((_, lines)) = &mut self.block {
                    lines.push(text.to_owned());
                    None
                } else if text.trim().is_empty() {
                    None
                } else {
                    Some(Record { line, outcome: Err("text outside an alert (no `** Alert` line before it)".into()) })
                }
            }
            Format::AlertsJson | Format::Syslog if text.trim().is_empty() => None,
            Format::AlertsJson => Some(Record { line, outcome: alerts_json::parse(text) }),
            Format::Syslog => Some(Record { line, outcome: syslog::parse(text, &self.context) }),
        }
    }

    /// Ends the stream: returns the record still open, if any.
    pub fn finish(&mut self) -> Option<Record> {
        let (line, lines) = self.block.take()?;
        Some(Record { line, outcome: alerts_log::parse(&lines) })
    }
}

/// Parses a whole text of `format` (detected when `None`); returns the format read and
/// every record.
pub fn parse_text(format: Option<Format>, text: &str, context: Context) -> (Format, Vec<Record>) {
    let format = format.or_else(|| Format::detect(text)).unwrap_or(Format::Syslog);
    let mut parser = Parser::new(format, context);
    let mut records: Vec<Record> = text.split('\n').filter_map(|line| parser.push_line(line)).collect();
    records.extend(parser.finish());
    (format, records)
}
