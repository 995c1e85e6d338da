#!/usr/bin/env bash
# Scenario 28 (issue 18): kill -9 during a smarthost outage with 10,000 messages waiting.
# The smarthost's port refuses connections while 16 sessions send; the relay (queue.mode =
# spool) is killed with SIGKILL once 10,000 are acknowledged, started again with the smarthost
# still down (queue list must count every acknowledged message), then the smarthost comes back
# and `queue flush` drains the spool: every message answered 250 must arrive, exactly once or
# counted as a duplicate (a crash between the upstream's 250 and the state write), and the
# spool must end empty. The work is integration-tests/spool-crash-test.sh with CRASH_OUTAGE=1.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
it_init 28-outage-crash
out=$(CRASH_OUTAGE=1 CRASH_MESSAGES=${IT_OUTAGE_MESSAGES:-10400} CRASH_KILL_AFTER=${IT_OUTAGE_KILL_AFTER:-10000} \
  RELAY_JAR="$RELAY_JAR" JAVA="$JAVA" TMPDIR="$T" "$IT_ROOT/spool-crash-test.sh" 2>&1) || true
log "$out"
last=$(printf '%s\n' "$out" | tail -n 1)
case $last in
  "PASS spool-crash: "*) note "${last#PASS spool-crash: }"; pass ;;
  "FAIL spool-crash: "*) fail "${last#FAIL spool-crash: }" ;;
  *) fail "spool-crash-test.sh ended without a verdict: $last" ;;
esac
