//! `ctpd ossec parse`, the real binary on the real alert samples of the ossec-alerts crate.

use std::io::Write;
use std::process::{Command, Stdio};

fn samples() -> String {
    format!("{}/../ossec-alerts/tests/samples", env!("CARGO_MANIFEST_DIR"))
}

fn ctpd(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ctpd"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ctpd starts");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (output.status.code().unwrap_or(-1), text(output.stdout), text(output.stderr))
}

#[test]
fn every_sample_becomes_one_json_line_with_the_columns_in_order() {
    let dir = samples();
    let files: Vec<String> = ["alerts-log", "alerts-json", "syslog"]
        .iter()
        .flat_map(|folder| std::fs::read_dir(format!("{dir}/{folder}")).unwrap())
        .map(|entry| entry.unwrap().path().display().to_string())
        .collect();
    let args: Vec<&str> = ["ossec", "parse"].into_iter().chain(files.iter().map(String::as_str)).collect();
    let (status, stdout, stderr) = ctpd(&args, "");
    assert_eq!(status, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 59);
    for line in &lines {
        let columns: Vec<&str> = line
            .trim_start_matches('{')
            .split(",\"")
            .filter_map(|pair| pair.trim_start_matches('"').split_once("\":"))
            .map(|(key, _)| key)
            .filter(|key| ossec_alerts_columns().contains(key))
            .collect();
        assert_eq!(columns, ossec_alerts_columns(), "{line}");
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(value["level"].is_u64() && value["rule"].is_u64(), "{line}");
    }
    assert!(stderr.contains("59 alert(s) (33 alerts-log, 11 alerts-json, 15 syslog), 0 record(s) skipped"), "{stderr}");
}

fn ossec_alerts_columns() -> Vec<&'static str> {
    vec!["id", "time", "level", "rule", "description", "groups", "agent", "location", "srcip", "user", "compliance"]
}

#[test]
fn a_skipped_record_is_reported_with_its_file_and_line_and_the_status_says_so() {
    let input = "{\"rule\":{\"level\":3,\"id\":\"5501\"},\"id\":\"1700000000.1\"}\n{broken\n";
    let (status, stdout, stderr) = ctpd(&["ossec", "parse", "-"], input);
    assert_eq!(status, 2, "{stderr}");
    assert_eq!(stdout.lines().count(), 1);
    assert!(stderr.contains("-:2: skipped (alerts-json): not JSON"), "{stderr}");
    assert!(stderr.contains("1 alert(s) (1 alerts-json), 1 record(s) skipped"), "{stderr}");
}

#[test]
fn a_forced_format_and_an_unreadable_file() {
    let log = format!("{}/alerts-log/ossec2x_perl-ossec-log-parse_alerts.log", samples());
    let (status, _, stderr) = ctpd(&["ossec", "parse", "--format", "alerts-json", &log], "");
    assert_eq!(status, 2, "an alerts.log read as alerts.json: every line skipped");
    assert!(stderr.contains(":1: skipped (alerts-json)"), "{stderr}");
    let (status, _, stderr) = ctpd(&["ossec", "parse", "/no/such/file"], "");
    assert_eq!(status, 1);
    assert!(stderr.contains("cannot open /no/such/file"), "{stderr}");
}
