//! A bounded cache of compiled conditions shared by every request, so that a push
//! evaluates each trigger's condition without compiling it again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ctpscript::{Bindings, Condition, Outcome, SyntaxError};

/// Conditions compiled once, looked up by their text.
#[derive(Debug)]
pub struct ConditionCache {
    compiled: Mutex<HashMap<String, Arc<Condition>>>,
    capacity: usize,
}

impl Default for ConditionCache {
    fn default() -> Self {
        ConditionCache::with_capacity(10_000)
    }
}

impl ConditionCache {
    /// A cache holding at most `capacity` conditions (it is cleared when full: conditions
    /// are cheap to compile again, and a full cache means the set of live ones changed).
    pub fn with_capacity(capacity: usize) -> ConditionCache {
        ConditionCache { compiled: Mutex::new(HashMap::new()), capacity }
    }

    /// The compiled form of `source`, compiling it on first use.
    pub fn get(&self, source: &str) -> Result<Arc<Condition>, SyntaxError> {
        if let Some(found) = self.compiled.lock().expect("cache lock").get(source) {
            return Ok(Arc::clone(found));
        }
        let condition = Arc::new(Condition::compile(source)?);
        let mut compiled = self.compiled.lock().expect("cache lock");
        if compiled.len() >= self.capacity {
            compiled.clear();
        }
        compiled.insert(source.to_owned(), Arc::clone(&condition));
        Ok(condition)
    }

    /// Evaluates `source` on a decoded result; a syntax error (a condition stored before a
    /// stricter check, say) is an `error` outcome, as 5.4.9 says.
    pub fn evaluate(&self, source: &str, result: &serde_json::Value, now: f64) -> Outcome {
        match self.get(source) {
            Ok(condition) => condition.evaluate(&Bindings::from_result(result).at(now)),
            Err(e) => Outcome::Error(e.to_string()),
        }
    }
}
