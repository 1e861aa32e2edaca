#!/usr/bin/env python3
"""JSON-over-stdio driver for ts-hamt's dataset selection interop tests: writes a labelled dataset
with the REAL py-hamt 3.6.0 on a Kubo daemon (HAMT plain or encrypted, sharded v1 or v2) and answers
selections with xarray's .sel/.isel on it.

    python dataset_driver.py write  < request.json > response.json
    python dataset_driver.py select < request.json > response.json

Common fields: "rpcUrl", "gatewayUrl" (Kubo), "layout": "hamt" | "sharded-v1" | "sharded-v2",
"encryption"?: {"keyHex", "headerHex"} (HAMT only), "zarrFormat"?: 2 | 3 (default 3).

write   in:  {..., "calendar": CF calendar of the time coordinate,
              "timeUnits"?: its units (default "days since 2000-01-01")}
        out: {"root": cid, "group": "0" | null}
        The dataset: temp(time, lat, lon) float32 with NaNs; packed(time, lat, lon) int16 with
        scale_factor/add_offset/_FillValue; elevation(lat, lon); time int64 "days since 2000-01-01"
        (or timeUnits) at irregular steps in the calendar; lat float32 north to south; lon float64 ascending.
select  in:  {..., "root", "group"?, "selections": [{"op": "sel"|"isel", "var", "indexers",
              "method"?, "tolerance"?}]}
        Indexers: a number, a time as {"time": [y, m, d, H, M, S]} (made a cftime/pandas time of
        the index's kind) or {"str": text} (given to xarray as the string), a list of those, or
        {"slice": [start, stop, step]} (null for none); {"box": [a, b]} is a slice ordered as the
        index runs. "tolerance" is a number or {"duration": text} (the string for a pandas index,
        a datetime.timedelta for a cftime one, which takes no string).
        "op": "ds" selects "vars" (a list) of the dataset together and answers
        {"ok": true, "records": to_dataframe().reset_index() as records (times ISO)}.
        out: {"results": [{"ok": true, "dims", "shape", "values" (flat, NaN null), "coords":
              {name: flat values, times as [y, m, d, H, M, S, us]}} | {"ok": false, "error": class name,
              "message"}]}
"""

from __future__ import annotations

from driver_io import JsonObject, RequestError, field, run_driver

import sys
import warnings
from collections.abc import Callable, Coroutine
from typing import Any

import cftime
import numpy as np
import pandas as pd
import xarray as xr
from py_hamt import HAMT, KuboCAS, ShardedZarrStore
from zarr_driver import json_number, parse_encryption, to_json, zarr_store

warnings.simplefilter("ignore")

NTIME, NLAT, NLON = 23, 17, 24


def dataset(calendar: str, units: str = "days since 2000-01-01") -> tuple[xr.Dataset, dict[str, JsonObject]]:
    steps = np.array([1, 2, 3, 1, 5, 8, 13, 1, 1, 2, 30, 31, 29, 1, 4, 7, 11, 2, 3, 60, 90, 1], dtype=np.int64)
    time = np.concatenate([[0], np.cumsum(steps)]).astype(np.int64)
    lat = np.linspace(60, -60, NLAT, dtype=np.float32)
    lon = np.arange(NLON, dtype=np.float64) * 15.0
    n = NTIME * NLAT * NLON
    temp = (250 + (np.arange(n) % 977) * 0.125).astype(np.float32)
    temp[[3, 400, 5000, n - 2]] = np.nan
    packed = (np.arange(n) % 401 - 200) * 0.5 + 10.0
    packed[[9, 777]] = np.nan
    cube = ("time", "lat", "lon")
    ds = xr.Dataset(
        {
            "temp": (cube, temp.reshape(NTIME, NLAT, NLON), {"units": "K", "long_name": "air temperature"}),
            "packed": (cube, packed.reshape(NTIME, NLAT, NLON), {"units": "mm"}),
            "elevation": (("lat", "lon"), (np.arange(NLAT * NLON, dtype=np.float64) * 3.0).reshape(NLAT, NLON)),
        },
        coords={
            "time": ("time", time, {"units": units, "calendar": calendar}),
            "lat": ("lat", lat, {"units": "degrees_north"}),
            "lon": ("lon", lon, {"units": "degrees_east"}),
        },
        attrs={"title": "ts-hamt dataset selection fixture"},
    )
    encoding: dict[str, JsonObject] = {
        "temp": {"chunks": (7, 5, 8), "compressors": None},
        "packed": {"chunks": (7, 5, 8), "compressors": None, "dtype": "int16", "scale_factor": 0.5,
                   "add_offset": 10.0, "_FillValue": -32767},
        "elevation": {"chunks": (6, 24), "compressors": None},
        "time": {"chunks": (NTIME,), "compressors": None, "dtype": "int64"},
        "lat": {"chunks": (NLAT,), "compressors": None},
        "lon": {"chunks": (NLON,), "compressors": None},
    }
    return ds, encoding


def kubo_cas_for(req: JsonObject) -> KuboCAS:
    return KuboCAS(rpc_base_url=field(req, "rpcUrl", str), gateway_base_url=field(req, "gatewayUrl", str))


def layout_of(req: JsonObject) -> str:
    layout = field(req, "layout", str)
    if layout not in ("hamt", "sharded-v1", "sharded-v2"):
        raise RequestError(f"unknown layout {layout!r}")
    return layout


async def write(req: JsonObject) -> JsonObject:
    layout = layout_of(req)
    enc = parse_encryption(req)
    ds, encoding = dataset(field(req, "calendar", str), field(req, "timeUnits", str, default="days since 2000-01-01"))
    fmt = field(req, "zarrFormat", int, default=3)
    async with kubo_cas_for(req) as cas:
        if layout == "hamt":
            hamt = await HAMT.build(cas=cas, values_are_bytes=True)
            ds.to_zarr(zarr_store(hamt, False, enc), zarr_format=fmt, mode="w", consolidated=False, encoding=encoding)
            await hamt.make_read_only()
            return {"root": str(hamt.root_node_id), "group": None}
        if layout == "sharded-v1":
            store = await ShardedZarrStore.open(cas=cas, read_only=False, array_shape=(NTIME, NLAT, NLON),
                                                chunk_shape=(7, 5, 8), chunks_per_shard=5)
            ds.to_zarr(store, zarr_format=fmt, mode="w", consolidated=False, encoding=encoding)
            return {"root": str(await store.flush()), "group": None}
        store = await ShardedZarrStore.open(cas=cas, read_only=False, chunks_per_shard=3)
        ds.to_zarr(store, zarr_format=fmt, mode="w", consolidated=False, encoding=encoding, group="0")
        return {"root": str(await store.flush()), "group": "0"}


def time_label(spec: list[int], index: Any) -> Any:
    y, mo, d, h, mi, s = spec
    if isinstance(index, xr.CFTimeIndex):
        return cftime.datetime(y, mo, d, h, mi, s, calendar=index.calendar)
    return pd.Timestamp(year=y, month=mo, day=d, hour=h, minute=mi, second=s)


def label_of(value: Any, index: Any) -> Any:
    if isinstance(value, dict) and "str" in value:
        return value["str"]
    if isinstance(value, dict) and "time" in value:
        return time_label(value["time"], index)
    return value


def indexer_of(value: Any, index: Any) -> Any:
    if isinstance(value, dict) and "box" in value:
        a, b = (label_of(v, index) for v in value["box"])
        low, high = (a, b) if a <= b else (b, a)
        return slice(high, low) if index.is_monotonic_decreasing else slice(low, high)
    if isinstance(value, dict) and "slice" in value:
        start, stop, step = value["slice"]
        return slice(label_of(start, index), label_of(stop, index), step)
    if isinstance(value, list):
        return [label_of(v, index) for v in value]
    return label_of(value, index)


def coord_json(values: np.ndarray) -> list[Any]:
    out: list[Any] = []
    for v in values.ravel():
        if isinstance(v, cftime.datetime):
            out.append([v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond])
        elif isinstance(v, np.datetime64):
            t = pd.Timestamp(v)
            out.append([t.year, t.month, t.day, t.hour, t.minute, t.second, t.microsecond])
        else:
            out.append(json_number(v))
    return out


def tolerance_of(ds: xr.Dataset, sel: JsonObject) -> Any:
    tolerance = sel.get("tolerance")
    if not isinstance(tolerance, dict):
        return tolerance
    if isinstance(ds.indexes["time"], xr.CFTimeIndex):
        return pd.Timedelta(tolerance["duration"]).to_pytimedelta()
    return tolerance["duration"]


def cell_json(value: Any) -> Any:
    if isinstance(value, cftime.datetime) or isinstance(value, pd.Timestamp):
        return value.isoformat()
    return json_number(value)


def answer_dataset(ds: xr.Dataset, sel: JsonObject) -> JsonObject:
    raw = field(sel, "indexers", dict)
    try:
        picked = ds[field(sel, "vars", list)]
        indexers = {k: indexer_of(v, ds.indexes[k]) for k, v in raw.items()}
        out = picked.sel(indexers, method=sel.get("method"), tolerance=tolerance_of(ds, sel))
        # to_dataframe cannot make a 0-d dataset's one row: give it a dimension of one, then drop it.
        frame = (out.to_dataframe() if out.dims else out.expand_dims("_row").to_dataframe()).reset_index()
        frame = frame.drop(columns=[c for c in ("_row",) if c in frame.columns])
    except Exception as exc:  # the test compares the kind of failure
        return {"ok": False, "error": type(exc).__name__, "message": str(exc)}
    records = [{str(k): cell_json(v) for k, v in row.items()} for row in frame.to_dict("records")]
    return {"ok": True, "records": records}


def answer(ds: xr.Dataset, sel: JsonObject) -> JsonObject:
    if field(sel, "op", str) == "ds":
        return answer_dataset(ds, sel)
    var = ds[field(sel, "var", str)]
    raw = field(sel, "indexers", dict)
    try:
        if field(sel, "op", str) == "isel":
            indexers = {k: slice(*v["slice"]) if isinstance(v, dict) else v for k, v in raw.items()}
            out = var.isel(indexers)
        else:
            indexers = {k: indexer_of(v, ds.indexes[k]) for k, v in raw.items()}
            out = var.sel(indexers, method=sel.get("method"), tolerance=tolerance_of(ds, sel))
        values = np.asarray(out.values, dtype=np.float64)
    except Exception as exc:  # the test compares the kind of failure
        return {"ok": False, "error": type(exc).__name__, "message": str(exc)}
    return {
        "ok": True,
        "dims": list(out.dims),
        "shape": list(out.shape),
        "values": [json_number(v) for v in values.ravel()],
        "coords": {str(n): coord_json(np.asarray(c.values)) for n, c in out.coords.items()},
        "attrs": to_json(dict(out.attrs)),
    }


async def select(req: JsonObject) -> JsonObject:
    layout = layout_of(req)
    enc = parse_encryption(req)
    root = field(req, "root", str)
    async with kubo_cas_for(req) as cas:
        if layout == "hamt":
            hamt = await HAMT.build(cas=cas, root_node_id=_cid(root), read_only=True, values_are_bytes=True)
            store: Any = zarr_store(hamt, True, enc)
        else:
            store = await ShardedZarrStore.open(cas=cas, read_only=True, root_cid=root)
        ds = xr.open_zarr(store, zarr_format=field(req, "zarrFormat", int, default=3), consolidated=False,
                          group=req.get("group"))
        ds.load()
        return {"results": [answer(ds, sel) for sel in field(req, "selections", list)]}


def _cid(text: str) -> Any:
    from multiformats import CID

    return CID.decode(text)


COMMANDS: dict[str, Callable[[JsonObject], Coroutine[Any, Any, JsonObject]]] = {"write": write, "select": select}

if __name__ == "__main__":
    sys.exit(run_driver("dataset_driver", COMMANDS, sys.argv))
