#!/usr/bin/env bash
# Benchmark (not a test): times `check-spf --batch` on 1,000 queries in one JVM and prints
# queries per second. It builds nothing: run `mvn -q -DskipTests package` (and test-compile, for
# the stand-in DNS server) first.
#
#   integration-tests/bench/spf-batch.sh [--jar target/returnpath.jar] [--dns-server HOST:PORT] [--lines 1000]
#
# Without --dns-server it starts the project's test DNS server (dev.returnpath.dns.UdpZoneServer,
# from target/test-classes) on 127.0.0.1 with src/test/resources/spf/returnpath.zone, so the run
# exercises dnsjava's real UDP path; with --dns-server the queries go to that server and should
# use names it serves. The input mixes pass, fail, softfail, neutral, none, permerror and the null
# sender over those names; identical names hit the DNS cache after the first query.
set -euo pipefail
cd "$(dirname "$0")/../.."

jar=target/returnpath.jar
dns=""
lines=1000
while [ $# -gt 0 ]; do
  case "$1" in
    --jar) jar=$2; shift 2 ;;
    --dns-server) dns=$2; shift 2 ;;
    --lines) lines=$2; shift 2 ;;
    *) echo "usage: $0 [--jar JAR] [--dns-server HOST:PORT] [--lines N]" >&2; exit 2 ;;
  esac
done
[ -f "$jar" ] || { echo "no $jar: run mvn -q -DskipTests package first" >&2; exit 2; }
java=${JAVA_HOME:+$JAVA_HOME/bin/}java

work=$(mktemp -d)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

if [ -z "$dns" ]; then
  [ -d target/test-classes ] || { echo "no target/test-classes: run mvn -q test-compile first" >&2; exit 2; }
  port=$(( 20000 + RANDOM % 20000 ))
  "$java" -cp "target/test-classes:$jar" dev.returnpath.dns.UdpZoneServer "$port" \
      src/test/resources/spf/returnpath.zone > "$work/server.out" 2> "$work/server.err" &
  server_pid=$!
  for _ in $(seq 50); do [ -s "$work/server.out" ] && break; sleep 0.1; done
  dns=$(head -1 "$work/server.out")
  [ -n "$dns" ] || { echo "the test DNS server did not start:" >&2; cat "$work/server.err" >&2; exit 1; }
fi

# One line per query: IP<TAB>SENDER<TAB>HELO, cycling through the zone's cases with varying
# addresses and local parts.
for i in $(seq 0 $((lines - 1))); do
  octet=$(( i % 250 + 1 ))
  case $(( i % 8 )) in
    0) printf '203.0.113.5\tuser%d@example.com\trelay.example.com\n' "$i" ;;
    1) printf '192.0.2.%d\tuser%d@example.com\trelay.example.com\n' "$octet" "$i" ;;
    2) printf '198.51.100.%d\tuser%d@softfail.example.com\trelay.example.com\n' "$octet" "$i" ;;
    3) printf '2001:db8::%x\tuser%d@example.com\trelay.example.com\n' "$octet" "$i" ;;
    4) printf '192.0.2.%d\t\tweb01.example.com\n' "$octet" ;;
    5) printf '192.0.2.%d\tuser%d@nospf.example.com\trelay.example.com\n' "$octet" "$i" ;;
    6) printf '192.0.2.%d\tbob@local.example.com\trelay.example.com\n' "$octet" ;;
    7) printf '192.0.2.%d\tuser%d@big.example.com\trelay.example.com\n' "$octet" "$i" ;;
  esac
done > "$work/input.tsv"

# Prefer the contract form (`java -jar returnpath.jar check-spf`); fall back to the class's own
# main while Main does not list check-spf yet.
if "$java" -jar "$jar" check-spf --help 2>/dev/null | grep -q -- --batch; then
  cmd=("$java" -jar "$jar" check-spf)
else
  cmd=("$java" -cp "$jar" dev.returnpath.cli.CheckSpfCommand)
fi

start=$(date +%s%N)
"${cmd[@]}" --batch "$work/input.tsv" --dns-server "$dns" --dns-timeout 2s > "$work/output.tsv" 2> "$work/stderr.txt"
end=$(date +%s%N)

got=$(wc -l < "$work/output.tsv")
ms=$(( (end - start) / 1000000 ))
echo "check-spf --batch: $got results for $lines queries in ${ms} ms (one JVM, DNS at $dns)"
echo "results: $(cut -f1 "$work/output.tsv" | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')"
awk -v n="$got" -v ms="$ms" 'BEGIN { if (ms > 0) printf "rate: %.0f queries/s (JVM start included)\n", n * 1000 / ms }'
[ "$got" -eq "$lines" ] || { echo "expected $lines result lines" >&2; exit 1; }
