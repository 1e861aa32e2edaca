#!/usr/bin/env python3
"""Baseline benchmark of the REAL py-hamt 3.6.0, for comparison with ts-hamt.

Usage (with the interpreter from scripts/python-env.sh):

    python bench/pyhamt_bench.py N GETS SEED

Builds a map of N keys on an InMemoryCAS (keys "key-<i>", values the int i,
values_are_bytes=False so py-hamt DAG-CBOR-encodes them, default bucket size 4),
timing the set phase and make_read_only() (the flush of py-hamt's write buffer
to the CAS) separately. Then opens the map again, read-only at its root with a
fresh HAMT object over the same CAS (so nothing is served from the writer's
buffers), and times GETS gets of random keys, chosen with random.Random(SEED)
before the clock starts.

Prints one JSON line:
    {"impl": "py-hamt 3.6.0", "n": N, "setSeconds": .., "flushSeconds": ..,
     "gets": GETS, "getSeconds": .., "peakRssBytes": .., "root": hex}
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import sys
import time
from typing import Any

from py_hamt import HAMT, InMemoryCAS

IMPL = "py-hamt 3.6.0"


def parse_args(argv: list[str]) -> tuple[int, int, int]:
    usage = f"usage: {argv[0]} N GETS SEED"
    if len(argv) != 4:
        sys.exit(usage)
    try:
        n, gets, seed = (int(a) for a in argv[1:])
    except ValueError:
        sys.exit(usage)
    if n < 0 or gets < 0 or (gets > 0 and n == 0):
        sys.exit(f"{usage}\nN and GETS must be >= 0, and GETS needs N > 0")
    return n, gets, seed


async def build(cas: InMemoryCAS, n: int) -> tuple[bytes, float, float]:
    """Set n keys, then flush; return (root, set seconds, flush seconds)."""
    hamt = await HAMT.build(cas=cas, values_are_bytes=False)
    start = time.perf_counter()
    for i in range(n):
        await hamt.set(f"key-{i}", i)
    set_seconds = time.perf_counter() - start

    start = time.perf_counter()
    await hamt.make_read_only()
    flush_seconds = time.perf_counter() - start
    return bytes(hamt.root_node_id), set_seconds, flush_seconds


async def random_gets(cas: InMemoryCAS, root: bytes, indices: list[int]) -> float:
    """Time sequential gets of key-<i> for each i; check every value read back."""
    hamt = HAMT(cas=cas, root_node_id=root, read_only=True, values_are_bytes=False)
    start = time.perf_counter()
    for i in indices:
        value = await hamt.get(f"key-{i}")
        # An integer compare is noise next to a get; it keeps a broken read from
        # producing a fast but meaningless number.
        if value != i:
            raise AssertionError(f"key-{i} read back {value!r}")
    return time.perf_counter() - start


def peak_rss_bytes() -> int:
    # ru_maxrss is in KiB on Linux (bytes on macOS; we run on Linux).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


async def run(n: int, gets: int, seed: int) -> dict[str, Any]:
    cas = InMemoryCAS()
    root, set_seconds, flush_seconds = await build(cas, n)
    rng = random.Random(seed)
    indices = [rng.randrange(n) for _ in range(gets)]
    get_seconds = await random_gets(cas, root, indices)
    return {
        "impl": IMPL,
        "n": n,
        "setSeconds": round(set_seconds, 6),
        "flushSeconds": round(flush_seconds, 6),
        "gets": gets,
        "getSeconds": round(get_seconds, 6),
        "peakRssBytes": peak_rss_bytes(),
        "root": root.hex(),
    }


def main() -> None:
    n, gets, seed = parse_args(sys.argv)
    print(json.dumps(asyncio.run(run(n, gets, seed))))


if __name__ == "__main__":
    main()
