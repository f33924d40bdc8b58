//! C2SP tlog-proof (v1): an offline-verifiable proof that an entry is in a log.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64>            (optional)
//! index <decimal>
//! <base64 inclusion proof hash, one per line, from the leaf's sibling up>
//!
//! <the signed checkpoint note, verbatim>
//! ```

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::hash::Hash;
use crate::merkle::{check_record, MAX_PROOF_HASHES};
use crate::note::{self, Verifier};

/// The first line of a proof.
pub const PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A parsed tlog-proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// Opaque, unauthenticated extra data.
    pub extra: Option<Vec<u8>>,
    /// The entry's index in the log.
    pub index: u64,
    /// The inclusion proof in the checkpoint's tree.
    pub hashes: Vec<Hash>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: String,
}

impl TlogProof {
    /// The proof file's text.
    pub fn to_text(&self) -> String {
        let mut out = format!("{PROOF_HEADER}\n");
        if let Some(extra) = &self.extra {
            out.push_str(&format!("extra {}\n", STANDARD.encode(extra)));
        }
        out.push_str(&format!("index {}\n", self.index));
        for hash in &self.hashes {
            out.push_str(&hash.to_base64());
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Parses a proof file, strictly (the checkpoint note is checked by [`TlogProof::verify`]).
    pub fn parse(text: &str) -> Result<TlogProof> {
        let bad = Error::MalformedProof;
        if text.len() > note::MAX_NOTE_SIZE + 8 * 1024 {
            return Err(bad("too large"));
        }
        let rest = text.strip_prefix(PROOF_HEADER).and_then(|r| r.strip_prefix('\n')).ok_or(bad("no header"))?;
        let (line, mut rest) = rest.split_once('\n').ok_or(bad("no index line"))?;
        let (extra, line) = match line.strip_prefix("extra ") {
            Some(encoded) => {
                let extra = STANDARD.decode(encoded).map_err(|_| bad("the extra data is not base64"))?;
                let (line, after) = rest.split_once('\n').ok_or(bad("no index line"))?;
                rest = after;
                (Some(extra), line)
            }
            None => (None, line),
        };
        let index = line.strip_prefix("index ").ok_or(bad("no index line"))?;
        if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) || (index.len() > 1 && index.starts_with('0'))
        {
            return Err(bad("the index is not a decimal without leading zeros"));
        }
        let index = index.parse().map_err(|_| bad("the index is too large"))?;
        let mut hashes = Vec::new();
        loop {
            let (line, after) = rest.split_once('\n').ok_or(bad("no blank line before the checkpoint"))?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if hashes.len() == MAX_PROOF_HASHES {
                return Err(bad("too many proof hashes"));
            }
            hashes.push(Hash::from_base64(line).map_err(|_| bad("a proof line is not base64 of 32 bytes"))?);
        }
        if rest.is_empty() {
            return Err(bad("no checkpoint"));
        }
        Ok(TlogProof { extra, index, hashes, checkpoint: rest.to_owned() })
    }

    /// Checks the proof offline: the checkpoint carries a valid signature by `verifier` (whose
    /// name is the checkpoint's origin), and the entry with `leaf_hash` is at the proof's index
    /// in the checkpoint's tree. Returns the checkpoint.
    pub fn verify(&self, verifier: &Verifier, leaf_hash: &Hash) -> Result<Checkpoint> {
        let checkpoint = Checkpoint::open(self.checkpoint.as_bytes(), verifier)?;
        check_record(&self.hashes, checkpoint.size, &checkpoint.root, self.index, leaf_hash)?;
        Ok(checkpoint)
    }
}

/// Parses and checks a proof file (see [`TlogProof::verify`]); returns the proof and its
/// checkpoint.
pub fn verify_proof(text: &str, verifier: &Verifier, leaf_hash: &Hash) -> Result<(TlogProof, Checkpoint)> {
    let proof = TlogProof::parse(text)?;
    let checkpoint = proof.verify(verifier, leaf_hash)?;
    Ok((proof, checkpoint))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::hash::leaf_hash;
    use crate::merkle::{prove_record, tree_hash, MemoryHashes};
    use crate::note::Signer;

    fn log(size: u64) -> (MemoryHashes, Signer, String) {
        let mut tree = MemoryHashes::new();
        for i in 0..size {
            tree.append(leaf_hash(format!("entry {i}").as_bytes())).unwrap();
        }
        let signer = Signer::generate("example.com/log").unwrap();
        let checkpoint = Checkpoint {
            origin: "example.com/log".into(),
            size,
            root: tree_hash(size, &tree).unwrap(),
            extensions: vec![],
        };
        let signed = checkpoint.sign(&signer).unwrap();
        (tree, signer, signed)
    }

    #[test]
    fn a_proof_round_trips_and_verifies() {
        let (tree, signer, signed) = log(13);
        for extra in [None, Some(b"context".to_vec()), Some(vec![])] {
            let proof = TlogProof {
                extra: extra.clone(),
                index: 6,
                hashes: prove_record(13, 6, &tree).unwrap(),
                checkpoint: signed.clone(),
            };
            let text = proof.to_text();
            assert!(text.starts_with("c2sp.org/tlog-proof@v1\n"));
            assert_eq!(TlogProof::parse(&text).unwrap(), proof);
            let (_, checkpoint) = verify_proof(&text, &signer.verifier(), &leaf_hash(b"entry 6")).unwrap();
            assert_eq!(checkpoint.size, 13);
            assert!(matches!(
                verify_proof(&text, &signer.verifier(), &leaf_hash(b"entry 7")),
                Err(Error::InclusionProofFailed)
            ));
            let stranger = Signer::generate("example.com/log").unwrap();
            assert!(verify_proof(&text, &stranger.verifier(), &leaf_hash(b"entry 6")).is_err());
            let moved = text.replacen("index 6\n", "index 7\n", 1);
            assert!(verify_proof(&moved, &signer.verifier(), &leaf_hash(b"entry 6")).is_err());
        }
        // A single-leaf tree has an empty proof.
        let (_, signer, signed) = log(1);
        let text = format!("{PROOF_HEADER}\nindex 0\n\n{signed}");
        verify_proof(&text, &signer.verifier(), &leaf_hash(b"entry 0")).unwrap();
    }

    #[test]
    fn malformed_proofs_are_rejected() {
        let (tree, _, signed) = log(5);
        let good =
            TlogProof { extra: None, index: 2, hashes: prove_record(5, 2, &tree).unwrap(), checkpoint: signed.clone() }
                .to_text();
        let h = good.lines().nth(2).unwrap().to_owned();
        for bad in [
            String::new(),
            good.replacen(PROOF_HEADER, "c2sp.org/tlog-proof@v2", 1),
            good.replacen("index 2", "index 02", 1),
            good.replacen("index 2", "index  2", 1),
            good.replacen("index 2", "index -2", 1),
            good.replacen("index 2", "index", 1),
            good.replacen("index 2", "index 99999999999999999999999", 1),
            good.replacen("index 2\n", "", 1),
            good.replacen("index 2\n", "extra !!\nindex 2\n", 1),
            good.replacen("index 2\n", "index 2\nextra AA==\n", 1),
            good.replacen(&h, &h[..43], 1),
            good.replacen(&format!("{h}\n"), &format!("{h}\n \n"), 1),
            good.replacen("\n\n", "\n", 1),
            format!("{PROOF_HEADER}\nindex 2\n\n"),
            format!("{PROOF_HEADER}\nindex 2\n"),
            format!("{PROOF_HEADER}\nindex 2\n{}\n{signed}", format!("{h}\n").repeat(MAX_PROOF_HASHES + 1)),
        ] {
            assert!(TlogProof::parse(&bad).is_err(), "{bad:?} accepted");
        }
    }

    proptest! {
        #[test]
        fn hostile_proofs_do_not_panic(text in "(c2sp.org/tlog-proof@v1\n)?(extra [A-Za-z0-9+/=]{0,8}\n)?(index [0-9]{0,3}\n)?([A-Za-z0-9+/=]{0,44}\n){0,3}\n?\\PC{0,50}") {
            let _ = TlogProof::parse(&text);
        }
    }
}
