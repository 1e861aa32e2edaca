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
from py_hamt.store_httpx import ContentAddressedStore

IMPL = "py-hamt 3.6.0"


def parse_counts(argv: list[str], usage: str) -> tuple[int, int, int]:
    """N GETS SEED from the end of argv, checked."""
    try:
        n, gets, seed = (int(a) for a in argv[-3:])
    except ValueError:
        sys.exit(usage)
    if n < 0 or gets < 0 or (gets > 0 and n == 0):
        sys.exit(f"{usage}\nN and GETS must be >= 0, and GETS needs N > 0")
    return n, gets, seed


async def time_build(cas: ContentAddressedStore, n: int) -> tuple[Any, float, float]:
    """Set key-<i> to i for i < n on `cas`, then flush; return (root, set seconds, flush seconds)."""
    hamt = await HAMT.build(cas=cas, values_are_bytes=False)
    start = time.perf_counter()
    for i in range(n):
        await hamt.set(f"key-{i}", i)
    set_seconds = time.perf_counter() - start

    start = time.perf_counter()
    await hamt.make_read_only()
    flush_seconds = time.perf_counter() - start
    return hamt.root_node_id, set_seconds, flush_seconds


async def time_gets(cas: ContentAddressedStore, root: Any, indices: list[int]) -> float:
    """Time sequential gets of key-<i> for each i on a fresh read-only HAMT; check every value."""
    hamt = HAMT(cas=cas, root_node_id=root, read_only=True, values_are_bytes=False)
    start = time.perf_counter()
    for i in indices:
        value = await hamt.get(f"key-{i}")
        # An integer compare is noise next to a get; it keeps a broken read from
        # producing a fast but meaningless number.
        if value != i:
            raise AssertionError(f"key-{i} read back {value!r}")
    return time.perf_counter() - start


def random_indices(n: int, gets: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.randrange(n) for _ in range(gets)]


def result(impl: str, n: int, timings: tuple[float, float, float], gets: int, root: str) -> dict[str, Any]:
    """The JSON line both py-hamt benchmarks print; peak RSS is ru_maxrss, KiB on Linux."""
    set_seconds, flush_seconds, get_seconds = timings
    return {
        "impl": impl,
        "n": n,
        "setSeconds": round(set_seconds, 6),
        "flushSeconds": round(flush_seconds, 6),
        "gets": gets,
        "getSeconds": round(get_seconds, 6),
        "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "root": root,
    }


async def run(n: int, gets: int, seed: int) -> dict[str, Any]:
    cas = InMemoryCAS()
    root, set_seconds, flush_seconds = await time_build(cas, n)
    get_seconds = await time_gets(cas, root, random_indices(n, gets, seed))
    return result(IMPL, n, (set_seconds, flush_seconds, get_seconds), gets, bytes(root).hex())


def main() -> None:
    usage = f"usage: {sys.argv[0]} N GETS SEED"
    if len(sys.argv) != 4:
        sys.exit(usage)
    n, gets, seed = parse_counts(sys.argv, usage)
    print(json.dumps(asyncio.run(run(n, gets, seed))))


if __name__ == "__main__":
    main()
