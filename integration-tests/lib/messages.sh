# integration-tests/lib/messages.sh: the messages the scenarios send, as files under $T/msg.
#
# php_message NAME FROM [EXTRA-HEADER-LINES]: writes $T/msg/NAME.body and NAME.headers for
# php_mail, and NAME.expected: the bytes PHP hands the sendmail binary (captured by running
# the same mail() into a recording shim), with CRLF line ends: what the sink must receive
# below the Received lines. The headers carry Message-ID and Date so that Postfix adds none.

php_message() {
  local name=$1 from=$2 extra=${3:-} d="$T/msg"
  mkdir -p "$d"
  {
    printf 'From: Web Shop <%s>\r\n' "$from"
    printf 'Message-ID: <%s.%s@web01.internal>\r\n' "$name" "$$"
    printf 'Date: Tue, 01 Apr 2025 10:00:00 +0000\r\n'
    printf 'MIME-Version: 1.0\r\n'
    printf 'Content-Type: text/plain; charset=UTF-8\r\n'
    printf 'Content-Transfer-Encoding: 8bit\r\n'
    printf 'X-Mailer: PHP/%s\r\n' "$(php -n -r 'echo PHP_VERSION;')"
    [ -n "$extra" ] && printf '%s\r\n' "$extra"
  } > "$d/$name.headers"
  # Body: 8-bit text, a line that is only a dot, a line starting with a dot, trailing
  # blanks, a long line, and a blank line at the end: the things relays get wrong.
  {
    printf 'Hello,\r\n\r\nyour order #1042 has shipped. Grüße aus Köln – 10 € off next time.\r\n'
    printf '.\r\n'
    printf '..leading dots stay as they are\r\n'
    printf 'trailing blanks   \r\n'
    printf 'tab\there\r\n'
    printf '%s\r\n' "$(printf 'x%.0s' $(seq 1 900))"
    printf -- '-- \r\nThe shop\r\n\r\n'
  } > "$d/$name.body"
  # What PHP writes to the sendmail pipe, recorded by a shim.
  printf '#!/bin/sh\ncat > "%s"\n' "$d/$name.php-out" > "$d/record-sendmail"
  chmod +x "$d/record-sendmail"
  php_mail "$d/record-sendmail" "customer@gmail.test" "Your order #1042" \
    "$d/$name.body" "$d/$name.headers" >/dev/null
  $CHECK canon "$d/$name.php-out" "$d/$name.expected"
}
