#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed at /usr/bin/chromium, for the browser viewer's
# end-to-end test (playwright-core drives it; no browser is downloaded by a test tool).
#
#   bash scripts/chromium-env.sh     # prints the browser's path as the last stdout line
#
# Idempotent: returns at once when /usr/bin/chromium exists. Otherwise installs the `chromium`
# package with apt-get, which needs root (as on the CI machine) or passwordless sudo.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
say() { echo "chromium-env: $*" >&2; }

if [[ -x "$CHROMIUM" ]]; then
  echo "$CHROMIUM"
  exit 0
fi

SUDO=()
if [[ "$(id -u)" != 0 ]]; then
  command -v sudo >/dev/null 2>&1 || {
    say "error: $CHROMIUM is missing and installing it needs root (or sudo)"
    exit 1
  }
  SUDO=(sudo -n)
fi
command -v apt-get >/dev/null 2>&1 || {
  say "error: $CHROMIUM is missing and there is no apt-get to install it; install Chromium there yourself"
  exit 1
}

say "installing Debian's chromium with apt-get (once per machine)"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq >&2
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium >&2

[[ -x "$CHROMIUM" ]] || {
  say "error: apt-get installed chromium but $CHROMIUM is not there"
  exit 1
}
say "ok, $("$CHROMIUM" --version 2>/dev/null || echo chromium) installed"
echo "$CHROMIUM"
