#!/usr/bin/env bash
# Builds a pinned Kubo (the IPFS daemon, binary `ipfs`) from its Go module and caches
# it in $REPO/.cache/kubo/<version>/ipfs, for the tests that talk to a real daemon.
#
#   IPFS="$(bash scripts/kubo-env.sh | tail -n1)"   # path of the ipfs binary
#
# Idempotent: a stamp next to the binary records what was built; when it matches, the
# script returns at once. Status goes to stderr; the binary's path is the last stdout
# line. Needs only Go (>= the go directive of the pinned release) and the Go module
# proxy: no GitHub, no prebuilt downloads.
# (-E so the ERR trap that shows the build log also fires inside functions.)
set -Eeuo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The newest Kubo release that builds from the Go module proxy alone. (v0.43.1 is newer
# but replaces go-libp2p with a fork commit the proxy does not serve: 403.)
KUBO_VERSION="v0.43.0"
KUBO_MODULE="github.com/ipfs/kubo"
DIR="$REPO/.cache/kubo/$KUBO_VERSION"
BIN="$DIR/ipfs"
STAMP="$DIR/.ts-hamt-stamp"
LOG="$DIR/build.log"
ENV_NAME=kubo-env
TOOL="$BIN"
# shellcheck source=lib/env.sh
source "$REPO/scripts/lib/env.sh"

command -v go >/dev/null 2>&1 || die "'go' not found; install Go >= 1.26.5 (Kubo $KUBO_VERSION needs it)"
mkdir -p "$DIR"

# CGO off: a static binary, and the build needs no C toolchain. -trimpath keeps local
# paths out of it. The blank telemetry endpoint gives a binary that has nowhere to
# report to, whatever a repo's config says (Kubo documents this switch for packagers).
export CGO_ENABLED=0
BUILD_FLAGS=(-trimpath -ldflags "-X $KUBO_MODULE/plugin/plugins/telemetry.defaultEndpoint=")

# What the stamp must say: the release, the build flags and the Go toolchain (a Go
# upgrade rebuilds, so a toolchain bug fix reaches the binary too).
WANT="$KUBO_MODULE@$KUBO_VERSION ${BUILD_FLAGS[*]} $(go env GOVERSION) $(go env GOOS)/$(go env GOARCH)"

# Two test files started at once build into one directory once.
env_ready_or_lock "$DIR/.lock" "Kubo $KUBO_VERSION" "cached, built by a concurrent run"
env_log_failures build

# Builds into $BIN.tmp so a half-written binary is never taken for a good one.
rm -f "$BIN.tmp"
TMP_BIN_DIR=""
TMP_SRC=""
cleanup() { rm -rf "$TMP_BIN_DIR" "$TMP_SRC"; }
trap cleanup EXIT

# The plain way first. It works only while the release's go.mod has no replace or
# exclude directives (Go refuses those for `go install pkg@version`).
try_go_install() {
  TMP_BIN_DIR="$(mktemp -d "$DIR/gobin.XXXXXX")"
  if GOBIN="$TMP_BIN_DIR" go install "${BUILD_FLAGS[@]}" "$KUBO_MODULE/cmd/ipfs@$KUBO_VERSION" >>"$LOG" 2>&1; then
    mv "$TMP_BIN_DIR/ipfs" "$BIN.tmp"
    return 0
  fi
  if grep -qE 'contains one or more (replace|exclude) directives|must not contain directives' "$LOG"; then
    return 1
  fi
  die "go install failed for another reason than replace/exclude directives"
}

# Otherwise build the release as the main module, so its replace/exclude directives
# apply: download it through the proxy, copy it (the module cache is read-only) and
# `go build` there.
build_in_module_copy() {
  local json src
  json="$(go mod download -json "$KUBO_MODULE@$KUBO_VERSION" 2>>"$LOG")"
  src="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$json")"
  [[ -n "$src" && -d "$src" ]] || die "go mod download gave no module directory: $json"
  TMP_SRC="$(mktemp -d "$DIR/src.XXXXXX")"
  cp -R "$src/." "$TMP_SRC"
  chmod -R u+w "$TMP_SRC"
  # The default -mod=readonly is enough: the release's go.sum covers every dependency,
  # so the build uses exactly the versions Kubo released with.
  go -C "$TMP_SRC" build "${BUILD_FLAGS[@]}" -o "$BIN.tmp" ./cmd/ipfs >>"$LOG" 2>&1
}

say "building Kubo $KUBO_VERSION with $(go env GOVERSION) into .cache/kubo/$KUBO_VERSION (log: $LOG; a first build takes minutes)"
START=$SECONDS
if try_go_install; then
  HOW="go install"
else
  say "go install refused the release's replace/exclude directives; building inside a copy of the module"
  build_in_module_copy
  HOW="go build in module copy"
fi

# The binary must run and be the release we pinned.
GOT="$("$BIN.tmp" version 2>>"$LOG")"
[[ "$GOT" == "ipfs version ${KUBO_VERSION#v}" ]] || die "built binary says '$GOT', expected ${KUBO_VERSION#v}"

trap - ERR
mv -f "$BIN.tmp" "$BIN"
ELAPSED=$((SECONDS - START))
echo "$KUBO_VERSION built by '$HOW' with $(go env GOVERSION) in ${ELAPSED}s on $(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$DIR/build-time.txt"
env_stamp
env_ready "Kubo $KUBO_VERSION" "built by '$HOW' in ${ELAPSED}s"
