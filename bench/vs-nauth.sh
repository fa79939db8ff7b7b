#!/usr/bin/env bash
# nauth-apply measured against NAuth: both controllers, one after the other, against the same
# kube-apiserver and nats-server of tests/testenv.sh (see BENCHMARKS.md, "nauth-apply against
# NAuth").
#
#   bench/vs-nauth.sh                      # 100 Accounts x 10 Users, both controllers and the floor
#   bench/vs-nauth.sh --accounts 20        # any option of the driver (--help lists them)
#
# It builds what is missing:
# - NAuth's manager from its git repository at $NAUTH_VERSION (default v0.7.3), cached as
#   ${NAUTH_BENCH_CACHE:-~/.cache/nauth-bench}/nauth-$NAUTH_VERSION. The source comes from
#   $NAUTH_REPO (a git repository or a bare mirror; default: a clone of the GitHub repository
#   under the cache directory), its Go modules from the Go module proxy.
# - nauth-apply and the driver (tests/src/bin/bench-vs-nauth.rs), release builds, in
#   $CARGO_TARGET_DIR (default target/).
# Then `tests/testenv.sh run` starts etcd, kube-apiserver and nats-server and runs the driver,
# which prints one JSON line per phase and a Markdown table; controller logs go to --logs
# (default /tmp/nauth-bench-logs).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
NAUTH_VERSION=${NAUTH_VERSION:-v0.7.3}
CACHE=${NAUTH_BENCH_CACHE:-$HOME/.cache/nauth-bench}
NAUTH_BIN=$CACHE/nauth-$NAUTH_VERSION
TARGET=${CARGO_TARGET_DIR:-$REPO_ROOT/target}

log() { echo "vs-nauth: $*" >&2; }

build_nauth() {
  local repo=${NAUTH_REPO:-$CACHE/nauth.git} src
  if [[ ! -d $repo ]]; then
    log "cloning NAuth into $repo"
    git clone --bare --quiet https://github.com/WirelessCar/nauth "$repo"
  fi
  src=$(mktemp -d)
  git -C "$repo" archive "$NAUTH_VERSION" | tar x -C "$src"
  log "building NAuth $NAUTH_VERSION (./cmd) into $NAUTH_BIN"
  # The Go caches of tests/testenv.sh, so its modules (k8s.io/*) are downloaded once.
  local go_cache=${NAUTH_TESTENV_CACHE:-$HOME/.cache/nauth-testenv}/go
  (cd "$src" && GOMODCACHE="$go_cache/mod" GOCACHE="$go_cache/build" GOTOOLCHAIN=local \
    CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -o "$NAUTH_BIN.tmp" ./cmd)
  mv "$NAUTH_BIN.tmp" "$NAUTH_BIN"
  rm -rf "$src"
}

mkdir -p "$CACHE"
[[ -x $NAUTH_BIN ]] || build_nauth
log "building nauth-apply and bench-vs-nauth (release)"
(cd "$REPO_ROOT" && cargo build --release --locked -p nauth-apply -p nauth-tests \
  --bin nauth-apply --bin bench-vs-nauth --bin testenv-bootstrap)
log "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "load $(cut -d' ' -f1-3 /proc/loadavg)"
cd "$REPO_ROOT"
NAUTH_TESTENV_CARGO_PROFILE=release exec tests/testenv.sh run -- \
  "$TARGET/release/bench-vs-nauth" --nauth "$NAUTH_BIN" \
  --nauth-apply "$TARGET/release/nauth-apply" "$@"
