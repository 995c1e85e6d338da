#!/usr/bin/env bash
# Scenario 10: the upstream's own words reach the app (README, "Replies the app sees").
#  a) the smarthost refuses DATA with Gmail's multi-line 550-5.7.26: through msmtp mail()
#     fails with that text; through Postfix the message bounces with it in Postfix's log;
#  b) the smarthost answers 451 4.7.1 (greylisting): msmtp fails with 451, Postfix defers;
#  c) the smarthost refuses one of two recipients: the app gets 250, the good recipient gets
#     the message, and a DSN (RFC 3464) from <> goes to the rewritten envelope sender;
#  d) the smarthost is down: msmtp fails with a 451 from the relay.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$IT_LIB/messages.sh"
it_init 10-upstream-replies

start_dns
REPLY_FILE="$T/data-reply"
start_sink --reply-file "$REPLY_FILE" \
  --rcpt-reply 'nosuch@gmail.test=550 5.1.1 The email account that you tried to reach does not exist'
start_relay
start_postfix
write_msmtprc "$T/msmtprc"
php_message s10 noreply@example.com
msmtp_mail() { php_mail "msmtp -C $T/msmtprc -t" "$1" "Your order #1042" "$T/msg/s10.body" "$T/msg/s10.headers"; }
pf_mail() { php_mail "$PF_SENDMAIL" "$1" "Your order #1042" "$T/msg/s10.body" "$T/msg/s10.headers"; }

# a) 550-5.7.26, multi-line
cat > "$REPLY_FILE" <<'EOF'
550-5.7.26 This mail is unauthenticated, which poses a security risk to the
550-5.7.26 sender and Gmail users, and has been blocked. The sender must
550 5.7.26 authenticate with at least one of SPF or DKIM.
EOF
out=$(msmtp_mail customer@gmail.test)
log "a) msmtp: $out"
grep -q 'returned false' <<<"$out" || fail "a) mail() through msmtp succeeded although the upstream said 550"
grep -q '5\.7\.26' <<<"$out" || fail "a) msmtp's error lacks the upstream's 5.7.26: $out"
grep -q 'authenticate with at least one of SPF or DKIM' <<<"$out" || fail "a) msmtp's error lacks the upstream's text: $out"
out=$(pf_mail customer@gmail.test)
pf_wait_log 'status=bounced' 30 || fail "a) Postfix did not bounce the message: $(grep status= "$PF_ROOT/maillog" | tail -n 1)"
line=$(grep 'status=bounced' "$PF_ROOT/maillog" | head -n 1)
log "a) postfix: $line"
grep -q 'said: 550' <<<"$line" && grep -q '5\.7\.26' <<<"$line" && grep -q 'has been blocked' <<<"$line" \
  || fail "a) Postfix's bounce does not carry the upstream's 550 5.7.26 and its text: $line"
[ "$(sink_count)" -eq 0 ] || fail "a) the sink stored a message it refused"

# b) 451 4.7.1
echo '451 4.7.1 Greylisted, please try again in 300 seconds' > "$REPLY_FILE"
out=$(msmtp_mail customer@gmail.test)
log "b) msmtp: $out"
grep -q 'returned false' <<<"$out" || fail "b) mail() through msmtp succeeded although the upstream said 451"
grep -q '451' <<<"$out" && grep -q 'Greylisted' <<<"$out" || fail "b) msmtp's error lacks the upstream's 451 and its text: $out"
out=$(pf_mail customer@gmail.test)
pf_wait_log 'status=deferred' 30 || fail "b) Postfix did not defer the message: $(grep status= "$PF_ROOT/maillog" | tail -n 1)"
line=$(grep 'status=deferred' "$PF_ROOT/maillog" | head -n 1)
log "b) postfix: $line"
grep -q 'said: 451' <<<"$line" && grep -q 'Greylisted' <<<"$line" \
  || fail "b) Postfix's deferral does not carry the upstream's 451 and its text: $line"
# the greylisting ends; Postfix's retry goes through
rm -f "$REPLY_FILE"
pf_flush
sink_wait 1 30 || fail "b) the deferred message was not delivered after the upstream recovered"
expect_envelope 1 "bounce@example.com" "customer@gmail.test"
expect_bytes 1 2 "$T/msg/s10.expected"

# c) one of two recipients refused
out=$(msmtp_mail "customer@gmail.test, nosuch@gmail.test")
log "c) msmtp: $out"
grep -q 'returned true' <<<"$out" || fail "c) mail() failed although one recipient was accepted: $out"
sink_wait 3 15 || fail "c) expected the message and a DSN at the sink, found $(sink_count - 1) new message(s)"
msg="" dsn=""
for n in 2 3; do
  from=$($CHECK field "$(sink_msg $n).json" mail_from)
  if [ -z "$from" ] || [ "$from" = "<>" ]; then dsn=$n; else msg=$n; fi
done
[ -n "$msg" ] || fail "c) the message to the accepted recipient did not reach the sink"
[ -n "$dsn" ] || fail "c) no DSN from <> reached the sink"
expect_envelope "$msg" "bounce@example.com" "customer@gmail.test"
[ "$($CHECK field "$(sink_msg $dsn).json" rcpt_tos)" = "bounce@example.com" ] \
  || fail "c) the DSN went to '$($CHECK field "$(sink_msg $dsn).json" rcpt_tos)', not to the rewritten sender bounce@example.com"
d="$(sink_msg $dsn).eml"
grep -qi '^Content-Type: multipart/report;.*report-type="\?delivery-status' "$d" || \
  tr -d '\r' < "$d" | tr '\n' ' ' | grep -qiE 'multipart/report;[^:]*report-type="?delivery-status' \
  || fail "c) the DSN is not a multipart/report; report-type=delivery-status"
grep -qi '^Content-Type: message/delivery-status' "$d" || fail "c) the DSN has no message/delivery-status part"
grep -qiE '^Final-Recipient: *rfc822; *nosuch@gmail\.test' "$d" || fail "c) the DSN lacks Final-Recipient: rfc822; nosuch@gmail.test"
grep -qiE '^Action: *failed' "$d" || fail "c) the DSN lacks Action: failed"
grep -qiE '^Status: *5\.1\.1' "$d" || fail "c) the DSN lacks Status: 5.1.1"
grep -qiE '^Diagnostic-Code: *smtp; *550 5\.1\.1' "$d" || fail "c) the DSN lacks the upstream's Diagnostic-Code"
if grep -qiE '^Final-Recipient: *rfc822; *customer@gmail\.test' "$d"; then fail "c) the DSN also reports the delivered recipient as failed"; fi
log "c) DSN $dsn: $(grep -iE '^(Final-Recipient|Action|Status|Diagnostic-Code):' "$d" | tr -d '\r' | tr '\n' ' ')"

# d) the upstream is down
kill "$SINK_PID"; wait "$SINK_PID" 2>/dev/null || true
out=$(msmtp_mail customer@gmail.test)
log "d) msmtp: $out"
grep -q 'returned false' <<<"$out" || fail "d) mail() succeeded with the upstream down"
grep -q '451' <<<"$out" || fail "d) the relay did not answer 451 with the upstream down: $out"
pass
