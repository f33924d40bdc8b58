//! Prints what each sample file parses to (a development aid): `cargo run -p ossec-alerts --example dump FILE...`.
fn main() {
    let context = ossec_alerts::Context { now: chrono::Utc::now() };
    for path in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&path).unwrap();
        let (format, records) = ossec_alerts::parse_text(None, &text, context);
        println!("== {path}: {} ({} records)", format.name(), records.len());
        for record in records {
            match record.outcome {
                Ok(alert) => println!("{}: {}", record.line, alert.to_json_line()),
                Err(e) => println!("{}: SKIPPED {e}", record.line),
            }
        }
    }
}
