"""Random CF datasets written by xarray through py-hamt, and xarray's answers to random selections on
them, for ts-hamt's differential dataset test (test/hostile.dataset-attackds11.test.ts): JSON in, JSON out.

write: {"seeds": [int]}
  builds a dataset from each seed (a time coordinate in any calendar and odd units spelling, int64 times
  far from the epoch, descending, unordered or repeated labels; a numeric coordinate; data variables of
  every dtype with _FillValue, missing_value lists, valid_range, scale_factor/add_offset; chunks that do
  not divide the shape; Zarr v2 or v3, sharded or not), writes it with py-hamt's ZarrHAMTStore over an
  InMemoryCAS, reopens it with xarray (decode_cf defaults) and answers per seed
  {"root": hex, "blocks": {id: data}, "dims", "variables": {name: {"dims", "dtype", "values", "coord"}},
   "selections": [{"var", "indexers", "method", "tolerance", "values", "dims", "coords"} | {..., "error"}]}.
  Values travel as repr strings, times as ISO strings ("NaT" for missing).
halves: {"zarrFormat": 2 | 3}
  every float16 (all 65,536 bits, `h`), the finite ones again scaled beside a _FillValue (`s`), a 0-d
  float16 (`z`) and a float16 coordinate (`y`, with `p` on it), written and reopened as above:
  {"root", "blocks", "variables"} (values as repr strings).
isel: {"size": int, "slices": [[start, stop, step]]}
  xarray's isel(x=slice(start, stop, step)) of positions 0..size-1: {"positions": [[int]]}.
"""
import asyncio
import json
import sys
import warnings

import cftime
import numpy as np
import pandas as pd
import xarray as xr
from py_hamt import HAMT, InMemoryCAS, ZarrHAMTStore

warnings.simplefilter("ignore")

CALENDARS = ["standard", "gregorian", "proleptic_gregorian", "julian", "noleap", "365_day", "all_leap",
             "366_day", "360_day"]
# Units spellings cftime and xarray read: short dates, a T, a Z, UTC, a time of day, year 1.
UNITS = ["hours since 1-1-1", "days since 2000-1-1", "seconds since 1970-01-01T00:00:00Z",
         "days since 1850-01-01 00:00:00 UTC", "hours since 1990-01-01 06:00:00", "minutes since 2000-01-01",
         "days since 1-1-1 0:0:0", "hours since 2000-02-29", "days since 1900-01-01T00:00:00",
         "seconds since 2000-01-01 12:00:00", "microseconds since 1970-01-01", "milliseconds since 1-1-1"]
DTYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32",
          "float64", "bool"]
LENGTHS = [0, 1, 1, 2, 3, 4, 5, 7]


def text(value):
    if isinstance(value, np.datetime64):
        return "NaT" if np.isnat(value) else str(value.astype("datetime64[us]"))
    if isinstance(value, (cftime.datetime, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, np.timedelta64):
        return "NaT" if np.isnat(value) else repr(value.astype("timedelta64[ns]").astype(np.int64).item())
    if isinstance(value, str):
        return value
    return repr(value.item() if hasattr(value, "item") else value)


def order(rng, values):
    kind = rng.choice(["ascending", "ascending", "descending", "unordered", "repeated"])
    if kind == "descending":
        return values[::-1].copy()
    if kind == "unordered":
        return values[rng.permutation(len(values))]
    if kind == "repeated" and len(values) > 1:
        out = values.copy()
        out[int(rng.integers(1, len(values)))] = out[0]
        return np.sort(out) if rng.random() < 0.5 else out
    return values


def time_coordinate(rng, n, side):
    calendar = str(rng.choice(CALENDARS))
    units = str(rng.choice(UNITS))
    step_hours = int(rng.choice([1, 6, 24, 24 * 7, 24 * 30, 24 * 365]))
    year = int(rng.choice([1, 1582, 1850, 1970, 2000, 2024, 2262, 2300, 9000]))
    month, day, hour = 1 + int(rng.integers(0, 12)), 1 + int(rng.integers(0, 28)), int(rng.integers(0, 24))
    if calendar in ("standard", "gregorian") and (year, month) == (1582, 10) and 5 <= day <= 14:
        day += 10  # 1582-10-05..14 do not exist in the mixed Julian/Gregorian calendar (cftime: ValueError)
    start = cftime.datetime(year, month, day, hour, calendar=calendar)
    values = np.array([start + pd.Timedelta(hours=step_hours * k).to_pytimedelta() for k in range(n)], dtype=object)
    values = order(rng, values)
    # One time repeated, drawn from `side` so the main draws (and the kept seeds' datasets) stay:
    # pandas counts it both ascending and descending (CFTimeIndex casts string bounds to far ends).
    if n > 1 and side.random() < 0.2:
        values = np.repeat(values[:1], n)
    if calendar in ("standard", "proleptic_gregorian") and 1700 < year < 2200 and n > 1 and rng.random() < 0.3:
        # A missing time (NaT), which xarray writes with a _FillValue.
        values = np.array([np.datetime64(v.isoformat()) for v in values], dtype="datetime64[ns]")
        values[int(rng.integers(0, n))] = np.datetime64("NaT")
    dtype = str(rng.choice(["int64", "float64", "int32"]))
    return values, {"units": units, "calendar": calendar, "dtype": dtype}


def numeric_coordinate(rng, n):
    values = np.sort(rng.choice(np.arange(-20, 21) * 0.5, n, replace=False)) if n <= 40 else np.arange(n) * 1.0
    dtype = str(rng.choice(["float64", "float32", "int32", "int64"]))
    values = order(rng, values.astype(dtype) if dtype.startswith("float") else (values * 2).astype(dtype))
    return values, {}


def data_variable(rng, dims, shape):
    dtype = str(rng.choice(DTYPES))
    size = int(np.prod(shape)) if shape else 1
    attrs, encoding = {}, {}
    if dtype == "bool":
        raw = rng.random(size) < 0.5
    elif dtype[0] in "iu":
        info = np.iinfo(dtype)
        wide = rng.random() < 0.3 and dtype in ("int64", "uint64")
        lo, hi = (info.min, info.max) if wide else (max(info.min, -1000), min(info.max, 1000))
        raw = rng.integers(lo, hi, size, endpoint=True, dtype=dtype)
    else:
        raw = (rng.normal(0, 100, size)).astype(dtype)
        raw[rng.random(size) < 0.15] = rng.choice([np.nan, np.inf, -np.inf])
    pick = lambda: np.array(raw[int(rng.integers(0, size))], dtype=dtype).item() if size else 0
    choice = rng.random()
    if dtype != "bool" and choice < 0.3:
        encoding["_FillValue"] = pick() if dtype[0] in "iu" else float(rng.choice([np.nan, -9999.0, pick()]))
    elif dtype != "bool" and choice < 0.4:
        encoding["_FillValue"] = None
    if dtype != "bool" and rng.random() < 0.25:
        missing = [pick() for _ in range(int(rng.integers(1, 3)))]
        if all(not (isinstance(m, float) and not np.isfinite(m)) for m in missing):
            attrs["missing_value"] = missing[0] if len(missing) == 1 else missing
    if dtype != "bool" and rng.random() < 0.2:
        attrs["valid_range"] = sorted([pick(), pick()]) if size else [0, 1]
    if rng.random() < 0.25:
        attrs["scale_factor"] = float(rng.choice([0.5, 0.01, 2.0]))
        if rng.random() < 0.5:
            attrs["add_offset"] = float(rng.choice([273.15, -10.0]))
    return xr.Variable(dims, raw.reshape(shape), attrs), encoding


def build(seed):
    rng = np.random.default_rng(seed)
    zarr_format = int(rng.choice([2, 3]))
    lengths = {"time": int(rng.choice(LENGTHS)), "x": int(rng.choice(LENGTHS))}
    coords, encoding = {}, {}
    if lengths["time"] > 0:
        values, enc = time_coordinate(rng, lengths["time"], np.random.default_rng([seed, 1]))
        coords["time"] = xr.Variable(("time",), values)
        encoding["time"] = {**enc, "chunks": (int(rng.integers(1, lengths["time"] + 1)),)}
    if rng.random() < 0.85:
        values, _ = numeric_coordinate(rng, lengths["x"])
        coords["x"] = xr.Variable(("x",), values)
        encoding["x"] = {"chunks": (max(1, int(rng.integers(1, lengths["x"] + 2))),)}
    data_vars = {}
    for v in range(int(rng.integers(1, 3))):
        dims = tuple(d for d in ("time", "x") if rng.random() < 0.8)
        data, enc = data_variable(rng, dims, tuple(lengths[d] for d in dims))
        chunks = tuple(max(1, int(rng.integers(1, lengths[d] + 2))) for d in dims)
        enc["chunks"] = chunks
        if zarr_format == 3 and dims and rng.random() < 0.3:
            enc["shards"] = tuple(c * int(rng.integers(1, 3)) for c in chunks)
        data_vars[f"v{v}"] = data
        encoding[f"v{v}"] = enc
    return xr.Dataset(data_vars, coords=coords), encoding, zarr_format


def time_label(rng, value, calendar_is_pandas):
    """An ISO label for a time value: the whole instant, or a coarser period ('2001-03')."""
    iso = text(value)
    if iso == "NaT" or iso.startswith("-"):
        return None  # xarray reads no label before year 1 (ours reads units-style dates too)
    keep = int(rng.choice([19, 19, 10, 7, 4, 13]))
    return iso[:keep]


def values_of(ds, dim):
    index = ds.indexes[dim]
    return list(index) if isinstance(index, xr.CFTimeIndex) else list(index.values)


def time_fields(instant):
    """An instant as [year, month, day, hour, minute, second, microsecond]."""
    return [instant.year, instant.month, instant.day, instant.hour, instant.minute, instant.second,
            instant.microsecond]


def label_pool(rng, ds, dim):
    index = ds.indexes[dim]
    values = list(index)
    is_time = isinstance(index, (pd.DatetimeIndex, xr.CFTimeIndex))
    if is_time:
        pandas = isinstance(index, pd.DatetimeIndex)
        labels = [("str", time_label(rng, v, pandas)) for v in values]
        return [label for label in labels if label[1] is not None], True
    extra = [float(values[0]) + 0.25, -1000.0, 1000.0] if values else [0.0]
    return [("num", text(np.asarray(v))) for v in values + extra], False


def to_python(label, is_time, ds, dim):
    kind, value = label
    if kind == "str":
        return value
    return float(value) if not np.issubdtype(ds.indexes[dim].dtype, np.integer) or "." in value else int(value)


def selections(rng, ds):
    out = []
    for name, var in ds.data_vars.items():
        for _ in range(6):
            indexers, spec = {}, {}
            method = tolerance = None
            use_method = rng.random() < 0.3
            time_method = False
            # One tolerance serves every dimension: a duration or a number, so a method selects on one.
            method_dim = str(rng.choice(var.dims)) if use_method and var.dims else None
            for dim in var.dims:
                if dim not in ds.indexes or ds.sizes[dim] == 0 or rng.random() < 0.25:
                    continue
                if use_method and dim != method_dim:
                    continue
                pool, is_time = label_pool(rng, ds, dim)
                if not pool:
                    continue
                pick = lambda: pool[int(rng.integers(0, len(pool)))]
                kind = str(rng.choice(["label", "label", "list", "slice"]))
                if use_method:
                    kind = "label" if rng.random() < 0.7 else "list"
                if kind == "label":
                    labels = [pick()]
                elif kind == "list":
                    labels = [pick() for _ in range(int(rng.integers(1, 3)))]
                else:
                    labels = [pick(), pick()]
                if is_time and use_method:
                    # An instant near a held one (xarray takes no string with a method on a cftime index).
                    held = values_of(ds, dim)[int(rng.integers(0, ds.sizes[dim]))]
                    if isinstance(held, np.datetime64) and np.isnat(held):
                        continue
                    shift = pd.Timedelta(minutes=int(rng.choice([0, 0, 1, -1, 90, -90, 720, -2000])))
                    instant = (pd.Timestamp(held) if isinstance(held, np.datetime64) else held) + shift.to_pytimedelta()
                    indexers[dim] = instant
                    spec[dim] = {"kind": "label", "labels": [{"time": time_fields(instant)}], "step": None}
                    time_method = True
                    continue
                if is_time and kind == "list":
                    continue  # xarray takes no list of strings on a cftime index
                index = ds.indexes[dim]
                if kind == "slice" and isinstance(index, xr.CFTimeIndex) and len(index) > 1 and index.is_monotonic_decreasing:
                    # xarray bug: a CFTimeIndex of one repeated time is taken as descending for string
                    # bounds (pandas asks strictly decreasing), so slice('2000-03', '2000-03') is empty.
                    if index.is_monotonic_increasing:
                        continue
                if kind == "slice" and isinstance(index, pd.DatetimeIndex) and index.is_monotonic_decreasing:
                    # pandas bug: a descending DatetimeIndex takes string bounds to its value mask, which
                    # needs the swapped period ends to be held, so nearly every slice is a KeyError there
                    # (a CFTimeIndex, and pandas for other labels, slice it by position).
                    continue
                values = [to_python(x, is_time, ds, dim) for x in labels]
                if kind == "slice" and rng.random() < 0.3:
                    # An open end: None to xarray, null to the test.
                    end = int(rng.integers(0, 2))
                    values[end] = None
                    labels[end] = ("none", None)
                step = int(rng.choice([1, 1, 2, -1, -2])) if kind == "slice" else None
                indexers[dim] = values[0] if kind == "label" else values if kind == "list" else slice(*values, step)
                spec[dim] = {"kind": kind, "labels": [{k: v} for k, v in labels], "step": step}
            if use_method:
                method = str(rng.choice(["nearest", "pad", "backfill"]))
                if time_method:
                    # A duration: the only tolerance both kinds of time index take.
                    tolerance = str(rng.choice(["1h", "12h", "1D", "30min"])) if rng.random() < 0.5 else None
                else:
                    tolerance = float(rng.choice([0.3, 1.0, 100.0])) if rng.random() < 0.5 else None
            answer = {}
            try:
                picked = var.sel(indexers, method=method,
                                 tolerance=pd.Timedelta(tolerance) if isinstance(tolerance, str) else tolerance)
                answer = {"values": [text(v) for v in np.asarray(picked.values).ravel()], "dims": list(picked.dims),
                          "coords": {str(d): [text(v) for v in np.asarray(picked[d].values).ravel()]
                                     for d in picked.dims if d in picked.coords}}
            except pd.errors.OutOfBoundsDatetime:
                continue  # pandas' datetime64[ns] ends in 2262: a period past it is no KeyError of ours
            except Exception as error:
                answer = {"error": type(error).__name__, "message": str(error)[:200]}
            out.append({"var": str(name), "indexers": spec, "method": method, "tolerance": tolerance, **answer})
    return out


async def write_one(seed):
    ds, encoding, zarr_format = build(seed)
    cas = InMemoryCAS()
    hamt = await HAMT.build(cas=cas, values_are_bytes=True)
    try:
        ds.to_zarr(ZarrHAMTStore(hamt, read_only=False), zarr_format=zarr_format, mode="w", consolidated=False,
                   encoding=encoding)
    except Exception as error:  # an encoding xarray refuses (int times that do not fit): no case
        return {"skipped": f"{type(error).__name__}: {error}"[:300]}
    await hamt.make_read_only()
    try:
        store = ZarrHAMTStore(hamt, read_only=True)
        opened = xr.open_zarr(store, zarr_format=zarr_format, consolidated=False).load()
    except Exception as error:  # what xarray wrote but cannot read back (a time beyond its ns range): no case
        return {"skipped": f"{type(error).__name__}: {error}"[:300]}
    variables = {}
    for name, var in {**opened.coords, **opened.data_vars}.items():
        variables[str(name)] = {"dims": list(var.dims), "dtype": str(var.dtype),
                                "values": [text(v) for v in np.asarray(var.values).ravel()],
                                "coord": name in opened.coords}
    return {"zarrFormat": zarr_format, "root": bytes(hamt.root_node_id).hex(),
            "blocks": {bytes(k).hex(): bytes(v).hex() for k, v in cas.store.items()},
            "dims": {str(k): int(v) for k, v in opened.sizes.items()}, "variables": variables,
            "selections": selections(np.random.default_rng(seed + 1), opened)}


async def write(request):
    return {str(seed): await write_one(seed) for seed in request["seeds"]}


async def halves(request):
    bits = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    finite = bits[np.isfinite(bits)].astype(np.float64)
    y = np.array([0.1, 0.5, 1.5, 2.0, 65504.0], dtype=np.float16)
    ds = xr.Dataset({"h": ("x", bits), "s": ("w", finite), "z": ((), np.float16(1.5)),
                     "p": ("y", np.arange(5, dtype=np.float64))}, coords={"y": y})
    encoding = {"h": {"chunks": (4096,)},
                "s": {"dtype": "float16", "scale_factor": 2.0, "add_offset": 273.15, "_FillValue": np.nan,
                      "chunks": (4096,)}}
    cas = InMemoryCAS()
    hamt = await HAMT.build(cas=cas, values_are_bytes=True)
    ds.to_zarr(ZarrHAMTStore(hamt, read_only=False), zarr_format=request["zarrFormat"], mode="w",
               consolidated=False, encoding=encoding)
    await hamt.make_read_only()
    opened = xr.open_zarr(ZarrHAMTStore(hamt, read_only=True), zarr_format=request["zarrFormat"],
                          consolidated=False).load()
    return {"root": bytes(hamt.root_node_id).hex(),
            "blocks": {bytes(k).hex(): bytes(v).hex() for k, v in cas.store.items()},
            "variables": {str(name): {"dtype": str(var.dtype), "values": [text(v) for v in np.asarray(var.values).ravel()]}
                          for name, var in {**opened.coords, **opened.data_vars}.items()}}


async def halfsel(request):
    """xarray's sel on a float16 coordinate (as `halves` writes it): each query's values or its error's type."""
    y = np.array([0.1, 0.5, 1.5, 2.0, 65504.0], dtype=np.float16)
    p = xr.DataArray(np.arange(5, dtype=np.float64), dims="y", coords={"y": y})
    results = []
    for query in request["queries"]:
        label = slice(*query["slice"]) if "slice" in query else query["label"]
        try:
            results.append(np.atleast_1d(p.sel(y=label, method=query.get("method")).values).tolist())
        except (KeyError, ValueError) as error:
            results.append(type(error).__name__)
    return {"results": results}


async def isel(request):
    positions = xr.DataArray(np.arange(request["size"]), dims="x")
    return {"positions": [positions.isel(x=slice(*bounds)).values.tolist() for bounds in request["slices"]]}


def main():
    request = json.load(sys.stdin)
    commands = {"write": write, "halves": halves, "halfsel": halfsel, "isel": isel}
    json.dump(asyncio.run(commands[sys.argv[1]](request)), sys.stdout)


if __name__ == "__main__":
    main()
