//! ctp-ledger against Go's reference implementation (`golang.org/x/mod/sumdb/note` and
//! `sumdb/tlog`, Debian packages golang-go and golang-golang-x-mod-dev, installed by
//! scripts/test): the crate writes a tree of 1000 leaves (signed checkpoint, keys, tiles, entry
//! bundles, stored hashes, inclusion and consistency proofs, a tlog-proof) into a folder,
//! `tests/go/verify.go` checks them all with Go and writes a key, a signed note and a tree hash
//! of its own, which the crate then checks. No network: Go runs in GOPATH mode on the Debian
//! sources.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{DateTime, Utc};
use ctp_ledger::tile::{encode_entry_bundle, new_tiles, read_tile, Tile, TileKind};
use ctp_ledger::{
    leaf_hash, note, prove_record, prove_tree, sha256, tree_hash, Checkpoint, Hash, Leaf, LeafKind, MemoryHashes,
    Signer, TlogProof, Verifier,
};

const SIZE: u64 = 1000;
const OLD: u64 = 500;
const ORIGIN: &str = "ctpd.example/log";
const GOPATH: &str = "/usr/share/gocode";
const X_MOD: &str = "/usr/share/gocode/src/golang.org/x/mod/sumdb/tlog";

fn go_is_installed() {
    let version = Command::new("go").arg("version").output();
    assert!(
        version.as_ref().is_ok_and(|o| o.status.success()) && Path::new(X_MOD).is_dir(),
        "Go or golang.org/x/mod is missing ({version:?}, {X_MOD} present: {}): run scripts/test, which installs \
         the Debian packages golang-go and golang-golang-x-mod-dev",
        Path::new(X_MOD).is_dir()
    );
}

fn run_go(dir: &Path) -> Output {
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("go-cache");
    let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go/verify.go");
    Command::new("go")
        .arg("run")
        .arg(&program)
        .arg(dir)
        .env("GO111MODULE", "off")
        .env("GOPATH", GOPATH)
        .env("GOCACHE", &cache)
        .env("GOFLAGS", "")
        .env("GOPROXY", "off")
        .env("GOTOOLCHAIN", "local")
        .output()
        .expect("go runs")
}

fn entry(i: u64) -> Vec<u8> {
    let time: DateTime<Utc> = DateTime::from_timestamp(1_770_000_000 + i as i64, (i as u32 % 3) * 1_000_000).unwrap();
    let kind = [LeafKind::Result, LeafKind::Log, LeafKind::Audit][i as usize % 3];
    let measurement = (kind != LeafKind::Audit).then(|| format!("m-{}", i % 7));
    Leaf { kind, id: format!("r-{i}"), measurement, sha256: sha256(&i.to_be_bytes()), time }.encode().unwrap()
}

fn line(fields: impl IntoIterator<Item = String>) -> String {
    fields.into_iter().collect::<Vec<_>>().join(" ") + "\n"
}

fn b64(hashes: &[Hash]) -> impl Iterator<Item = String> + '_ {
    hashes.iter().map(Hash::to_base64)
}

/// Writes everything Go checks; returns the root.
fn write_log(dir: &Path, signer: &Signer) -> (MemoryHashes, Vec<Vec<u8>>) {
    let entries: Vec<Vec<u8>> = (0..SIZE).map(entry).collect();
    let mut tree = MemoryHashes::new();
    for e in &entries {
        tree.append(leaf_hash(e)).unwrap();
    }
    let root = tree_hash(SIZE, &tree).unwrap();
    let checkpoint = Checkpoint { origin: ORIGIN.into(), size: SIZE, root, extensions: vec![] };
    let write = |name: &str, data: &[u8]| {
        let path = dir.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, data).unwrap();
    };
    write("checkpoint", checkpoint.sign(signer).unwrap().as_bytes());
    write("vkey", format!("{}\n", signer.verifier().key_text()).as_bytes());
    write("skey", format!("{}\n", signer.key_text()).as_bytes());
    write("stored", &tree.hashes().iter().flat_map(|h| h.0).collect::<Vec<u8>>());

    // Tiles of the tree at 1000 and at 500 (whose partial tiles Go reads for the older proofs),
    // and the entry bundles.
    for tile in new_tiles(0, SIZE).unwrap().into_iter().chain(new_tiles(0, OLD).unwrap()) {
        write(&tile.path(), &read_tile(&tile, &tree).unwrap());
        if tile.kind == TileKind::Hashes(0) {
            let first = (tile.index * 256) as usize;
            let bundle = encode_entry_bundle(&entries[first..first + usize::from(tile.width)]).unwrap();
            write(&Tile { kind: TileKind::Entries, ..tile }.path(), &bundle);
        }
    }
    let mut tiles = String::new();
    for (old, new) in [(0, SIZE), (0, OLD), (OLD, SIZE), (0, 1), (255, 257), (256, 512), (999, 1000), (0, 70_000)] {
        let paths = new_tiles(old, new).unwrap().iter().map(Tile::path).collect::<Vec<_>>();
        tiles.push_str(&line([old.to_string(), new.to_string()].into_iter().chain(paths)));
    }
    write("tiles.txt", tiles.as_bytes());

    let mut inclusion = String::new();
    for size in [SIZE, OLD, 1, 2, 3, 256, 257, 999] {
        let size_root = tree_hash(size, &tree).unwrap();
        for index in (0..size).filter(|i| i % 37 == 0 || [1, 255, 256, 499, size - 1].contains(i)) {
            let proof = prove_record(size, index, &tree).unwrap();
            let head = [size.to_string(), index.to_string(), leaf_hash(&entries[index as usize]).to_base64()];
            inclusion.push_str(&line(head.into_iter().chain([size_root.to_base64()]).chain(b64(&proof))));
        }
    }
    write("inclusion.txt", inclusion.as_bytes());

    let mut consistency = String::new();
    for (old, new) in
        [(1, SIZE), (OLD, SIZE), (256, SIZE), (999, SIZE), (SIZE, SIZE), (7, 13), (1, 2), (3, OLD), (64, 65)]
    {
        let proof = prove_tree(new, old, &tree).unwrap();
        let roots = [tree_hash(new, &tree).unwrap().to_base64(), tree_hash(old, &tree).unwrap().to_base64()];
        consistency.push_str(&line([new.to_string(), old.to_string()].into_iter().chain(roots).chain(b64(&proof))));
    }
    write("consistency.txt", consistency.as_bytes());

    let proof = TlogProof {
        extra: Some(b"ctpd".to_vec()),
        index: 123,
        hashes: prove_record(SIZE, 123, &tree).unwrap(),
        checkpoint: checkpoint.sign(signer).unwrap(),
    };
    write("proof.tlog-proof", proof.to_text().as_bytes());
    write("proof-leaf", format!("{}\n", leaf_hash(&entries[123]).to_base64()).as_bytes());
    (tree, entries)
}

#[test]
fn go_sumdb_agrees_with_the_crate_both_ways() {
    go_is_installed();
    let dir = tempfile::tempdir().unwrap();
    let signer = Signer::generate(ORIGIN).unwrap();
    let (tree, _) = write_log(dir.path(), &signer);

    let output = run_go(dir.path());
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "Go's reference implementation disagrees:\n{stdout}\n{stderr}");
    assert!(stdout.contains("checks passed"), "{stdout}\n{stderr}");

    // Go's key, note and tree hash, checked by the crate.
    let read = |name: &str| fs::read_to_string(dir.path().join(name)).unwrap();
    let go_vkey = read("go-vkey");
    let verifier = Verifier::from_key_text(go_vkey.trim()).unwrap();
    let go_note = read("go-note");
    let opened = note::open(go_note.as_bytes(), std::slice::from_ref(&verifier)).unwrap();
    let checkpoint = Checkpoint::open(go_note.as_bytes(), &verifier).unwrap();
    assert_eq!(checkpoint.size, SIZE);
    assert_eq!(checkpoint.root, tree_hash(SIZE, &tree).unwrap());
    assert_eq!(Hash::from_base64(read("go-treehash").trim()).unwrap(), checkpoint.root);
    // Go's signer key text reads back to the same key, which signs exactly as Go did.
    let go_signer = Signer::from_key_text(read("go-skey").trim()).unwrap();
    assert_eq!(go_signer.verifier(), verifier);
    assert_eq!(note::sign(&opened.text, &[&go_signer]).unwrap(), go_note);
    // A tampered Go note does not open.
    let tampered = go_note.replacen(&format!("\n{SIZE}\n"), &format!("\n{}\n", SIZE + 1), 1);
    assert!(note::open(tampered.as_bytes(), &[verifier]).is_err());
}

/// The Go side is not vacuous: one wrong hash in one proof, and it fails.
#[test]
fn go_notices_a_wrong_proof() {
    go_is_installed();
    let dir = tempfile::tempdir().unwrap();
    let signer = Signer::generate(ORIGIN).unwrap();
    write_log(dir.path(), &signer);
    let path = dir.path().join("consistency.txt");
    let text = fs::read_to_string(&path).unwrap();
    let first = text.lines().next().unwrap();
    let last_hash = first.rsplit(' ').next().unwrap();
    let wrong = first.replace(last_hash, &sha256(b"wrong").to_base64());
    fs::write(&path, text.replacen(first, &wrong, 1)).unwrap();
    let output = run_go(dir.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "Go accepted a wrong consistency proof");
    assert!(stderr.contains("go: FAIL: CheckTree(1 to 1000)"), "{stderr}");
}
