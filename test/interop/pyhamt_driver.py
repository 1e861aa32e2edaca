#!/usr/bin/env python3
"""JSON-over-stdio driver around the REAL py-hamt 3.6.0, for ts-hamt's interop tests.

Usage (with the interpreter from scripts/python-env.sh):

    python pyhamt_driver.py build < request.json > response.json
    python pyhamt_driver.py read  < request.json > response.json
    python pyhamt_driver.py kubo-build < request.json > response.json
    python pyhamt_driver.py kubo-read  < request.json > response.json
    python pyhamt_driver.py cbor-roundtrip < request.json > response.json

One JSON object in on stdin, one JSON object out on stdout. On any error the
driver prints a message to stderr and exits non-zero (2 for bad usage or a bad
request, 1 when py-hamt itself fails; set PYHAMT_DRIVER_TRACE=1 for its traceback).

build
    in:  {"maxBucketSize": int, "valuesAreBytes": bool,
          "ops": [["set", key, valueHex] | ["delete", key] | ["reopen"], ...]}
    out: {"root": hex, "blocks": {idHex: dataHex, ...}, "missingDeletes": [key, ...],
          "checkpoints": [hex, ...]}

    valueHex is the hex of the value's bytes. With valuesAreBytes those bytes are
    stored as they are; otherwise they are the DAG-CBOR encoding of the value,
    which is decoded and handed to py-hamt as a Python object, so py-hamt
    re-encodes it itself (a canonical round trip). "blocks" is every block in
    the InMemoryCAS store after make_read_only(): the reachable HAMT nodes plus
    every value block ever written (values of deleted/overwritten keys stay).
    Deleting a missing key is not an error: the key is listed in missingDeletes.
    ["reopen"] flushes (make_read_only), notes the root in checkpoints and goes on
    with a new writable HAMT opened at that root, as a later session would.

read
    in:  {"root": hex, "blocks": {idHex: dataHex}, "valuesAreBytes": bool,
          "verifyIds": bool (optional, default true)}
    out: {"size": n, "entries": {key: valueHex, ...}}

    Opens the HAMT read-only at root over an InMemoryCAS holding the blocks,
    iterates all keys and gets every value. valueHex is the raw value bytes
    (valuesAreBytes) or dag_cbor.encode(value). "size" counts the keys that
    iteration yielded, so a malformed map that yields a key twice shows up as
    size != len(entries). With verifyIds every block id must be the blake3
    multihash of its data (what InMemoryCAS would have produced), which catches
    a writer that mislabels blocks: InMemoryCAS itself never checks.

kubo-build
    in:  {"rpcUrl": str, "gatewayUrl": str, "maxBucketSize": int,
          "valuesAreBytes": bool, "ops": [...as in build...]}
    out: {"root": cidString, "missingDeletes": [key, ...], "checkpoints": [cidString, ...]}

    As build, but over KuboCAS(rpc_base_url=rpcUrl, gateway_base_url=gatewayUrl)
    with its defaults (blake3, CIDv1, raw values, dag-cbor nodes, no pinning),
    so the blocks land in that Kubo daemon. "root" is the root CID as a string
    (base32 "b..."), the form ts-hamt's KuboStore hands out.

kubo-read
    in:  {"rpcUrl": str, "gatewayUrl": str, "root": cidString, "valuesAreBytes": bool}
    out: {"size": n, "entries": {key: valueHex, ...}}

    As read, but opens the HAMT read-only at the root CID over KuboCAS, so every
    block is fetched from the daemon's gateway.

cbor-roundtrip
    in:  {"items": [hex, ...]}
    out: {"items": [{"ok": hex} | {"error": message}, ...]}

    Decodes each item with dag_cbor (as py-hamt does for values and nodes) and
    encodes the result again, or reports why it could not be decoded; so a test
    can compare another decoder's reading of the same bytes with Python's.

Every command runs in a single asyncio.run, so large histories (10k+ ops) cost
one event loop, not one per operation.
"""

from __future__ import annotations

# The shared command-line shape; this file's folder is on sys.path when run as a script.
from driver_io import JsonObject, RequestError, field, from_hex, run_driver

import json
import sys
from collections.abc import Callable, Coroutine
from typing import Any

import dag_cbor
from multiformats import CID, multihash
from py_hamt import HAMT, InMemoryCAS, KuboCAS



# ---------------------------------------------------------------- request parsing


def decode_value(raw: bytes, values_are_bytes: bool, key: str) -> Any:
    """Turn the request's value bytes into what hamt.set expects."""
    if values_are_bytes:
        return raw
    try:
        return dag_cbor.decode(raw)
    except Exception as exc:  # dag_cbor raises several error types
        raise RequestError(f"value for key {key!r} is not valid DAG-CBOR: {exc}") from exc


def encode_value(value: Any, values_are_bytes: bool) -> str:
    """Hex of a value read back from py-hamt, in the same form the requests use."""
    return (value if values_are_bytes else dag_cbor.encode(value)).hex()


# ---------------------------------------------------------------- commands


async def apply_op(hamt: HAMT, op: Any, values_are_bytes: bool, missing: list[str]) -> None:
    if not isinstance(op, list) or not op or not isinstance(op[0], str):
        raise RequestError(f"bad op {op!r}")
    name, args = op[0], op[1:]
    if name == "set" and len(args) == 2 and isinstance(args[0], str):
        key = args[0]
        value = decode_value(from_hex(args[1], f"value of {key!r}"), values_are_bytes, key)
        await hamt.set(key, value)
    elif name == "delete" and len(args) == 1 and isinstance(args[0], str):
        try:
            await hamt.delete(args[0])
        except KeyError:
            # py-hamt raises a bare KeyError for a missing key and leaves the tree
            # unchanged (its delete is failure-atomic), so carry on and report it.
            missing.append(args[0])
    else:
        raise RequestError(f"bad op {op!r}")


async def run_ops(
    cas: InMemoryCAS | KuboCAS, max_bucket_size: int, values_are_bytes: bool, ops: list[Any]
) -> tuple[HAMT, list[str], list[Any]]:
    """Apply ops to a new HAMT on cas and flush it; return it, the missing deletes and the
    root at each ["reopen"]."""
    hamt = await HAMT.build(
        cas=cas, max_bucket_size=max_bucket_size, values_are_bytes=values_are_bytes
    )
    missing: list[str] = []
    checkpoints: list[Any] = []
    for op in ops:
        if op == ["reopen"]:
            await hamt.make_read_only()
            checkpoints.append(hamt.root_node_id)
            hamt = HAMT(
                cas=cas,
                root_node_id=hamt.root_node_id,
                max_bucket_size=max_bucket_size,
                values_are_bytes=values_are_bytes,
            )
        else:
            await apply_op(hamt, op, values_are_bytes, missing)
    # The root id is only valid once the write buffer has been flushed.
    await hamt.make_read_only()
    return hamt, missing, checkpoints


async def read_all(hamt: HAMT, values_are_bytes: bool) -> JsonObject:
    size = 0
    entries: dict[str, str] = {}
    async for key in hamt.keys():
        size += 1
        entries[key] = encode_value(await hamt.get(key), values_are_bytes)
    return {"size": size, "entries": entries}


async def build(req: JsonObject) -> JsonObject:
    max_bucket_size = field(req, "maxBucketSize", int)
    values_are_bytes = field(req, "valuesAreBytes", bool)
    ops = field(req, "ops", list)

    cas = InMemoryCAS()
    hamt, missing, checkpoints = await run_ops(cas, max_bucket_size, values_are_bytes, ops)
    return {
        "root": as_bytes(hamt.root_node_id).hex(),
        "blocks": {bid.hex(): data.hex() for bid, data in cas.store.items()},
        "missingDeletes": missing,
        "checkpoints": [as_bytes(root).hex() for root in checkpoints],
    }


def load_blocks(blocks: JsonObject, verify_ids: bool) -> InMemoryCAS:
    cas = InMemoryCAS()
    for id_hex, data_hex in blocks.items():
        block_id = from_hex(id_hex, "block id")
        data = from_hex(data_hex, f"block {id_hex}")
        if verify_ids:
            expected = multihash.digest(data, "blake3", size=32)
            if expected != block_id:
                raise RequestError(
                    f"block {id_hex} is not the blake3 multihash of its data "
                    f"(expected {expected.hex()})"
                )
        cas.store[block_id] = data
    return cas


async def read(req: JsonObject) -> JsonObject:
    root = from_hex(field(req, "root", str), "root")
    values_are_bytes = field(req, "valuesAreBytes", bool)
    verify_ids = field(req, "verifyIds", bool, default=True)
    cas = load_blocks(field(req, "blocks", dict), verify_ids)

    hamt = HAMT(cas=cas, root_node_id=root, read_only=True, values_are_bytes=values_are_bytes)
    return await read_all(hamt, values_are_bytes)


def kubo_cas(req: JsonObject) -> KuboCAS:
    return KuboCAS(
        rpc_base_url=field(req, "rpcUrl", str), gateway_base_url=field(req, "gatewayUrl", str)
    )


async def kubo_build(req: JsonObject) -> JsonObject:
    max_bucket_size = field(req, "maxBucketSize", int)
    values_are_bytes = field(req, "valuesAreBytes", bool)
    ops = field(req, "ops", list)

    async with kubo_cas(req) as cas:
        hamt, missing, checkpoints = await run_ops(cas, max_bucket_size, values_are_bytes, ops)
        return {
            "root": str(as_cid(hamt.root_node_id)),
            "missingDeletes": missing,
            "checkpoints": [str(as_cid(root)) for root in checkpoints],
        }


async def kubo_read(req: JsonObject) -> JsonObject:
    root_text = field(req, "root", str)
    values_are_bytes = field(req, "valuesAreBytes", bool)
    try:
        root = CID.decode(root_text)
    except Exception as exc:  # multiformats raises several error types
        raise RequestError(f"root is not a CID: {root_text!r} ({exc})") from exc

    async with kubo_cas(req) as cas:
        hamt = HAMT(cas=cas, root_node_id=root, read_only=True, values_are_bytes=values_are_bytes)
        return await read_all(hamt, values_are_bytes)


async def cbor_roundtrip(req: JsonObject) -> JsonObject:
    results: list[JsonObject] = []
    for i, item in enumerate(field(req, "items", list)):
        data = from_hex(item, f"item {i}")
        try:
            results.append({"ok": dag_cbor.encode(dag_cbor.decode(data)).hex()})
        except Exception as exc:  # dag_cbor raises several error types
            results.append({"error": f"{type(exc).__name__}: {exc}"})
    return {"items": results}


def as_bytes(node_id: Any) -> bytes:
    # InMemoryCAS ids are raw multihash bytes; anything else means py-hamt changed.
    if not isinstance(node_id, (bytes, bytearray)):
        raise TypeError(f"expected a bytes root id from InMemoryCAS, got {type(node_id)}")
    return bytes(node_id)


def as_cid(node_id: Any) -> CID:
    # KuboCAS ids are CIDs; anything else means py-hamt changed.
    if not isinstance(node_id, CID):
        raise TypeError(f"expected a CID root id from KuboCAS, got {type(node_id)}")
    return node_id


COMMANDS: dict[str, Callable[[JsonObject], Coroutine[Any, Any, JsonObject]]] = {
    "build": build,
    "read": read,
    "kubo-build": kubo_build,
    "kubo-read": kubo_read,
    "cbor-roundtrip": cbor_roundtrip,
}


# ---------------------------------------------------------------- entry point


if __name__ == "__main__":
    sys.exit(run_driver("pyhamt_driver", COMMANDS, sys.argv))
