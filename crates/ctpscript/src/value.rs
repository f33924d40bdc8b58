//! Values during evaluation (the seven types of 5.4.3) and the conversions and comparisons
//! of 5.4.4 and 5.4.6. Values read from the measurement result borrow it: nothing is copied
//! out of the result unless an operator computes something new.

use std::cmp::Ordering;
use std::rc::Rc;

use serde_json::{Map, Value as Json};

use crate::builtins::FunctionRef;
use crate::error::RawEvalError;
use crate::eval::Budget;
use crate::number;

/// A CTPScript value, borrowing from the compiled condition and the measurement result
/// (both live at least as long as `'a`).
#[derive(Debug, Clone)]
pub(crate) enum Val<'a> {
    Null,
    Bool(bool),
    Number(f64),
    /// A string of the condition or the result.
    Str(&'a str),
    /// A string computed during evaluation.
    OwnedStr(Rc<str>),
    /// An array of the result.
    JsonArray(&'a [Json]),
    /// An object of the result.
    JsonObject(&'a Map<String, Json>),
    /// An array computed during evaluation (a literal, or `select` of a computed array).
    Array(Rc<Vec<Val<'a>>>),
    /// `select(key, rows)` of an array of the result, read lazily: element `i` is the field
    /// `key` of `rows[i]`. Nothing is allocated until an element is needed.
    Column {
        rows: &'a [Json],
        key: &'a str,
    },
    /// An object literal of the condition.
    Object(Rc<Vec<(&'a str, Val<'a>)>>),
    Function(FunctionRef),
}

/// The 7 types of 5.4.3, as `typeOf()` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Type {
    String,
    Number,
    Boolean,
    Null,
    Object,
    Array,
    Function,
}

impl Type {
    pub fn name(self) -> &'static str {
        match self {
            Type::String => "string",
            Type::Number => "number",
            Type::Boolean => "boolean",
            Type::Null => "null",
            Type::Object => "object",
            Type::Array => "array",
            Type::Function => "function",
        }
    }
}

/// The elements of an array, whichever side made it.
#[derive(Clone, Copy)]
pub(crate) enum Elements<'v, 'a> {
    Json(&'a [Json]),
    Computed(&'v [Val<'a>]),
    Column(&'a [Json], &'a str),
}

impl<'v, 'a> Elements<'v, 'a> {
    pub fn len(&self) -> usize {
        match self {
            Elements::Json(items) => items.len(),
            Elements::Computed(items) => items.len(),
            Elements::Column(rows, _) => rows.len(),
        }
    }

    pub fn get(&self, index: usize) -> Val<'a> {
        match self {
            Elements::Json(items) => Val::from_json(&items[index]),
            Elements::Computed(items) => items[index].clone(),
            Elements::Column(rows, key) => column_cell(&rows[index], key),
        }
    }

    pub fn iter(self) -> impl Iterator<Item = Val<'a>> + 'v
    where
        'a: 'v,
    {
        (0..self.len()).map(move |i| self.get(i))
    }
}

impl<'a> Val<'a> {
    /// A value of the measurement result, borrowed.
    pub fn from_json(json: &'a Json) -> Val<'a> {
        match json {
            Json::Null => Val::Null,
            Json::Bool(b) => Val::Bool(*b),
            Json::Number(n) => Val::Number(n.as_f64().unwrap_or(f64::NAN)),
            Json::String(s) => Val::Str(s),
            Json::Array(items) => Val::JsonArray(items),
            Json::Object(map) => Val::JsonObject(map),
        }
    }

    /// `typeOf(a)` of 5.4.3.
    pub fn type_of(&self) -> Type {
        match self {
            Val::Null => Type::Null,
            Val::Bool(_) => Type::Boolean,
            Val::Number(_) => Type::Number,
            Val::Str(_) | Val::OwnedStr(_) => Type::String,
            Val::JsonArray(_) | Val::Array(_) | Val::Column { .. } => Type::Array,
            Val::JsonObject(_) | Val::Object(_) => Type::Object,
            Val::Function(_) => Type::Function,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            Val::OwnedStr(s) => Some(s),
            _ => None,
        }
    }

    pub fn elements(&self) -> Option<Elements<'_, 'a>> {
        match self {
            Val::JsonArray(items) => Some(Elements::Json(items)),
            Val::Array(items) => Some(Elements::Computed(items)),
            Val::Column { rows, key } => Some(Elements::Column(rows, key)),
            _ => None,
        }
    }

    /// `getField(a, prop)` of 5.4.3 for an object or array `self`: the value at `prop`, or
    /// null. Arrays also answer `length`, and `min`/`max` as methods (5.4.4).
    pub fn field(&self, prop: &Val<'a>) -> Val<'a> {
        if let Some(elements) = self.elements() {
            return match prop {
                Val::Number(n) => match integral_index(*n) {
                    Some(i) if i < elements.len() => elements.get(i),
                    _ => Val::Null,
                },
                _ => match prop.as_str() {
                    Some("length") => Val::Number(elements.len() as f64),
                    Some(name) => match FunctionRef::method(name) {
                        Some(method) => Val::Function(method),
                        None => match canonical_index(name) {
                            Some(i) if i < elements.len() => elements.get(i),
                            _ => Val::Null,
                        },
                    },
                    None => Val::Null,
                },
            };
        }
        let key_buffer;
        let key: &str = match prop {
            Val::Number(n) if integral_index(n.abs()).is_some() => {
                key_buffer = format!("{}", *n as i64);
                &key_buffer
            }
            _ => match prop.as_str() {
                Some(key) => key,
                None => return Val::Null,
            },
        };
        match self {
            Val::JsonObject(map) => json_field(map, key).map_or(Val::Null, Val::from_json),
            // Later members win, as in JavaScript.
            Val::Object(members) => members.iter().rev().find(|(k, _)| *k == key).map_or(Val::Null, |(_, v)| v.clone()),
            _ => Val::Null,
        }
    }
}

/// The field `key` of a row, as `select` reads it: null unless the row is an object or array.
pub(crate) fn column_cell<'a>(row: &'a Json, key: &'a str) -> Val<'a> {
    match row {
        Json::Object(map) => json_field(map, key).map_or(Val::Null, Val::from_json),
        Json::Array(items) => Val::JsonArray(items).field(&Val::Str(key)),
        _ => Val::Null,
    }
}

/// `map[key]`. Rows of a measurement result have a handful of columns, for which comparing
/// lengths first and scanning beats the tree search.
pub(crate) fn json_field<'a>(map: &'a Map<String, Json>, key: &str) -> Option<&'a Json> {
    if map.len() <= 8 {
        map.iter().find(|(k, _)| k.len() == key.len() && k.as_str() == key).map(|(_, v)| v)
    } else {
        map.get(key)
    }
}

/// The index an "integral number" (5.4.3: an integer in [-2^31, 2^31-1]) designates in an
/// array, if it is one and not negative.
fn integral_index(n: f64) -> Option<usize> {
    (n.fract() == 0.0 && (0.0..=2_147_483_647.0).contains(&n)).then_some(n as usize)
}

/// "0", "1", "42"... as array keys, the way JavaScript reads `a["1"]`.
fn canonical_index(key: &str) -> Option<usize> {
    let canonical = !key.is_empty() && key.len() <= 10 && key.bytes().all(|b| b.is_ascii_digit());
    if !canonical || (key.len() > 1 && key.starts_with('0')) {
        return None;
    }
    key.parse::<u32>().ok().filter(|i| *i <= i32::MAX as u32).map(|i| i as usize)
}

/// `toBoolean(a)` of 5.4.4.
pub(crate) fn to_boolean(v: &Val<'_>) -> bool {
    match v {
        Val::Null => false,
        Val::Bool(b) => *b,
        Val::Number(n) => !(*n == 0.0 || n.is_nan()),
        Val::Str(s) => !s.is_empty(),
        Val::OwnedStr(s) => !s.is_empty(),
        Val::JsonArray(_)
        | Val::JsonObject(_)
        | Val::Array(_)
        | Val::Column { .. }
        | Val::Object(_)
        | Val::Function(_) => true,
    }
}

/// `toNumber(a)` of 5.4.4: strings through C's `atof`.
pub(crate) fn to_number(v: &Val<'_>) -> f64 {
    match v {
        Val::Null => 0.0,
        Val::Bool(b) => f64::from(u8::from(*b)),
        Val::Number(n) => *n,
        Val::Str(s) => number::atof(s),
        Val::OwnedStr(s) => number::atof(s),
        Val::JsonArray(_)
        | Val::JsonObject(_)
        | Val::Array(_)
        | Val::Column { .. }
        | Val::Object(_)
        | Val::Function(_) => f64::NAN,
    }
}

/// Arrays nested deeper than this are not converted to strings (the condition and the
/// result cannot legitimately hold such nesting: both parsers stop far earlier).
const MAX_STRING_NESTING: usize = 256;

/// `toString(a)` of 5.4.4: numbers as C's `%e`, arrays joined with `,`.
pub(crate) fn to_string<'a>(v: &Val<'a>, budget: &Budget, offset: u32) -> Result<Val<'a>, RawEvalError> {
    match v {
        Val::Str(_) | Val::OwnedStr(_) => Ok(v.clone()),
        _ => {
            let mut out = String::new();
            append_string(v, &mut out, budget, offset, 0)?;
            Ok(Val::OwnedStr(Rc::from(out)))
        }
    }
}

fn append_string(
    v: &Val<'_>,
    out: &mut String,
    budget: &Budget,
    offset: u32,
    nesting: usize,
) -> Result<(), RawEvalError> {
    let before = out.len();
    match v {
        Val::Str(s) => out.push_str(s),
        Val::OwnedStr(s) => out.push_str(s),
        Val::Number(n) => out.push_str(&number::format_e(*n)),
        Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Val::Null => {}
        Val::JsonObject(_) | Val::Object(_) => out.push_str("[Object Undefined]"),
        Val::Function(f) => {
            out.push_str("function ");
            out.push_str(f.name);
            out.push_str("() { [Native code] }");
        }
        Val::JsonArray(_) | Val::Array(_) | Val::Column { .. } => {
            if nesting >= MAX_STRING_NESTING {
                return Err(RawEvalError::new(offset, "toString: arrays are nested too deeply"));
            }
            let elements = v.elements().expect("an array has elements");
            for (i, element) in elements.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                    budget.charge(1, offset)?;
                }
                append_string(&element, out, budget, offset, nesting + 1)?;
            }
            return Ok(());
        }
    }
    budget.charge(out.len() - before, offset)
}

/// `compareString(a, b)` of 5.4.6: lexicographic order of UTF-16 code units, as JavaScript
/// compares strings.
pub(crate) fn compare_strings(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let mut left = a.chars();
    let mut right = b.chars();
    loop {
        match (left.next(), right.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (Some(x), Some(y)) => return utf16_key(x).cmp(&utf16_key(y)),
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
        }
    }
}

/// The UTF-16 code units of a character, as a key that orders like them.
fn utf16_key(c: char) -> (u16, u16) {
    let mut units = [0u16; 2];
    let encoded = c.encode_utf16(&mut units);
    (encoded[0], encoded.get(1).copied().unwrap_or(0))
}

/// `a < b` of 5.4.6.
pub(crate) fn less(a: &Val<'_>, b: &Val<'_>) -> bool {
    if let (Val::Number(x), Val::Number(y)) = (a, b) {
        return x < y;
    }
    if let (Some(x), Some(y)) = (a.as_str(), b.as_str()) {
        return compare_strings(x, y) == Ordering::Less;
    }
    to_number(a) < to_number(b)
}

/// `a == b` of 5.4.6: strings as strings, everything else through `toNumber`.
pub(crate) fn equal(a: &Val<'_>, b: &Val<'_>) -> bool {
    if let (Val::Number(x), Val::Number(y)) = (a, b) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (a.as_str(), b.as_str()) {
        return x == y;
    }
    to_number(a) == to_number(b)
}

/// `a <= b`, read as `a < b || a == b`.
pub(crate) fn less_or_equal(a: &Val<'_>, b: &Val<'_>) -> bool {
    less(a, b) || equal(a, b)
}

/// `a >= b`, read as `a > b || a == b` where `a > b` is `b < a` (the decisions page's
/// correction of 5.4.6).
pub(crate) fn greater_or_equal(a: &Val<'_>, b: &Val<'_>) -> bool {
    less(b, a) || equal(a, b)
}
