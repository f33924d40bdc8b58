// verify_server.go checks a running ctpd's transparency log with Go's reference
// implementation (golang.org/x/mod/sumdb/note and sumdb/tlog, Debian package
// golang-golang-x-mod-dev), over HTTP as any client would. Run by tests/ledger_go.rs:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run verify_server.go BASE TOKEN ADMIN-TOKEN OLD-CHECKPOINT-FILE PROOF-FILE...
//
// It checks: the checkpoint's signature with the key the server publishes; the tree hash
// computed from the server's tiles (and every level-0 hash against the entry bundles);
// each tlog-proof file (inclusion of its leaf, the leaf in "extra", against its signed
// checkpoint); and the consistency of the old checkpoint with the current one, both with the
// server's proof and with Go's own proof from the tiles. Any failure prints "go: FAIL: ...".
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var base, token string

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "go: FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func get(path, bearer string) []byte {
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fail("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		fail("GET %s: %d %s", path, resp.StatusCode, body)
	}
	return body
}

// c2spPath turns Go's tile path (tile/8/<L>/<N>, tile/8/data/<N>) into the C2SP one that
// ctpd serves (tile/<L>/<N>, tile/entries/<N>).
func c2spPath(t tlog.Tile) string {
	p := strings.TrimPrefix(t.Path(), "tile/8/")
	if t.L == -1 {
		p = "entries/" + strings.TrimPrefix(p, "data/")
	}
	return "tile/" + p
}

// tileReader reads tiles from the server.
type tileReader struct{}

func (tileReader) Height() int { return 8 }

func (tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		out[i] = get("ledger/"+c2spPath(t), token)
	}
	return out, nil
}

func (tileReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

func openCheckpoint(text []byte, verifier note.Verifier) tlog.Tree {
	n, err := note.Open(text, note.VerifierList(verifier))
	if err != nil {
		fail("the checkpoint's signature: %v", err)
	}
	// C2SP tlog-checkpoint: origin, size, base64 root, then optional extension lines.
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != verifier.Name() {
		fail("the checkpoint's origin %q is not the key's name %q", lines[0], verifier.Name())
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 {
		fail("the checkpoint's size %q", lines[1])
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		fail("the checkpoint's root %q: %v", lines[2], err)
	}
	return tlog.Tree{N: size, Hash: root}
}

func main() {
	if len(os.Args) < 5 {
		fail("usage: verify_server BASE TOKEN ADMIN-TOKEN OLD-CHECKPOINT PROOF...")
	}
	base, token = os.Args[1], os.Args[2]
	admin := os.Args[3]
	var ledger struct {
		PublicKey string `json:"publicKey"`
	}
	if err := json.Unmarshal(get("ledger", token), &ledger); err != nil {
		fail("GET ledger: %v", err)
	}
	verifier, err := note.NewVerifier(ledger.PublicKey)
	if err != nil {
		fail("the published key: %v", err)
	}
	tree := openCheckpoint(get("ledger/checkpoint", token), verifier)

	// The tree from the tiles.
	reader := tlog.TileHashReader(tree, tileReader{})
	root, err := tlog.TreeHash(tree.N, reader)
	if err != nil {
		fail("the tree hash from the tiles: %v", err)
	}
	if root != tree.Hash {
		fail("the tiles give the root %v, the checkpoint %v", root, tree.Hash)
	}
	// Each leaf of the entry bundles (administrators) hashes to its level-0 hash.
	for start := int64(0); start < tree.N; start += 256 {
		width := tree.N - start
		if width > 256 {
			width = 256
		}
		t := tlog.Tile{H: 8, L: -1, N: start / 256, W: int(width)}
		bundle := get("ledger/"+c2spPath(t), admin)
		for i := int64(0); i < width; i++ {
			if len(bundle) < 2 {
				fail("entry bundle %s ends early", c2spPath(t))
			}
			size := int(bundle[0])<<8 | int(bundle[1])
			leaf := bundle[2 : 2+size]
			bundle = bundle[2+size:]
			index := tlog.StoredHashIndex(0, start+i)
			stored, err := reader.ReadHashes([]int64{index})
			if err != nil {
				fail("leaf hash %d: %v", start+i, err)
			}
			if tlog.RecordHash(leaf) != stored[0] {
				fail("leaf %d of the entry bundle does not hash to the tile's hash", start+i)
			}
		}
	}

	// Inclusion proofs (C2SP tlog-proof files).
	for _, file := range os.Args[5:] {
		text, err := os.ReadFile(file)
		if err != nil {
			fail("%v", err)
		}
		parts := bytes.SplitN(text, []byte("\n\n"), 2)
		lines := strings.Split(string(parts[0]), "\n")
		if lines[0] != "c2sp.org/tlog-proof@v1" {
			fail("%s: header %q", file, lines[0])
		}
		if !strings.HasPrefix(lines[1], "extra ") || !strings.HasPrefix(lines[2], "index ") {
			fail("%s: no extra (the leaf) or index", file)
		}
		leaf, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(lines[1], "extra "))
		if err != nil {
			fail("%s: extra: %v", file, err)
		}
		index, err := strconv.ParseInt(strings.TrimPrefix(lines[2], "index "), 10, 64)
		if err != nil {
			fail("%s: index: %v", file, err)
		}
		var proof tlog.RecordProof
		for _, line := range lines[3:] {
			h, err := tlog.ParseHash(line)
			if err != nil {
				fail("%s: hash %q: %v", file, line, err)
			}
			proof = append(proof, h)
		}
		at := openCheckpoint(parts[1], verifier)
		if err := tlog.CheckRecord(proof, at.N, at.Hash, index, tlog.RecordHash(leaf)); err != nil {
			fail("%s: inclusion of leaf %d in the tree of %d: %v", file, index, at.N, err)
		}
		// Go's own proof from the server's tiles is the same.
		own, err := tlog.ProveRecord(at.N, index, tlog.TileHashReader(at, tileReader{}))
		if err != nil || len(own) != len(proof) {
			fail("%s: Go's proof from the tiles: %v", file, err)
		}
		for i := range own {
			if own[i] != proof[i] {
				fail("%s: the server's proof differs from Go's at hash %d", file, i)
			}
		}
	}

	// Consistency of the old checkpoint with the current one.
	oldText, err := os.ReadFile(os.Args[4])
	if err != nil {
		fail("%v", err)
	}
	old := openCheckpoint(oldText, verifier)
	var proof tlog.TreeProof
	for _, line := range strings.Fields(string(get(fmt.Sprintf("ledger/consistency?old=%d&new=%d", old.N, tree.N), token))) {
		h, err := tlog.ParseHash(line)
		if err != nil {
			fail("consistency hash %q: %v", line, err)
		}
		proof = append(proof, h)
	}
	if err := tlog.CheckTree(proof, tree.N, tree.Hash, old.N, old.Hash); err != nil {
		fail("the server's consistency proof from %d to %d: %v", old.N, tree.N, err)
	}
	own, err := tlog.ProveTree(tree.N, old.N, reader)
	if err != nil {
		fail("Go's consistency proof from the tiles: %v", err)
	}
	if err := tlog.CheckTree(own, tree.N, tree.Hash, old.N, old.Hash); err != nil {
		fail("Go's consistency proof: %v", err)
	}
	fmt.Printf("go: ok: checkpoint of %d leaves, tiles, %d inclusion proofs, consistency from %d\n", tree.N, len(os.Args)-5, old.N)
}
