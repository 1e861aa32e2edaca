#!/usr/bin/env python3
"""JSON-over-stdio driver for ts-hamt's write-side attack (session 12): random Zarr histories made by
zarr-python on the REAL py-hamt 3.6.0 ShardedZarrStore (on Kubo), logged call by call so ts-hamt can
replay them and must reach the same roots; and reads of any sharded root by zarr-python.

    python attackw12_driver.py history < request.json > response.json
    python attackw12_driver.py read    < request.json > response.json

history in:  {"rpcUrl", "gatewayUrl", "version": "v1"|"v2", "chunksPerShard": int, "zarrFormat"?: 2|3, "read"?: false,
              "arrays": [{"name", "shape", "chunks", "dtype", "fill": number|"NaN"|bool}],
              "phases": [[op, ...], ...]}
        ops: {"op": "write", "array", "start": [int], "stop": [int], "values": [number|null]}
             {"op": "resize", "array", "shape": [int]}
             {"op": "attrs", "array", "attrs": {...}}
        v1 opens the store from the first array's shape and chunks; v2 from chunks_per_shard, with the
        arrays under group "g" (v2 requires a group). Phase 0 creates the arrays; every phase reopens
        the last root writable, runs its ops through zarr-python and flushes.
        out: {"roots": [root per phase], "logs": [[[op, key, hex], ...] per phase],
              "values": {name: {"shape", "values"}}} (read back by zarr-python from the last root;
              NaN as null, bools as 0/1); when py-hamt refuses a call: {"roots", "logs", "error"}, the
              last log ending at the refused call
read    in:  {"rpcUrl", "gatewayUrl", "root", "paths": [array path]}
        out: {"values": {path: {"shape", "values"}}}
"""

from __future__ import annotations

from driver_io import JsonObject, RequestError, field, from_hex, run_driver

import math
import sys
import warnings
from typing import Any

import numpy as np
import zarr
from multiformats import CID
from py_hamt import HAMT, ShardedZarrStore, SimpleEncryptedZarrHAMTStore, ZarrHAMTStore
from sharded_driver import kubo_cas, log_calls, writable_store

warnings.simplefilter("ignore")


def fill_of(spec: JsonObject) -> Any:
    fill = spec["fill"]
    return float("nan") if fill == "NaN" else fill


def flat(array: Any) -> JsonObject:
    data = np.asarray(array[...])
    values: list[Any] = []
    for v in data.reshape(-1).tolist():
        if isinstance(v, bool):
            values.append(int(v))
        elif isinstance(v, float) and math.isnan(v):
            values.append(None)
        else:
            values.append(v)
    return {"shape": list(data.shape), "values": values}


def region(op: JsonObject) -> tuple[slice, ...]:
    return tuple(slice(a, b) for a, b in zip(field(op, "start", list), field(op, "stop", list), strict=True))


def run_ops(store: Any, prefix: str, create: list[JsonObject], ops: list[JsonObject], fmt: int = 3) -> None:
    """Creates the arrays of `create`, then runs the operations, all through zarr-python."""
    for spec in create:
        zarr.create_array(store, name=prefix + spec["name"], shape=tuple(spec["shape"]),
                          chunks=tuple(spec["chunks"]), dtype=spec["dtype"], fill_value=fill_of(spec),
                          compressors=None, zarr_format=fmt)
    for op in ops:
        array = zarr.open_array(store, path=prefix + field(op, "array", str), mode="r+", zarr_format=fmt)
        kind = field(op, "op", str)
        if kind == "write":
            sel = region(op)
            shape = tuple(s.stop - s.start for s in sel)
            raw = [float("nan") if v is None else v for v in field(op, "values", list)]
            array[sel] = np.array(raw, dtype=array.dtype).reshape(shape)
        elif kind == "resize":
            array.resize(tuple(field(op, "shape", list)))
        elif kind == "attrs":
            array.attrs.put(field(op, "attrs", dict))
        else:
            raise RequestError(f"unknown op {kind!r}")


async def history(req: JsonObject) -> JsonObject:
    version = field(req, "version", str)
    cps = field(req, "chunksPerShard", int)
    arrays = field(req, "arrays", list)
    phases = field(req, "phases", list)
    prefix = "g/" if version == "v2" else ""
    fmt = field(req, "zarrFormat", int, default=3)
    roots: list[str] = []
    logs: list[list[list[str]]] = []
    async with kubo_cas(req) as cas:
        for i, ops in enumerate(phases):
            first = arrays[0]
            opening = ({"root": roots[-1]} if i > 0 else {"chunksPerShard": cps} if version == "v2" else
                       {"create": {"arrayShape": first["shape"], "chunkShape": first["chunks"], "chunksPerShard": cps}})
            store = await writable_store(cas, opening, new_v2=True)
            log: list[list[str]] = []
            log_calls(store, log)
            if i == 0 and version == "v2":
                zarr.open_group(store, path="g", mode="w", zarr_format=fmt)
            logs.append(log)
            try:
                run_ops(store, prefix, arrays if i == 0 else [], ops, fmt)
            except Exception as error:  # noqa: BLE001 - py-hamt refusing a call is an answer: the log ends at it
                return {"roots": roots, "logs": logs, "error": repr(error)}
            roots.append(str(await store.flush()))
        if req.get("read") is False:  # arrays too big to read whole: the roots are the answer
            return {"roots": roots, "logs": logs, "values": {}}
        reader = await ShardedZarrStore.open(cas=cas, read_only=True, root_cid=roots[-1])
        values = {spec["name"]: flat(zarr.open_array(reader, path=prefix + spec["name"], mode="r", zarr_format=fmt))
                  for spec in arrays}
    return {"roots": roots, "logs": logs, "values": values}


async def read(req: JsonObject) -> JsonObject:
    async with kubo_cas(req) as cas:
        store = await ShardedZarrStore.open(cas=cas, read_only=True, root_cid=field(req, "root", str))
        return {"values": {path: flat(zarr.open_array(store, path=path, mode="r", zarr_format=3))
                           for path in field(req, "paths", list)}}


def cipher(req: JsonObject) -> SimpleEncryptedZarrHAMTStore:
    """py-hamt's own _encrypt/_decrypt, on a store object that needs no HAMT for them."""
    store = SimpleEncryptedZarrHAMTStore.__new__(SimpleEncryptedZarrHAMTStore)
    store.encryption_key = from_hex(field(req, "keyHex", str), "keyHex")
    store.header = from_hex(req.get("headerHex", ""), "headerHex")
    return store


async def seal(req: JsonObject) -> JsonObject:
    store = cipher(req)
    return {"sealed": [store._encrypt(from_hex(text, "plain")).hex() for text in field(req, "plains", list)]}


async def open_sealed(req: JsonObject) -> JsonObject:
    store = cipher(req)
    opened: list[str | None] = []
    for text in field(req, "sealed", list):
        try:
            opened.append(store._decrypt(from_hex(text, "sealed")).hex())
        except ValueError:
            opened.append(None)
    return {"plains": opened}


async def encrypted_write(req: JsonObject) -> JsonObject:
    arrays = field(req, "arrays", list)
    async with kubo_cas(req) as cas:
        hamt = await HAMT.build(cas=cas, values_are_bytes=True)
        store = SimpleEncryptedZarrHAMTStore(hamt, False, from_hex(field(req, "keyHex", str), "keyHex"),
                                             from_hex(req.get("headerHex", ""), "headerHex"))
        run_ops(store, "", arrays, field(req, "ops", list))
        await hamt.make_read_only()
        values = {spec["name"]: flat(zarr.open_array(store.with_read_only(True), path=spec["name"], mode="r",
                                                     zarr_format=3)) for spec in arrays}
        keys = sorted([key async for key in hamt.keys()])
        return {"root": str(hamt.root_node_id), "values": values, "keys": keys}


async def encrypted_read(req: JsonObject) -> JsonObject:
    async with kubo_cas(req) as cas:
        hamt = await HAMT.build(cas=cas, root_node_id=CID.decode(field(req, "root", str)), read_only=True,
                                values_are_bytes=True)
        store = SimpleEncryptedZarrHAMTStore(hamt, True, from_hex(field(req, "keyHex", str), "keyHex"),
                                             from_hex(req.get("headerHex", ""), "headerHex"))
        return {"values": {path: flat(zarr.open_array(store, path=path, mode="r", zarr_format=3))
                           for path in field(req, "paths", list)}}


def writers_dataset(rng: Any, times: range, nlat: int, dtype: str) -> Any:
    """A random dataset over `times`: a time-chunked data variable, a time series and a static field."""
    import xarray as xr

    t = np.array(list(times), dtype=np.int64)
    cube = rng.integers(-100, 100, size=(len(t), nlat)).astype(dtype)
    return xr.Dataset(
        data_vars={"temp": (("time", "lat"), cube, {"units": "K"}),
                   "count": (("time",), (t * 3 + 1).astype(np.int32)),
                   "mask": (("lat",), np.arange(nlat, dtype=np.uint8))},
        coords={"time": ("time", t, {"units": "days since 2020-01-01"}),
                "lat": ("lat", np.arange(nlat, dtype=np.float32))},
        attrs={"title": "attackw12"},
    )


async def writers(req: JsonObject) -> JsonObject:
    """Base, two writers A and B from it, and C = one writer doing B then A, by xarray through py-hamt."""
    layout = field(req, "layout", str)
    ntime, nlat, ct = field(req, "ntime", int), field(req, "nlat", int), field(req, "timeChunk", int)
    dtype, append, split = field(req, "dtype", str), req.get("append", 0), field(req, "split", int)
    rng = np.random.default_rng(field(req, "seed", int))
    base_ds = writers_dataset(rng, range(ntime), nlat, dtype)
    encoding = {"temp": {"chunks": (ct, nlat)}, "count": {"chunks": (ct,)}, "time": {"chunks": (ct,)}}
    region_b = writers_dataset(rng, range(split), nlat, dtype).drop_vars(["mask", "lat"])
    if append:
        step_a = writers_dataset(rng, range(ntime, ntime + append), nlat, dtype)
    else:
        step_a = writers_dataset(rng, range(split, ntime), nlat, dtype).drop_vars(["mask", "lat"])
    group = "g" if layout == "sharded" else None

    async with kubo_cas(req) as cas:
        async def session(root: Any, write: Any) -> str:
            if layout == "sharded":
                opening = {"root": root} if root is not None else {"chunksPerShard": field(req, "chunksPerShard", int)}
                store = await writable_store(cas, opening, new_v2=True)
                write(store)
                return str(await store.flush())
            hamt = (await HAMT.build(cas=cas, values_are_bytes=True) if root is None
                    else await HAMT.build(cas=cas, root_node_id=CID.decode(root), values_are_bytes=True))
            write(ZarrHAMTStore(hamt))
            await hamt.make_read_only()
            return str(hamt.root_node_id)

        def do_base(store: Any) -> None:
            base_ds.to_zarr(store, mode="w", zarr_format=3, consolidated=False, encoding=encoding, group=group)

        def do_a(store: Any) -> None:
            if append:
                step_a.to_zarr(store, append_dim="time", zarr_format=3, consolidated=False, group=group)
            else:
                step_a.to_zarr(store, region={"time": slice(split, ntime)}, zarr_format=3, consolidated=False, group=group)

        def do_b(store: Any) -> None:
            region_b.to_zarr(store, region={"time": slice(0, split)}, zarr_format=3, consolidated=False, group=group)

        def both(store: Any) -> None:
            do_b(store)
            do_a(store)

        base = await session(None, do_base)
        a = await session(base, do_a)
        b = await session(base, do_b)
        c = await session(base, both)
        return {"base": base, "a": a, "b": b, "c": c}


if __name__ == "__main__":
    sys.exit(run_driver("attackw12_driver", {"history": history, "read": read, "seal": seal, "open": open_sealed,
                                                 "encrypted-write": encrypted_write, "encrypted-read": encrypted_read,
                                                 "writers": writers}, sys.argv))
