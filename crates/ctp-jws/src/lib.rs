//! JWS signatures of CTP measurement results (CTP 2.14 §4.2.6). Pure: no I/O.
//!
//! A measurement result `{"value":[...],"updateTime":...,"authorityId":...,"signature":...}`
//! may carry, in `signature`, a JWS (RFC 7515, compact serialization) made by the authority
//! that measured it.
//!
//! # The payload rule
//!
//! The signed payload is the result's JSON text exactly as pushed, without the top-level
//! `signature` member and without any white space outside strings; every other byte is kept
//! (member order, number spelling, string escapes, nested members named `signature`). The
//! `signature` member is removed whatever its value, `null` included, so a result pushed
//! without one and returned with `"signature": null` keeps its payload. See
//! [`signing_payload`]; the server returns a pushed result as it was pushed (same members,
//! order and spelling), so anyone can recompute the payload from what it returns.
//!
//! # Algorithms and keys
//!
//! RS256 (required by CTP; RSA keys of 2048 bits or more), ES256 (P-256, `r || s`) and EdDSA
//! (Ed25519). Every key is for exactly one algorithm: a [`PublicKey`] of a JWK or of a PEM
//! SubjectPublicKeyInfo, a [`PrivateKey`] of PKCS#8 (or generated, for ES256 and EdDSA).
//! [`sign`] and [`sign_detached`] make compact JWS with header `{"alg":..,"kid":..}`;
//! [`verify`] checks one against the authority's [`TrustedKey`]s at a given time.
//!
//! # Threat model
//!
//! The JWS comes from whoever pushed the result and is hostile until verified. The verifier
//! trusts only the keys its caller gives it, chosen by `kid`, and only within their validity:
//! it never takes a key from the token (`jwk`, `jku`, `x5u`, `x5c` refused) and never lets
//! the token choose how to verify: `alg` must be exactly the key's algorithm, so `none`, HMAC
//! with a public key as the secret (algorithm confusion) and cross-algorithm tricks fail.
//! Extensions it does not understand (`crit`, unencoded `b64` payloads) are refused, base64url
//! must be canonical, JSON must have no duplicate members (parsers disagree on which wins), and
//! sizes and nesting are bounded. Not covered: a stolen authority key (revoke it through its
//! validity), replay of an old signed result (its `updateTime` is signed: the caller judges
//! it), and side channels of the host.

mod b64;
mod der;
mod jws;
mod key;
mod payload;

pub use jws::{
    sign, sign_detached, verify, verify_result, SignError, TrustedKey, Validity, Verified, VerifyError, MAX_HEADER_LEN,
    MAX_JWS_LEN, MAX_SIGNATURE_LEN,
};
pub use key::{Algorithm, KeyError, PrivateKey, PublicKey, MAX_KEY_TEXT_LEN, MAX_RSA_BITS, MIN_RSA_BITS};
pub use payload::{
    compact, read_signed_result, signing_payload, PayloadError, SignedResult, MAX_DEPTH, MAX_RESULT_LEN,
};
