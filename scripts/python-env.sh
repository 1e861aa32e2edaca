#!/usr/bin/env bash
# Sets up the Python environment that runs the REAL py-hamt 3.6.0 (the reference
# implementation for the interop tests and benchmarks) in $REPO/.cache/pyenv.
#
#   PY="$(bash scripts/python-env.sh | tail -n1)"   # path of the venv's python
#
# Idempotent: a stamp file records what was installed; when it matches, the
# script returns at once. It reinstalls (from a fresh venv) only when
# requirements-py.txt, the py-hamt pin or the base interpreter change.
# Status goes to stderr; the python path is printed on stdout as the last line.
# Needs only python3 (with venv/ensurepip) and access to PyPI.
# Set PYTHON=/path/to/python3 to pick the base interpreter.
# (-E so the ERR trap that shows the install log also fires inside functions.)
set -Eeuo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
CACHE="$REPO/.cache"
VENV="$CACHE/pyenv"
VENV_PY="$VENV/bin/python"
REQS="$REPO/scripts/requirements-py.txt"
# py-hamt 3.6.0 says Requires-Python >=3.12 but runs on 3.11. Installing it with
# --ignore-requires-python AND its dependencies makes pip pick numpy/numcodecs
# releases that only build on 3.12, so its dependencies come pinned from
# requirements-py.txt and py-hamt itself is installed with --no-deps.
PYHAMT_PIN="py-hamt==3.6.0"
# Inside the venv, so deleting the venv also invalidates the stamp.
STAMP="$VENV/.ts-hamt-stamp"
LOG="$CACHE/pyenv-install.log"
ENV_NAME=python-env
TOOL="$VENV_PY"
# shellcheck source=lib/env.sh
source "$REPO/scripts/lib/env.sh"

command -v "$PYTHON" >/dev/null 2>&1 || die "'$PYTHON' not found; install Python 3.11+ or set PYTHON"
[[ -f "$REQS" ]] || die "missing $REQS"
mkdir -p "$CACHE"

# What the stamp must say: a hash of the requirements, the py-hamt pin and the
# base interpreter's version (a venv is tied to the interpreter that made it).
# Hashed with Python itself so this works without sha256sum/shasum.
wanted_stamp() {
  "$PYTHON" - "$REQS" "$PYHAMT_PIN" <<'EOF'
import hashlib, sys
h = hashlib.sha256()
with open(sys.argv[1], "rb") as f:
    h.update(f.read())
h.update(b"\0" + sys.argv[2].encode() + b"\0" + sys.version.encode())
print(h.hexdigest())
EOF
}

WANT="$(wanted_stamp)"

# Tests and benchmarks started together build the venv once.
env_ready_or_lock "$CACHE/pyenv.lock" "py-hamt 3.6.0" cached

say "installing py-hamt 3.6.0 and its pinned dependencies into .cache/pyenv (log: $LOG)"
env_log_failures install

# Always start from a fresh venv: an interrupted or outdated install may have
# left anything behind, and a partial venv is never reused since the stamp is
# written last.
rm -rf "$VENV"
if ! "$PYTHON" -m venv "$VENV" >>"$LOG" 2>&1; then
  trap - ERR
  tail -n 20 "$LOG" >&2 || true
  die "'$PYTHON -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)"
fi

# PIP_USER=0: a user-level pip config asking for --user installs breaks in a venv.
export PIP_USER=0 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
pip_install() { "$VENV_PY" -m pip install --progress-bar off "$@" >>"$LOG" 2>&1; }

pip_install -r "$REQS"
pip_install --no-deps --ignore-requires-python "$PYHAMT_PIN"

# Check that everything imports and that the py-hamt we got is the pinned one.
"$VENV_PY" -W ignore - "$PYHAMT_PIN" >>"$LOG" 2>&1 <<'EOF'
import sys
from importlib.metadata import version

import numpy, py_hamt, xarray, zarr  # noqa: F401

want = sys.argv[1].split("==")[1]
got = version("py-hamt")
assert got == want, f"py-hamt {got} installed, expected {want}"
EOF

env_stamp

say "ok, installed py-hamt 3.6.0 ($("$VENV_PY" -c 'import platform; print("Python", platform.python_version())'))"
echo "$VENV_PY"
