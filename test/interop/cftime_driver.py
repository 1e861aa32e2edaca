"""cftime's answers for ts-hamt's CF time tests: JSON in (stdin), JSON out (stdout).

num2date: {"cases": [{"values": [...], "int": bool, "units": str, "calendar": str}]}
  -> [{"dates": [isoformat | null], "years": [...]} | {"error": str}]
date2num: {"cases": [{"date": [y, m, d, h, mi, s, us], "units": str, "calendar": str}]}
  -> [{"value": number} | {"error": str}]
timedelta: {"cases": [{"text": str}]} -> [{"ns": str (int64 nanoseconds)} | {"error": str}]
  (pandas.Timedelta, which xarray's sel uses for a time tolerance)
"""
import json
import sys
import warnings

import cftime
import numpy as np

warnings.simplefilter("ignore")


def num2date(case):
    dtype = np.int64 if case["int"] else np.float64
    values = np.array([np.nan if v is None else v for v in case["values"]], dtype=dtype)
    try:
        dates = cftime.num2date(values, case["units"], case["calendar"])
    except Exception as error:  # the test only asks that both sides refuse
        return {"error": f"{type(error).__name__}: {error}"}
    return {"dates": [None if d is None or d is np.ma.masked else d.isoformat() for d in np.ma.filled(dates, None)]}


def date2num(case):
    y, m, d, h, mi, s, us = case["date"]
    try:
        date = cftime.datetime(y, m, d, h, mi, s, us, calendar=case["calendar"])
        value = cftime.date2num(date, case["units"], case["calendar"])
    except Exception as error:
        return {"error": f"{type(error).__name__}: {error}"}
    return {"value": float(value)}


def timedelta(case):
    import pandas as pd

    try:
        value = pd.Timedelta(case["text"])
    except Exception as error:
        return {"error": f"{type(error).__name__}: {error}"}
    if value is pd.NaT:
        return {"error": "NaT"}
    return {"ns": str(value.value)}


def main():
    command = sys.argv[1]
    request = json.load(sys.stdin)
    handler = {"num2date": num2date, "date2num": date2num, "timedelta": timedelta}[command]
    json.dump([handler(case) for case in request["cases"]], sys.stdout)


if __name__ == "__main__":
    main()
