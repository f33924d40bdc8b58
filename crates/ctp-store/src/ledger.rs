//! The transparency log's storage logic (issue 14), the same for every backend: a backend
//! keeps the leaves and the tree's stored hashes (the layout of `ctp_ledger`) in tables and
//! reads hashes by index; the Merkle computations run here over the hashes read so far.
//!
//! A computation that needs hashes not read yet names them ([`compute`] returns them);
//! the caller reads those and computes again. Each computation of `ctp_ledger` asks for all
//! its hashes at once, so this takes one read (two at most).

use std::cell::RefCell;
use std::collections::HashMap;

use ctp_ledger::{Hash, HashReader};

use crate::error::{StoreError, StoreResult};

/// What a leaf records, as stored beside it (to find the leaf of a record).
pub use ctp_ledger::LeafKind;

/// The hashes read so far, by stored-hash index.
#[derive(Debug, Default, Clone)]
pub struct KnownHashes(pub HashMap<u64, Hash>);

/// A [`HashReader`] over the known hashes that notes the ones it lacks.
pub struct Reader<'a> {
    known: &'a KnownHashes,
    missing: RefCell<Vec<u64>>,
}

impl HashReader for Reader<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> ctp_ledger::Result<Vec<Hash>> {
        let missing: Vec<u64> = indexes.iter().copied().filter(|i| !self.known.0.contains_key(i)).collect();
        if !missing.is_empty() {
            self.missing.borrow_mut().extend(missing);
            return Err(ctp_ledger::Error::Storage("hashes not read yet".into()));
        }
        Ok(indexes.iter().map(|i| self.known.0[i]).collect())
    }
}

/// The outcome of [`compute`]: the value, or the hash indexes to read first.
pub enum Computed<T> {
    /// Done.
    Done(T),
    /// Read these hashes, add them to the known ones, and compute again.
    Read(Vec<u64>),
}

/// Runs a Merkle computation over the known hashes.
pub fn compute<T>(
    known: &KnownHashes,
    computation: impl Fn(&Reader) -> ctp_ledger::Result<T>,
) -> StoreResult<Computed<T>> {
    let reader = Reader { known, missing: RefCell::new(Vec::new()) };
    match computation(&reader) {
        Ok(value) => Ok(Computed::Done(value)),
        Err(e) => {
            let mut missing = reader.missing.into_inner();
            if missing.is_empty() {
                return Err(StoreError::Invalid(format!("transparency log: {e}")));
            }
            missing.sort_unstable();
            missing.dedup();
            Ok(Computed::Read(missing))
        }
    }
}

/// How many rounds of reads a computation may take (one is enough for `ctp_ledger`'s).
const MAX_READS: usize = 3;

/// One attempt at the stored hashes a new leaf adds at tree size `size`, and the index of
/// the first one.
fn new_hashes_step(size: u64, leaf_hash: Hash, known: &KnownHashes) -> StoreResult<Computed<(u64, Vec<Hash>)>> {
    Ok(match compute(known, |r| ctp_ledger::stored_hashes_for_leaf(size, leaf_hash, r))? {
        Computed::Done(hashes) => {
            let first = ctp_ledger::stored_hash_count(size).map_err(|e| StoreError::Invalid(e.to_string()))?;
            Computed::Done((first, hashes))
        }
        Computed::Read(indexes) => Computed::Read(indexes),
    })
}

fn unreadable() -> StoreError {
    StoreError::broken("transparency log: the hashes of a new leaf could not be read")
}

/// The stored hashes a new leaf adds at tree size `size`, and the index of the first one;
/// `read` reads hashes from the backend's table.
pub fn new_hashes(
    size: u64,
    leaf: &[u8],
    mut read: impl FnMut(&[u64]) -> StoreResult<Vec<Hash>>,
) -> StoreResult<(u64, Vec<Hash>)> {
    let (leaf_hash, mut known) = (ctp_ledger::leaf_hash(leaf), KnownHashes::default());
    for _ in 0..MAX_READS {
        match new_hashes_step(size, leaf_hash, &known)? {
            Computed::Done(done) => return Ok(done),
            Computed::Read(indexes) => {
                let hashes = read(&indexes)?;
                known.0.extend(indexes.into_iter().zip(hashes));
            }
        }
    }
    Err(unreadable())
}

/// [`new_hashes`] for a backend whose reads are asynchronous.
pub async fn new_hashes_async<F, Fut>(size: u64, leaf: &[u8], mut read: F) -> StoreResult<(u64, Vec<Hash>)>
where
    F: FnMut(Vec<u64>) -> Fut,
    Fut: std::future::Future<Output = StoreResult<Vec<Hash>>>,
{
    let (leaf_hash, mut known) = (ctp_ledger::leaf_hash(leaf), KnownHashes::default());
    for _ in 0..MAX_READS {
        match new_hashes_step(size, leaf_hash, &known)? {
            Computed::Done(done) => return Ok(done),
            Computed::Read(indexes) => {
                let hashes = read(indexes.clone()).await?;
                known.0.extend(indexes.into_iter().zip(hashes));
            }
        }
    }
    Err(unreadable())
}

/// A stored hash as kept in a table (lowercase hex, so that both backends and exports
/// share one text form).
pub fn hash_to_text(hash: &Hash) -> String {
    hash.to_hex()
}

/// A stored hash out of its text.
pub fn hash_from_text(text: &str) -> StoreResult<Hash> {
    Hash::from_hex(text).map_err(|e| StoreError::backend("reading a stored ledger hash", e))
}
