#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, unit tests, and the integration tests
# against a real nats-server and a real kube-apiserver (started by tests/testenv.sh, which also
# installs them, pinned, outside the repository).
set -euo pipefail
cd "$(dirname "$0")/.."
# NAuth's conformance data (NAUTH_CONFORMANCE_DIR, default ../shared/conformance) is optional for
# a plain `cargo test`, which skips the tests that need it; here its absence fails them.
export NAUTH_CONFORMANCE_REQUIRED=1

if command -v rustup >/dev/null; then
  rustup component add rustfmt clippy >/dev/null 2>&1 || true
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== build tests"
cargo test --workspace --locked --no-run
echo "== tests (with the real servers)"
tests/testenv.sh run -- cargo test --workspace --locked -- --include-ignored
