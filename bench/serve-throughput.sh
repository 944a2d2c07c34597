#!/usr/bin/env bash
# Sustained syslog-over-TCP ingest into `kizuki serve` with durable acks
# (each connection's next batch is read only once the previous one is
# fsynced), as issue "kizuki serve" asks, on what exists so far: the
# listeners and the journal. Live detection and the index are not built yet,
# so the "with detection on" target and the search figures are not measured.
#
#   bench/serve-throughput.sh [EVENTS] [CONNECTIONS]
#
# The events are the real syslog lines of ../shared/datasets/linux/loghub
# (Linux and OpenSSH, 4,000 lines), repeated with a counter appended so
# that no two are equal, sent by CONNECTIONS concurrent bash /dev/tcp
# writers (no client to install). Prints events/s (first byte sent to last
# event stored, read from /metrics) and the journal's bytes per event beside
# the raw bytes, each beside its target. Needs curl (installed if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
WANT=${1:-2000000}
CONNS=${2:-4}
DATASETS=${KIZUKI_DATASETS:-$(cd .. && pwd)/shared/datasets}
OUT=bench/out/serve
mkdir -p bench/out
command -v curl >/dev/null || (apt-get update -qq && apt-get install -y -qq curl) >/dev/null
go build -o bench/out/kizuki ./cmd/kizuki

rm -rf "$OUT"; mkdir -p "$OUT"
per=$(( (WANT + CONNS - 1) / CONNS ))
for c in $(seq 1 "$CONNS"); do
  cat "$DATASETS"/linux/loghub/Linux/Linux_2k.log "$DATASETS"/linux/loghub/OpenSSH/OpenSSH_2k.log |
    awk -v n="$per" -v c="$c" '{ l[NR] = $0 } END { for (i = 0; i < n; i++) printf "<13>%s c=%d n=%d\n", l[i % NR + 1], c, i }' > "$OUT/in-$c.log"
done
total=$(( per * CONNS ))
raw=$(cat "$OUT"/in-*.log | wc -c)

port=$(( 20000 + RANDOM % 20000 ))
bench/out/kizuki keygen --out "$OUT/key/journal.key" > /dev/null
bench/out/kizuki serve --data "$OUT/data" --key "$OUT/key/journal.key" --syslog-udp off --syslog-tls off \
  --syslog-tcp "127.0.0.1:$port" --https "127.0.0.1:$((port + 1))" --keep-months 0 2> "$OUT/serve.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "HTTPS API" "$OUT/serve.log" && break; sleep 0.1; done
stored() {
  curl -s --cacert "$OUT/data/tls/ca-cert.pem" -H "Authorization: Bearer $(cat "$OUT/data/admin-token")" \
    "https://127.0.0.1:$((port + 1))/metrics" | awk '$1 == "kizuki_syslog_messages_total" { printf "%d", $2 }'
}

start=$(date +%s.%N)
for c in $(seq 1 "$CONNS"); do
  ( exec 3<>"/dev/tcp/127.0.0.1/$port"; cat "$OUT/in-$c.log" >&3; exec 3>&- ) &
done
n=0
for _ in $(seq 6000); do   # at most 10 minutes
  n=$(stored); [ "${n:-0}" -ge "$total" ] && break; sleep 0.1
done
end=$(date +%s.%N)
wait_senders=$(jobs -p | grep -v "^$pid$" || true); [ -z "$wait_senders" ] || wait $wait_senders 2>/dev/null || true
kill -INT "$pid"; wait "$pid" || true
trap - EXIT
disk=$(du -sb "$OUT/data/journal" | cut -f1)
bench/out/kizuki verify --data "$OUT/data" --pub "$OUT/key/journal.key.pub" | tail -1

awk -v n="$n" -v t="$total" -v s="$start" -v e="$end" -v raw="$raw" -v disk="$disk" -v c="$CONNS" 'BEGIN{
  sec = e - s
  printf "events: %d sent over %d TCP connections, %d stored (%.1f MB raw)\n", t, c, n, raw/1e6
  printf "ingest with durable acks: %.2f s = %.0f events/s (target >= 100,000 with detection on; detection is not built yet)\n", sec, n/sec
  printf "journal on disk: %.1f MB = %.1f bytes/event, %.1f%% of raw (target <= 50%% for journal + index; no index yet)\n", disk/1e6, disk/n, 100*disk/raw
  if (n < t) printf "NOT all events stored: %d of %d\n", n, t
}'
