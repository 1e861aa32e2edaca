#!/usr/bin/env python3
"""Selections by label with the REAL py-hamt 3.6.0 + xarray, for comparison with ts-hamt's openDataset
(bench/dataset-sel.ts). Run with the interpreter from scripts/python-env.sh; each command prints one JSON line.

    python bench/pyhamt_dataset_bench.py write RPC GATEWAY
    python bench/pyhamt_dataset_bench.py read point|box RPC GATEWAY ROOT

write: the dataset below, ds.to_zarr(ZarrHAMTStore(hamt), zarr_format=3, consolidated=False) into a
fresh HAMT over KuboCAS, then make_read_only(). {"root", "seconds", "shape", "chunks"}
read: a fresh KuboCAS and read-only HAMT, xarray.open_zarr(..., consolidated=False), then
  point: ds["t2m"].sel(latitude=LAT, longitude=LON, method="nearest").values (the whole series)
  box:   ds["t2m"].sel(latitude=slice(N, S), longitude=slice(W, E), time=slice(T0, T1)).values
{"seconds", "cpuSeconds" (process CPU, every thread), "openSeconds", "shape", "values" (flat, NaN null),
 "latitude", "longitude", "time" (ISO days)}
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from multiformats import CID
from py_hamt import HAMT, KuboCAS, ZarrHAMTStore

warnings.simplefilter("ignore")

# Shared with bench/dataset-sel.ts (which checks the metadata it opens against these).
NTIME, NLAT, NLON = 366, 181, 360
CHUNKS = (61, 30, 30)
POINT = {"latitude": 45.2, "longitude": 5.1}
BOX = {"latitude": (65.0, 55.0), "longitude": (25.0, 35.0), "time": ("2024-02-20", "2024-03-10")}


def dataset() -> tuple[xr.Dataset, dict[str, Any]]:
    """Daily 2024 on a 1° grid, latitude north to south, a smooth field with seeded noise and NaN holes."""
    times = pd.date_range("2024-01-01", periods=NTIME, freq="D")
    lat = np.linspace(90.0, -90.0, NLAT, dtype=np.float32)
    lon = np.arange(NLON, dtype=np.float32)
    t = np.arange(NTIME, dtype=np.float64)[:, None, None]
    phi = np.deg2rad(lat.astype(np.float64))[None, :, None]
    lam = np.deg2rad(lon.astype(np.float64))[None, None, :]
    field = 273.15 + 30.0 * np.cos(phi) + 8.0 * np.sin(2 * np.pi * t / 366.0) * np.sin(phi) + 3.0 * np.sin(3 * lam)
    noise = np.random.default_rng(20261201).normal(0.0, 0.5, size=(NTIME, NLAT, NLON))
    t2m = (field + noise).astype(np.float32)
    t2m[100:103, 45, 5] = np.nan  # missing days in the point's series
    t2m[55, 30, 25:28] = np.nan  # and in the box
    ds = xr.Dataset(
        {"t2m": (("time", "latitude", "longitude"), t2m, {"units": "K", "long_name": "2 metre temperature"})},
        coords={
            "time": ("time", times),
            "latitude": ("latitude", lat, {"units": "degrees_north"}),
            "longitude": ("longitude", lon, {"units": "degrees_east"}),
        },
        attrs={"title": "ts-hamt dataset selection bench"},
    )
    encoding = {
        "t2m": {"chunks": CHUNKS},
        "time": {"units": "days since 2000-01-01", "calendar": "proleptic_gregorian", "dtype": "int64"},
    }
    return ds, encoding


async def write(rpc: str, gateway: str) -> dict[str, Any]:
    ds, encoding = dataset()
    async with KuboCAS(rpc_base_url=rpc, gateway_base_url=gateway) as cas:
        hamt = await HAMT.build(cas=cas, values_are_bytes=True)
        start = time.perf_counter()
        ds.to_zarr(ZarrHAMTStore(hamt, read_only=False), zarr_format=3, mode="w", consolidated=False, encoding=encoding)
        await hamt.make_read_only()
        seconds = time.perf_counter() - start
        root = hamt.root_node_id
    if not isinstance(root, CID):
        raise TypeError(f"expected a CID root from KuboCAS, got {type(root)}")
    return {"root": str(root), "seconds": seconds, "shape": [NTIME, NLAT, NLON], "chunks": list(CHUNKS)}


def number(v: float) -> float | None:
    return None if math.isnan(v) else float(v)


async def read(what: str, rpc: str, gateway: str, root: str) -> dict[str, Any]:
    async with KuboCAS(rpc_base_url=rpc, gateway_base_url=gateway) as cas:
        start, cpu_start = time.perf_counter(), time.process_time()
        hamt = await HAMT.build(cas=cas, root_node_id=CID.decode(root), read_only=True, values_are_bytes=True)
        ds = xr.open_zarr(ZarrHAMTStore(hamt, read_only=True), zarr_format=3, consolidated=False)
        opened = time.perf_counter()
        if what == "point":
            sel = ds["t2m"].sel(POINT, method="nearest")
        else:
            sel = ds["t2m"].sel({dim: slice(*bounds) for dim, bounds in BOX.items()})
        values = sel.values
        done, cpu_done = time.perf_counter(), time.process_time()
    return {
        "seconds": done - start,
        "cpuSeconds": cpu_done - cpu_start,
        "openSeconds": opened - start,
        "shape": list(values.shape),
        "values": [number(v) for v in values.astype(np.float64).ravel()],
        "latitude": [float(v) for v in np.atleast_1d(sel["latitude"].values)],
        "longitude": [float(v) for v in np.atleast_1d(sel["longitude"].values)],
        "time": [str(v)[:10] for v in np.atleast_1d(sel["time"].values)],
    }


def main(argv: list[str]) -> None:
    if len(argv) == 4 and argv[1] == "write":
        result = asyncio.run(write(argv[2], argv[3]))
    elif len(argv) == 6 and argv[1] == "read" and argv[2] in ("point", "box"):
        result = asyncio.run(read(argv[2], argv[3], argv[4], argv[5]))
    else:
        sys.exit(__doc__)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv)
