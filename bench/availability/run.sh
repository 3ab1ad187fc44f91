#!/bin/bash
# Availability applied ahead of the assignments (bench/RESULTS.md § Routing rules), on a
# PostgreSQL database migrated with every migrations/postgres/*/up.sql:
#   bash bench/availability/run.sh postgres://postgres@127.0.0.1:5432/bench
# Prints the first assignment's time without and with the chunks applied first, each chunk's
# time, and assignment latency beside marking with and without a chunk.
set -euo pipefail
URL=${1:?database URL}
cd "$(dirname "$0")"
seed() { psql -q "$URL" -f seed.sql >/dev/null 2>&1; }
timed() { psql "$URL" -c '\timing on' "$@" 2>&1 | grep '^Time' | awk '{print $2}' | tr '\n' ' '; }
seed; echo "first assignment, nothing applied ahead: $(timed -f assign.sql) ms"
seed
chunk="SELECT consultores_fila_adiantar(now(), 'America/Sao_Paulo', 200);"
echo "chunks of 200 (ms): $( (echo '\timing on'; for _ in $(seq 1 51); do echo "$chunk"; done) \
  | psql "$URL" 2>&1 | grep '^Time' | awk '{print $2}' | tr '\n' ' ')"
echo "first assignments after the chunks: $(timed -f assign.sql -f assign.sql) ms"
stats() { cat "$1".* | awk '{print $3/1000}' | sort -n \
  | awk '{a[NR]=$1} END {printf "n %d p50 %.1f p99 %.1f max %.1f ms\n", NR, a[int(NR*0.5)], a[int(NR*0.99)], a[NR]}'; }
for script in mark_only.sql timer.sql; do
  seed; psql -q "$URL" -c "SELECT consultores_fila_sincronizar(now(), 'America/Sao_Paulo', NULL)" >/dev/null
  dir=$(mktemp -d)
  pgbench -n -c 1 -R 2 -T 10 -l --log-prefix="$dir/t" -f "$script" "$URL" >/dev/null 2>&1 &
  tps=$(pgbench -n -c 8 -j 2 -T 10 -l --log-prefix="$dir/a" -f assign.sql "$URL" 2>&1 | grep '^tps')
  wait
  echo "$script: $tps; assignments $(stats "$dir/a")"
  rm -rf "$dir"
done
