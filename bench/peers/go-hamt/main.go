// The go-hamt-ipld v3 runner for bench/run.ts: the workload of bench/hamt-worker.ts (keys key-0…,
// integer values, 256-wide nodes, BLAKE3 keys and block IDs, in-memory store, build then flush,
// cold reopen, seeded random gets) with values inline, as go-hamt-ipld stores them (bucket size 3,
// a constant of the library).
//
// Usage: go-hamt-bench <keys> <gets> <seed>   → one JSON line on stdout; exits 1 if a get returns a
// wrong value or the store holds other blocks than the map's nodes.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"syscall"
	"time"

	hamt "github.com/filecoin-project/go-hamt-ipld/v3"
	block "github.com/ipfs/go-block-format"
	cid "github.com/ipfs/go-cid"
	cbor "github.com/ipfs/go-ipld-cbor"
	mh "github.com/multiformats/go-multihash"
	cbg "github.com/whyrusleeping/cbor-gen"
	"lukechampine.com/blake3"
)

// memBlocks is the in-memory block store; `fetched`, when set, records every block read from it.
type memBlocks struct {
	blocks  map[cid.Cid]block.Block
	fetched map[cid.Cid]struct{}
}

func (m *memBlocks) Get(_ context.Context, c cid.Cid) (block.Block, error) {
	b, ok := m.blocks[c]
	if !ok {
		return nil, fmt.Errorf("block %s not in the store", c)
	}
	if m.fetched != nil {
		m.fetched[c] = struct{}{}
	}
	return b, nil
}

func (m *memBlocks) Put(_ context.Context, b block.Block) error {
	m.blocks[b.Cid()] = b
	return nil
}

func blake3Key(key []byte) []byte {
	sum := blake3.Sum256(key)
	return sum[:]
}

func newStore(blocks *memBlocks) *cbor.BasicIpldStore {
	store := cbor.NewCborStore(blocks)
	store.DefaultMultihash = mh.BLAKE3
	return store
}

func options() []hamt.Option {
	return []hamt.Option{hamt.UseTreeBitWidth(8), hamt.UseHashFunction(blake3Key)}
}

// getKeys repeats bench/hamt-worker.ts's generator in float64, as JavaScript computes it (the
// product exceeds 2^53, so the rounding is part of the sequence). The float64() conversion stops
// the compiler fusing the multiply-add, which would round differently.
func getKeys(keys, gets int, seed float64) []int {
	out := make([]int, gets)
	for i := range out {
		seed = math.Mod(float64(seed*1103515245)+12345, 2147483648)
		out[i] = int(math.Floor(float64(seed/2147483648) * float64(keys)))
	}
	return out
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "go-hamt-bench: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 4 {
		fail("usage: go-hamt-bench <keys> <gets> <seed>")
	}
	keys, err1 := strconv.Atoi(os.Args[1])
	gets, err2 := strconv.Atoi(os.Args[2])
	seed, err3 := strconv.ParseFloat(os.Args[3], 64)
	if err1 != nil || err2 != nil || err3 != nil || keys <= 0 || gets < 0 {
		fail("bad arguments %v", os.Args[1:])
	}
	ctx := context.Background()
	wanted := getKeys(keys, gets, seed)
	blocks := &memBlocks{blocks: map[cid.Cid]block.Block{}}

	root, err := hamt.NewNode(newStore(blocks), options()...)
	if err != nil {
		fail("%v", err)
	}
	start := time.Now()
	for i := 0; i < keys; i++ {
		v := cbg.CborInt(i)
		if err := root.Set(ctx, "key-"+strconv.Itoa(i), &v); err != nil {
			fail("set: %v", err)
		}
	}
	setSeconds := time.Since(start).Seconds()
	start = time.Now()
	if err := root.Flush(ctx); err != nil {
		fail("flush: %v", err)
	}
	rootID, err := newStore(blocks).Put(ctx, root)
	if err != nil {
		fail("flush: %v", err)
	}
	flushSeconds := time.Since(start).Seconds()

	// Cold reopen: a new node loaded from the root ID, nothing cached.
	reader, err := hamt.LoadNode(ctx, newStore(blocks), rootID, options()...)
	if err != nil {
		fail("open: %v", err)
	}
	getSum := 0
	start = time.Now()
	for _, i := range wanted {
		var v cbg.CborInt
		found, err := reader.Find(ctx, "key-"+strconv.Itoa(i), &v)
		if err != nil || !found || int(v) != i {
			fail("get key-%d gave %d (found %v, %v)", i, v, found, err)
		}
		getSum += int(v)
	}
	getSeconds := time.Since(start).Seconds()
	peakRssBytes := peakRss()

	// Untimed: walk the whole map from a fresh load; every entry must be there with its value, and
	// the nodes read must be exactly the blocks in the store (nothing missing, nothing extra).
	blocks.fetched = map[cid.Cid]struct{}{}
	walker, err := hamt.LoadNode(ctx, newStore(blocks), rootID, options()...)
	if err != nil {
		fail("open: %v", err)
	}
	seen := make([]bool, keys)
	entries := 0
	err = walker.ForEach(ctx, func(k string, val *cbg.Deferred) error {
		var v cbg.CborInt
		if err := v.UnmarshalCBOR(bytes.NewReader(val.Raw)); err != nil {
			return err
		}
		i, err := strconv.Atoi(k[len("key-"):])
		if err != nil || int(v) != i || i < 0 || i >= keys || seen[i] {
			return fmt.Errorf("entry %q = %d", k, v)
		}
		seen[i] = true
		entries++
		return nil
	})
	if err != nil || entries != keys {
		fail("walk: %d entries of %d (%v)", entries, keys, err)
	}
	if len(blocks.fetched) != len(blocks.blocks) {
		fail("walk read %d nodes, the store holds %d blocks", len(blocks.fetched), len(blocks.blocks))
	}

	out, _ := json.Marshal(map[string]any{
		"impl":         "go-hamt-ipld v3.4.1 (bucket 3, values inline)",
		"n":            keys,
		"gets":         gets,
		"setSeconds":   setSeconds,
		"flushSeconds": flushSeconds,
		"getSeconds":   getSeconds,
		"peakRssBytes": peakRssBytes,
		"root":         rootID.String(),
		"blocks":       len(blocks.blocks),
		"getSum":       getSum,
	})
	fmt.Println(string(out))
}

func peakRss() int64 {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0
	}
	return usage.Maxrss * 1024 // kilobytes on Linux
}
