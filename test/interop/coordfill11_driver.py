"""A one-dimension dataset written by zarr-python (Zarr v2 or v3), decoded by xarray: its coordinate and a `sel`.

stdin: {"cases": [{"format": 2|3, "dtype": str, "values": [number | decimal string, ...], "attrs": {...}, "fill": number|null,
"point": number|str}]}. stdout: {"results": [{"files": {key: base64}, "coord": [number|str|null, ...],
"point": [positions] | {"error": "<exception class>"}}]}: the stored bytes, the decoded coordinate `x`
(NaN and NaT as null, times as ISO microseconds) and the positions of `p` that `sel(x=point)` keeps."""

from __future__ import annotations

import base64
import json
import math
import sys
import warnings

import numpy as np
import xarray as xr
import zarr
from zarr.core.buffer import default_buffer_prototype


def case_result(case):
    fmt = case["format"]
    store = zarr.storage.MemoryStore()
    group = zarr.open_group(store, mode="w", zarr_format=fmt)
    values = np.array([int(v) if isinstance(v, str) else v for v in case["values"]], dtype=case["dtype"])
    for name, data, attrs, fill in (
        ("x", values, case["attrs"], case.get("fill")),
        ("p", np.arange(len(values), dtype="int32"), {}, None),
    ):
        dims = {"dimension_names": ["x"]} if fmt == 3 else {}
        array = group.create_array(name, shape=data.shape, dtype=data.dtype, fill_value=fill, attributes=attrs, **dims)
        array[:] = data
        if fmt == 2:
            array.attrs["_ARRAY_DIMENSIONS"] = ["x"]
    ds = xr.open_zarr(store, consolidated=False, zarr_format=fmt)
    coord = []
    for value in ds.x.values:
        if np.issubdtype(ds.x.dtype, np.datetime64):
            coord.append(None if np.isnat(value) else str(np.datetime_as_string(value, unit="us")).removesuffix(".000000"))
        else:
            coord.append(None if math.isnan(float(value)) else float(value))
    try:
        point = np.atleast_1d(ds.p.sel(x=case["point"]).values).tolist()
    except Exception as error:  # noqa: BLE001 - the class is the answer
        point = {"error": type(error).__name__}
    files = {}
    for key in sorted(store._store_dict):
        buffer = store._store_dict[key]
        files[key] = base64.b64encode(buffer.to_bytes()).decode()
    return {"files": files, "coord": coord, "point": point}


def main():
    warnings.simplefilter("ignore")
    request = json.load(sys.stdin)
    json.dump({"results": [case_result(case) for case in request["cases"]]}, sys.stdout)


if __name__ == "__main__":
    main()
