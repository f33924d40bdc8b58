//! The crate's one error type.

/// Everything that can go wrong in this crate. Every function that reads hostile input
/// (proofs, paths, notes, checkpoints, leaves) returns one of these instead of panicking.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A leaf index is not below the tree size.
    #[error("index {index} is not below the tree size {size}")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// Tree sizes that do not make sense together (a consistency proof from 0, old above new, …).
    #[error("invalid tree sizes: {0}")]
    InvalidSizes(String),
    /// A tree size or index above [`crate::MAX_TREE_SIZE`].
    #[error("{0} is above the largest supported tree size")]
    TooLarge(u64),
    /// An inclusion proof that does not lead to the root.
    #[error("the inclusion proof does not verify")]
    InclusionProofFailed,
    /// A consistency proof that does not lead to both roots.
    #[error("the consistency proof does not verify")]
    ConsistencyProofFailed,
    /// A [`crate::HashReader`] returned a number of hashes other than asked.
    #[error("the hash reader returned {got} hashes for {asked} indexes")]
    ReaderCount {
        /// How many indexes were asked for.
        asked: usize,
        /// How many hashes came back.
        got: usize,
    },
    /// A stored hash the reader does not have.
    #[error("no stored hash at index {0}")]
    MissingHash(u64),
    /// The storage behind a [`crate::HashReader`] failed.
    #[error("hash storage: {0}")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A hash that is not 32 bytes of base64 or hex.
    #[error("malformed hash: {0}")]
    BadHash(&'static str),
    /// A tile path that is not `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
    #[error("malformed tile path {path:?}: {reason}")]
    BadTilePath {
        /// The path (cut to 100 bytes).
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A tile or entry bundle that cannot be made or read.
    #[error("malformed tile: {0}")]
    BadTile(String),
    /// A signed note that does not follow C2SP signed-note.
    #[error("malformed note: {0}")]
    MalformedNote(&'static str),
    /// A signer or verifier key (or its text) that is not valid.
    #[error("malformed key: {0}")]
    BadKey(&'static str),
    /// A known key whose signature on the note is wrong.
    #[error("invalid signature by {name} (key id {key_id:08x})")]
    InvalidSignature {
        /// The key name.
        name: String,
        /// The key id.
        key_id: u32,
    },
    /// A well-formed note without any signature by a known key.
    #[error("the note has no signature by a known key")]
    UnverifiedNote,
    /// A checkpoint text that does not follow C2SP tlog-checkpoint.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
    /// A proof file that does not follow C2SP tlog-proof.
    #[error("malformed tlog-proof: {0}")]
    MalformedProof(&'static str),
    /// A checkpoint from another log than the key's.
    #[error("the checkpoint's origin {found:?} is not the key name {expected:?}")]
    OriginMismatch {
        /// The verifier key's name.
        expected: String,
        /// The checkpoint's origin line.
        found: String,
    },
    /// A leaf record that is not in the crate's canonical leaf shape.
    #[error("malformed leaf: {0}")]
    MalformedLeaf(String),
}

/// This crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
