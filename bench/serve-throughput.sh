#!/usr/bin/env bash
# Sustained syslog-over-TCP ingest into `kizuki serve` with durable acks
# (each connection's next batch is read only once the previous one is
# fsynced), with live detection (kizuki's Sigma rule pack) and the search
# index on, as issue "kizuki serve" asks.
#
#   bench/serve-throughput.sh [EVENTS] [CONNECTIONS] [RATE]
#
# Without RATE the senders send as fast as the server takes (its
# throughput, and the delays at saturation); with RATE (events/s, e.g.
# 100000, the issue's target) they are held to it with pv, and the
# arrival-to-searchable delay is that of a server under that load.
#
# The events are real lines of the sources the issue names (21,700 lines):
# a Postfix maillog (../shared/datasets/postfix/postfix-maillog-dump), the
# JPCERT example proxy, firewall and DNS logs (examples/logs) and Linux and
# OpenSSH syslog of no format kizuki parses (../shared/datasets/linux/
# loghub: kept as text, and the costliest to handle: every format is tried
# on each), interleaved and repeated with a counter appended so that no two
# are equal, sent by CONNECTIONS concurrent bash /dev/tcp writers (no client
# to install). Prints, each beside its target: events/s
# stored, and until indexed and checked by detection; the arrival-to-
# searchable delay (99th percentile over every event, from the server's
# histogram); the
# bytes on disk of journal + index per event against the raw bytes; and the
# latency of a needle search and of `| stats count by host` over everything
# stored. Needs curl (installed if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
WANT=${1:-2000000}
CONNS=${2:-4}
RATE=${3:-}
DATASETS=${KIZUKI_DATASETS:-$(cd .. && pwd)/shared/datasets}
OUT=bench/out/serve
mkdir -p bench/out
command -v curl >/dev/null || (apt-get update -qq && apt-get install -y -qq curl) >/dev/null
[ -z "$RATE" ] || command -v pv >/dev/null || (apt-get update -qq && apt-get install -y -qq pv) >/dev/null
go build -o bench/out/kizuki ./cmd/kizuki

rm -rf "$OUT"; mkdir -p "$OUT"
per=$(( (WANT + CONNS - 1) / CONNS ))
for c in $(seq 1 "$CONNS"); do
  paste -d '\n' "$DATASETS"/postfix/postfix-maillog-dump/maillog examples/logs/proxy/access_combined.log \
      examples/logs/firewall/netscreen.log examples/logs/dns/queries.log \
      "$DATASETS"/linux/loghub/Linux/Linux_2k.log "$DATASETS"/linux/loghub/OpenSSH/OpenSSH_2k.log | grep -v '^$' |
    awk -v n="$per" -v c="$c" '{ l[NR] = $0 } END { for (i = 0; i < n; i++) printf "<13>%s c=%d n=%d\n", l[i % NR + 1], c, i }' > "$OUT/in-$c.log"
done
total=$(( per * CONNS ))
raw=$(cat "$OUT"/in-*.log | wc -c)

port=$(( 20000 + RANDOM % 20000 ))
bench/out/kizuki keygen --out "$OUT/key/journal.key" > /dev/null
bench/out/kizuki serve --data "$OUT/data" --key "$OUT/key/journal.key" --syslog-udp off --syslog-tls off \
  --syslog-tcp "127.0.0.1:$port" --https "127.0.0.1:$((port + 1))" --keep-months 0 ${KIZUKI_SERVE_PROFILE:+--cpuprofile "$KIZUKI_SERVE_PROFILE"} 2> "$OUT/serve.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "HTTPS API" "$OUT/serve.log" && break; sleep 0.1; done
# One /metrics fetch per poll (each is a TLS handshake on the measured
# server), then its values.
fetch_metrics() {
  curl -s --cacert "$OUT/data/tls/ca-cert.pem" -H "Authorization: Bearer $(cat "$OUT/data/admin-token")" \
    "https://127.0.0.1:$((port + 1))/metrics" > "$OUT/metrics.txt" || true
}
metric() { awk -v m="$1" -v f="${2:-%.0f}" '$1 == m { printf f, $2 }' "$OUT/metrics.txt"; }
search_ms() {  # median of 5 runs of GET /api/v1/search, in ms, and the total found
  for _ in 1 2 3 4 5; do
    curl -s -o "$OUT/search.json" -w "%{time_total}\n" --cacert "$OUT/data/tls/ca-cert.pem" \
      -H "Authorization: Bearer $(cat "$OUT/data/admin-token")" -G --data-urlencode "q=$1" --data-urlencode "limit=10" \
      "https://127.0.0.1:$((port + 1))/api/v1/search"
  done | sort -n | awk 'NR == 3 { printf "%.0f", $1 * 1000 }'
  printf " %s" "$(sed -n 's/.*"total":\([0-9]*\).*/\1/p' "$OUT/search.json")"
}

start=$(date +%s.%N)
for c in $(seq 1 "$CONNS"); do
  if [ -n "$RATE" ]; then  # bytes/s per connection for RATE events/s in all
    bps=$(( RATE * raw / total / CONNS ))
    ( exec 3<>"/dev/tcp/127.0.0.1/$port"; pv -q -L "$bps" "$OUT/in-$c.log" >&3; exec 3>&- ) &
  else
    ( exec 3<>"/dev/tcp/127.0.0.1/$port"; cat "$OUT/in-$c.log" >&3; exec 3>&- ) &
  fi
done
n=0 stored_at=""
for _ in $(seq 3000); do   # at most 10 minutes
  fetch_metrics
  n=$(metric kizuki_syslog_messages_total)
  if [ -z "$stored_at" ] && [ "${n:-0}" -ge "$total" ]; then stored_at=$(date +%s.%N); fi
  idx=$(metric kizuki_index_records_total); det=$(metric kizuki_detection_checked_total)
  [ "${idx:-0}" -ge "$total" ] && [ "${det:-0}" -ge "$total" ] && break
  sleep 0.2
done
p99=$(metric kizuki_index_lag_p99_seconds %.3f)
end=$(date +%s.%N)
wait_senders=$(jobs -p | grep -v "^$pid$" || true); [ -z "$wait_senders" ] || wait $wait_senders 2>/dev/null || true
# A needle (one event of all) and an aggregation over everything stored.
needle=$(search_ms "\"c=2 n=$((per / 2))\"")
agg=$(search_ms '| stats count by host')
rss=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")
kill -INT "$pid"; wait "$pid" || true
trap - EXIT
jdisk=$(du -sb "$OUT/data/journal" | cut -f1)
idisk=$(du -sb "$OUT/data/index" | cut -f1)
bench/out/kizuki verify --data "$OUT/data" --pub "$OUT/key/journal.key.pub" | tail -1

awk -v n="$n" -v t="$total" -v s="$start" -v st="${stored_at:-$end}" -v e="$end" -v raw="$raw" -v jd="$jdisk" -v id="$idisk" -v c="$CONNS" \
    -v idx="$idx" -v det="$det" -v p99="$p99" -v needle="$needle" -v agg="$agg" -v rss="$rss" -v rate="$RATE" 'BEGIN{
  split(needle, nd, " "); split(agg, ag, " ")
  printf "events: %d sent over %d TCP connections%s, %d stored (%.1f MB raw)\n", t, c, (rate != "" ? " at " rate " events/s" : " as fast as taken"), n, raw/1e6
  printf "ingest with durable acks: %.2f s = %.0f events/s stored; %.2f s = %.0f events/s indexed and checked by live detection (target >= 100,000 with detection on)\n", st - s, n/(st - s), e - s, idx/(e - s)
  printf "arrival to searchable, p99 over every event of the run: %.3f s (target <= 1 s)\n", p99
  printf "on disk: journal %.1f MB + index %.1f MB = %.1f bytes/event, %.1f%% of raw (target <= 50%%)\n", jd/1e6, id/1e6, (jd+id)/n, 100*(jd+id)/raw
  printf "needle search over %d events: %d ms, %d found (target <= 1000 ms over 10M)\n", n, nd[1], nd[2]
  printf "| stats count by host over %d events: %d ms\n", n, ag[1]
  printf "server peak RSS: %.0f MB\n", rss/1024
  if (n < t || idx < t || det < t) printf "NOT all events stored/indexed/checked: %d / %d / %d of %d\n", n, idx, det, t
}'
