#!/usr/bin/env python3
"""Point reads from a sharded Zarr with the REAL py-hamt 3.6.0 ShardedZarrStore + xarray, and
py-hamt's HAMT → sharded converter, for comparison with ts-hamt (bench/sharded.ts).

    python bench/pyhamt_sharded_bench.py read-point RPC GATEWAY ROOT LAT LON
    python bench/pyhamt_sharded_bench.py convert RPC GATEWAY HAMT_ROOT CHUNKS_PER_SHARD

read-point: a fresh KuboCAS and ShardedZarrStore.open(read_only=True) at ROOT (its default
shard_read_mode "auto"), xarray.open_zarr(store, zarr_format=3, consolidated=False) timed as
"openSeconds", then ds["temp"][:, LAT, LON].values as "readSeconds".
    {"openSeconds", "readSeconds", "seconds", "sum", "values": [the series]}
convert: py_hamt.convert_hamt_to_sharded(cas, HAMT_ROOT, CHUNKS_PER_SHARD), timed.
    {"root", "seconds"}
The HAMT point read is bench/pyhamt_zarr_bench.py read-point. Each command prints one JSON line.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import sys
import time
import warnings
from typing import Any

import xarray as xr
from py_hamt import KuboCAS, ShardedZarrStore, convert_hamt_to_sharded

warnings.simplefilter("ignore")


async def read_point(rpc: str, gateway: str, root: str, lat: int, lon: int) -> dict[str, Any]:
    async with KuboCAS(rpc_base_url=rpc, gateway_base_url=gateway) as cas:
        start = time.perf_counter()
        store = await ShardedZarrStore.open(cas=cas, read_only=True, root_cid=root)
        ds = xr.open_zarr(store, zarr_format=3, consolidated=False)
        opened = time.perf_counter()
        values = ds["temp"][:, lat, lon].values
        done = time.perf_counter()
    return {
        "openSeconds": opened - start,
        "readSeconds": done - opened,
        "seconds": done - start,
        "sum": float(values.sum(dtype="float64")),
        "values": [float(v) for v in values],
    }


async def convert(rpc: str, gateway: str, hamt_root: str, chunks_per_shard: int) -> dict[str, Any]:
    async with KuboCAS(rpc_base_url=rpc, gateway_base_url=gateway) as cas:
        start = time.perf_counter()
        # The converter prints progress; stdout carries this script's JSON line.
        with contextlib.redirect_stdout(io.StringIO()):
            root = await convert_hamt_to_sharded(cas, hamt_root, chunks_per_shard)
        return {"root": str(root), "seconds": time.perf_counter() - start}


def main(argv: list[str]) -> int:
    if len(argv) == 7 and argv[1] == "read-point":
        result = asyncio.run(read_point(argv[2], argv[3], argv[4], int(argv[5]), int(argv[6])))
    elif len(argv) == 6 and argv[1] == "convert":
        result = asyncio.run(convert(argv[2], argv[3], argv[4], int(argv[5])))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
