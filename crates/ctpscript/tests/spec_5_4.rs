//! CTPScript against section 5.4 of CTP 2.14 and the decisions page, clause by clause. Every
//! expected value comes from the text (or from C99 / ECMA-262 v5 where the text defers to
//! them), one case per line, with the clause in a comment above each group.
#![allow(unsafe_code)] // only to call libc's snprintf and strtod as references

use ctpscript::{evaluate_source, Bindings, Condition, Outcome, Value, MAX_CONDITION_BYTES};
use proptest::prelude::*;
use serde_json::json;

// ---------------------------------------------------------------- helpers

/// The value of an expression with no result bound.
fn value_of(source: &str) -> Value {
    let condition = Condition::compile(source).unwrap_or_else(|e| panic!("{source}: {e}"));
    condition.evaluate_value(&Bindings::empty()).unwrap_or_else(|e| panic!("{source}: {e}"))
}

fn number_of(source: &str) -> f64 {
    match value_of(source) {
        Value::Number(n) => n,
        other => panic!("{source} is {other:?}, not a number"),
    }
}

fn string_of(source: &str) -> String {
    match value_of(source) {
        Value::String(s) => s,
        other => panic!("{source} is {other:?}, not a string"),
    }
}

/// The outcome on a result.
fn outcome_on(source: &str, result: serde_json::Value) -> Outcome {
    evaluate_source(source, &Bindings::from_result(&result).at(1_800_000_000.0))
}

fn is_true(source: &str) -> bool {
    match evaluate_source(source, &Bindings::empty()) {
        Outcome::True => true,
        Outcome::False => false,
        Outcome::Error(e) => panic!("{source}: error {e}"),
    }
}

/// The message of an `error` outcome.
fn error_of(source: &str) -> String {
    error_on(source, json!({"value": [{"level": 7}]}))
}

fn error_on(source: &str, result: serde_json::Value) -> String {
    match outcome_on(source, result) {
        Outcome::Error(message) => message,
        other => panic!("{source} gave {other}, not an error"),
    }
}

fn syntax_error(source: &str) -> String {
    Condition::compile(source).map(|_| ()).expect_err(source).to_string()
}

// ---------------------------------------------------------------- 5.4.1 / 5.4.2 grammar

#[test]
fn numeric_literals_follow_ecma_262_7_8_3() {
    assert_eq!(number_of("0"), 0.0);
    assert_eq!(number_of("42"), 42.0);
    assert_eq!(number_of("3.25"), 3.25);
    assert_eq!(number_of(".5"), 0.5);
    assert_eq!(number_of("5."), 5.0);
    assert_eq!(number_of("1e3"), 1000.0);
    assert_eq!(number_of("1E-3"), 0.001);
    assert_eq!(number_of("2.5e+2"), 250.0);
    assert_eq!(number_of("0x1F"), 31.0);
    assert_eq!(number_of("0XfF"), 255.0);
    assert_eq!(number_of("1e400"), f64::INFINITY);
    assert!(syntax_error("07").contains("octal"));
    assert!(syntax_error("3in").contains("column 2"));
    assert!(syntax_error("1e").contains("exponent"));
    assert!(syntax_error("0x").contains("hexadecimal"));
}

#[test]
fn string_literals_follow_ecma_262_7_8_4() {
    assert_eq!(string_of(r#""double""#), "double");
    assert_eq!(string_of("'single'"), "single");
    assert_eq!(string_of(r#"'it\'s'"#), "it's");
    assert_eq!(string_of(r#""say \"hi\"""#), "say \"hi\"");
    assert_eq!(string_of(r#""back\\slash""#), "back\\slash");
    assert_eq!(string_of(r#""\b\f\n\r\t\v""#), "\u{8}\u{c}\n\r\t\u{b}");
    assert_eq!(string_of(r#""\0""#), "\0");
    assert_eq!(string_of(r#""\x41\x42""#), "AB");
    assert_eq!(string_of(r#""\u00e9t\u00E9""#), "été");
    assert_eq!(string_of(r#""\uD83D\uDE00""#), "😀", "a surrogate pair is one character");
    assert_eq!(string_of("\"line\\\ncontinued\""), "linecontinued");
    assert_eq!(string_of(r#""\q""#), "q", "a non-escape character stands for itself");
    assert_eq!(string_of("'UTF-8 ünïcödé'"), "UTF-8 ünïcödé");
    assert!(syntax_error(r#""open"#).contains("not closed"));
    assert!(syntax_error("\"two\nlines\"").contains("line break"));
    assert!(syntax_error(r#""\x4""#).contains("2 hexadecimal"));
    assert!(syntax_error(r#""\uD83D""#).contains("surrogate"));
    assert!(syntax_error(r#""\01""#).contains("octal"));
    assert!(syntax_error("“UK”").contains("typographic quote"));
}

#[test]
fn array_and_object_literals() {
    assert_eq!(value_of("[]"), Value::Array(vec![]));
    assert_eq!(
        value_of("[1, 'a', null]"),
        Value::Array(vec![Value::Number(1.0), Value::String("a".into()), Value::Null])
    );
    assert_eq!(value_of("{}"), Value::Object(vec![]));
    assert_eq!(
        value_of(r#"{a: 1, "b c": true}"#),
        Value::Object(vec![("a".into(), Value::Number(1.0)), ("b c".into(), Value::Bool(true))])
    );
    assert_eq!(number_of("{a: 1, a: 2}.a"), 2.0, "a later member wins, as in JavaScript");
    assert_eq!(number_of("[[1, 2], [3, 4]][1][0]"), 3.0);
    assert!(syntax_error("[1, 2,]").contains("expected an expression"), "no trailing comma in the grammar");
    assert!(syntax_error("[1,,2]").contains("expected an expression"), "no elision in the grammar");
    assert!(syntax_error("{1: 2}").contains("property name"));
    assert!(syntax_error("{a 1}").contains("`:`"));
}

#[test]
fn identifiers_access_and_calls() {
    let result = json!({"value": [{"level": 7, "name": "api", "tags": ["a", "b"], "nested": {"x": {"y": 3}}}]});
    for (source, expected) in [
        ("value[0].level == 7", Outcome::True),
        ("value[0]['level'] == 7", Outcome::True),
        ("value[0].nested.x.y == 3", Outcome::True),
        ("value[0].tags[1] == 'b'", Outcome::True),
        ("value[0].tags.length == 2", Outcome::True),
        ("value.length == 1", Outcome::True),
        ("value[1 - 1].level == 7", Outcome::True),
        ("value[0].tags.max() == 'b'", Outcome::True),
        ("(value)[0].name == 'api'", Outcome::True),
        ("[3, 1, 2].min() == 1", Outcome::True),
        ("toString(value[0].level) == '7.000000e+00'", Outcome::True),
        ("value[0].missing == null", Outcome::True),
        ("value[5] == null", Outcome::True),
    ] {
        assert_eq!(outcome_on(source, result.clone()), expected, "{source}");
    }
    // ECMA-262 7.6 identifier names, including reserved words after `.`.
    assert_eq!(outcome_on("value[0].null == null", result.clone()), Outcome::True);
    assert_eq!(number_of("{$a_1: 5}.$a_1"), 5.0);
}

#[test]
fn unary_operators() {
    assert_eq!(number_of("-5"), -5.0);
    assert_eq!(number_of("- -5"), 5.0);
    assert!(number_of("-'5'").is_nan(), "unary minus of a non-number is NaN (decision)");
    assert!(number_of("-null").is_nan());
    assert!(is_true("!false"));
    assert!(is_true("!0"));
    assert!(is_true("!''"));
    assert!(!is_true("!'a'"));
    assert!(!is_true("![]"), "an empty array is truthy");
    assert!(is_true("!!{}"));
    assert!(is_true("!null"));
}

#[test]
fn precedence_and_associativity_are_javascripts() {
    // * / % bind tighter than + -
    assert_eq!(number_of("1 + 2 * 3"), 7.0);
    assert_eq!(number_of("(1 + 2) * 3"), 9.0);
    assert_eq!(number_of("10 - 4 / 2"), 8.0);
    assert_eq!(number_of("7 + 5 % 3"), 9.0);
    // left associativity
    assert_eq!(number_of("10 - 3 - 2"), 5.0);
    assert_eq!(number_of("64 / 4 / 2"), 8.0);
    assert_eq!(number_of("17 % 5 % 3"), 2.0);
    assert_eq!(string_of("'a' + 'b' + 'c'"), "abc");
    // unary binds tighter than binary, postfix tighter than unary
    assert_eq!(number_of("-2 * 3"), -6.0);
    assert_eq!(number_of("-[4][0]"), -4.0);
    assert!(is_true("!1 == 0"), "(!1) == 0");
    // + - bind tighter than comparisons, comparisons tighter than equality
    assert!(is_true("1 + 1 < 3"));
    assert!(is_true("1 < 2 == true"), "(1 < 2) == true");
    assert!(is_true("3 > 2 > 1 == false"), "((3 > 2) > 1) == false: true is 1, and 1 > 1 is false");
    // equality tighter than &&, && tighter than ||
    assert!(is_true("1 == 1 && 2 == 2"));
    assert!(is_true("true || false && false"), "true || (false && false)");
    assert!(!is_true("(true || false) && false"));
    assert!(is_true("false && false || true"));
}

#[test]
fn syntax_errors_name_their_column() {
    assert_eq!(
        syntax_error("value[0].level >= "),
        "syntax error at column 19: expected an expression, found the end of the condition"
    );
    assert!(syntax_error("(1 + 2").contains("to close the `(` at column 1"));
    assert!(syntax_error("value[0").contains("to close the `[`"));
    assert!(syntax_error("1 2").contains("column 3"));
    assert!(syntax_error("a = 1").contains("did you mean `==`"));
    assert!(syntax_error("a === 1").contains("use `==`"));
    assert!(syntax_error("a & b").contains("`&&`"));
    assert!(syntax_error("a | b").contains("`||`"));
    assert!(syntax_error("1 +\n 2 *").contains("line 2"));
    assert!(syntax_error("+1").contains("expected an expression"), "no unary + in the grammar");
    assert!(syntax_error("value.").contains("property name after `.`"));
    assert!(syntax_error("#").contains("unexpected character"));
    assert!(syntax_error("").contains("expected an expression"));
    // A syntax error is an `error` outcome (5.4.9).
    assert!(matches!(evaluate_source("1 +", &Bindings::empty()), Outcome::Error(m) if m.starts_with("syntax error")));
}

// ---------------------------------------------------------------- 5.4.4 toString

#[test]
fn to_string_table() {
    // 1. a string is returned as it is
    assert_eq!(string_of("toString('abc')"), "abc");
    // 2. a number is C's %e
    assert_eq!(string_of("toString(6.4)"), "6.400000e+00");
    assert_eq!(string_of("toString(0)"), "0.000000e+00");
    assert_eq!(string_of("toString(-0)"), "-0.000000e+00");
    assert_eq!(string_of("toString(100)"), "1.000000e+02");
    assert_eq!(string_of("toString(1e21)"), "1.000000e+21");
    assert_eq!(string_of("toString(1e-7)"), "1.000000e-07");
    assert_eq!(string_of("toString(123456789)"), "1.234568e+08");
    assert_eq!(string_of("toString(1e100)"), "1.000000e+100");
    assert_eq!(string_of("toString(1/0)"), "inf");
    assert_eq!(string_of("toString(-1/0)"), "-inf");
    assert_eq!(string_of("toString(0/0)"), "nan");
    // 3. booleans
    assert_eq!(string_of("toString(true)"), "true");
    assert_eq!(string_of("toString(false)"), "false");
    // 4. null and the empty array
    assert_eq!(string_of("toString(null)"), "");
    assert_eq!(string_of("toString([])"), "");
    // 5. objects
    assert_eq!(string_of("toString({a: 1})"), "[Object Undefined]");
    // 6. non-empty arrays, joined with ",", recursively
    assert_eq!(string_of("toString([1, 'a', true, null])"), "1.000000e+00,a,true,");
    assert_eq!(string_of("toString([[1, 2], ['x']])"), "1.000000e+00,2.000000e+00,x");
    assert_eq!(string_of("toString([{}, []])"), "[Object Undefined],");
    // 7. functions
    assert_eq!(string_of("toString(toNumber)"), "function toNumber() { [Native code] }");
    assert_eq!(string_of("toString([1].max)"), "function max() { [Native code] }");
}

// ---------------------------------------------------------------- 5.4.4 toBoolean

#[test]
fn to_boolean_table() {
    // 1. strings: false only when empty
    assert!(!is_true("toBoolean('')"));
    assert!(is_true("toBoolean('false')"));
    assert!(is_true("toBoolean('0')"));
    // 2. numbers: false for -0, +0, NaN
    assert!(!is_true("toBoolean(0)"));
    assert!(!is_true("toBoolean(-0)"));
    assert!(!is_true("toBoolean(0/0)"));
    assert!(is_true("toBoolean(0.001)"));
    assert!(is_true("toBoolean(-1)"));
    assert!(is_true("toBoolean(1/0)"));
    // 3. booleans
    assert!(is_true("toBoolean(true)"));
    assert!(!is_true("toBoolean(false)"));
    // 4. null
    assert!(!is_true("toBoolean(null)"));
    // 5. objects and arrays, even empty ones
    assert!(is_true("toBoolean({})"));
    assert!(is_true("toBoolean([])"));
    // 6. functions
    assert!(is_true("toBoolean(select)"));
}

// ---------------------------------------------------------------- 5.4.4 toNumber

#[test]
fn to_number_table() {
    // 1. strings through C's atof: the longest numeric prefix, else 0
    assert_eq!(number_of("toNumber('42')"), 42.0);
    assert_eq!(number_of("toNumber('  -3.5e2xyz')"), -350.0);
    assert_eq!(number_of("toNumber('12abc')"), 12.0);
    assert_eq!(number_of("toNumber('abc')"), 0.0);
    assert_eq!(number_of("toNumber('')"), 0.0);
    assert_eq!(number_of("toNumber('.5')"), 0.5);
    assert_eq!(number_of("toNumber('1e')"), 1.0);
    assert_eq!(number_of("toNumber('0x10')"), 16.0, "C99 strtod reads hexadecimal");
    assert_eq!(number_of("toNumber('0x1p3')"), 8.0);
    assert_eq!(number_of("toNumber('inf')"), f64::INFINITY);
    assert_eq!(number_of("toNumber('-Infinity')"), f64::NEG_INFINITY);
    assert!(number_of("toNumber('nan')").is_nan());
    assert_eq!(number_of("toNumber('4.5 GB')"), 4.5);
    // 2. numbers
    assert_eq!(number_of("toNumber(7)"), 7.0);
    // 3. booleans
    assert_eq!(number_of("toNumber(true)"), 1.0);
    assert_eq!(number_of("toNumber(false)"), 0.0);
    // 4. null
    assert_eq!(number_of("toNumber(null)"), 0.0);
    // 5. objects and arrays
    assert!(number_of("toNumber({})").is_nan());
    assert!(number_of("toNumber([1])").is_nan());
    // 6. functions
    assert!(number_of("toNumber(toString)").is_nan());
}

// ---------------------------------------------------------------- 5.4.4 min and max

#[test]
fn min_and_max_follow_every_step() {
    // step 2: empty arrays
    assert_eq!(value_of("[].min()"), Value::Null);
    assert_eq!(value_of("[].max()"), Value::Null);
    // steps 3-4: a single extreme
    assert_eq!(number_of("[3, 1, 2].min()"), 1.0);
    assert_eq!(number_of("[3, 1, 2].max()"), 3.0);
    assert_eq!(value_of("['b', 'a', 'c'].min()"), Value::String("a".into()));
    assert_eq!(
        value_of("[{a: 1}].max()"),
        Value::Object(vec![("a".into(), Value::Number(1.0))]),
        "one element is its own extreme"
    );
    // step 5: ties: min takes the smallest index, max the biggest (0 and -0 are equal)
    assert_eq!(number_of("1 / [0, -0].min()"), f64::INFINITY, "min is the first: +0");
    assert_eq!(number_of("1 / [0, -0].max()"), f64::NEG_INFINITY, "max is the last: -0");
    assert_eq!(value_of("['1', 1].max()"), Value::Number(1.0), "'1' == 1: the last wins");
    assert_eq!(value_of("['1', 1].min()"), Value::String("1".into()), "the first wins");
    // mixed types compare through toNumber unless both are strings
    assert_eq!(value_of("[null, -1, true].max()"), Value::Bool(true));
    assert_eq!(value_of("[null, -1, true].min()"), Value::Number(-1.0));
    // no element is <= (or >=) all others: null (decision)
    assert_eq!(value_of("[1, {}].max()"), Value::Null);
    assert_eq!(value_of("[1, 0/0].min()"), Value::Null);
    // a method of arrays only
    assert!(error_of("value[0].level.max()").contains("not a method"));
    assert!(error_of("[1].max(2)").contains("expects 0 arguments"));
}

// ---------------------------------------------------------------- 5.4.4 matchRegexp

#[test]
fn match_regexp_follows_every_step() {
    // step 1: r must be a string
    assert!(error_of("matchRegexp(1, 'a')").contains("pattern must be a string"));
    // step 2: r must be a correct POSIX ERE
    assert!(error_of("matchRegexp('a{', 'a')").contains("not a valid POSIX extended regular expression"));
    assert!(error_of("matchRegexp('(a', 'a')").contains("not closed"));
    assert!(error_of(r"matchRegexp('\\d', '1')").contains("[[:digit:]]"));
    // steps 3-4: arrays: every element must match
    assert!(is_true("matchRegexp('^a', ['ab', 'ac'])"));
    assert!(!is_true("matchRegexp('^a', ['ab', 'bc'])"));
    assert!(is_true("matchRegexp('^a', [])"), "all of no element");
    assert!(is_true("matchRegexp('^a', [['ab'], 'ac'])"), "recursively");
    assert!(error_of("matchRegexp('a', ['a', 1])").contains("string or an array of strings"));
    // step 5: anything else that is not a string
    assert!(error_of("matchRegexp('a', null)").contains("got null"));
    assert!(error_of("matchRegexp('a', 5)").contains("got number"));
    // step 6: POSIX matching, unanchored
    assert!(is_true("matchRegexp('UK', 'the UK office')"));
    assert!(!is_true("matchRegexp('^UK$', 'the UK office')"));
    assert!(is_true("matchRegexp('^[[:upper:]]{2}$', 'BE')"));
    assert!(is_true("matchRegexp('^(AU|BE|CA)$', 'CA')"));
    assert!(is_true("matchRegexp('colou?r', 'color')"));
    assert!(is_true(r"matchRegexp('^[\\.]+$', '\\.')"), "a backslash is literal inside brackets");
    // a pattern computed at run time works too
    assert!(is_true("matchRegexp('^' + 'a' + '$', 'a')"));
    // the alias of the specification's example
    assert!(is_true("matchRegex('UK', 'UK')"));
}

// ---------------------------------------------------------------- 5.4.4 select

#[test]
fn select_follows_every_step() {
    let rows = json!({"value": [{"country": "UK", "n": 1}, {"country": "BE", "n": 2}, {"n": 3}]});
    // step 1: a must be an array
    assert!(error_of("select('a', 5)").contains("must be an array, got number"));
    assert!(error_of("select('a', null)").contains("got null"));
    // step 2: getField of each element
    assert_eq!(outcome_on("select('n', value).max() == 3", rows.clone()), Outcome::True);
    assert_eq!(outcome_on("select('country', value)[2] == null", rows.clone()), Outcome::True, "a missing key is null");
    assert_eq!(outcome_on("select('country', value).length == 3", rows.clone()), Outcome::True);
    assert_eq!(outcome_on("toString(select('country', value)) == 'UK,BE,'", rows.clone()), Outcome::True);
    assert_eq!(
        value_of("select(1, [[10, 11], [20, 21]])"),
        Value::Array(vec![Value::Number(11.0), Value::Number(21.0)])
    );
    assert_eq!(value_of("select('a', [1, null, 'x'])"), Value::Array(vec![Value::Null, Value::Null, Value::Null]));
    assert_eq!(value_of("select('a', [])"), Value::Array(vec![]));
    // the specification's example, with its arguments in the order 5.4.4 defines
    assert_eq!(
        outcome_on(r#"matchRegex("UK", select("country", value))"#, json!({"value": [{"country": "UK"}]})),
        Outcome::True
    );
}

// ---------------------------------------------------------------- 5.4.4 timeUTC

#[test]
fn time_utc_follows_every_step() {
    // step 1: s must be a string
    assert!(error_of("timeUTC(5)").contains("expects a string"));
    // step 2: "now"
    assert_eq!(outcome_on("timeUTC('now') == 1800000000", json!({})), Outcome::True);
    // step 3: before the epoch, negative
    assert_eq!(number_of("timeUTC('1969-12-31T23:59:00Z')"), -60.0);
    // step 4: after the epoch
    assert_eq!(number_of("timeUTC('2015-07-20T12:34:56Z')"), 1_437_395_696.0);
    assert_eq!(number_of("timeUTC('2015-07-20T14:34:56+02:00')"), 1_437_395_696.0);
    assert_eq!(number_of("timeUTC('1970-01-01T00:00:00.25Z')"), 0.25);
    // step 5: anything else
    assert!(error_of("timeUTC('yesterday')").contains("RFC 3339"));
    assert!(error_of("timeUTC('2015-07-20')").contains("RFC 3339"));
    // the alias, and the identifier it is used with
    let fresh = json!({"value": [], "updateTime": "2027-01-15T07:40:00Z"});
    assert_eq!(outcome_on("timeUTC('now') - toTimeUTC(updateTime) < 3600", fresh), Outcome::True);
}

#[test]
fn calls_that_cannot_happen_are_errors() {
    assert!(error_of("nope(1)").contains("unknown function `nope`"));
    assert!(error_of("toString()").contains("expects 1 argument"));
    assert!(error_of("toString(1, 2)").contains("got 2"));
    assert!(error_of("select('a')").contains("expects 2 arguments"));
    assert!(error_of("value(1)").contains("not a function"));
    assert!(error_of("[[1].max][0]()").contains("method of an array"), "a detached method");
    assert!(error_of("value[0].max()").contains("not a method of an object"));
}

// ---------------------------------------------------------------- 5.4.5 && and ||

#[test]
fn and_or_return_an_operand_and_short_circuit() {
    assert_eq!(value_of("0 || 'x'"), Value::String("x".into()));
    assert_eq!(value_of("'a' || 'b'"), Value::String("a".into()));
    assert_eq!(value_of("'a' && 0"), Value::Number(0.0));
    assert_eq!(value_of("null && 1"), Value::Null);
    assert_eq!(value_of("[] && 5"), Value::Number(5.0));
    assert_eq!(value_of("'' || null"), Value::Null);
    // the second operand is not evaluated when the first decides
    assert_eq!(evaluate_source("false && nope()", &Bindings::empty()), Outcome::False);
    assert_eq!(evaluate_source("true || nope()", &Bindings::empty()), Outcome::True);
    assert!(matches!(evaluate_source("true && nope()", &Bindings::empty()), Outcome::Error(_)));
}

// ---------------------------------------------------------------- 5.4.6 comparisons

#[test]
fn comparisons_of_strings_go_by_utf16_code_units() {
    assert!(is_true("'abc' < 'abd'"));
    assert!(is_true("'ab' < 'abc'"));
    assert!(is_true("'B' < 'a'"));
    assert!(is_true("'10' < '9'"), "two strings compare as strings");
    assert!(is_true("'abc' == 'abc'"));
    assert!(!is_true("'abc' == 'ABC'"));
    // U+FF61 is above the high surrogate of U+1F600 in UTF-16, below it as a code point.
    assert!(is_true("'\\uD83D\\uDE00' < '\\uFF61'"));
    assert!(!is_true("'\\uFF61' < '\\uD83D\\uDE00'"));
}

#[test]
fn other_comparisons_go_through_to_number() {
    assert!(is_true("null == 0"));
    assert!(is_true("'10' == 10"));
    assert!(is_true("'abc' == 0"), "atof('abc') is 0");
    assert!(is_true("true == 1"));
    assert!(is_true("'2' < 10"));
    assert!(is_true("null < 1"));
    assert!(!is_true("[] == 0"), "arrays are NaN");
    assert!(!is_true("{} == {}"));
    assert!(!is_true("0/0 == 0/0"));
    assert!(is_true("0/0 != 0/0"));
    assert!(!is_true("0/0 < 1") && !is_true("1 < 0/0"));
    assert!(is_true("0 == -0"));
}

#[test]
fn greater_is_read_as_the_decisions_page_corrects_it() {
    assert!(!is_true("1 > 1"), "not 'the negation of 1 < 1'");
    assert!(!is_true("0/0 > 1"), "NaN compares false");
    assert!(is_true("2 > 1"));
    assert!(is_true("'b' > 'a'"));
    assert!(is_true("1 >= 1"));
    assert!(!is_true("0/0 >= 0/0"));
    assert!(is_true("1 <= 1"));
    assert!(is_true("'10' >= 10"));
}

// ---------------------------------------------------------------- 5.4.7 arithmetic

#[test]
fn addition_joins_strings_and_adds_numbers_only() {
    assert_eq!(string_of("'ab' + 'cd'"), "abcd");
    assert_eq!(number_of("2 + 3"), 5.0);
    assert!(number_of("'1' + 1").is_nan());
    assert!(number_of("1 + '1'").is_nan());
    assert!(number_of("1 + true").is_nan());
    assert!(number_of("null + 1").is_nan());
    assert!(number_of("[] + []").is_nan());
}

#[test]
fn other_arithmetic_takes_numbers_only() {
    assert_eq!(number_of("7 - 10"), -3.0);
    assert_eq!(number_of("6 * 7"), 42.0);
    assert_eq!(number_of("1 / 4"), 0.25);
    assert_eq!(number_of("1 / 0"), f64::INFINITY);
    assert_eq!(number_of("-1 / 0"), f64::NEG_INFINITY);
    assert!(number_of("0 / 0").is_nan());
    assert_eq!(number_of("7 % 3"), 1.0);
    assert_eq!(number_of("-5 % 3"), -2.0, "C's fmod keeps the sign of the dividend");
    assert_eq!(number_of("5 % -3"), 2.0);
    assert_eq!(number_of("5.5 % 2"), 1.5);
    assert!(number_of("5 % 0").is_nan());
    for op in ["-", "*", "/", "%"] {
        assert!(number_of(&format!("'6' {op} 2")).is_nan(), "{op}");
        assert!(number_of(&format!("6 {op} null")).is_nan(), "{op}");
    }
}

// ---------------------------------------------------------------- 5.4.8 identifiers

#[test]
fn the_four_identifiers_are_bound_from_a_result() {
    let result = json!({"value": [{"x": 1}], "updateTime": "2026-11-22T10:00:00Z", "authorityId": "agent-7", "signature": "sig"});
    assert_eq!(outcome_on("value[0].x == 1", result.clone()), Outcome::True);
    assert_eq!(outcome_on("updateTime == '2026-11-22T10:00:00Z'", result.clone()), Outcome::True);
    assert_eq!(outcome_on("authorityId == 'agent-7'", result.clone()), Outcome::True);
    assert_eq!(outcome_on("signature == 'sig'", result.clone()), Outcome::True);
    // the names the decisions page accepts on input
    let aliased = json!({"value": [], "dateTime": "2026-11-22T10:00:00Z", "authority": "agent-8"});
    assert_eq!(outcome_on("updateTime == '2026-11-22T10:00:00Z' && authorityId == 'agent-8'", aliased), Outcome::True);
    // missing fields are null
    assert_eq!(outcome_on("signature == null && authorityId == null", json!({"value": []})), Outcome::True);
    assert!(error_of("result[0]").contains("unknown identifier `result`"));
}

// ---------------------------------------------------------------- 5.4.9 outcomes

#[test]
fn outcomes_are_true_false_or_error() {
    let result = json!({"value": [{"level": 7}]});
    assert_eq!(outcome_on("value[0].level >= 7", result.clone()), Outcome::True);
    assert_eq!(outcome_on("value[0].level > 7", result.clone()), Outcome::False);
    assert_eq!(outcome_on("value[0].level", result.clone()), Outcome::True, "toBoolean of the value");
    assert_eq!(outcome_on("value[0].missing", result.clone()), Outcome::False);
    // errors: a field of null, with its column
    assert_eq!(error_on("value[3].level > 1", result.clone()), "at column 9: cannot read field `level` of null");
    assert!(error_on("value[0].missing.deeper", result.clone()).contains("column 17"));
    assert!(error_on("null[0]", result.clone()).contains("of null"));
    // a field of anything else that has none is null, not an error (decision)
    assert_eq!(outcome_on("value[0].level.x == null", result.clone()), Outcome::True);
    assert_eq!(outcome_on("'abc'.length == null", result.clone()), Outcome::True);
    assert_eq!(Outcome::Error("x".into()).to_string(), "error: x");
    assert_eq!(Outcome::True.status(), "true");
}

// ---------------------------------------------------------------- guard rails

#[test]
fn long_and_deep_conditions_are_refused() {
    let long = format!("1 == {}", "1".repeat(MAX_CONDITION_BYTES));
    assert!(syntax_error(&long).contains("the limit is 4096 bytes"));
    let fits = format!("{}1{}", "(".repeat(60), ")".repeat(60));
    assert!(Condition::compile(&fits).is_ok(), "60 levels are fine");
    let deep = format!("{}1{}", "(".repeat(65), ")".repeat(65));
    assert!(syntax_error(&deep).contains("nested deeper than 64"));
    assert!(syntax_error(&format!("{}1", "-".repeat(65))).contains("nested deeper than 64"));
    assert!(syntax_error(&format!("{}1{}", "[".repeat(65), "]".repeat(65))).contains("nested deeper than 64"));
    assert!(syntax_error(&format!("1{}", " + 1".repeat(70))).contains("nested deeper than 64"));
}

#[test]
fn pathological_inputs_fail_cleanly() {
    for source in [
        "(".repeat(10_000),
        "-".repeat(4000),
        "[".repeat(4000),
        "{a:".repeat(1000),
        "\"".repeat(4000),
        "\\u".repeat(2000),
        "a.".repeat(2000),
        "f(".repeat(2000),
        "\u{0}".repeat(100),
    ] {
        let _ = Condition::compile(&source); // must return, not crash
        assert!(matches!(evaluate_source(&source, &Bindings::empty()), Outcome::Error(_)), "{:?}", &source[..10]);
    }
}

#[test]
fn evaluation_cannot_allocate_without_bound() {
    // A 5 MB string added to itself: the sums exceed the budget within a few additions
    // (long before the time budget).
    let big = json!({"value": [{"s": "x".repeat(5_000_000)}]});
    let source = vec!["value[0].s"; 20].join(" + ");
    let message = error_on(&source, big);
    assert!(message.contains("MiB of memory"), "{message}");
}

// ---------------------------------------------------------------- the specification's examples

#[test]
fn examples_of_the_specification() {
    assert_eq!(outcome_on("value[0].percentage <= 99.0", json!({"value": [{"percentage": 98.5}]})), Outcome::True);
    assert_eq!(
        outcome_on(
            "(timeUTC(\"now\")-toTimeUTC(updateTime)<3600)",
            json!({"value": [], "updateTime": "2027-01-15T07:30:00Z"})
        ),
        Outcome::True
    );
    assert_eq!(
        outcome_on("value[0].tls_symmetric_key_length >= 128", json!({"value": [{"tls_symmetric_key_length": 256}]})),
        Outcome::True
    );
    let availability = json!({"value": [{"business_hours_uptime": 99.7, "other_hours_uptime": 97.0}]});
    assert_eq!(
        outcome_on("value[0].business_hours_uptime > 99.5 && value[0].other_hours_uptime > 98.0", availability),
        Outcome::False
    );
    assert_eq!(outcome_on("value[0].redundancy <= 2", json!({"value": [{"redundancy": 2}]})), Outcome::True);
}

#[test]
fn the_five_benchmark_conditions() {
    assert_eq!(outcome_on("value[0].level >= 7", json!({"value": [{"level": 7}]})), Outcome::True);
    let uptime = json!({"value": [{"business_hours_uptime": 99.9, "other_hours_uptime": 98.5}]});
    assert_eq!(
        outcome_on("value[0].business_hours_uptime > 99.5 && value[0].other_hours_uptime > 98.0", uptime),
        Outcome::True
    );
    let alerts: Vec<_> =
        (0..100).map(|i| json!({"level": i % 12, "rule": 1000 + i, "description": "alert text"})).collect();
    assert_eq!(outcome_on(r#"select("level", value).max() >= 10"#, json!({"value": alerts})), Outcome::True);
    let countries: Vec<_> = (0..50)
        .map(|i| {
            let c = ["AU", "BE", "CA"][i % 3];
            json!({"country": c})
        })
        .collect();
    let e4 = r#"matchRegexp("^(AU|BE|CA)$", select("country", value))"#;
    assert_eq!(outcome_on(e4, json!({"value": countries})), Outcome::True);
    assert_eq!(outcome_on(e4, json!({"value": [{"country": "AU"}, {"country": "UK"}]})), Outcome::False);
    assert!(is_true("0 + 1 * 2 * (3 - 4) / -5 + 6 == 6.4"));
}

// ---------------------------------------------------------------- property tests

/// Literal spellings of scalar values: numbers (NaN, ±0, ±∞ included), strings (numeric
/// ones too), booleans, null.
fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        (-1000i32..1000).prop_map(|n| format!("({n})")),
        (-1e6f64..1e6).prop_map(|x| format!("({x:e})")),
        Just("(0/0)".to_owned()),
        Just("(-0)".to_owned()),
        Just("(1/0)".to_owned()),
        Just("(-1/0)".to_owned()),
        "[a-c0-9. e-]{0,4}".prop_map(|s| format!("'{s}'")),
        Just("true".to_owned()),
        Just("false".to_owned()),
        Just("null".to_owned()),
    ]
}

proptest! {
    #[test]
    fn comparison_identities(a in scalar(), b in scalar()) {
        let holds = |s: String| is_true(&s);
        prop_assert_eq!(holds(format!("{a} <= {b}")), holds(format!("{a} < {b} || {a} == {b}")));
        prop_assert_eq!(holds(format!("{a} >= {b}")), holds(format!("{a} > {b} || {a} == {b}")));
        prop_assert_eq!(holds(format!("{a} > {b}")), holds(format!("{b} < {a}")));
        prop_assert_eq!(holds(format!("{a} != {b}")), !holds(format!("{a} == {b}")));
        prop_assert_eq!(holds(format!("{a} == {b}")), holds(format!("{b} == {a}")));
    }

    #[test]
    fn not_negates_to_boolean(x in scalar()) {
        prop_assert_eq!(is_true(&format!("toBoolean(!{x})")), !is_true(&format!("toBoolean({x})")));
        prop_assert_eq!(is_true(&x), is_true(&format!("toBoolean({x})")));
    }

    /// min and max exactly as 5.4.4 defines them, checked against a brute-force reading of
    /// the definition that uses the library's own `<=` and `>=` on each pair.
    #[test]
    fn min_and_max_match_the_definition(items in prop::collection::vec(scalar(), 0..6)) {
        let array = format!("[{}]", items.join(", "));
        let n = items.len();
        let qualifies = |i: usize, op: &str| (0..n).all(|j| j == i || is_true(&format!("{} {op} {}", items[i], items[j])));
        let expected_min = (0..n).find(|&i| qualifies(i, "<="));
        let expected_max = (0..n).rev().find(|&i| qualifies(i, ">="));
        let pick = |index: Option<usize>| index.map_or(Value::Null, |i| value_of(&items[i]));
        let same = |a: &Value, b: &Value| match (a, b) {
            (Value::Number(x), Value::Number(y)) => x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
            _ => a == b,
        };
        let min = value_of(&format!("{array}.min()"));
        let max = value_of(&format!("{array}.max()"));
        prop_assert!(same(&min, &pick(expected_min)), "min of {} is {:?}", array, min);
        prop_assert!(same(&max, &pick(expected_max)), "max of {} is {:?}", array, max);
    }

    /// toString of a number is exactly C's `%e`, checked against glibc.
    #[test]
    fn to_string_is_c_percent_e(bits in any::<u64>()) {
        let x = f64::from_bits(bits);
        prop_assume!(x.is_finite());
        let expected = c_format_e(x);
        let source = format!("toString({})", literal(x));
        prop_assert_eq!(string_of(&source), expected);
    }

    /// toNumber of a string is exactly C's `atof`, checked against glibc's strtod.
    #[test]
    fn to_number_is_c_atof(text in "[ \t]{0,2}[-+]?(0[xX])?[0-9a-fA-F.]{0,12}([eEpP][-+]?[0-9]{0,3})?[a-z ]{0,2}|[-+]?(inf|INF|infinity|nan|NaN)[a-z]{0,3}") {
        let expected = c_strtod(&text);
        let actual = number_of(&format!("toNumber('{text}')"));
        prop_assert!(actual.to_bits() == expected.to_bits() || (actual.is_nan() && expected.is_nan()),
            "toNumber({:?}) = {} but strtod gives {}", text, actual, expected);
    }
}

/// A CTPScript expression for exactly `x` (negative numbers through unary minus).
fn literal(x: f64) -> String {
    let text = format!("{:e}", x.abs());
    if x.is_sign_negative() {
        format!("-{text}")
    } else {
        text
    }
}

fn c_format_e(x: f64) -> String {
    let mut buffer = [0u8; 64];
    let format = c"%e";
    // SAFETY: the buffer is large enough for any %e of a double and is NUL-terminated by snprintf.
    let n = unsafe { libc::snprintf(buffer.as_mut_ptr().cast(), buffer.len(), format.as_ptr(), x) };
    String::from_utf8(buffer[..n as usize].to_vec()).unwrap()
}

fn c_strtod(text: &str) -> f64 {
    let c_text = std::ffi::CString::new(text).unwrap();
    // SAFETY: a valid NUL-terminated string; the end pointer may be null.
    unsafe { libc::strtod(c_text.as_ptr(), std::ptr::null_mut()) }
}

#[test]
fn percent_e_rounding_matches_glibc_on_exact_ties() {
    // 1234567.5 and 1234568.5 are exact ties at six decimals of %e; C rounds half to even.
    for x in [1234567.5, 1234568.5, 0.5, 2.5, 1e-320, 5e-324, 1.7976931348623157e308, 123456.75] {
        assert_eq!(string_of(&format!("toString({})", literal(x))), c_format_e(x), "{x}");
    }
}

// ---------------------------------------------------------------- guard rails: time

/// A condition that matches large patterns against a large string many times stops at its time
/// budget with an `error` that says so, instead of holding a core for seconds; patterns
/// built at evaluation time are compiled once (cached), and without a complete DFA.
#[test]
fn an_evaluation_stops_at_its_time_budget() {
    let term = "matchRegexp(value[0].p, value[0].s)";
    let source = vec![term; 32].join(" || ");
    let condition = Condition::compile(&source).unwrap();
    let result = json!({"value": [{"p": "(a|b){1,255}(a|b){1,255}[^ab]", "s": "ab".repeat(200_000)}]});
    let started = std::time::Instant::now();
    let outcome = condition.evaluate(&Bindings::from_result(&result));
    let took = started.elapsed();
    match outcome {
        Outcome::Error(message) => assert!(message.contains("time budget of 100 ms"), "{message}"),
        other => panic!("{other:?} after {took:?}"),
    }
    // The budget plus at most one match (a few of them in a debug build on a busy machine).
    assert!(took < ctpscript::EVALUATION_TIME_BUDGET * 30, "took {took:?}");
    // A cheap condition is far from the budget.
    let cheap = Condition::compile("matchRegexp(value[0].p, \"xab0\")").unwrap();
    assert_eq!(cheap.evaluate(&Bindings::from_result(&result)), Outcome::True);
}

/// The compiled size counts the program and its compiled regular expressions.
#[test]
fn compiled_size_counts_regular_expressions() {
    let small = Condition::compile("value[0].level < 10").unwrap().compiled_size();
    let regex = Condition::compile("matchRegexp(\"^(ssh|sshd)[0-9]{1,3}$\", value[0].rule)").unwrap().compiled_size();
    assert!(small < 1024, "{small}");
    assert!(regex > small + 1024, "{regex} vs {small}");
    let large =
        Condition::compile("matchRegexp(\"[a-z]{1,40}[0-9]{1,40}x{3,200}\", value[0].rule)").unwrap().compiled_size();
    assert!(large > 20_000, "counted repetitions are counted: {large}");
}
