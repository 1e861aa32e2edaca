#!/usr/bin/env python3
"""Zarr v3 on Kubo with the REAL py-hamt 3.6.0 + zarr 3 + xarray, for comparison with ts-hamt + zarrita.

Usage (with the interpreter from scripts/python-env.sh):

    python bench/pyhamt_zarr_bench.py write RPC GATEWAY
    python bench/pyhamt_zarr_bench.py read-all RPC GATEWAY ROOT
    python bench/pyhamt_zarr_bench.py read-point RPC GATEWAY ROOT LAT LON
    python bench/pyhamt_zarr_bench.py write-local DIR
    python bench/pyhamt_zarr_bench.py decode-local DIR REPEATS

RPC and GATEWAY are a Kubo daemon's base URLs. Each command prints one JSON line.

write
    Builds the deterministic dataset below (a float32 variable `temp` of 100 x 256 x 1024 =
    104,857,600 bytes, chunks 10 x 64 x 256, zstd level 3; coordinates time (int64), lat and lon
    (float32)), writes it with ds.to_zarr(ZarrHAMTStore(hamt, read_only=False), zarr_format=3,
    mode="w") into a fresh HAMT (values_are_bytes=True) over KuboCAS(rpc_base_url=RPC,
    gateway_base_url=GATEWAY) and calls make_read_only(). Times to_zarr + make_read_only.
    {"root": cid, "bytes": uncompressed bytes of temp, "seconds": .., "checksum": float64 sum of
     temp, "shape": [..], "chunks": [..]}

read-all
    A fresh KuboCAS and read-only HAMT at ROOT; times xarray.open_zarr(ZarrHAMTStore(hamt,
    read_only=True), zarr_format=3, consolidated=False) ("openSeconds") and ds["temp"].values
    ("readSeconds"), a full load.
    {"openSeconds", "readSeconds", "seconds": their sum, "cpuSeconds": process CPU time (all threads), "checksum": float64 sum of temp, "n"}

read-point
    The same, cold (fresh KuboCAS and HAMT), then ds["temp"][:, LAT, LON].values: one point's time
    series. {"openSeconds", "readSeconds", "seconds", "sum", "values": [the series]}

write-local
    Writes the same dataset with the same encoding into a zarr LocalStore at DIR (no HAMT): the chunk
    files DIR/temp/c/T/Y/X are the zstd frames the write above stores as HAMT values.
    {"dir": DIR, "chunks": number of temp chunks}

decode-local
    Decodes every temp chunk under DIR with numcodecs' Zstd (zstd's C library, as zarr-python does),
    REPEATS times in one thread. {"seconds": [one per repeat], "bytes": decoded bytes per repeat}

xarray calls into the store synchronously and zarr runs the store's coroutines on its own event
loop (a background thread); the rest of each command runs in one asyncio.run, as in
test/interop/zarr_driver.py. Without dask installed, open_zarr gives lazy arrays, and .values reads
through zarr's own concurrency (zarr.config "async.concurrency", default 10).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import numpy as np
import xarray as xr
from multiformats import CID
from py_hamt import HAMT, KuboCAS, ZarrHAMTStore
from zarr.codecs import ZstdCodec

NTIME, NLAT, NLON = 100, 256, 1024
CHUNKS = (10, 64, 256)


def dataset() -> tuple[xr.Dataset, dict[str, dict[str, Any]]]:
    """A smooth temperature field plus small deterministic noise (seeded), and its encoding."""
    time_ = np.arange(NTIME, dtype=np.int64)
    lat = np.linspace(-89.5, 89.5, NLAT, dtype=np.float32)
    lon = (np.arange(NLON) * (360.0 / NLON)).astype(np.float32)
    t = time_.astype(np.float64)[:, None, None]
    phi = np.deg2rad(lat.astype(np.float64))[None, :, None]
    lam = np.deg2rad(lon.astype(np.float64))[None, None, :]
    smooth = (
        273.15
        + 30.0 * np.cos(phi)
        + 5.0 * np.sin(3.0 * lam + t / 15.0) * np.cos(2.0 * phi)
        + 2.0 * np.sin(2.0 * np.pi * t / 36.5)
    )
    noise = np.random.default_rng(20260101).normal(0.0, 0.05, size=(NTIME, NLAT, NLON))
    temp = (smooth + noise).astype(np.float32)
    ds = xr.Dataset(
        data_vars={
            "temp": (("time", "lat", "lon"), temp, {"units": "K", "long_name": "air temperature"}),
        },
        coords={
            "time": ("time", time_, {"long_name": "day index"}),
            "lat": ("lat", lat, {"units": "degrees_north"}),
            "lon": ("lon", lon, {"units": "degrees_east"}),
        },
        attrs={"title": "ts-hamt zarr benchmark"},
    )
    zstd = [ZstdCodec(level=3, checksum=False)]
    encoding = {
        "temp": {"chunks": CHUNKS, "compressors": zstd},
        "time": {"chunks": (NTIME,), "compressors": zstd},
        "lat": {"chunks": (NLAT,), "compressors": zstd},
        "lon": {"chunks": (NLON,), "compressors": zstd},
    }
    return ds, encoding


async def write(rpc: str, gateway: str) -> dict[str, Any]:
    ds, encoding = dataset()
    temp = ds["temp"].values
    async with KuboCAS(rpc_base_url=rpc, gateway_base_url=gateway) as cas:
        hamt = await HAMT.build(cas=cas, values_are_bytes=True)
        store = ZarrHAMTStore(hamt, read_only=False)
        start = time.perf_counter()
        # Blocks this loop while zarr drives the store on its own loop.
        ds.to_zarr(store, zarr_format=3, mode="w", consolidated=False, encoding=encoding)
        await hamt.make_read_only()
        seconds = time.perf_counter() - start
        root = hamt.root_node_id
    if not isinstance(root, CID):
        raise TypeError(f"expected a CID root from KuboCAS, got {type(root)}")
    return {
        "root": str(root),
        "bytes": int(temp.nbytes),
        "seconds": seconds,
        "checksum": float(temp.sum(dtype=np.float64)),
        "shape": list(temp.shape),
        "chunks": list(CHUNKS),
    }


async def open_dataset(cas: KuboCAS, root: str) -> xr.Dataset:
    hamt = await HAMT.build(cas=cas, root_node_id=CID.decode(root), read_only=True, values_are_bytes=True)
    return xr.open_zarr(ZarrHAMTStore(hamt, read_only=True), zarr_format=3, consolidated=False)


async def timed_read(rpc: str, gateway: str, root: str, select: Any) -> tuple[dict[str, Any], Any]:
    """Opens the dataset and reads `temp[select]`, timing both; returns the timings and the values."""
    async with KuboCAS(rpc_base_url=rpc, gateway_base_url=gateway) as cas:
        start, cpu_start = time.perf_counter(), time.process_time()
        ds = await open_dataset(cas, root)
        opened = time.perf_counter()
        values = ds["temp"][select].values
        done, cpu_done = time.perf_counter(), time.process_time()
    timings = {
        "cpuSeconds": cpu_done - cpu_start,
        "openSeconds": opened - start,
        "readSeconds": done - opened,
        "seconds": done - start,
    }
    return timings, values


async def read_all(rpc: str, gateway: str, root: str) -> dict[str, Any]:
    timings, values = await timed_read(rpc, gateway, root, ...)
    return {**timings, "checksum": float(values.sum(dtype=np.float64)), "n": int(values.size)}


async def read_point(rpc: str, gateway: str, root: str, lat: int, lon: int) -> dict[str, Any]:
    timings, values = await timed_read(rpc, gateway, root, (slice(None), lat, lon))
    return {**timings, "sum": float(values.sum(dtype=np.float64)), "values": [float(v) for v in values]}


def write_local(directory: str) -> dict[str, Any]:
    import zarr

    ds, encoding = dataset()
    ds.to_zarr(zarr.storage.LocalStore(directory), zarr_format=3, mode="w", consolidated=False, encoding=encoding)
    return {"dir": directory, "chunks": sum(1 for _ in chunk_files(directory))}


def chunk_files(directory: str) -> list[str]:
    import glob

    return sorted(glob.glob(f"{directory}/temp/c/*/*/*"))


def decode_local(directory: str, repeats: int) -> dict[str, Any]:
    from numcodecs import Zstd

    frames = [open(path, "rb").read() for path in chunk_files(directory)]
    codec = Zstd()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        total = sum(len(codec.decode(frame)) for frame in frames)
        seconds.append(time.perf_counter() - start)
    return {"seconds": seconds, "bytes": total}


def main(argv: list[str]) -> None:
    usage = (
        f"usage: {argv[0]} write RPC GATEWAY | read-all RPC GATEWAY ROOT"
        " | read-point RPC GATEWAY ROOT LAT LON | write-local DIR | decode-local DIR REPEATS"
    )
    command, args = (argv[1], argv[2:]) if len(argv) > 1 else ("", [])
    if command == "write" and len(args) == 2:
        result = asyncio.run(write(*args))
    elif command == "read-all" and len(args) == 3:
        result = asyncio.run(read_all(*args))
    elif command == "read-point" and len(args) == 5:
        rpc, gateway, root, lat, lon = args
        result = asyncio.run(read_point(rpc, gateway, root, int(lat), int(lon)))
    elif command == "write-local" and len(args) == 1:
        result = write_local(args[0])
    elif command == "decode-local" and len(args) == 2:
        result = decode_local(args[0], int(args[1]))
    else:
        sys.exit(usage)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv)
