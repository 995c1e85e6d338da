#!/usr/bin/env bash
# spool-crash-test.sh: the spool's promise under kill -9 (issue 5), as a process of its own.
#
#   1. starts an SMTP sink (aiosmtpd) that records the Message-ID of every message it accepts;
#   2. starts `java -jar target/returnpath.jar serve` in queue.mode = spool, smarthost = the sink;
#   3. sends N messages over C concurrent sessions, each with its own Message-ID, and records
#      which ones got a 250;
#   4. kills the relay with SIGKILL once K of them got their 250, mid-stream;
#   5. starts the relay again on the same spool, with the sink still up;
#   6. checks that every Message-ID answered 250 reached the sink (a loss fails the test), counts
#      the duplicates (allowed: a crash between the sink's 250 and the state write), and checks
#      with `queue list` that the spool ends empty.
#
# With CRASH_FLIP=1 (issue 18) the upstream is down at step 3 (it accepts the connection and
# never answers), so every accepted message is still in the journal at the kill; then one byte
# of the journal's first record (its length field) is flipped before step 5. The restart must
# log the damage as ERROR, keep the segment in corrupt/, and deliver every other message
# answered 250: only the damaged record's message may be missing.
#
# With CRASH_OUTAGE=1 (issue 18, scenario 28) the smarthost is down the usual way at step 3:
# nothing listens on its port, so every attempt is refused and the messages wait in the spool.
# The relay is killed once K are acknowledged, started again with the smarthost still down
# (`queue list` must count every acknowledged message), then the smarthost comes back and
# `queue flush` is run, as an operator would.
#
# Prints "PASS spool-crash: ..." and exits 0, or "FAIL spool-crash: reason" and exits 1.
# Environment: CRASH_MESSAGES (300), CRASH_SESSIONS (16), CRASH_KILL_AFTER (N/3), CRASH_FLIP (0),
# CRASH_OUTAGE (0),
# RELAY_JAR (target/returnpath.jar), JAVA (java), KEEP=1 keeps the work directory.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${CRASH_MESSAGES:-300}
C=${CRASH_SESSIONS:-16}
K=${CRASH_KILL_AFTER:-$((N / 3))}
JAR=${RELAY_JAR:-$ROOT/target/returnpath.jar}
JAVA=${JAVA:-java}
if [ -z "${JAVA_HOME:-}" ] && [ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ] && [ "$JAVA" = java ]; then
  JAVA=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
elif [ -n "${JAVA_HOME:-}" ] && [ "$JAVA" = java ]; then
  JAVA=$JAVA_HOME/bin/java
fi

fail() { echo "FAIL spool-crash: $*"; exit 1; }
log() { printf '%s %s\n' "$(date +%H:%M:%S.%3N)" "$*" >&2; }

# Debian's python3-aiosmtpd lives with /usr/bin/python3, which a pyenv shim may hide.
PY=""
for p in /usr/bin/python3 python3; do
  if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import aiosmtpd' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || fail "python3 with aiosmtpd is needed for the sink (apt-get install python3-aiosmtpd)"
[ -f "$JAR" ] || fail "$JAR not found: build it first (mvn -q package -DskipTests)"
"$JAVA" -version >/dev/null 2>&1 || fail "no java at $JAVA"

W=$(mktemp -d "${TMPDIR:-/tmp}/spool-crash.XXXXXX")
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.3
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then log "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_port() { # PORT SECONDS PID
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    "$PY" -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1', $1)))" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# ---------------------------------------------------------------- the sink
cat > "$W/sink.py" <<'PY'
import asyncio, os, re, signal, sys, threading
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

port, out = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()
MID = re.compile(rb'^Message-ID:\s*(<[^>\r\n]+>)', re.I | re.M)

class Handler:
    async def handle_DATA(self, server, session, envelope):
        head = envelope.original_content.split(b'\r\n\r\n', 1)[0]
        m = MID.search(head)
        mid = m.group(1).decode('ascii', 'replace') if m else '<none>'
        with lock, open(out, 'a') as f:
            f.write('%s\t%s\t%s\n' % (mid, envelope.mail_from, ','.join(envelope.rcpt_tos)))
        return '250 2.0.0 Ok: sunk'

class Ctl(Controller):
    def factory(self):
        return SMTP(self.handler, decode_data=False, data_size_limit=None, ident='crash-sink')

ctl = Ctl(Handler(), hostname='127.0.0.1', port=port, ready_timeout=10)
ctl.start()
stop = threading.Event()
for s in (signal.SIGTERM, signal.SIGINT):
    signal.signal(s, lambda *_: stop.set())
while not stop.wait(1):
    pass
ctl.stop()
PY

# an upstream that is down the slow way: it takes the connection and never says a word
cat > "$W/stall.py" <<'PY'
import signal, socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(512)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
held = []
while True:
    c, _ = s.accept(); held.append(c)
PY

# ---------------------------------------------------------------- the clients
cat > "$W/blast.py" <<'PY'
import smtplib, sys, threading
port, n, conc, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
lock = threading.Lock()
counter = iter(range(n))
body = ('The quick brown fox jumps over the lazy dog. ' * 2 + '\r\n') * 20

def record(mid, code, text):
    with lock, open(out, 'a') as f:
        f.write('%s\t%s\t%s\n' % (mid, code, text.replace('\t', ' ').replace('\n', ' ')))

def worker():
    s = None
    while True:
        with lock:
            i = next(counter, None)
        if i is None:
            break
        mid = '<crash-%05d@web01.internal>' % i
        msg = ('From: Shop <noreply@example.com>\r\nTo: <customer%d@gmail.test>\r\nSubject: order %d\r\n'
               'Message-ID: %s\r\n\r\n%s' % (i, i, mid, body)).encode('ascii')
        try:
            if s is None:
                s = smtplib.SMTP('127.0.0.1', port, timeout=30)
                s.ehlo('web01.internal')
            code, resp = s.mail('apache@web01.internal')
            if code != 250:
                raise smtplib.SMTPResponseException(code, resp)
            code, resp = s.rcpt('customer%d@gmail.test' % i)
            if code != 250:
                raise smtplib.SMTPResponseException(code, resp)
            code, resp = s.data(msg)
            record(mid, code, resp.decode('ascii', 'replace'))
            if code != 250:
                s.rset()
        except Exception as e:
            record(mid, 'error', repr(e))
            try:
                s.close()
            except Exception:
                pass
            s = None
    if s is not None:
        try:
            s.quit()
        except Exception:
            pass

ts = [threading.Thread(target=worker) for _ in range(conc)]
for t in ts: t.start()
for t in ts: t.join()
PY

# ---------------------------------------------------------------- the relay
SINK_PORT=$(free_port)
RELAY_PORT=$(free_port)
mkdir -p "$W/spool"
cat > "$W/returnpath.conf" <<EOF
returnpath {
  hostname = "relay.test"
  listen { host = "127.0.0.1", port = $RELAY_PORT, max-connections = 500 }
  domains { "example.com" { return-path = "bounce@example.com" } }
  delivery {
    mode = smarthost
    smarthost { host = "127.0.0.1", port = $SINK_PORT, tls = none }
    connect-timeout = 2s
    command-timeout = 10s
  }
  queue { mode = spool, dir = "$W/spool", first-retry = 1s, max-retry-interval = 2s }
  management.port = 0
}
EOF

start_relay() { # LOG
  "$JAVA" -jar "$JAR" serve --config "$W/returnpath.conf" >>"$1" 2>&1 &
  RELAY_PID=$!
  PIDS+=("$RELAY_PID")
  wait_port "$RELAY_PORT" 60 "$RELAY_PID" || fail "the relay did not start (see $1): $(tail -n 3 "$1" | tr '\n' ' ')"
}

start_sink() {
  "$PY" "$W/sink.py" "$SINK_PORT" "$W/sunk.tsv" >"$W/sink.log" 2>&1 &
  SINK_PID=$!
  PIDS+=("$SINK_PID")
  wait_port "$SINK_PORT" 20 "$SINK_PID" || fail "the sink did not start: $(tail -n 3 "$W/sink.log" | tr '\n' ' ')"
}
FLIP=${CRASH_FLIP:-0}
OUTAGE=${CRASH_OUTAGE:-0}
: > "$W/sunk.tsv"
if [ "$OUTAGE" = 1 ]; then
  : # nothing listens on the smarthost's port until the outage ends
elif [ "$FLIP" = 1 ]; then
  "$PY" "$W/stall.py" "$SINK_PORT" >"$W/stall.log" 2>&1 &
  STALL_PID=$!
  PIDS+=("$STALL_PID")
  wait_port "$SINK_PORT" 20 "$STALL_PID" || fail "the stalling upstream did not start"
else
  start_sink
fi

start_relay "$W/relay-1.log"
log "relay pid $RELAY_PID on $RELAY_PORT, sink on $SINK_PORT; sending $N messages over $C sessions, kill -9 after $K accepted"

: > "$W/replies.tsv"
"$PY" "$W/blast.py" "$RELAY_PORT" "$N" "$C" "$W/replies.tsv" 2>"$W/blast.log" &
BLAST_PID=$!
PIDS+=("$BLAST_PID")
accepted() { grep -c $'\t250\t' "$W/replies.tsv" 2>/dev/null || true; }
for ((i = 0; i < 6000; i++)); do # at most about two minutes
  [ "$(accepted)" -ge "$K" ] && break
  kill -0 "$BLAST_PID" 2>/dev/null || break
  sleep 0.02
done
kill -9 "$RELAY_PID" 2>/dev/null || fail "the relay had already exited before the kill (see relay-1.log)"
at_kill=$(accepted)
sunk_at_kill=$(wc -l < "$W/sunk.tsv")
wait "$RELAY_PID" 2>/dev/null
wait "$BLAST_PID" 2>/dev/null
ok=$(accepted)
log "killed with $at_kill accepted ($ok once the clients noticed); the sink had $sunk_at_kill"
[ "$ok" -ge "$K" ] || fail "only $ok messages were accepted before the kill (wanted $K)"
spooled=$(find "$W/spool/queue" -name '*.env' 2>/dev/null | wc -l)
log "$spooled entries in the spool after the kill"

LOST_MID=""
if [ "$FLIP" = 1 ]; then
  kill "$STALL_PID" 2>/dev/null; wait "$STALL_PID" 2>/dev/null
  seg=$(ls "$W/spool/journal/"*.log 2>/dev/null | sort | head -n 1)
  [ -n "$seg" ] || fail "no journal segment after the kill"
  # the first record starts after the two 29-byte copies of the segment header; flip the high
  # byte of its length, so that the scan must search for the next record, and note its queue ID
  lost_id=$("$PY" - "$seg" <<'PY'
import re, sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
assert b[58:62] == b'RPJ1', 'no record at 58'
env_len = int.from_bytes(b[67:71], 'big')
m = re.search(rb'^id: (\S+)$', bytes(b[71:71 + env_len]), re.M)
b[63] ^= 0x40
open(p, 'r+b').write(b)
print(m.group(1).decode() if m else '')
PY
) || fail "could not flip a byte of $seg"
  LOST_MID=$(grep -F "queued as $lost_id" "$W/replies.tsv" | cut -f1 | head -n 1)
  log "flipped the length of the first record of $(basename "$seg") ($lost_id, ${LOST_MID:-not acknowledged})"
  start_sink
fi

start_relay "$W/relay-2.log"
grep $'\t250\t' "$W/replies.tsv" | cut -f1 | sort -u > "$W/acked.txt"
outage=""
if [ "$OUTAGE" = 1 ]; then
  # still down: the restart must have recovered every acknowledged message before it can send any
  [ ! -s "$W/sunk.tsv" ] || fail "the sink received mail while it was down"
  t0=$(date +%s.%N)
  listing=$("$JAVA" -jar "$JAR" queue list --config "$W/returnpath.conf" 2>"$W/queue-list.err") \
    || fail "queue list failed during the outage: $(tail -n 2 "$W/queue-list.err" | tr '\n' ' ')"
  t1=$(date +%s.%N)
  waiting=$(printf '%s\n' "$listing" | tail -n 1 | sed -n 's/^-- \([0-9]*\) message(s), .*/\1/p')
  [ -n "$waiting" ] || fail "queue list during the outage ends with: $(printf '%s\n' "$listing" | tail -n 1)"
  [ "$waiting" -ge "$ok" ] || fail "queue list shows $waiting waiting after the restart, but $ok were acknowledged"
  log "after the restart, still down: $waiting waiting (queue list took $("$PY" -c "print(round($t1 - $t0, 1))") s)"
  start_sink
  "$JAVA" -jar "$JAR" queue flush --config "$W/returnpath.conf" >"$W/flush.out" 2>&1 \
    || fail "queue flush failed: $(tail -n 2 "$W/flush.out" | tr '\n' ' ')"
  outage=" the smarthost was down throughout: $waiting waiting after the restart, drained by queue flush once it was back;"
fi

missing=""
for ((i = 0; i < 240; i++)); do
  cut -f1 "$W/sunk.tsv" | sort -u > "$W/seen.txt"
  missing=$(comm -23 "$W/acked.txt" "$W/seen.txt" | grep -vxF "${LOST_MID:-none}")
  [ -z "$missing" ] && break
  sleep 0.5
done
if [ -n "$missing" ]; then
  fail "$(printf '%s\n' "$missing" | wc -l) of $ok messages answered 250 never reached the sink, e.g. $(printf '%s\n' "$missing" | head -n 3 | tr '\n' ' ')"
fi

# the spool drains completely; give late attempts a moment and count what they add
for ((i = 0; i < 60; i++)); do
  left=$(find "$W/spool/queue" -name '*.env' 2>/dev/null | wc -l)
  [ "$left" -eq 0 ] && break
  sleep 0.5
done
[ "$left" -eq 0 ] || fail "$left entries are still in the spool after every accepted message was delivered"
listing=$("$JAVA" -jar "$JAR" queue list --config "$W/returnpath.conf" 2>"$W/queue-list.err")
if [ "$FLIP" = 1 ]; then # the damaged segment kept in corrupt/ is said above the total
  [ "$listing" = "-- kept in $W/spool/corrupt: 1 damaged journal segment(s), 0 message(s) with an unreadable envelope
the spool in $W/spool is empty" ] || fail "queue list says: $listing"
else
  [ "$listing" = "the spool in $W/spool is empty" ] || fail "queue list says: $listing"
fi

flipped=""
if [ "$FLIP" = 1 ]; then
  grep -q "damaged record at offset 58 " "$W/relay-2.log" || fail "no ERROR line for the damaged record in relay-2.log"
  grep "damaged record" "$W/relay-2.log" | grep -q ERROR || fail "the damaged record is not logged as ERROR"
  ls "$W/spool/corrupt/journal-"*.log >/dev/null 2>&1 || fail "the damaged segment is not in corrupt/"
  recovered=$(grep -o '[0-9]* recovered after it' "$W/relay-2.log" | head -n 1)
  flipped=" one flipped byte in the journal: its record lost and reported (${LOST_MID:-unacknowledged}), $recovered, segment kept in corrupt/;"
fi
total=$(wc -l < "$W/sunk.tsv")
dups=$(cut -f1 "$W/sunk.tsv" | sort | uniq -d | wc -l)
extra=$((total - $(cut -f1 "$W/sunk.tsv" | sort -u | wc -l)))
unacked=$(comm -13 "$W/acked.txt" "$W/seen.txt" | wc -l)
echo "PASS spool-crash: $ok of $N messages answered 250 (kill -9 after $at_kill), all delivered after the restart;" \
  "$dups duplicated Message-ID(s) ($extra extra copies), $unacked delivered without a 250 reaching the client;" \
  "$spooled entries were in the spool at the kill;$outage$flipped"
exit 0
