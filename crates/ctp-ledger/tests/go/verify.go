// verify.go checks what crates/ctp-ledger wrote into a folder against Go's reference
// implementation (golang.org/x/mod/sumdb/note and sumdb/tlog, Debian package
// golang-golang-x-mod-dev), then writes a key, a note and a tree hash made by Go for the
// Rust side to check. It is run by tests/go_reference.rs in GOPATH mode:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run verify.go <folder>
//
// Any disagreement prints "go: FAIL: ..." and exits 1.
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var dir string

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "go: FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func read(name string) []byte {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		fail("%v", err)
	}
	return b
}

func write(name string, data []byte) {
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		fail("%v", err)
	}
}

func hash(s string) tlog.Hash {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != tlog.HashSize {
		fail("bad hash %q", s)
	}
	var h tlog.Hash
	copy(h[:], b)
	return h
}

func hashes(fields []string) []tlog.Hash {
	out := []tlog.Hash{}
	for _, f := range fields {
		out = append(out, hash(f))
	}
	return out
}

func number(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		fail("bad number %q", s)
	}
	return n
}

// records reads a file of space-separated fields, one record per line.
func records(name string) [][]string {
	var out [][]string
	for _, line := range strings.Split(string(read(name)), "\n") {
		if line != "" {
			out = append(out, strings.Fields(line))
		}
	}
	if len(out) == 0 {
		fail("%s is empty", name)
	}
	return out
}

// c2spPath turns Go's tile path (tile/8/<L>/<N>, tile/8/data/<N>) into the C2SP one
// (tile/<L>/<N>, tile/entries/<N>).
func c2spPath(t tlog.Tile) string {
	p := strings.TrimPrefix(t.Path(), "tile/8/")
	if t.L == -1 {
		p = "entries/" + strings.TrimPrefix(p, "data/")
	}
	return "tile/" + p
}

type tileReader struct{}

func (tileReader) Height() int { return 8 }

func (tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	var out [][]byte
	for _, t := range tiles {
		b, err := os.ReadFile(filepath.Join(dir, c2spPath(t)))
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func (tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

// newTiles is tlog.NewTiles without the tiles a log that signs only the new size does not
// publish: Go's NewTiles lists every partial width between the two sizes (a tile per
// intermediate tree size) and the old partial tiles again; the crate lists the full tiles
// and, per level, the one partial tile of the new size if it is new.
func newTiles(old, new int64) []tlog.Tile {
	var out []tlog.Tile
	for _, t := range tlog.NewTiles(8, old, new) {
		shift := uint(8 * t.L)
		first := t.N << 8
		width := new>>shift - first
		had := old>>shift - first
		if t.W == 256 || (int64(t.W) == width && int64(t.W) > had) {
			out = append(out, t)
		}
	}
	return out
}

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

func parseCheckpoint(text string) checkpoint {
	lines := strings.Split(text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		fail("checkpoint text %q", text)
	}
	return checkpoint{lines[0], number(lines[1]), hash(lines[2])}
}

func equal(a, b []tlog.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func main() {
	dir = os.Args[1]
	checks := 0

	// The signed checkpoint: Go's note package reads the verifier key and the note.
	v, err := note.NewVerifier(strings.TrimSpace(string(read("vkey"))))
	if err != nil {
		fail("note.NewVerifier(rust key): %v", err)
	}
	signed := read("checkpoint")
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		fail("note.Open(rust checkpoint): %v", err)
	}
	cp := parseCheckpoint(n.Text)
	if cp.origin != v.Name() {
		fail("origin %q, key name %q", cp.origin, v.Name())
	}
	// The signer key text: Go reads it and makes the same signature (Ed25519 is deterministic).
	s, err := note.NewSigner(strings.TrimSpace(string(read("skey"))))
	if err != nil {
		fail("note.NewSigner(rust key): %v", err)
	}
	again, err := note.Sign(&note.Note{Text: n.Text}, s)
	if err != nil || !bytes.Equal(again, signed) {
		fail("Go signs the checkpoint as %q, Rust as %q (%v)", again, signed, err)
	}
	checks += 3

	// The tree read through the tiles (TileHashReader checks each tile against the tree).
	thr := tlog.TileHashReader(tlog.Tree{N: cp.size, Hash: cp.root}, tileReader{})
	th, err := tlog.TreeHash(cp.size, thr)
	if err != nil || th != cp.root {
		fail("tree hash from the tiles: %v %v, checkpoint %v", th, err, cp.root)
	}
	checks++

	// The entry bundles: each entry hashes to its level-0 tile hash; the stored hashes Go
	// computes from the entries are the ones the Rust crate stores.
	var stored []tlog.Hash
	hr := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		var out []tlog.Hash
		for _, i := range indexes {
			if i >= int64(len(stored)) {
				return nil, fmt.Errorf("no stored hash %d", i)
			}
			out = append(out, stored[i])
		}
		return out, nil
	})
	var leaf int64
	for _, t := range newTiles(0, cp.size) {
		if t.L != 0 {
			continue
		}
		level0 := read(c2spPath(t))
		data := t
		data.L = -1
		bundle := read(c2spPath(data))
		k := 0
		for len(bundle) > 0 {
			if len(bundle) < 2 || len(bundle) < 2+(int(bundle[0])<<8|int(bundle[1])) {
				fail("truncated bundle %s", c2spPath(data))
			}
			size := int(bundle[0])<<8 | int(bundle[1])
			entry := bundle[2 : 2+size]
			bundle = bundle[2+size:]
			rh := tlog.RecordHash(entry)
			if !bytes.Equal(rh[:], level0[k*32:(k+1)*32]) {
				fail("entry %d of %s does not hash to its tile hash", k, c2spPath(data))
			}
			added, err := tlog.StoredHashesForRecordHash(leaf, rh, hr)
			if err != nil {
				fail("StoredHashesForRecordHash: %v", err)
			}
			stored = append(stored, added...)
			leaf++
			k++
		}
		if k != t.W {
			fail("%s holds %d entries, want %d", c2spPath(data), k, t.W)
		}
	}
	if leaf != cp.size {
		fail("the bundles hold %d entries, the checkpoint says %d", leaf, cp.size)
	}
	rustStored := read("stored")
	if len(rustStored) != len(stored)*32 || int64(len(stored)) != tlog.StoredHashCount(cp.size) {
		fail("%d stored hash bytes from Rust, %d hashes from Go", len(rustStored), len(stored))
	}
	for i, h := range stored {
		if !bytes.Equal(h[:], rustStored[i*32:(i+1)*32]) {
			fail("stored hash %d differs", i)
		}
	}
	goRoot, err := tlog.TreeHash(cp.size, hr)
	if err != nil || goRoot != cp.root {
		fail("tree hash from the entries: %v %v", goRoot, err)
	}
	checks += 3

	// Tile coordinates and paths.
	for _, r := range records("tiles.txt") {
		old, new := number(r[0]), number(r[1])
		var got []string
		for _, t := range newTiles(old, new) {
			got = append(got, c2spPath(t))
			back, err := tlog.ParseTilePath(t.Path())
			if err != nil || back != t {
				fail("ParseTilePath(%s)", t.Path())
			}
		}
		if strings.Join(got, " ") != strings.Join(r[2:], " ") {
			fail("tiles from %d to %d: Go %v, Rust %v", old, new, got, r[2:])
		}
		checks++
	}

	// Inclusion proofs: Go checks each, and its own proof from the tiles is the same.
	for _, r := range records("inclusion.txt") {
		size, index, leafHash, root, proof := number(r[0]), number(r[1]), hash(r[2]), hash(r[3]), hashes(r[4:])
		if err := tlog.CheckRecord(proof, size, root, index, leafHash); err != nil {
			fail("CheckRecord(leaf %d of %d): %v", index, size, err)
		}
		mine, err := tlog.ProveRecord(size, index, thr)
		if err != nil || !equal(mine, proof) {
			fail("ProveRecord(leaf %d of %d) differs: %v", index, size, err)
		}
		checks++
	}

	// Consistency proofs.
	for _, r := range records("consistency.txt") {
		new, old, newRoot, oldRoot, proof := number(r[0]), number(r[1]), hash(r[2]), hash(r[3]), hashes(r[4:])
		if err := tlog.CheckTree(proof, new, newRoot, old, oldRoot); err != nil {
			fail("CheckTree(%d to %d): %v", old, new, err)
		}
		mine, err := tlog.ProveTree(new, old, thr)
		if err != nil || !equal(mine, proof) {
			fail("ProveTree(%d to %d) differs: %v", old, new, err)
		}
		checks++
	}

	// The tlog-proof file, read as c2sp.org/tlog-proof says.
	text := string(read("proof.tlog-proof"))
	lines := strings.SplitN(text, "\n", -1)
	if lines[0] != "c2sp.org/tlog-proof@v1" {
		fail("tlog-proof header %q", lines[0])
	}
	i := 1
	if strings.HasPrefix(lines[i], "extra ") {
		if _, err := base64.StdEncoding.DecodeString(lines[i][len("extra "):]); err != nil {
			fail("tlog-proof extra: %v", err)
		}
		i++
	}
	if !strings.HasPrefix(lines[i], "index ") {
		fail("tlog-proof index line %q", lines[i])
	}
	index := number(lines[i][len("index "):])
	i++
	var proof []tlog.Hash
	for ; lines[i] != ""; i++ {
		proof = append(proof, hash(lines[i]))
	}
	pn, err := note.Open([]byte(strings.Join(lines[i+1:], "\n")), note.VerifierList(v))
	if err != nil {
		fail("tlog-proof checkpoint: %v", err)
	}
	pcp := parseCheckpoint(pn.Text)
	if err := tlog.CheckRecord(proof, pcp.size, pcp.root, index, hash(strings.TrimSpace(string(read("proof-leaf"))))); err != nil {
		fail("tlog-proof inclusion: %v", err)
	}
	checks++

	// The other direction: a key made by Go, a note signed by Go, the tree hash Go computed.
	skey, vkey, err := note.GenerateKey(rand.Reader, "go.example/log")
	if err != nil {
		fail("GenerateKey: %v", err)
	}
	gs, err := note.NewSigner(skey)
	if err != nil {
		fail("NewSigner: %v", err)
	}
	goNote, err := note.Sign(&note.Note{Text: "go.example/log\n" + strconv.FormatInt(cp.size, 10) + "\n" + base64.StdEncoding.EncodeToString(goRoot[:]) + "\n"}, gs)
	if err != nil {
		fail("Sign: %v", err)
	}
	write("go-skey", []byte(skey+"\n"))
	write("go-vkey", []byte(vkey+"\n"))
	write("go-note", goNote)
	write("go-treehash", []byte(base64.StdEncoding.EncodeToString(goRoot[:])+"\n"))
	fmt.Printf("go: all %d checks passed\n", checks)
}
