//! `ctpd eval` as a provider runs it: the real binary, one line out, exit status 0/1/2.

use std::process::Command;

/// Runs `ctpd eval ARGS...` and returns (stdout, exit code).
fn ctpd_eval(args: &[&str]) -> (String, i32) {
    let output = Command::new(env!("CARGO_BIN_EXE_ctpd")).arg("eval").args(args).output().expect("ctpd runs");
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 output");
    (stdout, output.status.code().expect("exit code"))
}

fn assert_one_line(stdout: &str) {
    assert!(stdout.ends_with('\n'), "{stdout:?} ends with a newline");
    assert_eq!(stdout.lines().count(), 1, "{stdout:?} is exactly one line");
}

#[test]
fn true_false_and_error_with_their_exit_codes() {
    let (out, code) = ctpd_eval(&["value[0].level >= 7", "--value", r#"[{"level": 7}]"#]);
    assert_eq!((out.as_str(), code), ("true\n", 0));
    let (out, code) = ctpd_eval(&["value[0].level >= 7", "--value", r#"[{"level": 6}]"#]);
    assert_eq!((out.as_str(), code), ("false\n", 1));
    let (out, code) = ctpd_eval(&["value[0].level >= 7", "--value", "[]"]);
    assert_eq!((out.as_str(), code), ("error: at column 9: cannot read field `level` of null\n", 2));
}

#[test]
fn a_syntax_error_names_its_column() {
    let (out, code) = ctpd_eval(&["value[0].level >= "]);
    assert_one_line(&out);
    assert_eq!(code, 2);
    assert!(out.starts_with("error: syntax error at column 19:"), "{out}");
}

#[test]
fn a_condition_may_start_with_a_minus_sign() {
    let (out, code) = ctpd_eval(&["-5 % 3 == -2"]);
    assert_eq!((out.as_str(), code), ("true\n", 0));
}

#[test]
fn a_whole_result_binds_all_four_identifiers() {
    let result =
        r#"{"value": [{"x": 1}], "dateTime": "2026-11-22T10:00:00Z", "authorityId": "agent-7", "signature": ""}"#;
    let condition = r#"timeUTC("now") - toTimeUTC(updateTime) < 3600 && authorityId == "agent-7" && !signature"#;
    let (out, code) = ctpd_eval(&[condition, "--result", result, "--now", "2026-11-22T10:30:00Z"]);
    assert_eq!((out.as_str(), code), ("true\n", 0));
    let (out, _) = ctpd_eval(&[condition, "--result", result, "--now", "2026-11-22T11:30:00Z"]);
    assert_eq!(out, "false\n");
}

#[test]
fn bad_json_is_one_error_line() {
    for (flag, text) in [("--value", "[{"), ("--value", r#"{"a": 1}"#), ("--result", "[1]"), ("--now", "yesterday")] {
        let (out, code) = ctpd_eval(&["true", flag, text]);
        assert_one_line(&out);
        assert_eq!(code, 2, "{flag} {text}");
        assert!(out.starts_with("error: ") && out.contains(flag), "{out}");
    }
}

#[test]
fn messages_with_line_breaks_stay_on_one_line() {
    let (out, code) = ctpd_eval(&["value[0]\n.level\n>="]);
    assert_one_line(&out);
    assert_eq!(code, 2);
    assert!(out.contains("line 3"), "{out}");
}
