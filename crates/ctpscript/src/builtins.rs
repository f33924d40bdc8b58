//! The eight functions and methods of 5.4.4, as one table, plus the aliases the
//! specification's own examples use (`matchRegex`, `toTimeUTC`).

use std::cmp::Ordering;
use std::rc::Rc;
use std::sync::Arc;

use crate::error::RawEvalError;
use crate::eval::{Budget, Env};
use crate::program::{CompiledRegex, Node, NodeKind};
use crate::value::{self, compare_strings, to_number, Elements, Type, Val};

/// Which built-in a function value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Function {
    ToString,
    ToBoolean,
    ToNumber,
    MatchRegexp,
    Select,
    TimeUtc,
    /// `Array.min()`: a method, called on an array.
    Min,
    /// `Array.max()`: a method, called on an array.
    Max,
}

/// A function value: the built-in and the name it was reached by, which `toString` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FunctionRef {
    pub function: Function,
    pub name: &'static str,
}

/// Functions called by name, with the aliases the specification's examples use.
const FUNCTIONS: &[(&str, Function)] = &[
    ("toString", Function::ToString),
    ("toBoolean", Function::ToBoolean),
    ("toNumber", Function::ToNumber),
    ("matchRegexp", Function::MatchRegexp),
    ("matchRegex", Function::MatchRegexp),
    ("select", Function::Select),
    ("timeUTC", Function::TimeUtc),
    ("toTimeUTC", Function::TimeUtc),
];

/// Methods of arrays.
const METHODS: &[(&str, Function)] = &[("min", Function::Min), ("max", Function::Max)];

impl FunctionRef {
    /// The built-in function called `name`, if there is one.
    pub fn builtin(name: &str) -> Option<FunctionRef> {
        FUNCTIONS.iter().find(|(n, _)| *n == name).map(|&(name, function)| FunctionRef { function, name })
    }

    /// The array method called `name`, if there is one.
    pub fn method(name: &str) -> Option<FunctionRef> {
        METHODS.iter().find(|(n, _)| *n == name).map(|&(name, function)| FunctionRef { function, name })
    }

    fn is_method(self) -> bool {
        matches!(self.function, Function::Min | Function::Max)
    }
}

/// The node for a call: a `matchRegexp` with a literal pattern compiles its regular
/// expression now, once; every other call stays a plain call.
pub(crate) fn specialize_call(callee: Node, mut args: Vec<Node>) -> NodeKind {
    let is_match = matches!(callee.kind, NodeKind::Function(FunctionRef { function: Function::MatchRegexp, .. }));
    if is_match && args.len() == 2 {
        if let NodeKind::String(pattern) = &args[0].kind {
            let regex = crate::posix::compile(pattern).map(Arc::new);
            let subject = args.pop().expect("two arguments");
            return NodeKind::MatchRegexp { regex, subject: Box::new(subject) };
        }
    }
    NodeKind::Call { callee: Box::new(callee), args }
}

/// Calls `function` on evaluated arguments (`receiver` for methods).
pub(crate) fn call<'a>(
    function: FunctionRef,
    receiver: Option<&Val<'a>>,
    args: &[Val<'a>],
    env: &Env<'a>,
    offset: u32,
) -> Result<Val<'a>, RawEvalError> {
    let fail = |message: String| Err(RawEvalError::new(offset, format!("{}: {message}", function.name)));
    let expected = if function.is_method() { 0 } else { arity(function.function) };
    if args.len() != expected {
        let plural = if expected == 1 { "" } else { "s" };
        return fail(format!("expects {expected} argument{plural}, got {}", args.len()));
    }
    if !matches!(function.function, Function::ToBoolean | Function::ToNumber) {
        env.budget.check_time(offset)?;
    }
    match function.function {
        Function::ToString => value::to_string(&args[0], &env.budget, offset),
        Function::ToBoolean => Ok(Val::Bool(value::to_boolean(&args[0]))),
        Function::ToNumber => Ok(Val::Number(to_number(&args[0]))),
        Function::MatchRegexp => {
            let Some(pattern) = args[0].as_str() else {
                return fail(format!("the pattern must be a string, got {}", args[0].type_of().name()));
            };
            let regex = crate::posix::compile_dynamic(pattern);
            match_regexp(&regex, &args[1], offset, function.name)
        }
        Function::Select => select(&args[0], &args[1], &env.budget, offset).or_else(fail),
        Function::TimeUtc => time_utc(&args[0], env).map(Val::Number).or_else(fail),
        Function::Min | Function::Max => {
            let Some(elements) = receiver.and_then(Val::elements) else {
                return fail("must be called as a method of an array, as in `value.max()`".to_owned());
            };
            let want_max = function.function == Function::Max;
            Ok(extreme(elements, want_max).map_or(Val::Null, |i| elements.get(i)))
        }
    }
}

fn arity(function: Function) -> usize {
    match function {
        Function::MatchRegexp | Function::Select => 2,
        Function::Min | Function::Max => 0,
        _ => 1,
    }
}

/// `matchRegexp(r, v)` of 5.4.4 with `r` compiled: true when the string `v`, or every
/// string of the array `v`, contains a match of `r`.
pub(crate) fn match_regexp<'a>(
    regex: &CompiledRegex,
    subject: &Val<'a>,
    offset: u32,
    name: &str,
) -> Result<Val<'a>, RawEvalError> {
    let regex = regex.as_ref().map_err(|reason| RawEvalError::new(offset, format!("{name}: {reason}")))?;
    matches_all(regex, subject, 0)
        .map(Val::Bool)
        .map_err(|message| RawEvalError::new(offset, format!("{name}: {message}")))
}

fn matches_all(regex: &crate::posix::Matcher, subject: &Val<'_>, nesting: usize) -> Result<bool, String> {
    if let Some(s) = subject.as_str() {
        return Ok(regex.is_match(s));
    }
    let Some(elements) = subject.elements() else {
        return Err(format!("the value must be a string or an array of strings, got {}", subject.type_of().name()));
    };
    if nesting > 256 {
        return Err("arrays are nested too deeply".to_owned());
    }
    if let Elements::Column(rows, key) = elements {
        // A column of the result (`select(key, value)`): read each cell in place.
        for row in rows {
            let cell = value::column_cell(row, key);
            let matched = match cell.as_str() {
                Some(s) => regex.is_match(s),
                None => matches_all(regex, &cell, nesting + 1)?,
            };
            if !matched {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    for element in elements.iter() {
        let matched = match element.as_str() {
            Some(s) => regex.is_match(s),
            None => matches_all(regex, &element, nesting + 1)?,
        };
        if !matched {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `select(s, a)` of 5.4.4: the field `s` of every element of the array `a` (null where an
/// element is not an object or lacks the field).
fn select<'a>(key: &Val<'a>, array: &Val<'a>, budget: &Budget, offset: u32) -> Result<Val<'a>, String> {
    if let (Val::Str(key), Val::JsonArray(rows)) = (key, array) {
        return Ok(Val::Column { rows, key });
    }
    let Some(elements) = array.elements() else {
        return Err(format!("the second argument must be an array, got {}", array.type_of().name()));
    };
    budget.charge(elements.len() * std::mem::size_of::<Val<'_>>(), offset).map_err(RawEvalError::into_message)?;
    let column: Vec<Val<'a>> = elements
        .iter()
        .map(|row| match row.type_of() {
            Type::Object | Type::Array => row.field(key),
            _ => Val::Null,
        })
        .collect();
    Ok(Val::Array(Rc::new(column)))
}

/// `timeUTC(s)` of 5.4.4: seconds since the epoch (with the fraction of a second) of an
/// RFC 3339 date-time, or of now.
fn time_utc(s: &Val<'_>, env: &Env<'_>) -> Result<f64, String> {
    let Some(text) = s.as_str() else {
        return Err(format!("expects a string, got {}", s.type_of().name()));
    };
    if text == "now" {
        return Ok(env.now());
    }
    parse_rfc3339(text)
        .ok_or_else(|| format!("{text:?} is not an RFC 3339 date-time such as \"2015-07-20T12:34:56Z\", nor \"now\""))
}

/// Seconds since the epoch of an RFC 3339 `date-time` (section 5.6 of RFC 3339).
pub(crate) fn parse_rfc3339(text: &str) -> Option<f64> {
    let parsed = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    Some(parsed.timestamp() as f64 + f64::from(parsed.timestamp_subsec_nanos()) / 1e9)
}

/// The index that `Array.min()` (`want_max` false) or `Array.max()` returns (5.4.4).
///
/// The specification defines the result as the element `t[i]` with `t[i] <= t[j]` (or
/// `>=`) for every other `j`, the first such for min and the last for max. With strings and
/// numbers mixed, `<=` is not a total order, so this computes exactly that definition in
/// two linear passes instead of sorting: a non-string element qualifies when no element is
/// NaN under `toNumber` and its number is the extreme of all numbers; a string qualifies
/// when it is the extreme string and its `atof` number beats every non-string element.
/// When no element qualifies the result is null, as for an empty array.
pub(crate) fn extreme(elements: Elements<'_, '_>, want_max: bool) -> Option<usize> {
    let n = elements.len();
    if n <= 1 {
        return (n == 1).then_some(0);
    }
    if let Some(index) = extreme_of_numbers(elements, want_max) {
        return index;
    }
    let better = |x: f64, y: f64| if want_max { x > y } else { x < y };
    let mut any_nan = false;
    let mut non_string_nan = false;
    let mut has_non_string = false;
    let mut extreme_all: Option<f64> = None;
    let mut extreme_non_string: Option<f64> = None;
    let mut extreme_string: Option<Val<'_>> = None;
    for element in elements.iter() {
        let x = to_number(&element);
        let is_string = element.as_str().is_some();
        if x.is_nan() {
            any_nan = true;
            non_string_nan |= !is_string;
        } else if extreme_all.is_none_or(|e| better(x, e)) {
            extreme_all = Some(x);
        }
        if is_string {
            let replace = match (&extreme_string, element.as_str()) {
                (None, _) => true,
                (Some(best), Some(s)) => {
                    let order = compare_strings(s, best.as_str().unwrap_or(""));
                    if want_max {
                        order == Ordering::Greater
                    } else {
                        order == Ordering::Less
                    }
                }
                _ => false,
            };
            if replace {
                extreme_string = Some(element);
            }
        } else {
            has_non_string = true;
            if !x.is_nan() && extreme_non_string.is_none_or(|e| better(x, e)) {
                extreme_non_string = Some(x);
            }
        }
    }
    let qualifies = |element: &Val<'_>| {
        let x = to_number(element);
        match element.as_str() {
            None => !any_nan && Some(x) == extreme_all,
            Some(s) => {
                let best = extreme_string.as_ref().and_then(Val::as_str).unwrap_or("");
                let numbers_ok = !has_non_string
                    || (!non_string_nan && !x.is_nan() && extreme_non_string.is_none_or(|e| x == e || better(x, e)));
                compare_strings(s, best) == Ordering::Equal && numbers_ok
            }
        }
    };
    if want_max {
        (0..n).rev().find(|&i| qualifies(&elements.get(i)))
    } else {
        (0..n).find(|&i| qualifies(&elements.get(i)))
    }
}

/// [`extreme`] when every element is a number other than NaN, where `<=` is a total order:
/// the first minimum or the last maximum. `None` when some element is not such a number.
fn extreme_of_numbers(elements: Elements<'_, '_>, want_max: bool) -> Option<Option<usize>> {
    let mut best_index = 0;
    let mut best = f64::NAN;
    for i in 0..elements.len() {
        let Val::Number(x) = elements.get(i) else { return None };
        if x.is_nan() {
            return None;
        }
        let take = i == 0 || if want_max { x >= best } else { x < best };
        if take {
            best = x;
            best_index = i;
        }
    }
    Some(Some(best_index))
}
