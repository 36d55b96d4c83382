#!/usr/bin/env bash
# Hearth's event-path benchmark with a same-run baseline: `bash bench/run.sh`.
#
# 1. pgbench (TPC-B-like without the hot rows, `-N`) on a scratch database of the same
#    PostgreSQL, with as many clients as Hearth's producers: what this machine does right now.
# 2. hearth-bench: outbox commits → relay → bus → consumer inbox, on SQLite + the embedded bus
#    and on PostgreSQL + NATS JetStream.
# The machine is shared and noisy: read the ratios to the baseline, not the absolute figures.
set -euo pipefail
cd "$(dirname "$0")/.."

EVENTS="${EVENTS:-5000}"
CONCURRENCY="${CONCURRENCY:-16}"
PGHOST="${PGHOST:-127.0.0.1}"
PGUSER="${PGUSER:-postgres}"
export PGHOST PGUSER
DATABASE_URL="postgres://${PGUSER}@${PGHOST}:5432/postgres"
NATS_URL="${NATS_URL:-nats://127.0.0.1:4222}"

cargo build --release --quiet -p hearth-bench

scratch="hearth_pgbench_$$"
createdb "$scratch"
trap 'dropdb --if-exists "$scratch"' EXIT
pgbench -i -q -s 10 "$scratch" >/dev/null 2>&1
baseline=$(pgbench -n -N -c "$CONCURRENCY" -j 2 -T 15 "$scratch" 2>/dev/null \
  | awk '/^tps = / { printf "%.0f", $3 }')

echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2/1048576 }' /proc/meminfo), $(uname -r)"
echo "baseline: pgbench -N, ${CONCURRENCY} clients, 15 s: ${baseline} tps"
echo
output=$(./target/release/hearth-bench --events "$EVENTS" --concurrency "$CONCURRENCY" \
  --database-url "$DATABASE_URL" --nats-url "$NATS_URL")
echo "$output" | grep -v '^RESULT'
echo
echo "ratios to the pgbench baseline (same run):"
echo "$output" | awk -v base="$baseline" '/^RESULT/ {
  for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
  printf "  %-28s commits/pgbench-tps %.2f   end-to-end/pgbench-tps %.2f\n", v["backend"], v["commits_per_s"] / base, v["end_to_end_per_s"] / base
}'
