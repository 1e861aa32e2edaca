"""Random labelled datasets written by xarray, for ts-hamt's dataset review tests: JSON in, JSON out.

write: {"dir": path, "seeds": [int], "zarrFormat": 3|2}
  builds a dataset from each seed (dimensions of length 0 to 9, coordinates of every kind or none,
  data variables of every integer, float and bool dtype with NaN, _FillValue, scale_factor/add_offset, times
  in any calendar, random chunks and compressors; some v2 arrays rewritten in Fortran order), writes it as
  dir/<seed>.zarr, reopens it with xarray and
  answers per seed {"dims": {name: length}, "variables": {name: {"dims", "shape", "dtype", "values": [str],
  "coord": bool}}, "records": to_dataframe() rows, "selections": label selections and xarray's answers}. Numbers travel as repr strings, times as ISO strings ("NaT" for missing).
"""
import json
import sys
import warnings

import cftime
import numpy as np
import pandas as pd
import xarray as xr

warnings.simplefilter("ignore")

CALENDARS = ["standard", "gregorian", "proleptic_gregorian", "julian", "noleap", "365_day", "all_leap",
             "366_day", "360_day"]
DTYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64", "bool"]
LENGTHS = [0, 1, 1, 2, 3, 4, 5, 7, 9]


def coordinate(rng, name, n):
    kind = rng.choice(["none", "float", "int", "float32", "descending", "string", "datetime", "cftime",
                       "repeated", "fixedstring"])
    attrs = {}
    encoding = {}
    if kind == "none":
        return None
    if n == 0 and kind in ("datetime", "cftime"):
        kind = "float"  # an empty object array is no time to encode
    if kind == "float":
        values = np.sort(rng.uniform(-100, 100, n)).round(2)
    elif kind == "int":
        values = np.arange(n, dtype=np.int32) * int(rng.integers(1, 5)) - 3
    elif kind == "float32":
        values = np.sort(rng.uniform(-90, 90, n)).astype(np.float32)
    elif kind == "descending":
        values = np.sort(rng.uniform(-100, 100, n))[::-1].copy()
    elif kind == "string":
        labels = ["A", "b", "72503", "St-1", "Z", "é", "00", "__proto__", "constructor", "x y"]
        values = np.array([str(v) for v in sorted(rng.choice(labels, n, replace=False))], dtype=object)
    elif kind == "fixedstring":
        # numpy's fixed-width unicode: Zarr v2 '<U', v3 fixed_length_utf32
        values = np.array(sorted(rng.choice(["AB", "c", "72503", "éé", "Z0"], n, replace=n > 5)), dtype="U")
    elif kind == "repeated":
        values = np.sort(rng.integers(0, 3, n)).astype(np.float64)
    elif kind == "datetime":
        step = rng.choice(["1h", "6h", "1D", "7D", "30min"])
        values = pd.date_range(str(rng.choice(["2000-01-01", "1999-12-31T18:00", "2024-02-28"])),
                               periods=n, freq=step).values
        unit = rng.choice(["hours", "days", "minutes", "seconds"])
        encoding = {"units": f"{unit} since {rng.choice(['1970-01-01', '2000-01-01', '1900-01-01T06:00'])}",
                    "dtype": str(rng.choice(["int64", "float64", "int32"]))}
        if encoding["dtype"] == "int32" and unit in ("seconds", "minutes"):
            encoding["dtype"] = "int64"
    else:
        calendar = str(rng.choice(CALENDARS))
        start = cftime.datetime(int(rng.integers(1, 2400)), 2, 27, 12, calendar=calendar)
        values = np.array([start + pd.Timedelta(hours=int(h)).to_pytimedelta()
                           for h in np.cumsum(rng.integers(1, 72, n))], dtype=object)
        encoding = {"units": f"{rng.choice(['hours', 'days'])} since 0001-01-01",
                    "calendar": calendar, "dtype": "float64"}
    return values, attrs, encoding


def data_variable(rng, dims, lengths, zarr_format):
    dtype = str(rng.choice(DTYPES))
    shape = tuple(lengths[d] for d in dims)
    size = int(np.prod(shape)) if shape else 1
    info = np.iinfo(dtype) if dtype[0] in "iu" else None
    if dtype == "bool":
        return bool_variable(rng, dims, shape, size, zarr_format)
    if info is not None:
        raw = rng.integers(max(info.min, -(2**53)), min(info.max, 2**53), size, endpoint=True, dtype=np.int64)
        raw = raw.astype(dtype) if dtype != "uint64" else rng.integers(0, 2**53, size, dtype=np.uint64)
    else:
        raw = rng.normal(0, 1000, size).astype(dtype)
        raw[rng.random(size) < 0.2] = np.nan
    encoding = {}
    attrs = {}
    choice = rng.random()
    if info is not None and choice < 0.4 and size > 0:
        encoding["_FillValue"] = np.array(raw[int(rng.integers(0, size))], dtype=dtype).item()
    elif info is None and choice < 0.3:
        encoding["_FillValue"] = float(rng.choice([np.nan, -9999.0, 1e20]))
    elif info is None and choice < 0.5:
        encoding["_FillValue"] = None
    if rng.random() < 0.3:
        attrs["scale_factor"] = float(rng.choice([0.5, 0.01, 2.0, 0.1]))
        if rng.random() < 0.5:
            attrs["add_offset"] = float(rng.choice([273.15, -10.0, 0.0]))
    if dtype in ("int8", "int16") and rng.random() < 0.2:
        attrs["_Unsigned"] = "true"
    if rng.random() < 0.1 and (size == 0 or not np.isnan(float(raw[0]))):  # NaN is no JSON attribute
        attrs["missing_value"] = np.array(raw[0] if size > 0 else 0, dtype=dtype).item()
    if zarr_format == 2 and rng.random() < 0.15:
        raw = raw.astype(raw.dtype.newbyteorder(">"))  # stored big-endian
    data = xr.Variable(dims, raw.reshape(shape), attrs)
    return data, encoding


def bool_variable(rng, dims, shape, size, zarr_format):
    """Booleans as xarray writes them (v2 `|b1`, v3 `bool`): it CF-decodes them as any dtype, so a
    _FillValue or missing_value masks (object dtype, NaN) and scale_factor/add_offset make floats."""
    raw = rng.random(size) < 0.5
    encoding = {}
    attrs = {}
    choice = rng.random()
    if choice < 0.3:
        encoding["_FillValue"] = bool(rng.random() < 0.5)
    elif choice < 0.5:
        encoding["_FillValue"] = None
    elif choice < 0.6:
        attrs["missing_value"] = bool(rng.random() < 0.5)
    if rng.random() < 0.25:
        attrs["scale_factor"] = float(rng.choice([0.5, 2.0]))
        if rng.random() < 0.5:
            attrs["add_offset"] = float(rng.choice([273.15, -10.0]))
    return xr.Variable(dims, raw.reshape(shape), attrs), encoding


def compressor_of(name, zarr_format):
    if zarr_format == 2:
        import numcodecs
        return {"blosc": numcodecs.Blosc(), "zstd": numcodecs.Zstd(level=3), "gzip": numcodecs.GZip()}[name]
    import zarr.codecs
    return {"blosc": zarr.codecs.BloscCodec(), "zstd": zarr.codecs.ZstdCodec(level=3),
            "gzip": zarr.codecs.GzipCodec()}[name]


def build(seed, zarr_format):
    rng = np.random.default_rng(seed)
    lengths = {f"d{i}": int(rng.choice(LENGTHS)) for i in range(int(rng.integers(1, 4)))}
    coords = {}
    encoding = {}
    for name, n in lengths.items():
        made = coordinate(rng, name, n)
        if made is None:
            continue
        values, attrs, enc = made
        coords[name] = xr.Variable((name,), values, attrs)
        enc["chunks"] = (max(1, int(rng.integers(1, n + 2))),)
        encoding[name] = enc
    names = list(lengths)
    data_vars = {}
    for v in range(int(rng.integers(1, 4))):
        k = int(rng.integers(0, len(names) + 1))
        dims = tuple(rng.permutation(names)[:k])
        data, enc = data_variable(rng, dims, lengths, zarr_format)
        name = f"v{v}"
        data_vars[name] = xr.Variable(dims, data.data, data.attrs)
        enc["chunks"] = tuple(max(1, int(rng.integers(1, lengths[d] + 2))) for d in dims)
        compressor = rng.choice(["none", "default", "blosc", "zstd", "gzip"])
        if compressor == "none":
            enc["compressors"] = None
        elif compressor != "default":
            enc["compressors"] = [compressor_of(compressor, zarr_format)]
        if zarr_format == 3 and dims and rng.random() < 0.25:
            enc["shards"] = tuple(c * int(rng.integers(1, 3)) for c in enc["chunks"])
        encoding[name] = enc
    # scale_factor, add_offset and missing_value stay attributes: the raw values are stored as drawn.
    ds = xr.Dataset(data_vars, coords=coords)
    return ds, encoding


def text(value):
    if isinstance(value, np.datetime64):
        return "NaT" if np.isnat(value) else str(value.astype("datetime64[us]"))
    if isinstance(value, (cftime.datetime, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, str):
        return value
    return repr(value.item() if hasattr(value, "item") else value)


def write(request):
    return {str(seed): write_one(f"{request['dir']}/{seed}.zarr", seed, request.get("zarrFormat", 3))
            for seed in request["seeds"]}


def fortran_order(path):
    """Rewrites a Zarr v2 array in Fortran order (xarray has no encoding for it; zarr-python does)."""
    import zarr
    old = zarr.open_array(path, mode="r")
    data = old[...]
    new = zarr.create_array(store=path, shape=old.shape, chunks=old.chunks, dtype=old.dtype, zarr_format=2,
                            order="F", fill_value=old.metadata.fill_value, compressors=old.compressors,
                            filters=old.filters, attributes=dict(old.attrs), overwrite=True)
    new[...] = data


def write_one(path, seed, zarr_format):
    ds, encoding = build(seed, zarr_format)
    ds.to_zarr(path, zarr_format=zarr_format, consolidated=False, encoding=encoding, mode="w")
    rng = np.random.default_rng(seed + 2)
    for name, var in ds.data_vars.items():
        if zarr_format == 2 and var.ndim >= 2 and rng.random() < 0.5:
            fortran_order(f"{path}/{name}")
    # pandas where xarray picks it (standard calendars in 1678-2262), cftime elsewhere: sel differs.
    opened = xr.open_zarr(path, consolidated=False).load()
    variables = {}
    for name, var in {**opened.coords, **opened.data_vars}.items():
        variables[str(name)] = {
            "dims": list(var.dims),
            "shape": list(var.shape),
            "dtype": str(var.dtype),
            "values": [text(v) for v in np.asarray(var.values).ravel()],
            "coord": name in opened.coords,
        }
    frame = opened.to_dataframe().reset_index() if opened.dims else opened.expand_dims("_row").to_dataframe()
    records = [{str(k): text(v) for k, v in row.items() if k != "_row"} for row in frame.to_dict("records")]
    return {"dims": {str(k): int(v) for k, v in opened.sizes.items()}, "variables": variables, "records": records,
            "selections": selections(np.random.default_rng(seed + 1), opened)}


def label_json(value):
    """A label as the test hands it to sel: numbers by repr, times ISO, strings as they are."""
    if isinstance(value, (np.datetime64, cftime.datetime)):
        return {"time": text(value)}
    if isinstance(value, str):
        return {"str": value}
    return {"num": text(value)}


def selections(rng, ds):
    """Random label selections (a label, a list, a slice of labels) on each data variable, with
    xarray's answer: the values (flat, repr) or the error's class name."""
    out = []
    for name, var in ds.data_vars.items():
        for _ in range(3):
            indexers = {}
            for dim in var.dims:
                if dim not in ds.indexes or ds.sizes[dim] == 0 or rng.random() < 0.3:
                    continue
                values = ds.indexes[dim].values if not isinstance(ds.indexes[dim], xr.CFTimeIndex) else list(ds.indexes[dim])
                pick = lambda: values[int(rng.integers(0, len(values)))]
                kind = rng.choice(["label", "list", "slice"])
                # xarray takes no list of time strings, nor (on a cftime index) fractional seconds:
                # both are ours alone (README), so neither is compared.
                is_time = isinstance(values[0], (np.datetime64, cftime.datetime))
                if is_time and (kind == "list" or any("." in text(v) for v in values)):
                    continue
                if kind == "label":
                    indexers[dim] = ("label", pick())
                elif kind == "list":
                    indexers[dim] = ("list", [pick() for _ in range(int(rng.integers(1, 4)))])
                else:
                    indexers[dim] = ("slice", [pick(), pick()])
            # Times go to xarray as the ISO strings the test gives us (strings name periods in both).
            as_given = lambda v: text(v) if isinstance(v, (np.datetime64, cftime.datetime)) else v
            sel = {k: (as_given(v) if kind == "label" else [as_given(x) for x in v] if kind == "list"
                       else slice(*(as_given(x) for x in v))) for k, (kind, v) in indexers.items()}
            spec = {k: {"kind": kind, "labels": [label_json(x) for x in (v if kind != "label" else [v])]}
                    for k, (kind, v) in indexers.items()}
            try:
                picked = var.sel(sel)
                answer = {"values": [text(v) for v in np.asarray(picked.values).ravel()], "dims": list(picked.dims)}
            except Exception as error:
                answer = {"error": type(error).__name__}
            out.append({"var": str(name), "indexers": spec, **answer})
    return out


def main():
    command = sys.argv[1]
    request = json.load(sys.stdin)
    json.dump({"write": write}[command](request), sys.stdout)


if __name__ == "__main__":
    main()
