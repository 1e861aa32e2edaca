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
import sys
from typing import Any

from multiformats import CID
from py_hamt import KuboCAS

# The timing code is shared with the in-memory benchmark beside this file.
from pyhamt_bench import parse_counts, random_indices, result, time_build, time_gets

IMPL = "py-hamt 3.6.0 KuboCAS"


async def run(rpc: str, gateway: str, n: int, gets: int, seed: int) -> dict[str, Any]:
    async with KuboCAS(rpc_base_url=rpc, gateway_base_url=gateway) as cas:
        root, set_seconds, flush_seconds = await time_build(cas, n)
    if not isinstance(root, CID):
        raise TypeError(f"expected a CID root from KuboCAS, got {type(root)}")
    # A fresh KuboCAS: nothing is served from the writer's buffers or connections.
    async with KuboCAS(rpc_base_url=rpc, gateway_base_url=gateway) as cas:
        get_seconds = await time_gets(cas, root, random_indices(n, gets, seed))
    return result(IMPL, n, (set_seconds, flush_seconds, get_seconds), gets, str(root))


def main() -> None:
    usage = f"usage: {sys.argv[0]} RPC GATEWAY N GETS SEED"
    if len(sys.argv) != 6:
        sys.exit(usage)
    n, gets, seed = parse_counts(sys.argv, usage)
    print(json.dumps(asyncio.run(run(sys.argv[1], sys.argv[2], n, gets, seed))))


if __name__ == "__main__":
    main()
