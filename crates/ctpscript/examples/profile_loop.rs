//! Evaluates one benchmark condition in a loop, for profilers: `profile_loop E1 10000000`.
use ctpscript::{Bindings, Condition};
use serde_json::json;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (source, result) = match args.get(1).map(String::as_str) {
        Some("E5") => ("0 + 1 * 2 * (3 - 4) / -5 + 6 == 6.4", json!({"value": []})),
        Some("E3") => (
            r#"select("level", value).max() >= 10"#,
            json!({"value": (0..100).map(|i| json!({"level": i % 12, "rule": 1000 + i, "description": "alert text"})).collect::<Vec<_>>()}),
        ),
        Some("E4") => (
            r#"matchRegexp("^(AU|BE|CA)$", select("country", value))"#,
            json!({"value": (0..50).map(|i| { let c = ["AU", "BE", "CA"][i % 3]; json!({"country": c}) }).collect::<Vec<_>>()}),
        ),
        _ => ("value[0].level >= 7", json!({"value": [{"level": 7}]})),
    };
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let condition = Condition::compile(source).unwrap();
    let bindings = Bindings::from_result(&result);
    let mut trues = 0;
    for _ in 0..n {
        trues += usize::from(condition.evaluate(std::hint::black_box(&bindings)) == ctpscript::Outcome::True);
    }
    println!("{trues}");
}
