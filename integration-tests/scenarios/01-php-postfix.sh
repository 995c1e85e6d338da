#!/usr/bin/env bash
# Scenario 1, the incident end to end: PHP mail() -> Postfix's sendmail -> Postfix as a null
# client (relayhost = [127.0.0.1]:PORT) -> returnpath -> smarthost (the sink).
# The host-name envelope sender (root@web01.internal, as Postfix makes it for the PHP process)
# must arrive rewritten to bounce@example.com, and the message must be the one PHP wrote,
# with only the relay's and Postfix's Received lines added.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$IT_LIB/messages.sh"
it_init 1-php-postfix

start_dns
start_sink
start_relay
start_postfix

php_message s1 noreply@example.com
out=$(php_mail "$PF_SENDMAIL" "customer@gmail.test" "Your order #1042" "$T/msg/s1.body" "$T/msg/s1.headers")
log "php: $out"
grep -q 'returned true' <<<"$out" || fail "mail() through Postfix's sendmail failed: $out"

sink_wait 1 30 || fail "nothing reached the sink within 30s; postfix queue: $(pf_queue_json)"
expect_envelope 1 "bounce@example.com" "customer@gmail.test"
expect_bytes 1 2 "$T/msg/s1.expected"
sleep 1
[ "$(sink_count)" -eq 1 ] || fail "the sink received $(sink_count) messages, expected 1"

# Postfix saw the relay's 250, and one queue ID ties the relay's log lines together.
pf_wait_log 'status=sent \(250 2\.0\.0 Ok: relayed as [^ )]+' 10 \
  || fail "Postfix's log has no 'status=sent (250 2.0.0 Ok: relayed as ID)'"
id=$(grep -Eo 'relayed as [^ )]+' "$PF_ROOT/maillog" | head -n 1 | awk '{print $3}')
log "relay queue ID $id; relay log lines:"
grep -F "$id" "$RELAY_DIR/relay.log" | sed 's/^/    /' || true
idlines=$(grep -F "$id" "$RELAY_DIR/relay.log" || true)
for want in 'from=<root@web01.internal>' 'return-path=<bounce@example.com>' 'header-from=<noreply@example.com>' \
            'spf=pass' 'to=<customer@gmail.test>' 'status=sent'; do
  grep -qF -- "$want" <<<"$idlines" || fail "the relay's log lines for $id lack '$want'"
done
if grep -qi 'order #1042 has shipped' "$RELAY_DIR/relay.log"; then fail "the relay logged the message body"; fi
pass
