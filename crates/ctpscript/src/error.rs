//! Errors of CTPScript: a condition that cannot be compiled ([`SyntaxError`]) and a
//! condition whose evaluation failed ([`EvalError`], the `error` outcome of 5.4.9).

use std::fmt;

/// Where something happened in a condition, as a person counts: lines and columns from 1,
/// columns in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Line number, from 1.
    pub line: u32,
    /// Column number in characters, from 1.
    pub column: u32,
}

impl Position {
    /// The position of byte `offset` of `source`.
    pub fn of_offset(source: &str, offset: usize) -> Position {
        let before = &source[..floor_char_boundary(source, offset)];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Position {
            line: 1 + before.matches('\n').count() as u32,
            column: 1 + before[line_start..].chars().count() as u32,
        }
    }

    fn describe(&self, multi_line: bool) -> String {
        if multi_line {
            format!("line {}, column {}", self.line, self.column)
        } else {
            format!("column {}", self.column)
        }
    }
}

fn floor_char_boundary(s: &str, mut offset: usize) -> usize {
    offset = offset.min(s.len());
    while !s.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// A condition that is not CTPScript: malformed, too long or nested too deeply.
///
/// Its `Display` says what is wrong and where, for example
/// `syntax error at column 9: expected an expression, found the end of the condition`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where the problem was found.
    pub position: Position,
    /// What is wrong, without the position.
    pub message: String,
    multi_line: bool,
}

impl SyntaxError {
    pub(crate) fn new(source: &str, offset: usize, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            position: Position::of_offset(source, offset),
            message: message.into(),
            multi_line: source.contains('\n'),
        }
    }
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "syntax error at {}: {}", self.position.describe(self.multi_line), self.message)
    }
}

impl std::error::Error for SyntaxError {}

/// Why evaluating a condition gave `error` (5.4.9): an unknown function or identifier, a
/// field read from `null`, or an exception raised by a function.
///
/// Its `Display` says where, for example
/// `at column 1: select: the second argument must be an array, got number`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError {
    /// Where the failing part of the condition starts.
    pub position: Position,
    /// What failed, without the position.
    pub message: String,
    multi_line: bool,
}

impl EvalError {
    pub(crate) fn new(source: &str, raw: RawEvalError) -> EvalError {
        EvalError {
            position: Position::of_offset(source, raw.offset() as usize),
            message: raw.into_message(),
            multi_line: source.contains('\n'),
        }
    }
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at {}: {}", self.position.describe(self.multi_line), self.message)
    }
}

impl std::error::Error for EvalError {}

/// An evaluation error before it is placed in the source: the evaluator only knows byte
/// offsets, and turns them into lines and columns once, when the error leaves the crate.
/// Boxed, so that the evaluator's `Result`s stay as small as a value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawEvalError(Box<(u32, String)>);

impl RawEvalError {
    pub(crate) fn new(offset: u32, message: impl Into<String>) -> RawEvalError {
        RawEvalError(Box::new((offset, message.into())))
    }

    pub(crate) fn offset(&self) -> u32 {
        self.0 .0
    }

    pub(crate) fn into_message(self) -> String {
        self.0 .1
    }
}
