//! `ctpd eval`: try a CTPScript condition on a measurement result before publishing it as an
//! objective or a trigger.

use std::process::ExitCode;

use clap::Args;
use ctpscript::{Bindings, Outcome};
use serde_json::Value;

/// Arguments of `ctpd eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The condition, for example 'value[0].level >= 7'.
    #[arg(value_name = "EXPR", allow_hyphen_values = true)]
    pub condition: String,

    /// The result's rows, bound to `value`: a JSON array such as '[{"level": 9}]'.
    #[arg(long, value_name = "JSON-ARRAY", conflicts_with = "result")]
    pub value: Option<String>,

    /// A whole measurement result: a JSON object with `value`, `updateTime`, `authorityId`
    /// and `signature`.
    #[arg(long, value_name = "JSON-OBJECT")]
    pub result: Option<String>,

    /// The instant `timeUTC("now")` returns, as RFC 3339 (default: the clock).
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,
}

/// Prints exactly one line, `true`, `false` or `error: MESSAGE`; exits 0, 1 or 2.
pub fn run(args: &EvalArgs) -> ExitCode {
    let outcome = evaluate(args).unwrap_or_else(Outcome::Error);
    let line = outcome.to_string().replace(['\n', '\r'], " ");
    println!("{line}");
    match outcome {
        Outcome::True => ExitCode::SUCCESS,
        Outcome::False => ExitCode::from(1),
        Outcome::Error(_) => ExitCode::from(2),
    }
}

fn evaluate(args: &EvalArgs) -> Result<Outcome, String> {
    let value = parse_json("--value", args.value.as_deref())?;
    let result = parse_json("--result", args.result.as_deref())?;
    if !matches!(value, Value::Array(_) | Value::Null) {
        return Err("--value must be a JSON array of rows, such as '[{\"level\": 9}]'".to_owned());
    }
    if !matches!(result, Value::Object(_) | Value::Null) {
        return Err("--result must be a JSON object such as '{\"value\": [...], \"updateTime\": \"...\"}'".to_owned());
    }
    let mut bindings =
        if args.result.is_some() { Bindings::from_result(&result) } else { Bindings::with_value(&value) };
    if let Some(now) = &args.now {
        let seconds = chrono::DateTime::parse_from_rfc3339(now)
            .map_err(|e| format!("--now {now:?} is not an RFC 3339 date-time: {e}"))?;
        bindings = bindings.at(seconds.timestamp_millis() as f64 / 1000.0);
    }
    Ok(ctpscript::evaluate_source(&args.condition, &bindings))
}

fn parse_json(flag: &str, text: Option<&str>) -> Result<Value, String> {
    match text {
        None => Ok(Value::Null),
        Some(text) => serde_json::from_str(text).map_err(|e| format!("{flag} is not valid JSON: {e}")),
    }
}
