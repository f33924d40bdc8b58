//! A bounded cache of compiled conditions shared by every request, so that a push
//! evaluates each trigger's condition without compiling it again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ctpscript::{Bindings, Condition, Outcome, SyntaxError};

/// Something that gives the outcome of a condition, by its text, on a result at an instant.
pub trait Evaluate: Send + Sync {
    /// The outcome of `source` on the decoded `result` at `now` (seconds since the epoch).
    fn evaluate(&self, source: &str, result: &serde_json::Value, now: f64) -> Outcome;
}

impl<T: Evaluate + ?Sized> Evaluate for Arc<T> {
    fn evaluate(&self, source: &str, result: &serde_json::Value, now: f64) -> Outcome {
        self.as_ref().evaluate(source, result, now)
    }
}

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
}

impl Evaluate for ConditionCache {
    /// Evaluates `source` on a decoded result; a syntax error (a condition stored before a
    /// stricter check, say) is an `error` outcome, as 5.4.9 says.
    fn evaluate(&self, source: &str, result: &serde_json::Value, now: f64) -> Outcome {
        match self.get(source) {
            Ok(condition) => condition.evaluate(&Bindings::from_result(result).at(now)),
            Err(e) => Outcome::Error(e.to_string()),
        }
    }
}

/// The outcomes of a measurement's conditions on one new result at one instant, computed
/// before the write that stores the result, outside its transaction: evaluation (bounded by
/// CTPScript's time budget) then never holds the store's writer, so one tenant's costly
/// conditions cannot stall another tenant's writes. A condition met inside the transaction
/// that was not evaluated ahead (a trigger created in between) is evaluated there.
#[derive(Debug)]
pub struct Evaluations {
    cache: Arc<ConditionCache>,
    outcomes: HashMap<String, Outcome>,
}

impl Evaluations {
    /// Evaluates each of `sources` on `result` at `now` (seconds since the epoch).
    pub fn ahead<'s>(
        cache: Arc<ConditionCache>,
        sources: impl IntoIterator<Item = &'s str>,
        result: &serde_json::Value,
        now: f64,
    ) -> Evaluations {
        let mut outcomes = HashMap::new();
        for source in sources {
            if !outcomes.contains_key(source) {
                let outcome = cache.evaluate(source, result, now);
                outcomes.insert(source.to_owned(), outcome);
            }
        }
        Evaluations { cache, outcomes }
    }

    /// No outcome computed ahead: every condition is evaluated when asked.
    pub fn none(cache: Arc<ConditionCache>) -> Evaluations {
        Evaluations { cache, outcomes: HashMap::new() }
    }
}

impl Evaluate for Evaluations {
    /// The outcome computed ahead for `source` (which was for this result and instant), or
    /// an evaluation now.
    fn evaluate(&self, source: &str, result: &serde_json::Value, now: f64) -> Outcome {
        match self.outcomes.get(source) {
            Some(outcome) => outcome.clone(),
            None => self.cache.evaluate(source, result, now),
        }
    }
}
