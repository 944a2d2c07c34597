# Shared by the bench/ scripts; source it after setting OUT (a folder).
#
# measure CMD...: runs CMD RUNS times (default 5) under GNU time, its output
# to $OUT/stdout.txt and $OUT/stderr.txt (a file, not /dev/null: GNU grep
# stops at the first match when it sees its output is /dev/null). Sets
# $best (the fastest wall-clock seconds: interference from other work on a
# shared machine only ever adds time), $median, and $rss (KiB, the largest
# peak of all runs).
RUNS=${RUNS:-5}
measure() {
  best=""; rss=0; all=""
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$@" > "$OUT/stdout.txt" 2> "$OUT/stderr.txt"
    read -r sec kib < "$OUT/time.txt"
    all="$all $sec"
    if [ -z "$best" ] || awk "BEGIN{exit !($sec < $best)}"; then best=$sec; fi
    if [ "$kib" -gt "$rss" ]; then rss=$kib; fi
  done
  median=$(echo $all | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
}
