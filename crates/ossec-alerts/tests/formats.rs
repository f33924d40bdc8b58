//! The variants of each format the sample set does not hold, written from the writers'
//! code (tests/samples/SOURCES.md, "Format reference"), and what happens to a record that
//! cannot be read.

use chrono::TimeZone;
use ossec_alerts::{parse_text, Context, Format, Parser};

fn context() -> Context {
    Context { now: chrono::Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap() }
}

#[test]
fn an_alert_ends_where_the_next_starts_even_after_empty_lines_in_its_log() {
    let text = "\
** Alert 1700000000.100: - windows,
2023 Nov 14 22:13:20 (win-01) 10.1.2.3->reg QUERY
Rule: 594 (level 5) -> 'Registry Integrity Checksum Changed'
ossec: output: 'reg QUERY':

HKEY_LOCAL_MACHINE\\Software

    Value    REG_SZ    données é ü 中文
Previous output:
ossec: output: 'reg QUERY':

** Alert 1700000001.900: mail  - syslog,sshd,authentication_failed,
2023 Nov 14 22:13:21 kali->/var/log/auth.log
Rule: 5716 (level 5) -> 'sshd: authentication failed for 'root' (it's bad).'
Src IP: 192.0.2.7
User: root
Nov 14 22:13:21 kali sshd[1]: Failed password for root from 192.0.2.7 port 22 ssh2
";
    let (format, records) = parse_text(None, text, context());
    assert_eq!(format, Format::AlertsLog);
    assert_eq!(records.len(), 2);
    let first = records[0].outcome.as_ref().unwrap();
    assert_eq!((records[0].line, first.rule, first.agent.as_str()), (1, 594, "win-01"));
    assert_eq!(first.location, "reg QUERY");
    let second = records[1].outcome.as_ref().unwrap();
    assert_eq!(records[1].line, 12);
    assert_eq!(second.description, "sshd: authentication failed for 'root' (it's bad).", "up to the last quote");
    assert_eq!((second.srcip.as_str(), second.user.as_str()), ("192.0.2.7", "root"));
}

#[test]
fn old_alerts_log_headers_without_groups_and_none_values() {
    let text = "** Alert 1200000000.42: mail\n2008 Jan 10 21:20:00 host->/var/log/messages\n\
                Rule: 1002 (level 2) -> 'Unknown problem somewhere in the system.'\nSrc IP: (none)\nUser: (none)\nsome log\n";
    let (_, records) = parse_text(Some(Format::AlertsLog), text, context());
    let alert = records[0].outcome.as_ref().unwrap();
    assert_eq!((alert.groups.as_str(), alert.srcip.as_str(), alert.user.as_str()), ("", "", ""));
    assert_eq!(alert.time, "2008-01-10T21:20:00Z");
}

#[test]
fn wazuh_2_integer_rule_ids_and_local_timestamps_and_indexer_documents() {
    let wazuh2 = r#"{"rule":{"level":3,"description":"Login session opened.","id":5501,"groups":["pam","syslog"]},"agent":{"id":"000","name":"manager"},"id":"1486482473.1234","timestamp":"2017 Feb 07 15:57:53","location":"/var/log/secure"}"#;
    let indexer = r#"{"_index":"wazuh-alerts-4.x-2024.01.01","_source":{"input":{"type":"log"},"@timestamp":"2024-01-01T10:00:00.000Z","timestamp":"2024-01-01T11:00:00.000+0100","rule":{"level":12,"description":"x","id":"100002","groups":["web"],"hipaa":["164.312.b"]},"agent":{"id":"007","name":"web-1","ip":"10.0.0.9"},"data":{"srcip":"203.0.113.5","dstuser":"www"},"location":"/var/log/nginx/access.log"}}"#;
    let (_, records) = parse_text(Some(Format::AlertsJson), &format!("{wazuh2}\n{indexer}\n"), context());
    let old = records[0].outcome.as_ref().unwrap();
    assert_eq!((old.rule, old.time.as_str()), (5501, "2017-02-07T15:47:53Z"), "the id's epoch (UTC) wins");
    let indexed = records[1].outcome.as_ref().unwrap();
    assert_eq!((indexed.rule, indexed.level, indexed.agent.as_str()), (100002, 12, "web-1"));
    assert_eq!(indexed.time, "2024-01-01T10:00:00Z");
    assert_eq!(
        (indexed.srcip.as_str(), indexed.user.as_str(), indexed.compliance.as_str()),
        ("203.0.113.5", "www", "hipaa:164.312.b")
    );
}

#[test]
fn syslog_splunk_and_wazuh_json_and_headers() {
    let splunk = r#"<132>Dec  1 23:59:59 mgr ossec: crit=10 id=5712 description="sshd: brute force; "really"" component="(web-1) 10.0.0.9->/var/log/secure", classification=" syslog,sshd,", src_ip="203.0.113.5", acct="root", message="Dec  1 ...""#;
    let wazuh = r#"<132>Nov 30 10:00:00 mgr ossec: {"timestamp":"2026-11-30T10:00:00.123+0000","rule":{"level":7,"description":"d","id":"31101","groups":["web","accesslog"]},"agent":{"id":"003","name":"web-3"},"id":"1795903200.77","location":"/var/log/nginx/access.log","data":{"srcip":"198.51.100.1"}}"#;
    let plain_default = "Dec  2 11:00:00 mgr ossec: Alert Level: 5; Rule: 31101 - Web server 400 error code.; Location: (web-1) any->/var/log/nginx/access.log; srcip: 198.51.100.2; 198.51.100.2 - - [02/Dec/2026:11:00:00 +0000] \"GET /x HTTP/1.1\" 400";
    let (format, records) = parse_text(None, &format!("{splunk}\n{wazuh}\n{plain_default}\n"), context());
    assert_eq!(format, Format::Syslog);
    let s = records[0].outcome.as_ref().unwrap();
    assert_eq!((s.level, s.rule, s.agent.as_str(), s.location.as_str()), (10, 5712, "web-1", "/var/log/secure"));
    assert_eq!((s.srcip.as_str(), s.user.as_str(), s.groups.as_str()), ("203.0.113.5", "root", "syslog,sshd"));
    assert_eq!(s.time, "2026-12-01T23:59:59Z", "no year on the wire: the latest year not more than a day ahead");
    let w = records[1].outcome.as_ref().unwrap();
    assert_eq!(
        (w.id.as_str(), w.agent.as_str(), w.time.as_str()),
        ("1795903200.77", "web-3", "2026-11-30T10:00:00.123Z")
    );
    let d = records[2].outcome.as_ref().unwrap();
    assert_eq!((d.level, d.rule, d.agent.as_str(), d.srcip.as_str()), (5, 31101, "web-1", "198.51.100.2"));
    assert_eq!(d.time, "2026-12-02T11:00:00Z");
}

#[test]
fn cef_escapes_and_newer_location_labels() {
    let cef = r"CEF:0|OSSEC Foundation|OSSEC HIDS|v3.7.0|554|File added to the system \| FIM|5|dvc=mgr cs1Label=Location cs1=(db-1) 10.0.0.4->syscheck classification=ossec,syscheck, fname=/etc/a\=b msg=File '/etc/a=b' added";
    let (_, records) = parse_text(Some(Format::Syslog), cef, context());
    let alert = records[0].outcome.as_ref().unwrap();
    assert_eq!(alert.description, "File added to the system | FIM");
    assert_eq!(
        (alert.agent.as_str(), alert.location.as_str(), alert.groups.as_str()),
        ("db-1", "syscheck", "ossec,syscheck")
    );
}

#[test]
fn a_bad_record_is_reported_with_its_line_and_the_stream_goes_on() {
    let text = "{\"rule\":{\"level\":3,\"id\":\"1\"},\"id\":\"1700000000.1\"}\nnot json at all\n{\"no\":\"rule\"}\n\n{\"rule\":{\"level\":4,\"id\":\"2\"},\"id\":\"1700000000.2\"}\n";
    let (_, records) = parse_text(Some(Format::AlertsJson), text, context());
    let outcome: Vec<(usize, bool)> = records.iter().map(|r| (r.line, r.outcome.is_ok())).collect();
    assert_eq!(outcome, [(1, true), (2, false), (3, false), (5, true)]);
    assert!(records[1].outcome.as_ref().unwrap_err().starts_with("not JSON"));
    assert_eq!(records[2].outcome.as_ref().unwrap_err(), "no `rule` object");

    let mut parser = Parser::new(Format::AlertsLog, context());
    let stray = parser.push_line("garbage before any alert").expect("reported at once");
    assert_eq!(stray.line, 1);
    assert!(stray.outcome.is_err());
    assert!(parser.push_line("** Alert 1700000000.5: - x,").is_none());
    assert!(parser.push_line("2023 Nov 14 22:13:20 h->f").is_none());
    let broken = parser.push_line("** Alert 1700000000.6: - x,").expect("the first block ends here");
    assert_eq!((broken.line, broken.outcome.unwrap_err().as_str()), (2, "no `Rule:` line"));
}

#[test]
fn rows_print_their_columns_in_order() {
    let text = "{\"rule\":{\"level\":3,\"id\":\"7\",\"description\":\"d\\\"q\"},\"id\":\"1700000000.1\"}";
    let (_, records) = parse_text(None, text, context());
    let line = records[0].outcome.as_ref().unwrap().to_json_line();
    assert_eq!(
        line,
        r#"{"id":"1700000000.1","time":"2023-11-14T22:13:20Z","level":3,"rule":7,"description":"d\"q","groups":"","agent":"","location":"","srcip":"","user":"","compliance":""}"#
    );
    let keys: Vec<String> =
        serde_json::from_str::<serde_json::Value>(&line).unwrap().as_object().unwrap().keys().cloned().collect();
    let mut expected: Vec<String> = ossec_alerts::COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    expected.sort();
    assert_eq!(keys, expected);
}

#[test]
fn rfc_5424_framing_with_and_without_structured_data() {
    let plain = r#"<132>1 2026-11-30T09:15:00.250+01:00 mgr ossec - - - {"crit":7,"id":552,"component":"(db-1) 10.0.0.4->syscheck","classification":" ossec,syscheck,","description":"Integrity checksum changed again (3rd time).","message":"..."}"#;
    let structured = r#"<132>1 - mgr ossec 77 ID47 [meta x="a\]b"][origin ip="10.0.0.1"] ossec: Alert Level: 3; Rule: 5502 - Login session closed.; Location: web-1->/var/log/secure; classification:  pam,syslog,; Sep 25 10:12:15 web-1 sshd[3201]: session closed"#;
    let (_, records) = parse_text(Some(Format::Syslog), &format!("{plain}\n{structured}\n"), context());
    let first = records[0].outcome.as_ref().unwrap();
    assert_eq!((first.level, first.rule, first.agent.as_str()), (7, 552, "db-1"));
    assert_eq!(first.time, "2026-11-30T08:15:00.250Z", "the header's time, with its zone");
    let second = records[1].outcome.as_ref().unwrap();
    assert_eq!(
        (second.level, second.rule, second.agent.as_str(), second.location.as_str()),
        (3, 5502, "web-1", "/var/log/secure")
    );
    assert_eq!(second.time, "2026-12-02T12:00:00Z", "`-`: the time of reading");
}

#[test]
fn a_row_read_back_is_the_alert() {
    let (_, records) = ossec_alerts::parse_text(
        None,
        include_str!("samples/alerts-json/wazuh3_docs_learning-wazuh-ssh-brute-force.json"),
        ossec_alerts::Context { now: chrono::Utc::now() },
    );
    for record in records {
        let alert = record.outcome.unwrap();
        let row: serde_json::Value = serde_json::from_str(&alert.to_json_line()).unwrap();
        assert_eq!(ossec_alerts::Alert::from_json(&row), Some(alert.clone()));
        assert_eq!(ossec_alerts::Alert::from_json(&alert.to_json()), Some(alert));
    }
}
