//! The RFC 6962 / RFC 9162 §2.1 Merkle tree kept as "stored hashes", with inclusion and
//! consistency proofs.
//!
//! # Stored hashes
//!
//! The tree is kept as the flat, append-only sequence of the hashes of its *complete*
//! subtrees, in the order they come into existence (the layout of Go's `sumdb/tlog`): adding
//! leaf `n` appends its leaf hash, then the hash of every complete subtree that leaf closes,
//! from the lowest level up. The hash at `level` covering leaves `[n·2^level, (n+1)·2^level)`
//! has the index [`stored_hash_index`]`(level, n)`; a tree of `n` leaves holds
//! [`stored_hash_count`]`(n) = 2n − popcount(n)` stored hashes. Every root, proof and tile is
//! computed from these, read through a [`HashReader`] (a database table in the server,
//! [`MemoryHashes`] in tests).

use crate::error::{Error, Result};
use crate::hash::{empty_root, node_hash, Hash};

/// The largest tree size (and leaf count) supported: 2^62, so that every stored hash index
/// fits in a `u64`.
pub const MAX_TREE_SIZE: u64 = 1 << 62;

/// The most hashes in an inclusion or consistency proof of a supported tree.
pub const MAX_PROOF_HASHES: usize = 2 * 64;

fn check_size(size: u64) -> Result<()> {
    if size > MAX_TREE_SIZE {
        return Err(Error::TooLarge(size));
    }
    Ok(())
}

/// The number of stored hashes of a tree of `n` leaves: `2n − popcount(n)`.
pub fn stored_hash_count(n: u64) -> Result<u64> {
    check_size(n)?;
    Ok(2 * n - u64::from(n.count_ones()))
}

/// The index among the stored hashes of the hash at `level` (0: leaves) covering the leaves
/// `[n·2^level, (n+1)·2^level)`. It is stored when the last of those leaves is added.
pub fn stored_hash_index(level: u32, n: u64) -> Result<u64> {
    let end = 1u64
        .checked_shl(level)
        .filter(|_| level < 63)
        .and_then(|width| n.checked_add(1)?.checked_mul(width))
        .ok_or(Error::TooLarge(n))?;
    check_size(end)?;
    Ok(stored_hash_count(end - 1)? + u64::from(level))
}

/// The inverse of [`stored_hash_index`]: the `(level, n)` of the stored hash at `index`.
pub fn split_stored_hash_index(index: u64) -> Result<(u32, u64)> {
    // The leaf whose addition stored `index`: the largest m with stored_hash_count(m) <= index.
    let (mut lo, mut hi) = (0u64, MAX_TREE_SIZE);
    if index >= stored_hash_count(MAX_TREE_SIZE)? {
        return Err(Error::TooLarge(index));
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if stored_hash_count(mid)? <= index {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let level = u32::try_from(index - stored_hash_count(lo)?).map_err(|_| Error::TooLarge(index))?;
    Ok((level, ((lo + 1) >> level) - 1))
}

/// Where the stored hashes come from. Implementations return exactly one hash per index, in
/// the order asked; the functions of this crate check the count.
pub trait HashReader {
    /// The stored hashes at `indexes`.
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>>;
}

impl<T: HashReader + ?Sized> HashReader for &T {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>> {
        (**self).read_hashes(indexes)
    }
}

fn read_exact(reader: &impl HashReader, indexes: &[u64]) -> Result<Vec<Hash>> {
    let hashes = reader.read_hashes(indexes)?;
    if hashes.len() != indexes.len() {
        return Err(Error::ReaderCount { asked: indexes.len(), got: hashes.len() });
    }
    Ok(hashes)
}

/// The stored hashes of a tree in memory (tests, tools).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryHashes {
    hashes: Vec<Hash>,
    size: u64,
}

impl MemoryHashes {
    /// An empty tree.
    pub fn new() -> MemoryHashes {
        MemoryHashes::default()
    }

    /// Adds the leaf with this leaf hash; returns its index.
    pub fn append(&mut self, leaf_hash: Hash) -> Result<u64> {
        let index = self.size;
        let new = stored_hashes_for_leaf(index, leaf_hash, &*self)?;
        self.hashes.extend(new);
        self.size += 1;
        Ok(index)
    }

    /// The number of leaves.
    pub fn tree_size(&self) -> u64 {
        self.size
    }

    /// All stored hashes, in order.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }
}

impl HashReader for MemoryHashes {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>> {
        indexes
            .iter()
            .map(|&i| usize::try_from(i).ok().and_then(|i| self.hashes.get(i)).copied().ok_or(Error::MissingHash(i)))
            .collect()
    }
}

/// The hashes to append to the stored hashes when adding leaf `n` (with `leaf_hash`) to a
/// tree of `n` leaves: the leaf hash, then the hash of each complete subtree it closes.
pub fn stored_hashes_for_leaf(n: u64, leaf_hash: Hash, reader: &impl HashReader) -> Result<Vec<Hash>> {
    check_size(n.saturating_add(1))?;
    let mut siblings = Vec::new();
    let mut level = 0;
    while (n >> level) & 1 == 1 {
        siblings.push(stored_hash_index(level, (n >> level) - 1)?);
        level += 1;
    }
    let siblings = read_exact(reader, &siblings)?;
    let mut out = Vec::with_capacity(siblings.len() + 1);
    let mut hash = leaf_hash;
    out.push(hash);
    for sibling in &siblings {
        hash = node_hash(sibling, &hash);
        out.push(hash);
    }
    Ok(out)
}

/// The complete subtrees `(level, n)` that make up the leaves `[lo, hi)`, largest first.
/// `lo` is a multiple of the largest power of two not above `hi − lo` (always so for the
/// ranges of RFC 9162's recursions), which makes the range's hash the right fold of theirs.
fn subtrees(lo: u64, hi: u64) -> Vec<(u32, u64)> {
    let mut out = Vec::new();
    let mut lo = lo;
    while lo < hi {
        let level = 63 - (hi - lo).leading_zeros();
        out.push((level, lo >> level));
        lo += 1 << level;
    }
    out
}

/// The Merkle tree hashes of the ranges `[lo, hi)`, with one read.
fn range_hashes(ranges: &[(u64, u64)], reader: &impl HashReader) -> Result<Vec<Hash>> {
    let parts: Vec<Vec<(u32, u64)>> = ranges.iter().map(|&(lo, hi)| subtrees(lo, hi)).collect();
    let indexes = parts.iter().flatten().map(|&(level, n)| stored_hash_index(level, n)).collect::<Result<Vec<_>>>()?;
    let hashes = read_exact(reader, &indexes)?;
    let mut hashes = hashes.into_iter();
    let mut out = Vec::with_capacity(ranges.len());
    for part in &parts {
        let mine: Vec<Hash> = hashes.by_ref().take(part.len()).collect();
        let mut iter = mine.into_iter().rev();
        let mut hash = iter.next().unwrap_or_else(empty_root);
        for left in iter {
            hash = node_hash(&left, &hash);
        }
        out.push(hash);
    }
    Ok(out)
}

/// The largest power of two below `n` (n ≥ 2).
fn split_point(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// The root hash of the tree of the first `size` leaves.
pub fn tree_hash(size: u64, reader: &impl HashReader) -> Result<Hash> {
    check_size(size)?;
    if size == 0 {
        return Ok(empty_root());
    }
    Ok(range_hashes(&[(0, size)], reader)?[0])
}

/// The inclusion proof (RFC 9162 §2.1.3.1 `PATH`) of leaf `index` in the tree of `size`
/// leaves: from the leaf's sibling up to the root's child.
pub fn prove_record(size: u64, index: u64, reader: &impl HashReader) -> Result<Vec<Hash>> {
    check_size(size)?;
    if index >= size {
        return Err(Error::IndexOutOfRange { index, size });
    }
    let (mut lo, mut hi) = (0, size);
    let mut ranges = Vec::new();
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            ranges.push((lo + k, hi));
            hi = lo + k;
        } else {
            ranges.push((lo, lo + k));
            lo += k;
        }
    }
    ranges.reverse();
    range_hashes(&ranges, reader)
}

/// Checks an inclusion proof (RFC 9162 §2.1.3.2): that the leaf `index` with `leaf_hash` is in
/// the tree of `size` leaves whose root is `root`.
pub fn check_record(proof: &[Hash], size: u64, root: &Hash, index: u64, leaf_hash: &Hash) -> Result<()> {
    check_size(size)?;
    if index >= size {
        return Err(Error::IndexOutOfRange { index, size });
    }
    if proof.len() > MAX_PROOF_HASHES {
        return Err(Error::InclusionProofFailed);
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if s == 0 {
            return Err(Error::InclusionProofFailed);
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s == 0 && r == *root {
        Ok(())
    } else {
        Err(Error::InclusionProofFailed)
    }
}

fn check_sizes(new_size: u64, old_size: u64) -> Result<()> {
    check_size(new_size)?;
    if old_size == 0 || old_size > new_size {
        return Err(Error::InvalidSizes(format!(
            "a consistency proof goes from a size of 1 or more to a size not below it, not from {old_size} to \
             {new_size}"
        )));
    }
    Ok(())
}

/// The consistency proof (RFC 9162 §2.1.4.1 `PROOF`) that the tree of `old_size` leaves is a
/// prefix of the tree of `new_size` leaves (1 ≤ old_size ≤ new_size).
pub fn prove_tree(new_size: u64, old_size: u64, reader: &impl HashReader) -> Result<Vec<Hash>> {
    check_sizes(new_size, old_size)?;
    let (mut lo, mut hi, mut m) = (0, new_size, old_size);
    let mut whole = true;
    let mut ranges = Vec::new();
    loop {
        if m == hi - lo {
            if !whole {
                ranges.push((lo, hi));
            }
            break;
        }
        let k = split_point(hi - lo);
        if m <= k {
            ranges.push((lo + k, hi));
            hi = lo + k;
        } else {
            ranges.push((lo, lo + k));
            lo += k;
            m -= k;
            whole = false;
        }
    }
    ranges.reverse();
    range_hashes(&ranges, reader)
}

/// Checks a consistency proof (RFC 9162 §2.1.4.2): that the tree of `old_size` leaves with
/// root `old_root` is a prefix of the tree of `new_size` leaves with root `new_root`.
pub fn check_tree(proof: &[Hash], new_size: u64, new_root: &Hash, old_size: u64, old_root: &Hash) -> Result<()> {
    check_sizes(new_size, old_size)?;
    if old_size == new_size {
        return if proof.is_empty() && old_root == new_root { Ok(()) } else { Err(Error::ConsistencyProofFailed) };
    }
    if proof.is_empty() || proof.len() > MAX_PROOF_HASHES {
        return Err(Error::ConsistencyProofFailed);
    }
    let mut path = proof.iter();
    let first = if old_size.is_power_of_two() { *old_root } else { *path.next().unwrap_or(old_root) };
    let (mut f, mut s) = (old_size - 1, new_size - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (first, first);
    for c in path {
        if s == 0 {
            return Err(Error::ConsistencyProofFailed);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if fr == *old_root && sr == *new_root && s == 0 {
        Ok(())
    } else {
        Err(Error::ConsistencyProofFailed)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::hash::leaf_hash;

    /// The RFC 6962 test leaves of certificate-transparency and transparency-dev/merkle.
    const LEAVES: [&str; 8] =
        ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];

    /// Their roots for the tree sizes 1 to 8.
    const ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn h(hex: &str) -> Hash {
        Hash::from_hex(hex).unwrap()
    }

    fn vector_tree() -> MemoryHashes {
        let mut tree = MemoryHashes::new();
        for leaf in LEAVES {
            tree.append(leaf_hash(&hex::decode(leaf).unwrap())).unwrap();
        }
        tree
    }

    fn tree_of(size: u64) -> MemoryHashes {
        let mut tree = MemoryHashes::new();
        for i in 0..size {
            tree.append(leaf_hash(&i.to_be_bytes())).unwrap();
        }
        tree
    }

    #[test]
    fn roots_are_the_rfc_6962_vectors() {
        let tree = vector_tree();
        assert_eq!(tree_hash(0, &tree).unwrap(), empty_root());
        for (size, root) in (1..=8).zip(ROOTS) {
            assert_eq!(tree_hash(size, &tree).unwrap(), h(root), "size {size}");
        }
    }

    #[test]
    fn inclusion_proofs_are_the_rfc_6962_vectors() {
        let tree = vector_tree();
        let vectors: [(u64, u64, &[&str]); 5] = [
            (0, 1, &[]),
            (
                0,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
            (
                1,
                5,
                &[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (index, size, expected) in vectors {
            let expected: Vec<Hash> = expected.iter().map(|e| h(e)).collect();
            assert_eq!(prove_record(size, index, &tree).unwrap(), expected, "leaf {index} of {size}");
            let leaf = leaf_hash(&hex::decode(LEAVES[index as usize]).unwrap());
            let root = h(ROOTS[size as usize - 1]);
            check_record(&expected, size, &root, index, &leaf).unwrap();
        }
    }

    #[test]
    fn consistency_proofs_are_the_rfc_6962_vectors() {
        let tree = vector_tree();
        let vectors: [(u64, u64, &[&str]); 5] = [
            (1, 1, &[]),
            (
                1,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
            (
                2,
                8,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
        ];
        for (old, new, expected) in vectors {
            let expected: Vec<Hash> = expected.iter().map(|e| h(e)).collect();
            assert_eq!(prove_tree(new, old, &tree).unwrap(), expected, "{old} to {new}");
            let (old_root, new_root) = (h(ROOTS[old as usize - 1]), h(ROOTS[new as usize - 1]));
            check_tree(&expected, new, &new_root, old, &old_root).unwrap();
        }
    }

    #[test]
    fn stored_hash_indexes_follow_the_append_order() {
        // Leaves 0, 1 then their parent, leaf 2, leaf 3, then (2,3) and (0..4), …
        let expected = [(0, 0), (0, 1), (1, 0), (0, 2), (0, 3), (1, 1), (2, 0), (0, 4)];
        for (index, &(level, n)) in expected.iter().enumerate() {
            assert_eq!(stored_hash_index(level, n).unwrap(), index as u64);
            assert_eq!(split_stored_hash_index(index as u64).unwrap(), (level, n));
        }
        for n in 0..300u64 {
            assert_eq!(stored_hash_count(n).unwrap(), tree_of(n).hashes().len() as u64);
        }
        for index in 0..5000 {
            let (level, n) = split_stored_hash_index(index).unwrap();
            assert_eq!(stored_hash_index(level, n).unwrap(), index);
        }
        assert!(stored_hash_index(63, 0).is_err());
        assert!(stored_hash_index(2, u64::MAX).is_err());
        assert!(stored_hash_index(0, MAX_TREE_SIZE).is_err());
        assert!(stored_hash_count(u64::MAX).is_err());
        assert!(split_stored_hash_index(u64::MAX).is_err());
    }

    #[test]
    fn hostile_sizes_and_readers_are_errors_not_panics() {
        let tree = tree_of(10);
        let leaf = leaf_hash(&0u64.to_be_bytes());
        let root = tree_hash(10, &tree).unwrap();
        assert!(matches!(prove_record(10, 10, &tree), Err(Error::IndexOutOfRange { index: 10, size: 10 })));
        assert!(matches!(prove_record(0, 0, &tree), Err(Error::IndexOutOfRange { .. })));
        assert!(matches!(prove_record(11, 0, &tree), Err(Error::MissingHash(_))));
        assert!(matches!(prove_tree(10, 0, &tree), Err(Error::InvalidSizes(_))));
        assert!(matches!(prove_tree(5, 6, &tree), Err(Error::InvalidSizes(_))));
        assert!(prove_tree(u64::MAX, 1, &tree).is_err());
        assert!(tree_hash(u64::MAX, &tree).is_err());
        assert!(check_record(&[], 0, &root, 0, &leaf).is_err());
        assert!(check_record(&[], u64::MAX, &root, 0, &leaf).is_err());
        assert!(check_record(&vec![leaf; 1000], 10, &root, 0, &leaf).is_err());
        assert!(check_tree(&[], 10, &root, 0, &empty_root()).is_err());
        assert!(check_tree(&[], 10, &root, 11, &root).is_err());
        assert!(check_tree(&[], 10, &root, 10, &root).is_ok());
        assert!(check_tree(&[root], 10, &root, 10, &root).is_err());
        assert!(check_tree(&[], 10, &root, 3, &root).is_err());
        assert!(check_tree(&vec![root; 1000], 10, &root, 3, &root).is_err());

        struct Short;
        impl HashReader for Short {
            fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>> {
                Ok(vec![Hash::default(); indexes.len().saturating_sub(1)])
            }
        }
        assert!(matches!(tree_hash(10, &Short), Err(Error::ReaderCount { asked: 2, got: 1 })));
        assert!(matches!(stored_hashes_for_leaf(1, leaf, &Short), Err(Error::ReaderCount { .. })));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn every_inclusion_proof_verifies_and_any_change_fails(
            size in 1u64..300, index_seed in any::<u64>(), byte in 0usize..32, other_seed in any::<u64>()
        ) {
            let tree = tree_of(size);
            let index = index_seed % size;
            let root = tree_hash(size, &tree).unwrap();
            let leaf = leaf_hash(&index.to_be_bytes());
            let proof = prove_record(size, index, &tree).unwrap();
            prop_assert!(check_record(&proof, size, &root, index, &leaf).is_ok());
            for i in 0..proof.len() {
                let mut bad = proof.clone();
                bad[i].0[byte] ^= 1;
                prop_assert!(check_record(&bad, size, &root, index, &leaf).is_err());
            }
            let mut bad_leaf = leaf;
            bad_leaf.0[byte] ^= 0x80;
            prop_assert!(check_record(&proof, size, &root, index, &bad_leaf).is_err());
            let mut bad_root = root;
            bad_root.0[byte] ^= 0x80;
            prop_assert!(check_record(&proof, size, &bad_root, index, &leaf).is_err());
            let other = other_seed % (size + 2);
            if other != index {
                prop_assert!(check_record(&proof, size, &root, other, &leaf).is_err());
            }
            let mut longer = proof.clone();
            longer.push(root);
            prop_assert!(check_record(&longer, size, &root, index, &leaf).is_err());
            if !proof.is_empty() {
                prop_assert!(check_record(&proof[..proof.len() - 1], size, &root, index, &leaf).is_err());
            }
        }

        #[test]
        fn every_consistency_proof_verifies_and_any_change_fails(
            new in 1u64..300, old_seed in any::<u64>(), byte in 0usize..32, other_seed in any::<u64>()
        ) {
            let tree = tree_of(new);
            let old = old_seed % new + 1;
            let (old_root, new_root) = (tree_hash(old, &tree).unwrap(), tree_hash(new, &tree).unwrap());
            let proof = prove_tree(new, old, &tree).unwrap();
            prop_assert!(check_tree(&proof, new, &new_root, old, &old_root).is_ok());
            for i in 0..proof.len() {
                let mut bad = proof.clone();
                bad[i].0[byte] ^= 1;
                prop_assert!(check_tree(&bad, new, &new_root, old, &old_root).is_err());
            }
            let mut bad_root = old_root;
            bad_root.0[byte] ^= 0x80;
            prop_assert!(check_tree(&proof, new, &new_root, old, &bad_root).is_err());
            let mut bad_root = new_root;
            bad_root.0[byte] ^= 0x80;
            prop_assert!(check_tree(&proof, new, &bad_root, old, &old_root).is_err());
            let other = other_seed % new + 1;
            if other != old {
                let other_root = tree_hash(other, &tree).unwrap();
                prop_assert!(check_tree(&proof, new, &new_root, other, &other_root).is_err());
            }
            let mut longer = proof.clone();
            longer.push(new_root);
            prop_assert!(check_tree(&longer, new, &new_root, old, &old_root).is_err());
            if !proof.is_empty() {
                prop_assert!(check_tree(&proof[..proof.len() - 1], new, &new_root, old, &old_root).is_err());
            }
        }

        #[test]
        fn the_root_of_every_size_is_the_recursive_definition(size in 0u64..600) {
            fn mth(leaves: &[Hash]) -> Hash {
                match leaves.len() {
                    0 => empty_root(),
                    1 => leaves[0],
                    n => {
                        let k = split_point(n as u64) as usize;
                        node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
                    }
                }
            }
            let tree = tree_of(size);
            let leaves: Vec<Hash> = (0..size).map(|i| leaf_hash(&i.to_be_bytes())).collect();
            prop_assert_eq!(tree_hash(size, &tree).unwrap(), mth(&leaves));
        }
    }
}
