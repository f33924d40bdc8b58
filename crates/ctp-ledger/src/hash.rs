//! SHA-256 hashes and the RFC 6962 (RFC 9162 §2.1) leaf and node hashes.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The size of a hash in bytes.
pub const HASH_SIZE: usize = 32;

/// A SHA-256 hash: a leaf hash, an interior node hash or a tree root.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; HASH_SIZE]);

impl Hash {
    /// The hash's bytes.
    pub fn as_bytes(&self) -> &[u8; HASH_SIZE] {
        &self.0
    }

    /// Standard base64 (RFC 4648 §4, padded), as in checkpoints and proofs.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Parses standard padded base64 of exactly 32 bytes (canonical encodings only).
    pub fn from_base64(text: &str) -> Result<Hash> {
        if text.len() != 44 {
            return Err(Error::BadHash("base64 of a hash is 44 characters"));
        }
        let bytes = STANDARD.decode(text).map_err(|_| Error::BadHash("not base64"))?;
        Hash::from_slice(&bytes)
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(text: &str) -> Result<Hash> {
        let mut out = [0u8; HASH_SIZE];
        hex::decode_to_slice(text, &mut out).map_err(|_| Error::BadHash("not 64 hex digits"))?;
        Ok(Hash(out))
    }

    /// A hash from a slice of exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Hash> {
        <[u8; HASH_SIZE]>::try_from(bytes).map(Hash).map_err(|_| Error::BadHash("not 32 bytes"))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> Hash {
    Hash(Sha256::digest(data).into())
}

/// The RFC 6962 hash of a leaf: SHA-256(0x00 || data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(data);
    Hash(hasher.finalize().into())
}

/// The RFC 6962 hash of an interior node: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([1u8]);
    hasher.update(left.0);
    hasher.update(right.0);
    Hash(hasher.finalize().into())
}

/// The root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    sha256(b"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_round_trip_and_reject_garbage() {
        let h = leaf_hash(b"abc");
        assert_eq!(Hash::from_base64(&h.to_base64()).unwrap(), h);
        assert_eq!(Hash::from_hex(&h.to_hex()).unwrap(), h);
        assert!(Hash::from_base64("AAAA").is_err());
        // Non-zero trailing bits: not the canonical encoding of any 32 bytes.
        assert!(Hash::from_base64(&format!("{}B=", "A".repeat(42))).is_err());
        assert!(Hash::from_base64(&format!("{}A=", "A".repeat(42))).is_ok());
        assert!(Hash::from_base64(&format!("{}A", "A".repeat(43))).is_err());
        assert!(Hash::from_hex("zz").is_err());
        assert!(Hash::from_hex(&"0".repeat(66)).is_err());
        assert!(Hash::from_slice(&[0; 31]).is_err());
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(empty_root().to_hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        // RFC 6962 test vector: the hash of the empty leaf.
        assert_eq!(leaf_hash(b"").to_hex(), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
    }
}
