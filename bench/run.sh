#!/usr/bin/env bash
# Hearth's benchmarks, each with a pgbench baseline on the same PostgreSQL in the same run:
#
#   bash bench/run.sh            the event path (default; EVENTS=5000 CONCURRENCY=16)
#   bash bench/run.sh intake     intake registrations over gRPC (CLIENTS=64 WARMUP=5 DURATION=20)
#
# events: 1. pgbench -N (TPC-B-like without the hot rows) with as many clients as Hearth's
#            producers; 2. hearth-bench: outbox commits → relay → bus → consumer inbox, on
#            SQLite + the embedded bus and on PostgreSQL + NATS JetStream.
# intake: 1. pgbench with a custom script of one single-row INSERT (uuid key, ~1 KB text, a
#            timestamp, a second index), CLIENTS clients, WARMUP s then DURATION s; 2.
#            hearth-bench --scenario intake: CLIENTS gRPC clients registering unique households
#            with the intake service on a fresh database of the same server and NATS JetStream,
#            same warm-up and duration.
# The machine is shared and noisy: read the ratios to the baseline, not the absolute figures.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE="${1:-events}"
PGHOST="${PGHOST:-127.0.0.1}"
PGUSER="${PGUSER:-postgres}"
export PGHOST PGUSER
DATABASE_URL="postgres://${PGUSER}@${PGHOST}:5432/postgres"
NATS_URL="${NATS_URL:-nats://127.0.0.1:4222}"
BENCH="${CARGO_TARGET_DIR:-target}/release/hearth-bench"

case "$MODE" in
  events | intake) ;;
  *)
    echo "usage: bash bench/run.sh [events|intake]" >&2
    exit 2
    ;;
esac

cargo build --release --quiet -p hearth-bench

scratch="hearth_pgbench_$$"
work=$(mktemp -d)
createdb "$scratch"
trap 'dropdb --if-exists "$scratch"; rm -rf "$work"' EXIT

machine() {
  echo "machine: $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ { printf "%.0f GiB", $2/1048576 }' /proc/meminfo), Linux $(uname -r)"
  echo "servers: $(psql -XAtc 'SHOW server_version' postgres | cut -d' ' -f1) PostgreSQL (synchronous_commit $(psql -XAtc 'SHOW synchronous_commit' postgres)), $(nats-server --version 2>/dev/null || echo 'nats-server (version unknown)')"
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ), load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
}

if [ "$MODE" = events ]; then
  EVENTS="${EVENTS:-5000}"
  CONCURRENCY="${CONCURRENCY:-16}"
  pgbench -i -q -s 10 "$scratch" >/dev/null 2>&1
  baseline=$(pgbench -n -N -c "$CONCURRENCY" -j 2 -T 15 "$scratch" 2>/dev/null |
    awk '/^tps = / { printf "%.0f", $3 }')

  machine
  echo "baseline: pgbench -N, ${CONCURRENCY} clients, 15 s: ${baseline} tps"
  echo
  output=$("$BENCH" --events "$EVENTS" --concurrency "$CONCURRENCY" \
    --database-url "$DATABASE_URL" --nats-url "$NATS_URL")
  echo "$output" | grep -v '^RESULT'
  echo
  echo "ratios to the pgbench baseline (same run):"
  echo "$output" | awk -v base="$baseline" '/^RESULT/ {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    printf "  %-28s commits/pgbench-tps %.2f   end-to-end/pgbench-tps %.2f\n", v["backend"], v["commits_per_s"] / base, v["end_to_end_per_s"] / base
  }'
  exit 0
fi

# intake
CLIENTS="${CLIENTS:-64}"
WARMUP="${WARMUP:-5}"
DURATION="${DURATION:-20}"
CHANNELS="${CHANNELS:-1}"
DB_POOL="${DB_POOL:-}"

machine
echo

# A row like a registration's: a uuid key, ~1 KB of text (the sealed household), a timestamp
# and a second index; one INSERT per transaction, prepared, as sqlx sends it.
psql -Xq -v ON_ERROR_STOP=1 "$scratch" <<'SQL'
CREATE TABLE registrations (
  id uuid PRIMARY KEY,
  household text NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX registrations_created_at ON registrations (created_at);
SQL
cat >"$work/insert.sql" <<'SQL'
INSERT INTO registrations (id, household, created_at)
VALUES (gen_random_uuid(), repeat(md5(random()::text), 32), now());
SQL
# Busy and total ticks of all cores, from /proc/stat.
cpu_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }
pgbench -n -M prepared -f "$work/insert.sql" -c "$CLIENTS" -j 2 -T "$WARMUP" "$scratch" >/dev/null 2>&1
read -r busy0 total0 < <(cpu_ticks)
pgbench_out=$(cd "$work" && pgbench -n -M prepared -f insert.sql -c "$CLIENTS" -j 2 -T "$DURATION" \
  --log --log-prefix=txn "$scratch" 2>/dev/null)
read -r busy1 total1 < <(cpu_ticks)
pg_busy=$(awk -v b=$((busy1 - busy0)) -v t=$((total1 - total0)) -v n="$(nproc)" \
  'BEGIN { printf "%.2f of %d", n * b / t, n }')
baseline=$(echo "$pgbench_out" | awk '/^tps = / { printf "%.0f", $3 }')
# Per-transaction log lines: client, transaction, latency (µs), …
read -r pg_p50 pg_p90 pg_p99 pg_max < <(cat "$work"/txn.* | awk '{ print $3 }' | sort -n | awk '
  { v[NR] = $1 }
  END {
    split("0.50 0.90 0.99", f, " ")
    for (i = 1; i <= 3; i++) { r = int((NR - 1) * f[i] + 0.5) + 1; printf "%.2f ", v[r] / 1000 }
    printf "%.2f\n", v[NR] / 1000
  }')
echo "baseline: pgbench, one single-row INSERT per transaction (uuid, 1 KB text, timestamp, 2 indexes),"
echo "  ${CLIENTS} clients, -j 2, prepared, ${WARMUP} s warm-up + ${DURATION} s measured:"
echo "  ${baseline} tps   latency p50 ${pg_p50} ms  p90 ${pg_p90} ms  p99 ${pg_p99} ms  max ${pg_max} ms"
echo "  CPU: machine ${pg_busy} cores busy (pgbench, PostgreSQL and anything else running)"
echo

args=(--scenario intake --clients "$CLIENTS" --channels "$CHANNELS" --warmup-secs "$WARMUP"
  --duration-secs "$DURATION" --database-url "$DATABASE_URL" --nats-url "$NATS_URL")
if [ -n "$DB_POOL" ]; then args+=(--db-pool "$DB_POOL"); fi
output=$("$BENCH" "${args[@]}")
echo "$output" | grep -v '^RESULT'
echo
echo "against the baseline (same run) and the design targets:"
echo "$output" | awk -v base="$baseline" -v pgp99="$pg_p99" '/^RESULT/ {
  for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
  ratio = v["registrations_per_s"] / base
  printf "  registrations/s ÷ pgbench tps = %.2f   (target ≥ 0.50: %s)\n", ratio, ratio >= 0.5 ? "met" : "MISSED"
  printf "  p99 %.2f ms (pgbench p99 %.2f ms)   (target < 50 ms: %s)\n", v["p99_ms"], pgp99, v["p99_ms"] < 50 ? "met" : "MISSED"
}'
