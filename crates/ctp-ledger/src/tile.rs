//! C2SP tlog-tiles v0.1.0: the tree served as tiles of 256 hashes, and the entries as bundles.
//!
//! A hash tile `tile/<L>/<N>[.p/<W>]` holds `W` (256 when full) consecutive stored hashes at
//! tree level `8·L`, starting at `N·256`: at level 0 the leaf hashes, at level `L` the roots of
//! the full tiles of level `L − 1`. An entry bundle `tile/entries/<N>[.p/<W>]` holds the
//! entries whose leaf hashes are in the level-0 tile `N`, each as a big-endian `u16` length
//! followed by the entry's bytes. `N` is written in 3-digit groups, all but the last prefixed
//! with `x` (`1234067` is `x001/x234/067`).

use crate::error::{Error, Result};
use crate::hash::HASH_SIZE;
use crate::merkle::{stored_hash_index, HashReader, MAX_TREE_SIZE};

/// The height of a tile: 8 tree levels.
pub const TILE_HEIGHT: u32 = 8;

/// The width of a full tile: 256 hashes (or entries).
pub const TILE_WIDTH: u16 = 1 << TILE_HEIGHT;

/// The highest tile level a path may name (C2SP: 0 to 63).
pub const MAX_TILE_LEVEL: u8 = 63;

/// The largest entry a bundle can hold (its length is a `u16`).
pub const MAX_ENTRY_SIZE: usize = u16::MAX as usize;

/// What a tile holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileKind {
    /// Merkle tree hashes of this tile level (tree level `8·level`).
    Hashes(u8),
    /// The entries of the level-0 tile with the same index (`tile/entries/…`).
    Entries,
}

/// A tile (or entry bundle): what it holds, its index in its level and its width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tile {
    /// Hashes of a level, or entries.
    pub kind: TileKind,
    /// The tile's index `N` within its level.
    pub index: u64,
    /// How many hashes (entries) it holds: 1 to 256, 256 for a full tile.
    pub width: u16,
}

impl Tile {
    /// A full tile holds 256 hashes; the others are partial (`.p/<W>`).
    pub fn is_partial(&self) -> bool {
        self.width != TILE_WIDTH
    }

    /// The tile's path under the log's prefix: `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        let mut out = String::from("tile/");
        match self.kind {
            TileKind::Hashes(level) => out.push_str(&level.to_string()),
            TileKind::Entries => out.push_str("entries"),
        }
        out.push('/');
        let mut groups = Vec::new();
        let mut n = self.index;
        loop {
            groups.push(n % 1000);
            n /= 1000;
            if n == 0 {
                break;
            }
        }
        for (i, group) in groups.iter().rev().enumerate() {
            if i + 1 < groups.len() {
                out.push_str(&format!("x{group:03}/"));
            } else {
                out.push_str(&format!("{group:03}"));
            }
        }
        if self.is_partial() {
            out.push_str(&format!(".p/{}", self.width));
        }
        out
    }

    /// Parses a tile path (as [`Tile::path`] writes it, the only accepted spelling). The path
    /// comes from the network: anything else is an error.
    pub fn parse_path(path: &str) -> Result<Tile> {
        let bad = |reason| Error::BadTilePath { path: path.chars().take(100).collect(), reason };
        if path.len() > 64 {
            return Err(bad("too long"));
        }
        let rest = path.strip_prefix("tile/").ok_or(bad("does not start with tile/"))?;
        let (level, rest) = rest.split_once('/').ok_or(bad("no tile index"))?;
        let kind = if level == "entries" {
            TileKind::Entries
        } else {
            let level = parse_decimal(level, u64::from(MAX_TILE_LEVEL)).ok_or(bad("the level is not 0 to 63"))?;
            TileKind::Hashes(level as u8)
        };
        let (digits, width) = match rest.split_once(".p/") {
            Some((digits, width)) => {
                let width = parse_decimal(width, u64::from(TILE_WIDTH) - 1)
                    .filter(|&w| w > 0)
                    .ok_or(bad("a partial width is 1 to 255"))?;
                (digits, width as u16)
            }
            None => (rest, TILE_WIDTH),
        };
        let groups: Vec<&str> = digits.split('/').collect();
        let mut index: u64 = 0;
        for (i, group) in groups.iter().enumerate() {
            let last = i + 1 == groups.len();
            let digits =
                if last { *group } else { group.strip_prefix('x').ok_or(bad("an inner group lacks its x"))? };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("an index group is not 3 digits"));
            }
            if i == 0 && !last && digits == "000" {
                return Err(bad("the index has a leading zero group"));
            }
            let value: u64 = digits.parse().map_err(|_| bad("an index group is not 3 digits"))?;
            index = index.checked_mul(1000).and_then(|n| n.checked_add(value)).ok_or(bad("the index is too large"))?;
        }
        let tile = Tile { kind, index, width };
        // The tile must lie within a supported tree.
        tile.end_leaf().ok_or(bad("the tile lies beyond the largest supported tree"))?;
        Ok(tile)
    }

    /// The tree level of the hashes (8 × tile level); 0 for entries.
    fn hash_level(&self) -> u32 {
        match self.kind {
            TileKind::Hashes(level) => u32::from(level) * TILE_HEIGHT,
            TileKind::Entries => 0,
        }
    }

    /// One past the last leaf this tile covers, if within [`MAX_TREE_SIZE`].
    pub fn end_leaf(&self) -> Option<u64> {
        let level = self.hash_level();
        let first = self.index.checked_mul(u64::from(TILE_WIDTH))?;
        let end = first.checked_add(u64::from(self.width))?;
        let end = end.checked_mul(1u64.checked_shl(level).filter(|_| level < 63)?)?;
        (end <= MAX_TREE_SIZE).then_some(end)
    }

    /// The stored hash indexes of the hashes the tile holds (an error for entry bundles).
    pub fn stored_hash_indexes(&self) -> Result<Vec<u64>> {
        if self.kind == TileKind::Entries || self.width == 0 || self.width > TILE_WIDTH {
            return Err(Error::BadTile(format!("{} holds no hashes", self.path())));
        }
        self.end_leaf().ok_or_else(|| Error::BadTile(format!("{} is beyond the largest tree", self.path())))?;
        let first = self.index * u64::from(TILE_WIDTH);
        (0..u64::from(self.width)).map(|i| stored_hash_index(self.hash_level(), first + i)).collect()
    }
}

/// A decimal without leading zeros, at most `max`.
fn parse_decimal(text: &str, max: u64) -> Option<u64> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if text.len() > 1 && text.starts_with('0') {
        return None;
    }
    text.parse().ok().filter(|&n| n <= max)
}

/// The hash tiles of a tree of `size` leaves at `level`: how many hashes the level holds.
fn level_hashes(size: u64, level: u32) -> u64 {
    size.checked_shr(level * TILE_HEIGHT).unwrap_or(0)
}

/// The hash tiles that a tree growing from `old_size` to `new_size` leaves adds or changes
/// (every tile of the tree when `old_size` is 0), lowest level first. The entry bundles
/// are the level-0 ones with [`TileKind::Entries`]. Unlike Go's `tlog.NewTiles`, which lists a
/// partial tile for every intermediate size, only the partial tiles of `new_size` are listed
/// (C2SP: partial tiles are served for the sizes a checkpoint was signed for).
pub fn new_tiles(old_size: u64, new_size: u64) -> Result<Vec<Tile>> {
    if new_size > MAX_TREE_SIZE {
        return Err(Error::TooLarge(new_size));
    }
    if old_size > new_size {
        return Err(Error::InvalidSizes(format!("the tree does not shrink from {old_size} to {new_size}")));
    }
    let width = u64::from(TILE_WIDTH);
    let mut tiles = Vec::new();
    for level in 0..=u32::from(MAX_TILE_LEVEL) {
        let (old, new) = (level_hashes(old_size, level), level_hashes(new_size, level));
        if new == 0 {
            break;
        }
        if old == new {
            continue;
        }
        for index in old / width..new / width {
            tiles.push(Tile { kind: TileKind::Hashes(level as u8), index, width: TILE_WIDTH });
        }
        if new % width > 0 {
            tiles.push(Tile { kind: TileKind::Hashes(level as u8), index: new / width, width: (new % width) as u16 });
        }
    }
    Ok(tiles)
}

/// The tile at `level` that holds the hash `n` of that level (the `n`-th leaf at level 0) in
/// a tree of `size` leaves, as wide as that tree makes it; `None` if the tree does not hold it.
pub fn tile_for(level: u8, n: u64, size: u64) -> Option<Tile> {
    if level > MAX_TILE_LEVEL || size > MAX_TREE_SIZE {
        return None;
    }
    let count = level_hashes(size, u32::from(level));
    if n >= count {
        return None;
    }
    let width = u64::from(TILE_WIDTH);
    let index = n / width;
    let tile_width = (count - index * width).min(width) as u16;
    Some(Tile { kind: TileKind::Hashes(level), index, width: tile_width })
}

/// The bytes of a hash tile: its hashes, concatenated, read from the stored hashes.
pub fn read_tile(tile: &Tile, reader: &impl HashReader) -> Result<Vec<u8>> {
    let indexes = tile.stored_hash_indexes()?;
    let hashes = reader.read_hashes(&indexes)?;
    if hashes.len() != indexes.len() {
        return Err(Error::ReaderCount { asked: indexes.len(), got: hashes.len() });
    }
    Ok(hashes.iter().flat_map(|h| h.0).collect())
}

/// Checks that tile bytes have the tile's size (256 × 32 bytes when full).
pub fn check_tile_size(tile: &Tile, data: &[u8]) -> Result<()> {
    if data.len() != usize::from(tile.width) * HASH_SIZE {
        return Err(Error::BadTile(format!("{} has {} bytes", tile.path(), data.len())));
    }
    Ok(())
}

/// An entry bundle: each entry as a big-endian `u16` length then its bytes. At most 256
/// entries of at most 65 535 bytes each.
pub fn encode_entry_bundle<E: AsRef<[u8]>>(entries: &[E]) -> Result<Vec<u8>> {
    if entries.len() > usize::from(TILE_WIDTH) {
        return Err(Error::BadTile(format!("{} entries in one bundle", entries.len())));
    }
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.as_ref();
        let len =
            u16::try_from(entry.len()).map_err(|_| Error::BadTile(format!("an entry of {} bytes", entry.len())))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(entry);
    }
    Ok(out)
}

/// The entries of a bundle; truncated data, trailing bytes or more than 256 entries are errors.
pub fn parse_entry_bundle(data: &[u8]) -> Result<Vec<&[u8]>> {
    let mut entries = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        if entries.len() == usize::from(TILE_WIDTH) {
            return Err(Error::BadTile("more than 256 entries in a bundle".into()));
        }
        let (len, tail) = rest.split_first_chunk::<2>().ok_or(Error::BadTile("a truncated entry length".into()))?;
        let len = usize::from(u16::from_be_bytes(*len));
        if tail.len() < len {
            return Err(Error::BadTile("a truncated entry".into()));
        }
        let (entry, tail) = tail.split_at(len);
        entries.push(entry);
        rest = tail;
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::hash::{leaf_hash, node_hash, Hash};
    use crate::merkle::{tree_hash, MemoryHashes};

    fn hashes(level: u8, index: u64, width: u16) -> Tile {
        Tile { kind: TileKind::Hashes(level), index, width }
    }

    #[test]
    fn paths_are_the_c2sp_examples() {
        assert_eq!(hashes(0, 1234067, 256).path(), "tile/0/x001/x234/067");
        assert_eq!(hashes(1, 0, 17).path(), "tile/1/000.p/17");
        assert_eq!(hashes(63, 999, 256).path(), "tile/63/999");
        assert_eq!(hashes(2, 1000, 1).path(), "tile/2/x001/000.p/1");
        assert_eq!(Tile { kind: TileKind::Entries, index: 5, width: 3 }.path(), "tile/entries/005.p/3");
        assert_eq!(Tile::parse_path("tile/0/x001/x234/067").unwrap(), hashes(0, 1234067, 256));
        assert_eq!(
            Tile::parse_path("tile/entries/x001/002.p/255").unwrap(),
            Tile { kind: TileKind::Entries, index: 1002, width: 255 }
        );
    }

    #[test]
    fn malformed_paths_are_rejected() {
        for path in [
            "",
            "tile",
            "tile/",
            "tile/0",
            "tile/0/",
            "/tile/0/000",
            "tile/0/000/",
            "tile/00/000",
            "tile/01/000",
            "tile/64/000",
            "tile/-1/000",
            "tile/+1/000",
            "tile/data/000",
            "tile/entry/000",
            "tile/0/0",
            "tile/0/00",
            "tile/0/0000",
            "tile/0/x000/001",
            "tile/0/001/002",
            "tile/0/x1/002",
            "tile/0/x001/x002",
            "tile/0/X001/002",
            "tile/0/x001//002",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/01",
            "tile/0/000.p/",
            "tile/0/000.p",
            "tile/0/000.p/5/6",
            "tile/0/000.p/5.p/6",
            "tile/0/00a",
            "tile/0/ 001",
            "tile/0/001 ",
            "tile/0/١٢٣",
            "tile/8/0/000",
            "tile/0/x999/x999/x999/x999/x999/x999/x999/999",
            "tile/30/x999/999",
            "tile/0/x018/x446/x744/x073/x709/x551/615",
        ] {
            assert!(Tile::parse_path(path).is_err(), "{path:?} accepted");
        }
    }

    #[test]
    fn tiles_of_a_tree_are_the_c2sp_example() {
        // "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial
        // level 0 tile of width 112, one full level 1 tile, one partial level 1 tile of width 17,
        // and one partial level 2 tile of width 1."
        let tiles = new_tiles(0, 70_000).unwrap();
        let at = |level| tiles.iter().filter(move |t| t.kind == TileKind::Hashes(level));
        assert_eq!(at(0).filter(|t| !t.is_partial()).count(), 273);
        assert_eq!(at(0).filter(|t| t.is_partial()).map(|t| t.width).collect::<Vec<_>>(), [112]);
        assert_eq!(at(1).map(|t| (t.index, t.width)).collect::<Vec<_>>(), [(0, 256), (1, 17)]);
        assert_eq!(at(2).map(|t| (t.index, t.width)).collect::<Vec<_>>(), [(0, 1)]);
        assert_eq!(tiles.len(), 273 + 1 + 2 + 1);
        assert_eq!(new_tiles(0, 256).unwrap(), [hashes(0, 0, 256), hashes(1, 0, 1)]);
        assert_eq!(new_tiles(256, 256).unwrap(), []);
        assert_eq!(new_tiles(256, 300).unwrap(), [hashes(0, 1, 44)]);
        assert_eq!(new_tiles(300, 600).unwrap(), [hashes(0, 1, 256), hashes(0, 2, 88), hashes(1, 0, 2)]);
        assert!(new_tiles(5, 4).is_err());
        assert!(new_tiles(0, u64::MAX).is_err());
        assert_eq!(tile_for(0, 299, 300), Some(hashes(0, 1, 44)));
        assert_eq!(tile_for(0, 3, 300), Some(hashes(0, 0, 256)));
        assert_eq!(tile_for(1, 0, 300), Some(hashes(1, 0, 1)));
        assert_eq!(tile_for(1, 1, 300), None);
        assert_eq!(tile_for(0, 300, 300), None);
    }

    #[test]
    fn tile_hashes_are_subtree_roots() {
        let mut tree = MemoryHashes::new();
        let size = 256 * 3 + 5;
        for i in 0..size {
            tree.append(leaf_hash(&u64::to_be_bytes(i))).unwrap();
        }
        let level0 = read_tile(&hashes(0, 1, 256), &tree).unwrap();
        check_tile_size(&hashes(0, 1, 256), &level0).unwrap();
        assert_eq!(&level0[..32], leaf_hash(&256u64.to_be_bytes()).as_bytes());
        let level1 = read_tile(&hashes(1, 0, 3), &tree).unwrap();
        assert_eq!(level1.len(), 96);
        // Each level-1 hash is the root of the level-0 tile below (a 256-leaf subtree).
        let mut level = level0.chunks(32).map(|c| Hash::from_slice(c).unwrap()).collect::<Vec<_>>();
        while level.len() > 1 {
            level = level.chunks(2).map(|p| node_hash(&p[0], &p[1])).collect();
        }
        assert_eq!(&level1[32..64], level[0].as_bytes());
        // Three full subtrees of 256 and the partial rest make the root.
        assert!(tree_hash(size, &tree).is_ok());
        assert!(read_tile(&Tile { kind: TileKind::Entries, index: 0, width: 1 }, &tree).is_err());
        assert!(read_tile(&hashes(0, 3, 6), &tree).is_err());
        assert!(check_tile_size(&hashes(0, 1, 256), &level0[1..]).is_err());
    }

    #[test]
    fn entry_bundles_round_trip_and_reject_garbage() {
        let entries: Vec<Vec<u8>> = vec![b"".to_vec(), b"a".to_vec(), vec![7; 300]];
        let bundle = encode_entry_bundle(&entries).unwrap();
        assert_eq!(&bundle[..5], &[0, 0, 0, 1, b'a']);
        assert_eq!(parse_entry_bundle(&bundle).unwrap(), entries.iter().map(Vec::as_slice).collect::<Vec<_>>());
        assert!(parse_entry_bundle(&bundle[..bundle.len() - 1]).is_err());
        assert!(parse_entry_bundle(&[0]).is_err());
        assert!(parse_entry_bundle(&[0, 5, 1]).is_err());
        assert!(parse_entry_bundle(&vec![0; 2 * 257]).is_err());
        assert_eq!(parse_entry_bundle(&vec![0; 2 * 256]).unwrap().len(), 256);
        assert!(encode_entry_bundle(&[vec![0; 65_536]]).is_err());
        assert!(encode_entry_bundle(&vec![b"x"; 257]).is_err());
    }

    proptest! {
        #[test]
        fn paths_round_trip(level in 0u8..=20, index in 0u64..(1 << 30), width in 1u16..=256, entries: bool) {
            let kind = if entries { TileKind::Entries } else { TileKind::Hashes(level % 3) };
            let tile = Tile { kind, index, width };
            let path = tile.path();
            prop_assert_eq!(Tile::parse_path(&path).unwrap(), tile);
        }

        #[test]
        fn parsed_paths_are_canonical(path in "tile/(entries|[0-9]{1,2})/(x[0-9]{3}/){0,3}[0-9]{1,4}(\\.p/[0-9]{1,3})?") {
            if let Ok(tile) = Tile::parse_path(&path) {
                prop_assert_eq!(tile.path(), path);
            }
        }

        #[test]
        fn arbitrary_paths_do_not_panic(path in "\\PC{0,80}") {
            let _ = Tile::parse_path(&path);
        }
    }
}
