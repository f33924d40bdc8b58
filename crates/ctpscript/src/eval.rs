//! Evaluation of a compiled condition against a measurement result (5.4.5 to 5.4.9).

use std::cell::Cell;
use std::rc::Rc;

use crate::builtins::{self, Function};
use crate::error::RawEvalError;
use serde_json::Value as Json;

use crate::program::{BinaryOp, Identifier, Node, NodeKind, PathKey, PathStep};
use crate::value::{self, to_boolean, Val};
use crate::Bindings;

/// How many bytes of strings and arrays one evaluation may create. Without variables or
/// loops a condition can only repeat work as often as it is written down, but `toString` of
/// a large result written a few hundred times could still ask for gigabytes.
pub const EVALUATION_MEMORY_BUDGET: usize = 64 << 20;

/// How long one evaluation may run. Real conditions take microseconds; the budget stops a
/// condition that matches many large patterns against large strings from holding a core
/// (and the push that waits for it) for seconds. It is checked before each call of a
/// function that does more than constant work, so an evaluation ends at most one such call
/// after the budget is spent.
pub const EVALUATION_TIME_BUDGET: std::time::Duration = std::time::Duration::from_millis(100);

/// The memory an evaluation may still allocate, and when it must end.
pub(crate) struct Budget {
    remaining: Cell<usize>,
    deadline: std::time::Instant,
}

impl Budget {
    fn new() -> Budget {
        Budget {
            remaining: Cell::new(EVALUATION_MEMORY_BUDGET),
            deadline: std::time::Instant::now() + EVALUATION_TIME_BUDGET,
        }
    }

    /// Fails once the evaluation has run for longer than its time budget.
    pub fn check_time(&self, offset: u32) -> Result<(), RawEvalError> {
        if std::time::Instant::now() > self.deadline {
            return Err(RawEvalError::new(
                offset,
                format!(
                    "the evaluation ran for more than its time budget of {} ms; simplify the condition",
                    EVALUATION_TIME_BUDGET.as_millis()
                ),
            ));
        }
        Ok(())
    }

    /// Accounts for `bytes` more, or fails once the budget is spent.
    pub fn charge(&self, bytes: usize, offset: u32) -> Result<(), RawEvalError> {
        match self.remaining.get().checked_sub(bytes) {
            Some(left) => {
                self.remaining.set(left);
                Ok(())
            }
            None => Err(RawEvalError::new(
                offset,
                format!("the evaluation needs more than {} MiB of memory", EVALUATION_MEMORY_BUDGET >> 20),
            )),
        }
    }
}

/// What one evaluation reads: the bound identifiers, the clock, its memory budget.
pub(crate) struct Env<'a> {
    pub bindings: &'a Bindings<'a>,
    pub budget: Budget,
}

impl<'a> Env<'a> {
    pub fn new(bindings: &'a Bindings<'a>) -> Env<'a> {
        Env { bindings, budget: Budget::new() }
    }

    /// "now" for `timeUTC("now")`: the bindings' fixed instant, or the system clock.
    pub fn now(&self) -> f64 {
        self.bindings.now.unwrap_or_else(|| {
            let since_epoch =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
            // Milliseconds, the precision of the timestamps the server writes.
            (since_epoch * 1000.0).floor() / 1000.0
        })
    }
}

/// Evaluates an operand: leaves (literals and paths into the result) inline, anything else
/// through [`eval`]. Most operands of real conditions are leaves, and this saves a call each.
#[inline(always)]
fn operand<'a>(node: &'a Node, env: &Env<'a>) -> Result<Val<'a>, RawEvalError> {
    match &node.kind {
        NodeKind::Path { root, steps } => path(*root, steps, env),
        NodeKind::Number(n) => Ok(Val::Number(*n)),
        NodeKind::String(s) => Ok(Val::Str(s)),
        _ => eval(node, env),
    }
}

/// Evaluates `node`; the result borrows from the node and the bindings.
pub(crate) fn eval<'a>(node: &'a Node, env: &Env<'a>) -> Result<Val<'a>, RawEvalError> {
    Ok(match &node.kind {
        NodeKind::Null => Val::Null,
        NodeKind::Bool(b) => Val::Bool(*b),
        NodeKind::Number(n) => Val::Number(*n),
        NodeKind::String(s) => Val::Str(s),
        NodeKind::Identifier(identifier) => Val::from_json(binding(*identifier, env.bindings)),
        NodeKind::Path { root, steps } => path(*root, steps, env)?,
        NodeKind::Function(function) => Val::Function(*function),
        NodeKind::UnknownName(name) => return Err(unknown_identifier(name, node.offset)),
        NodeKind::Array(elements) => array_literal(elements, env, node.offset)?,
        NodeKind::Object(members) => object_literal(members, env, node.offset)?,
        NodeKind::Field { object, name } => {
            let object_value = eval(object, env)?;
            field(&object_value, &Val::Str(name), node.offset)?
        }
        NodeKind::Index { object, index } => {
            let object_value = eval(object, env)?;
            let index_value = eval(index, env)?;
            field(&object_value, &index_value, node.offset)?
        }
        NodeKind::Call { callee, args } => return call(callee, args, env, node.offset),
        NodeKind::MatchRegexp { regex, subject } => {
            env.budget.check_time(node.offset)?;
            let subject_value = operand(subject, env)?;
            builtins::match_regexp(regex, &subject_value, node.offset, "matchRegexp")?
        }
        NodeKind::Not(operand) => Val::Bool(!to_boolean(&eval(operand, env)?)),
        NodeKind::Negate(operand) => match eval(operand, env)? {
            Val::Number(n) => Val::Number(-n),
            // Like the binary operators of 5.4.7: anything but a number gives NaN.
            _ => Val::Number(f64::NAN),
        },
        NodeKind::And(lhs, rhs) => {
            let left = eval(lhs, env)?;
            if to_boolean(&left) {
                eval(rhs, env)?
            } else {
                left
            }
        }
        NodeKind::Or(lhs, rhs) => {
            let left = eval(lhs, env)?;
            if to_boolean(&left) {
                left
            } else {
                eval(rhs, env)?
            }
        }
        NodeKind::CompareWithNumber { op, lhs, constant } => match operand(lhs, env)? {
            Val::Number(x) => Val::Bool(compare_numbers(*op, x, *constant)),
            left => binary(*op, &left, &Val::Number(*constant), env, node.offset)?,
        },
        NodeKind::Binary { op, lhs, rhs } => {
            let left = operand(lhs, env)?;
            let right = operand(rhs, env)?;
            binary(*op, &left, &right, env, node.offset)?
        }
    })
}

/// `x op y` for a comparison operator and two numbers: what 5.4.6 gives when both sides
/// are numbers, NaN comparing false.
#[inline]
fn compare_numbers(op: BinaryOp, x: f64, y: f64) -> bool {
    match op {
        BinaryOp::Lt => x < y,
        BinaryOp::Le => x <= y,
        BinaryOp::Gt => x > y,
        BinaryOp::Ge => x >= y,
        BinaryOp::Eq => x == y,
        BinaryOp::Ne => x != y,
        _ => unreachable!("{op:?} is not a comparison"),
    }
}

#[inline(never)]
fn array_literal<'a>(elements: &'a [Node], env: &Env<'a>, offset: u32) -> Result<Val<'a>, RawEvalError> {
    env.budget.charge(elements.len() * std::mem::size_of::<Val<'_>>(), offset)?;
    let values = elements.iter().map(|e| eval(e, env)).collect::<Result<Vec<_>, _>>()?;
    Ok(Val::Array(Rc::new(values)))
}

#[inline(never)]
fn object_literal<'a>(members: &'a [(Box<str>, Node)], env: &Env<'a>, offset: u32) -> Result<Val<'a>, RawEvalError> {
    env.budget.charge(members.len() * std::mem::size_of::<(&str, Val<'_>)>(), offset)?;
    let values =
        members.iter().map(|(key, value)| Ok((&**key, eval(value, env)?))).collect::<Result<Vec<_>, RawEvalError>>()?;
    Ok(Val::Object(Rc::new(values)))
}

/// The value of `a op b` for evaluated operands (5.4.6, 5.4.7).
pub(crate) fn binary<'a>(
    op: BinaryOp,
    left: &Val<'a>,
    right: &Val<'a>,
    env: &Env<'a>,
    offset: u32,
) -> Result<Val<'a>, RawEvalError> {
    let numbers = match (left, right) {
        (Val::Number(x), Val::Number(y)) => Some((*x, *y)),
        _ => None,
    };
    let arithmetic = |f: fn(f64, f64) -> f64| Val::Number(numbers.map_or(f64::NAN, |(x, y)| f(x, y)));
    Ok(match op {
        BinaryOp::Add => match (left.as_str(), right.as_str()) {
            (Some(x), Some(y)) => {
                env.budget.charge(x.len() + y.len(), offset)?;
                let mut joined = String::with_capacity(x.len() + y.len());
                joined.push_str(x);
                joined.push_str(y);
                Val::OwnedStr(Rc::from(joined))
            }
            _ => arithmetic(|x, y| x + y),
        },
        BinaryOp::Sub => arithmetic(|x, y| x - y),
        BinaryOp::Mul => arithmetic(|x, y| x * y),
        BinaryOp::Div => arithmetic(|x, y| x / y),
        // Rust's `%` on floats is C's fmod.
        BinaryOp::Rem => arithmetic(|x, y| x % y),
        BinaryOp::Lt => Val::Bool(value::less(left, right)),
        BinaryOp::Le => Val::Bool(value::less_or_equal(left, right)),
        BinaryOp::Gt => Val::Bool(value::less(right, left)),
        BinaryOp::Ge => Val::Bool(value::greater_or_equal(left, right)),
        BinaryOp::Eq => Val::Bool(value::equal(left, right)),
        BinaryOp::Ne => Val::Bool(!value::equal(left, right)),
    })
}

/// Walks `value[0].level`-style paths on the result itself, falling back to [`field`] for
/// anything but an object's field or an array's element.
fn path<'a>(root: Identifier, steps: &'a [PathStep], env: &Env<'a>) -> Result<Val<'a>, RawEvalError> {
    let mut current = binding(root, env.bindings);
    for (i, step) in steps.iter().enumerate() {
        let next = match (current, &step.key) {
            (Json::Object(map), PathKey::Name(name)) => value::json_field(map, name),
            (Json::Array(items), PathKey::Element(i)) => items.get(*i),
            _ => {
                // Lengths, methods, names of array elements, null...: the general rules.
                let mut v = Val::from_json(current);
                for step in &steps[i..] {
                    v = field(&v, &step.key.to_prop(), step.offset)?;
                }
                return Ok(v);
            }
        };
        current = next.unwrap_or(&crate::NULL);
    }
    Ok(Val::from_json(current))
}

fn binding<'a>(identifier: Identifier, bindings: &'a Bindings<'a>) -> &'a Json {
    match identifier {
        Identifier::Value => bindings.value,
        Identifier::UpdateTime => bindings.update_time,
        Identifier::AuthorityId => bindings.authority_id,
        Identifier::Signature => bindings.signature,
    }
}

/// `getField` with the one failure 5.4.9 names: reading a field of null.
fn field<'a>(object: &Val<'a>, prop: &Val<'a>, offset: u32) -> Result<Val<'a>, RawEvalError> {
    if let Val::Null = object {
        let what = match prop.as_str() {
            Some(name) => format!("cannot read field `{name}` of null"),
            None => match prop {
                Val::Number(n) => format!("cannot read element [{n}] of null"),
                _ => "cannot read a field of null".to_owned(),
            },
        };
        return Err(RawEvalError::new(offset, what));
    }
    Ok(object.field(prop))
}

fn unknown_identifier(name: &str, offset: u32) -> RawEvalError {
    RawEvalError::new(
        offset,
        format!("unknown identifier `{name}`; the identifiers are value, updateTime, authorityId and signature"),
    )
}

/// A call: a method when the callee is `object.name`, else the function the callee names.
fn call<'a>(callee: &'a Node, args: &'a [Node], env: &Env<'a>, offset: u32) -> Result<Val<'a>, RawEvalError> {
    let (function, receiver) = match &callee.kind {
        NodeKind::UnknownName(name) => {
            return Err(RawEvalError::new(
                offset,
                format!(
                    "unknown function `{name}`; the functions are toString, toBoolean, toNumber, matchRegexp, select, timeUTC and the array methods min and max"
                ),
            ))
        }
        NodeKind::Field { object, name } => {
            let receiver = eval(object, env)?;
            let method = field(&receiver, &Val::Str(name), callee.offset)?;
            (method, Some(receiver))
        }
        _ => (eval(callee, env)?, None),
    };
    let Val::Function(function) = function else {
        let message = match (&callee.kind, &receiver) {
            (NodeKind::Field { name, .. }, Some(receiver)) => {
                format!("`{name}` is not a method of {} (arrays have the methods min and max)", article(receiver))
            }
            _ => format!("{} is called, but it is not a function", article(&function)),
        };
        return Err(RawEvalError::new(offset, message));
    };
    let receiver = receiver.filter(|_| matches!(function.function, Function::Min | Function::Max));
    let arg_values = args.iter().map(|a| eval(a, env)).collect::<Result<Vec<_>, _>>()?;
    builtins::call(function, receiver.as_ref(), &arg_values, env, offset)
}

/// "a number", "an array"...: a value's type with its article, for messages.
fn article(v: &Val<'_>) -> String {
    let name = v.type_of().name();
    match name.as_bytes()[0] {
        b'a' | b'o' => format!("an {name}"),
        _ => format!("a {name}"),
    }
}
