#!/usr/bin/env python3
"""JSON-over-stdio driver for ts-hamt's write-side attack (session 12): random Zarr histories made by
zarr-python on the REAL py-hamt 3.6.0 ShardedZarrStore (on Kubo), logged call by call so ts-hamt can
replay them and must reach the same roots; and reads of any sharded root by zarr-python.

    python attackw12_driver.py history < request.json > response.json
    python attackw12_driver.py read    < request.json > response.json

history in:  {"rpcUrl", "gatewayUrl", "version": "v1"|"v2", "chunksPerShard": int,
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
              NaN as null, bools as 0/1)
read    in:  {"rpcUrl", "gatewayUrl", "root", "paths": [array path]}
        out: {"values": {path: {"shape", "values"}}}
"""

from __future__ import annotations

from driver_io import JsonObject, RequestError, field, run_driver

import math
import sys
import warnings
from typing import Any

import numpy as np
import zarr
from py_hamt import KuboCAS, ShardedZarrStore
from sharded_driver import log_calls

warnings.simplefilter("ignore")


def kubo_cas(req: JsonObject) -> KuboCAS:
    return KuboCAS(rpc_base_url=field(req, "rpcUrl", str), gateway_base_url=field(req, "gatewayUrl", str))


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


async def history(req: JsonObject) -> JsonObject:
    version = field(req, "version", str)
    cps = field(req, "chunksPerShard", int)
    arrays = field(req, "arrays", list)
    phases = field(req, "phases", list)
    prefix = "g/" if version == "v2" else ""
    roots: list[str] = []
    logs: list[list[list[str]]] = []
    async with kubo_cas(req) as cas:
        for i, ops in enumerate(phases):
            if i == 0 and version == "v1":
                first = arrays[0]
                store = await ShardedZarrStore.open(cas=cas, read_only=False, array_shape=tuple(first["shape"]),
                                                    chunk_shape=tuple(first["chunks"]), chunks_per_shard=cps)
            elif i == 0:
                store = await ShardedZarrStore.open(cas=cas, read_only=False, chunks_per_shard=cps)
            else:
                store = await ShardedZarrStore.open(cas=cas, read_only=False, root_cid=roots[-1])
            log: list[list[str]] = []
            log_calls(store, log)
            if i == 0:
                if version == "v2":
                    zarr.open_group(store, path="g", mode="w", zarr_format=3)
                for spec in arrays:
                    zarr.create_array(store, name=prefix + spec["name"], shape=tuple(spec["shape"]),
                                      chunks=tuple(spec["chunks"]), dtype=spec["dtype"], fill_value=fill_of(spec),
                                      compressors=None, zarr_format=3)
            for op in ops:
                array = zarr.open_array(store, path=prefix + field(op, "array", str), mode="r+", zarr_format=3)
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
            roots.append(str(await store.flush()))
            logs.append(log)
        reader = await ShardedZarrStore.open(cas=cas, read_only=True, root_cid=roots[-1])
        values = {spec["name"]: flat(zarr.open_array(reader, path=prefix + spec["name"], mode="r", zarr_format=3))
                  for spec in arrays}
    return {"roots": roots, "logs": logs, "values": values}


async def read(req: JsonObject) -> JsonObject:
    async with kubo_cas(req) as cas:
        store = await ShardedZarrStore.open(cas=cas, read_only=True, root_cid=field(req, "root", str))
        return {"values": {path: flat(zarr.open_array(store, path=path, mode="r", zarr_format=3))
                           for path in field(req, "paths", list)}}


if __name__ == "__main__":
    sys.exit(run_driver("attackw12_driver", {"history": history, "read": read}, sys.argv))
