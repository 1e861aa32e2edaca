#!/usr/bin/env python3
"""JSON-over-stdio driver for ts-hamt's sharded Zarr interop tests: writes, reads and converts
datasets with the REAL py-hamt 3.6.0 ShardedZarrStore (on a KuboCAS) and xarray.

    python sharded_driver.py write   < request.json > response.json
    python sharded_driver.py read    < request.json > response.json
    python sharded_driver.py convert < request.json > response.json

Every request has "rpcUrl" and "gatewayUrl" of a Kubo daemon: py-hamt's sharded store needs a CAS
that returns CIDs (InMemoryCAS returns bare multihashes, and ShardedZarrStore.set refuses them).

write    in:  {"scenario": "single"|"multi"|"forecast"|"append"|"scalar", "version": "v1"|"v2",
               "chunksPerShard": int, "zarrFormat"?: 2|3 (default 3)}
         out: {"roots": [root CID after each phase], "logs": [[[op, key, hex], ...] per phase],
               "group": "0" | null, "expected": {name: describe(var)}}
         v1 opens the store from the primary array's shape (py-hamt 3.6.0's default for a shape);
         v2 from chunks_per_shard alone, the dataset written under group "0" (v2 requires a group).
         "append" writes 4 time steps, flushes, reopens the root writable and appends 2 more.
         The logs are every store call (set/delete/delete_dir/clear) in the order they reached
         the store, so a peer can replay them and must reach the same root CIDs.
read     in:  {"root", "group"?: str}
         out: {"version", "variables": {name: describe(var)}, "metadataKeys": [...]}
convert  in:  {"hamtRoot", "chunksPerShard"}   out: {"root"}  (py_hamt.convert_hamt_to_sharded)
ops      in:  {"root"} or {"create": {"arrayShape", "chunkShape", "chunksPerShard"}} (a new v1 store),
               "ops": [{"op": "resize", "shape", "arrayPath"?} | {"op": "resizeVariable", "name", "shape"} |
                       {"op": "graft", "root", "offset", "sourceArrayPath"?, "targetArrayPath"?} |
                       {"op": "migrate", "path"}]
         out: {"root"}: the root after the operations, in order, and a flush.
replay   in:  {"create": {"arrayShape", "chunkShape", "chunksPerShard"}} (a new v1 store),
               {"root"} (an existing store) or {"chunksPerShard"} (a new v2 store), "calls": [[op, key, hex], ...] with op "set",
               "delete" or "flush" (key and hex empty)
         out: {"roots": [root CID after each "flush" call]}: store calls replayed as zarr makes them.
route    in:  {"setup": {"arrayShape"?, "chunkShape"?, "chunksPerShard", "metadata": {key: json text}},
               "keys": [str]}  (no Kubo: an in-memory CAS that returns CIDs)
         out: {"routes": {key: "metadata" | "chunk" | "lost" | "error: <class>"}}: where py-hamt puts a
         `set` of each key on a fresh store made as `setup` says (v1 with a shape, else v2, then
         `metadata` set in order); "lost" when the set succeeds and a get finds nothing.
history  in:  {"create": {"arrayShape", "chunkShape", "chunksPerShard"}} (a new v1 store), "calls": [[op, key, hex], ...]
               with op "set", "delete", "get", "flush", "reopen" (flush, then open the root writable) or "peek"
               (flush, then get the key from the root opened read-only)  (no Kubo: in-memory CAS returning CIDs)
         out: {"answers": [the root of each flush, reopen and peek; the hex or null of each get and peek;
               "error" for each refused set, delete or read; the root of a last flush]}
get      in:  {"root", "mode": "full"|"sparse"|"auto", "keys": [str]}
         out: {"values": {key: hex | null}}: store.get of each key, in order, on one read-only store
         opened with that shard_read_mode.
modes    in:  {"mode", "chunks": int, "chunksPerShard": int, "reads": [chunk index]}  (no Kubo)
         out: {"shardLoads": [loads of each shard], "latched": bool}: a 1-d array of `chunks` one-byte
         chunks written to an in-memory CAS that counts loads, reopened read-only with that
         shard_read_mode; the reads (chunk keys a/c/<index>, array "a") run one after another.
json     in:  {"texts": [str], "indent"?: int}   out: {"dumps": [json.dumps(json.loads(text), indent=indent)]}
         (py-hamt rewrites metadata this way; no Kubo needed)
"""

from __future__ import annotations

from driver_io import JsonObject, RequestError, field, from_hex, run_driver

import contextlib
import io
import json
import sys
import warnings
from typing import Any

import dag_cbor
import numpy as np
import xarray as xr
from multiformats import CID, multihash
from py_hamt import KuboCAS, ShardedZarrStore, convert_hamt_to_sharded
from py_hamt.store_httpx import ContentAddressedStore
from zarr.core.buffer import default_buffer_prototype
from zarr_driver import climate_dataset, describe

warnings.simplefilter("ignore")


def scenario_dataset(name: str) -> tuple[xr.Dataset, dict[str, JsonObject], str]:
    """The dataset of a scenario, its to_zarr encoding and its primary (sharded in v1) variable."""
    ds, encoding = climate_dataset()
    if name in ("single", "append"):
        keep = ["temp"]
        ds = ds[keep]
        encoding = {k: v for k, v in encoding.items() if k in ("temp", "time", "lat", "lon")}
        return ds, encoding, "temp"
    if name == "multi":
        return ds, encoding, "temp"
    if name == "forecast":
        nref, nstep, nlat, nlon = 3, 4, 5, 6
        values = (np.arange(nref * nstep * nlat * nlon) * 0.25 - 40).astype(np.float32)
        values[[3, 77]] = np.nan
        fds = xr.Dataset(
            {"t2m": (("forecast_reference_time", "step", "lat", "lon"),
                     values.reshape(nref, nstep, nlat, nlon), {"units": "K"})},
            coords={
                "forecast_reference_time": ("forecast_reference_time", np.array([0, 6, 12], dtype=np.int64),
                                            {"units": "hours since 2024-01-01"}),
                "step": ("step", np.arange(nstep, dtype=np.int64) * 3, {"units": "hours"}),
                "lat": ("lat", np.linspace(10, 14, nlat, dtype=np.float32)),
                "lon": ("lon", np.linspace(20, 25, nlon, dtype=np.float32)),
            },
        )
        fenc: dict[str, JsonObject] = {
            "t2m": {"chunks": (1, 2, 5, 3), "compressors": None},
            "forecast_reference_time": {"chunks": (nref,), "compressors": None},
            "step": {"chunks": (nstep,), "compressors": None},
            "lat": {"chunks": (nlat,), "compressors": None},
            "lon": {"chunks": (nlon,), "compressors": None},
        }
        return fds, fenc, "t2m"
    if name == "scalar":
        # A 0-d array: its one chunk key `s/c` has no coordinates (py-hamt keeps it in the metadata map).
        sds = xr.Dataset(
            {"s": xr.DataArray(np.float32(3.5), attrs={"units": "K"}),
             "v": ("x", np.arange(5, dtype=np.float32))},
        )
        senc: dict[str, JsonObject] = {"s": {"chunks": (), "compressors": None},
                                       "v": {"chunks": (5,), "compressors": None}}
        return sds, senc, "s"
    raise RequestError(f"unknown scenario {name!r}")


def log_calls(store: ShardedZarrStore, log: list[list[str]]) -> None:
    """Records every mutating call as it reaches the store (the store's write lock is FIFO)."""
    for op in ("set", "delete", "delete_dir", "clear"):
        original = getattr(store, op)

        def wrapper(*args: Any, _op: str = op, _original: Any = original) -> Any:
            key = args[0] if args and isinstance(args[0], str) else ""
            data = args[1].to_bytes().hex() if _op == "set" else ""
            log.append([_op, key, data])
            return _original(*args)

        setattr(store, op, wrapper)


def kubo_cas(req: JsonObject) -> KuboCAS:
    return KuboCAS(rpc_base_url=field(req, "rpcUrl", str), gateway_base_url=field(req, "gatewayUrl", str))


async def writable_store(cas: KuboCAS, req: JsonObject, new_v2: bool = False) -> ShardedZarrStore:
    """A new v1 store of `create`'s geometry, else the store at `root`; with new_v2 and neither, a new v2 store."""
    if "create" in req:
        spec = field(req, "create", dict)
        return await ShardedZarrStore.open(
            cas=cas, read_only=False,
            array_shape=tuple(field(spec, "arrayShape", list)),
            chunk_shape=tuple(field(spec, "chunkShape", list)),
            chunks_per_shard=field(spec, "chunksPerShard", int),
        )
    if new_v2 and "root" not in req:
        return await ShardedZarrStore.open(cas=cas, read_only=False, chunks_per_shard=field(req, "chunksPerShard", int))
    return await ShardedZarrStore.open(cas=cas, read_only=False, root_cid=field(req, "root", str))


async def write(req: JsonObject) -> JsonObject:
    scenario = field(req, "scenario", str)
    version = field(req, "version", str)
    if version not in ("v1", "v2"):
        raise RequestError(f"version must be 'v1' or 'v2', got {version!r}")
    cps = field(req, "chunksPerShard", int)
    zarr_format = field(req, "zarrFormat", int, default=3)
    ds, encoding, primary = scenario_dataset(scenario)
    if zarr_format == 2:
        # Zarr v2 metadata has no v3 codec lists: plain chunks, uncompressed.
        encoding = {name: {"chunks": enc["chunks"], "compressors": None} for name, enc in encoding.items()}
    group = "0" if version == "v2" else None
    phases = [ds.isel(time=slice(0, 4)), ds.isel(time=slice(4, None))] if scenario == "append" else [ds]

    roots: list[str] = []
    logs: list[list[list[str]]] = []
    async with kubo_cas(req) as cas:
        for i, part in enumerate(phases):
            if i == 0 and version == "v1":
                var = part[primary]
                shape = tuple(var.shape)
                chunks = tuple(encoding[primary]["chunks"])
                store = await ShardedZarrStore.open(
                    cas=cas, read_only=False, array_shape=shape, chunk_shape=chunks, chunks_per_shard=cps
                )
            elif i == 0:
                store = await ShardedZarrStore.open(cas=cas, read_only=False, chunks_per_shard=cps)
            else:
                store = await ShardedZarrStore.open(cas=cas, read_only=False, root_cid=roots[-1])
            log: list[list[str]] = []
            log_calls(store, log)
            if i == 0:
                part.to_zarr(store, mode="w", zarr_format=zarr_format, consolidated=False, encoding=encoding, group=group)
            else:
                part.to_zarr(store, append_dim="time", zarr_format=zarr_format, consolidated=False, group=group)
            roots.append(str(await store.flush()))
            logs.append(log)
    expected = {str(n): describe(v) for n, v in ds.variables.items()}
    return {"roots": roots, "logs": logs, "group": group, "expected": expected}


async def read(req: JsonObject) -> JsonObject:
    root = field(req, "root", str)
    group = req.get("group")
    async with kubo_cas(req) as cas:
        store = await ShardedZarrStore.open(cas=cas, read_only=True, root_cid=root)
        ds = xr.open_zarr(store, zarr_format=3, consolidated=False, decode_times=False, group=group)
        ds.load()
        root_obj = dag_cbor.decode(await cas.load(CID.decode(root)))
        return {
            "version": root_obj["manifest_version"],
            "variables": {str(n): describe(v) for n, v in ds.variables.items()},
            "metadataKeys": sorted(root_obj["metadata"]),
        }


async def convert(req: JsonObject) -> JsonObject:
    async with kubo_cas(req) as cas:
        # The converter prints progress to stdout, which carries this driver's JSON answer.
        with contextlib.redirect_stdout(io.StringIO()):
            root = await convert_hamt_to_sharded(cas, field(req, "hamtRoot", str), field(req, "chunksPerShard", int))
        return {"root": str(root)}


async def ops(req: JsonObject) -> JsonObject:
    operations = field(req, "ops", list)
    async with kubo_cas(req) as cas:
        store = await writable_store(cas, req)
        for op in operations:
            kind = field(op, "op", str)
            if kind == "resize":
                await store.resize_store(tuple(field(op, "shape", list)), array_path=op.get("arrayPath"))
            elif kind == "resizeVariable":
                await store.resize_variable(field(op, "name", str), tuple(field(op, "shape", list)))
            elif kind == "graft":
                await store.graft_store(
                    field(op, "root", str), tuple(field(op, "offset", list)),
                    source_array_path=op.get("sourceArrayPath"), target_array_path=op.get("targetArrayPath"),
                )
            elif kind == "migrate":
                await store.migrate_v1_to_v2(field(op, "path", str))
            else:
                raise RequestError(f"unknown op {kind!r}")
        return {"root": str(await store.flush())}


async def replay(req: JsonObject) -> JsonObject:
    calls = field(req, "calls", list)
    async with kubo_cas(req) as cas:
        store = await writable_store(cas, req, new_v2=True)
        roots: list[str] = []
        for call in calls:
            if not isinstance(call, list) or len(call) != 3:
                raise RequestError(f"a call must be [op, key, hex], got {call!r}")
            op, key, data = call
            if op == "set":
                await store.set(key, default_buffer_prototype().buffer.from_bytes(from_hex(data, key)))
            elif op == "delete":
                await store.delete(key)
            elif op == "flush":
                roots.append(str(await store.flush()))
            else:
                raise RequestError(f"unknown call {op!r}")
        return {"roots": roots}


class CidMemoryCAS(ContentAddressedStore):
    """In memory, returning CIDs as KuboCAS does (InMemoryCAS returns bare multihashes)."""

    def __init__(self) -> None:
        self.blocks: dict[bytes, bytes] = {}

    async def save(self, data: bytes, codec: Any) -> CID:
        digest = multihash.digest(data, "blake3", size=32)
        self.blocks[bytes(digest)] = bytes(data)
        return CID("base32", 1, codec, digest)

    async def load(self, id: Any, offset: int | None = None, length: int | None = None,
                   suffix: int | None = None) -> bytes:
        data = self.blocks[bytes(CID.decode(id).digest if not isinstance(id, CID) else id.digest)]
        if suffix is not None:
            return data[len(data) - suffix:] if suffix else b""
        start = offset or 0
        return data[start:] if length is None else data[start:start + length]


async def route(req: JsonObject) -> JsonObject:
    setup = field(req, "setup", dict)
    buffer = default_buffer_prototype().buffer.from_bytes
    routes: dict[str, str] = {}
    for key in field(req, "keys", list):
        cas = CidMemoryCAS()
        if "arrayShape" in setup:
            store = await ShardedZarrStore.open(
                cas=cas, read_only=False, array_shape=tuple(setup["arrayShape"]),
                chunk_shape=tuple(setup["chunkShape"]), chunks_per_shard=field(setup, "chunksPerShard", int))
        else:
            store = await ShardedZarrStore.open(cas=cas, read_only=False,
                                                chunks_per_shard=field(setup, "chunksPerShard", int))
        for meta_key, text in field(setup, "metadata", dict, default={}).items():
            await store.set(meta_key, buffer(text.encode()))
        try:
            await store.set(key, buffer(b"{}"))
        except Exception as error:  # noqa: BLE001 - the class is the answer
            routes[key] = f"error: {type(error).__name__}"
            continue
        if key in store._root_obj.get("metadata", {}):
            routes[key] = "metadata"
        else:
            found = await store.get(key, default_buffer_prototype())
            routes[key] = "chunk" if found is not None else "lost"
    return {"routes": routes}


async def history(req: JsonObject) -> JsonObject:
    spec = field(req, "create", dict)
    cas = CidMemoryCAS()
    buffer = default_buffer_prototype().buffer.from_bytes
    store = await ShardedZarrStore.open(
        cas=cas, read_only=False, array_shape=tuple(field(spec, "arrayShape", list)),
        chunk_shape=tuple(field(spec, "chunkShape", list)), chunks_per_shard=field(spec, "chunksPerShard", int))
    answers: list[str | None] = []
    for call in field(req, "calls", list):
        if not isinstance(call, list) or len(call) != 3:
            raise RequestError(f"a call must be [op, key, hex], got {call!r}")
        op, key, data = call
        if op in ("set", "delete"):
            try:
                if op == "set":
                    await store.set(key, buffer(from_hex(data, key)))
                else:
                    await store.delete(key)
            except Exception:  # noqa: BLE001 - the refusal is the answer (checked before any change)
                answers.append("error")
        elif op in ("get", "peek"):
            reader = store
            if op == "peek":
                root = str(await store.flush())
                answers.append(root)
                reader = await ShardedZarrStore.open(cas=cas, read_only=True, root_cid=root)
            try:
                found = await reader.get(key, default_buffer_prototype())
            except Exception:  # noqa: BLE001 - as above
                answers.append("error")
                continue
            answers.append(None if found is None else found.to_bytes().hex())
        elif op in ("flush", "reopen"):
            root = str(await store.flush())
            answers.append(root)
            if op == "reopen":
                store = await ShardedZarrStore.open(cas=cas, read_only=False, root_cid=root)
        else:
            raise RequestError(f"unknown call {op!r}")
    answers.append(str(await store.flush()))
    return {"answers": answers}


async def get(req: JsonObject) -> JsonObject:
    mode = field(req, "mode", str)
    values: dict[str, str | None] = {}
    async with kubo_cas(req) as cas:
        store = await ShardedZarrStore.open(cas=cas, read_only=True, root_cid=field(req, "root", str),
                                            shard_read_mode=mode)
        for key in field(req, "keys", list):
            found = await store.get(key, default_buffer_prototype())
            values[key] = None if found is None else found.to_bytes().hex()
    return {"values": values}


class CountingCAS(CidMemoryCAS):
    def __init__(self) -> None:
        super().__init__()
        self.loads: dict[str, int] = {}

    async def load(self, id: Any, offset: int | None = None, length: int | None = None,
                   suffix: int | None = None) -> bytes:
        self.loads[str(id)] = self.loads.get(str(id), 0) + 1
        return await super().load(id, offset, length, suffix)


async def modes(req: JsonObject) -> JsonObject:
    chunks = field(req, "chunks", int)
    per_shard = field(req, "chunksPerShard", int)
    cas = CountingCAS()
    buffer = default_buffer_prototype().buffer.from_bytes
    writer = await ShardedZarrStore.open(cas=cas, read_only=False, array_shape=(chunks,), chunk_shape=(1,),
                                         chunks_per_shard=per_shard, primary_array_path="a")
    for index in range(chunks):
        await writer.set(f"a/c/{index}", buffer(bytes([index % 256])))
    root = await writer.flush()
    reader = await ShardedZarrStore.open(cas=cas, read_only=True, root_cid=str(root),
                                         shard_read_mode=field(req, "mode", str))
    shard_cids = [str(cid) for cid in reader.array_indices[""].shard_cids]
    cas.loads.clear()
    for index in field(req, "reads", list):
        found = await reader.get(f"a/c/{index}", default_buffer_prototype())
        if found is None or found.to_bytes() != bytes([index % 256]):
            raise RequestError(f"a/c/{index} read back wrong")
    return {"shardLoads": [cas.loads.get(cid, 0) for cid in shard_cids], "latched": reader._full_mode_latched}


async def json_roundtrip(req: JsonObject) -> JsonObject:
    indent = req.get("indent")
    return {"dumps": [json.dumps(json.loads(text), indent=indent) for text in field(req, "texts", list)]}


if __name__ == "__main__":
    sys.exit(run_driver("sharded_driver", {"write": write, "read": read, "convert": convert, "ops": ops, "replay": replay, "history": history, "route": route, "json": json_roundtrip, "get": get, "modes": modes}, sys.argv))
