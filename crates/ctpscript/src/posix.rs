//! POSIX Extended Regular Expressions (IEEE Std 1003.1, 9.4) for `matchRegexp`, checked
//! against the POSIX grammar and translated to the `regex` crate, which matches in linear
//! time. `matchRegexp` only asks whether a match exists, so POSIX's leftmost-longest rule and
//! `regex`'s leftmost-first rule give the same answer.
//!
//! Constructs that POSIX leaves undefined are rejected rather than guessed: `\d`, `\w` and
//! other escapes of ordinary letters and digits, a repetition with nothing to repeat, a
//! malformed interval. Bracket expressions follow POSIX: a backslash inside `[...]` is an
//! ordinary character, `]` first is literal, and `[:alpha:]`-style classes are those of the
//! POSIX locale (ASCII).

use std::fmt::Write;

use regex_automata::dfa::{dense, Automaton, StartKind};
use regex_automata::nfa::thompson;
use regex_automata::util::primitives::StateID;
use regex_automata::util::start;
use regex_automata::Anchored;

/// Largest repetition count of an interval `{m,n}` (POSIX's `RE_DUP_MAX`).
const RE_DUP_MAX: u32 = 255;

/// Compiled programs larger than this are refused, so that a pattern taken from a
/// measurement result cannot make the server allocate without bound.
const COMPILED_SIZE_LIMIT: usize = 1 << 20;

/// Fully built DFAs larger than this are not kept; the pattern is then matched by the
/// `regex` crate's lazy engines alone.
const DFA_SIZE_LIMIT: usize = 256 << 10;

/// A compiled POSIX ERE that answers one question: does a string contain a match?
///
/// Small patterns, which are the common case in objectives and triggers, are also compiled
/// into a complete DFA ahead of time, so that matching a short cell costs a few
/// instructions per byte instead of the lazy engines' per-search set-up.
#[derive(Debug)]
pub(crate) struct Matcher {
    dfa: Option<Dfa>,
    regex: regex::Regex,
    /// An estimate of the memory of the lazy engines' program: the Thompson NFA's size
    /// for patterns compiled with a condition, else 64 bytes per byte of pattern.
    program_bytes: usize,
}

/// A complete DFA and its start state for an unanchored search from the beginning of a
/// string, which is the same for every search and so is computed once.
#[derive(Debug)]
struct Dfa {
    automaton: dense::DFA<Vec<u32>>,
    start: StateID,
}

impl Dfa {
    fn build(translated: &str) -> Option<Dfa> {
        let automaton = dense::Builder::new()
            .configure(
                dense::Config::new()
                    .dfa_size_limit(Some(DFA_SIZE_LIMIT))
                    .determinize_size_limit(Some(DFA_SIZE_LIMIT))
                    .start_kind(StartKind::Unanchored),
            )
            .thompson(thompson::Config::new().nfa_size_limit(Some(COMPILED_SIZE_LIMIT)))
            .build(translated)
            .ok()?;
        let start = automaton.start_state(&start::Config::new().anchored(Anchored::No)).ok()?;
        Some(Dfa { automaton, start })
    }

    /// Whether `haystack` contains a match, or `None` if the DFA gave up (a quit state).
    fn is_match(&self, haystack: &[u8]) -> Option<bool> {
        let dfa = &self.automaton;
        let mut state = self.start;
        for &byte in haystack {
            state = dfa.next_state(state, byte);
            if dfa.is_special_state(state) {
                if dfa.is_match_state(state) {
                    return Some(true);
                } else if dfa.is_dead_state(state) {
                    return Some(false);
                } else if dfa.is_quit_state(state) {
                    return None;
                }
            }
        }
        // Matches are reported one byte late; the end of the input is that last byte.
        Some(dfa.is_match_state(dfa.next_eoi_state(state)))
    }
}

impl Matcher {
    /// An estimate of the memory the compiled pattern holds: its complete DFA's size and its
    /// program's.
    pub fn memory_usage(&self) -> usize {
        self.dfa.as_ref().map_or(0, |dfa| dfa.automaton.memory_usage()) + self.program_bytes
    }

    /// Whether `haystack` contains a match anywhere (an unanchored search).
    pub fn is_match(&self, haystack: &str) -> bool {
        if let Some(found) = self.dfa.as_ref().and_then(|dfa| dfa.is_match(haystack.as_bytes())) {
            return found;
        }
        self.regex.is_match(haystack)
    }
}

/// Compiles a POSIX ERE, or explains why `pattern` is not one.
pub(crate) fn compile(pattern: &str) -> Result<Matcher, String> {
    let mut matcher = compile_lazy(pattern)?;
    let translated = translate(pattern).expect("translated once already");
    matcher.dfa = Dfa::build(&translated);
    if let Ok(nfa) = thompson::Compiler::new()
        .configure(thompson::Config::new().nfa_size_limit(Some(COMPILED_SIZE_LIMIT)))
        .build(&translated)
    {
        matcher.program_bytes = nfa.memory_usage();
    }
    Ok(matcher)
}

/// How many patterns built at evaluation time are kept compiled (the cache is emptied when
/// full): a condition such as `matchRegexp(value[0].rule, ...)` meets the same few patterns
/// push after push.
const DYNAMIC_CACHE_CAPACITY: usize = 1024;

/// Patterns built at evaluation time, compiled once, shared by every evaluation.
static DYNAMIC: std::sync::OnceLock<
    std::sync::Mutex<std::collections::HashMap<String, crate::program::CompiledRegex>>,
> = std::sync::OnceLock::new();

/// A pattern built at evaluation time: from the cache, or compiled for the lazy engines
/// only (building a complete DFA ahead of time would cost more than it saves) and cached,
/// errors included.
pub(crate) fn compile_dynamic(pattern: &str) -> crate::program::CompiledRegex {
    let cache = DYNAMIC.get_or_init(Default::default);
    if let Some(found) = cache.lock().expect("regex cache lock").get(pattern) {
        return found.clone();
    }
    let compiled = compile_lazy(pattern).map(std::sync::Arc::new);
    let mut cache = cache.lock().expect("regex cache lock");
    if cache.len() >= DYNAMIC_CACHE_CAPACITY {
        cache.clear();
    }
    cache.insert(pattern.to_owned(), compiled.clone());
    compiled
}

/// Compiles a POSIX ERE for the lazy engines only.
fn compile_lazy(pattern: &str) -> Result<Matcher, String> {
    let translated = translate(pattern)
        .map_err(|reason| format!("{pattern:?} is not a valid POSIX extended regular expression: {reason}"))?;
    let regex = regex::RegexBuilder::new(&translated)
        .size_limit(COMPILED_SIZE_LIMIT)
        .dfa_size_limit(COMPILED_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => format!("the regular expression {pattern:?} is too large"),
            other => format!("{pattern:?} is not a valid POSIX extended regular expression: {other}"),
        })?;
    Ok(Matcher { dfa: None, regex, program_bytes: 64 * translated.len() })
}

/// Translates a POSIX ERE into the syntax of the `regex` crate.
fn translate(pattern: &str) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    // `.` matches every character, newlines included, as regexec() without REG_NEWLINE.
    let mut out = String::from("(?s)");
    let mut i = 0;
    // Where the last atom (with its repetitions so far) starts in `out`, if one can be repeated.
    let mut last_atom: Option<usize> = None;
    let mut last_was_repetition = false;
    let mut open_groups: Vec<usize> = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        let atom_start = out.len();
        match c {
            '\\' => {
                let Some(&next) = chars.get(i + 1) else {
                    return Err("it ends with a lone backslash".to_owned());
                };
                if next.is_ascii_alphanumeric() {
                    return Err(undefined_escape(next));
                }
                push_literal(&mut out, next);
                i += 2;
                last_atom = Some(atom_start);
                last_was_repetition = false;
                continue;
            }
            '[' => {
                i = bracket_expression(&chars, i, &mut out)?;
                last_atom = Some(atom_start);
                last_was_repetition = false;
                continue;
            }
            '(' => {
                open_groups.push(atom_start);
                out.push_str("(?:");
                last_atom = None;
            }
            ')' if !open_groups.is_empty() => {
                out.push(')');
                last_atom = open_groups.pop();
                last_was_repetition = false;
                i += 1;
                continue;
            }
            '|' => {
                out.push('|');
                last_atom = None;
            }
            '^' | '$' => {
                out.push(c);
                last_atom = None;
            }
            '.' => {
                out.push('.');
                last_atom = Some(atom_start);
                last_was_repetition = false;
                i += 1;
                continue;
            }
            '*' | '+' | '?' | '{' => {
                let Some(start) = last_atom else {
                    return Err(format!("`{c}` at offset {i} has nothing to repeat"));
                };
                let (operator, next) = if c == '{' { interval(&chars, i)? } else { (c.to_string(), i + 1) };
                if last_was_repetition {
                    // `a*+` is a repetition of `a*`: group it, or `regex` reads a lazy or
                    // invalid operator.
                    out.insert_str(start, "(?:");
                    out.push(')');
                }
                out.push_str(&operator);
                last_was_repetition = true;
                i = next;
                continue;
            }
            other => {
                // `)` without `(`, `]`, `}` and every other character stand for themselves.
                push_literal(&mut out, other);
                last_atom = Some(atom_start);
                last_was_repetition = false;
                i += 1;
                continue;
            }
        }
        last_was_repetition = false;
        i += 1;
    }
    if !open_groups.is_empty() {
        return Err("a `(` is not closed".to_owned());
    }
    Ok(out)
}

fn undefined_escape(c: char) -> String {
    let hint = match c {
        'd' => "; write [[:digit:]] or [0-9]",
        'w' => "; write [[:alnum:]_]",
        's' => "; write [[:space:]]",
        'D' | 'W' | 'S' => "; write a negated bracket expression such as [^[:digit:]]",
        '1'..='9' => "; back-references are not part of extended regular expressions",
        _ => "",
    };
    format!("`\\{c}` is undefined in POSIX extended regular expressions{hint}")
}

fn push_literal(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() || c == ' ' || !c.is_ascii() {
        out.push(c);
    } else {
        let _ = write!(out, "\\x{{{:x}}}", c as u32);
    }
}

/// `{m}`, `{m,}` or `{m,n}` starting at `chars[i] == '{'`: the operator for `regex` and the
/// index after the closing brace.
fn interval(chars: &[char], i: usize) -> Result<(String, usize), String> {
    let malformed = || {
        format!("the interval starting at offset {i} is malformed (write {{m}}, {{m,}} or {{m,n}}, or \\{{ for a literal brace)")
    };
    let mut j = i + 1;
    let read_count = |j: &mut usize| -> Option<u32> {
        let start = *j;
        while chars.get(*j).is_some_and(char::is_ascii_digit) {
            *j += 1;
        }
        if *j == start || *j - start > 3 {
            return None;
        }
        chars[start..*j].iter().collect::<String>().parse().ok()
    };
    let min = read_count(&mut j).ok_or_else(malformed)?;
    let max = if chars.get(j) == Some(&',') {
        j += 1;
        if chars.get(j) == Some(&'}') {
            None
        } else {
            Some(read_count(&mut j).ok_or_else(malformed)?)
        }
    } else {
        Some(min)
    };
    if chars.get(j) != Some(&'}') {
        return Err(malformed());
    }
    if min > RE_DUP_MAX || max.is_some_and(|m| m > RE_DUP_MAX) {
        return Err(format!("repetition counts above {RE_DUP_MAX} are not allowed"));
    }
    if max.is_some_and(|m| m < min) {
        return Err(format!("the interval at offset {i} has its bounds reversed"));
    }
    let operator = match max {
        None => format!("{{{min},}}"),
        Some(m) if m == min => format!("{{{min}}}"),
        Some(m) => format!("{{{min},{m}}}"),
    };
    Ok((operator, j + 1))
}

/// The POSIX character classes, all of which the `regex` crate knows under the same name.
const CLASSES: &[&str] =
    &["alnum", "alpha", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space", "upper", "xdigit"];

/// A bracket expression starting at `chars[start] == '['`; returns the index after its `]`.
fn bracket_expression(chars: &[char], start: usize, out: &mut String) -> Result<usize, String> {
    let unterminated = || format!("the bracket expression starting at offset {start} is not closed by `]`");
    let mut i = start + 1;
    out.push('[');
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    let mut first = true;
    loop {
        let Some(&c) = chars.get(i) else { return Err(unterminated()) };
        if c == ']' && !first {
            out.push(']');
            return Ok(i + 1);
        }
        first = false;
        // A character class [:name:]
        if c == '[' && chars.get(i + 1) == Some(&':') {
            let (name, next) = delimited(chars, i + 2, ':').ok_or_else(unterminated)?;
            if !CLASSES.contains(&name.as_str()) {
                return Err(format!("[:{name}:] is not a POSIX character class"));
            }
            let _ = write!(out, "[:{name}:]");
            i = next;
            continue;
        }
        let (low, next) = bracket_character(chars, i)?;
        i = next;
        // A range low-high, unless the `-` is the last character before `]`.
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|&c| c != ']') {
            let (high, next) = bracket_character(chars, i + 1)?;
            if high < low {
                return Err(format!("the range {low}-{high} in a bracket expression is reversed"));
            }
            push_class_char(out, low);
            out.push('-');
            push_class_char(out, high);
            i = next;
        } else {
            push_class_char(out, low);
        }
    }
}

/// One character of a bracket expression: itself, or `[.c.]` / `[=c=]` naming it.
fn bracket_character(chars: &[char], i: usize) -> Result<(char, usize), String> {
    let c = chars[i];
    if c == '[' && matches!(chars.get(i + 1), Some('.' | '=')) {
        let delimiter = chars[i + 1];
        let (name, next) = delimited(chars, i + 2, delimiter)
            .ok_or_else(|| format!("`[{delimiter}` at offset {i} is not closed by `{delimiter}]`"))?;
        let mut name_chars = name.chars();
        return match (name_chars.next(), name_chars.next()) {
            (Some(single), None) => Ok((single, next)),
            _ => Err(format!("[{delimiter}{name}{delimiter}] names no single character")),
        };
    }
    Ok((c, i + 1))
}

/// The text from `i` up to `delimiter` followed by `]`, and the index after that `]`.
fn delimited(chars: &[char], i: usize, delimiter: char) -> Option<(String, usize)> {
    let mut j = i;
    while j + 1 < chars.len() {
        if chars[j] == delimiter && chars[j + 1] == ']' {
            return Some((chars[i..j].iter().collect(), j + 2));
        }
        j += 1;
    }
    None
}

fn push_class_char(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() || !c.is_ascii() {
        out.push(c);
    } else {
        let _ = write!(out, "\\x{{{:x}}}", c as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, subject: &str) -> bool {
        compile(pattern).unwrap_or_else(|e| panic!("{e}")).is_match(subject)
    }

    #[test]
    fn ere_basics() {
        assert!(matches("^(AU|BE|CA)$", "BE"));
        assert!(!matches("^(AU|BE|CA)$", "BEL"));
        assert!(matches("UK", "the UK office"));
        assert!(matches("a.c", "a\nc"));
        assert!(matches("^a{2,3}$", "aaa"));
        assert!(!matches("^a{2,3}$", "aaaa"));
        assert!(matches("^a{2,}$", "aaaaa"));
        assert!(matches("x**", "y"));
        assert!(matches("^(ab)+$", "abab"));
        assert!(matches("a)b", "a)b"));
        assert!(matches("a}b", "a}b"));
        assert!(matches("^\\.\\*$", ".*"));
    }

    #[test]
    fn bracket_expressions() {
        assert!(matches("^[]a]+$", "]a]"));
        assert!(matches("^[^]a]$", "b"));
        assert!(!matches("^[^]a]$", "]"));
        assert!(matches("^[\\d]+$", "\\d\\"), "a backslash is literal inside brackets");
        assert!(matches("^[[:digit:]]+$", "0123"));
        assert!(!matches("^[[:alpha:]]$", "é"), "classes are those of the POSIX locale");
        assert!(matches("^[a-c-]+$", "a-b-c"));
        assert!(matches("^[[.-.]]$", "-"));
        assert!(matches("^[[=e=]]$", "e"));
        assert!(matches("^[.]$", "."));
        assert!(!matches("^[.]$", "x"));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for bad in [
            "*a",
            "a|*b",
            "(*a)",
            "a{",
            "a{x}",
            "a{3,2}",
            "a{256}",
            "[abc",
            "[[:word:]]",
            "[z-a]",
            "\\d",
            "(a",
            "a\\",
            "^*",
        ] {
            assert!(compile(bad).is_err(), "{bad} should be refused");
        }
        assert!(compile("\\d").unwrap_err().contains("[[:digit:]]"));
    }
}
