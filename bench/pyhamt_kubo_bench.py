#!/usr/bin/env python3
"""Benchmark of the REAL py-hamt 3.6.0 on a Kubo daemon, for comparison with ts-hamt's KuboStore.

Usage (with the interpreter from scripts/python-env.sh):

    python bench/pyhamt_kubo_bench.py RPC GATEWAY N GETS SEED

RPC and GATEWAY are the daemon's base URLs (e.g. http://127.0.0.1:5001 and
http://127.0.0.1:8080). Builds a map of N keys over KuboCAS(rpc_base_url=RPC,
gateway_base_url=GATEWAY) with its defaults (keys "key-<i>", values the int i,
values_are_bytes=False, default bucket size 4, BLAKE3, CIDv1), timing the set
phase and make_read_only() (the flush of py-hamt's write buffer, i.e. the
uploads to Kubo) separately. Then opens the map read-only at its root with a
fresh HAMT over a fresh KuboCAS (so nothing is served from the writer's buffers
or HTTP connections) and times GETS gets of random keys, chosen with
random.Random(SEED) before the clock starts; every get goes to the gateway.

Prints one JSON line:
    {"impl": "py-hamt 3.6.0 KuboCAS", "n": N, "setSeconds": .., "flushSeconds": ..,
     "gets": GETS, "getSeconds": .., "peakRssBytes": .., "root": cidString}
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import sys
import time
from typing import Any

from multiformats import CID
from py_hamt import HAMT, KuboCAS

IMPL = "py-hamt 3.6.0 KuboCAS"


def parse_args(argv: list[str]) -> tuple[str, str, int, int, int]:
    usage = f"usage: {argv[0]} RPC GATEWAY N GETS SEED"
    if len(argv) != 6:
        sys.exit(usage)
    rpc, gateway = argv[1], argv[2]
    try:
        n, gets, seed = (int(a) for a in argv[3:])
    except ValueError:
        sys.exit(usage)
    if n < 0 or gets < 0 or (gets > 0 and n == 0):
        sys.exit(f"{usage}\nN and GETS must be >= 0, and GETS needs N > 0")
    return rpc, gateway, n, gets, seed


async def build(rpc: str, gateway: str, n: int) -> tuple[CID, float, float]:
    """Set n keys, then flush; return (root, set seconds, flush seconds)."""
    async with KuboCAS(rpc_base_url=rpc, gateway_base_url=gateway) as cas:
        hamt = await HAMT.build(cas=cas, values_are_bytes=False)
        start = time.perf_counter()
        for i in range(n):
            await hamt.set(f"key-{i}", i)
        set_seconds = time.perf_counter() - start

        start = time.perf_counter()
        await hamt.make_read_only()
        flush_seconds = time.perf_counter() - start
        root = hamt.root_node_id
    if not isinstance(root, CID):
        raise TypeError(f"expected a CID root from KuboCAS, got {type(root)}")
    return root, set_seconds, flush_seconds


async def random_gets(rpc: str, gateway: str, root: CID, indices: list[int]) -> float:
    """Time sequential gets of key-<i> for each i; check every value read back."""
    async with KuboCAS(rpc_base_url=rpc, gateway_base_url=gateway) as cas:
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


async def run(rpc: str, gateway: str, n: int, gets: int, seed: int) -> dict[str, Any]:
    root, set_seconds, flush_seconds = await build(rpc, gateway, n)
    rng = random.Random(seed)
    indices = [rng.randrange(n) for _ in range(gets)]
    get_seconds = await random_gets(rpc, gateway, root, indices)
    return {
        "impl": IMPL,
        "n": n,
        "setSeconds": round(set_seconds, 6),
        "flushSeconds": round(flush_seconds, 6),
        "gets": gets,
        "getSeconds": round(get_seconds, 6),
        "peakRssBytes": peak_rss_bytes(),
        "root": str(root),
    }


def main() -> None:
    rpc, gateway, n, gets, seed = parse_args(sys.argv)
    print(json.dumps(asyncio.run(run(rpc, gateway, n, gets, seed))))


if __name__ == "__main__":
    main()
