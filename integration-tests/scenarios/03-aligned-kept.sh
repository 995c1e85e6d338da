#!/usr/bin/env bash
# Scenario 3: the app already passes an aligned envelope sender with -f; returnpath keeps it.
#  a) PHP mail(..., "-f webmaster@example.com") through Postfix: same domain as From, kept.
#  b) PHP mail(..., "-f news@mail.example.com") through msmtp: a subdomain of the From domain,
#     aligned in DMARC's relaxed mode (the default), kept; its own SPF record passes.
#  c) the null sender (an app's auto-reply or bounce, MAIL FROM:<>) through swaks: never
#     rewritten; the SPF guard checks the HELO identity (relay.example.com has its own record).
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$IT_LIB/messages.sh"
it_init 3-aligned-kept

start_dns
start_sink
start_relay
start_postfix
write_msmtprc "$T/msmtprc"

php_message s3a noreply@example.com
out=$(php_mail "$PF_SENDMAIL" "customer@gmail.test" "Your order #1042" "$T/msg/s3a.body" "$T/msg/s3a.headers" "-f webmaster@example.com")
log "php via postfix: $out"
grep -q 'returned true' <<<"$out" || fail "mail() through Postfix failed: $out"
sink_wait 1 30 || fail "nothing reached the sink within 30s; postfix queue: $(pf_queue_json)"
expect_envelope 1 "webmaster@example.com" "customer@gmail.test"
expect_bytes 1 2 "$T/msg/s3a.expected"

php_message s3b noreply@example.com
out=$(php_mail "msmtp -C $T/msmtprc -t" "customer@gmail.test" "Your order #1042" "$T/msg/s3b.body" "$T/msg/s3b.headers" "-f news@mail.example.com")
log "php via msmtp: $out"
grep -q 'returned true' <<<"$out" || fail "mail() through msmtp failed: $out"
sink_wait 2 10 || fail "the msmtp message did not reach the sink"
expect_envelope 2 "news@mail.example.com" "customer@gmail.test"
expect_bytes 2 1 "$T/msg/s3b.expected"

printf 'From: Shop <noreply@example.com>\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <s3c@web01.internal>\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n\r\nI am away.' > "$T/s3c.eml"
out=$(swaks --server 127.0.0.1 --port "$RELAY_PORT" --helo web01.internal --from '<>' \
  --to customer@gmail.test --data "@$T/s3c.eml" 2>&1) || fail "the null-sender message was refused: $(grep -E '^<\*\*' <<<"$out" | head -n 2)"
sink_wait 3 10 || fail "the null-sender message did not reach the sink"
printf '\r\n' >> "$T/s3c.eml"
got=$($CHECK field "$(sink_msg 3).json" mail_from)
[ "$got" = "<>" ] || [ -z "$got" ] || fail "the null sender was rewritten to <$got>"
expect_bytes 3 1 "$T/s3c.eml"
pass
