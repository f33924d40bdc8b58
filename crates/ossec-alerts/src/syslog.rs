//! What `ossec-csyslogd` / `wazuh-csyslogd` send: an optional `<PRI>` and BSD header
//! (`Mmm dd hh:mm:ss host ossec: `; CEF has no host and no tag) or RFC 5424 header (from
//! relays that reframe), then the alert in the
//! `default`, `json`, `cef` or `splunk` format. No year and no zone on the wire: see
//! [`crate::Context`].

use chrono::{DateTime, Utc};

use crate::fields::{rfc3339, split_groups, split_location, time_of_syslog, MONTHS};
use crate::{alerts_json, Alert, Context};

/// Reads one message.
pub fn parse(line: &str, context: &Context) -> Result<Alert, String> {
    let mut rest = line.trim_start();
    // <PRI>
    if let Some(after) = rest.strip_prefix('<') {
        let (pri, after) = after.split_once('>').ok_or("a `<` without its `>` (PRI)")?;
        pri.parse::<u8>().map_err(|_| format!("<{pri}> is not a syslog priority"))?;
        rest = after;
    }
    let mut header = Header { time: None, host: String::new() };
    // RFC 5424: `1 TIMESTAMP HOST APP PROCID MSGID STRUCTURED-DATA MSG`
    if let Some(after) = rest.strip_prefix("1 ") {
        let (fields, message) = rfc5424(after)?;
        header.host = fields.host.to_owned();
        header.time = fields.time;
        rest = message;
    // RFC 3164: Mmm dd hh:mm:ss [host]
    } else if MONTHS.iter().any(|m| rest.starts_with(m) && rest.as_bytes().get(3) == Some(&b' ')) {
        let month = &rest[..3];
        let after_month = rest[4..].trim_start();
        let (day, after_day) = after_month.split_once(' ').ok_or("a syslog header without its day")?;
        let (clock, after_clock) = after_day.split_once(' ').ok_or("a syslog header without its time")?;
        header.time = Some(
            time_of_syslog(month, day, clock, context.now)
                .ok_or_else(|| format!("{month} {day} {clock} is not a syslog time"))?,
        );
        rest = after_clock;
        if !rest.starts_with("CEF:") {
            let (host, after_host) = rest.split_once(' ').ok_or("a syslog header without its host")?;
            header.host = host.to_owned();
            rest = after_host;
        }
    }
    // The tag.
    for tag in ["ossec: ", "wazuh: "] {
        if let Some(after) = rest.strip_prefix(tag) {
            rest = after;
        }
    }
    let mut alert = if rest.starts_with('{') {
        alerts_json::parse_csyslog(rest)?
    } else if let Some(payload) = rest.strip_prefix("Alert Level: ") {
        default(payload)?
    } else if rest.starts_with("CEF:") {
        cef(rest)?
    } else if rest.starts_with("crit=") {
        splunk(rest)?
    } else {
        return Err("not an OSSEC/Wazuh syslog alert (default, json, cef or splunk format)".into());
    };
    if alert.time.is_empty() {
        alert.time = rfc3339(header.time.unwrap_or(context.now));
    }
    if alert.agent.is_empty() {
        alert.agent = header.host;
    }
    Ok(alert)
}

struct Header {
    time: Option<DateTime<Utc>>,
    host: String,
}

/// What an RFC 5424 header gives: its time (`-` for none) and host.
struct Rfc5424<'a> {
    time: Option<DateTime<Utc>>,
    host: &'a str,
}

/// Splits what follows an RFC 5424 `<PRI>1 ` into its header and its message (the
/// structured data skipped, brackets and escapes included).
fn rfc5424(text: &str) -> Result<(Rfc5424<'_>, &str), String> {
    let mut fields = text.splitn(6, ' ');
    let mut next = || fields.next().ok_or("an RFC 5424 header with fewer than 6 fields");
    let (timestamp, host) = (next()?, next()?);
    let (_app, _procid, _msgid) = (next()?, next()?, next()?);
    let structured = next()?;
    let time = match timestamp {
        "-" => None,
        t => Some(
            DateTime::parse_from_rfc3339(t).map_err(|_| format!("{t:?} is not an RFC 5424 time"))?.with_timezone(&Utc),
        ),
    };
    // STRUCTURED-DATA: `-`, or `[id k="v" ...]` elements where `\]` is an escaped `]`.
    let message = if let Some(after) = structured.strip_prefix('-') {
        after
    } else {
        let mut end = None;
        let (mut depth, mut escaped) = (0, false);
        for (i, c) in structured.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '[' => depth += 1,
                ']' => {
                    depth -= 1;
                    if depth == 0 && !structured[i + 1..].starts_with('[') {
                        end = Some(i + 1);
                        break;
                    }
                }
                _ => {}
            }
        }
        &structured[end.ok_or("unterminated RFC 5424 structured data")?..]
    };
    let message = message.strip_prefix(' ').unwrap_or(message);
    Ok((Rfc5424 { time, host: if host == "-" { "" } else { host } }, message.trim_start_matches('\u{feff}')))
}

/// An alert with the fields every syslog format has; the others empty.
pub(crate) fn alert(level: u32, rule: u64, description: &str, location: &str, groups: &str) -> Alert {
    let (agent, location) = split_location(location);
    let (groups, compliance) = split_groups([groups]);
    Alert {
        id: String::new(),
        time: String::new(),
        level,
        rule,
        description: description.trim().to_owned(),
        groups,
        agent,
        location,
        srcip: String::new(),
        user: String::new(),
        compliance,
    }
}

/// `default`: `Alert Level: <n>; Rule: <id> - <description>; Location: <location>;`
/// then optional `; `-terminated fields and the full log. The description and the log are
/// not escaped: the fixed prefix is read first, the rest as well as it can be.
fn default(payload: &str) -> Result<Alert, String> {
    let (level, rest) = payload.split_once("; Rule: ").ok_or("no `Rule:` after the level")?;
    let (rule, rest) = rest.split_once(" - ").ok_or("no ` - ` after the rule id")?;
    let (description, rest) = rest.split_once("; Location: ").ok_or("no `Location:` after the description")?;
    let (location, mut rest) = rest.split_once(';').unwrap_or((rest, ""));
    let level = level.trim().parse().map_err(|_| format!("level {level:?} is not a number"))?;
    let rule = rule.trim().parse().map_err(|_| format!("rule {rule:?} is not a number"))?;
    let (mut classification, mut srcip, mut user) = ("", "", "");
    loop {
        let trimmed = rest.trim_start();
        let Some((key, after)) = trimmed.split_once(": ") else { break };
        let slot = match key {
            "classification" => &mut classification,
            "srcip" => &mut srcip,
            "user" => &mut user,
            "srccity" | "dstcity" | "dstip" => &mut "",
            _ => break,
        };
        let Some((value, after)) = after.split_once(';') else { break };
        *slot = value;
        rest = after;
    }
    let mut alert = alert(level, rule, description, location.trim(), classification);
    alert.srcip = srcip.trim().to_owned();
    alert.user = user.trim().to_owned();
    Ok(alert)
}

/// `cef`: `CEF:0|vendor|product|version|<rule>|<description>|<severity>|<extensions>`.
/// The severity is the level capped at 10 (what CEF allows).
fn cef(payload: &str) -> Result<Alert, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = payload.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if fields.len() < 7 => field.extend(chars.next()),
            '|' if fields.len() < 7 => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    let [_, _, _, _, rule, description, severity, extensions] = fields.as_slice() else {
        return Err("a CEF message has 8 `|`-separated fields".into());
    };
    let level = severity.trim().parse().map_err(|_| format!("CEF severity {severity:?} is not a number"))?;
    let rule = rule.trim().parse().map_err(|_| format!("rule {rule:?} is not a number"))?;
    let ext = cef_extensions(extensions);
    let get = |key: &str| ext.iter().find(|(k, _)| k == key).map_or("", |(_, v)| v.as_str());
    // The location is a custom string labelled `Location` (cs2 in 2.x, cs1 later).
    let location =
        ["cs1", "cs2", "cs3"].into_iter().find(|cs| get(&format!("{cs}Label")) == "Location").map_or("", |cs| get(cs));
    let groups = Some(get("classification")).filter(|g| !g.is_empty()).unwrap_or(get("cat"));
    let mut alert = alert(level, rule, description, location, groups);
    if alert.agent.is_empty() {
        alert.agent = get("dvc").to_owned();
    }
    alert.srcip = get("src").to_owned();
    alert.user = Some(get("suser")).filter(|u| !u.is_empty()).unwrap_or(get("duser")).to_owned();
    Ok(alert)
}

/// CEF extensions: `key=value` pairs separated by spaces, a value running to the next
/// ` key=`; `msg` is last and takes the rest; `\=` is an escaped `=`.
fn cef_extensions(text: &str) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for token in text.split(' ') {
        let is_key = |t: &str| {
            t.split_once('=')
                .is_some_and(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        };
        let in_message = pairs.last().is_some_and(|(k, _)| k == "msg");
        match token.split_once('=') {
            Some((key, value)) if is_key(token) && !in_message => pairs.push((key.to_owned(), value.to_owned())),
            _ => {
                if let Some((_, value)) = pairs.last_mut() {
                    value.push(' ');
                    value.push_str(token);
                }
            }
        }
    }
    for (_, value) in &mut pairs {
        *value = value.replace("\\=", "=").replace("\\\\", "\\");
    }
    pairs
}

/// `splunk`: `crit=<n> id=<rule> description="<d>" component="<location>",` then
/// optional ` key="value",` fields; values are not escaped.
fn splunk(payload: &str) -> Result<Alert, String> {
    let quoted = |key: &str| {
        let start = payload.find(&format!("{key}=\""))? + key.len() + 2;
        let end = payload[start..].find("\",").or_else(|| payload[start..].rfind('"'))?;
        Some(payload[start..start + end].to_owned())
    };
    let bare = |key: &str| {
        payload.split(' ').find_map(|t| t.strip_prefix(&format!("{key}="))).map(|v| v.trim_end_matches(','))
    };
    let level = bare("crit").and_then(|v| v.parse().ok()).ok_or("no `crit=` (level)")?;
    let rule = bare("id").and_then(|v| v.parse().ok()).ok_or("no `id=` (rule)")?;
    let description = quoted("description").ok_or("no `description=`")?;
    let location = quoted("component").unwrap_or_default();
    let mut alert = alert(level, rule, &description, &location, &quoted("classification").unwrap_or_default());
    alert.srcip = quoted("src_ip").unwrap_or_default();
    alert.user = quoted("acct").unwrap_or_default();
    Ok(alert)
}
