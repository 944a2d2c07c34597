#!/usr/bin/env bash
# Throughput and memory of `kizuki analyze` on a large Squid access.log,
# beside grep -c and rg -c on the same file (the floor: reading bytes).
#
#   bench/squid-throughput.sh [LINES]      (default 10,000,000)
#
# Prints lines/s for each and the ratio ours/grep, ours/rg, and kizuki's peak
# RSS. Needs only what it installs: ripgrep and GNU time from Debian.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000000}
DATASETS=${KIZUKI_DATASETS:-$(cd .. && pwd)/shared/datasets}
OUT=bench/out
mkdir -p "$OUT"

need=()
command -v rg >/dev/null || need+=(ripgrep)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  (apt-get update -qq && apt-get install -y -qq "${need[@]}") >/dev/null
fi

go build -o "$OUT/kizuki" ./cmd/kizuki
LOG="$OUT/squid-$N-v2.log"
if [ ! -s "$LOG" ]; then
  go run ./bench/squidgen -n "$N" -datasets "$DATASETS" -out "$LOG"
fi
lines=$(wc -l < "$LOG")
bytes=$(stat -c %s "$LOG")
cat "$LOG" > /dev/null   # warm the page cache

. bench/lib.sh

measure "$OUT/kizuki" analyze --format json --config examples/org.yaml "$LOG"; ours=$best; ours_med=$median; ours_rss=$rss
measure grep -c TCP_ "$LOG"; grep_s=$best
measure rg -c TCP_ "$LOG"; rg_s=$best

awk -v l="$lines" -v b="$bytes" -v o="$ours" -v om="$ours_med" -v n="$RUNS" -v g="$grep_s" -v r="$rg_s" -v m="$ours_rss" -v c="$(nproc)" 'BEGIN{
  printf "input: %d Squid lines, %.0f MB, %d cores\n", l, b/1e6, c
  printf "%-22s %8.2f s %12.0f lines/s   (fastest of %d runs; median %.2f s, %.0f lines/s)\n", "kizuki analyze", o, l/o, n, om, l/om
  printf "%-22s %8.2f s %12.0f lines/s\n", "grep -c", g, l/g
  printf "%-22s %8.2f s %12.0f lines/s\n", "rg -c", r, l/r
  printf "ratio kizuki/grep time: %.1fx   kizuki/rg time: %.1fx\n", o/g, o/r
  printf "kizuki peak RSS: %.0f MB\n", m/1024
  printf "target: >= 1,000,000 lines/s -> %s\n", (l/o >= 1e6 ? "met" : "NOT met")
}'
