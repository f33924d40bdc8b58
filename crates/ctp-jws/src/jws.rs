//! Compact JWS (RFC 7515): signing, and strict verification against keys the caller trusts.

use serde_json::{Map, Value};

use crate::b64;
use crate::key::{Algorithm, KeyError, PrivateKey, PublicKey};
use crate::payload::{self, PayloadError, MAX_RESULT_LEN};

/// The longest encoded header accepted, in bytes.
pub const MAX_HEADER_LEN: usize = 4096;
/// The longest encoded signature accepted, in bytes (an 8192-bit RSA signature is 1366).
pub const MAX_SIGNATURE_LEN: usize = 2048;
/// The longest JWS accepted, in bytes: a header, a payload of a result of
/// [`MAX_RESULT_LEN`](crate::MAX_RESULT_LEN) bytes, a signature and the two dots.
pub const MAX_JWS_LEN: usize = MAX_HEADER_LEN + MAX_RESULT_LEN.div_ceil(3) * 4 + MAX_SIGNATURE_LEN + 2;

/// When a key may be used, in Unix seconds, both ends included; `None` is unbounded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Validity {
    /// The first second the key is valid.
    pub not_before: Option<i64>,
    /// The last second the key is valid.
    pub not_after: Option<i64>,
}

impl Validity {
    /// Valid at any time.
    pub const ALWAYS: Validity = Validity { not_before: None, not_after: None };
}

/// A key the caller trusts to have signed for an authority: its `kid`, the public key (which
/// says its algorithm) and when it is valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedKey {
    /// The key id a JWS header names it by.
    pub kid: String,
    /// The public key; its [`PublicKey::algorithm`] is the only `alg` accepted with it.
    pub key: PublicKey,
    /// When it may verify.
    pub validity: Validity,
}

/// What a successful verification found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The algorithm of the signature (the key's).
    pub alg: Algorithm,
    /// The key that verified it.
    pub kid: String,
    /// Whether the JWS had a detached payload (`header..signature`, RFC 7515 appendix F).
    pub detached: bool,
}

/// Why a signature was refused. The messages are meant for the client that pushed the result
/// (a 400's error body) and name no secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The JWS is longer than [`MAX_JWS_LEN`] (or its header or signature part than theirs).
    #[error("the signature is too large: {len} bytes, at most {max}")]
    TooLarge {
        /// The length of what was too large.
        len: usize,
        /// The largest accepted.
        max: usize,
    },
    /// Not a compact JWS: not three parts, not base64url, a header that is not a JSON object,
    /// `alg` or `kid` not strings.
    #[error("malformed signature: {0}")]
    Malformed(String),
    /// A header member this verifier refuses: `crit` (no extension is understood), `b64`
    /// (unencoded payloads), `jwk`/`jku`/`x5u`/`x5c` (keys are never taken from the token),
    /// `zip`.
    #[error("the signature's header {name} is not accepted: {reason}")]
    UnsupportedHeader {
        /// The header member.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// An `alg` this verifier never accepts: `none`, the HMAC ones, any but RS256, ES256
    /// and EdDSA.
    #[error("signature algorithm {alg:?} is not allowed (allowed: RS256, ES256, EdDSA)")]
    AlgorithmNotAllowed {
        /// The header's `alg`.
        alg: String,
    },
    /// The header has no `kid`.
    #[error("the signature's header has no kid: it must name one of the authority's keys")]
    MissingKeyId,
    /// No trusted key has the header's `kid`.
    #[error("unknown key id {kid:?}: no key of the authority has it")]
    UnknownKeyId {
        /// The header's `kid`.
        kid: String,
    },
    /// More than one trusted key has the header's `kid`.
    #[error("key id {kid:?} names more than one key of the authority")]
    AmbiguousKeyId {
        /// The header's `kid`.
        kid: String,
    },
    /// The header's `alg` is not the key's algorithm (algorithm confusion).
    #[error("the signature's alg is {alg} but key {kid:?} is for {key_alg} (algorithm confusion refused)")]
    AlgorithmMismatch {
        /// The header's `alg`.
        alg: Algorithm,
        /// The key's id.
        kid: String,
        /// The key's algorithm.
        key_alg: Algorithm,
    },
    /// The key is not valid yet at the time checked.
    #[error("key {kid:?} is not valid yet: valid from {not_before} (Unix time), checked at {at}")]
    KeyNotYetValid {
        /// The key's id.
        kid: String,
        /// Its first valid second.
        not_before: i64,
        /// The time checked.
        at: i64,
    },
    /// The key has expired at the time checked.
    #[error("key {kid:?} has expired: valid until {not_after} (Unix time), checked at {at}")]
    KeyExpired {
        /// The key's id.
        kid: String,
        /// Its last valid second.
        not_after: i64,
        /// The time checked.
        at: i64,
    },
    /// The JWS carries a payload that is not the one being verified.
    #[error(
        "the payload in the signature is not the result's payload (the result without its signature member, \
         white space removed)"
    )]
    PayloadMismatch,
    /// The signature does not verify with the key.
    #[error("bad signature: it does not verify with key {kid:?}")]
    BadSignature {
        /// The key's id.
        kid: String,
    },
    /// [`verify_result`]: the result has no signature (absent, `null` or empty).
    #[error("the result has no signature")]
    NoSignature,
    /// [`verify_result`]: the result text has no payload.
    #[error("the result cannot be checked: {0}")]
    InvalidResult(PayloadError),
}

/// Why signing failed.
pub type SignError = KeyError;

/// A compact JWS `header.payload.signature` of `payload` with `key`, its header
/// `{"alg":..,"kid":..}`. For a result, `payload` is [`signing_payload`](crate::signing_payload)
/// of the result text.
pub fn sign(payload: &[u8], key: &PrivateKey, kid: &str) -> Result<String, SignError> {
    sign_with(payload, key, kid, false)
}

/// A compact JWS with a detached payload, `header..signature` (RFC 7515 appendix F): what
/// [`sign`] makes without the payload part, shorter to carry in the result it signs.
pub fn sign_detached(payload: &[u8], key: &PrivateKey, kid: &str) -> Result<String, SignError> {
    sign_with(payload, key, kid, true)
}

fn sign_with(payload: &[u8], key: &PrivateKey, kid: &str, detached: bool) -> Result<String, SignError> {
    let header = format!("{{\"alg\":\"{}\",\"kid\":{}}}", key.algorithm().name(), Value::from(kid));
    let signing_input = format!("{}.{}", b64::encode(header.as_bytes()), b64::encode(payload));
    let signature = b64::encode(&key.sign_raw(signing_input.as_bytes())?);
    Ok(if detached {
        let (header, _) = signing_input.split_once('.').unwrap_or_default();
        format!("{header}..{signature}")
    } else {
        format!("{signing_input}.{signature}")
    })
}

/// Verifies that `jws` (compact serialization) is a signature of `payload` by one of `keys`,
/// valid at `at` (Unix seconds). The payload part of `jws` is either empty (a detached
/// payload, RFC 7515 appendix F) or exactly base64url(`payload`).
///
/// Strict, in this order: the size; three dot-separated parts of canonical base64url without
/// padding; a header that is a JSON object without duplicate members, without `crit`, `b64`,
/// `jwk`, `jku`, `x5u`, `x5c` or `zip`; an `alg` of RS256, ES256 or EdDSA (never `none` or
/// HMAC); a `kid` naming exactly one key; `alg` equal to that key's algorithm; the key valid
/// at `at`; the payload; the signature.
pub fn verify(jws: &str, payload: &[u8], keys: &[TrustedKey], at: i64) -> Result<Verified, VerifyError> {
    if jws.len() > MAX_JWS_LEN {
        return Err(VerifyError::TooLarge { len: jws.len(), max: MAX_JWS_LEN });
    }
    let parts: Vec<&str> = jws.split('.').collect();
    let [header_part, payload_part, signature_part] = parts[..] else {
        return Err(VerifyError::Malformed(format!(
            "a compact JWS has three parts separated by dots, this one has {}",
            parts.len()
        )));
    };
    if header_part.len() > MAX_HEADER_LEN {
        return Err(VerifyError::TooLarge { len: header_part.len(), max: MAX_HEADER_LEN });
    }
    if signature_part.len() > MAX_SIGNATURE_LEN {
        return Err(VerifyError::TooLarge { len: signature_part.len(), max: MAX_SIGNATURE_LEN });
    }
    let malformed = |what: &str, why: &str| VerifyError::Malformed(format!("{what}: {why}"));
    let header = b64::decode(header_part).map_err(|e| malformed("the header", e))?;
    let header = std::str::from_utf8(&header).map_err(|_| malformed("the header", "not UTF-8"))?;
    payload::parse_object(header, MAX_HEADER_LEN).map_err(|e| malformed("the header", &e.to_string()))?;
    let header: Map<String, Value> =
        serde_json::from_str(header).map_err(|e| malformed("the header", &e.to_string()))?;
    for (name, reason) in [
        ("crit", "no critical extension is understood here"),
        ("b64", "the payload must be base64url-encoded (RFC 7797 unencoded payloads are refused)"),
        ("jwk", "keys are never taken from the signature; kid names one of the authority's keys"),
        ("jku", "keys are never fetched from the signature; kid names one of the authority's keys"),
        ("x5u", "keys are never fetched from the signature; kid names one of the authority's keys"),
        ("x5c", "keys are never taken from the signature; kid names one of the authority's keys"),
        ("zip", "compression is for JWE, not JWS"),
    ] {
        if header.contains_key(name) {
            return Err(VerifyError::UnsupportedHeader { name: name.into(), reason });
        }
    }
    let alg = match header.get("alg") {
        Some(Value::String(alg)) => alg,
        Some(_) => return Err(malformed("the header", "alg is not a string")),
        None => return Err(malformed("the header", "no alg")),
    };
    let alg = Algorithm::from_name(alg).ok_or_else(|| VerifyError::AlgorithmNotAllowed { alg: alg.clone() })?;
    let kid = match header.get("kid") {
        Some(Value::String(kid)) => kid,
        Some(_) => return Err(malformed("the header", "kid is not a string")),
        None => return Err(VerifyError::MissingKeyId),
    };
    let mut named = keys.iter().filter(|k| k.kid == *kid);
    let key = named.next().ok_or_else(|| VerifyError::UnknownKeyId { kid: kid.clone() })?;
    if named.next().is_some() {
        return Err(VerifyError::AmbiguousKeyId { kid: kid.clone() });
    }
    let key_alg = key.key.algorithm();
    if alg != key_alg {
        return Err(VerifyError::AlgorithmMismatch { alg, kid: kid.clone(), key_alg });
    }
    if let Some(not_before) = key.validity.not_before.filter(|not_before| at < *not_before) {
        return Err(VerifyError::KeyNotYetValid { kid: kid.clone(), not_before, at });
    }
    if let Some(not_after) = key.validity.not_after.filter(|not_after| at > *not_after) {
        return Err(VerifyError::KeyExpired { kid: kid.clone(), not_after, at });
    }
    let encoded_payload = b64::encode(payload);
    let detached = payload_part.is_empty();
    if !detached {
        b64::decode(payload_part).map_err(|e| malformed("the payload part", e))?;
        if payload_part != encoded_payload {
            return Err(VerifyError::PayloadMismatch);
        }
    }
    let signature = b64::decode(signature_part).map_err(|e| malformed("the signature part", e))?;
    let signing_input = format!("{header_part}.{encoded_payload}");
    if !key.key.verify_raw(signing_input.as_bytes(), &signature) {
        return Err(VerifyError::BadSignature { kid: kid.clone() });
    }
    Ok(Verified { alg, kid: kid.clone(), detached })
}

/// Verifies the `signature` member of a result text (as pushed, or as the server returns it)
/// against its payload: [`read_signed_result`](crate::read_signed_result) then [`verify`].
pub fn verify_result(result_json_text: &str, keys: &[TrustedKey], at: i64) -> Result<Verified, VerifyError> {
    let result = payload::read_signed_result(result_json_text).map_err(VerifyError::InvalidResult)?;
    let signature = result.signature.ok_or(VerifyError::NoSignature)?;
    verify(&signature, &result.payload, keys, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA_PEM: &str = include_str!("../tests/data/rsa-2048-test-only.pem");
    const PAYLOAD: &[u8] = br#"{"value":[{"a":1}],"updateTime":"2026-11-22T10:41:58.123Z","authorityId":"m"}"#;

    struct Fixture {
        rsa: PrivateKey,
        es: PrivateKey,
        ed: PrivateKey,
        keys: Vec<TrustedKey>,
    }

    fn fixture() -> Fixture {
        let rsa = PrivateKey::from_pkcs8_pem(RSA_PEM).unwrap();
        let es = PrivateKey::generate(Algorithm::Es256).unwrap();
        let ed = PrivateKey::generate(Algorithm::EdDsa).unwrap();
        let keys = [("rsa", &rsa), ("es", &es), ("ed", &ed)]
            .into_iter()
            .map(|(kid, k)| TrustedKey { kid: kid.into(), key: k.public_key(), validity: Validity::ALWAYS })
            .collect();
        Fixture { rsa, es, ed, keys }
    }

    /// A token with `header` over PAYLOAD, signed by `key` (as if by a careless or hostile signer).
    fn forge(header: &str, key: &PrivateKey) -> String {
        let input = format!("{}.{}", b64::encode(header.as_bytes()), b64::encode(PAYLOAD));
        format!("{input}.{}", b64::encode(&key.sign_raw(input.as_bytes()).unwrap()))
    }

    #[test]
    fn each_algorithm_signs_and_verifies_attached_and_detached() {
        let f = fixture();
        for (kid, key) in [("rsa", &f.rsa), ("es", &f.es), ("ed", &f.ed)] {
            let attached = sign(PAYLOAD, key, kid).unwrap();
            let verified = verify(&attached, PAYLOAD, &f.keys, 0).unwrap();
            assert_eq!(verified, Verified { alg: key.algorithm(), kid: kid.into(), detached: false });
            let detached = sign_detached(PAYLOAD, key, kid).unwrap();
            assert!(detached.contains(".."));
            assert!(verify(&detached, PAYLOAD, &f.keys, 0).unwrap().detached);
            let header = attached.split('.').next().unwrap();
            let header = String::from_utf8(b64::decode(header).unwrap()).unwrap();
            assert_eq!(header, format!(r#"{{"alg":"{}","kid":"{kid}"}}"#, key.algorithm()));
            // Another payload: attached says so, detached fails the signature.
            assert_eq!(verify(&attached, b"{}", &f.keys, 0), Err(VerifyError::PayloadMismatch));
            assert_eq!(verify(&detached, b"{}", &f.keys, 0), Err(VerifyError::BadSignature { kid: kid.into() }));
        }
    }

    #[test]
    fn kid_is_escaped_in_the_header() {
        let f = fixture();
        let kid = "a \"quoted\" \\ kid é";
        let keys = [TrustedKey { kid: kid.into(), key: f.ed.public_key(), validity: Validity::ALWAYS }];
        let jws = sign(PAYLOAD, &f.ed, kid).unwrap();
        assert_eq!(verify(&jws, PAYLOAD, &keys, 0).unwrap().kid, kid);
    }

    #[test]
    fn the_algorithm_comes_from_the_key_never_from_the_token() {
        let f = fixture();
        for alg in ["none", "HS256", "HS384", "HS512", "RS512", "PS256", "ES384", "Ed25519", "rs256"] {
            let jws = forge(&format!(r#"{{"alg":"{alg}","kid":"rsa"}}"#), &f.rsa);
            assert_eq!(verify(&jws, PAYLOAD, &f.keys, 0), Err(VerifyError::AlgorithmNotAllowed { alg: alg.into() }));
        }
        // An RS256 token naming the Ed25519 key.
        let jws = forge(r#"{"alg":"RS256","kid":"ed"}"#, &f.rsa);
        assert_eq!(
            verify(&jws, PAYLOAD, &f.keys, 0),
            Err(VerifyError::AlgorithmMismatch { alg: Algorithm::Rs256, kid: "ed".into(), key_alg: Algorithm::EdDsa })
        );
        // The unsecured JWS of RFC 7515 appendix A.5 shape: empty signature.
        let none = format!("{}.{}.", b64::encode(br#"{"alg":"none","kid":"rsa"}"#), b64::encode(PAYLOAD));
        assert!(matches!(verify(&none, PAYLOAD, &f.keys, 0), Err(VerifyError::AlgorithmNotAllowed { .. })));
    }

    #[test]
    fn headers_that_are_refused() {
        let f = fixture();
        let jwk = Value::Object(f.ed.public_key().to_jwk()).to_string();
        for (header, name) in [
            (r#"{"alg":"EdDSA","kid":"ed","crit":["exp"],"exp":1}"#.to_owned(), "crit"),
            (r#"{"alg":"EdDSA","kid":"ed","b64":false,"crit":["b64"]}"#.to_owned(), "crit"),
            (r#"{"alg":"EdDSA","kid":"ed","b64":false}"#.to_owned(), "b64"),
            (format!(r#"{{"alg":"EdDSA","kid":"ed","jwk":{jwk}}}"#), "jwk"),
            (r#"{"alg":"EdDSA","kid":"ed","jku":"https://example.invalid/k"}"#.to_owned(), "jku"),
            (r#"{"alg":"EdDSA","kid":"ed","x5u":"https://example.invalid/c"}"#.to_owned(), "x5u"),
            (r#"{"alg":"EdDSA","kid":"ed","x5c":["MII"]}"#.to_owned(), "x5c"),
            (r#"{"alg":"EdDSA","kid":"ed","zip":"DEF"}"#.to_owned(), "zip"),
        ] {
            let jws = forge(&header, &f.ed);
            assert!(
                matches!(verify(&jws, PAYLOAD, &f.keys, 0), Err(VerifyError::UnsupportedHeader { name: n, .. }) if n == name),
                "{header}"
            );
        }
        // Harmless extra members are fine.
        let jws = forge(r#"{"typ":"JOSE","alg":"EdDSA","cty":"json","kid":"ed"}"#, &f.ed);
        assert!(verify(&jws, PAYLOAD, &f.keys, 0).is_ok());
        // Duplicate alg: parsers disagree on which wins, refused.
        let jws = forge(r#"{"alg":"none","alg":"EdDSA","kid":"ed"}"#, &f.ed);
        assert!(
            matches!(verify(&jws, PAYLOAD, &f.keys, 0), Err(VerifyError::Malformed(m)) if m.contains("two members"))
        );
        let jws = forge(r#"{"alg":"EdDSA"}"#, &f.ed);
        assert_eq!(verify(&jws, PAYLOAD, &f.keys, 0), Err(VerifyError::MissingKeyId));
        let jws = forge(r#"{"alg":"EdDSA","kid":7}"#, &f.ed);
        assert!(matches!(verify(&jws, PAYLOAD, &f.keys, 0), Err(VerifyError::Malformed(m)) if m.contains("kid")));
        let jws = forge(r#"{"kid":"ed"}"#, &f.ed);
        assert!(matches!(verify(&jws, PAYLOAD, &f.keys, 0), Err(VerifyError::Malformed(m)) if m.contains("no alg")));
        let jws = forge(r#"["EdDSA"]"#, &f.ed);
        assert!(matches!(verify(&jws, PAYLOAD, &f.keys, 0), Err(VerifyError::Malformed(_))));
    }

    #[test]
    fn keys_by_kid_and_validity() {
        let f = fixture();
        let jws = sign(PAYLOAD, &f.es, "es").unwrap();
        assert_eq!(verify(&jws, PAYLOAD, &f.keys[..1], 0), Err(VerifyError::UnknownKeyId { kid: "es".into() }));
        // The right kid on another key of the same algorithm.
        let other = PrivateKey::generate(Algorithm::Es256).unwrap();
        let keys = [TrustedKey { kid: "es".into(), key: other.public_key(), validity: Validity::ALWAYS }];
        assert_eq!(verify(&jws, PAYLOAD, &keys, 0), Err(VerifyError::BadSignature { kid: "es".into() }));
        let twice = [keys[0].clone(), f.keys[1].clone()];
        assert_eq!(verify(&jws, PAYLOAD, &twice, 0), Err(VerifyError::AmbiguousKeyId { kid: "es".into() }));
        let mut keys = f.keys.clone();
        keys[1].validity = Validity { not_before: Some(100), not_after: Some(200) };
        assert_eq!(
            verify(&jws, PAYLOAD, &keys, 99),
            Err(VerifyError::KeyNotYetValid { kid: "es".into(), not_before: 100, at: 99 })
        );
        assert!(verify(&jws, PAYLOAD, &keys, 100).is_ok());
        assert!(verify(&jws, PAYLOAD, &keys, 200).is_ok());
        assert_eq!(
            verify(&jws, PAYLOAD, &keys, 201),
            Err(VerifyError::KeyExpired { kid: "es".into(), not_after: 200, at: 201 })
        );
    }

    #[test]
    fn malformed_tokens() {
        let f = fixture();
        let good = sign(PAYLOAD, &f.ed, "ed").unwrap();
        let parts: Vec<&str> = good.split('.').collect();
        let malformed = |jws: &str| match verify(jws, PAYLOAD, &f.keys, 0) {
            Err(VerifyError::Malformed(m)) => m,
            other => panic!("{jws}: {other:?}"),
        };
        assert!(malformed("").contains("three parts"));
        assert!(malformed(&format!("{}.{}", parts[0], parts[1])).contains("three parts"));
        assert!(malformed(&format!("{good}.x")).contains("three parts"));
        assert!(malformed(&format!("{}=.{}.{}", parts[0], parts[1], parts[2])).contains("padding"));
        assert!(malformed(&format!("{}.{}.{}==", parts[0], parts[1], parts[2])).contains("padding"));
        assert!(malformed(&format!("{}.{}.{} ", parts[0], parts[1], parts[2])).contains("alphabet"));
        let std_b64 = parts[2].replace('-', "+").replace('_', "/");
        if std_b64 != parts[2] {
            assert!(malformed(&format!("{}.{}.{std_b64}", parts[0], parts[1])).contains("base64url"));
        }
        // A signature of 64 bytes ends in a character carrying 4 meaningful bits: change the
        // other 2 and the encoding is no longer canonical (same bytes, another spelling).
        let last = parts[2].chars().last().unwrap();
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let index = alphabet.find(last).unwrap();
        let sibling = alphabet.chars().nth(index ^ 1).unwrap();
        let non_canonical = format!("{}.{}.{}{sibling}", parts[0], parts[1], &parts[2][..parts[2].len() - 1]);
        assert!(malformed(&non_canonical).contains("canonical"));
        assert!(malformed(&format!("{}.{}.{}", b64::encode(b"not json"), parts[1], parts[2])).contains("header"));
        assert!(malformed(&format!("{}.{}.{}", b64::encode(&[0xff, 0xfe]), parts[1], parts[2])).contains("UTF-8"));
    }

    #[test]
    fn a_truncated_or_flipped_signature_is_bad() {
        let f = fixture();
        for (kid, key) in [("rsa", &f.rsa), ("es", &f.es), ("ed", &f.ed)] {
            let jws = sign(PAYLOAD, key, kid).unwrap();
            let (input, signature) = jws.rsplit_once('.').unwrap();
            let mut bytes = b64::decode(signature).unwrap();
            bytes[0] ^= 1;
            let flipped = format!("{input}.{}", b64::encode(&bytes));
            assert_eq!(verify(&flipped, PAYLOAD, &f.keys, 0), Err(VerifyError::BadSignature { kid: kid.into() }));
            let short = format!("{input}.{}", b64::encode(&bytes[..bytes.len() - 1]));
            assert_eq!(verify(&short, PAYLOAD, &f.keys, 0), Err(VerifyError::BadSignature { kid: kid.into() }));
            let empty = format!("{input}.");
            assert_eq!(verify(&empty, PAYLOAD, &f.keys, 0), Err(VerifyError::BadSignature { kid: kid.into() }));
        }
    }

    #[test]
    fn sizes_are_bounded() {
        let f = fixture();
        let huge = "a".repeat(MAX_JWS_LEN + 1);
        assert_eq!(
            verify(&huge, PAYLOAD, &f.keys, 0),
            Err(VerifyError::TooLarge { len: MAX_JWS_LEN + 1, max: MAX_JWS_LEN })
        );
        let long_header = format!("{}..sig", "a".repeat(MAX_HEADER_LEN + 1));
        assert!(matches!(verify(&long_header, PAYLOAD, &f.keys, 0), Err(VerifyError::TooLarge { .. })));
        let long_signature = format!("e30..{}", "a".repeat(MAX_SIGNATURE_LEN + 1));
        assert!(matches!(verify(&long_signature, PAYLOAD, &f.keys, 0), Err(VerifyError::TooLarge { .. })));
        // The largest result's attached signature fits.
        let big = vec![b'x'; MAX_RESULT_LEN];
        let jws = sign(&big, &f.rsa, "rsa").unwrap();
        assert!(jws.len() <= MAX_JWS_LEN);
        assert!(verify(&jws, &big, &f.keys, 0).is_ok());
    }

    #[test]
    fn verify_result_reads_the_signature_member() {
        let f = fixture();
        let unsigned = r#"{ "value": [ {"a": 1} ], "updateTime": "2026-11-22T10:41:58.123Z", "authorityId": "m" }"#;
        let payload = crate::signing_payload(unsigned).unwrap();
        assert_eq!(payload, PAYLOAD);
        for jws in [sign(&payload, &f.es, "es").unwrap(), sign_detached(&payload, &f.es, "es").unwrap()] {
            let signed = format!("{}, \"signature\": \"{jws}\" }}", unsigned.trim_end_matches('}').trim_end());
            assert_eq!(verify_result(&signed, &f.keys, 0).unwrap().kid, "es");
            let tampered = signed.replace("\"a\": 1", "\"a\": 2");
            assert!(matches!(
                verify_result(&tampered, &f.keys, 0),
                Err(VerifyError::PayloadMismatch | VerifyError::BadSignature { .. })
            ));
        }
        assert_eq!(verify_result(unsigned, &f.keys, 0), Err(VerifyError::NoSignature));
        assert!(matches!(verify_result("[]", &f.keys, 0), Err(VerifyError::InvalidResult(PayloadError::NotAnObject))));
    }

    #[test]
    fn error_messages_say_what_is_wrong() {
        let messages = [
            (VerifyError::PayloadMismatch.to_string(), "payload"),
            (VerifyError::BadSignature { kid: "k".into() }.to_string(), "bad signature"),
            (VerifyError::UnknownKeyId { kid: "k".into() }.to_string(), "unknown key id \"k\""),
            (VerifyError::AlgorithmNotAllowed { alg: "none".into() }.to_string(), "\"none\" is not allowed"),
            (VerifyError::KeyExpired { kid: "k".into(), not_after: 5, at: 6 }.to_string(), "key \"k\" has expired"),
            (
                VerifyError::AlgorithmMismatch { alg: Algorithm::Rs256, kid: "k".into(), key_alg: Algorithm::EdDsa }
                    .to_string(),
                "alg is RS256 but key \"k\" is for EdDSA",
            ),
        ];
        for (message, expected) in messages {
            assert!(message.contains(expected), "{message}");
        }
    }
}
