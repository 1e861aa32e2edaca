#!/usr/bin/env bash
# Benchmarks: installs what they need (like scripts/test.sh), then runs bench/run.ts with any arguments.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ -d node_modules ]] || npm ci --no-audit --no-fund --loglevel=error
bash scripts/python-env.sh >/dev/null
node --import tsx bench/run.ts "$@"
