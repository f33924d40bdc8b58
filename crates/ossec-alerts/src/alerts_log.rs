//! `alerts.log`: one alert a block of lines, from `** Alert <epoch>.<n>:` to the next.

use crate::fields::{none_as_empty, split_groups, split_location, time_of_id};
use crate::Alert;

/// Reads one block (its lines, the first being the `** Alert` line).
pub fn parse(lines: &[String]) -> Result<Alert, String> {
    let header = lines.first().and_then(|l| l.strip_prefix("** Alert ")).ok_or("no `** Alert` line")?;
    let (id, after_id) = header.split_once(':').ok_or("the `** Alert` line has no `:` after the alert id")?;
    let id = id.trim().to_owned();
    let time = time_of_id(&id).ok_or_else(|| format!("{id:?} is not an alert id (<epoch>.<n>)"))?;
    // `: mail  - groups`, `: - groups`, or (OSSEC 1.x) `: mail` with no groups.
    let groups_text = after_id.split_once(" - ").map_or("", |(_, groups)| groups);
    let (groups, compliance) = split_groups([groups_text]);
    let date_line = lines.get(1).ok_or("the alert ends after its `** Alert` line")?;
    // `<YYYY> <Mon> <DD> <HH:MM:SS> <location>`: the location is what follows the 4th space.
    let location_text = date_line.splitn(5, ' ').nth(4).ok_or("the second line has no location")?;
    let (agent, location) = split_location(location_text);
    // Agent labels may come before the rule line.
    let rule_at = lines.iter().position(|l| l.starts_with("Rule: ")).ok_or("no `Rule:` line")?;
    let (rule, level, description) = rule_line(&lines[rule_at])?;
    let (mut srcip, mut user) = (String::new(), String::new());
    // The decoded fields follow the rule line, in a fixed order; the full log comes next.
    for line in &lines[rule_at + 1..] {
        let Some((key, value)) = line.split_once(": ") else { break };
        match key {
            "Src IP" => srcip = none_as_empty(value),
            "User" => user = none_as_empty(value),
            "Src Location" | "Src Port" | "Dst IP" | "Dst Location" | "Dst Port" => {}
            _ => break,
        }
    }
    Ok(Alert { id, time, level, rule, description, groups, agent, location, srcip, user, compliance })
}

/// `Rule: <id> (level <n>) -> '<description>'`: the description is between the first `'`
/// after `-> ` and the last `'` (it may hold quotes itself).
fn rule_line(line: &str) -> Result<(u64, u32, String), String> {
    let bad = || format!("the rule line {line:?} is not `Rule: <id> (level <n>) -> '<description>'`");
    let rest = line.strip_prefix("Rule: ").ok_or_else(bad)?;
    let (rule, rest) = rest.split_once(" (level ").ok_or_else(bad)?;
    let (level, rest) = rest.split_once(')').ok_or_else(bad)?;
    let quoted = rest.trim_start().strip_prefix("->").ok_or_else(bad)?.trim();
    let description = quoted.strip_prefix('\'').and_then(|q| q.strip_suffix('\'')).unwrap_or(quoted);
    Ok((rule.trim().parse().map_err(|_| bad())?, level.trim().parse().map_err(|_| bad())?, description.to_owned()))
}
