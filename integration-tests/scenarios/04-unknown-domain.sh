#!/usr/bin/env bash
# Scenario 4: a From domain that is not configured (rewrite.unknown-domain = reject, the default)
# is refused with 550 5.7.1, and the refusal reaches the app:
#  a) through msmtp (no queue): mail() returns false and msmtp shows the relay's words;
#  b) through Postfix: mail() succeeds (Postfix queued it), then Postfix bounces the message
#     with the relay's reply in its log.
# Nothing reaches the sink.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$IT_LIB/messages.sh"
it_init 4-unknown-domain

start_dns
start_sink
start_relay
start_postfix
write_msmtprc "$T/msmtprc"

php_message s4a shop@unknown-shop.test
out=$(php_mail "msmtp -C $T/msmtprc -t" "customer@gmail.test" "Your order #1042" "$T/msg/s4a.body" "$T/msg/s4a.headers")
log "php via msmtp: $out"
grep -q 'returned false' <<<"$out" || fail "mail() through msmtp did not fail: $out"
grep -q '550 5\.7\.1' <<<"$out" || fail "msmtp's error does not carry the relay's 550 5.7.1: $out"
grep -q 'unknown-shop\.test' <<<"$out" || fail "the rejection does not name the domain: $out"

php_message s4b shop@unknown-shop.test
out=$(php_mail "$PF_SENDMAIL" "customer@gmail.test" "Your order #1042" "$T/msg/s4b.body" "$T/msg/s4b.headers")
log "php via postfix: $out"
grep -q 'returned true' <<<"$out" || fail "mail() through Postfix failed: $out"
pf_wait_log 'to=<customer@gmail\.test>.*status=bounced' 30 \
  || fail "Postfix did not bounce the message; queue: $(pf_queue_json)"
line=$(grep -E 'to=<customer@gmail\.test>.*status=bounced' "$PF_ROOT/maillog" | head -n 1)
log "postfix: $line"
grep -q 'said: 550 5\.7\.1 sender domain unknown-shop\.test is not configured' <<<"$line" \
  || fail "Postfix's bounce does not carry '550 5.7.1 sender domain unknown-shop.test is not configured': $line"

sleep 2   # let Postfix's own bounce (to root@web01.internal) go where it goes
n=$(sink_count)
if [ "$n" -gt 0 ]; then
  for f in "$SINK_DIR"/*.json; do
    if grep -q 'customer@gmail.test' "$f"; then fail "the rejected message reached the sink anyway"; fi
  done
  log "the sink got $n message(s), none to customer@gmail.test (Postfix's bounce to the app user)"
fi
pass
