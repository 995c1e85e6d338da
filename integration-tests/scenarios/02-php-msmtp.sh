#!/usr/bin/env bash
# Scenario 2: PHP mail() -> msmtp as sendmail (no queue) -> returnpath -> the sink.
# msmtp has no queue, so returnpath's passthrough mode must have delivered upstream before it
# answers DATA: the sink holds the message the moment mail() returns. The app writes its own
# Return-Path: header, which the relay must remove (the receiving MTA adds the real one).
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$IT_LIB/messages.sh"
it_init 2-php-msmtp

start_dns
start_sink
start_relay
write_msmtprc "$T/msmtprc" apache@web01.internal

php_message s2 noreply@example.com 'Return-Path: <apache@web01.internal>'
out=$(php_mail "msmtp -C $T/msmtprc -t" "customer@gmail.test" "Your order #1042" "$T/msg/s2.body" "$T/msg/s2.headers")
log "php: $out"
grep -q 'returned true' <<<"$out" || fail "mail() through msmtp failed: $out"
n=$(sink_count)
[ "$n" -eq 1 ] || fail "mail() returned with $n messages at the sink: passthrough must answer only after the upstream did"
expect_envelope 1 "bounce@example.com" "customer@gmail.test"
grep -v '^Return-Path: ' "$T/msg/s2.expected" > "$T/msg/s2.expected-no-rp"
[ "$(wc -c < "$T/msg/s2.expected-no-rp")" -lt "$(wc -c < "$T/msg/s2.expected")" ] || fail "test bug: no Return-Path in the sent message"
expect_bytes 1 1 "$T/msg/s2.expected-no-rp"
grep -q 'relayed as' "$T/msmtp.log" || fail "msmtp's log does not show the relay's 'relayed as' reply"
pass
