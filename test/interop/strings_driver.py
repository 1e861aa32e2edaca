#!/usr/bin/env python3
"""xarray with a string coordinate, written through the REAL py-hamt 3.6.0 (ZarrHAMTStore on an
InMemoryCAS), and xarray's answers to selections on it, for ts-hamt's string-coordinate tests.

stdin:  {"zarrFormat": 2 | 3, "stations": [str, ...], "selections": [indexer, ...]}; an indexer is a
        string, a list of strings, or {"slice": [start, stop]} (null for none).
stdout: {"root": hex, "blocks": {idHex: dataHex}, "records": to_dataframe().reset_index() records,
         "results": [{"ok": true, "stations": [...] | str, "values": [...] | number} |
                     {"ok": false, "error": class name}]}
The dataset: temp(station, time) float64 = 10 * station position + time position, station the
string coordinate, time 0..2 (plain numbers).
"""

from __future__ import annotations

import asyncio
import json
import sys
import warnings

import numpy as np
import xarray as xr
from py_hamt import HAMT, InMemoryCAS, ZarrHAMTStore

warnings.simplefilter("ignore")


async def main() -> None:
    req = json.load(sys.stdin)
    stations = req["stations"]
    ds = xr.Dataset(
        {"temp": (("station", "time"), np.arange(len(stations) * 3, dtype=np.float64).reshape(-1, 3) % 3
                  + 10.0 * np.arange(len(stations))[:, None])},
        coords={"station": ("station", np.array(stations, dtype=str)), "time": ("time", np.arange(3.0))},
    )
    cas = InMemoryCAS()
    hamt = await HAMT.build(cas=cas, values_are_bytes=True)
    store = ZarrHAMTStore(hamt)
    ds.to_zarr(store, zarr_format=req["zarrFormat"], consolidated=False)
    await hamt.make_read_only()
    root = hamt.root_node_id
    opened = xr.open_zarr(ZarrHAMTStore(hamt, read_only=True), consolidated=False)
    results = []
    for indexer in req["selections"]:
        if isinstance(indexer, dict):
            indexer = slice(*indexer["slice"])
        try:
            got = opened.temp.sel(station=indexer)
            results.append({"ok": True, "stations": got.station.values.tolist(), "values": got.values.tolist()})
        except Exception as error:  # noqa: BLE001 - the class is the answer
            results.append({"ok": False, "error": type(error).__name__})
    records = opened.temp.to_dataframe().reset_index().to_dict("records")
    json.dump({
        "root": bytes(root).hex(),
        "blocks": {bytes(k).hex(): bytes(v).hex() for k, v in cas.store.items()},
        "records": records,
        "results": results,
    }, sys.stdout)


asyncio.run(main())
