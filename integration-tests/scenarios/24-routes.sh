#!/usr/bin/env bash
# Scenario 24: routes per sending domain (delivery.routes). PHP mail() through msmtp for two
# domains leaves through two different smarthosts, each an aiosmtpd that requires STARTTLS (a
# certificate from a CA made here with openssl) and then AUTH PLAIN with its own account: shop's
# password comes from a password-file, corp's from an environment variable. Each sink receives
# only its own domain's mail, over TLS, authenticated as its own user; mail of a domain no route
# holds takes the default route (the plain sink). The relay's recipient lines say route=NAME,
# rewrite-test names the route a message would take, doctor probes each route's AUTH, and no
# password reaches the relay's log.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$IT_LIB/messages.sh"
it_init 24-routes

command -v openssl >/dev/null 2>&1 || skip "openssl is not installed"

# --- a private CA and the smarthosts' certificate --------------------------------------------
C="$T/tls"; test_ca "$C"; test_cert "$C" smtp

# --- SPF for the two route domains, so that the relay's SPF guard passes them ------------------
DNS_EXTRA_EXAMPLE='shop    IN TXT "v=spf1 ip4:203.0.113.5 -all"
corp    IN TXT "v=spf1 ip4:203.0.113.5 -all"'
start_dns
start_sink   # the default route's smarthost (delivery.smarthost, plain)

# --- the two authenticated smarthosts ----------------------------------------------------------
S="$T/secrets"; mkdir -p "$S"; chmod 700 "$S"
SHOP_PASSWORD="shop-$(openssl rand -hex 8)"
CORP_PASSWORD="corp-$(openssl rand -hex 8)"
printf '%s\n' "$SHOP_PASSWORD" > "$S/shop"; printf '%s\n' "$CORP_PASSWORD" > "$S/corp"; chmod 600 "$S"/*
# start_auth_sink NAME USER: sets NAME_PORT and NAME_DIR
start_auth_sink() {
  local name=$1 user=$2 port dir
  port=$(free_port); dir="$T/$name/msgs"; mkdir -p "$dir"
  $PY "$IT_LIB/sink.py" --port "$port" --dir "$dir" --tls-cert "$C/smtp.pem" --tls-key "$C/smtp.key" \
    --auth "$user:$S/$name" >>"$T/$name/sink.log" 2>&1 &
  IT_PIDS+=("$!")
  wait_tcp "$port" 15 "$!" || fail "the $name smarthost did not start (see $name/sink.log)"
  printf -v "${name^^}_PORT" '%s' "$port"; printf -v "${name^^}_DIR" '%s' "$dir"
  log "smarthost $name: aiosmtpd with STARTTLS and AUTH as $user on 127.0.0.1:$port"
}
start_auth_sink shop shop-relay
start_auth_sink corp corp-relay

export CORP_SMTP_PASSWORD=$CORP_PASSWORD   # for ${?CORP_SMTP_PASSWORD} in the relay's file
start_relay "
returnpath.domains {
  \"shop.example.com\" { return-path = \"bounce@shop.example.com\" }
  \"corp.example.com\" { return-path = \"bounce@corp.example.com\" }
}
returnpath.delivery.routes = [
  { name = \"shop\", sender-domains = [\"shop.example.com\"],
    smarthost { host = \"127.0.0.1\", port = $SHOP_PORT, tls = starttls, ca-file = \"$C/ca.pem\",
                username = \"shop-relay\", password-file = \"$S/shop\" } }
  { name = \"corp\", sender-domains = [\"corp.example.com\"],
    smarthost { host = \"127.0.0.1\", port = $CORP_PORT, tls = starttls, ca-file = \"$C/ca.pem\",
                username = \"corp-relay\", password = \${?CORP_SMTP_PASSWORD} } }
]"
write_msmtprc "$T/msmtprc" apache@web01.internal

# --- PHP mail() for each domain --------------------------------------------------------------
send() {   # send NAME FROM TO
  php_message "$1" "$2"
  # php_message records PHP's bytes for customer@gmail.test: the To line is this message's
  sed -i "s/^To: customer@gmail\.test\r\$/To: $3\r/" "$T/msg/$1.expected"
  local out; out=$(php_mail "msmtp -C $T/msmtprc -t" "$3" "Your order #1042" "$T/msg/$1.body" "$T/msg/$1.headers")
  log "php ($2): $out"
  grep -q 'returned true' <<<"$out" || fail "mail() from $2 failed: $out"
}
send shop noreply@shop.example.com customer@gmail.test
send corp noreply@corp.example.com colleague@outlook.test
send plain noreply@example.com someone@yahoo.test

# passthrough: each mail() returned after its smarthost had the message
count() { find "$1" -name '*.json' | wc -l; }
[ "$(count "$SHOP_DIR")" -eq 1 ] || fail "the shop smarthost holds $(count "$SHOP_DIR") messages, expected 1"
[ "$(count "$CORP_DIR")" -eq 1 ] || fail "the corp smarthost holds $(count "$CORP_DIR") messages, expected 1"
[ "$(sink_count)" -eq 1 ] || fail "the default smarthost holds $(sink_count) messages, expected 1"

# each sink: its own domain's mail only, over TLS, authenticated as its own user
check_sink() {   # check_sink DIR SENDER RCPT USER EXPECTED
  local m="$1/000001"
  [ "$($CHECK field "$m.json" mail_from)" = "$2" ] || fail "$1: envelope sender $($CHECK field "$m.json" mail_from), expected $2"
  [ "$($CHECK field "$m.json" rcpt_tos)" = "$3" ] || fail "$1: recipients $($CHECK field "$m.json" rcpt_tos), expected $3"
  [ "$($CHECK field "$m.json" tls)" = "True" ] || fail "$1: the session was not over TLS"
  [ "$($CHECK field "$m.json" auth_user)" = "$4" ] || fail "$1: authenticated as '$($CHECK field "$m.json" auth_user)', expected $4"
  $CHECK top-received "$m.eml" 1 "$T/rest" >/dev/null || fail "$1: no Received line of the relay on top"
  $CHECK same "$5" "$T/rest" || fail "$1: the message is not the one PHP wrote"
  log "$1: <$2> -> <$3> over TLS as $4, bytes as PHP wrote them"
}
check_sink "$SHOP_DIR" bounce@shop.example.com customer@gmail.test shop-relay "$T/msg/shop.expected"
check_sink "$CORP_DIR" bounce@corp.example.com colleague@outlook.test corp-relay "$T/msg/corp.expected"
expect_envelope 1 bounce@example.com someone@yahoo.test

# --- the relay's log: the routes at start, route= on each recipient line, no password -----------
L="$RELAY_DIR/relay.log"
grep -q 'returnpath listening on .*, routes shop corp, ' "$L" || fail "the start line does not list the routes: $(grep 'listening on' "$L")"
grep -E "to=<customer@gmail.test> route=shop relay=127\.0\.0\.1\[127\.0\.0\.1\]:$SHOP_PORT .*status=sent" "$L" >/dev/null \
  || fail "no 'route=shop relay=127.0.0.1[127.0.0.1]:$SHOP_PORT ... status=sent' line: $(grep 'to=<customer' "$L")"
grep -E "to=<colleague@outlook.test> route=corp relay=127\.0\.0\.1\[127\.0\.0\.1\]:$CORP_PORT .*status=sent" "$L" >/dev/null \
  || fail "no 'route=corp ... status=sent' line: $(grep 'to=<colleague' "$L")"
grep -E "to=<someone@yahoo.test> route=default relay=127\.0\.0\.1\[127\.0\.0\.1\]:$SINK_PORT .*status=sent" "$L" >/dev/null \
  || fail "no 'route=default ... status=sent' line: $(grep 'to=<someone' "$L")"
grep -h 'route=' "$L" | sed 's/^/    /'
if grep -qF -e "$SHOP_PASSWORD" -e "$CORP_PASSWORD" "$L"; then fail "a smarthost password is in the relay's log"; fi

# --- rewrite-test names the route; doctor probes each route's AUTH -----------------------------
rt=$("$JAVA" -jar "$RELAY_JAR" rewrite-test --config "$RELAY_CONF" --mail-from apache@web01.internal \
  --from noreply@shop.example.com --rcpt customer@gmail.test)
log "rewrite-test:"; printf '    %s\n' "$rt"
grep -q "^route  *shop: smarthost 127.0.0.1:$SHOP_PORT " <<<"$rt" || fail "rewrite-test does not name route shop"
doc=$("$JAVA" -jar "$RELAY_JAR" doctor --config "$RELAY_CONF" || true)
log "doctor (upstream lines):"; grep 'upstream\.' <<<"$doc" | sed 's/^/    /'
for r in "shop:$SHOP_PORT:shop-relay" "corp:$CORP_PORT:corp-relay"; do
  IFS=: read -r name port user <<<"$r"
  grep -qE "^PASS +upstream\.auth +127\.0\.0\.1:$port \(route $name\): accepted AUTH for $user" <<<"$doc" \
    || fail "doctor has no PASS upstream.auth for route $name"
done
if grep -qF -e "$SHOP_PASSWORD" -e "$CORP_PASSWORD" <<<"$doc$rt"; then fail "a password is in doctor's or rewrite-test's output"; fi
pass
