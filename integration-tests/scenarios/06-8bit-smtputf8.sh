#!/usr/bin/env bash
# Scenario 6: bytes are preserved.
#  a) swaks sends 8-bit content (UTF-8 and Latin-1 bytes in headers and body, dot lines,
#     trailing blanks, a 998-octet line, no MIME): the sink gets the same bytes below the
#     relay's Received line.
#  b) Python's smtplib sends with SMTPUTF8 and BODY=8BITMIME (RFC 6531/6532): a UTF-8 local part
#     in MAIL FROM (rewritten), a UTF-8 recipient (kept, and so SMTPUTF8 must go upstream), UTF-8
#     header values; the sink gets the recipient and the bytes unchanged.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
it_init 6-8bit-smtputf8

start_dns
start_sink
start_relay

# a) swaks, 8-bit. swaks ends DATA with CRLF.CRLF after the data, so the file has no final CRLF.
long=$(printf 'é%.0s' $(seq 1 499))   # 998 octets: the longest line SMTP allows
{
  printf 'From: "Grüße GmbH" <noreply@example.com>\r\n'
  printf 'To: <customer@gmail.test>\r\n'
  printf 'Subject: Bestätigung – 10 € Rabatt\r\n'
  printf 'Message-ID: <s6a@web01.internal>\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n'
  printf 'X-Latin1: caf\xe9\r\n'
  printf '\r\n'
  printf 'UTF-8: Grüße, ¿qué tal?, 日本語, emoji \xf0\x9f\x93\xa7\r\n'
  printf 'Latin-1: d\xe9j\xe0 vu, \xa9 2025\r\n'
  printf '.\r\n..two dots\r\n.one dot\r\n'
  printf 'trailing blanks \t \r\n'
  printf '%s\r\n' "$long"
  printf '\r\n\r\nlast line'
} > "$T/s6a.eml"
out=$(swaks --server 127.0.0.1 --port "$RELAY_PORT" --helo web01.internal \
  --from apache@web01.internal --to customer@gmail.test --data "@$T/s6a.eml" 2>&1) \
  || fail "swaks failed: $(grep -E '^<~?\*? *[45]' <<<"$out" | head -n 3)"
sink_wait 1 10 || fail "the swaks message did not reach the sink"
printf '\r\n' >> "$T/s6a.eml"
expect_envelope 1 "bounce@example.com" "customer@gmail.test"
expect_bytes 1 1 "$T/s6a.eml"

# a2) a message without a body (no empty line after the header block, RFC 5322 allows it).
#     swaks itself completes it on the wire: it ends the last line, adds the empty line and an
#     empty body line (seen with a raw socket sink: "...>\r\n\r\n\r\n.\r\n"). The relay must pass on
#     exactly what swaks sent.
printf 'From: <noreply@example.com>\r\nSubject: headers only\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\nMessage-ID: <s6a2@web01.internal>' > "$T/s6a2.eml"
swaks --silent 2 --server 127.0.0.1 --port "$RELAY_PORT" --helo web01.internal \
  --from apache@web01.internal --to customer@gmail.test --data "@$T/s6a2.eml" || fail "swaks failed on a message without a body"
sink_wait 2 10 || fail "the message without a body did not reach the sink"
printf '\r\n\r\n\r\n' >> "$T/s6a2.eml"
$CHECK top-received "$(sink_msg 2).eml" 1 "$T/rest.s6a2" >/dev/null || fail "the message without a body has no Received on top"
d=$($CHECK same "$T/s6a2.eml" "$T/rest.s6a2") || fail "a message without a body is not relayed byte for byte: $(tr '\n' ' ' <<<"$d")"

# b) SMTPUTF8
{
  printf 'From: Jürgen Müller <noreply@example.com>\r\n'
  printf 'To: Zoë <zoë@bücher.test>\r\n'
  printf 'Subject: Ihre Bestellung – 注文\r\n'
  printf 'Message-ID: <s6b@web01.internal>\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n'
  printf 'MIME-Version: 1.0\r\n'
  printf 'Content-Type: text/plain; charset=UTF-8\r\n'
  printf 'Content-Transfer-Encoding: 8bit\r\n'
  printf '\r\n'
  printf 'Grüße aus Köln – 日本語 – \xf0\x9f\x93\xa7\r\n'
} > "$T/s6b.eml"
out=$($CHECK utf8 "$RELAY_PORT" "アパッチ@web01.internal" "zoë@bücher.test" "$T/s6b.eml") \
  || fail "the SMTPUTF8 message was not accepted: $out"
log "smtputf8: $out"
sink_wait 3 10 || fail "the SMTPUTF8 message did not reach the sink"
expect_envelope 3 "bounce@example.com" "zoë@bücher.test"
opts=$($CHECK field "$(sink_msg 3).json" mail_options)
log "sink 3: MAIL FROM parameters: $opts"
grep -qw SMTPUTF8 <<<"$opts" || fail "the relay did not pass SMTPUTF8 upstream with a UTF-8 recipient (MAIL FROM parameters: '$opts')"
expect_bytes 3 1 "$T/s6b.eml"
grep -qw 'BODY=8BITMIME' <<<"$opts" || fail "the relay dropped BODY=8BITMIME for 8-bit content (MAIL FROM parameters: '$opts')"
pass
