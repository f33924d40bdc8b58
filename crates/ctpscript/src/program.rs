//! The compiled form of a condition: a tree whose names are resolved, whose constant regular
//! expressions are compiled and whose constant arithmetic is folded. The evaluator walks it;
//! nothing is parsed again.

use std::sync::Arc;

use crate::builtins::FunctionRef;

/// A node of the compiled tree and the byte offset of the source text it came from, which
/// an evaluation error reports.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub kind: NodeKind,
    pub offset: u32,
}

/// The four identifiers of 5.4.8, bound from a measurement result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Identifier {
    Value,
    UpdateTime,
    AuthorityId,
    Signature,
}

impl Identifier {
    pub fn lookup(name: &str) -> Option<Identifier> {
        match name {
            "value" => Some(Identifier::Value),
            "updateTime" => Some(Identifier::UpdateTime),
            "authorityId" => Some(Identifier::AuthorityId),
            "signature" => Some(Identifier::Signature),
            _ => None,
        }
    }
}

/// Binary operators other than `&&` and `||`, which evaluate lazily.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

/// A regular expression compiled with the condition, or the reason it is not a POSIX ERE,
/// raised as an exception each time the call is evaluated.
pub(crate) type CompiledRegex = Result<Arc<regex::Regex>, String>;

#[derive(Debug, Clone)]
pub(crate) enum NodeKind {
    Null,
    Bool(bool),
    Number(f64),
    String(Box<str>),
    Identifier(Identifier),
    /// A built-in function named without calling it, such as `toString` in `toString(toString)`.
    Function(FunctionRef),
    /// A name that is neither an identifier nor a function: an error when evaluated.
    UnknownName(Box<str>),
    Array(Vec<Node>),
    Object(Vec<(Box<str>, Node)>),
    /// `object.name`
    Field {
        object: Box<Node>,
        name: Box<str>,
    },
    /// `object[index]`
    Index {
        object: Box<Node>,
        index: Box<Node>,
    },
    /// `callee(args)`; a `Field` callee is a method call.
    Call {
        callee: Box<Node>,
        args: Vec<Node>,
    },
    /// `matchRegexp("literal", subject)`, with the pattern compiled once.
    MatchRegexp {
        regex: CompiledRegex,
        subject: Box<Node>,
    },
    Not(Box<Node>),
    Negate(Box<Node>),
    Binary {
        op: BinaryOp,
        lhs: Box<Node>,
        rhs: Box<Node>,
    },
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
}
