//! Tokens of CTPScript: ECMA-262 v5 numeric literals (7.8.3), string literals with their
//! escapes (7.8.4), identifier names (7.6) and the punctuators of the grammar in 5.4.1.

use crate::error::SyntaxError;
use crate::number;

/// One token and the byte offset where it starts in the source.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub start: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind {
    Number(f64),
    String(String),
    Identifier(String),
    Punct(Punct),
    End,
}

/// The punctuators of CTPScript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Punct {
    AndAnd,
    OrOr,
    Lt,
    Le,
    Gt,
    Ge,
    EqEq,
    NotEq,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Bang,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Dot,
    Colon,
}

impl Punct {
    /// The punctuator as written in a condition.
    pub fn as_str(self) -> &'static str {
        match self {
            Punct::AndAnd => "&&",
            Punct::OrOr => "||",
            Punct::Lt => "<",
            Punct::Le => "<=",
            Punct::Gt => ">",
            Punct::Ge => ">=",
            Punct::EqEq => "==",
            Punct::NotEq => "!=",
            Punct::Plus => "+",
            Punct::Minus => "-",
            Punct::Star => "*",
            Punct::Slash => "/",
            Punct::Percent => "%",
            Punct::Bang => "!",
            Punct::LParen => "(",
            Punct::RParen => ")",
            Punct::LBracket => "[",
            Punct::RBracket => "]",
            Punct::LBrace => "{",
            Punct::RBrace => "}",
            Punct::Comma => ",",
            Punct::Dot => ".",
            Punct::Colon => ":",
        }
    }
}

impl TokenKind {
    /// How the token is named in an error message.
    pub fn describe(&self) -> String {
        match self {
            TokenKind::Number(n) => format!("number {n}"),
            TokenKind::String(s) => format!("string {s:?}"),
            TokenKind::Identifier(name) => format!("`{name}`"),
            TokenKind::Punct(p) => format!("`{}`", p.as_str()),
            TokenKind::End => "the end of the condition".to_owned(),
        }
    }
}

/// Splits a whole condition into tokens, ending with [`TokenKind::End`].
pub(crate) fn tokenize(source: &str) -> Result<Vec<Token>, SyntaxError> {
    let mut lexer = Lexer { src: source, pos: 0 };
    let mut tokens = Vec::new();
    loop {
        lexer.skip_white_space();
        let start = lexer.pos;
        let Some(c) = lexer.peek() else {
            tokens.push(Token { kind: TokenKind::End, start });
            return Ok(tokens);
        };
        let kind = if c.is_ascii_digit() || (c == '.' && lexer.peek_at(1).is_some_and(|d| d.is_ascii_digit())) {
            lexer.number()?
        } else if c == '"' || c == '\'' {
            TokenKind::String(lexer.string(c)?)
        } else if is_identifier_start(c) || c == '\\' {
            TokenKind::Identifier(lexer.identifier_name()?)
        } else {
            TokenKind::Punct(lexer.punct()?)
        };
        tokens.push(Token { kind, start });
    }
}

struct Lexer<'s> {
    src: &'s str,
    pos: usize,
}

/// ECMA-262 v5 7.2 white space and 7.3 line terminators.
fn is_white_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\u{b}'
            | '\u{c}'
            | ' '
            | '\u{a0}'
            | '\u{feff}'
            | '\n'
            | '\r'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}' | '\u{202f}' | '\u{205f}' | '\u{3000}'
    )
}

fn is_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

/// ECMA-262 v5 7.6 IdentifierStart, with Unicode letters read as XID_Start.
pub(crate) fn is_identifier_start(c: char) -> bool {
    c == '$' || c == '_' || unicode_ident::is_xid_start(c)
}

/// ECMA-262 v5 7.6 IdentifierPart, with Unicode letters, marks and digits read as XID_Continue.
pub(crate) fn is_identifier_part(c: char) -> bool {
    c == '$' || c == '\u{200c}' || c == '\u{200d}' || unicode_ident::is_xid_continue(c)
}

impl<'s> Lexer<'s> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.src[self.pos..].chars().nth(n)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn error(&self, at: usize, message: impl Into<String>) -> SyntaxError {
        SyntaxError::new(self.src, at, message)
    }

    fn skip_white_space(&mut self) {
        while let Some(c) = self.peek() {
            if !is_white_space(c) {
                break;
            }
            self.bump();
        }
    }

    /// 7.8.3 NumericLiteral: DecimalLiteral or HexIntegerLiteral, not followed directly by
    /// an identifier character or a digit.
    fn number(&mut self) -> Result<TokenKind, SyntaxError> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let value = if bytes[start] == b'0' && matches!(bytes.get(start + 1), Some(b'x' | b'X')) {
            let digits_start = start + 2;
            let n_digits = bytes[digits_start..].iter().take_while(|b| b.is_ascii_hexdigit()).count();
            if n_digits == 0 {
                return Err(self.error(start, "a hexadecimal literal needs at least one digit after `0x`"));
            }
            self.pos = digits_start + n_digits;
            number::hex_float(&bytes[digits_start..self.pos]).unwrap_or(0.0)
        } else {
            let int_digits = bytes[start..].iter().take_while(|b| b.is_ascii_digit()).count();
            if int_digits > 1 && bytes[start] == b'0' {
                return Err(self.error(
                    start,
                    "a number cannot start with 0 followed by digits (octal literals are not part of CTPScript)",
                ));
            }
            let mut end = start + int_digits;
            if bytes.get(end) == Some(&b'.') {
                end += 1;
                end += bytes[end..].iter().take_while(|b| b.is_ascii_digit()).count();
            }
            if matches!(bytes.get(end), Some(b'e' | b'E')) {
                let mut exp = end + 1;
                if matches!(bytes.get(exp), Some(b'+' | b'-')) {
                    exp += 1;
                }
                let n_exp = bytes[exp.min(bytes.len())..].iter().take_while(|b| b.is_ascii_digit()).count();
                if n_exp == 0 {
                    return Err(self.error(end, "the exponent of a number needs at least one digit"));
                }
                end = exp + n_exp;
            }
            self.pos = end;
            number::atof(&self.src[start..end])
        };
        if let Some(c) = self.peek() {
            if is_identifier_start(c) || c.is_ascii_digit() || c == '\\' {
                return Err(self.error(self.pos, format!("a number must not be followed directly by `{c}`")));
            }
        }
        Ok(TokenKind::Number(value))
    }

    /// 7.8.4 StringLiteral, decoded to UTF-8.
    fn string(&mut self, quote: char) -> Result<String, SyntaxError> {
        let start = self.pos;
        self.bump();
        let mut out = String::new();
        loop {
            let at = self.pos;
            let Some(c) = self.bump() else {
                return Err(self.error(start, format!("string starting here is not closed by {quote}")));
            };
            match c {
                c if c == quote => return Ok(out),
                '\\' => self.escape(at, &mut out)?,
                c if is_line_terminator(c) => {
                    return Err(self.error(at, "a string cannot contain a line break; write it as \\n"));
                }
                c => out.push(c),
            }
        }
    }

    /// The character(s) after a backslash inside a string literal.
    fn escape(&mut self, at: usize, out: &mut String) -> Result<(), SyntaxError> {
        let Some(c) = self.bump() else {
            return Err(self.error(at, "the condition ends inside an escape sequence"));
        };
        match c {
            '\'' | '"' | '\\' => out.push(c),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\u{b}'),
            '0' if !self.peek().is_some_and(|d| d.is_ascii_digit()) => out.push('\0'),
            '0'..='9' => {
                return Err(self.error(at, format!("`\\{c}` is an octal escape, which CTPScript does not allow")));
            }
            'x' => {
                let code = self.hex_digits(at, 2)?;
                out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
            }
            'u' => out.push(self.unicode_escape(at)?),
            '\r' => {
                // A line continuation; CR LF counts as one line terminator.
                if self.peek() == Some('\n') {
                    self.bump();
                }
            }
            '\n' | '\u{2028}' | '\u{2029}' => {}
            other => out.push(other),
        }
        Ok(())
    }

    /// `\uXXXX` after its backslash, combining a surrogate pair into one character.
    fn unicode_escape(&mut self, at: usize) -> Result<char, SyntaxError> {
        let first = self.hex_digits(at, 4)?;
        if (0xd800..0xdc00).contains(&first) {
            if self.src[self.pos..].starts_with("\\u") {
                let save = self.pos;
                self.pos += 2;
                let second = self.hex_digits(save, 4)?;
                if (0xdc00..0xe000).contains(&second) {
                    let code = 0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00);
                    return Ok(char::from_u32(code).unwrap_or('\u{fffd}'));
                }
            }
            return Err(self.error(at, "a lone surrogate (\\uD800-\\uDFFF) cannot be represented in UTF-8"));
        }
        char::from_u32(first)
            .ok_or_else(|| self.error(at, "a lone surrogate (\\uD800-\\uDFFF) cannot be represented in UTF-8"))
    }

    fn hex_digits(&mut self, at: usize, count: usize) -> Result<u32, SyntaxError> {
        let mut code = 0;
        for _ in 0..count {
            let Some(d) = self.peek().and_then(|c| c.to_digit(16)) else {
                let kind = if count == 2 { "\\x" } else { "\\u" };
                return Err(self.error(at, format!("`{kind}` must be followed by {count} hexadecimal digits")));
            };
            self.bump();
            code = code * 16 + d;
        }
        Ok(code)
    }

    /// 7.6 IdentifierName, including `\uXXXX` escapes.
    fn identifier_name(&mut self) -> Result<String, SyntaxError> {
        let mut name = String::new();
        loop {
            let at = self.pos;
            let c = match self.peek() {
                Some('\\') => {
                    self.bump();
                    if self.bump() != Some('u') {
                        return Err(self.error(at, "only `\\u` escapes may appear in an identifier"));
                    }
                    self.unicode_escape(at)?
                }
                Some(c) => {
                    self.bump();
                    c
                }
                None => break,
            };
            let allowed = if name.is_empty() { is_identifier_start(c) } else { is_identifier_part(c) };
            if !allowed {
                // Give the character back unless it came from an escape, which must be valid.
                if self.src[at..].starts_with('\\') {
                    return Err(self.error(at, format!("{c:?} cannot appear in an identifier")));
                }
                self.pos = at;
                break;
            }
            name.push(c);
        }
        Ok(name)
    }

    fn punct(&mut self) -> Result<Punct, SyntaxError> {
        let start = self.pos;
        let rest = &self.src[start..];
        let two = |s: &str| rest.starts_with(s);
        let (punct, len) = if two("===") || two("!==") {
            return Err(self.error(start, format!("`{}` is not CTPScript; use `{}`", &rest[..3], &rest[..2])));
        } else if two("&&") {
            (Punct::AndAnd, 2)
        } else if two("||") {
            (Punct::OrOr, 2)
        } else if two("<=") {
            (Punct::Le, 2)
        } else if two(">=") {
            (Punct::Ge, 2)
        } else if two("==") {
            (Punct::EqEq, 2)
        } else if two("!=") {
            (Punct::NotEq, 2)
        } else {
            let c = self.peek().unwrap_or('\0');
            let p = match c {
                '<' => Punct::Lt,
                '>' => Punct::Gt,
                '+' => Punct::Plus,
                '-' => Punct::Minus,
                '*' => Punct::Star,
                '/' => Punct::Slash,
                '%' => Punct::Percent,
                '!' => Punct::Bang,
                '(' => Punct::LParen,
                ')' => Punct::RParen,
                '[' => Punct::LBracket,
                ']' => Punct::RBracket,
                '{' => Punct::LBrace,
                '}' => Punct::RBrace,
                ',' => Punct::Comma,
                '.' => Punct::Dot,
                ':' => Punct::Colon,
                '=' => return Err(self.error(start, "assignment is not CTPScript; did you mean `==`?")),
                '&' => return Err(self.error(start, "`&` is not CTPScript; did you mean `&&`?")),
                '|' => return Err(self.error(start, "`|` is not CTPScript; did you mean `||`?")),
                '\u{201c}' | '\u{201d}' | '\u{2018}' | '\u{2019}' => {
                    return Err(
                        self.error(start, format!("typographic quote `{c}` does not start a string; use \" or '"))
                    )
                }
                other => return Err(self.error(start, format!("unexpected character {other:?}"))),
            };
            (p, c.len_utf8())
        };
        self.pos += len;
        Ok(punct)
    }
}
