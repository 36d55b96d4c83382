#!/usr/bin/env bash
# Checks the rule behind the default filter in .config/nextest.toml: the tests it leaves out
# (named `postgres` or `nats`, in crates that use hearth-testenv) are exactly the tests that need
# a real backend.
#
# - Every test left out must ask for a backend: run without any (no backend variables, no CI,
#   no nats-server binary), each must print its `SKIPPED (no …)` line.
# - Every other test must not: hearth-testenv fails a test that asks for a backend without the
#   name, so the default run (`cargo nextest run --workspace`) already checks that side.
#
# Usage: bash libs/testenv/check-backend-names.sh   (builds the test binaries if needed)
set -euo pipefail
cd "$(dirname "$0")/../.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
expected="$work/expected" output="$work/output"

# The tests the default profile leaves out, as `binary-id test-name` lines.
cargo nextest list --workspace --ignore-default-filter -E 'not default()' \
  --message-format oneline 2>/dev/null >"$expected"

env -u HEARTH_TEST_DATABASE_URL -u HEARTH_TEST_NATS_URL -u CI \
  HEARTH_TEST_NATS_SERVER=/nonexistent/nats-server \
  cargo nextest run --workspace --ignore-default-filter -E 'not default()' \
  --success-output immediate --status-level none --final-status-level fail \
  --hide-progress-bar >"$output" 2>&1 || {
  cat "$output"
  echo "error: a real-backend test failed without its backends (it should skip)" >&2
  exit 1
}

missing=0
total=0
while read -r binary test; do
  total=$((total + 1))
  if ! grep -qE "SKIPPED \(no .*\): ${test}\$" "$output"; then
    echo "not a backend test: ${binary} ${test} is named for a backend but ran without one" >&2
    missing=$((missing + 1))
  fi
done <"$expected"

if [ "$missing" -ne 0 ]; then
  echo "error: ${missing} of ${total} tests named for a backend did not ask for one;" \
    "rename them (see .config/nextest.toml)" >&2
  exit 1
fi
echo "ok: all ${total} tests left out of the default profile need a real backend"
