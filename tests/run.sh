#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, unit tests, and the integration tests
# against a real nats-server and a real kube-apiserver (started by tests/testenv.sh, which also
# installs them, pinned, outside the repository).
set -euo pipefail
cd "$(dirname "$0")/.."

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
