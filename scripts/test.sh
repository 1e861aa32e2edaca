#!/usr/bin/env bash
# The whole test run, from a fresh clone: installs what the tests need (npm packages, the Python
# venv with the real py-hamt 3.6.0, Chromium), then lints, typechecks and runs every test.
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
# Debian's Chromium for the browser viewer's end-to-end test (apt-get, once per machine).
bash scripts/chromium-env.sh >/dev/null

echo "test: lint (biome)" >&2
npx biome check .
echo "test: typecheck (tsc)" >&2
npx tsc -p tsconfig.json --noEmit

echo "test: build (dist/, which the CLI tests run as the package ships it)" >&2
npx tsc -p tsconfig.build.json
echo "test: node --test" >&2
node --import tsx --test --test-concurrency=2 test/*.test.ts
