//! Printing: JSON pretty-printed in the server's member order, status words in colour.

use ctp_client::ObjectiveState;

/// `text` (JSON) indented by two spaces a level; members, numbers and strings are kept as
/// they are (not re-serialized), so the order and spelling the server chose stay.
pub fn pretty(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let mut chars = text.trim().chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push('"');
                while let Some(c) = chars.next() {
                    out.push(c);
                    match c {
                        '\\' => out.extend(chars.next()),
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '{' | '[' => {
                out.push(c);
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('}' | ']')) {
                    out.extend(chars.next());
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// The words of an objective's state, in colour when `color` (never colour alone).
pub fn state_words(state: ObjectiveState, color: bool) -> String {
    let words = state.words();
    if !color {
        return words.to_owned();
    }
    let code = match state {
        ObjectiveState::Met => "32",
        ObjectiveState::NotMet => "31",
        ObjectiveState::Error => "33",
        ObjectiveState::NoResult | ObjectiveState::NoObjective => "2",
    };
    format!("\x1b[{code}m{words}\x1b[0m")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_keeps_order_spelling_and_strings() {
        let text = r#"{"z":1.50,"a":[ ],"s":"a, {b}: \"c\"","o":{"k":[1,{}]}}"#;
        assert_eq!(
            pretty(text),
            "{\n  \"z\": 1.50,\n  \"a\": [],\n  \"s\": \"a, {b}: \\\"c\\\"\",\n  \"o\": {\n    \"k\": [\n      1,\n      {}\n    ]\n  }\n}"
        );
        let reparsed: serde_json::Value = serde_json::from_str(&pretty(text)).unwrap();
        assert_eq!(reparsed, serde_json::from_str::<serde_json::Value>(text).unwrap());
    }

    #[test]
    fn states_are_words_with_or_without_colour() {
        assert_eq!(state_words(ObjectiveState::NotMet, false), "not met");
        assert!(state_words(ObjectiveState::Met, true).contains("met\x1b[0m"));
    }
}
