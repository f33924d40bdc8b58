//! `alerts.json`: one object a line, in OSSEC's jsonout schema (`rule.sidid`,
//! `rule.comment`, `TimeStamp`) or Wazuh's (`rule.id`, `rule.description`, `timestamp`,
//! `agent`, `data`), also as read back from the Wazuh indexer (`_source`).

use serde_json::{Map, Value};

use crate::fields::{
    compliance_of_rule, join_lists, split_groups, split_location, time_of_id, time_of_iso, time_of_millis,
    time_of_wazuh2,
};
use crate::Alert;

/// Reads one line.
pub fn parse(line: &str) -> Result<Alert, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    from_value(&value)
}

/// Reads one alert object.
pub fn from_value(value: &Value) -> Result<Alert, String> {
    let object = value.as_object().ok_or("not a JSON object")?;
    let object = object.get("_source").and_then(Value::as_object).unwrap_or(object);
    let rule = object.get("rule").and_then(Value::as_object).ok_or("no `rule` object")?;
    let text = |o: &Map<String, Value>, key: &str| o.get(key).and_then(Value::as_str).unwrap_or("").to_owned();
    let number = |v: Option<&Value>| v.and_then(|v| v.as_u64().or_else(|| v.as_str()?.trim().parse().ok()));
    let id = match object.get("id") {
        Some(Value::String(id)) => id.clone(),
        Some(Value::Number(id)) => id.to_string(),
        _ => String::new(),
    };
    let rule_id = number(rule.get("id").or_else(|| rule.get("sidid"))).ok_or("no rule id (`rule.id` or `rule.sidid`)")?;
    let level = number(rule.get("level")).unwrap_or(0); // OSSEC omits a level of 0
    let level = u32::try_from(level).map_err(|_| format!("level {level} is out of range"))?;
    let description = rule.get("description").or_else(|| rule.get("comment")).and_then(Value::as_str).unwrap_or("");
    let (groups, compliance) = match rule.get("groups") {
        Some(Value::Array(groups)) => split_groups(groups.iter().filter_map(Value::as_str)),
        _ => split_groups([text(rule, "group").as_str()]),
    };
    let compliance = join_lists(&compliance, &compliance_of_rule(rule));
    let time = alert_time(object, &id)?;
    let (located_agent, location) = split_location(&text(object, "location"));
    let agent = match object.get("agent").and_then(Value::as_object) {
        Some(agent) => text(agent, "name"),
        None if !located_agent.is_empty() => located_agent,
        // OSSEC's own events: the host its predecoder read.
        None => Some(text(object, "hostname")).filter(|h| !h.contains("->")).unwrap_or_default(),
    };
    let data = object.get("data").and_then(Value::as_object).unwrap_or(object);
    let srcip = text(data, "srcip");
    let user = Some(text(data, "dstuser")).filter(|u| !u.is_empty()).unwrap_or_else(|| text(data, "srcuser"));
    Ok(Alert {
        id,
        time,
        level,
        rule: rule_id,
        description: description.to_owned(),
        groups,
        agent,
        location,
        srcip,
        user,
        compliance,
    })
}

/// The event time: Wazuh's `timestamp` (ISO, or 2.x's `2017 Feb 07 15:57:53`, for which
/// the alert id's epoch is preferred, being in UTC), OSSEC's `TimeStamp` (epoch ms), the
/// indexer's `@timestamp`, or else the alert id's epoch.
fn alert_time(object: &Map<String, Value>, id: &str) -> Result<String, String> {
    if let Some(text) = object.get("timestamp").and_then(Value::as_str) {
        if let Some(time) = time_of_iso(text) {
            return Ok(time);
        }
        if let Some(time) = time_of_id(id).or_else(|| time_of_wazuh2(text)) {
            return Ok(time);
        }
        return Err(format!("timestamp {text:?} is not a time"));
    }
    if let Some(millis) = object.get("TimeStamp").and_then(Value::as_i64) {
        return time_of_millis(millis).ok_or_else(|| format!("TimeStamp {millis} is not a time"));
    }
    object
        .get("@timestamp")
        .and_then(Value::as_str)
        .and_then(time_of_iso)
        .or_else(|| time_of_id(id))
        .ok_or_else(|| "no time (`timestamp`, `TimeStamp` or an alert id)".into())
}
