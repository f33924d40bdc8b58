//! C2SP signed-note v1.0.0 with Ed25519 keys, interoperable with Go's
//! `golang.org/x/mod/sumdb/note`.
//!
//! A signed note is a UTF-8 text (no control characters but newline, ending with a newline),
//! a blank line, then one line per signature: `— <name> <base64(key id || signature)>`, the dash
//! being U+2014 followed by a space. The key id is the first 4 bytes (big-endian) of
//! SHA-256(name || 0x0A || 0x01 || public key). Keys are written as text:
//! verifier `<name>+<8 hex digits of the key id>+<base64(0x01 || public key)>`, signer
//! `PRIVATE+KEY+<name>+<key id>+<base64(0x01 || 32-byte seed)>`.

use std::collections::BTreeSet;
use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};

use crate::error::{Error, Result};
use crate::hash::sha256;

/// The largest note [`open`] reads.
pub const MAX_NOTE_SIZE: usize = 64 * 1024;

/// The most signature lines [`open`] reads.
pub const MAX_SIGNATURES: usize = 100;

/// The algorithm byte of Ed25519 keys.
const ALG_ED25519: u8 = 1;

/// The start of a signature line: U+2014 EM DASH and a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// Whether `name` can name a key: non-empty, no whitespace, no `+`, no control character.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c.is_control() || c == '+')
}

/// The key id of an Ed25519 public key named `name`.
pub fn key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    let mut data = Vec::with_capacity(name.len() + 34);
    data.extend_from_slice(name.as_bytes());
    data.push(b'\n');
    data.push(ALG_ED25519);
    data.extend_from_slice(public_key);
    let hash = sha256(&data);
    u32::from_be_bytes([hash.0[0], hash.0[1], hash.0[2], hash.0[3]])
}

/// Splits `<name>+<hex key id>+<base64 key>` and checks the algorithm byte and the key length.
fn parse_key_text(text: &str) -> Result<(String, u32, [u8; 32])> {
    let bad = Error::BadKey;
    let (name, rest) = text.split_once('+').ok_or(bad("no + after the name"))?;
    let (id, key) = rest.split_once('+').ok_or(bad("no + after the key id"))?;
    if !is_valid_key_name(name) {
        return Err(bad("invalid key name"));
    }
    if id.len() != 8 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("the key id is not 8 hex digits"));
    }
    let id = u32::from_str_radix(id, 16).map_err(|_| bad("the key id is not 8 hex digits"))?;
    let key = STANDARD.decode(key).map_err(|_| bad("the key is not base64"))?;
    match key.split_first() {
        Some((&ALG_ED25519, key)) => {
            let key = <[u8; 32]>::try_from(key).map_err(|_| bad("an Ed25519 key is 32 bytes"))?;
            Ok((name.to_owned(), id, key))
        }
        Some(_) => Err(bad("not an Ed25519 key")),
        None => Err(bad("an empty key")),
    }
}

fn key_text(name: &str, id: u32, key: &[u8; 32]) -> String {
    let mut bytes = vec![ALG_ED25519];
    bytes.extend_from_slice(key);
    format!("{name}+{id:08x}+{}", STANDARD.encode(bytes))
}

/// A public key that checks signatures.
#[derive(Clone, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    key_id: u32,
    public_key: [u8; 32],
}

impl Verifier {
    /// A verifier for `public_key` named `name`.
    pub fn new(name: &str, public_key: [u8; 32]) -> Result<Verifier> {
        if !is_valid_key_name(name) {
            return Err(Error::BadKey("invalid key name"));
        }
        Ok(Verifier { name: name.to_owned(), key_id: key_id(name, &public_key), public_key })
    }

    /// Parses a verifier key text `<name>+<hex key id>+<base64(0x01 || public key)>`.
    pub fn from_key_text(text: &str) -> Result<Verifier> {
        let (name, id, public_key) = parse_key_text(text)?;
        if id != key_id(&name, &public_key) {
            return Err(Error::BadKey("the key id does not match the key"));
        }
        Ok(Verifier { name, key_id: id, public_key })
    }

    /// The verifier key text.
    pub fn key_text(&self) -> String {
        key_text(&self.name, self.key_id, &self.public_key)
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }

    /// Whether `signature` is this key's Ed25519 signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.public_key).verify(message, signature).is_ok()
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Verifier").field(&self.key_text()).finish()
    }
}

/// A private key that signs notes.
pub struct Signer {
    name: String,
    key_id: u32,
    seed: [u8; 32],
    pair: Ed25519KeyPair,
}

impl Signer {
    /// A new random key named `name` (from the operating system's random source).
    pub fn generate(name: &str) -> Result<Signer> {
        let mut seed = [0u8; 32];
        SystemRandom::new().fill(&mut seed).map_err(|_| Error::BadKey("no randomness for a new key"))?;
        Signer::from_seed(name, seed)
    }

    /// The key with this Ed25519 seed (the 32-byte private key of RFC 8032).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Signer> {
        if !is_valid_key_name(name) {
            return Err(Error::BadKey("invalid key name"));
        }
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed).map_err(|_| Error::BadKey("not an Ed25519 seed"))?;
        let public = <[u8; 32]>::try_from(pair.public_key().as_ref()).map_err(|_| Error::BadKey("public key"))?;
        Ok(Signer { name: name.to_owned(), key_id: key_id(name, &public), seed, pair })
    }

    /// Parses a signer key text `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>`.
    pub fn from_key_text(text: &str) -> Result<Signer> {
        let rest = text.strip_prefix("PRIVATE+KEY+").ok_or(Error::BadKey("no PRIVATE+KEY+ prefix"))?;
        let (name, id, seed) = parse_key_text(rest)?;
        let signer = Signer::from_seed(&name, seed)?;
        if signer.key_id != id {
            return Err(Error::BadKey("the key id does not match the key"));
        }
        Ok(signer)
    }

    /// The signer key text (a secret).
    pub fn key_text(&self) -> String {
        format!("PRIVATE+KEY+{}", key_text(&self.name, self.key_id, &self.seed))
    }

    /// The matching verifier.
    pub fn verifier(&self) -> Verifier {
        let mut public_key = [0u8; 32];
        public_key.copy_from_slice(self.pair.public_key().as_ref());
        Verifier { name: self.name.clone(), key_id: self.key_id, public_key }
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The Ed25519 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let mut out = [0u8; 64];
        out.copy_from_slice(self.pair.sign(message).as_ref());
        out
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer").field("name", &self.name).field("key_id", &format!("{:08x}", self.key_id)).finish()
    }
}

/// A signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// The key name.
    pub name: String,
    /// The key id.
    pub key_id: u32,
    /// The base64 of key id || signature, as in the note.
    pub base64: String,
}

/// An opened note: its text and its signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The text, ending with a newline (without the blank line).
    pub text: String,
    /// The signatures by known keys, all valid.
    pub signatures: Vec<Signature>,
    /// The signatures by unknown keys, not checked.
    pub unverified: Vec<Signature>,
}

fn check_text(text: &str) -> Result<()> {
    if text.is_empty() || !text.ends_with('\n') {
        return Err(Error::MalformedNote("the text does not end with a newline"));
    }
    if text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(Error::MalformedNote("a control character"));
    }
    Ok(())
}

/// Signs `text` (non-empty, ending with a newline) with every signer: the signed note.
pub fn sign(text: &str, signers: &[&Signer]) -> Result<String> {
    check_text(text)?;
    if signers.is_empty() {
        return Err(Error::MalformedNote("no signer"));
    }
    let mut out = format!("{text}\n");
    for signer in signers {
        let mut bytes = signer.key_id.to_be_bytes().to_vec();
        bytes.extend_from_slice(&signer.sign(text.as_bytes()));
        out.push_str(&format!("{SIGNATURE_PREFIX}{} {}\n", signer.name, STANDARD.encode(bytes)));
    }
    if out.len() > MAX_NOTE_SIZE {
        return Err(Error::MalformedNote("too large"));
    }
    Ok(out)
}

/// Opens a signed note: checks its form and the signatures by the `known` keys. Signatures
/// by unknown keys are kept unverified; a known key's bad signature is an error; at least one
/// known key's signature is required.
pub fn open(note: &[u8], known: &[Verifier]) -> Result<Note> {
    let bad = Error::MalformedNote;
    if note.len() > MAX_NOTE_SIZE {
        return Err(bad("too large"));
    }
    let note = std::str::from_utf8(note).map_err(|_| bad("not UTF-8"))?;
    if note.chars().any(|c| c < ' ' && c != '\n') {
        return Err(bad("a control character"));
    }
    let split = note.rfind("\n\n").ok_or(bad("no blank line before the signatures"))?;
    let (text, lines) = (&note[..split + 1], &note[split + 2..]);
    let lines = lines.strip_suffix('\n').ok_or(bad("the signatures do not end with a newline"))?;
    let mut out = Note { text: text.to_owned(), signatures: Vec::new(), unverified: Vec::new() };
    let mut seen = BTreeSet::new();
    for (count, line) in lines.split('\n').enumerate() {
        if count >= MAX_SIGNATURES {
            return Err(bad("too many signatures"));
        }
        let line = line.strip_prefix(SIGNATURE_PREFIX).ok_or(bad("a signature line does not start with —"))?;
        let (name, encoded) = line.split_once(' ').ok_or(bad("a signature line without a signature"))?;
        if !is_valid_key_name(name) {
            return Err(bad("invalid key name in a signature line"));
        }
        let raw = STANDARD.decode(encoded).map_err(|_| bad("a signature is not base64"))?;
        if raw.len() < 5 {
            return Err(bad("a signature is too short"));
        }
        let key_id = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
        let signature = Signature { name: name.to_owned(), key_id, base64: encoded.to_owned() };
        match known.iter().find(|v| v.name == name && v.key_id == key_id) {
            None => {
                if !out.unverified.contains(&signature) {
                    out.unverified.push(signature);
                }
            }
            Some(verifier) => {
                if !seen.insert((name, key_id)) {
                    continue;
                }
                if !verifier.verify(text.as_bytes(), &raw[4..]) {
                    return Err(Error::InvalidSignature { name: name.to_owned(), key_id });
                }
                out.signatures.push(signature);
            }
        }
    }
    if out.signatures.is_empty() {
        return Err(Error::UnverifiedNote);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const TEXT: &str = "example.com/log\n3\nqmxGVo4Q3+NaTy8rVN0JzJQhAYXsqb98I5YA5BlCj8E=\n";

    #[test]
    fn sign_then_open() {
        let signer = Signer::generate("example.com/log").unwrap();
        let verifier = Verifier::from_key_text(&signer.verifier().key_text()).unwrap();
        assert_eq!(verifier, signer.verifier());
        let note = sign(TEXT, &[&signer]).unwrap();
        assert!(note.starts_with(&format!("{TEXT}\n\u{2014} example.com/log ")));
        assert!(note.ends_with('\n'));
        let opened = open(note.as_bytes(), std::slice::from_ref(&verifier)).unwrap();
        assert_eq!(opened.text, TEXT);
        assert_eq!(opened.signatures.len(), 1);
        assert_eq!(opened.signatures[0].key_id, signer.key_id());
        // The signer's key text reads back to the same key.
        let again = Signer::from_key_text(&signer.key_text()).unwrap();
        assert_eq!(sign(TEXT, &[&again]).unwrap(), note);
    }

    #[test]
    fn wrong_key_tampered_text_and_unknown_keys() {
        let signer = Signer::generate("example.com/log").unwrap();
        let other = Signer::generate("example.com/log").unwrap();
        let witness = Signer::generate("witness.example").unwrap();
        let note = sign(TEXT, &[&signer, &witness]).unwrap();
        // Only the log's key known: the witness's signature is kept unverified.
        let opened = open(note.as_bytes(), &[signer.verifier()]).unwrap();
        assert_eq!(opened.unverified.len(), 1);
        assert_eq!(opened.unverified[0].name, "witness.example");
        // Another key with the same name: unknown key id, so no known signature.
        assert!(matches!(open(note.as_bytes(), &[other.verifier()]), Err(Error::UnverifiedNote)));
        assert!(matches!(open(note.as_bytes(), &[]), Err(Error::UnverifiedNote)));
        // Tampered text: the known key's signature fails.
        let tampered = note.replacen("\n3\n", "\n4\n", 1);
        assert!(matches!(open(tampered.as_bytes(), &[signer.verifier()]), Err(Error::InvalidSignature { .. })));
        // A forged key id in the verifier text is refused.
        let text = signer.verifier().key_text();
        let forged = text.replacen(&format!("+{:08x}+", signer.key_id()), "+00000000+", 1);
        assert!(Verifier::from_key_text(&forged).is_err());
    }

    #[test]
    fn malformed_notes_are_rejected() {
        let signer = Signer::generate("example.com/log").unwrap();
        let known = [signer.verifier()];
        let note = sign(TEXT, &[&signer]).unwrap();
        let sig_line = note.lines().last().unwrap().to_owned();
        for bad in [
            String::new(),
            TEXT.to_owned(),
            format!("{TEXT}\n"),
            note.trim_end().to_owned(),
            note.replace('\u{2014}', "-"),
            note.replace("\u{2014} ", "\u{2014}"),
            note.replace(&sig_line, &sig_line.replace(' ', "  ")),
            format!("{note}\n"),
            format!("{note}garbage\n"),
            note.replacen("example.com/log\n3", "example.com/log\r\n3", 1),
            note.replacen("3", "\u{7}", 1),
            format!("{TEXT}\n\u{2014} example.com/log AAAA\n"),
            format!("{TEXT}\n\u{2014} example.com/log !!!!\n"),
            format!("{TEXT}\n\u{2014}  {}\n", &sig_line[sig_line.rfind(' ').unwrap() + 1..]),
            format!("{}{}", note, format!("{sig_line}\n").repeat(MAX_SIGNATURES)),
            format!("{}{}", "x".repeat(MAX_NOTE_SIZE), note),
        ] {
            assert!(open(bad.as_bytes(), &known).is_err(), "{bad:?} accepted");
        }
        assert!(open(&[0xff, b'\n', b'\n'], &known).is_err());
        // A repeated signature line is read once.
        let twice = format!("{note}{sig_line}\n");
        assert_eq!(open(twice.as_bytes(), &known).unwrap().signatures.len(), 1);
        for bad in ["", "no newline", "a\u{1}\n"] {
            assert!(sign(bad, &[&signer]).is_err());
        }
        assert!(sign(TEXT, &[]).is_err());
    }

    #[test]
    fn key_names_and_key_texts() {
        for name in ["", "a b", "a+b", "a\tb", "a\u{a0}b", "a\u{2003}b"] {
            assert!(Signer::generate(name).is_err(), "{name:?}");
        }
        let signer = Signer::from_seed("example.com/log", [7; 32]).unwrap();
        let text = signer.key_text();
        assert!(text.starts_with("PRIVATE+KEY+example.com/log+"));
        assert_eq!(Signer::from_key_text(&text).unwrap().key_id(), signer.key_id());
        for bad in [
            text.replacen("PRIVATE", "PUBLIC", 1),
            text.replacen("+KEY+", "+KEYS+", 1),
            text.replace("+A", "+B"),
            format!("{text}AAAA"),
            signer.verifier().key_text(),
        ] {
            assert!(Signer::from_key_text(&bad).is_err(), "{bad}");
        }
        let verifier = signer.verifier().key_text();
        assert_eq!(verifier.split('+').nth(1).unwrap(), format!("{:08x}", signer.key_id()));
        for bad in ["", "a", "a+b", "a+0000000+AQ==", "a+00000000", "a+00000000+", text.as_str()] {
            assert!(Verifier::from_key_text(bad).is_err(), "{bad}");
        }
        // 0x02 is no algorithm this crate knows.
        let wrong_alg = format!("{}+{}", &verifier[..verifier.rfind('+').unwrap()], STANDARD.encode([2u8; 33]));
        assert!(Verifier::from_key_text(&wrong_alg).is_err());
    }

    proptest! {
        #[test]
        fn hostile_notes_do_not_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), text in "\\PC{0,200}") {
            let known = [Signer::from_seed("a", [1; 32]).unwrap().verifier()];
            let _ = open(&bytes, &known);
            let _ = open(text.as_bytes(), &known);
            let _ = Verifier::from_key_text(&text);
            let _ = Signer::from_key_text(&text);
        }
    }
}
