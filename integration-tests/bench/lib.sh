# integration-tests/bench/lib.sh: what the benchmarks share, sourced after their option parsing.
#
#   BENCH_NAME=bench|outage . "$BENCH/lib.sh"
#
# Needs ROOT (the repository), PY, keep and build set. Checks smtp-source, smtp-sink, python3
# and a Java 21+ (JAVA, JCMD), builds target/returnpath.jar when missing or with --build (JAR),
# sets ROOT_USER, makes WORK under target/bench (removed at exit unless --keep) with the cleanup
# that stops PIDS and a private Postfix at PF_DIR, and defines need, log, now_ns, free_port,
# wait_tcp, busy_share and into_docs.

# BENCH_NAME=... before "." lasts only while this file is read (bash restores it afterwards); the
# cleanup at exit needs it too
BENCH_LABEL=$BENCH_NAME
need() { command -v "$1" >/dev/null 2>&1 || { echo "$BENCH_NAME: $1 not found (Debian package: $2)" >&2; exit 2; }; }
need smtp-source postfix
need smtp-sink postfix
[ -x "$PY" ] || { echo "$BENCH_NAME: $PY not found (Debian package: python3)" >&2; exit 2; }
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
JCMD=${JAVA_HOME:+$JAVA_HOME/bin/}jcmd
"$JAVA" -version >/dev/null 2>&1 || { echo "$BENCH_NAME: no java (set JAVA_HOME to a JDK 21+)" >&2; exit 2; }
# the jar targets Java 21: an older default java would fail every step after the build, first as
# "NSD did not answer" (the check-spf call that probes NSD cannot start)
java_major=$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
[ "${java_major:-0}" -ge 21 ] 2>/dev/null \
  || { echo "$BENCH_NAME: $JAVA is Java ${java_major:-?}; returnpath needs 21+ (set JAVA_HOME to a JDK 21+)" >&2; exit 2; }
JAR=$ROOT/target/returnpath.jar
if [ "$build" = 1 ] || [ ! -f "$JAR" ]; then
  echo "$BENCH_NAME: building $JAR" >&2
  mvn -q -B package -DskipTests
fi
ROOT_USER=0; [ "$(id -u)" = 0 ] && ROOT_USER=1

mkdir -p target/bench
WORK=$(mktemp -d "$ROOT/target/bench/$BENCH_NAME.XXXXXX")
chmod 755 "$WORK"        # NSD and the Postfix daemons read below it after dropping privileges
PIDS=()
PF_DIR=""
cleanup() {
  local p
  [ -n "$PF_DIR" ] && postfix -c "$PF_DIR/etc" stop >/dev/null 2>&1 || true
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  if [ "$keep" = 1 ]; then echo "$BENCH_LABEL: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 143' TERM INT

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
now_ns() { local t=$EPOCHREALTIME; echo "${t/./}000"; }

. "$ROOT/integration-tests/lib/ports.sh"   # free_port, wait_tcp

# What else runs here: the share of both CPUs busy over 5 s with nothing of the benchmark
# running, before and after (the load average is no measure during a run: the spool and Postfix
# columns keep dozens of processes waiting on fsync, which it counts).
busy_share() {
  $PY - <<'EOF2'
import time
def snap():
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return sum(f), f[3] + f[4]
t0, i0 = snap(); time.sleep(5); t1, i1 = snap()
print("%.0f%%" % (100.0 * (1 - (i1 - i0) / max(1, t1 - t0))))
EOF2
}

# into_docs NAME FILE: FILE replaces what docs/benchmarks.md holds between the
# "<!-- bench:NAME:begin -->" and "<!-- bench:NAME:end -->" markers
into_docs() {
  $PY - "$ROOT/docs/benchmarks.md" "$1" "$2" <<'EOF2'
import sys
doc, name, new = sys.argv[1], sys.argv[2], open(sys.argv[3]).read()
text = open(doc).read()
b, e = "<!-- bench:%s:begin -->\n" % name, "<!-- bench:%s:end -->" % name
i, j = text.index(b) + len(b), text.index(e)
open(doc, "w").write(text[:i] + new + text[j:])
EOF2
}
