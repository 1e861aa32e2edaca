"""xarray's `sel` with a label slice on a decoded CF time coordinate, case by case.

stdin: {"cases": [{"values": [decimal string, ...] (int64; -2**63 is NaT), "units": str, "calendar": str,
"start": str|null, "stop": str|null, "step": int|null} or, in place of the slice, "label": str | [str],
"method": str|null, "tolerance": str|null (a pandas Timedelta)}]}. stdout: {"results": [{"positions": [...], "scalar": bool} | {"error": "<exception
class>"}]}: the positions `sel(time=slice(start, stop, step))` (or `sel(time=label, method=method)`) keeps."""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np
import xarray as xr


def select(case):
    values = np.array([int(v) for v in case["values"]], dtype="int64")
    attrs = {"units": case["units"], "calendar": case["calendar"]}
    raw = xr.Dataset(
        {"p": ("time", np.arange(len(values)))}, coords={"time": ("time", values, attrs)}
    )
    try:
        decoded = xr.decode_cf(raw)
        if "label" in case:
            result = decoded.p.sel(time=case["label"], method=case.get("method"), tolerance=case.get("tolerance"))
        else:
            result = decoded.p.sel(time=slice(case.get("start"), case.get("stop"), case.get("step")))
    except Exception as error:  # noqa: BLE001 - the class is the answer
        return {"error": type(error).__name__, "message": str(error)[:200]}
    return {"positions": np.atleast_1d(result.values).tolist(), "scalar": result.ndim == 0}


def main():
    warnings.simplefilter("ignore")
    request = json.load(sys.stdin)
    json.dump({"results": [select(case) for case in request["cases"]]}, sys.stdout)


if __name__ == "__main__":
    main()
