//! The bytes a result's signature covers (CTP 2.14 §4.2.6), by a small hand-written JSON
//! tokenizer that copies every token byte for byte and drops only the white space between
//! tokens and the top-level `signature` member.

use std::collections::HashSet;
use std::ops::Range;

/// The largest result text accepted, in bytes (the server's request body limit).
pub const MAX_RESULT_LEN: usize = 1 << 20;

/// The deepest nesting of objects and arrays accepted; the result object itself is depth 1.
pub const MAX_DEPTH: usize = 64;

/// Why a result text has no signing payload. The offsets are byte offsets in the text given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The text is longer than [`MAX_RESULT_LEN`].
    #[error("the text is too large: {len} bytes, at most {max}")]
    TooLarge {
        /// The length of the text.
        len: usize,
        /// The largest length accepted.
        max: usize,
    },
    /// The text is not a JSON object (an array, a string, a number, a literal, or nothing).
    #[error("the text is not a JSON object")]
    NotAnObject,
    /// The text is not valid JSON (RFC 8259).
    #[error("invalid JSON at byte {offset}: {reason}")]
    Invalid {
        /// Where the problem is.
        offset: usize,
        /// What is wrong there.
        reason: &'static str,
    },
    /// Objects and arrays are nested deeper than [`MAX_DEPTH`].
    #[error("objects and arrays nested deeper than {max} levels (at byte {offset})")]
    TooDeep {
        /// Where the level past the limit opens.
        offset: usize,
        /// The deepest nesting accepted.
        max: usize,
    },
    /// The top-level object has more than one `signature` member.
    #[error("more than one top-level signature member (the second at byte {offset})")]
    DuplicateSignature {
        /// Where the second one's name starts.
        offset: usize,
    },
    /// An object (at any depth) has two members of the same name, after unescaping: which one
    /// counts would depend on the parser, and a signature must mean one thing.
    #[error("two members named {name:?} in one object (the second at byte {offset})")]
    DuplicateMember {
        /// The member name, unescaped.
        name: String,
        /// Where the second one's name starts.
        offset: usize,
    },
    /// The top-level `signature` member is neither a string nor `null`.
    #[error("the top-level signature member is neither a string nor null (at byte {offset})")]
    SignatureNotString {
        /// Where its value starts.
        offset: usize,
    },
}

/// The bytes a result's JWS signature covers (CTP 2.14 §4.2.6): the result's JSON text
/// exactly as pushed, with the top-level `signature` member (and the comma that separates it
/// from its neighbour) removed, and every white space outside strings removed. Everything else
/// is kept byte for byte: the order of the members, the spelling of numbers, the escapes in
/// strings, any member named `signature` inside nested objects.
///
/// The `signature` member is removed whatever its value: a string (a JWS, or the empty string
/// that means "no signature"), or `null`. So `{"value":[],"signature":null}` and
/// `{"value":[]}` have the same payload, `{"value":[]}`: a result's payload does not change
/// when the server adds `"signature": null` to a result pushed without one, and a signer
/// computes the payload before it has a signature to add. A `signature` of any other type, or
/// two of them, is refused. Member names are compared unescaped (`"sign\u0061ture"` is a
/// `signature` member).
///
/// Refused: anything but one JSON object (with optional white space around it), invalid JSON
/// (including lone surrogate escapes and control characters in strings), two members of the
/// same name in any object, nesting deeper than [`MAX_DEPTH`], a text longer than
/// [`MAX_RESULT_LEN`].
///
/// ```
/// let payload = ctp_jws::signing_payload(r#"{ "value": [ {"a b": 1.50} ], "signature": null }"#).unwrap();
/// assert_eq!(payload, br#"{"value":[{"a b":1.50}]}"#);
/// ```
pub fn signing_payload(result_json_text: &str) -> Result<Vec<u8>, PayloadError> {
    Ok(read_signed_result(result_json_text)?.payload)
}

/// The JSON text of one object with every white space outside strings removed, everything
/// else byte for byte (the same checks and limits as [`signing_payload`], which also drops
/// the `signature` member). The transparency log hashes results in this form, so that a
/// customer re-computes the hash from the result as any server returns it.
pub fn compact(json_object_text: &str) -> Result<Vec<u8>, PayloadError> {
    Ok(parse_object(json_object_text, MAX_RESULT_LEN)?.compact)
}

/// A result text taken apart: what its signature covers, and the signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedResult {
    /// The bytes the signature covers: see [`signing_payload`].
    pub payload: Vec<u8>,
    /// The top-level `signature` member's string, unescaped; `None` when the member is absent,
    /// `null` or the empty string (CTP 2.14: "This field MAY be an empty string if no
    /// signature is provided").
    pub signature: Option<String>,
}

/// [`signing_payload`] and the `signature` member's value, in one pass.
pub fn read_signed_result(result_json_text: &str) -> Result<SignedResult, PayloadError> {
    let object = parse_object(result_json_text, MAX_RESULT_LEN)?;
    let mut signature_member: Option<&Member> = None;
    for member in &object.members {
        if member.name == "signature" {
            if signature_member.is_some() {
                return Err(PayloadError::DuplicateSignature { offset: member.offset });
            }
            let value = &object.compact[member.value.clone()];
            if value[0] != b'"' && value != b"null" {
                return Err(PayloadError::SignatureNotString { offset: member.value_offset });
            }
            signature_member = Some(member);
        }
    }
    let mut payload = Vec::with_capacity(object.compact.len());
    payload.push(b'{');
    let mut first = true;
    for member in object.members.iter().filter(|m| m.name != "signature") {
        if !first {
            payload.push(b',');
        }
        first = false;
        payload.extend_from_slice(&object.compact[member.whole.clone()]);
    }
    payload.push(b'}');
    let signature = match signature_member {
        Some(member) if object.compact[member.value.start] == b'"' => {
            let text = &object.compact[member.value.clone()];
            // The tokenizer checked the string; serde_json unescapes it.
            let unescaped: String = serde_json::from_slice(text)
                .map_err(|_| PayloadError::Invalid { offset: member.value_offset, reason: "invalid string" })?;
            Some(unescaped).filter(|s| !s.is_empty())
        }
        _ => None,
    };
    Ok(SignedResult { payload, signature })
}

/// One member of the top-level object.
#[derive(Debug)]
pub(crate) struct Member {
    /// The name, unescaped.
    pub(crate) name: String,
    /// Where the name starts in the text.
    pub(crate) offset: usize,
    /// Where the value starts in the text.
    pub(crate) value_offset: usize,
    /// `"name":value` in [`Object::compact`].
    pub(crate) whole: Range<usize>,
    /// The value in [`Object::compact`].
    pub(crate) value: Range<usize>,
}

/// A JSON object checked and made compact (white space outside strings removed).
#[derive(Debug)]
pub(crate) struct Object {
    /// The object's text without white space outside strings.
    pub(crate) compact: Vec<u8>,
    /// Its members, in order.
    pub(crate) members: Vec<Member>,
}

/// Checks that `text` is one JSON object (strict RFC 8259, no duplicate member names at any
/// depth, bounded size and depth) and returns it compact with its top-level members.
pub(crate) fn parse_object(text: &str, max_len: usize) -> Result<Object, PayloadError> {
    if text.len() > max_len {
        return Err(PayloadError::TooLarge { len: text.len(), max: max_len });
    }
    let mut parser = Parser { text, bytes: text.as_bytes(), pos: 0 };
    parser.skip_white_space();
    if parser.peek() != Some(b'{') {
        return Err(PayloadError::NotAnObject);
    }
    let mut compact = Vec::with_capacity(text.len());
    let mut members = Vec::new();
    parser.object(&mut compact, 1, Some(&mut members))?;
    parser.skip_white_space();
    if parser.pos != parser.bytes.len() {
        return Err(parser.invalid("text after the object"));
    }
    Ok(Object { compact, members })
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn invalid(&self, reason: &'static str) -> PayloadError {
        PayloadError::Invalid { offset: self.pos, reason }
    }

    /// JSON's white space: space, tab, line feed, carriage return; nothing else.
    fn skip_white_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn value(&mut self, out: &mut Vec<u8>, depth: usize) -> Result<(), PayloadError> {
        match self.peek() {
            Some(b'{') => self.object(out, depth + 1, None),
            Some(b'[') => self.array(out, depth + 1),
            Some(b'"') => self.string(out, false).map(drop),
            Some(b'-' | b'0'..=b'9') => self.number(out),
            Some(b't') => self.literal(out, b"true"),
            Some(b'f') => self.literal(out, b"false"),
            Some(b'n') => self.literal(out, b"null"),
            Some(_) => Err(self.invalid("expected a value")),
            None => Err(self.invalid("unexpected end of text, expected a value")),
        }
    }

    /// An object at `depth`; the top-level one also reports its members.
    fn object(
        &mut self,
        out: &mut Vec<u8>,
        depth: usize,
        mut members: Option<&mut Vec<Member>>,
    ) -> Result<(), PayloadError> {
        if depth > MAX_DEPTH {
            return Err(PayloadError::TooDeep { offset: self.pos, max: MAX_DEPTH });
        }
        self.pos += 1;
        out.push(b'{');
        self.skip_white_space();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            out.push(b'}');
            return Ok(());
        }
        let mut names: HashSet<String> = HashSet::new();
        loop {
            self.skip_white_space();
            if self.peek() != Some(b'"') {
                return Err(self.invalid("expected a member name (a string)"));
            }
            let offset = self.pos;
            let start = out.len();
            let name = self.string(out, true)?.unwrap_or_default();
            self.skip_white_space();
            if self.peek() != Some(b':') {
                return Err(self.invalid("expected ':' after a member name"));
            }
            self.pos += 1;
            out.push(b':');
            self.skip_white_space();
            let value_offset = self.pos;
            let value_start = out.len();
            self.value(out, depth)?;
            if names.contains(&name) {
                return Err(if depth == 1 && name == "signature" {
                    PayloadError::DuplicateSignature { offset }
                } else {
                    PayloadError::DuplicateMember { name, offset }
                });
            }
            names.insert(name.clone());
            if let Some(members) = members.as_deref_mut() {
                members.push(Member {
                    name,
                    offset,
                    value_offset,
                    whole: start..out.len(),
                    value: value_start..out.len(),
                });
            }
            self.skip_white_space();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    out.push(b',');
                }
                Some(b'}') => {
                    self.pos += 1;
                    out.push(b'}');
                    return Ok(());
                }
                _ => return Err(self.invalid("expected ',' or '}' after a member")),
            }
        }
    }

    fn array(&mut self, out: &mut Vec<u8>, depth: usize) -> Result<(), PayloadError> {
        if depth > MAX_DEPTH {
            return Err(PayloadError::TooDeep { offset: self.pos, max: MAX_DEPTH });
        }
        self.pos += 1;
        out.push(b'[');
        self.skip_white_space();
        if self.peek() == Some(b']') {
            self.pos += 1;
            out.push(b']');
            return Ok(());
        }
        loop {
            self.skip_white_space();
            self.value(out, depth)?;
            self.skip_white_space();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    out.push(b',');
                }
                Some(b']') => {
                    self.pos += 1;
                    out.push(b']');
                    return Ok(());
                }
                _ => return Err(self.invalid("expected ',' or ']' after an array element")),
            }
        }
    }

    /// A string, copied as it is written; unescaped too when `decode`.
    fn string(&mut self, out: &mut Vec<u8>, decode: bool) -> Result<Option<String>, PayloadError> {
        let start = self.pos;
        self.pos += 1;
        let mut decoded = decode.then(String::new);
        let mut run = self.pos;
        loop {
            match self.peek() {
                None => return Err(PayloadError::Invalid { offset: start, reason: "unterminated string" }),
                Some(b'"') => {
                    if let Some(decoded) = decoded.as_mut() {
                        decoded.push_str(&self.text[run..self.pos]);
                    }
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    if let Some(decoded) = decoded.as_mut() {
                        decoded.push_str(&self.text[run..self.pos]);
                    }
                    let c = self.escape()?;
                    if let Some(decoded) = decoded.as_mut() {
                        decoded.push(c);
                    }
                    run = self.pos;
                }
                Some(0x00..=0x1f) => return Err(self.invalid("control character in a string (it must be escaped)")),
                Some(_) => self.pos += 1,
            }
        }
        out.extend_from_slice(&self.bytes[start..self.pos]);
        Ok(decoded)
    }

    /// One escape sequence, at the backslash; returns the character it stands for.
    fn escape(&mut self) -> Result<char, PayloadError> {
        let at = self.pos;
        self.pos += 1;
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.pos += 1;
                let unit = self.hex4(at)?;
                return match unit {
                    0xd800..=0xdbff => {
                        if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                            return Err(PayloadError::Invalid { offset: at, reason: "lone surrogate escape" });
                        }
                        self.pos += 2;
                        let low = self.hex4(at)?;
                        if !(0xdc00..=0xdfff).contains(&low) {
                            return Err(PayloadError::Invalid { offset: at, reason: "lone surrogate escape" });
                        }
                        let code = 0x10000 + ((u32::from(unit) - 0xd800) << 10) + (u32::from(low) - 0xdc00);
                        char::from_u32(code).ok_or(PayloadError::Invalid { offset: at, reason: "invalid escape" })
                    }
                    0xdc00..=0xdfff => Err(PayloadError::Invalid { offset: at, reason: "lone surrogate escape" }),
                    _ => char::from_u32(u32::from(unit))
                        .ok_or(PayloadError::Invalid { offset: at, reason: "invalid escape" }),
                };
            }
            _ => return Err(PayloadError::Invalid { offset: at, reason: "invalid escape" }),
        };
        self.pos += 1;
        Ok(c)
    }

    fn hex4(&mut self, escape_at: usize) -> Result<u16, PayloadError> {
        let digits = self
            .bytes
            .get(self.pos..self.pos + 4)
            .ok_or(PayloadError::Invalid { offset: escape_at, reason: "\\u needs four hexadecimal digits" })?;
        let mut unit = 0u16;
        for &d in digits {
            let v = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => {
                    return Err(PayloadError::Invalid {
                        offset: escape_at,
                        reason: "\\u needs four hexadecimal digits",
                    })
                }
            };
            unit = unit << 4 | u16::from(v);
        }
        self.pos += 4;
        Ok(unit)
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, copied as written.
    fn number(&mut self, out: &mut Vec<u8>) -> Result<(), PayloadError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.invalid("invalid number: expected a digit")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.invalid("invalid number: expected a digit after '.'"));
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.invalid("invalid number: expected a digit in the exponent"));
            }
            self.digits();
        }
        out.extend_from_slice(&self.bytes[start..self.pos]);
        Ok(())
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn literal(&mut self, out: &mut Vec<u8>, literal: &'static [u8]) -> Result<(), PayloadError> {
        if !self.bytes[self.pos..].starts_with(literal) {
            return Err(self.invalid("expected true, false or null"));
        }
        self.pos += literal.len();
        out.extend_from_slice(literal);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(text: &str) -> String {
        String::from_utf8(signing_payload(text).unwrap_or_else(|e| panic!("{text}: {e}"))).unwrap()
    }

    fn error(text: &str) -> PayloadError {
        signing_payload(text).expect_err(text)
    }

    #[test]
    fn the_signature_member_goes_with_its_comma_wherever_it_is() {
        assert_eq!(payload(r#"{"value":[],"updateTime":"t","signature":"a.b.c"}"#), r#"{"value":[],"updateTime":"t"}"#);
        assert_eq!(payload(r#"{"signature":"a.b.c","value":[],"updateTime":"t"}"#), r#"{"value":[],"updateTime":"t"}"#);
        assert_eq!(payload(r#"{"value":[],"signature":"a.b.c","updateTime":"t"}"#), r#"{"value":[],"updateTime":"t"}"#);
        assert_eq!(payload(r#"{"signature":"a.b.c"}"#), "{}");
        assert_eq!(payload(r#"{ "signature" : null }"#), "{}");
        assert_eq!(payload("{}"), "{}");
        assert_eq!(payload(" \t\r\n{ } \n"), "{}");
    }

    #[test]
    fn null_empty_and_absent_signatures_give_the_same_payload() {
        let expected = r#"{"value":[{"a":1}],"updateTime":"2026-01-01T00:00:00Z","authorityId":"x"}"#;
        for text in [
            r#"{"value":[{"a":1}],"updateTime":"2026-01-01T00:00:00Z","authorityId":"x"}"#,
            r#"{"value":[{"a":1}],"updateTime":"2026-01-01T00:00:00Z","authorityId":"x","signature":null}"#,
            r#"{"value":[{"a":1}],"updateTime":"2026-01-01T00:00:00Z","authorityId":"x","signature":""}"#,
            "{\n  \"value\": [ { \"a\": 1 } ],\n  \"updateTime\": \"2026-01-01T00:00:00Z\",\n  \"authorityId\": \"x\",\n  \"signature\": null\n}\n",
        ] {
            assert_eq!(payload(text), expected, "{text}");
        }
    }

    #[test]
    fn white_space_goes_outside_strings_only() {
        assert_eq!(
            payload("{ \"a b\" :\t\"  x \\t y  \" ,\r\n \"c\" : [ 1 , 2 , { } , [ ] ] }"),
            r#"{"a b":"  x \t y  ","c":[1,2,{},[]]}"#
        );
        // A raw tab or line feed inside a string is invalid JSON, not white space.
        assert!(matches!(error("{\"a\":\"x\ty\"}"), PayloadError::Invalid { offset: 7, .. }));
        assert!(matches!(error("{\"a\":\"x\ny\"}"), PayloadError::Invalid { .. }));
        // Other Unicode spaces are not JSON white space.
        assert!(matches!(error("{\u{a0}\"a\":1}"), PayloadError::Invalid { .. }));
        assert!(matches!(error("{\"a\":1\u{c}}"), PayloadError::Invalid { .. }));
    }

    #[test]
    fn everything_else_is_kept_byte_for_byte() {
        // Key order, number spelling, escapes (including an escaped quote and solidus) and
        // non-ASCII text, as written.
        let text = r#"{"z":1.50E+02,"a":-0.0,"b":1e-7,"e":"\"q\" \\ \/ \u00e9 é 😀 \ud83d\ude00","n":null,"t":true,"f":false}"#;
        assert_eq!(payload(text), text);
        assert_eq!(payload(r#"{"k":"\u0041"}"#), r#"{"k":"\u0041"}"#);
    }

    #[test]
    fn nested_members_named_signature_stay() {
        let text = r#"{"value":[{"signature":"row"}],"meta":{"signature":null},"signature":"x.y.z"}"#;
        assert_eq!(payload(text), r#"{"value":[{"signature":"row"}],"meta":{"signature":null}}"#);
        // A string value "signature" is nothing special either.
        assert_eq!(payload(r#"{"a":"signature","signature":null}"#), r#"{"a":"signature"}"#);
    }

    #[test]
    fn member_names_are_compared_unescaped() {
        assert_eq!(payload(r#"{"sign\u0061ture":"x.y.z","v":1}"#), r#"{"v":1}"#);
        assert!(matches!(
            error(r#"{"signature":null,"sign\u0061ture":"a..b"}"#),
            PayloadError::DuplicateSignature { .. }
        ));
        assert_eq!(error(r#"{"a":1,"\u0061":2}"#), PayloadError::DuplicateMember { name: "a".into(), offset: 7 });
    }

    #[test]
    fn the_signature_is_read_unescaped_and_empty_means_none() {
        let read = read_signed_result(r#"{"v":1,"signature":"ab\u002ecd..ef"}"#).unwrap();
        assert_eq!(read.signature.as_deref(), Some("ab.cd..ef"));
        assert_eq!(read.payload, br#"{"v":1}"#);
        assert_eq!(read_signed_result(r#"{"signature":""}"#).unwrap().signature, None);
        assert_eq!(read_signed_result(r#"{"signature":null}"#).unwrap().signature, None);
        assert_eq!(read_signed_result(r#"{"v":1}"#).unwrap().signature, None);
    }

    #[test]
    fn a_signature_of_another_type_or_twice_is_refused() {
        for value in ["1", "true", "false", "{}", "[]", r#"["a.b.c"]"#] {
            let text = format!(r#"{{"v":1,"signature":{value}}}"#);
            assert_eq!(error(&text), PayloadError::SignatureNotString { offset: 19 }, "{text}");
        }
        assert_eq!(
            error(r#"{"signature":null,"v":1,"signature":"a.b.c"}"#),
            PayloadError::DuplicateSignature { offset: 24 }
        );
    }

    #[test]
    fn duplicate_members_are_refused_at_any_depth() {
        assert!(matches!(error(r#"{"a":1,"a":1}"#), PayloadError::DuplicateMember { .. }));
        assert!(matches!(error(r#"{"v":[{"x":1,"y":2,"x":3}]}"#), PayloadError::DuplicateMember { .. }));
        // The same name in different objects is fine.
        assert_eq!(
            payload(r#"{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}"#),
            r#"{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}"#
        );
    }

    #[test]
    fn only_an_object_is_a_result() {
        for text in ["", "   ", "[]", r#""{}""#, "1", "null", "true", "\u{feff}{}"] {
            assert_eq!(error(text), PayloadError::NotAnObject, "{text:?}");
        }
        assert!(matches!(error("{} {}"), PayloadError::Invalid { reason: "text after the object", .. }));
        assert!(matches!(error("{}x"), PayloadError::Invalid { .. }));
    }

    #[test]
    fn invalid_json_is_refused() {
        for text in [
            "{",
            "{\"a\"",
            "{\"a\":",
            "{\"a\":1",
            "{\"a\":1,}",
            "{,}",
            "{\"a\" 1}",
            "{a:1}",
            "{'a':1}",
            "{\"a\":[1,]}",
            "{\"a\":[1 2]}",
            "{\"a\":01}",
            "{\"a\":1.}",
            "{\"a\":.5}",
            "{\"a\":1e}",
            "{\"a\":+1}",
            "{\"a\":-}",
            "{\"a\":NaN}",
            "{\"a\":Infinity}",
            "{\"a\":tru}",
            "{\"a\":nul}",
            "{\"a\":True}",
            "{\"a\":\"x}",
            "{\"a\":\"\\x\"}",
            "{\"a\":\"\\u12\"}",
            "{\"a\":\"\\u12G4\"}",
            "{\"a\":\"\\ud800\"}",
            "{\"a\":\"\\ud800\\u0041\"}",
            "{\"a\":\"\\udc00\"}",
            "{\"a\":\"\\'\"}",
            "{\"a\":\"\u{1}\"}",
            "{\"a\":1}}",
            "{\"a\":1]",
            "{\"a\":[}",
            "{\"a\":/*c*/1}",
        ] {
            assert!(matches!(error(text), PayloadError::Invalid { .. }), "{text:?}: {:?}", signing_payload(text));
        }
    }

    #[test]
    fn our_json_agrees_with_serde_json_on_what_is_valid() {
        let samples = [
            r#"{"a":[1,-2.5e+3,0.0,"x\u00e9\n",true,false,null,{"b":{}}]}"#,
            r#"{"a":1E5,"b":-0,"c":"\ud83d\ude00"}"#,
            r#"{"a":"\ud83d"}"#,
            r#"{"a":00}"#,
            r#"{"a":[,]}"#,
        ];
        for text in samples {
            assert_eq!(
                signing_payload(text).is_ok(),
                serde_json::from_str::<serde_json::Value>(text).is_ok(),
                "{text}"
            );
        }
    }

    /// A pseudo-random JSON value (a small linear congruential generator: no dependency).
    fn arbitrary(seed: &mut u64, depth: usize) -> serde_json::Value {
        use serde_json::Value;
        fn next(seed: &mut u64, n: u64) -> u64 {
            *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (*seed >> 33) % n
        }
        let strings = ["", "signature", "a b", "\"q\"", "tab\there", "é😀", "\u{1}", "/", "line\nfeed"];
        match if depth > 4 { next(seed, 5) } else { next(seed, 7) } {
            0 => Value::Null,
            1 => Value::Bool(next(seed, 2) == 0),
            2 => Value::from(next(seed, 1_000_000) as i64 - 500_000),
            3 => Value::from((next(seed, 1_000_000) as f64 - 500_000.0) / 128.0),
            4 => Value::from(strings[next(seed, strings.len() as u64) as usize]),
            5 => Value::Array((0..next(seed, 4)).map(|_| arbitrary(seed, depth + 1)).collect()),
            _ => {
                let mut map = serde_json::Map::new();
                for i in 0..next(seed, 4) {
                    let name = format!("{}{i}", strings[next(seed, strings.len() as u64) as usize]);
                    map.insert(name, arbitrary(seed, depth + 1));
                }
                Value::Object(map)
            }
        }
    }

    #[test]
    fn pretty_printed_results_give_serde_json_s_compact_text() {
        let mut seed = 7;
        for _ in 0..500 {
            let mut result = serde_json::Map::new();
            result.insert("value".into(), arbitrary(&mut seed, 1));
            result.insert("updateTime".into(), "2026-11-22T10:41:58.123Z".into());
            let compact = serde_json::Value::Object(result.clone()).to_string();
            result.insert("signature".into(), "x.y.z".into());
            let pretty = serde_json::to_string_pretty(&serde_json::Value::Object(result)).unwrap();
            assert_eq!(payload(&pretty), compact, "{pretty}");
        }
    }

    #[test]
    fn depth_and_size_are_bounded() {
        let nested = |depth: usize| format!("{{\"a\":{}1{}}}", "[".repeat(depth - 1), "]".repeat(depth - 1));
        assert!(signing_payload(&nested(MAX_DEPTH)).is_ok());
        assert!(matches!(error(&nested(MAX_DEPTH + 1)), PayloadError::TooDeep { max: MAX_DEPTH, .. }));
        let deep_objects = format!("{}{}", "{\"a\":".repeat(MAX_DEPTH + 1), "}".repeat(MAX_DEPTH + 1));
        assert!(matches!(error(&deep_objects), PayloadError::TooDeep { .. }));
        // Far deeper than the stack could take, refused at the limit all the same.
        assert!(matches!(error(&"[".repeat(100_000).replacen('[', "{\"a\":", 1)), PayloadError::TooDeep { .. }));
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_RESULT_LEN));
        assert_eq!(error(&big), PayloadError::TooLarge { len: MAX_RESULT_LEN + 8, max: MAX_RESULT_LEN });
        let just_fits = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_RESULT_LEN - 8));
        assert_eq!(signing_payload(&just_fits).unwrap().len(), MAX_RESULT_LEN);
    }

    #[test]
    fn errors_say_where() {
        assert_eq!(error("{\"a\":1,\n \"b\":x}"), PayloadError::Invalid { offset: 13, reason: "expected a value" });
        assert_eq!(error("{\"a\":1,\n \"b\":x}").to_string(), "invalid JSON at byte 13: expected a value");
    }

    #[test]
    fn a_sample_result_as_the_spec_shows_it() {
        let pushed = r#"{
            "value": [ { "uptime": 99.95, "period": "2026-11" } ],
            "updateTime": "2026-11-22T10:41:58.123Z",
            "authorityId": "monitor.example",
            "signature": "eyJhbGciOiJSUzI1NiJ9..c2ln"
        }"#;
        let read = read_signed_result(pushed).unwrap();
        assert_eq!(
            read.payload,
            br#"{"value":[{"uptime":99.95,"period":"2026-11"}],"updateTime":"2026-11-22T10:41:58.123Z","authorityId":"monitor.example"}"#
        );
        assert_eq!(read.signature.as_deref(), Some("eyJhbGciOiJSUzI1NiJ9..c2ln"));
    }
}
