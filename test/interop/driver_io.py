"""The command-line shape shared by the interop drivers: one command name in argv, one JSON object
on stdin, one JSON object on stdout; a one-line error on stderr with exit code 2 for a bad request
and 1 when the library under test fails (set <NAME>_TRACE=1 for the traceback)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import traceback
from collections.abc import Callable, Coroutine
from typing import Any

JsonObject = dict[str, Any]
Command = Callable[[JsonObject], Coroutine[Any, Any, JsonObject]]


class RequestError(Exception):
    """The request is malformed (as opposed to the library under test failing on a valid one)."""


def field(req: JsonObject, name: str, kind: type, default: Any = None) -> Any:
    """Return req[name], checking its JSON type; a missing field uses default if given."""
    if name not in req:
        if default is not None:
            return default
        raise RequestError(f"missing field {name!r}")
    value = req[name]
    # bool is a subclass of int in Python: don't accept true as a bucket size.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise RequestError(f"field {name!r} must be {kind.__name__}, got {value!r}")
    return value


def from_hex(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise RequestError(f"{what} must be a hex string, got {text!r}")
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise RequestError(f"{what} is not valid hex: {text!r}") from exc


def run_driver(name: str, commands: dict[str, Command], argv: list[str]) -> int:
    def fail(message: str, code: int) -> int:
        print(f"{name}: {message}", file=sys.stderr)
        return code

    if len(argv) != 2 or argv[1] not in commands:
        return fail(f"usage: {argv[0]} {{{'|'.join(commands)}}} < request.json", 2)
    try:
        req = json.load(sys.stdin)
    except json.JSONDecodeError as exc:
        return fail(f"stdin is not valid JSON: {exc}", 2)
    if not isinstance(req, dict):
        return fail("the request must be a JSON object", 2)

    try:
        result = asyncio.run(commands[argv[1]](req))
    except RequestError as exc:
        return fail(f"bad request: {exc}", 2)
    except Exception as exc:  # the library under test failing: one line unless asked for more
        if os.environ.get(f"{name.upper()}_TRACE"):
            traceback.print_exc()
        return fail(f"{argv[1]} failed: {exc!r}", 1)

    # allow_nan=False: every NaN/inf must already have been mapped to valid JSON.
    json.dump(result, sys.stdout, separators=(",", ":"), allow_nan=False)
    sys.stdout.write("\n")
    return 0
