#!/usr/bin/env bash
# Scenario 7: SMTP smuggling (CVE-2023-51764 and kin). A client sends one DATA that contains a
# non-standard end-of-data sequence followed by a second, smuggled transaction, then the real
# CRLF.CRLF. Over a raw socket, for each variant (\n.\n, \r\n.\n, \n.\r\n, \r\n.\r, \r.\r\n):
#  a) listen.bare-newline = reject (the default): 550 5.5.2, and nothing at the sink;
#  b) listen.bare-newline = normalize: exactly one message at the sink, to the real recipient,
#     with the would-be smuggled lines as its content (the relay must dot-stuff the lone "."
#     line toward the upstream, or the upstream would see the smuggled transaction).
# Never two messages, never a message to the smuggled recipient.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
it_init 7-smuggling

variants=('lf-dot-lf:\n.\n' 'crlf-dot-lf:\r\n.\n' 'lf-dot-crlf:\n.\r\n' 'crlf-dot-cr:\r\n.\r' 'cr-dot-crlf:\r.\r\n')

# smuggle_script FILE NAME SEQ: one session whose DATA hides a second transaction after SEQ.
smuggle_script() {
  local file=$1 name=$2 seq=$3
  {
    printf 'EHLO web01.internal\r\n@@WAIT@@\r\n'
    printf 'MAIL FROM:<apache@web01.internal>\r\n@@WAIT@@\r\n'
    printf 'RCPT TO:<customer@gmail.test>\r\n@@WAIT@@\r\n'
    printf 'DATA\r\n@@WAIT@@\r\n'
    printf 'From: <noreply@example.com>\r\nSubject: outer %s\r\nMessage-ID: <outer-%s@web01.internal>\r\n\r\nouter body' "$name" "$name"
    printf "$seq"
    printf 'MAIL FROM:<ceo@example.com>\r\nRCPT TO:<victim@gmail.test>\r\nDATA\r\n'
    printf 'From: <ceo@example.com>\r\nSubject: smuggled %s\r\nMessage-ID: <smuggled-%s@web01.internal>\r\n\r\nsmuggled\r\n' "$name" "$name"
    printf '.\r\n@@WAIT@@\r\n'
    printf 'QUIT\r\n'
  } > "$file"
}

no_victim() {
  local f
  for f in "$SINK_DIR"/*.json; do
    [ -e "$f" ] || continue
    if grep -q 'victim@gmail.test' "$f"; then fail "$1: a smuggled message reached the sink ($(basename "$f"))"; fi
    if grep -q 'ceo@example.com' "$f"; then fail "$1: a smuggled message reached the sink ($(basename "$f"))"; fi
  done
  if grep -lq '^Subject: smuggled' "$SINK_DIR"/*.eml 2>/dev/null; then
    grep -l '^Subject: smuggled' "$SINK_DIR"/*.eml | while read -r f; do
      # the smuggled header is fine inside the body of the outer message, not at its top
      if head -c 200 "$f" | grep -q '^Subject: smuggled'; then fail "$1: a message at the sink starts as the smuggled one"; fi
    done
  fi
}

start_dns
start_sink

# a) reject
start_relay
for v in "${variants[@]}"; do
  name=${v%%:*} seq=${v#*:}
  smuggle_script "$T/$name.smtp" "$name" "$seq"
  replies=$($CHECK smtp "$RELAY_PORT" "$T/$name.smtp") || fail "reject/$name: the session failed: $replies"
  log "reject/$name replies:"; sed 's/^/    /' <<<"$replies"
  data_replies=$(sed -n '/^354/,$p' <<<"$replies" | grep -E '^[0-9]{3} ' | grep -v '^354' | grep -v '^221' || true)
  grep -q '^550 5\.5\.2' <<<"$data_replies" || fail "reject/$name: the end of DATA was not answered 550 5.5.2: $(tr '\r\n' '  ' <<<"$data_replies")"
  [ "$(grep -c . <<<"$data_replies")" -eq 1 ] || fail "reject/$name: more than one reply after DATA: $(tr '\r\n' '  ' <<<"$data_replies")"
  sleep 0.3
  [ "$(sink_count)" -eq 0 ] || fail "reject/$name: the sink received $(sink_count) message(s)"
  no_victim "reject/$name"
done
stop_relay

# b) normalize
RELAY_PORT=$(free_port) RELAY_MGMT_PORT=$(free_port)
start_relay 'returnpath.listen.bare-newline = normalize'
i=0
for v in "${variants[@]}"; do
  name=${v%%:*} seq=${v#*:}
  i=$((i + 1))
  replies=$($CHECK smtp "$RELAY_PORT" "$T/$name.smtp") || fail "normalize/$name: the session failed: $replies"
  log "normalize/$name replies:"; sed 's/^/    /' <<<"$replies"
  data_replies=$(sed -n '/^354/,$p' <<<"$replies" | grep -E '^[0-9]{3} ' | grep -v '^354' | grep -v '^221' || true)
  [ "$(grep -c . <<<"$data_replies")" -eq 1 ] || fail "normalize/$name: more than one reply after DATA (smuggled commands were read): $(tr '\r\n' '  ' <<<"$data_replies")"
  sleep 0.5
  no_victim "normalize/$name"
  n=$(sink_count)
  if grep -q '^250' <<<"$data_replies"; then
    [ "$n" -eq "$i" ] || fail "normalize/$name: the sink holds $n messages after $i sessions"
    m=$(sink_msg "$i")
    expect_envelope "$i" "bounce@example.com" "customer@gmail.test"
    grep -q 'Subject: smuggled' "$m.eml" || fail "normalize/$name: the smuggled lines are missing from the message body"
    grep -q "Message-ID: <outer-$name@" "$m.eml" || fail "normalize/$name: the message at the sink is not the outer one"
  else
    # refusing is also safe; it must then not have delivered anything
    log "normalize/$name was refused: $data_replies"
    i=$((i - 1))
    [ "$n" -eq "$i" ] || fail "normalize/$name: refused, yet the sink holds $n messages"
  fi
done

# c) CHUNKING (RFC 3030), when the relay offers it: a BDAT chunk has no end-of-data marker, so
#    a CRLF.CRLF inside it is content. The relay must dot-stuff it when it forwards with DATA
#    (the sink offers no CHUNKING), or the upstream would end the message there and read the
#    rest as commands. And a bare LF in a BDAT chunk is treated as in DATA (normalized here).
ehlo=$(printf 'EHLO web01.internal\r\n@@WAIT@@\r\nQUIT\r\n' > "$T/ehlo.smtp"; $CHECK smtp "$RELAY_PORT" "$T/ehlo.smtp")
if grep -q '^250.CHUNKING' <<<"$ehlo"; then
  for name in bdat-crlf-dot-crlf bdat-lf-dot-lf; do
    case $name in
      bdat-crlf-dot-crlf) seq='\r\n.\r\n' ;;
      bdat-lf-dot-lf) seq='\n.\n' ;;
    esac
    printf 'From: <noreply@example.com>\r\nSubject: outer %s\r\nMessage-ID: <outer-%s@web01.internal>\r\n\r\nouter body' "$name" "$name" > "$T/$name.chunk"
    printf "$seq" >> "$T/$name.chunk"
    printf 'MAIL FROM:<ceo@example.com>\r\nRCPT TO:<victim@gmail.test>\r\nDATA\r\nFrom: <ceo@example.com>\r\nSubject: smuggled %s\r\n\r\nsmuggled\r\n' "$name" >> "$T/$name.chunk"
    {
      printf 'EHLO web01.internal\r\n@@WAIT@@\r\n'
      printf 'MAIL FROM:<apache@web01.internal>\r\n@@WAIT@@\r\n'
      printf 'RCPT TO:<customer@gmail.test>\r\n@@WAIT@@\r\n'
      printf 'BDAT %d LAST\r\n' "$(wc -c < "$T/$name.chunk")"
      cat "$T/$name.chunk"
      printf '@@WAIT@@\r\nQUIT\r\n'
    } > "$T/$name.smtp"
    i=$((i + 1))
    replies=$($CHECK smtp "$RELAY_PORT" "$T/$name.smtp") || fail "$name: the session failed: $replies"
    log "$name replies:"; sed 's/^/    /' <<<"$replies"
    sleep 0.5
    no_victim "$name"
    last=$(grep -E '^[0-9]{3} ' <<<"$replies" | grep -v '^221' | tail -n 1)
    n=$(sink_count)
    if [[ "$last" == 250* ]]; then
      [ "$n" -eq "$i" ] || fail "$name: the sink holds $n messages after $i accepted ones"
      expect_envelope "$i" "bounce@example.com" "customer@gmail.test"
      grep -q 'Subject: smuggled' "$(sink_msg "$i").eml" || fail "$name: the chunk's later lines are missing from the message at the sink"
    else
      log "$name was refused: $last"
      i=$((i - 1))
      [ "$n" -eq "$i" ] || fail "$name: refused, yet the sink holds $n messages"
    fi
  done
else
  log "the relay does not offer CHUNKING: no BDAT variants"
fi
pass
