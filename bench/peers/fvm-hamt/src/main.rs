//! The fvm_ipld_hamt runner for bench/run.ts: the workload of bench/hamt-worker.ts (keys key-0…,
//! integer values, 256-wide nodes, BLAKE3 keys and block IDs, in-memory store, build then flush,
//! cold reopen, seeded random gets) in two layouts: `inline` (values in the buckets, as
//! fvm_ipld_hamt stores them) and `blocks` (each value its own DAG-CBOR block and the map holds its
//! CID, as ts-hamt and py-hamt store them). Bucket size 3, fvm_ipld_hamt's default.
//!
//! Usage: fvm-hamt-bench <inline|blocks> <keys> <gets> <seed>   → one JSON line on stdout; exits 1
//! if a get returns a wrong value or the store holds other blocks than the map's nodes and values.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::hash::Hasher;
use std::process::exit;
use std::time::Instant;

use anyhow::{anyhow, Result};
use cid::Cid;
use fvm_ipld_blockstore::{Block, Blockstore};
use fvm_ipld_encoding::CborStore;
use fvm_ipld_hamt::{Config, Hamt, Hash, HashAlgorithm};
use multihash_codetable::Code;

/// In-memory blocks. fvm_ipld_hamt asks for Blake2b-256 IDs whatever it is configured with, so
/// `put` ignores the code it is given and names every block by its BLAKE3-256 multihash, as
/// ts-hamt does. `fetched`, when on, records every block read.
#[derive(Default)]
struct Store {
    blocks: RefCell<HashMap<Cid, Vec<u8>>>,
    fetched: RefCell<Option<HashSet<Cid>>>,
}

impl Blockstore for Store {
    fn get(&self, k: &Cid) -> Result<Option<Vec<u8>>> {
        if let Some(fetched) = self.fetched.borrow_mut().as_mut() {
            fetched.insert(*k);
        }
        Ok(self.blocks.borrow().get(k).cloned())
    }

    fn put_keyed(&self, k: &Cid, block: &[u8]) -> Result<()> {
        self.blocks.borrow_mut().insert(*k, block.to_vec());
        Ok(())
    }

    fn put<D: AsRef<[u8]>>(&self, _code: Code, block: &Block<D>) -> Result<Cid> {
        let id = block.cid(Code::Blake3_256);
        self.put_keyed(&id, block.as_ref())?;
        Ok(id)
    }
}

/// Keys hashed with BLAKE3 over their UTF-8 bytes (fvm's `Hash` for `String` writes just those).
struct Blake3Keys;

struct Blake3Writer(blake3::Hasher);

impl Hasher for Blake3Writer {
    fn finish(&self) -> u64 {
        0 // unused: the HAMT takes the 32-byte digest
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

impl HashAlgorithm for Blake3Keys {
    fn hash<X: Hash + ?Sized>(key: &X) -> [u8; 32] {
        let mut writer = Blake3Writer(blake3::Hasher::new());
        key.hash(&mut writer);
        *writer.0.finalize().as_bytes()
    }
}

fn config() -> Config {
    Config {
        bit_width: 8,
        ..Default::default()
    }
}

/// bench/hamt-worker.ts's generator, in f64 as JavaScript computes it (the product exceeds 2^53,
/// so its rounding is part of the sequence; Rust does not fuse the multiply-add).
fn get_keys(keys: usize, gets: usize, mut seed: f64) -> Vec<u64> {
    (0..gets)
        .map(|_| {
            seed = (seed * 1103515245.0 + 12345.0) % 2147483648.0;
            (seed / 2147483648.0 * keys as f64).floor() as u64
        })
        .collect()
}

struct Run {
    set_seconds: f64,
    flush_seconds: f64,
    get_seconds: f64,
    root: Cid,
    get_sum: u64,
}

/// Both layouts through one generic path: `put` turns an integer into what the map stores, `read`
/// turns what the map returns back into the integer (fetching the value block in `blocks`).
fn run<V, P, R>(store: &Store, keys: usize, wanted: &[u64], put: P, read: R) -> Result<Run>
where
    V: serde::Serialize + serde::de::DeserializeOwned + PartialEq,
    P: Fn(&Store, u64) -> Result<V>,
    R: Fn(&Store, &V) -> Result<u64>,
{
    let mut map: Hamt<&Store, V, String, Blake3Keys> = Hamt::new_with_config(store, config());
    let start = Instant::now();
    for i in 0..keys as u64 {
        map.set(format!("key-{i}"), put(store, i)?)?;
    }
    let set_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let root = map.flush()?;
    let flush_seconds = start.elapsed().as_secs_f64();
    drop(map);

    // Cold reopen: a new map loaded from the root ID, nothing cached.
    let reader: Hamt<&Store, V, String, Blake3Keys> = Hamt::load_with_config(&root, store, config())?;
    let mut get_sum = 0;
    let start = Instant::now();
    for &i in wanted {
        let key = format!("key-{i}");
        let value = match reader.get(&key)? {
            Some(v) => read(store, v)?,
            None => return Err(anyhow!("get {key}: missing")),
        };
        if value != i {
            return Err(anyhow!("get {key} gave {value}"));
        }
        get_sum += value;
    }
    let get_seconds = start.elapsed().as_secs_f64();
    drop(reader);

    // Untimed: walk the whole map from a fresh load; every entry must be there with its value, and
    // the blocks read (nodes, plus values in `blocks`) must be exactly the blocks in the store.
    *store.fetched.borrow_mut() = Some(HashSet::new());
    let walker: Hamt<&Store, V, String, Blake3Keys> = Hamt::load_with_config(&root, store, config())?;
    let mut seen = vec![false; keys];
    let mut entries = 0;
    walker.for_each(|k, v| {
        let value = read(store, v)?;
        let i: usize = k.strip_prefix("key-").and_then(|s| s.parse().ok()).unwrap_or(usize::MAX);
        if i >= keys || seen[i] || value != i as u64 {
            return Err(anyhow!("entry {k} = {value}"));
        }
        seen[i] = true;
        entries += 1;
        Ok(())
    })?;
    let fetched = store.fetched.borrow_mut().take().map_or(0, |f| f.len());
    let stored = store.blocks.borrow().len();
    if entries != keys || fetched != stored {
        return Err(anyhow!(
            "walk: {entries} entries of {keys}, read {fetched} blocks of the {stored} stored"
        ));
    }
    Ok(Run { set_seconds, flush_seconds, get_seconds, root, get_sum })
}

fn peak_rss_bytes() -> i64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0;
    }
    usage.ru_maxrss * 1024 // kilobytes on Linux
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match args.as_slice() {
        [layout, keys, gets, seed] => match (keys.parse::<usize>(), gets.parse::<usize>(), seed.parse::<f64>()) {
            (Ok(k), Ok(g), Ok(s)) if k > 0 && (layout == "inline" || layout == "blocks") => Some((layout.clone(), k, g, s)),
            _ => None,
        },
        _ => None,
    };
    let Some((layout, keys, gets, seed)) = parsed else {
        eprintln!("usage: fvm-hamt-bench <inline|blocks> <keys> <gets> <seed>");
        exit(1);
    };
    let wanted = get_keys(keys, gets, seed);
    let store = Store::default();
    let result = if layout == "inline" {
        run(&store, keys, &wanted, |_, i| Ok(i), |_, v: &u64| Ok(*v))
    } else {
        run(
            &store,
            keys,
            &wanted,
            |s, i| s.put_cbor(&i, Code::Blake3_256),
            |s, id: &Cid| s.get_cbor::<u64>(id)?.ok_or_else(|| anyhow!("value block {id} missing")),
        )
    };
    let r = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("fvm-hamt-bench: {e:#}");
            exit(1);
        }
    };
    let name = if layout == "inline" { "values inline" } else { "values as blocks" };
    println!(
        "{{\"impl\":\"fvm_ipld_hamt 0.10.6 ({name})\",\"n\":{keys},\"gets\":{gets},\"setSeconds\":{},\"flushSeconds\":{},\"getSeconds\":{},\"peakRssBytes\":{},\"root\":\"{}\",\"blocks\":{},\"getSum\":{}}}",
        r.set_seconds,
        r.flush_seconds,
        r.get_seconds,
        peak_rss_bytes(),
        r.root,
        store.blocks.borrow().len(),
        r.get_sum
    );
}
