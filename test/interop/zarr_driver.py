#!/usr/bin/env python3
"""JSON-over-stdio driver that writes and reads Zarr v3 datasets through the REAL
py-hamt 3.6.0 (ZarrHAMTStore / SimpleEncryptedZarrHAMTStore) with xarray, for
ts-hamt's Zarr interop tests.

Usage (with the interpreter from scripts/python-env.sh):

    python zarr_driver.py write < request.json > response.json
    python zarr_driver.py read  < request.json > response.json

One JSON object in on stdin, one JSON object out on stdout. On any error the
driver prints a message to stderr and exits non-zero (2 for bad usage or a bad
request, 1 when py-hamt, zarr or xarray fails; set ZARR_DRIVER_TRACE=1 for the
traceback).

Common request fields
    "store": "memory" | "kubo"
        memory: an InMemoryCAS; maps travel as {"root": hex, "blocks": {idHex: dataHex}}
                where an id is the blake3 multihash of its block (InMemoryCAS's ids).
        kubo:   a KuboCAS on "rpcUrl" and "gatewayUrl" (its defaults: blake3, CIDv1,
                raw values, dag-cbor nodes, no pinning); the map is its root CID string.
    "encryption": {"keyHex": 64 hex chars, "headerHex": hex}   (optional)
        Use SimpleEncryptedZarrHAMTStore(hamt, read_only, key, header): every value,
        metadata included, is stored as nonce(24) || tag(16) || ciphertext,
        XChaCha20-Poly1305 with the header as associated data. Keys stay plain.

write
    in:  {"store", "rpcUrl"?, "gatewayUrl"?, "encryption"?, "dataset": "climate",
          "consolidated"?: bool (default false)}
    out: {"root": hex | cid, "blocks"?: {idHex: dataHex} (memory only),
          "expected": {name: {"shape", "dtype", "chunks", "dims", "values", "attrs",
                              "zarrJson"}},
          "datasetAttrs": {...}, "keys": [every key in the HAMT, sorted]}

    Builds the deterministic "climate" dataset, writes it with
    ds.to_zarr(store, zarr_format=3, mode="w", consolidated=False) into a fresh HAMT
    (values_are_bytes=True, default bucket size) and calls make_read_only().
    "expected" covers data variables and coordinates: "values" is the flat C-order
    data with NaN as null, "attrs" the attributes as xarray shows them, "zarrJson"
    the array's zarr.json exactly as stored (decrypted), so "attributes" there also
    holds xarray's internal ones such as the base64 "_FillValue" of float arrays.
    With the default write_empty_chunks=False, zarr does not store a chunk that is
    all fill value; the fixture has no such chunk, so every chunk key is present.

read
    in:  {"store", "root", "blocks"? (memory), "rpcUrl"?, "gatewayUrl"?, "encryption"?,
          "verifyIds"?: bool (memory only, default true)}
    out: {"variables": {name: {"shape", "dtype", "chunks", "dims", "values", "attrs"}},
          "datasetAttrs": {...}}

    Opens the HAMT read-only at root and the dataset with
    xarray.open_zarr(store, zarr_format=3, consolidated=False, decode_times=False),
    loads it and reports every data variable AND coordinate as xarray decoded it
    (so "dtype" is the decoded dtype; NaN/±inf in values become null/"Infinity"/"-Infinity").
    With verifyIds every block id must be the blake3 multihash of its data.

xarray calls into the store synchronously and runs it on zarr's own event loop (a
background thread); the rest of each command runs in one asyncio.run. That is the
usage py-hamt documents, and KuboCAS keeps one HTTP client per event loop for it.
"""

from __future__ import annotations

# The shared command-line shape; this file's folder is on sys.path when run as a script.
from driver_io import JsonObject, RequestError, field, from_hex, run_driver

import json
import math
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from multiformats import CID, multihash
from py_hamt import HAMT, InMemoryCAS, KuboCAS, SimpleEncryptedZarrHAMTStore, ZarrHAMTStore
from zarr.codecs import ZstdCodec
from zarr.core.buffer import default_buffer_prototype

Cas = InMemoryCAS | KuboCAS


# ---------------------------------------------------------------- request parsing


@dataclass(frozen=True)
class Encryption:
    key: bytes
    header: bytes


def parse_encryption(req: JsonObject) -> Encryption | None:
    if "encryption" not in req:
        return None
    enc = field(req, "encryption", dict)
    key = from_hex(field(enc, "keyHex", str), "encryption.keyHex")
    if len(key) != 32:
        raise RequestError(f"encryption.keyHex must be 32 bytes, got {len(key)}")
    return Encryption(key=key, header=from_hex(field(enc, "headerHex", str), "encryption.headerHex"))


def store_kind(req: JsonObject) -> str:
    kind = field(req, "store", str)
    if kind not in ("memory", "kubo"):
        raise RequestError(f"store must be 'memory' or 'kubo', got {kind!r}")
    return kind


# ---------------------------------------------------------------- the "climate" dataset


def climate_dataset() -> tuple[xr.Dataset, dict[str, JsonObject]]:
    """The fixture and its per-variable to_zarr encoding.

    Values are exact in binary (multiples of 1/8, small ints) so every language
    prints and parses them identically; the few NaNs sit in different chunks.
    """
    ntime, nlat, nlon = 6, 16, 20
    n3 = ntime * nlat * nlon

    temp = (270 + np.arange(n3) * 0.5).astype(np.float32)
    temp[[0, 7, 421, n3 - 1]] = np.nan
    precip = (((np.arange(n3) * 37) % 101) / 8.0).astype(np.float64)
    precip[[5, 1000]] = np.nan
    mask = ((np.arange(nlat * nlon) * 7) % 256).astype(np.uint8)
    # Sign and both int32 extremes catch endianness and signedness mistakes.
    station_count = np.array([12, 15, -3, 2147483647, -2147483648, 0], dtype=np.int32)

    cube = ("time", "lat", "lon")
    ds = xr.Dataset(
        data_vars={
            "temp": (cube, temp.reshape(ntime, nlat, nlon),
                     {"units": "K", "long_name": "air temperature"}),
            "precip": (cube, precip.reshape(ntime, nlat, nlon),
                       {"units": "mm/day", "long_name": "precipitation rate"}),
            "mask": (("lat", "lon"), mask.reshape(nlat, nlon),
                     {"units": "1", "long_name": "land-sea mask"}),
            "station_count": (("time",), station_count,
                              {"units": "1", "long_name": "number of reporting stations"}),
        },
        coords={
            # Plain int64 with CF-looking attrs: xarray only CF-encodes datetime64
            # data, so these stay int64 on disk and decode_times=False keeps them so.
            "time": ("time", np.array([0, 31, 60, 91, 121, 152], dtype=np.int64),
                     {"units": "days since 2020-01-01", "calendar": "standard"}),
            "lat": ("lat", np.linspace(-37.5, 37.5, nlat, dtype=np.float32),
                    {"units": "degrees_north", "long_name": "latitude"}),
            "lon": ("lon", (np.arange(nlon) * 18).astype(np.float32),
                    {"units": "degrees_east", "long_name": "longitude"}),
        },
        attrs={"title": "ts-hamt interop climate fixture", "institution": "ts-hamt"},
    )
    zstd = [ZstdCodec(level=3, checksum=False)]
    # Every variable's compressors is explicit: zarr 3 would otherwise zstd everything.
    encoding: dict[str, JsonObject] = {
        "temp": {"chunks": (2, 8, 10), "compressors": zstd},
        "precip": {"chunks": (3, 16, 20), "compressors": zstd},
        "mask": {"chunks": (nlat, nlon), "compressors": None},
        "station_count": {"chunks": (ntime,), "compressors": None},
        "time": {"chunks": (ntime,), "compressors": None, "dtype": "int64"},
        "lat": {"chunks": (nlat,), "compressors": None},
        "lon": {"chunks": (nlon,), "compressors": None},
    }
    return ds, encoding


DATASETS: dict[str, Callable[[], tuple[xr.Dataset, dict[str, JsonObject]]]] = {
    "climate": climate_dataset,
}


# ---------------------------------------------------------------- JSON conversion


def json_number(x: Any) -> Any:
    """A numpy/Python scalar as JSON: NaN -> null, ±inf -> "Infinity"/"-Infinity"."""
    value = x.item() if isinstance(x, np.generic) else x
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
    return value


def to_json(value: Any) -> Any:
    """Attribute values (numpy scalars/arrays, bytes, nested containers) as JSON."""
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_json(v) for v in value.tolist()]
    if isinstance(value, bytes):
        return value.hex()
    return json_number(value)


def describe(var: xr.Variable) -> JsonObject:
    """Shape, dtype, chunking, dims, flat C-order values and attrs of one variable."""
    chunks = var.encoding.get("chunks")
    return {
        "shape": list(var.shape),
        "dtype": str(var.dtype),
        "chunks": list(chunks) if chunks is not None else None,
        "dims": list(var.dims),
        "values": [json_number(v) for v in np.asarray(var.values).ravel(order="C")],
        "attrs": to_json(dict(var.attrs)),
    }


# ---------------------------------------------------------------- stores


def load_blocks(blocks: JsonObject, verify_ids: bool) -> InMemoryCAS:
    cas = InMemoryCAS()
    for id_hex, data_hex in blocks.items():
        block_id = from_hex(id_hex, "block id")
        data = from_hex(data_hex, f"block {id_hex}")
        # InMemoryCAS never checks ids itself, so a mislabelled block from a
        # writer under test would otherwise go unnoticed.
        if verify_ids and multihash.digest(data, "blake3", size=32) != block_id:
            raise RequestError(f"block {id_hex} is not the blake3 multihash of its data")
        cas.store[block_id] = data
    return cas


@asynccontextmanager
async def open_cas(req: JsonObject, kind: str, blocks: JsonObject | None) -> AsyncIterator[Cas]:
    """The CAS the request names; a KuboCAS is closed (its HTTP clients) on exit."""
    if kind == "memory":
        yield load_blocks(blocks, field(req, "verifyIds", bool, default=True)) if blocks else InMemoryCAS()
        return
    async with KuboCAS(
        rpc_base_url=field(req, "rpcUrl", str), gateway_base_url=field(req, "gatewayUrl", str)
    ) as cas:
        yield cas


def zarr_store(hamt: HAMT, read_only: bool, enc: Encryption | None) -> ZarrHAMTStore:
    if enc is None:
        return ZarrHAMTStore(hamt, read_only=read_only)
    return SimpleEncryptedZarrHAMTStore(hamt, read_only, enc.key, enc.header)


def parse_root(req: JsonObject, kind: str) -> bytes | CID:
    text = field(req, "root", str)
    if kind == "memory":
        return from_hex(text, "root")
    try:
        return CID.decode(text)
    except Exception as exc:  # multiformats raises several error types
        raise RequestError(f"root is not a CID: {text!r} ({exc})") from exc


def root_json(node_id: Any) -> str:
    # InMemoryCAS ids are raw multihash bytes, KuboCAS ids are CIDs; anything else
    # means py-hamt changed under us.
    if isinstance(node_id, (bytes, bytearray)):
        return bytes(node_id).hex()
    if isinstance(node_id, CID):
        return str(node_id)
    raise TypeError(f"unexpected root id type {type(node_id)}")


# ---------------------------------------------------------------- commands


async def stored_json(store: ZarrHAMTStore, key: str) -> JsonObject:
    """A metadata document as the store hands it to zarr (so decrypted)."""
    buf = await store.get(key, prototype=default_buffer_prototype())
    if buf is None:
        raise KeyError(f"{key} was not written")
    doc: JsonObject = json.loads(buf.to_bytes())
    return doc


async def write(req: JsonObject) -> JsonObject:
    kind = store_kind(req)
    enc = parse_encryption(req)
    name = field(req, "dataset", str)
    if name not in DATASETS:
        raise RequestError(f"unknown dataset {name!r} (known: {', '.join(DATASETS)})")
    consolidated = field(req, "consolidated", bool, default=False)
    ds, encoding = DATASETS[name]()

    async with open_cas(req, kind, None) as cas:
        hamt = await HAMT.build(cas=cas, values_are_bytes=True)
        store = zarr_store(hamt, False, enc)
        # Blocks this coroutine's loop while zarr drives the store on its own loop.
        ds.to_zarr(store, zarr_format=3, mode="w", consolidated=consolidated, encoding=encoding)
        # The root id only covers everything once the write buffer is flushed.
        await hamt.make_read_only()

        keys = sorted([key async for key in hamt.keys()])
        expected: JsonObject = {}
        for var_name, var in ds.variables.items():
            entry = describe(var)
            entry["chunks"] = list(encoding[str(var_name)]["chunks"])
            entry["zarrJson"] = await stored_json(store, f"{var_name}/zarr.json")
            expected[str(var_name)] = entry

        out: JsonObject = {"root": root_json(hamt.root_node_id)}
        if isinstance(cas, InMemoryCAS):
            # Sorted: zarr writes chunks concurrently, so insertion order varies run to run.
            out["blocks"] = {bid.hex(): cas.store[bid].hex() for bid in sorted(cas.store)}
        out.update(expected=expected, datasetAttrs=to_json(dict(ds.attrs)), keys=keys)
        return out


async def read(req: JsonObject) -> JsonObject:
    kind = store_kind(req)
    enc = parse_encryption(req)
    root = parse_root(req, kind)
    blocks = field(req, "blocks", dict) if kind == "memory" else None

    async with open_cas(req, kind, blocks) as cas:
        hamt = await HAMT.build(cas=cas, root_node_id=root, read_only=True, values_are_bytes=True)
        store = zarr_store(hamt, True, enc)
        ds = xr.open_zarr(store, zarr_format=3, consolidated=False, decode_times=False)
        # Load while the CAS is still open: open_zarr is lazy.
        ds.load()
        return {
            "variables": {str(n): describe(v) for n, v in ds.variables.items()},
            "datasetAttrs": to_json(dict(ds.attrs)),
        }


COMMANDS: dict[str, Callable[[JsonObject], Coroutine[Any, Any, JsonObject]]] = {
    "write": write,
    "read": read,
}


# ---------------------------------------------------------------- entry point


if __name__ == "__main__":
    sys.exit(run_driver("zarr_driver", COMMANDS, sys.argv))
