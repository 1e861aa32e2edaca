#!/usr/bin/env python3
"""Point reads from a sharded Zarr with the REAL py-hamt 3.6.0 ShardedZarrStore + xarray, and
py-hamt's HAMT → sharded converter, for comparison with ts-hamt (bench/sharded.ts).

    python bench/pyhamt_sharded_bench.py read-point RPC GATEWAY ROOT LAT LON
    python bench/pyhamt_sharded_bench.py convert RPC GATEWAY HAMT_ROOT CHUNKS_PER_SHARD
    python bench/pyhamt_sharded_bench.py read-mode MODE WHAT RPC GATEWAY ROOT LAT LON

read-point: a fresh KuboCAS and ShardedZarrStore.open(read_only=True) at ROOT (its default
shard_read_mode "auto"), xarray.open_zarr(store, zarr_format=3, consolidated=False) timed as
"openSeconds", then ds["temp"][:, LAT, LON].values as "readSeconds".
    {"openSeconds", "readSeconds", "seconds", "sum", "values": [the series]}
convert: py_hamt.convert_hamt_to_sharded(cas, HAMT_ROOT, CHUNKS_PER_SHARD), timed.
    {"root", "seconds"}
read-mode: ShardedZarrStore.open(read_only=True, shard_read_mode=MODE) and one of WHAT: "point",
store.get of the one chunk of temp holding (0, LAT, LON); "series", xarray's temp[:, LAT, LON];
"full", xarray's whole temp.
    {"seconds", "sum", "latched"}  (sum: of the chunk's bytes for "point", else of the values)
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
from zarr.core.buffer import default_buffer_prototype

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


async def read_mode(mode: str, what: str, rpc: str, gateway: str, root: str, lat: int, lon: int) -> dict[str, Any]:
    async with KuboCAS(rpc_base_url=rpc, gateway_base_url=gateway) as cas:
        start = time.perf_counter()
        store = await ShardedZarrStore.open(cas=cas, read_only=True, root_cid=root, shard_read_mode=mode)
        if what == "point":
            chunk = await store.get(f"temp/c/0/{lat // 8}/{lon // 16}", default_buffer_prototype())
            total = float(sum(chunk.to_bytes()))
        else:
            ds = xr.open_zarr(store, zarr_format=3, consolidated=False)
            values = ds["temp"][:, lat, lon].values if what == "series" else ds["temp"].values
            total = float(values.sum(dtype="float64"))
        return {"seconds": time.perf_counter() - start, "sum": total, "latched": store._full_mode_latched}


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
    elif len(argv) == 9 and argv[1] == "read-mode":
        result = asyncio.run(read_mode(argv[2], argv[3], argv[4], argv[5], argv[6], int(argv[7]), int(argv[8])))
    elif len(argv) == 6 and argv[1] == "convert":
        result = asyncio.run(convert(argv[2], argv[3], argv[4], int(argv[5])))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
