#!/usr/bin/env bash
# Scenario 26: Microsoft 365 without a password. PHP mail() -> msmtp -> returnpath -> a smarthost
# that wants AUTH XOAUTH2 (aiosmtpd, STARTTLS required) with a token from an Entra-like HTTPS
# token endpoint (lib/xoauth2_upstream.py, both with a certificate from a CA made here). The
# relay is configured as docs/oauth.md says (provider = microsoft, the client secret in a file),
# with token-url and ca-file pointing at the loopback endpoint.
#   Two mail() calls: both delivered, one token request for both (besides the one of serve's
#   doctor at start), AUTH with the right mailbox.
#   The secret and the token are in no line of the relay's log and not in msmtp's log.
#   A wrong secret (file rewritten, relay restarted): mail() returns false and the app's log has
#     451 4.7.8 ... invalid_client (AADSTS7000215); nothing more at the smarthost.
#   doctor: upstream.oauth PASS with the right secret, FAIL naming invalid_client with the wrong.
#   Google Workspace: provider = google with a service account JSON key (RSA key made by openssl):
#     the endpoint verifies the RS256 assertion with the public key (openssl dgst) and its claims
#     (sub = the sending user), and the message is delivered.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$IT_LIB/messages.sh"
it_init 26-xoauth2

command -v openssl >/dev/null || skip "openssl is not installed"
K="$T/tls"
test_ca "$K"
test_cert "$K" server

SECRET="it26-$(openssl rand -hex 12)"
S="$T/secrets"; mkdir -p "$S"; chmod 700 "$S"
printf '%s\n' "$SECRET" > "$S/expected"; printf '%s\n' "$SECRET" > "$S/m365-client-secret"
chmod 600 "$S"/*

start_dns
SINK_PORT=$(free_port); TOKEN_PORT=$(free_port)
SINK_DIR="$T/sink/msgs"; mkdir -p "$SINK_DIR"
$PY "$IT_LIB/xoauth2_upstream.py" --smtp-port "$SINK_PORT" --token-port "$TOKEN_PORT" --dir "$SINK_DIR" \
  --cert "$K/server.pem" --key "$K/server.key" --tenant contoso.onmicrosoft.com --client-id it26-app \
  --secret-file "$S/expected" --user relay@example.com >>"$T/sink/xoauth2.log" 2>&1 &
IT_PIDS+=("$!")
wait_tcp "$SINK_PORT" 15 "$!" || fail "the XOAUTH2 smarthost did not start (see sink/xoauth2.log)"
wait_tcp "$TOKEN_PORT" 15 || fail "the token endpoint did not start (see sink/xoauth2.log)"
# counts KEY [DIR]: a count of the pair's (token requests, AUTHs), from DIR/oauth.json (default $T/sink)
counts() { $PY -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "${2:-$T/sink}/oauth.json" "$1" 2>/dev/null || echo 0; }

start_relay "
returnpath.delivery.smarthost {
  host = \"localhost\", port = $SINK_PORT, tls = starttls, ca-file = \"$K/ca.pem\"
  username = \"relay@example.com\"
  auth = xoauth2
  oauth {
    provider = microsoft
    tenant = \"contoso.onmicrosoft.com\"
    client-id = \"it26-app\"
    client-secret-file = \"$S/m365-client-secret\"
    token-url = \"https://localhost:$TOKEN_PORT/contoso.onmicrosoft.com/oauth2/v2.0/token\"
    ca-file = \"$K/ca.pem\"
  }
}"
write_msmtprc "$T/msmtprc" apache@web01.internal
# serve runs the doctor at start, which fetches a token of its own (it checks the endpoint for real)
for ((i = 0; i < 300; i++)); do grep -q 'doctor: [0-9]* checks' "$RELAY_DIR/relay.log" && break; sleep 0.1; done
grep -q 'doctor: [0-9]* checks, 0 FAIL' "$RELAY_DIR/relay.log" || fail "serve's doctor at start failed: $(grep 'doctor' "$RELAY_DIR/relay.log" | tail -3)"
before=$(counts token_requests)

for n in 1 2; do
  php_message "s26-$n" noreply@example.com
  out=$(php_mail "msmtp -C $T/msmtprc -t" "customer@gmail.test" "Order #$n" "$T/msg/s26-$n.body" "$T/msg/s26-$n.headers")
  log "php $n: $out"
  grep -q 'returned true' <<<"$out" || fail "mail() $n through an XOAUTH2 smarthost failed: $out (msmtp.log: $(tail -1 "$T/msmtp.log"))"
done
[ "$(sink_count)" -eq 2 ] || fail "the smarthost holds $(sink_count) messages, expected 2"
expect_envelope 1 "bounce@example.com" "customer@gmail.test"
[ "$(counts token_requests)" -eq $((before + 1)) ] || fail "$(( $(counts token_requests) - before )) token requests for two messages: the token must be reused"
[ "$(counts auth_ok)" -ge 1 ] || fail "no successful AUTH XOAUTH2 at the smarthost"
log "token requests: $(counts token_requests), AUTH XOAUTH2 accepted: $(counts auth_ok)"

# --- doctor with the right secret --------------------------------------------------------------
doc=$(cd "$RELAY_DIR" && "$JAVA" -jar "$RELAY_JAR" doctor --config "$RELAY_CONF" 2>&1 || true)
log "doctor: $(grep 'upstream\.' <<<"$doc" | tr '\n' '|')"
grep -Eq 'PASS +upstream\.oauth' <<<"$doc" || fail "doctor did not pass upstream.oauth: $(grep upstream <<<"$doc")"
grep -Eq 'PASS +upstream\.auth' <<<"$doc" || fail "doctor did not pass upstream.auth: $(grep upstream <<<"$doc")"

# --- a wrong secret: the app hears a 4xx that says why -------------------------------------------
stop_relay
printf 'not-the-secret\n' > "$S/m365-client-secret"
relay_launch
php_message s26-3 noreply@example.com
out=$(php_mail "msmtp -C $T/msmtprc -t" "customer@gmail.test" "Order #3" "$T/msg/s26-3.body" "$T/msg/s26-3.headers")
log "php 3: $out"
grep -q 'returned false' <<<"$out" || fail "mail() returned true with a wrong client secret: $out"
grep -q '451 4.7.8 no OAuth token for localhost:'"$SINK_PORT"': token endpoint localhost answered HTTP 401: invalid_client (AADSTS7000215)' "$T/msmtp.log" \
  || fail "msmtp's log does not show the 451 4.7.8 invalid_client reply: $(tail -2 "$T/msmtp.log")"
[ "$(sink_count)" -eq 2 ] || fail "a message reached the smarthost without a token"
doc=$(cd "$RELAY_DIR" && "$JAVA" -jar "$RELAY_JAR" doctor --config "$RELAY_CONF" 2>&1 || true)
grep -Eq 'FAIL +upstream\.oauth.*invalid_client' <<<"$doc" || fail "doctor did not fail upstream.oauth with invalid_client: $(grep upstream <<<"$doc")"

# --- Google Workspace: a service account's JSON key, the assertion signed for the sending user ----------
G="$T/google"; mkdir -p "$G" "$T/gsink/msgs"; chmod 700 "$G"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$G/sa.key" 2>/dev/null
openssl pkey -in "$G/sa.key" -pubout -out "$G/sa.pub" 2>/dev/null
GSMTP_PORT=$(free_port); GTOKEN_PORT=$(free_port)
$PY - "$G/sa.key" "https://localhost:$GTOKEN_PORT/token" > "$S/google-sa.json" <<'PY'
import json, sys
print(json.dumps({"type": "service_account", "project_id": "it26", "private_key_id": "0",
                  "private_key": open(sys.argv[1]).read(), "client_email": "relay@it26.iam.gserviceaccount.com",
                  "token_uri": sys.argv[2]}))
PY
chmod 600 "$S/google-sa.json"
$PY "$IT_LIB/xoauth2_upstream.py" --smtp-port "$GSMTP_PORT" --token-port "$GTOKEN_PORT" --dir "$T/gsink/msgs" \
  --cert "$K/server.pem" --key "$K/server.key" --user sender@example.com \
  --google-public-key "$G/sa.pub" --client-email relay@it26.iam.gserviceaccount.com >>"$T/gsink/xoauth2.log" 2>&1 &
IT_PIDS+=("$!")
wait_tcp "$GSMTP_PORT" 15 "$!" || fail "the Google-like smarthost did not start (see gsink/xoauth2.log)"
wait_tcp "$GTOKEN_PORT" 15 || fail "the Google-like token endpoint did not start (see gsink/xoauth2.log)"
stop_relay
write_relay_conf "$RELAY_CONF" "
returnpath.delivery.smarthost {
  host = \"localhost\", port = $GSMTP_PORT, tls = starttls, ca-file = \"$K/ca.pem\"
  username = \"sender@example.com\"
  auth = xoauth2
  oauth { provider = google, service-account-file = \"$S/google-sa.json\", ca-file = \"$K/ca.pem\" }
}"
relay_launch
php_message s26-4 noreply@example.com
out=$(php_mail "msmtp -C $T/msmtprc -t" "customer@gmail.test" "Order #4" "$T/msg/s26-4.body" "$T/msg/s26-4.headers")
log "php 4 (google): $out"
grep -q 'returned true' <<<"$out" || fail "mail() through the Google-like smarthost failed: $out (msmtp.log: $(tail -1 "$T/msmtp.log"))"
[ "$(find "$T/gsink/msgs" -name '*.json' | wc -l)" -eq 1 ] || fail "the Google-like smarthost holds no message"
[ "$(counts auth_ok "$T/gsink")" -ge 1 ] || fail "no AUTH XOAUTH2 accepted at the Google-like smarthost"
log "google: token requests $(counts token_requests "$T/gsink"), tokens issued $(counts tokens_issued "$T/gsink") (assertions verified by openssl), AUTH accepted $(counts auth_ok "$T/gsink")"
[ "$(counts tokens_issued "$T/gsink")" -eq "$(counts token_requests "$T/gsink")" ] || fail "the endpoint refused an assertion (see gsink/xoauth2.log)"

# --- nothing secret anywhere ----------------------------------------------------------------------
for f in "$RELAY_DIR/relay.log" "$T/msmtp.log"; do
  ! grep -qF "$SECRET" "$f" || fail "the client secret is in $f"
  ! grep -qF "not-the-secret" "$f" || fail "the wrong client secret is in $f"
  ! grep -q 'it-[A-Za-z0-9_-]\{20,\}' "$f" || fail "a token is in $f"
  ! grep -q 'PRIVATE KEY\|eyJhbGciOiJSUzI1NiI' "$f" || fail "the service account's key or an assertion is in $f"
done
! grep -qF "$SECRET" <<<"$doc" || fail "the client secret is in doctor's output"
pass
