//! Keys: public keys from JWK or PEM SPKI, private keys from PKCS#8, each for one algorithm.

use std::fmt;

use ring::rand::SystemRandom;
use ring::signature::{self as sig, KeyPair as _};
use serde_json::{Map, Value};

use crate::b64;
use crate::der::{self, Reader};

/// The smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;
/// The largest RSA modulus accepted, in bits (what the verifier supports).
pub const MAX_RSA_BITS: usize = 8192;
/// The largest JWK or PEM text accepted, in bytes.
pub const MAX_KEY_TEXT_LEN: usize = 16 * 1024;

/// A JWS signature algorithm this crate signs and verifies with. Each key is for exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `RS256`: RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3), the one CTP 2.14 requires;
    /// RSA keys of 2048 to 8192 bits.
    Rs256,
    /// `ES256`: ECDSA on P-256 with SHA-256 (RFC 7518 §3.4), signature `r || s`, 64 bytes.
    Es256,
    /// `EdDSA` with Ed25519 (RFC 8037).
    EdDsa,
}

impl Algorithm {
    /// Every algorithm, in the order of the names [`Algorithm::name`] gives.
    pub const ALL: [Algorithm; 3] = [Algorithm::Rs256, Algorithm::Es256, Algorithm::EdDsa];

    /// The JWS `alg` name: `RS256`, `ES256` or `EdDSA`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Rs256 => "RS256",
            Algorithm::Es256 => "ES256",
            Algorithm::EdDsa => "EdDSA",
        }
    }

    /// The algorithm of a JWS `alg` name (exact, case-sensitive); `None` for any other,
    /// `none` and the HMAC ones included.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.name() == name)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a key was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The text is longer than [`MAX_KEY_TEXT_LEN`].
    #[error("the key text is too large: {len} bytes, at most {max}")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The largest accepted.
        max: usize,
    },
    /// Not a PEM block of the expected label, or not base64 inside.
    #[error("invalid PEM: {0}")]
    Pem(String),
    /// The DER inside is not what its label promises.
    #[error("invalid key encoding: {0}")]
    Der(&'static str),
    /// Not a JWK this crate reads (a JWK is a JSON object; see [`PublicKey::from_jwk`]).
    #[error("invalid JWK: {0}")]
    Jwk(String),
    /// A key type or curve no supported algorithm uses.
    #[error("unsupported key type: {0} (supported: RSA for RS256, EC P-256 for ES256, Ed25519 for EdDSA)")]
    Unsupported(String),
    /// An RSA modulus outside [`MIN_RSA_BITS`]..=[`MAX_RSA_BITS`].
    #[error("an RSA key of {bits} bits: RS256 keys must have {MIN_RSA_BITS} to {MAX_RSA_BITS} bits")]
    RsaSize {
        /// The modulus' size.
        bits: usize,
    },
    /// An RSA public exponent that is even, below 3 or above 2^33 - 1.
    #[error("an RSA public exponent must be odd, at least 3 and below 2^33")]
    RsaExponent,
    /// The crypto library refused the private key (inconsistent, wrong size, corrupt).
    #[error("the private key is refused: {0}")]
    Rejected(String),
    /// Key generation is not offered for this algorithm (RSA: use `openssl genpkey`).
    #[error("generating {0} keys is not supported here; make one with openssl genpkey")]
    NoGeneration(Algorithm),
    /// The system's random generator failed.
    #[error("the system random generator failed")]
    Random,
}

/// A public key for one [`Algorithm`]: RSA (RS256), EC P-256 (ES256) or Ed25519 (EdDSA).
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    repr: Repr,
}

#[derive(Clone, PartialEq, Eq)]
enum Repr {
    /// Modulus and exponent, big-endian without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// The uncompressed point `04 || x || y`.
    P256 { point: [u8; 65] },
    /// The 32-byte public key.
    Ed25519 { key: [u8; 32] },
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("PublicKey");
        d.field("alg", &self.algorithm());
        if let Repr::Rsa { n, .. } = &self.repr {
            d.field("bits", &bit_len(n));
        }
        d.field("thumbprint", &self.thumbprint()).finish()
    }
}

fn bit_len(magnitude: &[u8]) -> usize {
    let magnitude = der::strip_leading_zeros(magnitude);
    match magnitude.first() {
        None => 0,
        Some(first) => magnitude.len() * 8 - first.leading_zeros() as usize,
    }
}

impl PublicKey {
    /// An RSA public key (RS256) of the big-endian modulus `n` and exponent `e`.
    pub fn rsa(n: &[u8], e: &[u8]) -> Result<PublicKey, KeyError> {
        let n = der::strip_leading_zeros(n);
        let e = der::strip_leading_zeros(e);
        let bits = bit_len(n);
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(KeyError::RsaSize { bits });
        }
        let exponent = if e.len() <= 8 { e.iter().fold(0u64, |v, b| v << 8 | u64::from(*b)) } else { u64::MAX };
        if exponent < 3 || exponent % 2 == 0 || exponent >= 1 << 33 {
            return Err(KeyError::RsaExponent);
        }
        Ok(PublicKey { repr: Repr::Rsa { n: n.to_vec(), e: e.to_vec() } })
    }

    /// A P-256 public key (ES256) of its uncompressed point (`04 || x || y`, 65 bytes).
    /// Whether the point is on the curve is checked when a signature is verified: a key off
    /// the curve verifies nothing.
    pub fn p256(uncompressed_point: &[u8]) -> Result<PublicKey, KeyError> {
        match <[u8; 65]>::try_from(uncompressed_point) {
            Ok(point) if point[0] == 4 => Ok(PublicKey { repr: Repr::P256 { point } }),
            _ => Err(KeyError::Unsupported("an EC point that is not uncompressed 04 || x || y on P-256".into())),
        }
    }

    /// An Ed25519 public key (EdDSA) of its 32 bytes.
    pub fn ed25519(key: &[u8]) -> Result<PublicKey, KeyError> {
        let key = <[u8; 32]>::try_from(key)
            .map_err(|_| KeyError::Unsupported(format!("an Ed25519 key of {} bytes, not 32", key.len())))?;
        Ok(PublicKey { repr: Repr::Ed25519 { key } })
    }

    /// The algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        match self.repr {
            Repr::Rsa { .. } => Algorithm::Rs256,
            Repr::P256 { .. } => Algorithm::Es256,
            Repr::Ed25519 { .. } => Algorithm::EdDsa,
        }
    }

    /// A public key of a JWK (RFC 7517) text: `{"kty":"RSA","n":..,"e":..}`,
    /// `{"kty":"EC","crv":"P-256","x":..,"y":..}` or `{"kty":"OKP","crv":"Ed25519","x":..}`,
    /// the numbers in canonical base64url without padding (RSA's without leading zeros, EC
    /// coordinates 32 bytes). Refused: a JWK holding private members (`d`, `p`, ...), an
    /// `alg` other than the key's algorithm, a `use` other than `sig`, duplicate members.
    /// `kid` and other members are ignored.
    pub fn from_jwk(jwk: &str) -> Result<PublicKey, KeyError> {
        if jwk.len() > MAX_KEY_TEXT_LEN {
            return Err(KeyError::TooLarge { len: jwk.len(), max: MAX_KEY_TEXT_LEN });
        }
        crate::payload::parse_object(jwk, MAX_KEY_TEXT_LEN).map_err(|e| KeyError::Jwk(e.to_string()))?;
        let map: Map<String, Value> = serde_json::from_str(jwk).map_err(|e| KeyError::Jwk(e.to_string()))?;
        PublicKey::from_jwk_members(&map)
    }

    /// [`PublicKey::from_jwk`] of a parsed JSON object (duplicate members cannot be told
    /// there: parse the text with [`PublicKey::from_jwk`] when you have it).
    pub fn from_jwk_members(jwk: &Map<String, Value>) -> Result<PublicKey, KeyError> {
        let text = |name: &str| -> Result<Option<&str>, KeyError> {
            match jwk.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(KeyError::Jwk(format!("{name} is not a string"))),
            }
        };
        let required = |name: &str| text(name)?.ok_or_else(|| KeyError::Jwk(format!("no {name} member")));
        let bytes = |name: &str| {
            b64::decode(required(name)?).map_err(|e| KeyError::Jwk(format!("{name} is not base64url: {e}")))
        };
        for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            if jwk.contains_key(private) {
                return Err(KeyError::Jwk(format!(
                    "it holds private key material ({private}); give the public key only"
                )));
            }
        }
        let key = match required("kty")? {
            "RSA" => {
                let (n, e) = (bytes("n")?, bytes("e")?);
                if n.first() == Some(&0) || e.first() == Some(&0) {
                    return Err(KeyError::Jwk("n and e must not have leading zero bytes (RFC 7518 §6.3.1)".into()));
                }
                PublicKey::rsa(&n, &e)?
            }
            "EC" => {
                let crv = required("crv")?;
                if crv != "P-256" {
                    return Err(KeyError::Unsupported(format!("EC curve {crv}")));
                }
                let (x, y) = (bytes("x")?, bytes("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(KeyError::Jwk("P-256 x and y must be 32 bytes each".into()));
                }
                let mut point = [4u8; 65];
                point[1..33].copy_from_slice(&x);
                point[33..].copy_from_slice(&y);
                PublicKey::p256(&point)?
            }
            "OKP" => {
                let crv = required("crv")?;
                if crv != "Ed25519" {
                    return Err(KeyError::Unsupported(format!("OKP curve {crv}")));
                }
                PublicKey::ed25519(&bytes("x")?)?
            }
            other => return Err(KeyError::Unsupported(format!("kty {other}"))),
        };
        if let Some(alg) = text("alg")? {
            if alg != key.algorithm().name() {
                return Err(KeyError::Jwk(format!("alg {alg} but this is a {} key", key.algorithm())));
            }
        }
        if let Some(usage) = text("use")? {
            if usage != "sig" {
                return Err(KeyError::Jwk(format!("use {usage}: a signature key has use sig")));
            }
        }
        Ok(key)
    }

    /// The key as a JWK object: `kty`, the key's members (`n`/`e`, `crv`/`x`/`y`, `crv`/`x`)
    /// and `alg`. Add a `kid` as you need.
    pub fn to_jwk(&self) -> Map<String, Value> {
        let mut jwk = self.thumbprint_members();
        jwk.insert("alg".into(), self.algorithm().name().into());
        jwk
    }

    /// The JWK thumbprint (RFC 7638, SHA-256), base64url: a stable name for the key, fit for
    /// a `kid`.
    pub fn thumbprint(&self) -> String {
        // serde_json's Map keeps keys sorted (no preserve_order here): the RFC's order.
        let canonical = Value::Object(self.thumbprint_members()).to_string();
        b64::encode(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()).as_ref())
    }

    /// The members RFC 7638 hashes.
    fn thumbprint_members(&self) -> Map<String, Value> {
        let mut jwk = Map::new();
        match &self.repr {
            Repr::Rsa { n, e } => {
                jwk.insert("kty".into(), "RSA".into());
                jwk.insert("n".into(), b64::encode(n).into());
                jwk.insert("e".into(), b64::encode(e).into());
            }
            Repr::P256 { point } => {
                jwk.insert("kty".into(), "EC".into());
                jwk.insert("crv".into(), "P-256".into());
                jwk.insert("x".into(), b64::encode(&point[1..33]).into());
                jwk.insert("y".into(), b64::encode(&point[33..]).into());
            }
            Repr::Ed25519 { key } => {
                jwk.insert("kty".into(), "OKP".into());
                jwk.insert("crv".into(), "Ed25519".into());
                jwk.insert("x".into(), b64::encode(key).into());
            }
        }
        jwk
    }

    /// A public key of a PEM `PUBLIC KEY` block (SubjectPublicKeyInfo, what
    /// `openssl pkey -pubout` prints).
    pub fn from_spki_pem(pem: &str) -> Result<PublicKey, KeyError> {
        if pem.len() > MAX_KEY_TEXT_LEN {
            return Err(KeyError::TooLarge { len: pem.len(), max: MAX_KEY_TEXT_LEN });
        }
        PublicKey::from_spki_der(&der::pem_decode(pem, "PUBLIC KEY").map_err(KeyError::Pem)?)
    }

    /// A public key of a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(spki: &[u8]) -> Result<PublicKey, KeyError> {
        let mut outer = Reader::new(spki);
        let mut info = Reader::new(outer.expect(der::SEQUENCE).map_err(KeyError::Der)?);
        if !outer.is_empty() {
            return Err(KeyError::Der("bytes after the SubjectPublicKeyInfo"));
        }
        let mut algorithm = Reader::new(info.expect(der::SEQUENCE).map_err(KeyError::Der)?);
        let key = der::bit_string_bytes(info.expect(der::BIT_STRING).map_err(KeyError::Der)?).map_err(KeyError::Der)?;
        if !info.is_empty() {
            return Err(KeyError::Der("bytes after the public key"));
        }
        let oid = algorithm.expect(der::OID).map_err(KeyError::Der)?;
        let parameters = if algorithm.is_empty() { None } else { Some(algorithm.next().map_err(KeyError::Der)?) };
        if !algorithm.is_empty() {
            return Err(KeyError::Der("bytes after the algorithm parameters"));
        }
        match oid {
            der::OID_RSA => {
                if parameters.is_some_and(|p| p != (der::NULL, &[][..])) {
                    return Err(KeyError::Der("rsaEncryption parameters must be NULL"));
                }
                let mut outer = Reader::new(key);
                let mut rsa = Reader::new(outer.expect(der::SEQUENCE).map_err(KeyError::Der)?);
                let n = der::unsigned_integer_content(rsa.expect(der::INTEGER).map_err(KeyError::Der)?)
                    .map_err(KeyError::Der)?;
                let e = der::unsigned_integer_content(rsa.expect(der::INTEGER).map_err(KeyError::Der)?)
                    .map_err(KeyError::Der)?;
                if !rsa.is_empty() || !outer.is_empty() {
                    return Err(KeyError::Der("bytes after the RSA public key"));
                }
                PublicKey::rsa(n, e)
            }
            der::OID_EC => match parameters {
                Some((der::OID, der::OID_P256)) => PublicKey::p256(key),
                _ => Err(KeyError::Unsupported("an EC key on a curve other than P-256".into())),
            },
            der::OID_ED25519 => {
                if parameters.is_some() {
                    return Err(KeyError::Der("Ed25519 keys have no algorithm parameters"));
                }
                PublicKey::ed25519(key)
            }
            _ => Err(KeyError::Unsupported("the key's algorithm identifier".into())),
        }
    }

    /// The key as DER SubjectPublicKeyInfo.
    pub fn to_spki_der(&self) -> Vec<u8> {
        let (algorithm, key) = match &self.repr {
            Repr::Rsa { n, e } => {
                let mut rsa = der::unsigned_integer(n);
                rsa.extend(der::unsigned_integer(e));
                let algorithm = [der::element(der::OID, der::OID_RSA), der::element(der::NULL, &[])].concat();
                (algorithm, der::element(der::SEQUENCE, &rsa))
            }
            Repr::P256 { point } => {
                let algorithm = [der::element(der::OID, der::OID_EC), der::element(der::OID, der::OID_P256)].concat();
                (algorithm, point.to_vec())
            }
            Repr::Ed25519 { key } => (der::element(der::OID, der::OID_ED25519), key.to_vec()),
        };
        let bit_string = der::element(der::BIT_STRING, &[&[0][..], &key].concat());
        der::element(der::SEQUENCE, &[der::element(der::SEQUENCE, &algorithm), bit_string].concat())
    }

    /// The key as a PEM `PUBLIC KEY` block, as `openssl pkey -pubout` prints it.
    pub fn to_spki_pem(&self) -> String {
        der::pem_encode("PUBLIC KEY", &self.to_spki_der())
    }

    /// Whether `signature` is this key's signature of `message` (no `alg` check here).
    pub(crate) fn verify_raw(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.repr {
            Repr::Rsa { n, e } => sig::RsaPublicKeyComponents { n, e }
                .verify(&sig::RSA_PKCS1_2048_8192_SHA256, message, signature)
                .is_ok(),
            Repr::P256 { point } => {
                sig::UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, point).verify(message, signature).is_ok()
            }
            Repr::Ed25519 { key } => sig::UnparsedPublicKey::new(&sig::ED25519, key).verify(message, signature).is_ok(),
        }
    }
}

/// A private key for signing, for one [`Algorithm`], kept with its PKCS#8 encoding. Its
/// `Debug` shows the algorithm and the public key's thumbprint, never the secret.
pub struct PrivateKey {
    pkcs8: Vec<u8>,
    pair: Pair,
}

enum Pair {
    Rsa(sig::RsaKeyPair),
    Es256(sig::EcdsaKeyPair),
    Ed25519(sig::Ed25519KeyPair),
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("alg", &self.algorithm())
            .field("thumbprint", &self.public_key().thumbprint())
            .finish_non_exhaustive()
    }
}

impl PrivateKey {
    /// A new random key for `algorithm`: ES256 (P-256) or EdDSA (Ed25519). RS256 keys are not
    /// generated here ([`KeyError::NoGeneration`]): make one with
    /// `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072` and load it with
    /// [`PrivateKey::from_pkcs8_pem`].
    pub fn generate(algorithm: Algorithm) -> Result<PrivateKey, KeyError> {
        let rng = SystemRandom::new();
        let pkcs8 = match algorithm {
            Algorithm::Rs256 => return Err(KeyError::NoGeneration(algorithm)),
            Algorithm::Es256 => sig::EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, &rng),
            Algorithm::EdDsa => sig::Ed25519KeyPair::generate_pkcs8(&rng),
        }
        .map_err(|_| KeyError::Random)?;
        PrivateKey::from_pkcs8_der(pkcs8.as_ref())
    }

    /// A private key of a PEM `PRIVATE KEY` block (unencrypted PKCS#8, what
    /// `openssl genpkey` writes): RSA (2048 to 4096 bits), EC P-256 or Ed25519.
    pub fn from_pkcs8_pem(pem: &str) -> Result<PrivateKey, KeyError> {
        if pem.len() > MAX_KEY_TEXT_LEN {
            return Err(KeyError::TooLarge { len: pem.len(), max: MAX_KEY_TEXT_LEN });
        }
        let der = der::pem_decode(pem, "PRIVATE KEY").map_err(|e| {
            KeyError::Pem(if e.contains("\"RSA PRIVATE KEY\"") || e.contains("\"EC PRIVATE KEY\"") {
                format!("{e}; convert it to PKCS#8 with openssl pkcs8 -topk8 -nocrypt")
            } else {
                e
            })
        })?;
        PrivateKey::from_pkcs8_der(&der)
    }

    /// A private key of DER PKCS#8 (v1, or v2 with the public key).
    pub fn from_pkcs8_der(pkcs8: &[u8]) -> Result<PrivateKey, KeyError> {
        let rejected = |e: ring::error::KeyRejected| KeyError::Rejected(e.to_string());
        let mut outer = Reader::new(pkcs8);
        let mut info = Reader::new(outer.expect(der::SEQUENCE).map_err(KeyError::Der)?);
        info.expect(der::INTEGER).map_err(KeyError::Der)?;
        let mut algorithm = Reader::new(info.expect(der::SEQUENCE).map_err(KeyError::Der)?);
        let oid = algorithm.expect(der::OID).map_err(KeyError::Der)?;
        let pair = match oid {
            der::OID_RSA => {
                let pair = sig::RsaKeyPair::from_pkcs8(pkcs8).map_err(rejected)?;
                let bits = pair.public().modulus_len() * 8;
                if bits < MIN_RSA_BITS {
                    return Err(KeyError::RsaSize { bits });
                }
                Pair::Rsa(pair)
            }
            der::OID_EC => {
                if algorithm.expect(der::OID) != Ok(der::OID_P256) {
                    return Err(KeyError::Unsupported("an EC key on a curve other than P-256".into()));
                }
                let rng = SystemRandom::new();
                Pair::Es256(
                    sig::EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
                        .map_err(rejected)?,
                )
            }
            // v1 (openssl) has no public key to check; v2 (ring) has, and it is checked.
            der::OID_ED25519 => {
                Pair::Ed25519(sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8).map_err(rejected)?)
            }
            _ => return Err(KeyError::Unsupported("the private key's algorithm identifier".into())),
        };
        let pkcs8 = match pair {
            // ring writes PKCS#8 v2 (with the public key), which OpenSSL 3.0 cannot read:
            // keep v1, as openssl genpkey writes it.
            Pair::Ed25519(_) => {
                let private_key = info.expect(der::OCTET_STRING).map_err(KeyError::Der)?;
                let algorithm = der::element(der::SEQUENCE, &der::element(der::OID, der::OID_ED25519));
                let v1 = [der::element(der::INTEGER, &[0]), algorithm, der::element(der::OCTET_STRING, private_key)];
                der::element(der::SEQUENCE, &v1.concat())
            }
            _ => pkcs8.to_vec(),
        };
        Ok(PrivateKey { pkcs8, pair })
    }

    /// The key as a PEM `PRIVATE KEY` block (PKCS#8 as loaded or generated; Ed25519 keys as
    /// PKCS#8 v1, as `openssl genpkey` writes them), which `openssl pkey` reads.
    pub fn to_pkcs8_pem(&self) -> String {
        der::pem_encode("PRIVATE KEY", &self.pkcs8)
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        match self.pair {
            Pair::Rsa(_) => Algorithm::Rs256,
            Pair::Es256(_) => Algorithm::Es256,
            Pair::Ed25519(_) => Algorithm::EdDsa,
        }
    }

    /// The public key that verifies this key's signatures.
    pub fn public_key(&self) -> PublicKey {
        let repr = match &self.pair {
            Pair::Rsa(pair) => {
                let components: sig::RsaPublicKeyComponents<Vec<u8>> = pair.public().into();
                Repr::Rsa {
                    n: der::strip_leading_zeros(&components.n).to_vec(),
                    e: der::strip_leading_zeros(&components.e).to_vec(),
                }
            }
            Pair::Es256(pair) => {
                let mut point = [0u8; 65];
                point.copy_from_slice(pair.public_key().as_ref());
                Repr::P256 { point }
            }
            Pair::Ed25519(pair) => {
                let mut key = [0u8; 32];
                key.copy_from_slice(pair.public_key().as_ref());
                Repr::Ed25519 { key }
            }
        };
        PublicKey { repr }
    }

    /// This key's signature of `message` (RSASSA-PKCS1-v1_5 SHA-256, ECDSA P-256 SHA-256 as
    /// `r || s`, or Ed25519).
    pub(crate) fn sign_raw(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = SystemRandom::new();
        match &self.pair {
            Pair::Rsa(pair) => {
                let mut signature = vec![0; pair.public().modulus_len()];
                pair.sign(&sig::RSA_PKCS1_SHA256, &rng, message, &mut signature).map_err(|_| KeyError::Random)?;
                Ok(signature)
            }
            Pair::Es256(pair) => Ok(pair.sign(&rng, message).map_err(|_| KeyError::Random)?.as_ref().to_vec()),
            Pair::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA_PEM: &str = include_str!("../tests/data/rsa-2048-test-only.pem");

    fn all_keys() -> Vec<PrivateKey> {
        vec![
            PrivateKey::from_pkcs8_pem(RSA_PEM).unwrap(),
            PrivateKey::generate(Algorithm::Es256).unwrap(),
            PrivateKey::generate(Algorithm::EdDsa).unwrap(),
        ]
    }

    #[test]
    fn algorithm_names_are_exact() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
        }
        for name in ["none", "None", "HS256", "rs256", "RS384", "PS256", "ES384", "Ed25519", "eddsa", ""] {
            assert_eq!(Algorithm::from_name(name), None, "{name}");
        }
    }

    #[test]
    fn each_key_round_trips_through_jwk_spki_and_pkcs8() {
        for private in all_keys() {
            let public = private.public_key();
            assert_eq!(public.algorithm(), private.algorithm());
            let jwk = Value::Object(public.to_jwk()).to_string();
            assert_eq!(PublicKey::from_jwk(&jwk).unwrap(), public, "{jwk}");
            assert_eq!(PublicKey::from_spki_pem(&public.to_spki_pem()).unwrap(), public);
            let reloaded = PrivateKey::from_pkcs8_pem(&private.to_pkcs8_pem()).unwrap();
            assert_eq!(reloaded.public_key(), public);
            assert_eq!(reloaded.algorithm(), private.algorithm());
            let message = b"message";
            assert!(public.verify_raw(message, &private.sign_raw(message).unwrap()));
            assert!(!public.verify_raw(b"messagE", &private.sign_raw(message).unwrap()));
            let debug = format!("{private:?}");
            assert!(debug.contains(&public.thumbprint()) && !debug.contains("pkcs8"), "{debug}");
        }
    }

    #[test]
    fn generation_makes_new_keys_and_not_rsa() {
        let a = PrivateKey::generate(Algorithm::EdDsa).unwrap().public_key();
        let b = PrivateKey::generate(Algorithm::EdDsa).unwrap().public_key();
        assert_ne!(a, b);
        assert_eq!(PrivateKey::generate(Algorithm::Rs256).unwrap_err(), KeyError::NoGeneration(Algorithm::Rs256));
    }

    #[test]
    fn rfc_7638_thumbprint_example() {
        // RFC 7638 §3.1.
        let jwk = r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#;
        let key = PublicKey::from_jwk(jwk).unwrap();
        assert_eq!(key.algorithm(), Algorithm::Rs256);
        assert_eq!(key.thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn rfc_8037_ed25519_example() {
        let key =
            PublicKey::from_jwk(r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)
                .unwrap();
        assert_eq!(key.algorithm(), Algorithm::EdDsa);
        // RFC 8037 A.3.
        assert_eq!(key.thumbprint(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    #[test]
    fn jwks_that_are_refused() {
        let rsa = PrivateKey::from_pkcs8_pem(RSA_PEM).unwrap().public_key().to_jwk();
        let with = |name: &str, value: Value| {
            let mut jwk = rsa.clone();
            jwk.insert(name.into(), value);
            PublicKey::from_jwk(&Value::Object(jwk).to_string())
        };
        assert!(matches!(with("d", "AQAB".into()), Err(KeyError::Jwk(m)) if m.contains("private")));
        assert!(matches!(with("alg", "ES256".into()), Err(KeyError::Jwk(m)) if m.contains("alg ES256")));
        assert!(matches!(with("alg", "HS256".into()), Err(KeyError::Jwk(_))));
        assert!(matches!(with("use", "enc".into()), Err(KeyError::Jwk(_))));
        assert!(with("use", "sig".into()).is_ok());
        assert!(with("kid", "k1".into()).is_ok());
        assert!(matches!(with("e", "AAEAAQ".into()), Err(KeyError::Jwk(m)) if m.contains("leading zero")));
        assert!(matches!(with("e", "AQAB==".into()), Err(KeyError::Jwk(m)) if m.contains("base64url")));
        assert_eq!(with("e", "Ag".into()), Err(KeyError::RsaExponent));
        assert_eq!(with("e", "AQ".into()), Err(KeyError::RsaExponent));
        assert!(matches!(with("kty", "oct".into()), Err(KeyError::Unsupported(_))));
        assert!(matches!(with("n", 5.into()), Err(KeyError::Jwk(m)) if m.contains("not a string")));
        // A 1024-bit modulus.
        assert_eq!(with("n", b64::encode(&[0xff; 128]).into()), Err(KeyError::RsaSize { bits: 1024 }));
        assert_eq!(with("n", b64::encode(&[0x7f; 256]).into()), Err(KeyError::RsaSize { bits: 2047 }));
        assert!(with("n", b64::encode(&[0x80; 256]).into()).is_ok());
        // Duplicates and non-objects.
        assert!(matches!(PublicKey::from_jwk(r#"{"kty":"OKP","kty":"RSA"}"#), Err(KeyError::Jwk(_))));
        assert!(matches!(PublicKey::from_jwk("[]"), Err(KeyError::Jwk(_))));
        let ec = r#"{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}"#;
        assert!(matches!(PublicKey::from_jwk(ec), Err(KeyError::Unsupported(m)) if m.contains("P-384")));
        let short = r#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}"#;
        assert!(matches!(PublicKey::from_jwk(short), Err(KeyError::Jwk(m)) if m.contains("32 bytes")));
        let okp = r#"{"kty":"OKP","crv":"X25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
        assert!(matches!(PublicKey::from_jwk(okp), Err(KeyError::Unsupported(_))));
    }

    #[test]
    fn pem_that_is_refused() {
        let public = PrivateKey::generate(Algorithm::EdDsa).unwrap().public_key();
        assert!(matches!(PrivateKey::from_pkcs8_pem(&public.to_spki_pem()), Err(KeyError::Pem(_))));
        assert!(matches!(PublicKey::from_spki_pem(RSA_PEM), Err(KeyError::Pem(m)) if m.contains("PRIVATE KEY")));
        let pkcs1 = RSA_PEM.replace("PRIVATE KEY", "RSA PRIVATE KEY");
        assert!(matches!(PrivateKey::from_pkcs8_pem(&pkcs1), Err(KeyError::Pem(m)) if m.contains("pkcs8 -topk8")));
        let mut der = public.to_spki_der();
        der.push(0);
        assert!(matches!(PublicKey::from_spki_der(&der), Err(KeyError::Der(_))));
        der.pop();
        *der.last_mut().unwrap() ^= 1;
        assert!(PublicKey::from_spki_der(&der).is_ok(), "any 32 bytes are an Ed25519 key");
        der.pop();
        assert!(PublicKey::from_spki_der(&der).is_err(), "truncated");
        assert!(matches!(PublicKey::from_spki_pem(&"x".repeat(MAX_KEY_TEXT_LEN + 1)), Err(KeyError::TooLarge { .. })));
    }
}
