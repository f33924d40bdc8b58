//! CTPScript, the condition language of the Cloud Trust Protocol (CTP data model and API
//! 2.14, section 5.4), read as the project's decisions page reads it.
//!
//! A condition is compiled once into a [`Condition`], then evaluated against each new
//! measurement result without parsing it again. Evaluation borrows the result: nothing is
//! copied out of it. The outcome is `true`, `false` or `error` (5.4.9).
//!
//! ```
//! use ctpscript::{Bindings, Condition, Outcome};
//!
//! let condition = Condition::compile("value[0].level >= 7").unwrap();
//! let result = serde_json::json!({
//!     "value": [{"level": 9}],
//!     "updateTime": "2026-11-22T10:41:58.123Z",
//! });
//! assert_eq!(condition.evaluate(&Bindings::from_result(&result)), Outcome::True);
//!
//! let missing = serde_json::json!({"value": []});
//! let outcome = condition.evaluate(&Bindings::from_result(&missing));
//! assert_eq!(outcome.to_string(), "error: at column 9: cannot read field `level` of null");
//! ```
//!
//! The pipeline is `lexer` → `parser` (which resolves names and compiles literal regular
//! expressions into the `program` tree) → `eval`, with values and conversions in `value`,
//! numbers in `number`, functions in `builtins` and POSIX regular expressions in `posix`.

#![forbid(unsafe_code)]

mod builtins;
mod error;
mod eval;
mod lexer;
mod number;
mod optimize;
mod parser;
mod posix;
mod program;
mod value;

use std::fmt;

use serde_json::Value as Json;

pub use error::{EvalError, Position, SyntaxError};
pub use eval::{EVALUATION_MEMORY_BUDGET, EVALUATION_TIME_BUDGET};

/// Conditions longer than this many bytes are refused.
pub const MAX_CONDITION_BYTES: usize = 4096;

/// Conditions nested deeper than this are refused: each parenthesis, bracket, brace, call,
/// field access and operator is one level.
pub const MAX_NESTING: usize = 64;

/// A compiled condition, ready to be evaluated any number of times, from any thread.
#[derive(Debug, Clone)]
pub struct Condition {
    source: Box<str>,
    root: program::Node,
}

impl Condition {
    /// Compiles `source`, or says what is wrong with it and where.
    pub fn compile(source: &str) -> Result<Condition, SyntaxError> {
        let root = parser::parse(source)?;
        Ok(Condition { source: source.into(), root })
    }

    /// The text the condition was compiled from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the condition may read the clock: it calls `timeUTC` (or `toTimeUTC`) with
    /// `"now"`, or with an argument not known when compiling, or uses the function otherwise
    /// than in a direct call. Known from the compiled tree, not from the text: a condition that
    /// does not read the clock gives the same outcome on the same result at any time, so only
    /// the others need re-evaluating as time passes (issue 13).
    pub fn reads_clock(&self) -> bool {
        self.root.reads_clock()
    }

    /// An estimate, in bytes, of the memory the compiled condition holds (its program,
    /// texts and compiled regular expressions), for limits on what a tenant may keep.
    pub fn compiled_size(&self) -> usize {
        self.source.len() + self.root.compiled_size()
    }

    /// Evaluates the condition against a measurement result: `toBoolean` of its value, or
    /// `error` (5.4.9).
    pub fn evaluate(&self, bindings: &Bindings<'_>) -> Outcome {
        let env = eval::Env::new(bindings);
        match eval::eval(&self.root, &env) {
            Ok(v) if value::to_boolean(&v) => Outcome::True,
            Ok(_) => Outcome::False,
            Err(raw) => Outcome::Error(EvalError::new(&self.source, raw).to_string()),
        }
    }

    /// Evaluates the condition and returns its value itself rather than its truth: for
    /// trying out expressions and for tests.
    pub fn evaluate_value(&self, bindings: &Bindings<'_>) -> Result<Value, EvalError> {
        let env = eval::Env::new(bindings);
        eval::eval(&self.root, &env).map(|v| Value::from_val(&v)).map_err(|raw| EvalError::new(&self.source, raw))
    }
}

/// Compiles and evaluates `source` in one go; a syntax error is an `error` outcome, as
/// 5.4.9 says.
pub fn evaluate_source(source: &str, bindings: &Bindings<'_>) -> Outcome {
    match Condition::compile(source) {
        Ok(condition) => condition.evaluate(bindings),
        Err(e) => Outcome::Error(e.to_string()),
    }
}

/// The outcome of a condition (5.4.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The condition holds.
    True,
    /// The condition does not hold.
    False,
    /// The condition could not be evaluated; the message says what failed and where.
    Error(String),
}

impl Outcome {
    /// The status string CTP stores for an objective or trigger: `"true"`, `"false"` or
    /// `"error"`.
    pub fn status(&self) -> &'static str {
        match self {
            Outcome::True => "true",
            Outcome::False => "false",
            Outcome::Error(_) => "error",
        }
    }
}

/// `true`, `false` or `error: MESSAGE`, the line `ctpd eval` prints.
impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Error(message) => write!(f, "error: {message}"),
            other => f.write_str(other.status()),
        }
    }
}

static NULL: Json = Json::Null;

/// The four identifiers of 5.4.8, bound to the fields of one measurement result, and the
/// instant `timeUTC("now")` reads.
#[derive(Debug, Clone, Copy)]
pub struct Bindings<'a> {
    /// `value`: the rows of the result.
    pub value: &'a Json,
    /// `updateTime`: the RFC 3339 time of the result.
    pub update_time: &'a Json,
    /// `authorityId`: who produced the result.
    pub authority_id: &'a Json,
    /// `signature`: the JWS of the result.
    pub signature: &'a Json,
    /// Seconds since the epoch that `timeUTC("now")` returns; `None` reads the clock.
    pub now: Option<f64>,
}

impl Bindings<'static> {
    /// All four identifiers null.
    pub fn empty() -> Bindings<'static> {
        Bindings { value: &NULL, update_time: &NULL, authority_id: &NULL, signature: &NULL, now: None }
    }
}

impl<'a> Bindings<'a> {
    /// The fields of a measurement result object. The names the decisions page accepts on
    /// input are read too: `dateTime` for `updateTime`, `authority` for `authorityId`.
    pub fn from_result(result: &'a Json) -> Bindings<'a> {
        let mut found: [Option<&'a Json>; 6] = [None; 6];
        if let Json::Object(fields) = result {
            // One pass over the result's few fields rather than a lookup per name.
            for (name, field) in fields {
                let slot = match name.as_str() {
                    "value" => 0,
                    "updateTime" => 1,
                    "dateTime" => 2,
                    "authorityId" => 3,
                    "authority" => 4,
                    "signature" => 5,
                    _ => continue,
                };
                found[slot] = Some(field);
            }
        }
        Bindings {
            value: found[0].unwrap_or(&NULL),
            update_time: found[1].or(found[2]).unwrap_or(&NULL),
            authority_id: found[3].or(found[4]).unwrap_or(&NULL),
            signature: found[5].unwrap_or(&NULL),
            now: None,
        }
    }

    /// Only `value` bound; the other identifiers are null.
    pub fn with_value(value: &'a Json) -> Bindings<'a> {
        Bindings { value, ..Bindings::empty() }
    }

    /// The same bindings with "now" fixed at `seconds` since the epoch.
    pub fn at(self, seconds: f64) -> Bindings<'a> {
        Bindings { now: Some(seconds), ..self }
    }
}

/// A CTPScript value, owned: what [`Condition::evaluate_value`] returns.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// A double, NaN and infinities included.
    Number(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object, its members in order.
    Object(Vec<(String, Value)>),
    /// A function, by name.
    Function(String),
}

impl Value {
    fn from_val(v: &value::Val<'_>) -> Value {
        use value::Val;
        match v {
            Val::Null => Value::Null,
            Val::Bool(b) => Value::Bool(*b),
            Val::Number(n) => Value::Number(*n),
            Val::Str(s) => Value::String((*s).to_owned()),
            Val::OwnedStr(s) => Value::String(s.to_string()),
            Val::JsonArray(_) | Val::Array(_) | Val::Column { .. } => {
                Value::Array(v.elements().expect("an array").iter().map(|e| Value::from_val(&e)).collect())
            }
            Val::JsonObject(map) => {
                Value::Object(map.iter().map(|(k, json)| (k.clone(), Value::from_val(&Val::from_json(json)))).collect())
            }
            Val::Object(members) => {
                Value::Object(members.iter().map(|(k, v)| ((*k).to_owned(), Value::from_val(v))).collect())
            }
            Val::Function(f) => Value::Function(f.name.to_owned()),
        }
    }
}
