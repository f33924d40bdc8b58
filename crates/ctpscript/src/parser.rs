//! The grammar of 5.4.1 with JavaScript's precedence and associativity, parsed by precedence
//! climbing. Postfix `.name`, `[index]` and `(args)` apply to any primary expression (the
//! grammar's `Identifier` and `FunctionCall` rules are the common case of this), so that
//! `select("level", value).max()` parses as the specification's examples use it.

use crate::builtins::{self, FunctionRef};
use crate::error::SyntaxError;
use crate::lexer::{Punct, Token, TokenKind};
use crate::program::{BinaryOp, Identifier, Node, NodeKind, PathKey, PathStep};
use crate::{MAX_CONDITION_BYTES, MAX_NESTING};

/// Parses a whole condition into its compiled tree.
pub(crate) fn parse(source: &str) -> Result<Node, SyntaxError> {
    if source.len() > MAX_CONDITION_BYTES {
        return Err(SyntaxError::new(
            source,
            MAX_CONDITION_BYTES,
            format!("the condition is {} bytes long; the limit is {MAX_CONDITION_BYTES} bytes", source.len()),
        ));
    }
    let tokens = crate::lexer::tokenize(source)?;
    let mut parser = Parser { source, tokens, next: 0, nesting: 0 };
    let (node, _) = parser.expression(0)?;
    let token = parser.peek();
    if token.kind != TokenKind::End {
        return Err(parser.error_at(token, format!("unexpected {} after a complete expression", token.kind.describe())));
    }
    Ok(node)
}

struct Parser<'s> {
    source: &'s str,
    tokens: Vec<Token>,
    next: usize,
    nesting: usize,
}

/// Binding power of a binary operator: higher binds tighter; all are left-associative.
fn infix_binding_power(punct: Punct) -> Option<u8> {
    Some(match punct {
        Punct::OrOr => 1,
        Punct::AndAnd => 2,
        Punct::EqEq | Punct::NotEq => 3,
        Punct::Lt | Punct::Le | Punct::Gt | Punct::Ge => 4,
        Punct::Plus | Punct::Minus => 5,
        Punct::Star | Punct::Slash | Punct::Percent => 6,
        _ => return None,
    })
}

/// Unary `!` and `-` bind tighter than every binary operator, and looser than postfix
/// access, so `-value[0].x` is `-(value[0].x)`.
const PREFIX_BINDING_POWER: u8 = 7;

/// A parsed node and the depth of its tree, counted to enforce [`MAX_NESTING`].
type Parsed = (Node, usize);

impl<'s> Parser<'s> {
    fn peek(&self) -> &Token {
        &self.tokens[self.next]
    }

    fn advance(&mut self) -> Token {
        let token = self.tokens[self.next].clone();
        if token.kind != TokenKind::End {
            self.next += 1;
        }
        token
    }

    fn at(&self, punct: Punct) -> bool {
        self.peek().kind == TokenKind::Punct(punct)
    }

    fn error_at(&self, token: &Token, message: impl Into<String>) -> SyntaxError {
        SyntaxError::new(self.source, token.start, message)
    }

    fn expect(&mut self, punct: Punct, context: impl FnOnce() -> String) -> Result<Token, SyntaxError> {
        if self.at(punct) {
            return Ok(self.advance());
        }
        let token = self.peek();
        Err(self
            .error_at(token, format!("expected `{}` {}, found {}", punct.as_str(), context(), token.kind.describe())))
    }

    /// Wraps `kind` in a node one level deeper than its deepest child, or fails when that
    /// exceeds [`MAX_NESTING`].
    fn build(&self, kind: NodeKind, offset: usize, child_depth: usize) -> Result<Parsed, SyntaxError> {
        let depth = child_depth + 1;
        if depth > MAX_NESTING {
            return Err(self.too_deep(offset));
        }
        Ok((crate::optimize::optimize(Node { kind, offset: offset as u32 }), depth))
    }

    fn too_deep(&self, offset: usize) -> SyntaxError {
        SyntaxError::new(
            self.source,
            offset,
            format!("the condition is nested deeper than {MAX_NESTING} levels (parentheses, brackets, calls and operators count)"),
        )
    }

    /// An expression whose binary operators all bind tighter than `min_power`.
    fn expression(&mut self, min_power: u8) -> Result<Parsed, SyntaxError> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(self.too_deep(self.peek().start));
        }
        let result = self.expression_inner(min_power);
        self.nesting -= 1;
        result
    }

    fn expression_inner(&mut self, min_power: u8) -> Result<Parsed, SyntaxError> {
        let (mut lhs, mut depth) = self.prefix()?;
        loop {
            let token = self.peek().clone();
            let TokenKind::Punct(punct) = token.kind else { break };
            let Some(power) = infix_binding_power(punct) else { break };
            if power <= min_power {
                break;
            }
            self.advance();
            let (rhs, rhs_depth) = self.expression(power)?;
            let (lhs_box, rhs_box) = (Box::new(lhs), Box::new(rhs));
            let kind = match punct {
                Punct::OrOr => NodeKind::Or(lhs_box, rhs_box),
                Punct::AndAnd => NodeKind::And(lhs_box, rhs_box),
                _ => NodeKind::Binary { op: binary_op(punct), lhs: lhs_box, rhs: rhs_box },
            };
            (lhs, depth) = self.build(kind, token.start, depth.max(rhs_depth))?;
        }
        Ok((lhs, depth))
    }

    /// A unary operator applied to its operand, or a primary expression with its postfixes.
    fn prefix(&mut self) -> Result<Parsed, SyntaxError> {
        let token = self.peek().clone();
        match token.kind {
            TokenKind::Punct(Punct::Bang) | TokenKind::Punct(Punct::Minus) => {
                self.advance();
                let (operand, depth) = self.expression(PREFIX_BINDING_POWER)?;
                let kind = if token.kind == TokenKind::Punct(Punct::Bang) {
                    NodeKind::Not(Box::new(operand))
                } else {
                    NodeKind::Negate(Box::new(operand))
                };
                self.build(kind, token.start, depth)
            }
            _ => {
                let primary = self.primary()?;
                self.postfix(primary)
            }
        }
    }

    fn primary(&mut self) -> Result<Parsed, SyntaxError> {
        let token = self.advance();
        let start = token.start;
        let leaf = |kind| Ok((Node { kind, offset: start as u32 }, 1));
        match token.kind {
            TokenKind::Number(n) => leaf(NodeKind::Number(n)),
            TokenKind::String(s) => leaf(NodeKind::String(s.into_boxed_str())),
            TokenKind::Identifier(name) => leaf(match name.as_str() {
                "true" => NodeKind::Bool(true),
                "false" => NodeKind::Bool(false),
                "null" => NodeKind::Null,
                _ => resolve_name(name),
            }),
            TokenKind::Punct(Punct::LParen) => {
                let (inner, depth) = self.expression(0)?;
                let source = self.source;
                self.expect(Punct::RParen, || format!("to close the `(` at {}", place(source, start)))?;
                if depth + 1 > MAX_NESTING {
                    return Err(self.too_deep(start));
                }
                Ok((inner, depth + 1))
            }
            TokenKind::Punct(Punct::LBracket) => {
                let (elements, depth) = self.list(Punct::RBracket, start, Self::expression_item)?;
                self.build(NodeKind::Array(elements), start, depth)
            }
            TokenKind::Punct(Punct::LBrace) => {
                let (members, depth) = self.list(Punct::RBrace, start, Self::object_member)?;
                self.build(NodeKind::Object(members), start, depth)
            }
            kind => {
                Err(SyntaxError::new(self.source, start, format!("expected an expression, found {}", kind.describe())))
            }
        }
    }

    /// Comma-separated items up to `close` (the opening token is consumed already); empty
    /// lists are allowed, trailing commas are not.
    fn list<T>(
        &mut self,
        close: Punct,
        open_offset: usize,
        mut item: impl FnMut(&mut Self) -> Result<(T, usize), SyntaxError>,
    ) -> Result<(Vec<T>, usize), SyntaxError> {
        let mut items = Vec::new();
        let mut depth = 0;
        if self.at(close) {
            self.advance();
            return Ok((items, depth));
        }
        loop {
            let (value, item_depth) = item(self)?;
            items.push(value);
            depth = depth.max(item_depth);
            if self.at(Punct::Comma) {
                self.advance();
                continue;
            }
            let source = self.source;
            self.expect(close, || format!("or `,` to continue the list opened at {}", place(source, open_offset)))?;
            return Ok((items, depth));
        }
    }

    fn expression_item(&mut self) -> Result<Parsed, SyntaxError> {
        self.expression(0)
    }

    /// `name: Expr` or `"name": Expr` in an object literal.
    fn object_member(&mut self) -> Result<((Box<str>, Node), usize), SyntaxError> {
        let token = self.advance();
        let key = match token.kind {
            TokenKind::Identifier(name) => name,
            TokenKind::String(s) => s,
            kind => {
                return Err(SyntaxError::new(
                    self.source,
                    token.start,
                    format!("expected a property name (an identifier or a string), found {}", kind.describe()),
                ))
            }
        };
        self.expect(Punct::Colon, || "after the property name".to_owned())?;
        let (value, depth) = self.expression(0)?;
        Ok(((key.into_boxed_str(), value), depth))
    }

    /// `.name`, `[index]` and `(arguments)` after a primary expression, left to right.
    fn postfix(&mut self, (mut node, mut depth): Parsed) -> Result<Parsed, SyntaxError> {
        loop {
            let token = self.peek().clone();
            let start = token.start;
            (node, depth) = match token.kind {
                TokenKind::Punct(Punct::Dot) => {
                    self.advance();
                    let name_token = self.advance();
                    let TokenKind::Identifier(name) = name_token.kind else {
                        return Err(self.error_at(
                            &name_token,
                            format!("expected a property name after `.`, found {}", name_token.kind.describe()),
                        ));
                    };
                    let is_method_call = self.at(Punct::LParen);
                    let kind = if is_method_call {
                        NodeKind::Field { object: Box::new(node), name: name.into_boxed_str() }
                    } else {
                        extend_path(node, PathKey::Name(name.into_boxed_str()), start)
                    };
                    self.build(kind, start, depth)?
                }
                TokenKind::Punct(Punct::LBracket) => {
                    self.advance();
                    let (index, index_depth) = self.expression(0)?;
                    let source = self.source;
                    self.expect(Punct::RBracket, || format!("to close the `[` at {}", place(source, start)))?;
                    let kind = match index.kind {
                        NodeKind::Number(n) => extend_path(node, PathKey::from_number(n), start),
                        NodeKind::String(name) => extend_path(node, PathKey::Name(name), start),
                        _ => NodeKind::Index { object: Box::new(node), index: Box::new(index) },
                    };
                    self.build(kind, start, depth.max(index_depth))?
                }
                TokenKind::Punct(Punct::LParen) => {
                    self.advance();
                    let (args, args_depth) = self.list(Punct::RParen, start, Self::expression_item)?;
                    let offset = node.offset as usize;
                    let kind = builtins::specialize_call(node, args);
                    self.build(kind, offset, depth.max(args_depth))?
                }
                _ => return Ok((node, depth)),
            };
        }
    }
}

fn binary_op(punct: Punct) -> BinaryOp {
    match punct {
        Punct::Plus => BinaryOp::Add,
        Punct::Minus => BinaryOp::Sub,
        Punct::Star => BinaryOp::Mul,
        Punct::Slash => BinaryOp::Div,
        Punct::Percent => BinaryOp::Rem,
        Punct::Lt => BinaryOp::Lt,
        Punct::Le => BinaryOp::Le,
        Punct::Gt => BinaryOp::Gt,
        Punct::Ge => BinaryOp::Ge,
        Punct::EqEq => BinaryOp::Eq,
        Punct::NotEq => BinaryOp::Ne,
        other => unreachable!("{other:?} is not a binary operator"),
    }
}

/// An identifier name in expression position: one of the four identifiers, a built-in
/// function, or an unknown name (an error only if it is evaluated).
fn resolve_name(name: String) -> NodeKind {
    if let Some(identifier) = Identifier::lookup(&name) {
        NodeKind::Identifier(identifier)
    } else if let Some(function) = FunctionRef::builtin(&name) {
        NodeKind::Function(function)
    } else {
        NodeKind::UnknownName(name.into_boxed_str())
    }
}

/// "column N" of a byte offset, for messages that point back at an opening bracket.
fn place(source: &str, offset: usize) -> String {
    let position = crate::error::Position::of_offset(source, offset);
    format!("column {}", position.column)
}

/// `node.key` or `node[key]` with a constant key: a step added to the node's path when it
/// is an identifier or a path already, else a plain field or index node.
fn extend_path(node: Node, key: PathKey, offset: usize) -> NodeKind {
    let step = PathStep { key, offset: offset as u32 };
    match node.kind {
        NodeKind::Identifier(root) => NodeKind::Path { root, steps: vec![step] },
        NodeKind::Path { root, mut steps } => {
            steps.push(step);
            NodeKind::Path { root, steps }
        }
        kind => {
            let object = Box::new(Node { kind, offset: node.offset });
            match step.key {
                PathKey::Name(name) => NodeKind::Field { object, name },
                PathKey::Element(i) => NodeKind::Index {
                    object,
                    index: Box::new(Node { kind: NodeKind::Number(i as f64), offset: step.offset }),
                },
                PathKey::Number(n) => {
                    NodeKind::Index { object, index: Box::new(Node { kind: NodeKind::Number(n), offset: step.offset }) }
                }
            }
        }
    }
}
