#!/usr/bin/env bash
# integration-tests/bench/sidecar-memory.sh: the relay under a real container memory limit.
#
#   integration-tests/bench/sidecar-memory.sh [--limit MiB] [--messages N] [--sessions N] [--docs]
#
# Runs the relay with the container image's own JVM flags and environment (read from the
# Dockerfile's ENTRYPOINT and ENV lines, the AOT cache left out) inside a memory cgroup limited
# to --limit MiB (default 128), as a container runtime would, and reports for passthrough and
# spool mode: the resident size at idle, the peak under --sessions (16) smtp-source sessions of
# --messages (20,000) 4 KiB messages, the same for 10 MiB messages, what the cgroup charged at
# its peak (anonymous memory and page cache), and whether the kernel's OOM killer struck.
# --docs writes the table into docs/benchmarks.md between the "bench:sidecar" markers.
#
# Needs root (it creates a cgroup), postfix's smtp-source and smtp-sink, python3, a JDK 21+
# (JAVA_HOME or the PATH) and target/returnpath.jar (built when missing). Everything runs on
# 127.0.0.1; no DNS leaves the machine (the relay's resolver points at a closed loopback port).
# Not part of CI: a benchmark reports numbers, it does not pass or fail on a slow machine.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=$(command -v python3)
. "$ROOT/integration-tests/lib/ports.sh"

limit=128; n=20000; sessions=16; docs=0; nbig=32
while [ $# -gt 0 ]; do
  case $1 in
    --limit) limit=$2; shift 2 ;;
    --messages) n=$2; shift 2 ;;
    --sessions) sessions=$2; shift 2 ;;
    --docs) docs=1; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--limit MiB] [--messages N] [--sessions N] [--docs]" >&2; exit 2 ;;
  esac
done

[ "$(id -u)" = 0 ] || { echo "sidecar-memory: needs root, to create a memory cgroup" >&2; exit 77; }
for t in smtp-source smtp-sink; do
  command -v $t >/dev/null || [ -x /usr/sbin/$t ] || { echo "sidecar-memory: $t (Debian's postfix) is missing" >&2; exit 77; }
done
export PATH=/usr/sbin:$PATH
if [ -n "${JAVA_HOME:-}" ]; then JAVA=$JAVA_HOME/bin/java; else JAVA=$(command -v java); fi
JAR=$ROOT/target/returnpath.jar
[ -f "$JAR" ] || (cd "$ROOT" && mvn -q -B package -DskipTests)

# The image's flags and environment, from the Dockerfile itself (one source of truth).
mapfile -t FLAGS < <($PY - "$ROOT/Dockerfile" <<'PYEOF'
import json, re, sys
text = open(sys.argv[1]).read().replace("\\\n", " ")
m = re.search(r'^ENTRYPOINT\s+(\[.*?\])', text, re.M)
args = json.loads(m.group(1))
for a in args[1:args.index("-jar")]:
    if not a.startswith("-XX:AOTCache"):
        print(a)
PYEOF
)
mapfile -t ENVS < <(sed -n 's/^ENV \(MALLOC_[A-Z_]*=[^ ]*\).*/\1/p' "$ROOT/Dockerfile")

# A memory cgroup: v2 where the memory controller is there, else v1's memory hierarchy.
if grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
  CG=/sys/fs/cgroup/returnpath-bench.$$; mkdir "$CG"
  echo $((limit * 1048576)) > "$CG/memory.max"
  cg_peak() { cat "$CG/memory.peak" 2>/dev/null || echo 0; }
  cg_ooms() { awk '$1 == "oom_kill" {print $2}' "$CG/memory.events"; }
  cg_reset() { echo 0 > "$CG/memory.peak" 2>/dev/null || true; }
elif [ -d /sys/fs/cgroup/memory ]; then
  CG=/sys/fs/cgroup/memory/returnpath-bench.$$; mkdir "$CG"
  echo $((limit * 1048576)) > "$CG/memory.limit_in_bytes"
  cg_peak() { cat "$CG/memory.max_usage_in_bytes"; }
  cg_ooms() { awk '$1 == "oom_kill" {print $2}' "$CG/memory.oom_control"; }
  cg_reset() { echo 0 > "$CG/memory.max_usage_in_bytes"; }
else
  echo "sidecar-memory: no memory cgroup controller here" >&2; exit 77
fi

WORK=$(mktemp -d "$ROOT/target/sidecar-memory.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in $(cat "$CG/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
  sleep 0.3; rmdir "$CG" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

sink_port=$(free_port)
smtp-sink -u nobody -c "127.0.0.1:$sink_port" 256 >/dev/null 2>&1 & pids+=($!)
wait_tcp "$sink_port" 10
dead_dns=$(free_port)
big=$WORK/big.txt; head -c $((10 * 1048576 * 3 / 4)) /dev/urandom | base64 -w 76 > "$big"

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# sample PID FILE: the resident size every 200 ms while PID lives.
sample() { while kill -0 "$1" 2>/dev/null; do rss_kib "$1"; sleep 0.2; done > "$2"; }
peak_of() { sort -n "$1" | tail -n 1 | awk '{printf "%d", $1 / 1024} END {if (NR == 0) printf "-"}'; }

rows=()
for mode in passthrough spool; do
  port=$(free_port)
  conf=$WORK/$mode.conf
  cat > "$conf" <<EOF
returnpath {
  hostname = "bench.invalid"
  listen { host = "127.0.0.1", port = $port, max-connections = 300 }
  management.port = 0
  domains { "example.com" { return-path = "bounce@example.com" } }
  delivery { mode = smarthost, smarthost { host = "127.0.0.1", port = $sink_port, tls = none } }
  queue { mode = $mode, dir = "$WORK/spool-$mode" }
  dns { servers = ["127.0.0.1:$dead_dns"], timeout = 1s }
  spf.outbound-ips = []
}
EOF
  cg_reset
  ooms_before=$(cg_ooms)
  sh -c "echo \$\$ > $CG/cgroup.procs; exec env ${ENVS[*]} $JAVA ${FLAGS[*]} -jar $JAR serve --config $conf" \
    > "$WORK/$mode.log" 2>&1 & rpid=$!; disown; pids+=($rpid)
  wait_tcp "$port" 30 "$rpid" || { echo "sidecar-memory: $mode did not start"; cat "$WORK/$mode.log"; exit 1; }
  sleep 20 # idle: the JIT settled, the C heap trimmed (every 2 s)
  idle=$(( $(rss_kib "$rpid") / 1024 ))
  idle_anon=$(awk '/^RssAnon/ {printf "%d", $2 / 1024}' "/proc/$rpid/status" 2>/dev/null || echo 0)
  sample "$rpid" "$WORK/$mode.small" & spid=$!
  t0=$(date +%s.%N)
  smtp-source -c -s "$sessions" -m "$n" -l 4096 -f apache@example.com -t user@example.net \
    "127.0.0.1:$port" > "$WORK/$mode.source" 2>&1 || true
  t1=$(date +%s.%N)
  kill "$spid" 2>/dev/null || true
  small_cg=$(( $(cg_peak) / 1048576 )); cg_reset
  alive_small=yes; kill -0 "$rpid" 2>/dev/null || alive_small=no
  sample "$rpid" "$WORK/$mode.big" & spid=$!
  smtp-source -s "$sessions" -m "$nbig" -M example.com -f apache@example.com -t user@example.net \
    -F "$big" "127.0.0.1:$port" > "$WORK/$mode.bigsource" 2>&1 || true
  kill "$spid" 2>/dev/null || true
  big_cg=$(( $(cg_peak) / 1048576 ))
  alive=yes; kill -0 "$rpid" 2>/dev/null || alive=no
  ooms=$(( $(cg_ooms) - ooms_before ))
  rate=$($PY -c "print(round($n / ($t1 - $t0)))")
  errors=$(grep -c -i 'OutOfMemoryError' "$WORK/$mode.log" || true)
  rows+=("| $mode | $idle MiB ($idle_anon anonymous) | $(peak_of "$WORK/$mode.small") MiB, cgroup $small_cg MiB, $rate msg/s, alive: $alive_small | $(peak_of "$WORK/$mode.big") MiB, cgroup $big_cg MiB, alive: $alive | $ooms | $errors |")
  kill "$rpid" 2>/dev/null || true; wait "$rpid" 2>/dev/null || true
done

{
  echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs, $($JAVA -version 2>&1 | head -n 1);"
  echo "memory limit $limit MiB (a memory cgroup, which also charges the page cache); the image's flags: \`${ENVS[*]} ${FLAGS[*]}\`."
  echo
  echo "| mode | resident at idle (20 s after start) | $sessions sessions × $n × 4 KiB: peak resident | $sessions sessions × $nbig × 10 MiB: peak resident | OOM kills | OutOfMemoryError |"
  echo "|---|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
} | tee "$ROOT/target/sidecar-memory.md"

if [ "$docs" = 1 ]; then
  $PY - "$ROOT/docs/benchmarks.md" "$ROOT/target/sidecar-memory.md" <<'PYEOF'
import sys
doc, new = sys.argv[1], open(sys.argv[2]).read()
text = open(doc).read()
b, e = "<!-- bench:sidecar:begin -->\n", "<!-- bench:sidecar:end -->"
i, j = text.index(b) + len(b), text.index(e)
open(doc, "w").write(text[:i] + new + text[j:])
PYEOF
fi
