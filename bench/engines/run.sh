#!/usr/bin/env bash
# Measures the candidate embedded search indexes on kizuki's own events
# (see README.md; figures in RESULTS.md).
#
#   bench/engines/run.sh [EVENTS] [ENGINES] [more flags...]
#
# EVENTS defaults to 2,000,000; ENGINES to every variant. Files go to
# $ENGINES_BENCH_DIR (default /tmp/engines-bench) and are removed after
# each engine's run. Prints Markdown tables; all figures also go to
# $ENGINES_BENCH_DIR/results-EVENTS.json.
set -euo pipefail
cd "$(dirname "$0")"
N=${1:-2000000}
ENGINES=${2:-null,kizuki,duckdb-map,duckdb-json,duckdb-zstd,duckdb-arrow,parquet-map,parquet-json}
shift $(( $# < 2 ? $# : 2 ))
DIR=${ENGINES_BENCH_DIR:-/tmp/engines-bench}
mkdir -p "$DIR"

# The largest variant keeps ~120 B/event; ask for 3x that.
need=$(( N * 360 / 1000000 ))
avail=$(df -Pm "$DIR" | awk 'NR==2 {print $4}')
if [ "$avail" -lt "$need" ]; then
  echo "need ~${need} MB free in $DIR, have ${avail} MB" >&2
  exit 1
fi

start=$(date +%s)
# duckdb_arrow: duckdb-go builds its Arrow interface (duckdb-arrow) only then.
go build -tags duckdb_arrow -o "$DIR/engines" .
echo "build: $(( $(date +%s) - start )) s" >&2
echo "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$DIR/engines" -events "$N" -engines "$ENGINES" -dir "$DIR" -json "$DIR/results-$N.json" "$@"
