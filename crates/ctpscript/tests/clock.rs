//! `Condition::reads_clock`: which conditions can change outcome with time alone (the timer of
//! issue 13 re-evaluates those, and only those).

use ctpscript::Condition;

fn reads_clock(source: &str) -> bool {
    Condition::compile(source).unwrap().reads_clock()
}

#[test]
fn a_call_of_timeutc_with_now_or_an_unknown_argument_reads_the_clock() {
    for source in [
        r#"timeUTC("now") - timeUTC(updateTime) < 3600"#,
        r#"toTimeUTC("now") > 0"#,
        r#"value.length == 0 || timeUTC("now") - timeUTC(value[0].time) < 600"#,
        r#"timeUTC(value[0].when) > 0"#,
        r#"[timeUTC][0]("2015-07-20T12:34:56Z") > 0"#,
        r#"!(select("level", value).max() < 10 && timeUTC("now") > 1)"#,
        r#"matchRegexp("^1", toString(timeUTC("now")))"#,
        r#"{"a": timeUTC("now")}.a > 0"#,
    ] {
        assert!(reads_clock(source), "{source}");
    }
}

#[test]
fn a_condition_without_now_does_not() {
    for source in [
        r#"select("level", value).max() < 10"#,
        r#"timeUTC("2015-07-20T12:34:56Z") > 0"#,
        r#"value.length == 0"#,
        r#"matchRegexp("now", value[0].text)"#,
        r#""timeUTC(\"now\")" == value[0].source"#,
        r#"value[0].now > 0"#,
    ] {
        assert!(!reads_clock(source), "{source}");
    }
}
