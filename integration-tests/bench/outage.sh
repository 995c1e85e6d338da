#!/usr/bin/env bash
# integration-tests/bench/outage.sh: a smarthost outage, returnpath (queue.mode = spool) and a
# private Postfix side by side (issue 18).
#
#   integration-tests/bench/outage.sh [--sizes "1000 10000 100000"] [--sessions 16] [--docs] [--keep] [--build]
#
# A benchmark, not a test: it reports numbers and never fails on time. For each size N and each
# column, on 127.0.0.1 only:
#   1. the relay starts with its smarthost down (a port where nothing listens: connections are
#      refused) and a retry time far away (returnpath first-retry = 1h; Postfix's defaults);
#   2. smtp-source sends N messages of 4 KiB over --sessions sessions: "accepted while down"
#      is N over the time until smtp-source is done;
#   3. once all N wait (N envelopes in queue/ / N files in Postfix's deferred/): the time of
#      `returnpath queue list` / `postqueue -p` (the listing to a file) three times: the first
#      (returnpath: from the list index serve refreshed in the background, if it has yet, else
#      every envelope read) and the fastest of the next two;
#      returnpath's RSS, and its heap after a full collection (jcmd GC.run, then jstat), both
#      also before step 2, so that "per waiting message" is (with N - before) / N; the peak PSS
#      over the whole run is sampled once a second (returnpath: the JVM; Postfix: master and
#      all its children, shared pages counted once);
#   4. smtp-sink starts on the smarthost's port and `queue flush` / `postqueue -f` runs: "drained"
#      is N over the time until the sink has counted all of them.
# The JVM runs as `java -jar` does, without flags (BENCH_JAVA_OPTS adds some), as a new user
# would. It needs postfix (smtp-source, smtp-sink, postqueue and the relay itself, as root),
# python3 and the JDK's jcmd and jstat; the Postfix column is left out when not root. The table
# goes to stdout and $WORK/outage.md (target/outage.md too); --docs also writes it into
# docs/benchmarks.md between the "bench:outage" markers (run it on a quiet machine: the report
# says how busy the CPUs were before and after).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BENCH=$ROOT/integration-tests/bench
PY=/usr/bin/python3
PROBE="$PY $BENCH/probe.py"

sizes="1000 10000 100000"; sessions=16; keep=0; build=0; docs=0
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes=$2; shift 2 ;;
    --sessions) sessions=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --docs) docs=1; shift ;;
    --build) build=1; shift ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--sizes \"1000 10000 100000\"] [--sessions 16] [--docs] [--keep] [--build]" >&2; exit 2 ;;
  esac
done

BENCH_NAME=outage . "$BENCH/lib.sh"
JVM_OPTS=(${BENCH_JAVA_OPTS:-})
JSTAT=${JAVA_HOME:+$JAVA_HOME/bin/}jstat
per() { $PY -c "import sys; a, b, n = sys.argv[1:]; print('%.0f' % ((float(a) - float(b)) * 1024 / int(n)) if '-' not in (a, b) else '-')" "$1" "$2" "$3"; }

rate() { $PY -c "import sys; n, ns = int(sys.argv[1]), int(sys.argv[2]); print('%.0f' % (n / (ns / 1e9)) if ns > 0 else '-')" "$1" "$2"; }
secs() { $PY -c "import sys; print('%.2f' % (int(sys.argv[1]) / 1e9))" "$1"; }
mib() { $PY -c "import sys; print('%.0f' % (int(sys.argv[1]) / 1024))" "$1"; }

$PY - "$WORK/msg-4k.txt" 4096 <<'EOF'
import sys
path, total = sys.argv[1], int(sys.argv[2])
head = ["From: Web shop <noreply@example.com>", "To: <user@example.net>", "Subject: Your order",
        "Date: Sat, 28 Nov 2026 00:00:00 +0000", "Message-ID: <outage.1@web01.internal>", ""]
size = sum(len(l) + 2 for l in head)
body, i = [], 0
while size + 78 + 80 <= total:
    body.append(("line %08d " % i).ljust(76, "x")); size += 78; i += 1
body.append("y" * (total - size - 2))
open(path, "w").write("\n".join(head + body) + "\n")
EOF
MSG=$WORK/msg-4k.txt

# send PORT N: nanoseconds until smtp-source is done (every message answered)
send() {
  local t0 t1
  t0=$(now_ns)
  smtp-source -d -s "$sessions" -m "$2" -M web01.internal -f apache@web01.internal -t user@example.net \
      -F "$MSG" 127.0.0.1:"$1" >"$WORK/source.out" 2>&1 || { echo "outage: smtp-source failed: $(tail -1 "$WORK/source.out")" >&2; exit 1; }
  t1=$(now_ns)
  echo $((t1 - t0))
}

# sink PORT COUNTFILE: starts a counting smtp-sink; SINK_PID
sink() {
  local user=(); [ "$ROOT_USER" = 1 ] && user=(-u nobody)
  smtp-sink -c "${user[@]}" -m 1200 127.0.0.1:"$1" 1024 > "$2" 2>"$2.err" &
  SINK_PID=$!
  PIDS+=($!)
  wait_tcp "$1" 10 || { echo "outage: smtp-sink did not start" >&2; exit 1; }
}

# drained COUNTFILE N T0: nanoseconds from T0 until the sink counted N
drained() {
  $PROBE wait-count "$1" "$2" 900 >"$WORK/wait.out" 2>"$WORK/wait.err" || { echo "outage: $(cat "$WORK/wait.err")" >&2; echo 0; return; }
  echo $(($(cat "$WORK/wait.out") - $3))
}

# wait_files DIR N TIMEOUT: until DIR (recursively) holds N files named *.env (returnpath) or any
# file (Postfix's deferred/), i.e. every message waits for its retry; 1 after TIMEOUT seconds
wait_files() {
  local dir=$1 n=$2 t=$3 pat=${4:-*} have=0 i
  for i in $(seq $((t * 10))); do
    have=$(find "$dir" -type f -name "$pat" 2>/dev/null | wc -l)
    [ "$have" -ge "$n" ] && return 0
    sleep 0.1
  done
  echo "outage: only $have of $n waiting in $dir after ${t}s" >&2
  return 1
}

# heap_kib PID: the heap in use after a full collection, KiB ("-" without jcmd or jstat)
heap_kib() {
  "$JCMD" "$1" GC.run >/dev/null 2>&1 || { echo "-"; return; }
  "$JSTAT" -gc "$1" 2>/dev/null | $PY -c "
import sys
rows = [l.split() for l in sys.stdin if l.strip()]
h, v = rows[0], rows[-1]
print('%.0f' % sum(float(v[h.index(c)]) for c in ('S0U', 'S1U', 'EU', 'OU') if c in h))" 2>/dev/null || echo "-"
}

# timed CMD...: seconds (2 decimals) that CMD takes, its output to $LIST_OUT
timed() { local t0 t1; t0=$(now_ns); "$@" > "$LIST_OUT" 2>"$LIST_OUT.err" || true; t1=$(now_ns); secs $((t1 - t0)); }
# list3 CMD...: "first / fastest of the next two" seconds
list3() {
  local a b c
  a=$(timed "$@"); b=$(timed "$@"); c=$(timed "$@")
  echo "$a / $($PY -c "import sys; print(min(sys.argv[1:], key=float))" "$b" "$c")"
}

declare -A ROW
# sampler ROOT...: samples the PSS of ROOT and its descendants once a second until stopped
sampler_start() { $PROBE rss-peak "$@" > "$WORK/peak.out" & SAMPLER=$!; }
sampler_stop() {  # PEAK = the peak PSS in KiB (proportional: shared pages are not counted twice)
  local pss=0
  kill -TERM "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true # in this shell, not $(...)
  read -r pss _ < "$WORK/peak.out" || pss=0
  PEAK=${pss:-0}
}
returnpath_column() {  # N
  local n=$1 dir=$WORK/rp-$n port up out t0 t1 listed cur pid
  mkdir -p "$dir/spool"
  port=$(free_port); up=$(free_port)
  cat > "$dir/returnpath.conf" <<EOF
returnpath {
  hostname = "relay.example.com"
  listen { host = "127.0.0.1", port = $port, max-connections = 1200 }
  domains { "example.com" { return-path = "bounce@example.com" } }
  delivery {
    mode = smarthost
    smarthost { host = "127.0.0.1", port = $up, tls = none }
    connect-timeout = 5s
    command-timeout = 60s
  }
  queue { mode = spool, dir = "$dir/spool", first-retry = 1h, max-retry-interval = 1h }
  dns { servers = ["127.0.0.1:$(free_port)"], timeout = 1s }
  management.port = 0
}
EOF
  out=$(cd "$dir" && $PROBE start 127.0.0.1 "$port" 60 "$dir/relay.log" -- "$JAVA" "${JVM_OPTS[@]}" \
          -jar "$JAR" serve --config "$dir/returnpath.conf") \
    || { echo "outage: returnpath did not start:" >&2; tail "$dir/relay.log" >&2; exit 1; }
  pid=${out#* }
  PIDS+=("$pid")
  local rss0 heap0 heap1
  read -r rss0 _ < <($PROBE rss "$pid")
  heap0=$(heap_kib "$pid")
  sampler_start "$pid"
  ROW[rp-accept]=$(rate "$n" "$(send "$port" "$n")")
  # the first attempts (deferred at once while the smarthost is known to be down) have moved
  # every message out of the journal
  wait_files "$dir/spool/queue" "$n" 600 '*.env' || true
  LIST_OUT=$dir/list.txt
  ROW[rp-list]=$(list3 "$JAVA" -jar "$JAR" queue list --config "$dir/returnpath.conf")
  listed=$(tail -1 "$dir/list.txt")
  read -r cur _ < <($PROBE rss "$pid")
  ROW[rp-rss]=$(mib "$cur")
  ROW[rp-rss-per]=$(per "$cur" "$rss0" "$n")
  heap1=$(heap_kib "$pid")
  ROW[rp-heap]=$([ "$heap1" = - ] && echo - || mib "$heap1")
  ROW[rp-heap-per]=$(per "$heap1" "$heap0" "$n")
  log "returnpath, $n waiting: $listed"
  sink "$up" "$dir/sink.count"
  t0=$(now_ns)
  "$JAVA" -jar "$JAR" queue flush --config "$dir/returnpath.conf" >/dev/null 2>&1
  ROW[rp-drain]=$(rate "$n" "$(drained "$dir/sink.count" "$n" "$t0")")
  sampler_stop
  ROW[rp-rss-after]=$(mib "$PEAK")
  kill "$pid" "$SINK_PID" 2>/dev/null || true
}

postfix_column() {  # N
  local n=$1 up out t0 t1 listed cur
  PF_DIR=$WORK/postfix-$n
  mkdir -p "$PF_DIR/etc" "$PF_DIR/queue" "$PF_DIR/data"
  chown postfix "$PF_DIR/data"
  local port; port=$(free_port); up=$(free_port)
  printf '@web01.internal bounce@example.com\n' > "$PF_DIR/etc/sender_canonical"
  cat > "$PF_DIR/etc/main.cf" <<EOF
compatibility_level = 3.6
config_directory = $PF_DIR/etc
queue_directory = $PF_DIR/queue
data_directory = $PF_DIR/data
maillog_file = $PF_DIR/maillog
maillog_file_prefixes = $PF_DIR
myhostname = relay.example.com
mydestination =
local_recipient_maps =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$up
sender_canonical_maps = texthash:$PF_DIR/etc/sender_canonical
sender_canonical_classes = envelope_sender
smtp_tls_security_level = none
local_transport = error:local delivery is disabled
alias_maps =
alias_database =
EOF
  { echo "127.0.0.1:$port inet n - n - - smtpd"
    cat "$ROOT/integration-tests/lib/postfix-master.cf"; } > "$PF_DIR/etc/master.cf"
  postfix -c "$PF_DIR/etc" check >>"$PF_DIR/start.log" 2>&1 || { cat "$PF_DIR/start.log" >&2; exit 1; }
  $PROBE start 127.0.0.1 "$port" 60 "$PF_DIR/start.log" -- postfix -c "$PF_DIR/etc" start >/dev/null \
    || { echo "outage: postfix did not start" >&2; cat "$PF_DIR/start.log" >&2; exit 1; }
  local master; master=$(head -1 "$PF_DIR/queue/pid/master.pid" | tr -d ' ')
  sampler_start "$master"
  ROW[pf-accept]=$(rate "$n" "$(send "$port" "$n")")
  wait_files "$PF_DIR/queue/deferred" "$n" 600 || true
  LIST_OUT=$PF_DIR/list.txt
  ROW[pf-list]=$(list3 postqueue -c "$PF_DIR/etc" -p)
  listed=$(tail -1 "$PF_DIR/list.txt")
  log "postfix, $n waiting: $listed"
  sink "$up" "$PF_DIR/sink.count"
  t0=$(now_ns)
  postqueue -c "$PF_DIR/etc" -f >/dev/null 2>&1 || true
  ROW[pf-drain]=$(rate "$n" "$(drained "$PF_DIR/sink.count" "$n" "$t0")")
  sampler_stop
  ROW[pf-rss]=$(mib "$PEAK")
  postfix -c "$PF_DIR/etc" stop >/dev/null 2>&1 || true
  PF_DIR=""
  kill "$SINK_PID" 2>/dev/null || true
}

BUSY_BEFORE=$(busy_share)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
ROWS=()
for n in $sizes; do
  log "returnpath: $n messages while the smarthost is down"
  returnpath_column "$n"
  ROWS+=("| $n | returnpath | ${ROW[rp-accept]} | ${ROW[rp-drain]} | ${ROW[rp-list]} | ${ROW[rp-rss]} MiB (${ROW[rp-rss-per]} B per waiting message), peak PSS ${ROW[rp-rss-after]} MiB | ${ROW[rp-heap]} MiB (${ROW[rp-heap-per]} B per waiting message) |")
  if [ "$ROOT_USER" = 1 ] && command -v postqueue >/dev/null 2>&1; then
    log "postfix: $n messages while the smarthost is down"
    postfix_column "$n"
    ROWS+=("| $n | Postfix 3.7 | ${ROW[pf-accept]} | ${ROW[pf-drain]} | ${ROW[pf-list]} | peak PSS ${ROW[pf-rss]} MiB (master and every child) | - |")
  fi
done
BUSY_AFTER=$(busy_share)
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs, $("$JAVA" -version 2>&1 | head -1), Postfix $(postconf -d mail_version 2>/dev/null | cut -d' ' -f3);"
  echo "CPUs busy with other work (5 s, nothing of the benchmark running) before $BUSY_BEFORE, after $BUSY_AFTER; load average before $LOAD_START, after $LOAD_END;"
  echo "$sessions smtp-source sessions, 4 KiB messages; returnpath JVM: \`java -jar\`${JVM_OPTS[*]:+ with \`${JVM_OPTS[*]}\`}."
  echo
  echo "| waiting | | accepted while down (msg/s) | drained once back (msg/s) | listing the queue, s (first / then) | resident with N waiting | heap after a full GC with N waiting |"
  echo "|---:|---|---:|---:|---:|---:|---:|"
  printf '%s\n' "${ROWS[@]}"
} > "$WORK/outage.md"
cp "$WORK/outage.md" "$ROOT/target/outage.md"
cat "$WORK/outage.md"
if [ "$docs" = 1 ]; then
  into_docs outage "$WORK/outage.md"
  log "outage: table written to docs/benchmarks.md"
fi
