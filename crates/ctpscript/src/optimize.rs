//! Compile-time rewrites of the tree, each of which keeps the meaning of the condition:
//!
//! - Constant folding: an operator or pure function whose operands are all literals is
//!   evaluated once, by the evaluator itself, so folding cannot change what a condition
//!   means. A constant part that fails (`toNumber(1, 2)`) is left as it is, so its error is
//!   raised only if evaluation reaches it, as 5.4.5's short-circuits require.
//! - A comparison with a number literal (`value[0].level >= 7`, the most common shape of an
//!   objective) becomes a node that compares numbers directly.

use crate::builtins::Function;
use crate::eval::{eval, Env};
use crate::program::{Node, NodeKind};
use crate::value::{to_boolean, Val};
use crate::Bindings;

/// `node`, rewritten: folded when constant, specialized when it has a cheaper form.
pub(crate) fn optimize(node: Node) -> Node {
    match node.kind {
        // `a || b` is `a` when `a` is truthy, else `b`; `a && b` the reverse (5.4.5).
        NodeKind::And(lhs, rhs) if lhs.kind.is_constant() => {
            if to_boolean(&constant_value(&lhs)) {
                *rhs
            } else {
                *lhs
            }
        }
        NodeKind::Or(lhs, rhs) if lhs.kind.is_constant() => {
            if to_boolean(&constant_value(&lhs)) {
                *lhs
            } else {
                *rhs
            }
        }
        _ if operands_are_constant(&node.kind) => {
            let bindings = Bindings::empty();
            let constant = match eval(&node, &Env::new(&bindings)) {
                Ok(Val::Null) => NodeKind::Null,
                Ok(Val::Bool(b)) => NodeKind::Bool(b),
                Ok(Val::Number(n)) => NodeKind::Number(n),
                Ok(Val::Str(s)) => NodeKind::String(s.into()),
                Ok(Val::OwnedStr(s)) => NodeKind::String(s.as_ref().into()),
                _ => return node,
            };
            Node { kind: constant, offset: node.offset }
        }
        NodeKind::Binary { op, lhs, rhs } if op.is_comparison() && matches!(rhs.kind, NodeKind::Number(_)) => {
            let NodeKind::Number(constant) = rhs.kind else { unreachable!("checked by the guard") };
            Node { kind: NodeKind::CompareWithNumber { op, lhs, constant }, offset: node.offset }
        }
        _ => node,
    }
}

/// Whether `kind` is an operator, or a call of a function without side effects or clock,
/// applied to literals only.
fn operands_are_constant(kind: &NodeKind) -> bool {
    match kind {
        NodeKind::Not(operand) | NodeKind::Negate(operand) => operand.kind.is_constant(),
        NodeKind::Binary { lhs, rhs, .. } => lhs.kind.is_constant() && rhs.kind.is_constant(),
        NodeKind::Call { callee, args } => {
            let pure = matches!(
                &callee.kind,
                NodeKind::Function(f) if matches!(f.function, Function::ToString | Function::ToBoolean | Function::ToNumber)
            );
            pure && args.iter().all(|a| a.kind.is_constant())
        }
        _ => false,
    }
}

/// The value of a literal node.
fn constant_value(node: &Node) -> Val<'_> {
    match &node.kind {
        NodeKind::Bool(b) => Val::Bool(*b),
        NodeKind::Number(n) => Val::Number(*n),
        NodeKind::String(s) => Val::Str(s),
        _ => Val::Null,
    }
}
