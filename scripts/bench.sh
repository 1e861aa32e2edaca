#!/usr/bin/env bash
# Benchmarks: installs what they need (like scripts/test.sh), runs the in-memory HAMT, Kubo, Zarr and sharded Zarr
# benchmarks (Zarr and zstd on Node 24 too), then assembles BENCHMARKS.md. Arguments go to both runners (e.g. --sizes 10000,100000).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ -d node_modules ]] || npm ci --no-audit --no-fund --loglevel=error
bash scripts/python-env.sh >/dev/null
bash scripts/kubo-env.sh >/dev/null
# Node 24 (.cache/node24/): the Zarr and zstd benchmarks run on it too, beside the machine's Node.
NODE24="$(bash scripts/node-env.sh | tail -n1)"
node --import tsx bench/run.ts "$@"
node --import tsx bench/kubo.ts "$@"
node --import tsx bench/zarr.ts
"$NODE24" --import tsx bench/zarr.ts --out zarr-node24
node --import tsx bench/sharded.ts
node --import tsx bench/zstd.ts
"$NODE24" --import tsx bench/zstd.ts --out zstd-node24
node --import tsx bench/report.ts
# The runners write plain markdown tables; format them as the linter wants.
npx biome check --write bench/results BENCHMARKS.md >/dev/null
