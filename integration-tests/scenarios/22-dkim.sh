#!/usr/bin/env bash
# Scenario 22: DKIM signing, proven by two independent verifiers.
# example.com has two keys (RSA-2048 and Ed25519) made by openssl; their public halves are
# published in the NSD zone. A message from the app (swaks, From: example.com) reaches the sink
# signed twice; python3-dkim (dkimpy) verifies both signatures against the zone, Mail::DKIM (Perl)
# the RSA one (Debian 12's version has no Ed25519), in passthrough and in spool mode. A message whose From is in no configured domain
# (mail.example.com, configured without keys) leaves unsigned and the arrival line says why. A changed byte fails verification (the
# verifiers are not rubber stamps). Then the paths real apps take, each verified by both: PHP
# mail() with an 8-bit body through Postfix's sendmail and a Postfix null client; a body with bare
# LF line ends under listen.bare-newline = normalize; a contact form whose From a rule aligns
# (from-header = align: d= is the aligned From's domain); and a message without Date and
# Message-ID, which cleanup adds before signing, so that they are signed.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$IT_LIB/messages.sh"
it_init 22-dkim

$PY -c 'import dkim' 2>/dev/null || skip "python3-dkim is not installed"
perl -MMail::DKIM::Verifier -MNet::DNS -e 1 2>/dev/null || skip "libmail-dkim-perl is not installed"

K="$T/keys"; mkdir -p "$K"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/rsa.pem" 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$K/ed.pem" 2>/dev/null
chmod 600 "$K"/*.pem
rsa_p=$(openssl pkey -in "$K/rsa.pem" -pubout -outform DER | base64 -w0)
# RFC 8463: p= is the raw 32-byte Ed25519 public key, the last 32 bytes of its SPKI DER
ed_p=$(openssl pkey -in "$K/ed.pem" -pubout -outform DER | tail -c 32 | base64 -w0)
# zone-file TXT strings are at most 255 octets: split the RSA key
rsa_txt="\"v=DKIM1; k=rsa; \" $(fold -w 200 <<<"p=$rsa_p" | sed 's/.*/"&"/' | tr '\n' ' ')"
DNS_EXTRA_EXAMPLE="rsa2026._domainkey IN TXT ( $rsa_txt )
ed2026._domainkey IN TXT \"v=DKIM1; k=ed25519; p=$ed_p\""

start_dns
dig +short @127.0.0.1 -p "$DNS_PORT" ed2026._domainkey.example.com TXT | grep -q ed25519 \
  || fail "NSD does not serve the Ed25519 key record"
start_sink

dkim_conf="returnpath.domains.\"example.com\".dkim = [
  { selector = \"rsa2026\", key-file = \"$K/rsa.pem\" },
  { selector = \"ed2026\", key-file = \"$K/ed.pem\" } ]
returnpath.domains.\"mail.example.com\".return-path = \"bounce@mail.example.com\"
returnpath.domains.\"example.com\".from-address = \"noreply@example.com\"
returnpath.rules = [ { name = \"contact-form\", match { envelope-sender = \"www-data@*\" }, from-header = align } ]"

# verify FILE: both verifiers, both signatures, against NSD
cat > "$T/verify.py" <<'PYEOF'
import subprocess, sys, dkim
port, path = sys.argv[1], sys.argv[2]
def dnsfunc(name, timeout=5):
    name = name.decode() if isinstance(name, bytes) else name
    out = subprocess.run(["dig", "+short", "+time=2", "@127.0.0.1", "-p", port, name.rstrip("."), "TXT"],
                         capture_output=True, text=True, check=True).stdout
    return "".join(part for line in out.splitlines() for part in line.split('"')[1::2]).encode()
msg = open(path, "rb").read()
d = dkim.DKIM(msg)
n = len([l for l in msg.split(b"\r\n\r\n", 1)[0].split(b"\r\n") if l.lower().startswith(b"dkim-signature:")])
ok = [d.verify(idx=i, dnsfunc=dnsfunc) for i in range(n)]
print("dkimpy:", n, "signatures", ok)
sys.exit(0 if n == 2 and all(ok) else 1)
PYEOF
cat > "$T/verify.pl" <<'PLEOF'
use strict; use warnings;
use Mail::DKIM::Verifier; use Net::DNS;
my ($port, $path) = @ARGV;
Mail::DKIM::DNS::resolver(Net::DNS::Resolver->new(nameservers => ['127.0.0.1'], port => $port, recurse => 0));
my $v = Mail::DKIM::Verifier->new;
open my $fh, '<', $path or die; binmode $fh; $v->load($fh); close $fh;
my @s = $v->signatures;
print "Mail::DKIM: ", scalar(@s), " signatures: ", join(' ', map { $_->algorithm . '=' . $_->result . ($_->result_detail ? ' (' . $_->result_detail . ')' : '') } @s), "\n";
# Debian 12's Mail::DKIM (1.20220520) does not know ed25519-sha256 and says so; it must pass the
# RSA signature and fail none for another reason. dkimpy checks the Ed25519 one.
my @rsa = grep { $_->algorithm eq 'rsa-sha256' && $_->result eq 'pass' } @s;
my @bad = grep { $_->result ne 'pass' && !($_->algorithm eq 'ed25519-sha256' && ($_->result_detail // '') =~ /unsupported algorithm/) } @s;
exit(scalar(@s) == 2 && @rsa == 1 && !@bad ? 0 : 1);
PLEOF

send() { # send N MODE-LABEL FROM
  printf 'From: Shop <%s>\r\nTo: customer@gmail.test\r\nSubject: Your order #%s\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\nMessage-ID: <s22-%s@web01.internal>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThank you for your order.\r\n\r\n  Trailing spaces and blank lines at the end: \r\n\r\n\r\n' \
    "$3" "$1" "$1" > "$T/m$1.eml"
  swaks --server 127.0.0.1 --port "$RELAY_PORT" --helo web01.internal --from apache@web01.internal \
    --to customer@gmail.test --data "@$T/m$1.eml" >"$T/swaks$1.log" 2>&1 || fail "message $1 ($2) was refused: $(grep -E '^<\*\*' "$T/swaks$1.log" | head -n 2)"
}

check_signed() { # check_signed N LABEL
  local m; m=$(sink_msg "$1").eml
  [ "$(grep -ci '^DKIM-Signature:' "$m")" = 2 ] || fail "message $1 ($2) does not carry two DKIM-Signature fields"
  grep -qi 'a=rsa-sha256' "$m" && grep -qi 'a=ed25519-sha256' "$m" || fail "message $1 ($2): not one rsa-sha256 and one ed25519-sha256 signature"
  out=$($PY "$T/verify.py" "$DNS_PORT" "$m" 2>&1) || fail "dkimpy does not verify message $1 ($2): $out"
  log "$2: $out"
  out=$(perl "$T/verify.pl" "$DNS_PORT" "$m" 2>&1) || fail "Mail::DKIM does not verify message $1 ($2): $out"
  log "$2: $out"
}

# --- passthrough --------------------------------------------------------------------------------
start_relay "$dkim_conf"
send 1 passthrough noreply@example.com
sink_wait 1 20 || fail "the passthrough message did not reach the sink"
check_signed 1 passthrough
grep -q 'dkim=rsa2026.example.com,ed2026.example.com\|dkim=rsa2026' "$RELAY_DIR/relay.log" \
  || fail "the arrival line does not name the signatures: $(grep 'status=\|from=' "$RELAY_DIR/relay.log" | tail -n 2)"

# a verifier that cannot fail proves nothing: one changed body byte must fail both
sed 's/Thank you/Thank yoU/' "$(sink_msg 1).eml" > "$T/tampered.eml"
if $PY "$T/verify.py" "$DNS_PORT" "$T/tampered.eml" >/dev/null 2>&1; then fail "dkimpy verified a tampered message"; fi
if perl "$T/verify.pl" "$DNS_PORT" "$T/tampered.eml" >/dev/null 2>&1; then fail "Mail::DKIM verified a tampered message"; fi
log "tampered copy fails both verifiers"

# From in no configured domain: unsigned, and said
send 2 unsigned noreply@mail.example.com
sink_wait 2 20 || fail "the unsigned message did not reach the sink"
grep -qi '^DKIM-Signature:' "$(sink_msg 2).eml" && fail "a message from mail.example.com (no keys) was signed"
grep -q 'dkim=none dkim-reason="no DKIM key for mail.example.com"' "$RELAY_DIR/relay.log" || fail "the arrival line does not say dkim=none for the unsigned message"
stop_relay

# --- the paths real apps take (passthrough, bare LF normalized) ---------------------------------
RELAY_PORT=$(free_port) RELAY_MGMT_PORT=$(free_port)
start_relay "$dkim_conf
returnpath.listen.bare-newline = normalize"
start_postfix
n=2

# PHP mail() -> Postfix's sendmail -> Postfix null client -> returnpath: an 8-bit body
php_message s22 noreply@example.com
out=$(php_mail "$PF_SENDMAIL" "customer@gmail.test" "Your order #1042" "$T/msg/s22.body" "$T/msg/s22.headers")
grep -q 'returned true' <<<"$out" || fail "mail() through Postfix's sendmail failed: $out"
n=$((n + 1)); sink_wait $n 30 || fail "the PHP message did not reach the sink; postfix queue: $(pf_queue_json)"
grep -q 'Grüße aus Köln' "$(sink_msg $n).eml" || fail "the PHP message did not arrive with its 8-bit body"
check_signed $n "php-postfix-8bit"

# bare LF line ends in header and body, normalized to CRLF before signing
{
  printf 'EHLO web01.internal\r\n@@WAIT@@\r\nMAIL FROM:<apache@web01.internal>\r\n@@WAIT@@\r\n'
  printf 'RCPT TO:<customer@gmail.test>\r\n@@WAIT@@\r\nDATA\r\n@@WAIT@@\r\n'
  printf 'From: Shop <noreply@example.com>\nTo: customer@gmail.test\nSubject: bare LF\nDate: Tue, 1 Dec 2026 10:00:00 +0000\nMessage-ID: <s22-lf@web01.internal>\n\nline one\nline two\n\r\n.\r\n@@WAIT@@\r\nQUIT\r\n'
} > "$T/lf.smtp"
replies=$($CHECK smtp "$RELAY_PORT" "$T/lf.smtp") || fail "the bare-LF session failed: $replies"
grep -q '^250 2.0.0 Ok: relayed' <<<"$replies" || fail "the bare-LF message was not relayed: $(tr '\r\n' '  ' <<<"$replies")"
n=$((n + 1)); sink_wait $n 20 || fail "the bare-LF message did not reach the sink"
$PY -c 'import sys; d=open(sys.argv[1],"rb").read(); sys.exit(0 if d.replace(b"\r\n",b"").count(b"\n") == 0 else 1)' "$(sink_msg $n).eml" \
  || fail "the bare-LF message left with bare LF line ends"
check_signed $n "bare-lf-normalized"

# a contact form: the visitor's From is aligned to noreply@example.com, and signed as example.com
printf 'From: Zoe <zoe@gmail.test>\r\nTo: info@example.com\r\nSubject: Contact form\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\nMessage-ID: <s22-cf@web01.internal>\r\n\r\nHello, I have a question.\r\n' > "$T/cf.eml"
swaks --server 127.0.0.1 --port "$RELAY_PORT" --helo web01.internal --from www-data@web01.internal \
  --to info@example.com --data "@$T/cf.eml" >"$T/swaks-cf.log" 2>&1 || fail "the contact-form message was refused"
n=$((n + 1)); sink_wait $n 20 || fail "the contact-form message did not reach the sink"
m=$(sink_msg $n).eml
grep -q '^From: Zoe <noreply@example.com>' "$m" || fail "the contact form's From was not aligned: $(grep -i '^From:' "$m")"
grep -q '^Reply-To: Zoe <zoe@gmail.test>' "$m" || fail "the contact form has no Reply-To to the visitor: $(grep -i '^Reply-To:' "$m")"
grep -q 'd=example.com' "$m" || fail "the contact form's signature is not d=example.com"
check_signed $n "contact-form-aligned"

# no Date, no Message-ID: cleanup adds both before signing, and the signatures cover them
printf 'From: Shop <noreply@example.com>\r\nTo: customer@gmail.test\r\nSubject: no ids\r\n\r\nbody\r\n' > "$T/noid.eml"
$CHECK send "$RELAY_PORT" apache@web01.internal customer@gmail.test "$T/noid.eml" >"$T/send-noid.log" 2>&1
grep -q '^250' "$T/send-noid.log" || fail "the message without Date and Message-ID was refused: $(cat "$T/send-noid.log")"
n=$((n + 1)); sink_wait $n 20 || fail "the message without Date and Message-ID did not reach the sink"
m=$(sink_msg $n).eml
grep -Eq '^Message-ID: <[0-9A-F]+@' "$m" || fail "no Message-ID was added: $(head -c 600 "$m")"
grep -q '^Date: ' "$m" || fail "no Date was added"
$PY - "$m" <<'PYEOF' || fail "the added fields are not covered by the signatures (h=)"
import re, sys
hdr = open(sys.argv[1], "rb").read().split(b"\r\n\r\n", 1)[0].decode()
sigs = re.findall(r"(?ims)^DKIM-Signature:(.*?)(?=^\S)", hdr + "\r\nX: y")
hs = [re.search(r"h=([^;]*)", re.sub(r"\s", "", s)).group(1).lower().split(":") for s in sigs]
sys.exit(0 if len(hs) == 2 and all("date" in h and "message-id" in h for h in hs) else 1)
PYEOF
grep -q 'header-added=date,message-id' "$RELAY_DIR/relay.log" || fail "the arrival line does not say header-added=date,message-id"
check_signed $n "date-and-message-id-added"
stop_relay

# --- spool --------------------------------------------------------------------------------------
write_relay_conf "$RELAY_CONF" "$dkim_conf
returnpath.queue.mode = spool"
relay_launch
n=$((n + 1))
send $n spool noreply@example.com
sink_wait $n 30 || fail "the spooled message did not reach the sink"
check_signed $n spool
pass
