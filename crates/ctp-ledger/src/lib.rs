//! # ctp-ledger
//!
//! The core of ctpd's tamper-evident transparency log (issue 14): every accepted result and
//! log entry becomes a leaf of an RFC 6962 / RFC 9162 Merkle tree; the server publishes signed
//! checkpoints, serves the tree as tiles and hands out inclusion and consistency proofs.
//! This crate is pure functions over bytes: no I/O, no SQL, no HTTP, no async runtime. The
//! storage (a flat table of node hashes) is reached through the [`HashReader`] trait.
//!
//! ## Modules and the specification each follows
//!
//! | module | what | specification |
//! |---|---|---|
//! | [`hash`] | [`Hash`], [`leaf_hash`] = SHA-256(0x00‖data), [`node_hash`] = SHA-256(0x01‖l‖r), [`empty_root`] | RFC 6962 §2.1 / RFC 9162 §2.1.1 |
//! | [`merkle`] | stored-hash layout ([`stored_hash_index`], [`stored_hash_count`], [`stored_hashes_for_leaf`]), [`HashReader`], [`MemoryHashes`], [`tree_hash`], [`prove_record`]/[`check_record`], [`prove_tree`]/[`check_tree`] | RFC 9162 §2.1.3–2.1.4; the stored-hash indexing of Go's `golang.org/x/mod/sumdb/tlog` |
//! | [`tile`] | tile paths (written and parsed), tiles of a growing tree, tile bytes, entry bundles | C2SP tlog-tiles v0.1.0 |
//! | [`note`] | Ed25519 [`Signer`]/[`Verifier`], key texts, [`note::sign`], [`note::open`] | C2SP signed-note v1.0.0, as Go's `sumdb/note` |
//! | [`checkpoint`] | [`Checkpoint`]: format, strict parse, sign, open | C2SP tlog-checkpoint v1.0.0 |
//! | [`proof`] | [`TlogProof`]: format, strict parse, [`verify_proof`] offline | C2SP tlog-proof v1 |
//! | [`leaf`] | [`Leaf`]: the project's leaf record | this crate (below) |
//! | [`error`] | [`Error`], one typed error for everything | |
//!
//! ## The leaf
//!
//! A leaf is one line of canonical JSON (no spaces, no trailing newline, keys in this order):
//!
//! ```text
//! {"kind":"result","id":"r-42","measurement":"m-7","sha256":"<64 lowercase hex>","time":"2026-01-02T03:04:05Z"}
//! ```
//!
//! `kind` is `result`, `log` or `audit`; `id` the record's id and `measurement` the id of the
//! measurement it belongs to (omitted when none; both 1 to 256 printable ASCII characters,
//! no `"` or `\`); `sha256` the SHA-256 of the record's content; `time` the acceptance time,
//! RFC 3339 UTC with `Z`. [`Leaf::decode`] accepts only the canonical bytes [`Leaf::encode`]
//! writes. The leaf hash of the tree is [`leaf_hash`] of those bytes, and the bytes are the
//! entries of the entry bundles.
//!
//! ## Robustness
//!
//! Tree sizes are limited to [`MAX_TREE_SIZE`] (2^62). Everything read from the outside
//! (proofs, tile paths, notes, keys, checkpoints, proof files, leaves) is checked strictly and
//! answered with an [`Error`], never a panic. `tests/go_reference.rs` checks the crate against
//! Go's reference implementation in both directions.

pub mod checkpoint;
pub mod error;
pub mod hash;
pub mod leaf;
pub mod merkle;
pub mod note;
pub mod proof;
pub mod tile;

pub use checkpoint::Checkpoint;
pub use error::{Error, Result};
pub use hash::{empty_root, leaf_hash, node_hash, sha256, Hash, HASH_SIZE};
pub use leaf::{Leaf, LeafKind};
pub use merkle::{
    check_record, check_tree, prove_record, prove_tree, split_stored_hash_index, stored_hash_count, stored_hash_index,
    stored_hashes_for_leaf, tree_hash, HashReader, MemoryHashes, MAX_PROOF_HASHES, MAX_TREE_SIZE,
};
pub use note::{Note, Signer, Verifier};
pub use proof::{verify_proof, TlogProof};
