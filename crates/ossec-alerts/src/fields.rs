//! What the formats share: the alert id's time, locations, groups and compliance tags.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};

/// A time as the rows carry it: RFC 3339, UTC, with a fraction only when there is one.
pub fn rfc3339(time: DateTime<Utc>) -> String {
    if time.timestamp_subsec_millis() == 0 && time.timestamp_subsec_nanos() == 0 {
        time.to_rfc3339_opts(SecondsFormat::Secs, true)
    } else {
        time.to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

/// The time of an alert id `<epoch>.<n>` (the event time, in seconds).
pub fn time_of_id(id: &str) -> Option<String> {
    let seconds: i64 = id.split('.').next()?.parse().ok()?;
    Utc.timestamp_opt(seconds, 0).single().map(rfc3339)
}

/// A time in epoch milliseconds.
pub fn time_of_millis(millis: i64) -> Option<String> {
    Utc.timestamp_millis_opt(millis).single().map(rfc3339)
}

/// A Wazuh `timestamp`: `2019-10-15T19:07:57.741+0000` (or with `Z` or `+00:00`).
pub fn time_of_iso(text: &str) -> Option<String> {
    let parsed = DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .ok()?;
    Some(rfc3339(parsed.with_timezone(&Utc)))
}

/// A Wazuh 2.x `timestamp` (`2017 Feb 07 15:57:53`): the manager's local time, with no
/// zone, read as UTC.
pub fn time_of_wazuh2(text: &str) -> Option<String> {
    NaiveDateTime::parse_from_str(text, "%Y %b %d %H:%M:%S").ok().map(|t| rfc3339(t.and_utc()))
}

/// A syslog header time (`Jun  4 15:59:57`, no year, no zone): read as UTC, in the year
/// that puts it at most a day after `now` (a message from late December read in January
/// is of the year before).
pub fn time_of_syslog(month: &str, day: &str, clock: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let month = MONTHS.iter().position(|m| *m == month)? as u32 + 1;
    let day: u32 = day.parse().ok()?;
    let time = chrono::NaiveTime::parse_from_str(clock, "%H:%M:%S").ok()?;
    let at = |year| NaiveDate::from_ymd_opt(year, month, day).map(|d| d.and_time(time).and_utc());
    let this_year = at(now.year())?;
    if this_year > now + chrono::Duration::days(1) {
        at(now.year() - 1)
    } else {
        Some(this_year)
    }
}

/// Month abbreviations as syslog writes them.
pub const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// A location split into the monitored host and the source on it: `(agent) ip->source`
/// (an agent's event), `host->source` (the manager's own), or a bare source.
pub fn split_location(location: &str) -> (String, String) {
    if let Some(rest) = location.strip_prefix('(') {
        if let Some((agent, after)) = rest.split_once(')') {
            let source = after.split_once("->").map_or("", |(_, source)| source);
            return (agent.to_owned(), source.to_owned());
        }
    }
    match location.split_once("->") {
        Some((host, source)) => (host.trim().to_owned(), source.to_owned()),
        None => (String::new(), location.to_owned()),
    }
}

/// The compliance frameworks Wazuh maps rules to, as its group names and its `rule`
/// arrays spell them.
const FRAMEWORKS: [&str; 6] = ["pci_dss", "gdpr", "hipaa", "nist_800_53", "gpg13", "tsc"];

/// A group list split into the rule's groups and its compliance tags (Wazuh writes
/// `hipaa_164.312.b` among the groups of alerts.log): both comma-separated, without
/// spaces or empty items.
pub fn split_groups<'a>(groups: impl IntoIterator<Item = &'a str>) -> (String, String) {
    let (mut plain, mut compliance) = (Vec::new(), Vec::new());
    for group in groups.into_iter().flat_map(|g| g.split(',')).map(str::trim).filter(|g| !g.is_empty()) {
        match FRAMEWORKS.iter().find_map(|f| group.strip_prefix(f)?.strip_prefix('_').map(|rest| (f, rest))) {
            Some((framework, requirement)) => compliance.push(format!("{framework}:{requirement}")),
            None => plain.push(group.to_owned()),
        }
    }
    (plain.join(","), compliance.join(","))
}

/// A decoded value that old OSSEC prints when there is none.
pub fn none_as_empty(value: &str) -> String {
    let value = value.trim();
    if value == "(none)" {
        String::new()
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_split_into_host_and_source() {
        assert_eq!(split_location("(i7dev) 10.0.0.4->/var/log/auth.log"), ("i7dev".into(), "/var/log/auth.log".into()));
        assert_eq!(split_location("kali->netstat listening ports"), ("kali".into(), "netstat listening ports".into()));
        assert_eq!(split_location("(agent) any->/var/log/secure"), ("agent".into(), "/var/log/secure".into()));
        assert_eq!(split_location("/var/log/messages"), (String::new(), "/var/log/messages".into()));
        assert_eq!(split_location("devG8-1->df -h"), ("devG8-1".into(), "df -h".into()));
    }

    #[test]
    fn compliance_tags_leave_the_groups() {
        let (groups, compliance) =
            split_groups(["syslog, su,authentication_success,pci_dss_10.2.5,hipaa_164.312.b,nist_800_53_AU.14,"]);
        assert_eq!(groups, "syslog,su,authentication_success");
        assert_eq!(compliance, "pci_dss:10.2.5,hipaa:164.312.b,nist_800_53:AU.14");
    }

    #[test]
    fn syslog_times_get_the_year_that_puts_them_before_now() {
        let now = Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap();
        assert_eq!(rfc3339(time_of_syslog("Dec", "31", "23:59:59", now).unwrap()), "2025-12-31T23:59:59Z");
        assert_eq!(rfc3339(time_of_syslog("Jan", "1", "10:00:00", now).unwrap()), "2026-01-01T10:00:00Z");
    }

    #[test]
    fn times_are_utc() {
        assert_eq!(time_of_iso("2019-10-15T19:07:57.741+0200").unwrap(), "2019-10-15T17:07:57.741Z");
        assert_eq!(time_of_id("1571166477.30198").unwrap(), "2019-10-15T19:07:57Z");
        assert_eq!(time_of_wazuh2("2017 Feb 07 15:57:53").unwrap(), "2017-02-07T15:57:53Z");
        assert_eq!(time_of_millis(1510376401000).unwrap(), "2017-11-11T05:00:01Z");
    }
}
