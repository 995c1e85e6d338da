#!/usr/bin/env bash
# integration-tests/bench/run.sh: returnpath against the ceiling and against Postfix, in one run.
#
#   integration-tests/bench/run.sh [--quick] [--reps N] [--no-docs] [--keep] [--build] [--tls-only] [--outage]
#
# A benchmark, not a test: it reports numbers and never fails on time (it exits non-zero only
# when it cannot run at all). It builds target/returnpath.jar when it is missing (or with
# --build) and installs nothing. It needs, from Debian: postfix (smtp-source, smtp-sink and the
# peer relay), nsd (the DNS server that answers the SPF guard), python3 (probe.py), and a JDK 21+
# (JAVA_HOME, else java on PATH) with Maven for the build. The Postfix column needs root.
#
# Everything runs on 127.0.0.1, under target/bench/run.XXXXXX (kept with --keep). Side by side:
#   ceiling      smtp-source -> smtp-sink
#   passthrough  smtp-source -> returnpath (queue.mode = passthrough) -> smtp-sink
#   spool        smtp-source -> returnpath (queue.mode = spool, fsync before 250) -> smtp-sink
#   postfix      smtp-source -> a private Postfix (relayhost + sender_canonical_maps) -> smtp-sink
# Both returnpath columns rewrite the envelope sender (From: example.com, MAIL FROM
# apache@web01.internal -> bounce@example.com) with the SPF guard on, answered by NSD.
# Then the cost of TLS: a relay with listen.tls and a users file (600,000 PBKDF2 iterations, as
# `returnpath passwd` writes) takes a session per message, as msmtp opens one per PHP mail():
# plain (smtp-source, and probe.py), STARTTLS, and STARTTLS + AUTH PLAIN (probe.py; smtp-source
# has no TLS). --tls-only runs that table alone (and needs openssl). --outage then runs the
# smarthost-outage benchmark (bench/outage.sh: 1,000, 10,000 and 100,000 waiting, returnpath and
# Postfix side by side; about 6 minutes more) and, unless --no-docs, writes its table too.
#
# Every rate is end to end: from smtp-source's start until both smtp-source has exited and the
# column's own smtp-sink has counted every message (smtp-sink -c). The ratios are to the ceiling
# measured in the same run, interleaved with the other columns. See docs/benchmarks.md for what
# each number means. The table goes to stdout, to $WORK/results.md and (unless --no-docs) into
# docs/benchmarks.md between the "bench:results" markers.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BENCH=$ROOT/integration-tests/bench
PY=/usr/bin/python3
PROBE="$PY $BENCH/probe.py"

quick=0; reps=3; docs=1; keep=0; build=0; tls_only=0; outage=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; reps=1; shift ;;
    --reps) reps=$2; shift 2 ;;
    --no-docs) docs=0; shift ;;
    --keep) keep=1; shift ;;
    --build) build=1; shift ;;
    --tls-only) tls_only=1; shift ;;
    --outage) outage=1; shift ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--quick] [--reps N] [--no-docs] [--keep] [--build] [--tls-only] [--outage]" >&2; exit 2 ;;
  esac
done

# --- what it needs -------------------------------------------------------------------------------
BENCH_NAME=bench . "$BENCH/lib.sh"   # need, JAVA, JCMD, JAR, ROOT_USER, WORK and its cleanup, log, now_ns
need nsd nsd

# The relay's JVM: the container image's flags (Dockerfile ENTRYPOINT: Serial GC, heap 35% of the
# memory limit, small stacks), with -XX:MaxRAM=512m standing in for a 512 MiB container limit
# (max heap 179 MiB, initial 25 MiB). BENCH_JAVA_OPTS replaces them.
JVM_OPTS=(${BENCH_JAVA_OPTS:--XX:+UseSerialGC -XX:MaxRAMPercentage=35 -XX:MinRAMPercentage=35 -XX:InitialRAMPercentage=5 -Xss512k -XX:ReservedCodeCacheSize=24m -XX:MaxMetaspaceSize=128m -XX:TrimNativeHeapInterval=2000 -XX:+ExitOnOutOfMemoryError -XX:MaxRAM=512m})

# Message counts per measurement (each lasts a few seconds at the ceiling).
if [ "$quick" = 1 ]; then N1=500; N16=4000; N64=4000; WARM=3000; NBIG1=4; NBIG16=32; CONC=50; IDLE=1000
else N1=1000; N16=10000; N64=10000; WARM=10000; NBIG1=10; NBIG16=64; CONC=200; IDLE=1000; fi
# a session per message: the TCP (and TLS) setup is in every message
if [ "$quick" = 1 ]; then NSESS=400; else NSESS=2000; fi
SESSIONS=(1 16 64)
FROM=apache@web01.internal
RCPT=user@example.net

# --- the messages ---------------------------------------------------------------------------------
# What an app hands over: From: in a configured domain, envelope sender the host name. 4 KiB and
# 10 MiB exactly, counted with CRLF line ends as they go on the wire (smtp-source -F adds CR).
make_message() {  # FILE BYTES
  $PY - "$1" "$2" <<'EOF'
import sys
path, total = sys.argv[1], int(sys.argv[2])
head = ["From: Web shop <noreply@example.com>", "To: <user@example.net>", "Subject: Your order",
        "Date: Sat, 28 Nov 2026 00:00:00 +0000", "Message-ID: <bench.1@web01.internal>",
        "MIME-Version: 1.0", "Content-Type: text/plain; charset=us-ascii", ""]
size = sum(len(l) + 2 for l in head)
body, i = [], 0
while size + 78 + 80 <= total:
    line = ("line %08d " % i).ljust(76, "x")
    body.append(line); size += 78; i += 1
body.append("y" * (total - size - 2))
with open(path, "w") as f:
    f.write("\n".join(head + body) + "\n")
EOF
}
MSG4K=$WORK/msg-4k.txt; make_message "$MSG4K" 4096
MSG10M=$WORK/msg-10m.txt; make_message "$MSG10M" 10485760

# --- DNS: NSD serving the SPF record --------------------------------------------------------------
start_dns() {
  mkdir -p "$WORK/dns"
  DNS_PORT=$(free_port)
  cat > "$WORK/dns/example.com.zone" <<EOF
\$ORIGIN example.com.
\$TTL 300
@       IN SOA ns1.example.com. hostmaster.example.com. ( 1 3600 600 86400 300 )
        IN NS  ns1.example.com.
        IN TXT "v=spf1 ip4:203.0.113.5 -all"
_dmarc  IN TXT "v=DMARC1; p=reject"
ns1     IN A   127.0.0.1
relay   IN A   203.0.113.5
EOF
  cat > "$WORK/dns/113.0.203.in-addr.arpa.zone" <<EOF
\$ORIGIN 113.0.203.in-addr.arpa.
\$TTL 300
@       IN SOA ns1.example.com. hostmaster.example.com. ( 1 3600 600 86400 300 )
        IN NS  ns1.example.com.
5       IN PTR relay.example.com.
EOF
  cat > "$WORK/dns/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1@$DNS_PORT
    do-ip6: no
    username: ""
    chroot: ""
    zonesdir: "$WORK/dns"
    database: ""
    zonelistfile: "$WORK/dns/zone.list"
    xfrdfile: "$WORK/dns/xfrd.state"
    xfrdir: "$WORK/dns"
    pidfile: "$WORK/dns/nsd.pid"
    logfile: "$WORK/dns/nsd.log"
    server-count: 1
    verbosity: 1
remote-control:
    control-enable: no
zone:
    name: example.com
    zonefile: example.com.zone
zone:
    name: 113.0.203.in-addr.arpa
    zonefile: 113.0.203.in-addr.arpa.zone
EOF
  nsd -d -c "$WORK/dns/nsd.conf" >>"$WORK/dns/nsd.log" 2>&1 &
  PIDS+=($!)
  local i out=""
  for ((i = 0; i < 50; i++)); do
    out=$("$JAVA" -jar "$JAR" check-spf --ip 203.0.113.5 --sender bounce@example.com \
            --dns-server "127.0.0.1:$DNS_PORT" --dns-timeout 1s 2>/dev/null || true)
    [ "${out%%$'\t'*}" = pass ] && break
    sleep 0.2
  done
  [ "${out%%$'\t'*}" = pass ] || { echo "bench: NSD did not answer the SPF record (see $WORK/dns/nsd.log)" >&2; exit 1; }
  log "dns: NSD on 127.0.0.1:$DNS_PORT; check-spf bounce@example.com from 203.0.113.5: pass"
}

# --- sinks: one smtp-sink per column, counting ------------------------------------------------------
declare -A SINK_PORT SINK_COUNT SINK_PID
start_sink() {  # COLUMN
  local port; port=$(free_port)
  local user=(); [ "$ROOT_USER" = 1 ] && user=(-u nobody)
  SINK_COUNT[$1]=$WORK/sink-$1.count
  smtp-sink -c "${user[@]}" -m 1200 127.0.0.1:"$port" 1024 > "${SINK_COUNT[$1]}" 2>"$WORK/sink-$1.err" &
  SINK_PID[$1]=$!
  PIDS+=($!)
  wait_tcp "$port" 10 || { echo "bench: smtp-sink did not start" >&2; exit 1; }
  SINK_PORT[$1]=$port
}

# --- returnpath -------------------------------------------------------------------------------------
declare -A RELAY_PORT RELAY_PID RELAY_T0
write_relay_conf() {  # DIR PORT SINKPORT MODE
  cat > "$1/returnpath.conf" <<EOF
returnpath {
  hostname = "relay.example.com"
  listen {
    host = "127.0.0.1"
    port = $2
    max-connections = 1200   # every client is 127.0.0.1: no connections-per-client on loopback
  }
  domains {
    "example.com" { return-path = "bounce@example.com" }
  }
  delivery {
    mode = smarthost
    smarthost { host = "127.0.0.1", port = $3, tls = none }
    connect-timeout = 5s
    command-timeout = 60s
  }
  queue {
    mode = $4
    dir = "$1/spool"
  }
  dns { servers = ["127.0.0.1:$DNS_PORT"], timeout = 2s }
  spf { outbound-ips = ["203.0.113.5"], on-fail = tempfail }
  management.port = 0
}
${RELAY_EXTRA:-}
EOF
}

# start_relay NAME MODE SINKCOLUMN [JVM FLAGS...]: RELAY_START_MS = milliseconds to the first greeting
start_relay() {
  local name=$1 mode=$2 sink=$3; shift 3
  local dir=$WORK/relay-$name port out
  mkdir -p "$dir/spool"
  port=$(free_port)
  write_relay_conf "$dir" "$port" "${SINK_PORT[$sink]}" "$mode"
  RELAY_T0[$name]=$(now_ns)
  out=$(cd "$dir" && $PROBE start 127.0.0.1 "$port" 60 "$dir/relay.log" -- "$JAVA" "${JVM_OPTS[@]}" "$@" \
          -Xlog:gc:file="$dir/gc.log":uptime -jar "$JAR" serve --config "$dir/returnpath.conf") \
    || { echo "bench: returnpath ($name) did not start:" >&2; tail "$dir/relay.log" >&2; exit 1; }
  RELAY_PORT[$name]=$port
  RELAY_PID[$name]=${out#* }
  PIDS+=("${RELAY_PID[$name]}")
  RELAY_START_MS=${out%% *}
}

stop_relay() {  # NAME
  local pid=${RELAY_PID[$1]}
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

# queue.mode = spool exists when the jar has the queue package (the spool and its command)
relay_supports_spool() {
  $PY -c "import sys, zipfile; sys.exit(0 if any(n.startswith('dev/returnpath/queue/') and n.endswith('.class') for n in zipfile.ZipFile(sys.argv[1]).namelist()) else 1)" "$JAR"
}

# --- Postfix as the same relay ------------------------------------------------------------------------
start_postfix() {
  PF_DIR=$WORK/postfix
  mkdir -p "$PF_DIR/etc" "$PF_DIR/queue" "$PF_DIR/data"
  chown postfix "$PF_DIR/data"
  PF_PORT=$(free_port)
  printf '@web01.internal bounce@example.com\n' > "$PF_DIR/etc/sender_canonical"
  cat > "$PF_DIR/etc/main.cf" <<EOF
# Postfix as the same relay as returnpath: relayhost to the sink, the envelope sender rewritten
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
relayhost = [127.0.0.1]:${SINK_PORT[postfix]}
sender_canonical_maps = texthash:$PF_DIR/etc/sender_canonical
sender_canonical_classes = envelope_sender
message_size_limit = 26214400
smtp_tls_security_level = none
local_transport = error:local delivery is disabled
alias_maps =
alias_database =
EOF
  { echo "127.0.0.1:$PF_PORT inet n - n - - smtpd"
    cat "$ROOT/integration-tests/lib/postfix-master.cf"; } > "$PF_DIR/etc/master.cf"
  postfix -c "$PF_DIR/etc" check >>"$PF_DIR/start.log" 2>&1 || { cat "$PF_DIR/start.log" >&2; exit 1; }
  local out
  out=$($PROBE start 127.0.0.1 "$PF_PORT" 60 "$PF_DIR/start.log" -- postfix -c "$PF_DIR/etc" start) \
    || { echo "bench: postfix did not start" >&2; cat "$PF_DIR/start.log" >&2; exit 1; }
  PF_START_MS=${out%% *}
  PF_MASTER=$(head -1 "$PF_DIR/queue/pid/master.pid" | tr -d ' ')
}

# --- one measurement ----------------------------------------------------------------------------------
declare -A TARGET_PORT COL_PIDS
# children_cpu_us FILE: the CPU of this shell's waited-for children so far (bash's `times`, run in
# this shell: a $(...) would be a new process with no children), in microseconds
children_cpu_us() { times > "$1"; }
cpu_of_times() { tail -1 "$1" | $PY -c "import re, sys; m = re.findall(r'(\d+)m([\d.]+)s', sys.stdin.read()); print(int(sum(int(a) * 60 + float(b) for a, b in m) * 1e6))"; }
# load HOW COLUMN SESSIONS COUNT MSGFILE: the client side of a measurement. smtp-source: many
# messages per session (-d); per-session: smtp-source, a session per message; plain, starttls,
# auth: probe.py sessions, a session per message (the certificate verified against TLS_CA; AUTH
# PLAIN as user bench, its password in the environment)
load() {
  local port=${TARGET_PORT[$2]}
  case $1 in
    smtp-source) smtp-source -d -s "$3" -m "$4" -M web01.internal -f "$FROM" -t "$RCPT" -F "$5" 127.0.0.1:"$port" ;;
    per-session) smtp-source -s "$3" -m "$4" -M web01.internal -f "$FROM" -t "$RCPT" -F "$5" 127.0.0.1:"$port" ;;
    plain|starttls|auth)
      BENCH_SMTP_PASSWORD=$TLS_PASSWORD $PROBE sessions 127.0.0.1 "$port" "$3" "$4" "$5" "$FROM" "$RCPT" "$1" "$TLS_CA" bench ;;
  esac
}
# measure COLUMN SESSIONS COUNT MSGFILE [HOW]: prints "msgs/s seconds cpu-source cpu-column cpu-sink", the
# CPU in microseconds per message (of smtp-source, of the column's processes, of its smtp-sink;
# "-" for the ceiling's column, which is its sink), or "error ..."
measure() {
  local col=$1 s=$2 n=$3 msg=$4
  local countfile=${SINK_COUNT[$col]} before t0 t1 tsink waiter rc=0 c0 c1 k0 k1 g0=0 g1=0
  before=$($PY -c "import sys; sys.path.insert(0, '$BENCH'); import probe; print(probe.sink_count('$countfile'))")
  k0=$($PROBE cpu "${SINK_PID[$col]}")
  [ -n "${COL_PIDS[$col]:-}" ] && g0=$($PROBE cpu ${COL_PIDS[$col]})
  children_cpu_us "$WORK/times.0"
  $PROBE wait-count "$countfile" $((before + n)) 900 > "$WORK/wait.out" 2>"$WORK/wait.err" &
  waiter=$!
  t0=$(now_ns)
  load "${5:-smtp-source}" "$col" "$s" "$n" "$msg" >"$WORK/source.out" 2>&1 || rc=$?
  t1=$(now_ns)
  children_cpu_us "$WORK/times.1"
  if [ "$rc" != 0 ]; then
    kill "$waiter" 2>/dev/null || true; wait "$waiter" 2>/dev/null || true
    echo "error smtp-source: $(tail -1 "$WORK/source.out")"
    return 0
  fi
  if ! wait "$waiter"; then
    echo "error $(cat "$WORK/wait.err")"
    return 0
  fi
  k1=$($PROBE cpu "${SINK_PID[$col]}")
  [ -n "${COL_PIDS[$col]:-}" ] && g1=$($PROBE cpu ${COL_PIDS[$col]})
  tsink=$(cat "$WORK/wait.out")
  [ "$tsink" -gt "$t1" ] && t1=$tsink
  c0=$(cpu_of_times "$WORK/times.0"); c1=$(cpu_of_times "$WORK/times.1")
  $PY -c "print('%.1f %.3f %d %s %d' % ($n / (($t1 - $t0) / 1e9), ($t1 - $t0) / 1e9, ($c1 - $c0) / $n,
           '-' if '${COL_PIDS[$col]:-}' == '' else '%d' % (($g1 - $g0) / $n), ($k1 - $k0) / $n))"
}

# --- memory of a column, per phase ----------------------------------------------------------------------
# The sampled peak RSS of the column's processes (the JVM; Postfix's whole process tree), and for a
# JVM the heap from its GC log over the phase: the largest heap after a collection, and the largest
# heap in use just before one (the peak).
declare -A COL_PIDS
declare -A RSS_SAMPLER
rss_start() { $PROBE rss-peak ${COL_PIDS[$1]} > "$WORK/rss-$1.out" & RSS_SAMPLER[$1]=$!; }
rss_stop() {  # COLUMN PHASE: RSS[COLUMN,PHASE] = the peak, MiB
  kill "${RSS_SAMPLER[$1]}"; wait "${RSS_SAMPLER[$1]}" 2>/dev/null || true
  local pss; read -r pss _ < "$WORK/rss-$1.out"
  RSS[$1,$2]=$(( pss / 1024 ))
}
jvm_uptime_s() { $PY -c "print(($(now_ns) - ${RELAY_T0[$1]}) / 1e9)"; }
# heap_over NAME FROM TO (JVM uptime seconds): "after-max before-max" in MiB, "-" when no GC ran
heap_over() {
  $PY - "$WORK/relay-$1/gc.log" "$2" "$3" <<'EOF'
import re, sys
path, t0, t1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
after = before = None
for line in open(path):
    m = re.match(r"\[(\d+\.\d+)s\].*Pause.* (\d+)M->(\d+)M\((\d+)M\)", line)
    if not m:
        continue
    t = float(m.group(1))
    if t0 <= t <= t1:
        b, a = int(m.group(2)), int(m.group(3))
        after = a if after is None else max(after, a)
        before = b if before is None else max(before, b)
print("%s %s" % ("-" if after is None else after, "-" if before is None else before))
EOF
}
# settle COLUMN: until the column's sink count has not moved for 2 s (a spool or Postfix column
# delivering what a killed load left behind), so that the next measurement starts clean.
settle() {
  local last=-1 c same=0
  while [ "$same" -lt 20 ]; do
    c=$($PY -c "import sys; sys.path.insert(0, '$BENCH'); import probe; print(probe.sink_count('${SINK_COUNT[$1]}'))")
    if [ "$c" = "$last" ]; then same=$((same + 1)); else same=0; last=$c; fi
    sleep 0.1
  done
}
# live_heap NAME: a full collection now (jcmd GC.run), and the heap it left, in MiB ("-" without jcmd)
live_heap() {
  local log=$WORK/relay-$1/gc.log
  if ! "$JCMD" "${RELAY_PID[$1]}" GC.run >/dev/null 2>&1; then echo "-"; return; fi
  sleep 0.3
  grep 'Pause Full' "$log" | tail -1 | sed -E 's/.* [0-9]+M->([0-9]+)M\(.*/\1/'
}
median() { printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g | awk '{a[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }

# --- the cost of TLS: a session per message, plain, STARTTLS, STARTTLS + AUTH ------------------------
# A private CA and the relay's certificate (EC P-256, for localhost), a users file from
# `returnpath passwd` (the shipped 600,000 iterations), a relay of its own with listen.tls and
# listen.auth (loopback is still in allowed-networks: the plain rows need no AUTH), its own sink.
# Writes $WORK/tls.md.
tls_phase() {
  need openssl openssl
  local k=$WORK/tls
  mkdir -p "$k"; chmod 700 "$k"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=bench CA" \
    -keyout "$k/ca.key" -out "$k/ca.pem" 2>/dev/null
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$k/key.pem" 2>/dev/null
  openssl req -new -key "$k/key.pem" -subj "/CN=localhost" -out "$k/relay.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' > "$k/ext.cnf"
  openssl x509 -req -in "$k/relay.csr" -CA "$k/ca.pem" -CAkey "$k/ca.key" -CAcreateserial -days 2 \
    -extfile "$k/ext.cnf" -out "$k/cert.pem" 2>/dev/null
  chmod 600 "$k/key.pem"
  TLS_CA=$k/ca.pem
  TLS_PASSWORD="bench-$RANDOM-$RANDOM-password"
  printf '%s\n' "$TLS_PASSWORD" | "$JAVA" -jar "$JAR" passwd bench > "$k/users"
  chmod 600 "$k/users"
  start_sink tls
  RELAY_EXTRA="returnpath.listen { tls { cert-file = \"$k/cert.pem\", key-file = \"$k/key.pem\" }, auth.users-file = \"$k/users\" }"
  start_relay tls passthrough tls
  RELAY_EXTRA=""
  TARGET_PORT[tls]=${RELAY_PORT[tls]}; COL_PIDS[tls]=${RELAY_PID[tls]}
  measure tls 16 "$WARM" "$MSG4K" >/dev/null            # JIT, not measured
  measure tls 16 200 "$MSG4K" starttls >/dev/null      # and the TLS code
  local how out rows="" rate cs ct ck
  for how in per-session plain starttls auth; do
    out=$(measure tls 16 "$NSESS" "$MSG4K" "$how")
    log "tls: $how, 16 sessions, $NSESS messages (a session each): $out"
    case $how in
      per-session) rows+="| plain, smtp-source |" ;;
      plain) rows+="| plain, probe.py |" ;;
      starttls) rows+="| STARTTLS, probe.py |" ;;
      auth) rows+="| STARTTLS + AUTH PLAIN, probe.py |" ;;
    esac
    if [ "${out%% *}" = error ]; then rows+=" $out | - |"$'\n'
    else read -r rate _ cs ct ck <<< "$out"; rows+=" $rate | $cs / $ct / $ck |"$'\n'; fi
  done
  stop_relay tls
  {
    echo "**The cost of TLS: 4 KiB messages, a session per message (as msmtp opens one per PHP \`mail()\`), 16 sessions, passthrough**"
    echo "(the relay with \`listen.tls\`, an EC P-256 certificate, and a users file of 600,000 PBKDF2 iterations, of which the first AUTH pays the full check and the others the remembered one; $NSESS messages a row)"
    echo
    echo "| session | messages/s | CPU per message, µs: client / relay / sink |"
    echo "|---|---:|---:|"
    printf '%s' "$rows"
  } > "$WORK/tls.md"
}

# ======================================================================================================
# The file system under the spools: a journal or not changes what an fsync and a create cost.
FS_NOTE=$(findmnt -no FSTYPE,SOURCE -T "$WORK" 2>/dev/null | head -1 | tr -s " ")
if [ "${FS_NOTE%% *}" = ext4 ]; then
  dev=$(basename "${FS_NOTE#* }")
  if [ "$(cat "/sys/fs/ext4/$dev/journal_task" 2>/dev/null)" = "<none>" ]; then FS_NOTE="$FS_NOTE, ext4 without a journal"
  else FS_NOTE="$FS_NOTE, ext4 with a journal"; fi
fi
log "bench: work directory $WORK ($FS_NOTE)"

BUSY_BEFORE=$(busy_share)
log "bench: CPUs busy with other work before the run: $BUSY_BEFORE"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
start_dns
if [ "$tls_only" = 1 ]; then
  tls_phase
  cat "$WORK/tls.md"
  exit 0
fi
start_sink ceiling; TARGET_PORT[ceiling]=${SINK_PORT[ceiling]}
COLUMNS=(ceiling passthrough)
start_sink passthrough

# --- start to listening ----------------------------------------------------------------------------------
# Five cold starts of the plain jar (first greeting read on the socket), then with an AOT cache
# (JDK 25, JEP 483) recorded from a training run, as the container image does.
START_PLAIN=(); START_AOT=()
for i in 1 2 3 4 5; do
  start_relay start passthrough passthrough; START_PLAIN+=("$RELAY_START_MS"); stop_relay start
done
AOT=$WORK/returnpath.aot
if "$JAVA" -XX:AOTCacheOutput=/dev/null -version >/dev/null 2>&1; then
  start_relay aot-train passthrough passthrough -XX:AOTCacheOutput="$AOT"
  smtp-source -s 1 -m 20 -M web01.internal -f "$FROM" -t "$RCPT" -F "$MSG4K" 127.0.0.1:"${RELAY_PORT[aot-train]}" || true
  stop_relay aot-train
  if [ -s "$AOT" ]; then
    for i in 1 2 3 4 5; do
      start_relay start passthrough passthrough -XX:AOTCache="$AOT"; START_AOT+=("$RELAY_START_MS"); stop_relay start
    done
  fi
fi
log "start to first greeting: plain ${START_PLAIN[*]} ms; AOT cache ${START_AOT[*]:-n/a} ms"

# --- 1,000 idle connections ----------------------------------------------------------------------------
start_relay idle passthrough passthrough
sleep 3
IDLE_RSS0=$($PROBE rss "${RELAY_PID[idle]}" | cut -d' ' -f1)
IDLE_OK=0
$PROBE idle 127.0.0.1 "${RELAY_PORT[idle]}" "$IDLE" "$WORK/idle.ready" 2>"$WORK/idle.err" &
IDLE_PROBE=$!
for _ in $(seq 600); do [ -s "$WORK/idle.ready" ] && break; kill -0 "$IDLE_PROBE" 2>/dev/null || break; sleep 0.1; done
if [ -s "$WORK/idle.ready" ]; then
  IDLE_OK=$(cat "$WORK/idle.ready")
  sleep 3
  IDLE_RSS1=$($PROBE rss "${RELAY_PID[idle]}" | cut -d' ' -f1)
fi
kill "$IDLE_PROBE" 2>/dev/null || true; wait "$IDLE_PROBE" 2>/dev/null || true
stop_relay idle
if [ "$IDLE_OK" -gt 0 ]; then
  IDLE_DELTA=$(( (IDLE_RSS1 - IDLE_RSS0) / 1024 ))
  log "idle connections: $IDLE_OK held; RSS $((IDLE_RSS0 / 1024)) -> $((IDLE_RSS1 / 1024)) MiB (+$IDLE_DELTA MiB)"
else
  IDLE_DELTA=error; log "idle connections: could not open them: $(tail -1 "$WORK/idle.err")"
fi

# --- the columns ------------------------------------------------------------------------------------------
start_relay passthrough passthrough passthrough
TARGET_PORT[passthrough]=${RELAY_PORT[passthrough]}; COL_PIDS[passthrough]=${RELAY_PID[passthrough]}
if relay_supports_spool; then
  start_sink spool
  start_relay spool spool spool
  TARGET_PORT[spool]=${RELAY_PORT[spool]}; COL_PIDS[spool]=${RELAY_PID[spool]}
  COLUMNS+=(spool)
else
  log "spool: this build has no queue.mode = spool; the column is skipped"
fi
if [ "$ROOT_USER" = 1 ]; then
  start_sink postfix
  start_postfix
  TARGET_PORT[postfix]=$PF_PORT; COL_PIDS[postfix]=$PF_MASTER
  COLUMNS+=(postfix)
  log "postfix: $(postconf -d mail_version | cut -d' ' -f3) on 127.0.0.1:$PF_PORT, started in $PF_START_MS ms"
else
  log "postfix: needs root to start a private instance; the column is skipped"
fi

# Warm-up: JIT for the JVMs, process pools for Postfix; not measured.
for col in "${COLUMNS[@]}"; do
  measure "$col" 16 "$WARM" "$MSG4K" >/dev/null
done
log "warmed up: ${COLUMNS[*]}"

declare -A RATE RSS HEAP CPU_SRC CPU_COL CPU_SINK
# 4 KiB at 1, 16 and 64 sessions: each repetition measures every column in turn.
declare -A COUNT=([1]=$N1 [16]=$N16 [64]=$N64)
for col in "${COLUMNS[@]}"; do [ "$col" = ceiling ] || rss_start "$col"; done
declare -A H0
for col in passthrough spool; do [ -n "${RELAY_PID[$col]:-}" ] && H0[$col]=$(jvm_uptime_s "$col"); done
for ((r = 1; r <= reps; r++)); do
  for s in "${SESSIONS[@]}"; do
    for col in "${COLUMNS[@]}"; do
      out=$(measure "$col" "$s" "${COUNT[$s]}" "$MSG4K")
      RATE[$col,$s]="${RATE[$col,$s]:-} ${out%% *}"
      if [ "${out%% *}" != error ]; then
        read -r _ _ cs ct ck <<< "$out"
        CPU_SRC[$col,$s]="${CPU_SRC[$col,$s]:-} $cs"; CPU_COL[$col,$s]="${CPU_COL[$col,$s]:-} $ct"
        CPU_SINK[$col,$s]="${CPU_SINK[$col,$s]:-} $ck"
      fi
      log "4k rep $r: $col $s sessions: $out"
    done
  done
done
for col in "${COLUMNS[@]}"; do [ "$col" = ceiling ] || rss_stop "$col" 4k; done
declare -A LIVE
for col in passthrough spool; do
  [ -n "${H0[$col]:-}" ] || continue
  HEAP[$col,4k]=$(heap_over "$col" "${H0[$col]}" "$(jvm_uptime_s "$col")")
  LIVE[$col,4k]=$(live_heap "$col")
done

# --- added latency ------------------------------------------------------------------------------------------
# 16 sessions: smtp-source runs 15 of them, probe.py the 16th, timing each transaction (MAIL to
# the reply to "."). Added latency = the column's percentile minus the ceiling's, same run.
# Also with the probe alone (1 session, no other load).
declare -A LAT
latency_run() {  # COLUMN LOADSESSIONS
  local col=$1 ls=$2 src=""
  if [ "$ls" -gt 0 ]; then
    smtp-source -d -s "$ls" -m $((N16 * 2)) -M web01.internal -f "$FROM" -t "$RCPT" -F "$MSG4K" \
        127.0.0.1:"${TARGET_PORT[$col]}" >/dev/null 2>&1 &
    src=$!
    sleep 0.5
  fi
  $PROBE latency 127.0.0.1 "${TARGET_PORT[$col]}" "$MSG4K" "$FROM" "$RCPT" > "$WORK/lat.out" &
  local probe=$!
  if [ -n "$src" ]; then sleep 4; else sleep 3; fi
  kill -TERM "$probe"; wait "$probe" || true
  if [ -n "$src" ]; then kill "$src" 2>/dev/null || true; wait "$src" 2>/dev/null || true; fi
  cat "$WORK/lat.out"
}
for col in "${COLUMNS[@]}"; do
  LAT[$col,16]=$(latency_run "$col" 15)
  LAT[$col,1]=$(latency_run "$col" 0)
  log "latency $col: loaded ${LAT[$col,16]}; alone ${LAT[$col,1]}"
  settle "$col"
done

# --- 10 MiB messages -----------------------------------------------------------------------------------------
for col in passthrough spool; do [ -n "${RELAY_PID[$col]:-}" ] && H0[$col]=$(jvm_uptime_s "$col"); done
for col in "${COLUMNS[@]}"; do [ "$col" = ceiling ] || rss_start "$col"; done
for s in 1 16; do
  for col in "${COLUMNS[@]}"; do
    n=$NBIG1; [ "$s" = 16 ] && n=$NBIG16
    out=$(measure "$col" "$s" "$n" "$MSG10M")
    RATE[$col,big$s]=${out%% *}
    log "10m: $col $s sessions ($n messages): $out"
  done
done
for col in "${COLUMNS[@]}"; do [ "$col" = ceiling ] || rss_stop "$col" 10m; done
for col in passthrough spool; do
  [ -n "${H0[$col]:-}" ] || continue
  HEAP[$col,10m]=$(heap_over "$col" "${H0[$col]}" "$(jvm_uptime_s "$col")")
  LIVE[$col,10m]=$(live_heap "$col")
done

# --- 200 concurrent sessions, a 10 MiB message each -------------------------------------------------------
for col in "${COLUMNS[@]}"; do
  [ "$col" = ceiling ] && continue
  [ -n "${RELAY_PID[$col]:-}" ] && h0=$(jvm_uptime_s "$col")
  rss_start "$col"
  out=$(measure "$col" "$CONC" "$CONC" "$MSG10M")
  rss_stop "$col" conc
  RATE[$col,conc]=$out
  if [ -n "${RELAY_PID[$col]:-}" ]; then
    HEAP[$col,conc]=$(heap_over "$col" "$h0" "$(jvm_uptime_s "$col")")
    LIVE[$col,conc]=$(live_heap "$col")
  fi
  log "$CONC x 10m: $col: $out; peak RSS ${RSS[$col,conc]} MiB; heap after GC / peak ${HEAP[$col,conc]:-n/a}"
done
tls_phase
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY_AFTER=$(busy_share)   # the relays and Postfix are idle by now

# ==========================================================================================================
# The report
ratio() { $PY -c "import sys; a,b=sys.argv[1],sys.argv[2]; print('%.2f' % (float(a)/float(b)) if a not in ('-','') and b not in ('-','','0') else '-')" "$1" "$2"; }
pct() { # "n=.. p50=.. p90=.. p99=.." KEY
  local kv; for kv in $1; do [ "${kv%%=*}" = "$2" ] && { echo "${kv#*=}"; return; }; done; echo "-"; }
minus() { $PY -c "import sys; a,b=sys.argv[1],sys.argv[2]; print('%.2f' % (float(a)-float(b)) if '-' not in (a,b) and 'nan' not in (a,b) else '-')" "$1" "$2"; }
verdict() { $PY -c "import sys; v, op, t = sys.argv[1:]; print('-' if v in ('-', '', 'nan', 'error') else ('yes' if (float(v) >= float(t) if op == 'ge' else float(v) < float(t)) else 'no'))" "$1" "$2" "$3"; }
# table_head FIRST ALIGN [no-ceiling]: a results table's two header lines, a column per column
table_head() {
  local c head="| ${1:+$1 }| " rule="|$2|"
  for c in "${COLUMNS[@]}"; do
    if [ "${3:-}" = no-ceiling ] && [ "$c" = ceiling ]; then continue; fi
    head+="$(name "$c") | "; rule+="---:|"
  done
  echo "$head"
  echo "$rule"
}
name() { case $1 in ceiling) echo "ceiling (smtp-source → smtp-sink)";; passthrough) echo "returnpath passthrough";;
  spool) echo "returnpath spool (fsync)";; postfix) echo "Postfix relay";; esac; }
{
  echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs ($(lscpu | sed -n 's/^Model name: *//p')), $(free -g | awk '/^Mem:/ {print $2}') GiB,"
  echo "Linux $(uname -r), $("$JAVA" -version 2>&1 | head -1), Postfix $(postconf -d mail_version 2>/dev/null | cut -d' ' -f3),"
  echo "CPUs busy with other work (5 s, nothing of the benchmark running) before $BUSY_BEFORE, after $BUSY_AFTER; load average before $LOAD_START, after $LOAD_END;"
  echo "median of $reps repetition(s); returnpath JVM: \`${JVM_OPTS[*]}\`."
  echo
  echo "**4 KiB messages, messages/s end to end (ratio to the ceiling)**"
  echo
  table_head sessions ---:
  for s in "${SESSIONS[@]}"; do
    ceil=$(median ${RATE[ceiling,$s]})
    printf '| %s |' "$s"
    for c in "${COLUMNS[@]}"; do
      m=$(median ${RATE[$c,$s]})
      if [ "$c" = ceiling ]; then printf ' %s |' "$m"; else printf ' %s (%s) |' "$m" "$(ratio "$m" "$ceil")"; fi
    done
    echo
  done
  echo
  echo "**CPU per 4 KiB message at 16 sessions, µs** (user + system, median; smtp-source / the column / its smtp-sink; the column is the whole process tree for Postfix)"
  echo
  table_head "" ---
  printf '| source / column / sink |'
  for c in "${COLUMNS[@]}"; do
    printf ' %s / %s / %s |' "$(median ${CPU_SRC[$c,16]:-})" "$(median ${CPU_COL[$c,16]:-})" "$(median ${CPU_SINK[$c,16]:-})"
  done
  echo
  echo
  echo "**Latency per 4 KiB message, ms (MAIL to the reply to \".\"), p50 / p99; added = minus the ceiling's**"
  echo
  table_head load ---
  for s in 16 1; do
    if [ "$s" = 16 ]; then printf '| 16 sessions (probe + 15 smtp-source) |'; else printf '| probe alone (1 session) |'; fi
    c50=$(pct "${LAT[ceiling,$s]}" p50); c99=$(pct "${LAT[ceiling,$s]}" p99)
    for c in "${COLUMNS[@]}"; do
      p50=$(pct "${LAT[$c,$s]}" p50); p99=$(pct "${LAT[$c,$s]}" p99)
      if [ "$c" = ceiling ]; then printf ' %s / %s |' "$p50" "$p99"
      else printf ' %s / %s (added %s / %s) |' "$p50" "$p99" "$(minus "$p50" "$c50")" "$(minus "$p99" "$c99")"; fi
    done
    echo
  done
  echo
  echo "**10 MiB messages, messages/s end to end (MiB/s)**"
  echo
  table_head sessions ---:
  for s in 1 16; do
    printf '| %s |' "$s"
    for c in "${COLUMNS[@]}"; do
      m=${RATE[$c,big$s]}
      printf ' %s (%s) |' "$m" "$($PY -c "import sys; print('%.0f' % (float(sys.argv[1]) * 10) if sys.argv[1][0].isdigit() else '-')" "$m")"
    done
    echo
  done
  echo
  echo "**Memory** (peak PSS sampled once a second over the phase, summed over the whole process tree for Postfix; heap from the GC log: largest in use just before a collection (the peak) / largest left after one (young collections leave old-generation garbage in place) / live after a full collection at the end of the phase)"
  echo
  table_head phase --- no-ceiling
  for ph in 4k 10m conc; do
    case $ph in 4k) printf '| 4 KiB phases |';; 10m) printf '| 10 MiB phases |';; conc) printf '| %s sessions × 10 MiB at once |' "$CONC";; esac
    for c in "${COLUMNS[@]}"; do
      [ "$c" = ceiling ] && continue
      h=${HEAP[$c,$ph]:-}
      if [ -n "$h" ]; then printf ' %s MiB, heap %s / %s / %s MiB |' "${RSS[$c,$ph]}" "${h#* }" "${h% *}" "${LIVE[$c,$ph]:--}"
      else printf ' %s MiB |' "${RSS[$c,$ph]}"; fi
    done
    echo
  done
  echo
  printf '%s sessions × 10 MiB at once, end to end: ' "$CONC"
  for c in "${COLUMNS[@]}"; do [ "$c" = ceiling ] || printf '%s %s s; ' "$c" "$(echo "${RATE[$c,conc]}" | awk '{print $2}')"; done
  echo
  echo
  cat "$WORK/tls.md"
  echo
  echo "**Idle connections**: $IDLE held open (greeted, EHLO done) cost +$IDLE_DELTA MiB of RSS (from $((IDLE_RSS0 / 1024)) MiB at idle)."
  echo
  echo "**Start to first greeting** (fork to the 220 read on the socket, 5 cold starts, median): plain jar $(median "${START_PLAIN[@]}") ms (${START_PLAIN[*]}); with an AOT cache $( [ ${#START_AOT[@]} -gt 0 ] && echo "$(median "${START_AOT[@]}") ms (${START_AOT[*]})" || echo n/a); Postfix \`postfix start\` ${PF_START_MS:-n/a} ms."
  echo
  echo "**Targets** (issue 8), from this run:"
  echo
  c16=$(median ${RATE[ceiling,16]}); p16=$(median ${RATE[passthrough,16]})
  s16=$(median ${RATE[spool,16]:-}); f16=$(median ${RATE[postfix,16]:-})
  echo "| target | measured | met |"
  echo "|---|---|---|"
  r=$(ratio "$p16" "$c16"); echo "| passthrough ≥ 0.5 of the ceiling at 16 sessions | $r | $(verdict "$r" ge 0.5) |"
  r=$(ratio "$s16" "$f16"); echo "| spool ≥ 2 × Postfix end to end (16 sessions) | $r × | $(verdict "$r" ge 2) |"
  for s in 1 64; do r=$(ratio "$(median ${RATE[spool,$s]:-})" "$(median ${RATE[postfix,$s]:-})"); echo "| (same at $s sessions) | $r × | $(verdict "$r" ge 2) |"; done
  a=$(minus "$(pct "${LAT[passthrough,16]}" p99)" "$(pct "${LAT[ceiling,16]}" p99)")
  echo "| added p99 < 5 ms at 16 sessions, passthrough | $a ms | $(verdict "$a" lt 5) |"
  h=${HEAP[passthrough,conc]:-}; hs=${HEAP[spool,conc]:-}
  echo "| $CONC × 10 MiB at once: heap < 256 MiB | passthrough peak ${h#* } MiB, spool peak ${hs#* } MiB | $(verdict "${h#* }" lt 256) / $(verdict "${hs#* }" lt 256) |"
  echo "| $IDLE idle connections < 100 MiB of RSS | +$IDLE_DELTA MiB | $(verdict "$IDLE_DELTA" lt 100) |"
  m=$(median "${START_PLAIN[@]}"); ma=$( [ ${#START_AOT[@]} -gt 0 ] && median "${START_AOT[@]}" || echo -)
  echo "| start to listening < 1 s | plain $m ms, AOT cache $ma ms | $(verdict "$m" lt 1000) / $(verdict "$ma" lt 1000) |"
  echo
  echo "Work directory on $FS_NOTE."
} > "$WORK/results.md"
cat "$WORK/results.md"
cp "$WORK/results.md" "$ROOT/target/bench/results.md"

if [ "$docs" = 1 ] && [ -f docs/benchmarks.md ] && grep -q '<!-- bench:results:begin -->' docs/benchmarks.md; then
  into_docs results "$WORK/results.md"
  log "docs/benchmarks.md: results section replaced"
fi

if [ "$outage" = 1 ]; then
  outage_args=()
  [ "$docs" = 1 ] && outage_args+=(--docs)
  [ "$quick" = 1 ] && outage_args+=(--sizes "1000 10000")
  "$BENCH/outage.sh" "${outage_args[@]}"
fi
