#!/usr/bin/env bash
# Builds the benchmark's peer HAMTs, bench/peers/go-hamt (go-hamt-ipld v3.4.1) and
# bench/peers/fvm-hamt (fvm_ipld_hamt 0.10.6), and caches the binaries in
# $REPO/.cache/peers/<version>/, for bench/run.ts.
#
#   bash scripts/peers-env.sh | tail -n2   # the go-hamt-ipld runner, then the fvm_ipld_hamt runner
#
# Idempotent: a stamp next to the binaries records what was built (the runners' sources and
# lock files, the toolchains); when it matches, the script returns at once. Status goes to
# stderr; the two paths are the last two stdout lines. Needs Go and Cargo and their
# registries only (the Go module proxy, crates.io): dependencies are pinned by go.sum and
# Cargo.lock. Go modules go to Go's default module cache (as for Kubo); Cargo's registry cache
# goes to .cache/peers/cargo (CARGO_HOME) so a clean checkout's first build fetches into .cache.
set -Eeuo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="go-hamt-ipld-v3.4.1_fvm_ipld_hamt-0.10.6"
DIR="$REPO/.cache/peers/$VERSION"
GO_SRC="$REPO/bench/peers/go-hamt"
FVM_SRC="$REPO/bench/peers/fvm-hamt"
GO_BIN="$DIR/go-hamt-bench"
FVM_BIN="$DIR/fvm-hamt-bench"
STAMP="$DIR/.ts-hamt-stamp"
LOG="$DIR/build.log"
ENV_NAME=peers-env
TOOLS=("$GO_BIN" "$FVM_BIN")
export CARGO_HOME="$REPO/.cache/peers/cargo"
# shellcheck source=lib/env.sh
source "$REPO/scripts/lib/env.sh"

command -v go >/dev/null 2>&1 || die "'go' not found; install Go >= 1.23 (go-hamt-ipld v3.4.1 needs it)"
command -v cargo >/dev/null 2>&1 || die "'cargo' not found; install Rust (rustup) to build the fvm_ipld_hamt runner"
mkdir -p "$DIR"

export CGO_ENABLED=0
GO_FLAGS=(-trimpath -buildvcs=false -mod=readonly)
CARGO_FLAGS=(--release --locked)

# What the stamp must say: the sources and lock files, the flags and both toolchains.
sources_sum() {
  (cd "$REPO" && sha256sum bench/peers/go-hamt/main.go bench/peers/go-hamt/go.mod bench/peers/go-hamt/go.sum \
    bench/peers/fvm-hamt/Cargo.toml bench/peers/fvm-hamt/Cargo.lock bench/peers/fvm-hamt/src/main.rs) | sha256sum | cut -d' ' -f1
}
WANT="$VERSION $(sources_sum) ${GO_FLAGS[*]} ${CARGO_FLAGS[*]} $(go env GOVERSION) $(go env GOOS)/$(go env GOARCH) $(cargo --version) $(rustc --version)"

# Two bench runs started at once build into one directory once.
env_ready_or_lock "$DIR/.lock" peers "cached, built by a concurrent run"
env_log_failures build
rm -f "$GO_BIN.tmp" "$FVM_BIN.tmp" "$STAMP"

say "building the go-hamt-ipld and fvm_ipld_hamt runners into .cache/peers/$VERSION (log: $LOG; a first build takes a few minutes)"
START=$SECONDS
go -C "$GO_SRC" build "${GO_FLAGS[@]}" -o "$GO_BIN.tmp" . >>"$LOG" 2>&1
GO_SECONDS=$((SECONDS - START))
START=$SECONDS
cargo build "${CARGO_FLAGS[@]}" --manifest-path "$FVM_SRC/Cargo.toml" --target-dir "$DIR/target" >>"$LOG" 2>&1
cp "$DIR/target/release/fvm-hamt-bench" "$FVM_BIN.tmp"
FVM_SECONDS=$((SECONDS - START))

# Both must run the workload and check their own answers (they exit non-zero on a wrong get).
"$GO_BIN.tmp" 1000 1000 7 >>"$LOG" 2>&1 || die "the go-hamt-ipld runner failed its check run"
"$FVM_BIN.tmp" inline 1000 1000 7 >>"$LOG" 2>&1 || die "the fvm_ipld_hamt runner failed its check run (inline)"
"$FVM_BIN.tmp" blocks 1000 1000 7 >>"$LOG" 2>&1 || die "the fvm_ipld_hamt runner failed its check run (blocks)"

mv -f "$GO_BIN.tmp" "$GO_BIN"
mv -f "$FVM_BIN.tmp" "$FVM_BIN"
echo "built with $(go env GOVERSION) in ${GO_SECONDS}s (go-hamt-ipld) and $(rustc --version) in ${FVM_SECONDS}s (fvm_ipld_hamt) on $(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$DIR/build-time.txt"
env_stamp
env_ready peers "built in $((GO_SECONDS + FVM_SECONDS))s"
