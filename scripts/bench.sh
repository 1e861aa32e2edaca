#!/usr/bin/env bash
# Benchmarks: installs what they need (like scripts/test.sh), runs the in-memory HAMT (with the Go and Rust
# peers go-hamt-ipld and fvm_ipld_hamt, built by peers-env.sh: needs Go and Cargo), Kubo, Zarr and sharded
# Zarr benchmarks, then assembles BENCHMARKS.md. Arguments go to both HAMT runners (e.g. --sizes 10000,100000).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ -d node_modules ]] || npm ci --no-audit --no-fund --loglevel=error
bash scripts/python-env.sh >/dev/null
bash scripts/kubo-env.sh >/dev/null
bash scripts/peers-env.sh >/dev/null
node --import tsx bench/run.ts "$@"
# The same on Node 24 (what users run), peers again in the same run; py-hamt and iamap only on Node 20.
"$(bash scripts/node-env.sh | tail -n1)" --import tsx bench/run.ts "$@" --out hamt-node24 --py-max-keys 0 --iamap-max-keys 0
node --import tsx bench/kubo.ts "$@"
node --import tsx bench/zarr.ts
node --import tsx bench/sharded.ts
node --import tsx bench/sharded.ts --runs 1 --out sharded-modes
node --import tsx bench/dataset-sel.ts
node --import tsx bench/diff.ts
node --import tsx bench/merge-ingest.ts
node --import tsx bench/gc.ts
node --import tsx bench/zstd.ts
node --import tsx bench/report.ts
# The runners write plain markdown tables; format them as the linter wants.
npx biome check --write bench/results BENCHMARKS.md >/dev/null
