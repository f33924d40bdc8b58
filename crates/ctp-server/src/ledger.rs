//! The transparency log as the server publishes it (issue 14): the log's signing key (made
//! once and kept in the store, so that every instance signs with it), signed checkpoints
//! (C2SP tlog-checkpoint as a signed note), tiles (C2SP tlog-tiles), inclusion proofs of
//! results and log entries (C2SP tlog-proof, the leaf in its `extra`) and consistency
//! proofs. The leaves themselves are appended by the store, in the transaction of what they
//! record ([`ctp_model::ledger`] says what a leaf holds).

use ctp_ledger::tile::{Tile, TileKind};
use ctp_ledger::{Checkpoint, Hash, Signer, TlogProof};
use ctp_model::ResourceId;
use ctp_store::ledger::{compute, Computed, KnownHashes, LeafKind, Reader};
use ctp_store::Store;
use tokio::sync::OnceCell;

use crate::error::{ApiError, ApiResult};

/// The log's key and origin, loaded (or made) on first use.
#[derive(Default)]
pub struct Ledger {
    key: OnceCell<Signer>,
}

/// A checkpoint of the log as it is, signed.
pub struct SignedCheckpoint {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// Its signed note text.
    pub note: String,
}

impl Ledger {
    /// The signer: the one in the store, or a new one stored there (first use ever).
    pub async fn signer(&self, store: &dyn Store) -> ApiResult<&Signer> {
        self.key
            .get_or_try_init(|| async {
                let origin = format!("ctpd.invalid/ledger/{}", hex_id());
                let proposed =
                    Signer::generate(&origin).map_err(|e| ApiError::internal(format!("cannot make a log key: {e}")))?;
                let (_, text) = store.ledger_key(origin, proposed.key_text()).await?;
                Signer::from_key_text(&text)
                    .map_err(|e| ApiError::internal(format!("the stored transparency log key is unusable: {e}")))
            })
            .await
    }

    /// A signed checkpoint of the log as it is now.
    pub async fn checkpoint(&self, store: &dyn Store) -> ApiResult<SignedCheckpoint> {
        let signer = self.signer(store).await?;
        let size = store.ledger_size().await?;
        let root = with_hashes(store, |r| ctp_ledger::tree_hash(size, r)).await?;
        let checkpoint = Checkpoint { origin: signer.name().to_owned(), size, root, extensions: Vec::new() };
        let note = checkpoint.sign(signer).map_err(|e| ApiError::internal(format!("cannot sign a checkpoint: {e}")))?;
        Ok(SignedCheckpoint { checkpoint, note })
    }

    /// The inclusion proof (C2SP tlog-proof text) of the newest leaf recording `record`.
    pub async fn proof(&self, store: &dyn Store, kind: LeafKind, record: &ResourceId) -> ApiResult<String> {
        let (index, leaf) = store.ledger_leaf_of(kind, record).await?.ok_or_else(|| {
            ApiError::not_found(format!(
                "no leaf of the transparency log records this {}: it was stored before the log existed",
                if kind == LeafKind::Result { "result" } else { "log entry" }
            ))
        })?;
        let signed = self.checkpoint(store).await?;
        let size = signed.checkpoint.size;
        let hashes = with_hashes(store, |r| ctp_ledger::prove_record(size, index, r)).await?;
        Ok(TlogProof { extra: Some(leaf), index, hashes, checkpoint: signed.note }.to_text())
    }
}

fn hex_id() -> String {
    use rand::Rng;
    let mut bytes = [0u8; 8];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Runs a Merkle computation over the log's stored hashes, reading what it needs.
pub async fn with_hashes<T>(store: &dyn Store, computation: impl Fn(&Reader) -> ctp_ledger::Result<T>) -> ApiResult<T> {
    let mut known = KnownHashes::default();
    for _ in 0..3 {
        match compute(&known, &computation)? {
            Computed::Done(value) => return Ok(value),
            Computed::Read(indexes) => {
                let hashes = store.ledger_hashes(indexes.clone()).await?;
                known.0.extend(indexes.into_iter().zip(hashes));
            }
        }
    }
    Err(ApiError::internal("a transparency log computation kept asking for more hashes"))
}

/// The consistency proof from the tree of `old` leaves to the tree of `new` leaves.
pub async fn consistency(store: &dyn Store, old: u64, new: u64) -> ApiResult<Vec<Hash>> {
    let size = store.ledger_size().await?;
    if old > new || new > size {
        return Err(ApiError::bad_request(format!(
            "old and new must be tree sizes with old ≤ new ≤ {size} (the log's size now)"
        )));
    }
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    with_hashes(store, |r| ctp_ledger::prove_tree(new, old, r)).await
}

/// The bytes of a tile (`tile/...` as C2SP tlog-tiles names it), if the log holds it.
pub async fn tile(store: &dyn Store, path: &str) -> ApiResult<Vec<u8>> {
    let tile = Tile::parse_path(path).map_err(|e| ApiError::not_found(format!("no such tile: {e}")))?;
    let size = store.ledger_size().await?;
    let missing = || ApiError::not_found(format!("the log (size {size}) does not hold {} yet", tile.path()));
    match tile.kind {
        TileKind::Entries => {
            let first = tile.index * 256;
            let end = first + u64::from(tile.width);
            if end > size {
                return Err(missing());
            }
            let leaves = store.ledger_leaves(first, end).await?;
            ctp_ledger::tile::encode_entry_bundle(&leaves)
                .map_err(|e| ApiError::internal(format!("cannot bundle entries: {e}")))
        }
        TileKind::Hashes(_) => {
            if tile.end_leaf().is_none_or(|end| end > size) {
                return Err(missing());
            }
            with_hashes(store, |r| ctp_ledger::tile::read_tile(&tile, r)).await
        }
    }
}
