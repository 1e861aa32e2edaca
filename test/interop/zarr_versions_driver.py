#!/usr/bin/env python3
"""JSON-over-stdio driver for ts-hamt's Zarr diff tests: two versions of one dataset written by the
REAL py-hamt 3.6.0 (ZarrHAMTStore, InMemoryCAS) with xarray, the second one time step appended.

    python zarr_versions_driver.py append < {"zarrFormat": 2|3 (default 3)} > response.json

out: {"roots": [hex, hex], "blocks": {idHex: dataHex} (both versions),
      "values": [{key: sha256 hex of the stored bytes}, ...] (one per version, read back through py-hamt),
      "ntime": time steps of the first version}
"""

from __future__ import annotations

import hashlib
import sys

from driver_io import JsonObject, RequestError, run_driver

import numpy as np
import xarray as xr
from py_hamt import HAMT, InMemoryCAS, ZarrHAMTStore

NTIME, NLAT, NLON = 4, 4, 6


def dataset(times: range) -> xr.Dataset:
    t = np.array(list(times), dtype=np.int64)
    cube = np.add.outer(t * 100.0, np.arange(NLAT * NLON).reshape(NLAT, NLON)).astype(np.float32)
    return xr.Dataset(
        data_vars={
            "temp": (("time", "lat", "lon"), cube, {"units": "K"}),
            "station_count": (("time",), (t * 3 + 1).astype(np.int32), {"units": "1"}),
            "mask": (("lat", "lon"), np.arange(NLAT * NLON, dtype=np.uint8).reshape(NLAT, NLON)),
        },
        coords={
            "time": ("time", t, {"units": "days since 2020-01-01"}),
            "lat": ("lat", np.linspace(-30, 30, NLAT, dtype=np.float32)),
            "lon": ("lon", np.arange(NLON, dtype=np.float32) * 10),
        },
        attrs={"title": "ts-hamt diff fixture"},
    )


ENCODING = {
    "temp": {"chunks": (1, 2, 3), "compressors": None},
    "station_count": {"chunks": (1,), "compressors": None},
    "mask": {"chunks": (NLAT, NLON), "compressors": None},
    "time": {"chunks": (1,), "compressors": None},
    "lat": {"chunks": (NLAT,), "compressors": None},
    "lon": {"chunks": (NLON,), "compressors": None},
}


async def digests(cas: InMemoryCAS, root: bytes) -> JsonObject:
    hamt = await HAMT.build(cas=cas, root_node_id=root, read_only=True, values_are_bytes=True)
    out: JsonObject = {}
    for key in sorted([key async for key in hamt.keys()]):
        out[key] = hashlib.sha256(await hamt.get(key)).hexdigest()
    return out


def encoding(zarr_format: int) -> JsonObject:
    if zarr_format == 3:
        return ENCODING
    # The 2-D variable's chunk keys get a `/` separator (`mask/0/0`), the others Zarr v2's `.`.
    v2 = {name: dict(spec) for name, spec in ENCODING.items()}
    v2["mask"]["chunk_key_encoding"] = {"name": "v2", "separator": "/"}
    return v2


async def append(req: JsonObject) -> JsonObject:
    zarr_format = req.get("zarrFormat", 3)
    if zarr_format not in (2, 3):
        raise RequestError(f"zarrFormat must be 2 or 3, got {zarr_format!r}")
    cas = InMemoryCAS()
    hamt = await HAMT.build(cas=cas, values_are_bytes=True)
    dataset(range(NTIME)).to_zarr(
        ZarrHAMTStore(hamt, read_only=False),
        zarr_format=zarr_format,
        mode="w",
        consolidated=False,
        encoding=encoding(zarr_format),
    )
    await hamt.make_read_only()
    first = hamt.root_node_id

    hamt = await HAMT.build(cas=cas, root_node_id=first, values_are_bytes=True)
    dataset(range(NTIME, NTIME + 1)).to_zarr(
        ZarrHAMTStore(hamt, read_only=False), zarr_format=zarr_format, append_dim="time", consolidated=False
    )
    await hamt.make_read_only()
    second = hamt.root_node_id

    return {
        "roots": [first.hex(), second.hex()],
        "blocks": {bid.hex(): cas.store[bid].hex() for bid in sorted(cas.store)},
        "values": [await digests(cas, first), await digests(cas, second)],
        "ntime": NTIME,
    }


if __name__ == "__main__":
    sys.exit(run_driver("zarr_versions_driver", {"append": append}, sys.argv))
