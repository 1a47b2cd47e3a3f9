// goverify checks pki's transparency log with Go's golang.org/x/mod/sumdb/note and
// sumdb/tlog (software nobody on this project wrote): the checkpoint's note signature, every
// entry's inclusion from the tiles (which TileHashReader itself checks against the signed root),
// the JSON inclusion proof for one serial, and a consistency proof from an older checkpoint.
// Exit status 1 with a message on the first failure.
package main

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var base string

func get(path string) []byte {
	resp, err := http.Get(base + "/" + path)
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

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL "+format+"\n", args...)
	os.Exit(1)
}

// C2SP tlog-tiles paths: no height element, index in x-prefixed 3-digit groups, ".p/W" when partial.
func tilePath(t tlog.Tile) string {
	n := strconv.FormatInt(t.N, 10)
	for len(n)%3 != 0 {
		n = "0" + n
	}
	var parts []string
	for i := 0; i < len(n); i += 3 {
		parts = append(parts, n[i:i+3])
	}
	for i := 0; i < len(parts)-1; i++ {
		parts[i] = "x" + parts[i]
	}
	level := strconv.Itoa(t.L)
	if t.L == -1 {
		level = "entries"
	}
	p := "tile/" + level + "/" + strings.Join(parts, "/")
	if t.W < 1<<t.H {
		p += ".p/" + strconv.Itoa(t.W)
	}
	return p
}

type tiles struct{}

func (tiles) Height() int { return 8 }
func (tiles) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, t := range ts {
		out[i] = get(tilePath(t))
	}
	return out, nil
}
func (tiles) SaveTiles([]tlog.Tile, [][]byte) {}

type checkpoint struct {
	size int64
	root tlog.Hash
}

func open(msg []byte, verifiers note.Verifiers) checkpoint {
	n, err := note.Open(msg, verifiers)
	if err != nil {
		fail("note.Open: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		fail("checkpoint text has %d lines", len(lines))
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size: %v", err)
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		fail("checkpoint root: %v", err)
	}
	return checkpoint{size, root}
}

func hashes(list []string) []tlog.Hash {
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		h, err := tlog.ParseHash(s)
		if err != nil {
			fail("proof hash %q: %v", s, err)
		}
		out[i] = h
	}
	return out
}

func main() {
	flag.StringVar(&base, "url", "", "base URL of pki's log, e.g. http://127.0.0.1:9080/log")
	vkey := flag.String("vkey", "", "note verifier key")
	serial := flag.String("serial", "", "serial whose JSON inclusion proof to check")
	oldNote := flag.String("old", "", "file holding an older checkpoint to prove consistency from")
	noteFile := flag.String("note", "", "only open this note file with the key and exit")
	flag.Parse()
	v, err := note.NewVerifier(*vkey)
	if err != nil {
		fail("verifier key: %v", err)
	}
	verifiers := note.VerifierList(v)
	if *noteFile != "" {
		msg, _ := os.ReadFile(*noteFile)
		open(msg, verifiers)
		fmt.Println("OK note opens")
		return
	}
	cp := open(get("checkpoint"), verifiers)
	fmt.Printf("OK checkpoint signature, size %d\n", cp.size)

	// Every entry: its record hash from the entry bundles, proved into the signed tree from the tiles.
	thr := tlog.TileHashReader(tlog.Tree{N: cp.size, Hash: cp.root}, tiles{})
	for start := int64(0); start < cp.size; start += 256 {
		w := cp.size - start
		if w > 256 {
			w = 256
		}
		bundle := get(tilePath(tlog.Tile{H: 8, L: -1, N: start / 256, W: int(w)}))
		for i := int64(0); i < w; i++ {
			if len(bundle) < 2 {
				fail("entry bundle %d too short", start/256)
			}
			n := int(binary.BigEndian.Uint16(bundle))
			entry := bundle[2 : 2+n]
			bundle = bundle[2+n:]
			p, err := tlog.ProveRecord(cp.size, start+i, thr)
			if err != nil {
				fail("ProveRecord %d: %v", start+i, err)
			}
			if err := tlog.CheckRecord(p, cp.size, cp.root, start+i, tlog.RecordHash(entry)); err != nil {
				fail("CheckRecord %d: %v", start+i, err)
			}
		}
	}
	fmt.Printf("OK %d entries proved from tiles\n", cp.size)

	if *serial != "" {
		var r struct {
			Index      int64    `json:"index"`
			TreeSize   int64    `json:"treeSize"`
			Entry      string   `json:"entry"`
			Proof      []string `json:"proof"`
			Checkpoint string   `json:"checkpoint"`
		}
		if err := json.Unmarshal(get("proof/inclusion?serial="+*serial), &r); err != nil {
			fail("inclusion JSON: %v", err)
		}
		c := open([]byte(r.Checkpoint), verifiers)
		entry, _ := base64.StdEncoding.DecodeString(r.Entry)
		if c.size != r.TreeSize || !strings.Contains(string(entry), *serial) {
			fail("inclusion answer names size %d / checkpoint %d, entry %q", r.TreeSize, c.size, entry)
		}
		if err := tlog.CheckRecord(hashes(r.Proof), c.size, c.root, r.Index, tlog.RecordHash(entry)); err != nil {
			fail("JSON inclusion proof: %v", err)
		}
		fmt.Printf("OK inclusion of %s at %d in %d\n", *serial, r.Index, c.size)
	}

	if *oldNote != "" {
		msg, _ := os.ReadFile(*oldNote)
		old := open(msg, verifiers)
		var r struct {
			Proof []string `json:"proof"`
		}
		if err := json.Unmarshal(get(fmt.Sprintf("proof/consistency?from=%d&to=%d", old.size, cp.size)), &r); err != nil {
			fail("consistency JSON: %v", err)
		}
		if err := tlog.CheckTree(hashes(r.Proof), cp.size, cp.root, old.size, old.root); err != nil {
			fail("JSON consistency proof %d → %d: %v", old.size, cp.size, err)
		}
		fromTiles, err := tlog.ProveTree(cp.size, old.size, thr)
		if err != nil || tlog.CheckTree(fromTiles, cp.size, cp.root, old.size, old.root) != nil {
			fail("consistency from tiles %d → %d: %v", old.size, cp.size, err)
		}
		fmt.Printf("OK consistency %d → %d\n", old.size, cp.size)
	}
}
