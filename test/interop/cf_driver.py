"""xarray's CF decoding of Zarr v3 data it wrote, for ts-hamt's CF value tests: JSON in, JSON out.

write: {"dir": path, "zarrFormat": 3|2, "variables": [{"name", "dtype", "values": [str], "attrs": {}, "fill": str|null}]}
  writes the variables with xarray (zarr_format 3 unless told) under dir, then answers per variable
  {"zarr": zarr.json, "raw": [str], "decoded": [str], "dtype": str} or {"error": str}.
Numbers travel as strings (repr) so NaN, infinities and 64-bit integers survive JSON.
"""
import json
import sys
import warnings

import cftime
import numpy as np
import xarray as xr
import zarr

warnings.simplefilter("ignore")


def number(text, dtype):
    if dtype.startswith("cftime:"):
        y, m, d, h = (int(part) for part in text.split(","))
        return cftime.datetime(y, m, d, h, calendar=dtype[7:])
    if dtype.startswith("datetime64"):
        return np.datetime64(text)
    if np.dtype(dtype).kind == "f":
        return float(text)
    return int(text)


def text(value):
    if isinstance(value, np.datetime64):
        return "NaT" if np.isnat(value) else str(value.astype("datetime64[us]"))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return repr(value.item() if hasattr(value, "item") else value)


def write(request):
    out = {}
    variables = {}
    encoding = {}
    for spec in request["variables"]:
        dtype = spec["dtype"]
        values = [number(v, dtype) for v in spec["values"]]
        data = np.array(values, dtype=object if dtype.startswith("cftime:") else dtype)
        variables[spec["name"]] = ((f"x_{spec['name']}",), data, spec["attrs"])
        fill = spec.get("fill")
        if fill is not None:
            encoding[spec["name"]] = {"_FillValue": np.array(number(fill, dtype), dtype=dtype).item()}
        elif data.dtype.kind == "f" and not spec.get("defaultFill"):
            encoding[spec["name"]] = {"_FillValue": None}
    zarr_format = request.get("zarrFormat", 3)
    xr.Dataset(variables).to_zarr(
        request["dir"], zarr_format=zarr_format, consolidated=False, encoding=encoding, mode="w"
    )
    opened = xr.open_zarr(request["dir"], consolidated=False)
    for spec in request["variables"]:
        name = spec["name"]
        meta = metadata(f"{request['dir']}/{name}", zarr_format)
        raw = zarr.open_array(f"{request['dir']}/{name}", mode="r")[:]
        try:
            decoded = opened[name].values
            out[name] = {
                "zarr": meta,
                "raw": [text(v) for v in raw],
                "decoded": [text(v) for v in decoded],
                "dtype": str(decoded.dtype),
            }
        except Exception as error:
            out[name] = {"zarr": meta, "raw": [text(v) for v in raw], "error": f"{type(error).__name__}: {error}"}
    return out


def metadata(path, zarr_format):
    """The array's metadata as in zarr.json; for Zarr v2, .zarray and .zattrs in the same shape."""
    if zarr_format == 3:
        with open(f"{path}/zarr.json") as f:
            return json.load(f)
    with open(f"{path}/.zarray") as f:
        zarray = json.load(f)
    with open(f"{path}/.zattrs") as f:
        attributes = json.load(f)
    return {"data_type": str(np.dtype(zarray["dtype"])), "fill_value": zarray["fill_value"], "attributes": attributes}


def main():
    command = sys.argv[1]
    request = json.load(sys.stdin)
    json.dump({"write": write}[command](request), sys.stdout)


if __name__ == "__main__":
    main()
