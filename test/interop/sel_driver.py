"""xarray's `sel` on one-dimensional coordinates, for comparing label lookups case by case.

stdin: {"cases": [{"values": [...], "dtype": "float64"|"float32", "indexer": <label | [labels] |
{"start", "stop", "step"}>, "method": str|null, "tolerance": number|null}]}; labels and values are
numbers, with "NaN", "Infinity", "-Infinity" as strings. stdout: {"results": [{"positions": [...],
"scalar": bool} | {"error": "<exception class>"}]}."""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np
import xarray as xr


def number(value):
    return float(value) if isinstance(value, str) else value


def select(case):
    values = np.array([number(v) for v in case["values"]], dtype=case["dtype"])
    array = xr.DataArray(np.arange(len(values)), dims=["x"], coords={"x": values})
    indexer = case["indexer"]
    if isinstance(indexer, dict):
        indexer = slice(number(indexer.get("start")), number(indexer.get("stop")), indexer.get("step"))
    elif isinstance(indexer, list):
        indexer = [number(v) for v in indexer]
    else:
        indexer = number(indexer)
    options = {}
    if case.get("method") is not None:
        options["method"] = case["method"]
    if case.get("tolerance") is not None:
        options["tolerance"] = case["tolerance"]
    try:
        result = array.sel(x=indexer, **options)
    except Exception as error:  # noqa: BLE001 - the class is the answer
        return {"error": type(error).__name__}
    return {"positions": np.atleast_1d(result.values).tolist(), "scalar": result.ndim == 0}


def main():
    warnings.simplefilter("ignore")
    request = json.load(sys.stdin)
    json.dump({"results": [select(case) for case in request["cases"]]}, sys.stdout)


if __name__ == "__main__":
    main()
