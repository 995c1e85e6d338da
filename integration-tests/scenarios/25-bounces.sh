#!/usr/bin/env bash
# Scenario 25: bounce intake against a real IMAP server.
# A private Dovecot on loopback (implicit TLS, its certificate from a CA made here with openssl)
# holds the Return-Path mailbox. A message is relayed (return-path bounce+{hash}-{local}={domain}@
# example.com); a Gmail-style DSN (5.7.26) carrying its headers, a forged DSN (a wrong hash, no
# Received line of ours) and a person's reply are appended to INBOX. The relay logs
# "bounce: id=<the queue ID> original-from=<apache@web01.internal> ... class=auth", counts
# returnpath_bounces_total, moves both reports to returnpath-processed and leaves the reply
# unread in INBOX; doctor WARNs about the two authentication bounces once. After a restart,
# nothing is logged twice; then two relays (both in IDLE) read one mailbox together and each new
# report is logged exactly once. Last, STARTTLS on Dovecot's port for plain IMAP: a relay with
# tls = starttls and the right CA reads a report; one with another CA refuses the server, says
# why, and leaves the report where it is.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
it_init 25-bounces

command -v dovecot >/dev/null 2>&1 || skip "dovecot-imapd is not installed"
command -v openssl >/dev/null 2>&1 || skip "openssl is not installed"

# --- a private CA and the IMAP server's certificate -----------------------------------------
C="$T/tls"; test_ca "$C"; test_cert "$C" imap
test_ca "$C/other"; cp "$C/other/ca.pem" "$C/other-ca.pem"   # a CA that did not sign imap.pem

# --- Dovecot, private: its own config, run dir, maildir; nothing of the system's ------------
D="$T/dovecot"; mkdir -p "$D/run" "$D/state" "$D/home"
IMAPS_PORT=$(free_port)
IMAP_PORT=$(free_port)
IMAP_PASSWORD="it25-$(openssl rand -hex 8)"
printf 'bounce:{PLAIN}%s\n' "$IMAP_PASSWORD" > "$D/passwd"
chmod 640 "$D/passwd"; chgrp dovecot "$D/passwd"
chown nobody:nogroup "$D/home"
printf '%s\n' "$IMAP_PASSWORD" > "$T/imap-password"; chmod 600 "$T/imap-password"
cat > "$D/dovecot.conf" <<EOF
base_dir = $D/run
state_dir = $D/state
log_path = $D/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <$C/imap.pem
ssl_key = <$C/imap.key
ssl_min_protocol = TLSv1.2
auth_mechanisms = plain
disable_plaintext_auth = yes
first_valid_uid = 1
default_login_user = dovenull
default_internal_user = dovecot
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $D/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$D/home/%u
}
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  separator = /
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
service anvil {
  chroot =
}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
EOF
dovecot -F -c "$D/dovecot.conf" >>"$D/stdout.log" 2>&1 &
IT_PIDS+=($!)
wait_tcp "$IMAPS_PORT" 20 "$!" || { cat "$D/dovecot.log" "$D/stdout.log" 2>/dev/null | tail -20; fail "dovecot did not listen on $IMAPS_PORT"; }
wait_tcp "$IMAP_PORT" 10 || fail "dovecot did not listen on $IMAP_PORT"
log "dovecot: imaps on 127.0.0.1:$IMAPS_PORT, imap (STARTTLS required) on 127.0.0.1:$IMAP_PORT"

# imap.py ACTION ...: the test's own IMAP client (Python imaplib, verified TLS against the CA)
cat > "$T/imap.py" <<'PYEOF'
import imaplib, ssl, sys, time
port, ca, password, action = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
m = imaplib.IMAP4_SSL("localhost", int(port), ssl_context=ctx)
m.login("bounce", password)
if action == "append":
    data = open(sys.argv[5], "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    typ, _ = m.append("INBOX", None, None, data)
    assert typ == "OK", typ
elif action == "list":  # list FOLDER: one line per message, "SUBJECT|FLAGS"
    typ, _ = m.select('"%s"' % sys.argv[5], readonly=True)
    if typ != "OK":
        sys.exit(0)
    typ, nums = m.search(None, "ALL")
    for n in nums[0].split():
        typ, d = m.fetch(n, "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        flags = d[0][0].decode()
        subj = d[0][1].decode().strip().replace("Subject: ", "")
        print("%s|%s" % (subj, "seen" if "\\Seen" in flags else "unseen"))
m.logout()
PYEOF
imap() { $PY "$T/imap.py" "$IMAPS_PORT" "$C/ca.pem" "$IMAP_PASSWORD" "$@"; }

# --- the relay -------------------------------------------------------------------------------
start_dns
start_sink
intake_conf() { # intake_conf: the bounce intake settings and the {hash} template
  cat <<EOF
returnpath.rewrite.hash-key = "scenario-25-hash-key-0123456789"
returnpath.domains."example.com".return-path = "bounce+{hash}-{local}={domain}@example.com"
returnpath.bounces.imap {
  host = "localhost"
  port = $IMAPS_PORT
  tls = implicit
  username = "bounce"
  password-file = "$T/imap-password"
  ca-file = "$C/ca.pem"
  interval = 1s
  after = move
}
EOF
}
start_relay "$(intake_conf)"
grep -q "bounce intake: reading INBOX" "$RELAY_DIR/relay.log" || { sleep 1; grep -q "bounce intake: reading INBOX" "$RELAY_DIR/relay.log"; } \
  || fail "the relay did not start the bounce intake"

swaks --server 127.0.0.1 --port "$RELAY_PORT" --helo web01.internal --from apache@web01.internal \
  --to x@gmail.test --header "From: Contact form <contact@example.com>" --header "Subject: New contact form message" \
  --body "A visitor wrote." >/dev/null 2>&1 || fail "swaks could not send through the relay"
sink_wait 1 20 || fail "the message did not reach the sink"
msg="$(sink_msg 1)"
QID=$(grep -o '(returnpath) with [A-Z0-9]* id [0-9A-F]\{13\}' "$msg.eml" | awk '{print $NF}' | head -1)
[ -n "$QID" ] || fail "no queue ID in the relayed message's Received line"
RP=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["mail_from"])' "$msg.json")
case "$RP" in bounce+*-apache=web01.internal@example.com) ;; *) fail "unexpected return-path $RP" ;; esac
log "relayed $QID with return-path $RP"

headers=$(sed '/^\r\{0,1\}$/q' "$msg.eml" | tr -d '\r')
dsn() { # dsn TO SUBJECT HEADERS
  cat <<EOF
Return-Path: <>
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: $1
Subject: $2
Message-ID: <dsn-$RANDOM@mx.google.test>
Date: Wed, 02 Dec 2026 10:03:04 +0000
MIME-Version: 1.0
Content-Type: multipart/report; boundary="b25"; report-type=delivery-status

--b25
Content-Type: text/plain; charset="UTF-8"

Your message wasn't delivered to x@gmail.test because it was not authenticated.

--b25
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com

Final-Recipient: rfc822; x@gmail.test
Action: failed
Status: 5.7.26
Diagnostic-Code: smtp; 550-5.7.26 This mail has been blocked because the sender is
 unauthenticated. Gmail requires all senders to authenticate with either SPF or DKIM.

--b25
Content-Type: text/rfc822-headers

$3

--b25--
EOF
}
dsn "$RP" "Delivery Status Notification (Failure)" "$headers" > "$T/dsn.eml"
forged_rp="bounce+aaaaaaaa-root=web01.internal@example.com"
dsn "$forged_rp" "Delivery Status Notification (forged)" "From: someone@example.com
Subject: hello" > "$T/forged.eml"
printf 'From: Alice <alice@example.org>\r\nTo: bounce@example.com\r\nSubject: A reply from a person\r\nDate: Wed, 02 Dec 2026 10:31:00 +0000\r\nMessage-ID: <reply25@example.org>\r\n\r\nHello, is this address read?\r\n' > "$T/reply.eml"
imap append "$T/dsn.eml"
imap append "$T/forged.eml"
imap append "$T/reply.eml"

bounce_lines() { grep -c '^.*bounce: id=' "$RELAY_DIR/relay.log" || true; }
for _ in $(seq 1 100); do [ "$(bounce_lines)" -ge 2 ] && break; sleep 0.2; done
grep 'bounce: id=' "$RELAY_DIR/relay.log" || true
expect "the DSN's line names the queue ID, the app, the status and the fix" \
  grep -q "bounce: id=$QID original-from=<apache@web01.internal> to=<x@gmail.test> action=failed status=5.7.26 reporting-mta=googlemail.com class=auth cause=unauthenticated fix=\"the message passed neither SPF nor DKIM" "$RELAY_DIR/relay.log"
expect "the forged DSN is not attributed" grep -q "bounce: id=- original-from=<> to=<x@gmail.test> .*attributed-by=none" "$RELAY_DIR/relay.log"
expect "the password is not logged" bash -c "! grep -q '$IMAP_PASSWORD' '$RELAY_DIR/relay.log'"
metrics=$(curl -s "http://127.0.0.1:$RELAY_MGMT_PORT/metrics")
expect "the metric counts the app's auth bounce" grep -q 'returnpath_bounces_total{class="auth",domain="web01.internal"} 1' <<<"$metrics"
processed=$(imap list returnpath-processed)
inbox=$(imap list INBOX)
log "INBOX: $inbox"; log "returnpath-processed: $processed"
expect "both reports were moved" test "$(grep -c . <<<"$processed")" = 2
expect "the person's reply stays in INBOX, unread" test "$inbox" = "A reply from a person|unseen"
expect "the intake waits in IDLE (Dovecot offers it)" grep -q "bounce intake: the server offers IDLE" "$RELAY_DIR/relay.log"

# --- the doctor: the two 5.7.26 bounces once, then nothing new ------------------------------------
doc1=$(cd "$RELAY_DIR" && "$JAVA" -jar "$RELAY_JAR" doctor --config "$RELAY_CONF" 2>&1 || true)
grep 'bounces.auth' <<<"$doc1" || true
expect "doctor WARNs with the count, the domains and the status" \
  grep -q "^WARN  bounces.auth .*2 authentication bounce(s) recorded: domain unknown, web01.internal, status 5.7.26" <<<"$doc1"
expect "doctor gives the fix" grep -q "fix: the message passed neither SPF nor DKIM" <<<"$doc1"
doc2=$(cd "$RELAY_DIR" && "$JAVA" -jar "$RELAY_JAR" doctor --config "$RELAY_CONF" 2>&1 || true)
expect "the next doctor run PASSes" grep -q "^PASS  bounces.auth .*no authentication bounce since the doctor's last run" <<<"$doc2"

# --- a restart processes nothing twice --------------------------------------------------------
stop_relay
relay_launch
sleep 4
expect "after a restart no report is logged again" test "$(bounce_lines)" = 2

# --- two relays on one mailbox: each report once --------------------------------------------
RELAY1_LOG="$RELAY_DIR/relay.log"
RELAY1_CONF_SAVED="$T/relay1.conf"; cp "$RELAY_CONF" "$RELAY1_CONF_SAVED"
R2="$T/relay2"; mkdir -p "$R2/spool"
R2_PORT=$(free_port) R2_MGMT=$(free_port)
sed -e "s|port = $RELAY_PORT|port = $R2_PORT|" -e "s|port = $RELAY_MGMT_PORT|port = $R2_MGMT|" \
  -e "s|dir = \"$RELAY_DIR/spool\"|dir = \"$R2/spool\"|" "$RELAY_CONF" > "$R2/returnpath.conf"
(cd "$R2" && exec "$JAVA" -jar "$RELAY_JAR" serve --config "$R2/returnpath.conf") >>"$R2/relay.log" 2>&1 &
IT_PIDS+=($!)
R2_PID=$!
wait_tcp "$R2_PORT" 60 "$!" || fail "the second relay did not start"
for i in $(seq 1 10); do imap append "$T/dsn.eml"; done
for _ in $(seq 1 150); do
  n=$(( $(grep -c 'bounce: id=' "$RELAY1_LOG" || true) + $(grep -c 'bounce: id=' "$R2/relay.log" || true) ))
  [ "$n" -ge 12 ] && break; sleep 0.2
done
sleep 3
n1=$(( $(grep -c 'bounce: id=' "$RELAY1_LOG" || true) - 2 )); n2=$(grep -c 'bounce: id=' "$R2/relay.log" || true)
log "two relays: $n1 + $n2 lines for 10 reports"
expect "each of 10 reports logged once by one of two relays ($n1 + $n2)" test "$((n1 + n2))" = 10
expect "all 12 reports moved" test "$(imap list returnpath-processed | grep -c .)" = 12

# --- STARTTLS: the right CA reads; another CA is refused, clearly ------------------------------
stop_relay
kill "$R2_PID" 2>/dev/null || true
starttls_conf() { # starttls_conf CA-FILE
  sed -e "s|port = $IMAPS_PORT|port = $IMAP_PORT|" -e "s|tls = implicit|tls = starttls|" \
    -e "s|ca-file = \"$C/ca.pem\"|ca-file = \"$1\"|" "$RELAY1_CONF_SAVED"
}
wait_gone() { for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.2; done; }
wait_gone "$R2_PID"
starttls_conf "$C/other-ca.pem" > "$RELAY_CONF"
: > "$RELAY_DIR/relay.log"
relay_launch
imap append "$T/dsn.eml"
for _ in $(seq 1 50); do grep -q "bounce intake: cannot read" "$RELAY_DIR/relay.log" && break; sleep 0.2; done
grep "bounce intake: cannot read" "$RELAY_DIR/relay.log" || true
expect "another CA: the server is refused, and the line says why" grep -q \
  "bounce intake: cannot read INBOX at localhost:$IMAP_PORT: .*(the server's certificate does not verify against bounces.imap.ca-file $C/other-ca.pem)" \
  "$RELAY_DIR/relay.log"
expect "another CA: nothing is read" test "$(bounce_lines)" = 0
expect "another CA: the report stays in INBOX" grep -q "^Delivery Status Notification (Failure)|unseen" <<<"$(imap list INBOX)"
stop_relay
starttls_conf "$C/ca.pem" > "$RELAY_CONF"
relay_launch
for _ in $(seq 1 50); do [ "$(bounce_lines)" -ge 1 ] && break; sleep 0.2; done
expect "STARTTLS with the right CA: the report is read" \
  grep -q "bounce: id=$QID original-from=<apache@web01.internal> .*status=5.7.26" "$RELAY_DIR/relay.log"
expect "STARTTLS: 13 reports moved" test "$(imap list returnpath-processed | grep -c .)" = 13
expect "STARTTLS: the password is not logged" bash -c "! grep -q '$IMAP_PASSWORD' '$RELAY_DIR/relay.log'"
pass
