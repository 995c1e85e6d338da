#!/usr/bin/env bash
# Scenario 0, the harness itself, without returnpath: NSD answers the test zone (SPF, MX, A,
# PTR) and takes an edit; PHP mail() through Postfix's sendmail and through msmtp, and swaks,
# reach the sink directly, byte for byte. If this fails, the other verdicts mean nothing.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$IT_LIB/messages.sh"
it_init harness

start_dns
d() { dig +short +time=1 +tries=1 @127.0.0.1 -p "$DNS_PORT" "$@"; }
expect "SPF TXT of example.com" [ "$(d example.com TXT)" = '"v=spf1 ip4:203.0.113.5 -all"' ]
expect "MX of example.com" [ "$(d example.com MX)" = "10 mx1.example.com." ]
expect "A of relay.example.com" [ "$(d relay.example.com A)" = "203.0.113.5" ]
expect "PTR of 203.0.113.5" [ "$(d -x 203.0.113.5)" = "relay.example.com." ]
dns_set_spf "v=spf1 ip4:198.51.100.7 -all"
dns_set_spf "v=spf1 ip4:203.0.113.5 -all"

start_sink
RELAY_PORT=$SINK_PORT   # the clients talk to the sink directly here

# PHP mail() -> Postfix sendmail -> Postfix -> sink
start_postfix
php_message pf noreply@example.com
out=$(php_mail "$PF_SENDMAIL" "customer@gmail.test" "Your order #1042" "$T/msg/pf.body" "$T/msg/pf.headers")
log "php via postfix: $out"
expect "mail() via Postfix returned true" grep -q 'returned true' <<<"$out"
sink_wait 1 30 || fail "Postfix did not deliver to the sink"
m=$(sink_msg 1)
expect "Postfix's envelope sender" [ "$($CHECK field "$m.json" mail_from)" = "root@web01.internal" ]
expect "Postfix's recipients" [ "$($CHECK field "$m.json" rcpt_tos)" = "customer@gmail.test" ]
$CHECK top-received "$m.eml" 1 "$T/pf.rest" >/dev/null || fail "Postfix's message does not start with one Received"
$CHECK same "$T/msg/pf.expected" "$T/pf.rest" || fail "Postfix changed the message beyond its Received line"

# PHP mail() -> msmtp as sendmail -> sink
write_msmtprc "$T/msmtprc"
php_message ms noreply@example.com
out=$(php_mail "msmtp -C $T/msmtprc -t" "customer@gmail.test" "Your order #1042" "$T/msg/ms.body" "$T/msg/ms.headers")
log "php via msmtp: $out"
expect "mail() via msmtp returned true" grep -q 'returned true' <<<"$out"
sink_wait 2 10 || fail "msmtp did not deliver to the sink"
m=$(sink_msg 2)
expect "msmtp's envelope sender" [ "$($CHECK field "$m.json" mail_from)" = "apache@web01.internal" ]
$CHECK same "$T/msg/ms.expected" "$m.eml" || fail "msmtp changed the message"

# swaks -> sink
# (swaks ends DATA with CRLF.CRLF after the data: a file without a final line end arrives with one)
printf 'From: <noreply@example.com>\r\nSubject: swaks\r\n\r\n8-bit: \xe9t\xe9 \xc3\xa9t\xc3\xa9' > "$T/sw.eml"
swaks --silent 2 --server 127.0.0.1 --port "$SINK_PORT" --helo web01.internal \
  --from apache@web01.internal --to a@gmail.test --data "@$T/sw.eml" || fail "swaks failed against the sink"
sink_wait 3 10 || fail "swaks did not deliver to the sink"
printf '\r\n' >> "$T/sw.eml"
$CHECK same "$T/sw.eml" "$(sink_msg 3).eml" || fail "swaks->sink changed the bytes"
pass
