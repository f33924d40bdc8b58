//! Every real alert of the sample set (`tests/samples/`, copied with its sources from the
//! project's shared data; see `tests/samples/SOURCES.md`): each file parses without a
//! skipped record, to the number of alerts SOURCES.md gives, and the fields of several
//! alerts per format are as read by hand from the files.

use std::collections::BTreeMap;

use chrono::TimeZone;
use ossec_alerts::{parse_text, Alert, Context, Format};

fn context() -> Context {
    Context { now: chrono::Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap() }
}

fn parse_file(relative: &str) -> (Format, Vec<Alert>) {
    let path = format!("{}/tests/samples/{relative}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let (format, records) = parse_text(None, &text, context());
    let alerts = records
        .into_iter()
        .map(|r| r.outcome.unwrap_or_else(|e| panic!("{relative}, line {}: skipped: {e}", r.line)))
        .collect();
    (format, alerts)
}

#[test]
fn every_sample_file_parses_completely_with_its_count_of_alerts() {
    let expected = [
        ("alerts-log/wazuh4_manojgolla-wazuh-siem_part1.log", Format::AlertsLog, 25),
        ("alerts-log/ossec2x_perl-ossec-log-parse_alerts.log", Format::AlertsLog, 3),
        ("alerts-log/ossec-docs_formats-alerts.log", Format::AlertsLog, 4),
        ("alerts-log/wazuh3_docs_learning-wazuh-ssh-brute-force.log", Format::AlertsLog, 1),
        ("alerts-json/ossec-docs_formats-alerts.json", Format::AlertsJson, 9),
        ("alerts-json/wazuh4_integratord-valid-alert.json", Format::AlertsJson, 1),
        ("alerts-json/wazuh3_docs_learning-wazuh-ssh-brute-force.json", Format::AlertsJson, 1),
        ("syslog/ossec3x_datadog-ossec-security_syslog-json_part1.log", Format::Syslog, 10),
        ("syslog/ossec_sc4s_syslog-default_messages.txt", Format::Syslog, 4),
        ("syslog/ossec25_kafka-connect-transform-cef_cef.txt", Format::Syslog, 1),
    ];
    let mut per_format = BTreeMap::new();
    for (file, format, count) in expected {
        let (detected, alerts) = parse_file(file);
        assert_eq!((detected, alerts.len()), (format, count), "{file}");
        *per_format.entry(format).or_insert(0) += alerts.len();
    }
    assert_eq!(per_format.values().sum::<usize>(), 59, "SOURCES.md: 59 alerts");
    assert_eq!(per_format[&Format::AlertsLog], 33);
    assert_eq!(per_format[&Format::AlertsJson], 11);
    assert_eq!(per_format[&Format::Syslog], 15);
}

#[test]
fn alerts_log_fields() {
    let (_, alerts) = parse_file("alerts-log/ossec2x_perl-ossec-log-parse_alerts.log");
    // ** Alert 1443175627.1028: mail  - syslog,fts,authentication_success
    // 2015 Sep 25 06:07:07 (i7dev) 10.0.0.4->/var/log/auth.log
    let first = &alerts[0];
    assert_eq!(first.id, "1443175627.1028");
    assert_eq!(first.time, "2015-09-25T10:07:07Z", "the header's epoch, in UTC");
    assert_eq!((first.rule, first.level), (10100, 4));
    assert_eq!(first.description, "First time user logged in.");
    assert_eq!(first.groups, "syslog,fts,authentication_success");
    assert_eq!((first.agent.as_str(), first.location.as_str()), ("i7dev", "/var/log/auth.log"));
    assert_eq!((first.srcip.as_str(), first.user.as_str()), ("10.0.0.2", "phirelight"));
    // "syslog, su,authentication_success," (a space after a comma, a trailing comma)
    assert_eq!(alerts[1].groups, "syslog,su,authentication_success");
    assert_eq!((alerts[1].agent.as_str(), alerts[1].user.as_str()), ("server", "root"));
    // a command alias as the source: devG8-1->df -h
    assert_eq!((alerts[2].agent.as_str(), alerts[2].location.as_str()), ("devG8-1", "df -h"));
    assert_eq!((alerts[2].rule, alerts[2].level), (531, 7));

    let (_, wazuh) = parse_file("alerts-log/wazuh4_manojgolla-wazuh-siem_part1.log");
    assert_eq!(wazuh[0].id, "1780296856.0");
    assert_eq!(wazuh[0].compliance, "pci_dss:10.6.1,gdpr:IV_35.7.d", "compliance tags leave the groups");
    assert_eq!(wazuh[0].groups, "ossec,rootcheck");
    assert_eq!(wazuh[24].id, "1780297649.10853");
    assert_eq!(wazuh[24].description, "Successful sudo to ROOT executed.");

    let (_, brute) = parse_file("alerts-log/wazuh3_docs_learning-wazuh-ssh-brute-force.log");
    assert_eq!((brute[0].agent.as_str(), brute[0].location.as_str()), ("agent", "/var/log/secure"));
    assert_eq!(brute[0].srcip, "18.18.18.18");
    assert!(brute[0].compliance.contains("hipaa:164.312.b"));
}

#[test]
fn alerts_json_fields_of_ossec_and_wazuh() {
    let (_, ossec) = parse_file("alerts-json/ossec-docs_formats-alerts.json");
    // {"rule":{"level":5,"comment":"Syslogd restarted.","sidid":1005,"group":"syslog,errors,"},"id":"1510376401.0","TimeStamp":1510376401000,...
    assert_eq!(ossec[0].id, "1510376401.0");
    assert_eq!(ossec[0].time, "2017-11-11T05:00:01Z");
    assert_eq!((ossec[0].rule, ossec[0].level), (1005, 5));
    assert_eq!(ossec[0].groups, "syslog,errors");
    // "location":"(junction) 192.168.17.17->/var/log/maillog"
    assert_eq!((ossec[1].agent.as_str(), ossec[1].location.as_str()), ("junction", "/var/log/maillog"));
    // The same events as ossec-docs_formats-alerts.log: the same rows.
    let (_, log) = parse_file("alerts-log/ossec-docs_formats-alerts.log");
    assert_eq!(&ossec[..4], &log[..]);

    let (_, wazuh3) = parse_file("alerts-json/wazuh3_docs_learning-wazuh-ssh-brute-force.json");
    let alert = &wazuh3[0];
    assert_eq!(alert.id, "1571166477.30198");
    assert_eq!(alert.time, "2019-10-15T19:07:57.741Z");
    assert_eq!((alert.rule, alert.level), (5710, 5), "rule.id is a string in Wazuh 3");
    assert_eq!(alert.agent, "linux-agent");
    assert_eq!(alert.location, "/var/log/auth.log");
    assert_eq!((alert.srcip.as_str(), alert.user.as_str()), ("18.18.18.18", "blimey"));
    assert_eq!(alert.groups, "syslog,sshd,invalid_login,authentication_failed");
    assert!(alert.compliance.starts_with("pci_dss:10.2.4,pci_dss:10.2.5,pci_dss:10.6.1,gdpr:IV_35.7.d"));
    assert!(alert.compliance.contains("hipaa:164.312.b"));

    let (_, wazuh4) = parse_file("alerts-json/wazuh4_integratord-valid-alert.json");
    assert_eq!((wazuh4[0].rule, wazuh4[0].level), (5712, 10));
    assert_eq!(wazuh4[0].time, "2022-05-11T12:29:19.905Z");
    assert_eq!(wazuh4[0].agent, "localhost.localdomain");
}

#[test]
fn syslog_fields_of_json_default_and_cef() {
    let (_, json) = parse_file("syslog/ossec3x_datadog-ossec-security_syslog-json_part1.log");
    // <132>Jun 19 11:56:43 ub20 ossec: {"crit":2,"id":1002,"component":"ub20->/var/log/syslog",...
    assert_eq!(json[0].time, "2026-06-19T11:56:43Z", "no year on the wire: the year before now");
    assert_eq!((json[0].rule, json[0].level), (1002, 2));
    assert_eq!((json[0].agent.as_str(), json[0].location.as_str()), ("ub20", "/var/log/syslog"));
    assert_eq!(json[0].groups, "syslog,errors");
    assert_eq!(json[0].id, "");
    assert_eq!(json[2].srcip, "10.10.10.10");
    assert_eq!(json[1].time, "2026-06-04T15:59:57Z", "a space-padded day");

    let (_, default) = parse_file("syslog/ossec_sc4s_syslog-default_messages.txt");
    assert_eq!((default[1].rule, default[1].level), (18145, 3));
    assert_eq!((default[1].agent.as_str(), default[1].location.as_str()), ("windows_os", "WinEvtLog"));
    assert_eq!(default[1].user, "SYSTEM");
    assert_eq!(default[1].groups, "windows,policy_changed");
    assert_eq!(default[3].description, "Integrity checksum changed again (3rd time).");
    assert_eq!(default[0].time, "2026-12-02T12:00:00Z", "no header: the time it was received");

    let (_, cef) = parse_file("syslog/ossec25_kafka-connect-transform-cef_cef.txt");
    assert_eq!((cef[0].rule, cef[0].level), (5302, 9));
    assert_eq!(cef[0].description, "User missed the password to change UID to root.");
    assert_eq!((cef[0].agent.as_str(), cef[0].location.as_str()), ("ubuntusvr", "/var/log/auth.log"));
    assert_eq!((cef[0].user.as_str(), cef[0].srcip.as_str()), ("root", ""));
}
