#!/usr/bin/env bash
# Scenario 22: DKIM signing, proven by two independent verifiers.
# example.com has two keys (RSA-2048 and Ed25519) made by openssl; their public halves are
# published in the NSD zone. A message from the app (swaks, From: example.com) reaches the sink
# signed twice; python3-dkim (dkimpy) verifies both signatures against the zone, Mail::DKIM (Perl)
# the RSA one (Debian 12's version has no Ed25519), in passthrough and in spool mode. A message whose From is in no configured domain
# (mail.example.com, configured without keys) leaves unsigned and the arrival line says why. A changed byte fails verification (the
# verifiers are not rubber stamps).
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
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
returnpath.domains.\"mail.example.com\".return-path = \"bounce@mail.example.com\""

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

# --- spool --------------------------------------------------------------------------------------
write_relay_conf "$RELAY_CONF" "$dkim_conf
returnpath.queue.mode = spool"
relay_launch
send 3 spool noreply@example.com
sink_wait 3 30 || fail "the spooled message did not reach the sink"
check_signed 3 spool
pass
