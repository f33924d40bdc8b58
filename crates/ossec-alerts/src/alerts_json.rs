//! `alerts.json`: one object a line, in OSSEC's jsonout schema (`rule.sidid`,
//! `rule.comment`, `TimeStamp`) or Wazuh's (`rule.id`, `rule.description`, `timestamp`,
//! `agent`, `data`), also as read back from the Wazuh indexer (`_source`).
//!
//! The objects are read into borrowed, typed records: fields ctpd does not use are
//! skipped without being built, which is most of a Wazuh alert.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::fields::{split_groups, split_location, time_of_id, time_of_iso, time_of_millis, time_of_wazuh2};
use crate::Alert;

type Text<'a> = Option<Cow<'a, str>>;

#[derive(Deserialize)]
struct Document<'a> {
    #[serde(borrow)]
    rule: Option<Rule<'a>>,
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    timestamp: Text<'a>,
    #[serde(rename = "TimeStamp")]
    time_stamp: Option<i64>,
    #[serde(rename = "@timestamp", borrow)]
    at_timestamp: Text<'a>,
    #[serde(borrow)]
    location: Text<'a>,
    #[serde(borrow)]
    hostname: Text<'a>,
    #[serde(borrow)]
    agent: Option<Agent<'a>>,
    #[serde(borrow)]
    data: Option<Decoded<'a>>,
    #[serde(borrow)]
    srcip: Text<'a>,
    #[serde(borrow)]
    srcuser: Text<'a>,
    #[serde(borrow)]
    dstuser: Text<'a>,
    #[serde(rename = "_source", borrow)]
    source: Option<Box<Document<'a>>>,
}

/// OSSEC's csyslogd `json` object, whose writer puts `crit` first.
#[derive(Deserialize)]
struct CsyslogObject<'a> {
    crit: u32,
    id: u64,
    #[serde(borrow)]
    component: Text<'a>,
    #[serde(borrow)]
    classification: Text<'a>,
    #[serde(borrow)]
    description: Text<'a>,
    #[serde(borrow)]
    acct: Text<'a>,
    #[serde(borrow)]
    src_ip: Text<'a>,
}

#[derive(Deserialize)]
struct Rule<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    sidid: Option<u64>,
    level: Option<u32>,
    #[serde(borrow)]
    description: Text<'a>,
    #[serde(borrow)]
    comment: Text<'a>,
    #[serde(borrow)]
    groups: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow)]
    group: Text<'a>,
    #[serde(borrow, default)]
    pci_dss: Vec<Cow<'a, str>>,
    #[serde(borrow, default)]
    gdpr: Vec<Cow<'a, str>>,
    #[serde(borrow, default)]
    hipaa: Vec<Cow<'a, str>>,
    #[serde(borrow, default)]
    nist_800_53: Vec<Cow<'a, str>>,
    #[serde(borrow, default)]
    gpg13: Vec<Cow<'a, str>>,
    #[serde(borrow, default)]
    tsc: Vec<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Agent<'a> {
    #[serde(borrow)]
    name: Text<'a>,
}

#[derive(Deserialize)]
struct Decoded<'a> {
    #[serde(borrow)]
    srcip: Text<'a>,
    #[serde(borrow)]
    srcuser: Text<'a>,
    #[serde(borrow)]
    dstuser: Text<'a>,
}

/// Reads one line.
pub fn parse(line: &str) -> Result<Alert, String> {
    let document: Document<'_> = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    from_document(document)
}

/// A csyslogd `json` payload, read in one pass: OSSEC's own object (`crit` = level, `id`
/// = rule, `component` = location, `classification` = groups, `description`, `acct`,
/// `src_ip`...), which its writer starts with `crit`, or else Wazuh 4's whole alerts.json
/// object.
pub fn parse_csyslog(payload: &str) -> Result<Alert, String> {
    if !payload.starts_with(r#"{"crit":"#) {
        // Another key order: an alert object, else (only then read twice) OSSEC's.
        return parse(payload).or_else(|alert_error| {
            csyslog_object(payload)
                .map_err(|_| format!("neither an alert object nor OSSEC's csyslogd object: {alert_error}"))
        });
    }
    csyslog_object(payload)
}

fn csyslog_object(payload: &str) -> Result<Alert, String> {
    let object: CsyslogObject<'_> =
        serde_json::from_str(payload).map_err(|e| format!("the JSON payload is not OSSEC's csyslogd object: {e}"))?;
    let text = |t: &Text<'_>| t.as_deref().unwrap_or("").to_owned();
    let mut alert = crate::syslog::alert(
        object.crit,
        object.id,
        &text(&object.description),
        &text(&object.component),
        &text(&object.classification),
    );
    alert.srcip = text(&object.src_ip);
    alert.user = text(&object.acct);
    Ok(alert)
}

fn from_document(mut document: Document<'_>) -> Result<Alert, String> {
    if let Some(source) = document.source {
        return from_document(*source);
    }
    let rule = document.rule.take().ok_or("no `rule` object")?;
    let id = document.id.map(raw_text).unwrap_or_default();
    let rule_id = match rule.id {
        Some(raw) => raw_text(raw).parse().map_err(|_| format!("rule id {} is not a number", raw.get()))?,
        None => rule.sidid.ok_or("no rule id (`rule.id` or `rule.sidid`)")?,
    };
    let (groups, mut compliance) = match &rule.groups {
        Some(groups) => split_groups(groups.iter().map(|g| g.as_ref())),
        None => split_groups([rule.group.as_deref().unwrap_or("")]),
    };
    let frameworks = [
        ("pci_dss", &rule.pci_dss),
        ("gdpr", &rule.gdpr),
        ("hipaa", &rule.hipaa),
        ("nist_800_53", &rule.nist_800_53),
        ("gpg13", &rule.gpg13),
        ("tsc", &rule.tsc),
    ];
    for (framework, requirements) in frameworks {
        for requirement in requirements {
            let tag = format!("{framework}:{requirement}");
            if !compliance.split(',').any(|t| t == tag) {
                if !compliance.is_empty() {
                    compliance.push(',');
                }
                compliance.push_str(&tag);
            }
        }
    }
    let time = alert_time(&document, &id)?;
    let (located_agent, location) = split_location(document.location.as_deref().unwrap_or(""));
    let agent = match &document.agent {
        Some(agent) => agent.name.as_deref().unwrap_or("").to_owned(),
        None if !located_agent.is_empty() => located_agent,
        // OSSEC's own events: the host its predecoder read.
        None => document.hostname.as_deref().filter(|h| !h.contains("->")).unwrap_or("").to_owned(),
    };
    // Wazuh puts decoded fields in `data`, OSSEC at the top.
    let (srcip, srcuser, dstuser) = match &document.data {
        Some(data) => (&data.srcip, &data.srcuser, &data.dstuser),
        None => (&document.srcip, &document.srcuser, &document.dstuser),
    };
    let text = |t: &Text<'_>| t.as_deref().unwrap_or("").to_owned();
    let user = match dstuser.as_deref() {
        Some(user) if !user.is_empty() => user.to_owned(),
        _ => text(srcuser),
    };
    Ok(Alert {
        id,
        time,
        level: rule.level.unwrap_or(0), // OSSEC omits a level of 0
        rule: rule_id,
        description: rule.description.or(rule.comment).as_deref().unwrap_or("").to_owned(),
        groups,
        agent,
        location,
        srcip: text(srcip),
        user,
        compliance,
    })
}

/// A JSON string's text, or a number's digits.
fn raw_text(raw: &RawValue) -> String {
    serde_json::from_str::<Cow<'_, str>>(raw.get()).map(Cow::into_owned).unwrap_or_else(|_| raw.get().to_owned())
}

/// The event time: Wazuh's `timestamp` (ISO, or 2.x's `2017 Feb 07 15:57:53`, for which
/// the alert id's epoch is preferred, being in UTC), OSSEC's `TimeStamp` (epoch ms), the
/// indexer's `@timestamp`, or else the alert id's epoch.
fn alert_time(document: &Document<'_>, id: &str) -> Result<String, String> {
    if let Some(text) = document.timestamp.as_deref() {
        return time_of_iso(text)
            .or_else(|| time_of_id(id))
            .or_else(|| time_of_wazuh2(text))
            .ok_or_else(|| format!("timestamp {text:?} is not a time"));
    }
    if let Some(millis) = document.time_stamp {
        return time_of_millis(millis).ok_or_else(|| format!("TimeStamp {millis} is not a time"));
    }
    document
        .at_timestamp
        .as_deref()
        .and_then(time_of_iso)
        .or_else(|| time_of_id(id))
        .ok_or_else(|| "no time (`timestamp`, `TimeStamp` or an alert id)".into())
}
