//! Fuzz target: compile and evaluate arbitrary CTPScript against an arbitrary result.
//!
//! Input: the condition, then optionally a NUL byte and a JSON measurement result. The
//! target checks that nothing panics, overflows the stack or allocates without bound, and
//! that evaluation is deterministic and agrees with itself across the two entry points.
#![no_main]

use ctpscript::{Bindings, Condition, Outcome, Value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (condition_bytes, result_bytes) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let source = String::from_utf8_lossy(condition_bytes);
    let default_result = serde_json::json!({
        "value": [{"level": 7, "country": "AU", "ok": true, "tags": ["a", "b"]}, {"level": "high", "nested": {"x": null}}],
        "updateTime": "2026-11-22T10:41:58.123Z",
        "authorityId": "agent-1",
        "signature": null
    });
    let result: serde_json::Value = serde_json::from_slice(result_bytes).unwrap_or(default_result);
    let bindings = Bindings::from_result(&result).at(1_795_000_000.0);

    let Ok(condition) = Condition::compile(&source) else {
        assert!(matches!(ctpscript::evaluate_source(&source, &bindings), Outcome::Error(_)));
        return;
    };
    let first = condition.evaluate(&bindings);
    let second = condition.evaluate(&bindings);
    assert_eq!(first, second, "evaluation must be deterministic");
    match (condition.evaluate_value(&bindings), &first) {
        (Err(e), Outcome::Error(message)) => assert_eq!(&e.to_string(), message),
        (Ok(v), outcome) => {
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => !(*n == 0.0 || n.is_nan()),
                Value::String(s) => !s.is_empty(),
                Value::Array(_) | Value::Object(_) | Value::Function(_) => true,
            };
            assert_eq!(outcome, &if truthy { Outcome::True } else { Outcome::False });
        }
        (Err(e), outcome) => panic!("evaluate_value failed ({e}) but evaluate gave {outcome}"),
    }
    // A compiled condition is reusable: compiling the same text again gives the same outcome.
    let again = Condition::compile(&source).expect("compiled once, compiles again");
    assert_eq!(again.evaluate(&bindings), first);
});
