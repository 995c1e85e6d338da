#!/usr/bin/env bash
# Scenario 23: the listener on a shared network, with real clients. A private CA and the relay's
# certificate are made with openssl here; the users file with `returnpath passwd` (600,000
# PBKDF2 iterations, as shipped). 127.0.0.1 is in allowed-networks (sends without AUTH); clients
# from 127.0.0.2 are in auth.require-for (must AUTH before MAIL).
#   swaks --tls --auth PLAIN from 127.0.0.2: relayed, the arrival line says user=app, the password
#     is in no log line; a wrong password 535 5.7.8; AUTH before STARTTLS is not offered (swaks
#     gives up) and, sent anyway, 538 5.7.11; a require-for client without AUTH 530 5.7.0 and
#     nothing at the sink; an allowed-networks client without AUTH still relayed.
#   PHP mail() -> msmtp (tls on, auth on, tls_trust_file = the CA, from 127.0.0.2) -> the sink.
#   openssl s_client -starttls smtp: TLS 1.3 and 1.2 accepted with the certificate verified;
#     TLS 1.1 and 1.0 refused by the relay (protocol_version alert; the client offers them at
#     SECLEVEL=0, since Debian 12's openssl would not even try them at its default level 2).
#   The certificate files replaced: the next handshake shows the new certificate, no restart.
#   20 bad commands pipelined: 20 replies, then 421 4.7.0 and the connection closed.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$IT_LIB/messages.sh"
it_init 23-listener-tls-auth

command -v openssl >/dev/null || skip "openssl is not installed"
K="$T/tls"; mkdir -p "$K"; chmod 700 "$K"

# --- a private CA and the relay's certificate (docs/listener.md's recipe) ----------------------
issue() { # issue NAME CN: $K/NAME.key, $K/NAME.pem signed by the CA, for localhost and 127.0.0.1
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$K/$1.key" 2>/dev/null
  chmod 600 "$K/$1.key"
  openssl req -new -key "$K/$1.key" -subj "/CN=$2" -out "$K/$1.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,DNS:relay.example.com,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$K/$1.ext"
  openssl x509 -req -in "$K/$1.csr" -CA "$K/ca.pem" -CAkey "$K/ca.key" -CAcreateserial -days 30 \
    -extfile "$K/$1.ext" -out "$K/$1.pem" 2>/dev/null
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
  -subj "/CN=returnpath scenario CA" -keyout "$K/ca.key" -out "$K/ca.pem" 2>/dev/null
issue first relay.example.com
issue second relay-rotated.example.com
cp "$K/first.pem" "$K/cert.pem"; cp "$K/first.key" "$K/key.pem"; chmod 600 "$K/key.pem"

# --- the users file, as an operator makes it -----------------------------------------------------
APP_PW='scenario-23 app password'
printf '%s\n' "$APP_PW" | "$JAVA" -jar "$RELAY_JAR" passwd app > "$K/users" 2>"$T/passwd.err" \
  || fail "returnpath passwd failed: $(cat "$T/passwd.err")"
chmod 600 "$K/users"
grep -q '^app:\$pbkdf2-sha256\$600000\$' "$K/users" || fail "passwd did not print a 600,000-iteration line: $(cat "$K/users")"

start_dns
start_sink
start_relay "returnpath.listen {
  allowed-networks = [\"127.0.0.1/32\"]
  tls { cert-file = \"$K/cert.pem\", key-file = \"$K/key.pem\" }
  auth { users-file = \"$K/users\", require-for = [\"127.0.0.2/32\"] }
}"

sw() { # swaks with the scenario's message; extra options after
  swaks --server 127.0.0.1 --port "$RELAY_PORT" --helo web01.internal --from apache@web01.internal \
    --to customer@gmail.test --header "From: Shop <noreply@example.com>" --header "Subject: scenario 23" \
    --timeout 30 "$@" 2>&1
}
TLS=(--tls --tls-verify --tls-ca-path "$K/ca.pem")

# --- swaks: STARTTLS + AUTH PLAIN from a require-for client ----------------------------------------
out=$(sw --local-interface 127.0.0.2 "${TLS[@]}" --auth PLAIN --auth-user app --auth-password "$APP_PW") \
  || fail "swaks --tls --auth PLAIN failed: $(tail -n 20 <<<"$out")"
grep -q '^<~  *235 ' <<<"$out" || fail "no 235 over TLS: $(tail -n 20 <<<"$out")"
sink_wait 1 10 || fail "the authenticated message did not reach the sink"
expect_envelope 1 "bounce@example.com" "customer@gmail.test"
grep -q 'user=app' "$RELAY_DIR/relay.log" || fail "the arrival line has no user=app"
b64=$(printf '\0app\0%s' "$APP_PW" | base64 -w0)
if grep -qF -e "$APP_PW" -e "$b64" "$RELAY_DIR/relay.log"; then fail "the password appears in the relay's log"; fi
log "swaks: STARTTLS + AUTH PLAIN relayed, user=app logged, no password in the log"

# --- wrong password: 535 5.7.8 ---------------------------------------------------------------------
out=$(sw --local-interface 127.0.0.2 "${TLS[@]}" --auth PLAIN --auth-user app --auth-password 'not the password!') \
  && fail "swaks with a wrong password succeeded"
grep -q '^<~\** *535 5.7.8' <<<"$out" || fail "a wrong password is not 535 5.7.8: $(tail -n 10 <<<"$out")"
grep -q 'auth: failed from 127.0.0.2 as app: wrong name or password' "$RELAY_DIR/relay.log" \
  || fail "the failed AUTH is not logged"
log "swaks: a wrong password gets 535 5.7.8"

# --- AUTH before STARTTLS ------------------------------------------------------------------------------
out=$(sw --local-interface 127.0.0.2 --auth PLAIN --auth-user app --auth-password "$APP_PW") \
  && fail "swaks authenticated without TLS"
grep -qi 'did not advertise\|not advertised' <<<"$out" || fail "AUTH was offered before STARTTLS: $(tail -n 10 <<<"$out")"
printf 'EHLO web01.internal\r\n@@WAIT@@\r\nAUTH PLAIN %s\r\n@@WAIT@@\r\nQUIT\r\n' "$b64" > "$T/auth-plain.smtp"
replies=$($CHECK smtp "$RELAY_PORT" "$T/auth-plain.smtp")
grep -q '^250-STARTTLS' <<<"$replies" || fail "STARTTLS is not offered: $replies"
grep -q '^538 5.7.11' <<<"$replies" || fail "AUTH before STARTTLS is not 538 5.7.11: $replies"
log "AUTH before STARTTLS: not advertised, and 538 5.7.11 when sent"

# --- a require-for client without AUTH gets nothing relayed; an allowed-networks one does -------
out=$(sw --local-interface 127.0.0.2 "${TLS[@]}") && fail "a require-for client sent without AUTH"
grep -Eq '^<~?\*? *530 5\.7\.0' <<<"$out" || fail "MAIL without AUTH from require-for is not 530 5.7.0: $(tail -n 10 <<<"$out")"
sleep 0.5
[ "$(sink_count)" -eq 1 ] || fail "something reached the sink from the require-for client without AUTH"
out=$(sw --local-interface 127.0.0.1) || fail "an allowed-networks client without AUTH failed: $(tail -n 10 <<<"$out")"
sink_wait 2 10 || fail "the allowed-networks client's message did not reach the sink"
log "require-for without AUTH: 530 5.7.0, nothing relayed; allowed-networks without AUTH: relayed"

# --- PHP mail() -> msmtp with tls on, auth on ------------------------------------------------------------
cat > "$T/msmtprc" <<EOF
defaults
logfile $T/msmtp.log
account returnpath
host 127.0.0.1
port $RELAY_PORT
source_ip 127.0.0.2
tls on
tls_starttls on
tls_trust_file $K/ca.pem
auth on
user app
password $APP_PW
domain web01.internal
from apache@web01.internal
account default : returnpath
EOF
chmod 600 "$T/msmtprc"
php_message s23 noreply@example.com
out=$(php_mail "msmtp -C $T/msmtprc -t" "customer@gmail.test" "Your order #1042" "$T/msg/s23.body" "$T/msg/s23.headers")
log "php: $out"
grep -q 'returned true' <<<"$out" || fail "mail() through msmtp over STARTTLS + AUTH failed: $out; msmtp log: $(tail -n 3 "$T/msmtp.log" 2>/dev/null)"
[ "$(sink_count)" -eq 3 ] || fail "mail() returned with $(sink_count) messages at the sink, expected 3"
expect_envelope 3 "bounce@example.com" "customer@gmail.test"
expect_bytes 3 1 "$T/msg/s23.expected"
[ "$(grep -c 'user=app' "$RELAY_DIR/relay.log")" -ge 2 ] || fail "msmtp's message has no user=app on its arrival line"
log "php -> msmtp (tls on, auth on, tls_trust_file): relayed as user app"

# --- openssl s_client: the protocol versions ----------------------------------------------------------------
handshake() { # handshake ARGS...: s_client's output
  timeout 15 openssl s_client -starttls smtp -connect "127.0.0.1:$RELAY_PORT" -CAfile "$K/ca.pem" \
    -verify_return_error -verify_hostname localhost -brief "$@" </dev/null 2>&1 || true
}
for v in 1_3 1_2; do
  out=$(handshake "-tls$v")
  grep -q "Protocol version: TLSv${v/_/.}" <<<"$out" || fail "TLS ${v/_/.} is not accepted: $out"
  grep -q 'Verification: OK' <<<"$out" || fail "the certificate does not verify at TLS ${v/_/.}: $out"
done
for v in 1_1 1; do
  out=$(handshake "-tls$v" -cipher 'DEFAULT@SECLEVEL=0')
  grep -q 'CONNECTION ESTABLISHED' <<<"$out" && fail "TLS $v was accepted: $out"
  grep -q 'alert protocol version' <<<"$out" || fail "TLS $v is not refused by the relay with a protocol_version alert: $out"
done
log "openssl s_client: TLS 1.3 and 1.2 accepted and verified, 1.1 and 1.0 refused (alert protocol version)"

# --- certificate rotation without a restart ---------------------------------------------------------------
served_serial() {
  timeout 15 openssl s_client -starttls smtp -connect "127.0.0.1:$RELAY_PORT" </dev/null 2>/dev/null \
    | openssl x509 -noout -serial 2>/dev/null || true
}
first=$(openssl x509 -in "$K/first.pem" -noout -serial)
second=$(openssl x509 -in "$K/second.pem" -noout -serial)
[ "$(served_serial)" = "$first" ] || fail "the relay does not serve the first certificate"
# as a rotation tool does: the key first, then the certificate, each replaced by a rename
cp "$K/second.key" "$K/key.new"; chmod 600 "$K/key.new"; mv "$K/key.new" "$K/key.pem"
cp "$K/second.pem" "$K/cert.new"; mv "$K/cert.new" "$K/cert.pem"
got=""
for _ in $(seq 1 50); do
  got=$(served_serial)
  [ "$got" = "$second" ] && break
  sleep 0.1
done
[ "$got" = "$second" ] || fail "after the files were replaced the relay serves $got, not the new certificate $second"
grep -q 'tls: certificate reloaded from' "$RELAY_DIR/relay.log" || fail "the reload is not logged"
out=$(sw --local-interface 127.0.0.2 "${TLS[@]}" --auth PLAIN --auth-user app --auth-password "$APP_PW") \
  || fail "swaks after the rotation failed: $(tail -n 10 <<<"$out")"
sink_wait 4 10 || fail "the message after the rotation did not reach the sink"
log "rotation: the next handshake served the new certificate (${second#serial=}), mail still flows"

# --- max-errors: 20 bad commands, then 421 4.7.0 --------------------------------------------------------------
{ printf 'EHLO web01.internal\r\n@@WAIT@@\r\n'; for _ in $(seq 1 25); do printf 'FROBNICATE\r\n'; done
  printf 'MAIL FROM:<apache@web01.internal>\r\nRCPT TO:<customer@gmail.test>\r\nDATA\r\nSubject: x\r\n\r\nx\r\n.\r\n'; } > "$T/errors.smtp"
replies=$($CHECK smtp "$RELAY_PORT" "$T/errors.smtp")
[ "$(grep -c '^500 ' <<<"$replies")" -eq 20 ] || fail "not 20 replies to 25 bad commands: $replies"
grep -q '^421 4.7.0 Too many bad commands' <<<"$replies" || fail "no 421 4.7.0 after 20 bad commands: $replies"
grep -q '<closed>' <<<"$replies" || fail "the connection stayed open after the 421"
sleep 0.5
[ "$(sink_count)" -eq 4 ] || fail "the message pipelined after the bad commands was relayed"
log "max-errors: 20 replies, 421 4.7.0, closed, nothing relayed"

pass
