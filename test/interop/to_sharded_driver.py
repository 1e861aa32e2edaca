#!/usr/bin/env python3
"""JSON-over-stdio driver that converts a Zarr-on-HAMT dataset in Kubo into py-hamt's sharded layout
with the REAL py-hamt 3.6.0 (`convert_hamt_to_sharded`, which writes a sharded_zarr_v2 root), so
tests have a genuine sharded root CID to open.

    python to_sharded_driver.py convert < request.json > response.json

convert
    in:  {"rpcUrl", "gatewayUrl", "root": HAMT root CID, "chunksPerShard"?: int (default 64)}
    out: {"root": the sharded store's root CID}
"""

from __future__ import annotations

# The shared command-line shape; this file's folder is on sys.path when run as a script.
from driver_io import JsonObject, field, run_driver

import contextlib
import sys

from py_hamt import KuboCAS
from py_hamt.hamt_to_sharded_converter import convert_hamt_to_sharded


async def convert(req: JsonObject) -> JsonObject:
    async with KuboCAS(
        rpc_base_url=field(req, "rpcUrl", str), gateway_base_url=field(req, "gatewayUrl", str)
    ) as cas:
        # The converter prints its progress to stdout, which carries this driver's JSON answer.
        with contextlib.redirect_stdout(sys.stderr):
            root = await convert_hamt_to_sharded(
                cas, field(req, "root", str), field(req, "chunksPerShard", int, default=64)
            )
    return {"root": str(root)}


if __name__ == "__main__":
    sys.exit(run_driver("to_sharded_driver", {"convert": convert}, sys.argv))
