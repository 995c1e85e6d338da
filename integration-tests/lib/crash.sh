# integration-tests/lib/crash.sh: the crash test, shared by scenarios 8 (spool) and 12
# (passthrough). Sourced after common.sh, with DNS and the sink started.
#
# crash_test HOCON WORD MODE: starts the relay with HOCON added to the config and checks that it
# answers "WORD as ID" (else skips: MODE has not landed); then sends N distinct messages
# over CONC concurrent sessions, kills the relay with SIGKILL once KILL_AFTER of them got their
# 250, starts it again on the same queue.dir with the upstream up, and checks that every
# Message-ID answered 250 reaches the sink. Duplicates are possible after a crash and counted.
crash_test() {
  local hocon=$1 word=$2 mode=$3
  local n=${IT_CRASH_MESSAGES:-300} conc=${IT_CRASH_SESSIONS:-16}
  local kill_after=${IT_CRASH_KILL_AFTER:-$(( ${IT_CRASH_MESSAGES:-300} / 3 ))}
  RELAY_DIR="$T/relay"; mkdir -p "$RELAY_DIR/spool"
  RELAY_PORT=$(free_port) RELAY_MGMT_PORT=$(free_port)
  RELAY_CONF="$RELAY_DIR/returnpath.conf"
  write_relay_conf "$RELAY_CONF" "$hocon"
  (cd "$RELAY_DIR" && exec "$JAVA" -jar "$RELAY_JAR" serve --config "$RELAY_CONF") >>"$RELAY_DIR/relay.log" 2>&1 &
  RELAY_PID=$!
  IT_PIDS+=("$RELAY_PID")
  if ! wait_tcp "$RELAY_PORT" 60 "$RELAY_PID"; then
    local rc=0; wait "$RELAY_PID" || rc=$?
    [ "$rc" -eq 78 ] && skip "$mode mode not landed yet (serve exited 78: $(grep -i 'configuration error' "$RELAY_DIR/relay.log" | head -n 1))"
    fail "the relay did not start (exit $rc, see relay.log)"
  fi
  printf 'From: <noreply@example.com>\r\nSubject: probe\r\nMessage-ID: <probe@web01.internal>\r\n\r\nprobe\r\n' > "$T/probe.eml"
  local probe; probe=$($CHECK send "$RELAY_PORT" apache@web01.internal customer@gmail.test "$T/probe.eml")
  log "probe: $probe"
  case "$probe" in
    *"$word as"*) ;;
    250*) skip "$mode mode not landed yet (the relay answers '$probe')" ;;
    *) fail "the probe message was not accepted: $probe" ;;
  esac
  sink_wait 1 30 || fail "the probe message was not delivered within 30s"

  : > "$T/replies.tsv"
  $CHECK blast "$RELAY_PORT" "$n" "$conc" "$T/replies.tsv" 2048 crash > "$T/blast.log" 2>&1 &
  local blast=$! i
  IT_PIDS+=("$blast")
  for ((i = 0; i < 1200; i++)); do
    [ "$(grep -c $'\t250\t' "$T/replies.tsv" || true)" -ge "$kill_after" ] && break
    kill -0 "$blast" 2>/dev/null || break
    sleep 0.05
  done
  kill -9 "$RELAY_PID"
  log "relay killed with SIGKILL after $(grep -c $'\t250\t' "$T/replies.tsv" || true) accepted messages; the sink holds $(sink_count)"
  wait "$blast" || true
  local accepted; accepted=$(grep -c $'\t250\t' "$T/replies.tsv" || true)
  log "client done: $accepted of $n messages got 250, $(grep -vc $'\t250\t' "$T/replies.tsv" || true) did not"
  [ "$accepted" -ge "$kill_after" ] || fail "only $accepted messages were accepted before the kill (expected >= $kill_after)"
  [ "$accepted" -lt "$n" ] || note "the kill came after the last message: nothing was in flight"

  relay_launch
  local deadline=$((SECONDS + 120)) report
  until report=$($CHECK crash-report "$T/replies.tsv" "$SINK_DIR"); do
    [ $SECONDS -lt $deadline ] || fail "messages answered 250 were lost: $report"
    sleep 1
  done
  sleep 3   # late duplicates
  report=$($CHECK crash-report "$T/replies.tsv" "$SINK_DIR") || fail "messages answered 250 were lost: $report"
  log "crash test: $report"
  note "$report"
}
