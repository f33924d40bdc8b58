//! The core of ctpd's transparency log (issue 14): RFC 6962 Merkle tree over stored hashes.
//! Pure functions over bytes: no I/O.

pub mod checkpoint;
pub mod error;
pub mod hash;
pub mod leaf;
pub mod merkle;
pub mod note;
pub mod proof;
pub mod tile;

pub use error::{Error, Result};
pub use hash::{empty_root, leaf_hash, node_hash, sha256, Hash, HASH_SIZE};
pub use merkle::{
    check_record, check_tree, prove_record, prove_tree, split_stored_hash_index, stored_hash_count, stored_hash_index,
    stored_hashes_for_leaf, tree_hash, HashReader, MemoryHashes, MAX_PROOF_HASHES, MAX_TREE_SIZE,
};
