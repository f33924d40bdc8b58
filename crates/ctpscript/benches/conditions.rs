#![allow(missing_docs)] // criterion_group! generates undocumented items

//! Compiled-evaluation time of the five conditions of issue 2 (E1–E5), beside compiling and
//! the whole per-push path. Run with `scripts/bench-ctpscript`, which also prints the ratios
//! against the reference implementation's figures.
//!
//! Groups:
//! - `compile`: parse and compile the condition text.
//! - `evaluate`: evaluate an already compiled condition on an already decoded result.
//! - `per_push`: what the server does per condition on a push: take the stored compiled
//!   condition from its cache, bind a freshly decoded result and evaluate. The result is
//!   decoded just before, outside the timing, as JSON decoding is outside the reference's
//!   compile+import+execute figure too (its "import" converts an already decoded result).
//! - `decode_and_evaluate`: the same with the JSON decoding of the result timed too.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use ctpscript::{Bindings, Condition, Outcome};
use serde_json::{json, Value};

/// The five conditions and the results they are evaluated on.
fn cases() -> Vec<(&'static str, &'static str, Value, Outcome)> {
    let countries = ["AU", "BE", "CA"];
    vec![
        ("E1", "value[0].level >= 7", json!({"value": [{"level": 7}]}), Outcome::True),
        (
            "E2",
            "value[0].business_hours_uptime > 99.5 && value[0].other_hours_uptime > 98.0",
            json!({"value": [{"business_hours_uptime": 99.9, "other_hours_uptime": 99.1}]}),
            Outcome::True,
        ),
        (
            "E3",
            r#"select("level", value).max() >= 10"#,
            json!({"value": (0..100)
                .map(|i| json!({"level": i % 12, "rule": 1000 + i, "description": "alert text"}))
                .collect::<Vec<_>>()}),
            Outcome::True,
        ),
        (
            "E4",
            r#"matchRegexp("^(AU|BE|CA)$", select("country", value))"#,
            json!({"value": (0..50).map(|i| json!({"country": countries[i % 3]})).collect::<Vec<_>>()}),
            Outcome::True,
        ),
        ("E5", "0 + 1 * 2 * (3 - 4) / -5 + 6 == 6.4", json!({"value": []}), Outcome::True),
    ]
}

fn benchmarks(c: &mut Criterion) {
    let cases = cases();
    for (name, source, result, expected) in &cases {
        let compiled = Condition::compile(source).expect("the benchmark conditions compile");
        assert_eq!(&compiled.evaluate(&Bindings::from_result(result)), expected, "{name}");
        let result_bytes = serde_json::to_vec(result).expect("serializable");

        c.benchmark_group("compile").bench_function(*name, |b| b.iter(|| Condition::compile(black_box(source))));

        c.benchmark_group("evaluate").bench_function(*name, |b| {
            b.iter(|| black_box(&compiled).evaluate(&Bindings::from_result(black_box(result))))
        });

        // The server keeps compiled conditions in a cache keyed by the trigger or objective.
        let mut cache: HashMap<String, Arc<Condition>> = HashMap::new();
        for i in 0..1000 {
            let condition = Condition::compile(source).expect("compiles");
            cache.insert(format!("trigger-{i}"), Arc::new(condition));
        }
        c.benchmark_group("per_push").bench_function(*name, |b| {
            b.iter_custom(|iterations| {
                // Decode a few results untimed, then time their evaluation: each is as fresh
                // (and as warm in cache) as a result the server has just decoded.
                const BATCH: u64 = 8;
                let mut elapsed = Duration::ZERO;
                let mut done = 0;
                while done < iterations {
                    let batch = BATCH.min(iterations - done);
                    let fresh: Vec<Value> =
                        (0..batch).map(|_| serde_json::from_slice(&result_bytes).expect("valid JSON")).collect();
                    let start = Instant::now();
                    for result in &fresh {
                        let condition = Arc::clone(&cache["trigger-500"]);
                        black_box(condition.evaluate(&Bindings::from_result(black_box(result))));
                    }
                    elapsed += start.elapsed();
                    done += batch;
                }
                elapsed
            })
        });

        c.benchmark_group("decode_and_evaluate").bench_function(*name, |b| {
            b.iter(|| {
                let fresh: Value = serde_json::from_slice(black_box(&result_bytes)).expect("valid JSON");
                compiled.evaluate(&Bindings::from_result(&fresh))
            })
        });
    }
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
}

criterion_group! {
    name = conditions;
    config = config();
    targets = benchmarks
}
criterion_main!(conditions);
