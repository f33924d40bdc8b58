//! The compiled form of a condition: a tree whose names are resolved, whose constant regular
//! expressions are compiled and whose constant arithmetic is folded. The evaluator walks it;
//! nothing is parsed again.

use std::sync::Arc;

use crate::builtins::{Function, FunctionRef};

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

impl BinaryOp {
    /// Whether the operator is one of `<`, `<=`, `>`, `>=`, `==`, `!=`.
    pub fn is_comparison(self) -> bool {
        matches!(self, BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge | BinaryOp::Eq | BinaryOp::Ne)
    }
}

/// A regular expression compiled with the condition, or the reason it is not a POSIX ERE,
/// raised as an exception each time the call is evaluated.
pub(crate) type CompiledRegex = Result<Arc<crate::posix::Matcher>, String>;

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
    /// `value[0].level`: an identifier followed by constant field names and indexes, walked
    /// directly on the measurement result.
    Path {
        root: Identifier,
        steps: Vec<PathStep>,
    },
    /// `object.name`, a method before its call
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
    /// `lhs op constant` for a comparison operator and a number literal.
    CompareWithNumber {
        op: BinaryOp,
        lhs: Box<Node>,
        constant: f64,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Node>,
        rhs: Box<Node>,
    },
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
}

/// One `.name` or `[constant]` of a [`NodeKind::Path`], and where it is written.
#[derive(Debug, Clone)]
pub(crate) struct PathStep {
    pub key: PathKey,
    pub offset: u32,
}

#[derive(Debug, Clone)]
pub(crate) enum PathKey {
    Name(Box<str>),
    /// An index that is an integral number (5.4.3) and not negative.
    Element(usize),
    /// Any other number: no element, but still a step that fails on null.
    Number(f64),
}

impl PathKey {
    /// The key for a number literal used as an index.
    pub fn from_number(n: f64) -> PathKey {
        if n.fract() == 0.0 && (0.0..=2_147_483_647.0).contains(&n) {
            PathKey::Element(n as usize)
        } else {
            PathKey::Number(n)
        }
    }

    /// The key as a CTPScript value, for the general rules of `getField`.
    pub fn to_prop(&self) -> crate::value::Val<'_> {
        match self {
            PathKey::Name(name) => crate::value::Val::Str(name),
            PathKey::Element(i) => crate::value::Val::Number(*i as f64),
            PathKey::Number(n) => crate::value::Val::Number(*n),
        }
    }
}

impl Node {
    /// An estimate of the memory the node and its children hold, in bytes: the nodes, their
    /// texts, and the compiled regular expressions (a complete DFA's own size, or for the
    /// lazy engines 64 bytes per byte of pattern, a rough bound of their programs).
    pub(crate) fn compiled_size(&self) -> usize {
        let children = |nodes: &[Node]| nodes.iter().map(Node::compiled_size).sum::<usize>();
        std::mem::size_of::<Node>()
            + match &self.kind {
                NodeKind::Null
                | NodeKind::Bool(_)
                | NodeKind::Number(_)
                | NodeKind::Identifier(_)
                | NodeKind::Function(_) => 0,
                NodeKind::String(text) | NodeKind::UnknownName(text) => text.len(),
                NodeKind::Array(elements) => children(elements),
                NodeKind::Object(members) => members.iter().map(|(k, v)| k.len() + v.compiled_size()).sum(),
                NodeKind::Path { steps, .. } => steps.len() * std::mem::size_of::<PathStep>(),
                NodeKind::Field { object, name } => object.compiled_size() + name.len(),
                NodeKind::Index { object, index } => object.compiled_size() + index.compiled_size(),
                NodeKind::Call { callee, args } => callee.compiled_size() + children(args),
                NodeKind::MatchRegexp { regex, subject } => {
                    regex.as_ref().map_or(0, |m| m.memory_usage()) + subject.compiled_size()
                }
                NodeKind::Not(operand) | NodeKind::Negate(operand) => operand.compiled_size(),
                NodeKind::CompareWithNumber { lhs, .. } => lhs.compiled_size(),
                NodeKind::Binary { lhs, rhs, .. } | NodeKind::And(lhs, rhs) | NodeKind::Or(lhs, rhs) => {
                    lhs.compiled_size() + rhs.compiled_size()
                }
            }
    }
}

impl NodeKind {
    /// Whether the node is a literal null, boolean, number or string.
    pub fn is_constant(&self) -> bool {
        matches!(self, NodeKind::Null | NodeKind::Bool(_) | NodeKind::Number(_) | NodeKind::String(_))
    }
}

impl Node {
    /// See `Condition::reads_clock`: a `timeUTC` call whose argument is not a constant string
    /// other than `"now"`, or `timeUTC` named as a value, anywhere in the tree.
    pub fn reads_clock(&self) -> bool {
        let is_time = |node: &Node| matches!(&node.kind, NodeKind::Function(f) if f.function == Function::TimeUtc);
        match &self.kind {
            NodeKind::Call { callee, args } if is_time(callee) => match args.as_slice() {
                [Node { kind: NodeKind::String(text), .. }] => &**text == "now",
                _ => true,
            },
            NodeKind::Function(f) => f.function == Function::TimeUtc,
            NodeKind::Null
            | NodeKind::Bool(_)
            | NodeKind::Number(_)
            | NodeKind::String(_)
            | NodeKind::Identifier(_)
            | NodeKind::UnknownName(_)
            | NodeKind::Path { .. } => false,
            NodeKind::Array(items) => items.iter().any(Node::reads_clock),
            NodeKind::Object(members) => members.iter().any(|(_, node)| node.reads_clock()),
            NodeKind::Field { object, .. } => object.reads_clock(),
            NodeKind::Index { object, index } => object.reads_clock() || index.reads_clock(),
            NodeKind::Call { callee, args } => callee.reads_clock() || args.iter().any(Node::reads_clock),
            NodeKind::MatchRegexp { subject, .. } => subject.reads_clock(),
            NodeKind::Not(operand) | NodeKind::Negate(operand) => operand.reads_clock(),
            NodeKind::CompareWithNumber { lhs, .. } => lhs.reads_clock(),
            NodeKind::Binary { lhs, rhs, .. } | NodeKind::And(lhs, rhs) | NodeKind::Or(lhs, rhs) => {
                lhs.reads_clock() || rhs.reads_clock()
            }
        }
    }
}
