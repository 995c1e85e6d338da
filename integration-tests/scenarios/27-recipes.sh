#!/usr/bin/env bash
# Scenario 27: the README's mail-client recipes, each in the real program, from the README's own
# lines. nullmailer, ssmtp, Exim 4 and Sendmail 8 cannot be installed beside the tests' Postfix:
# lib/recipe-debs.sh unpacks their Debian packages into a cache, and this scenario lays that tree
# over /usr, /etc and /var (overlays) in a private mount, network and host-name namespace, so
# nothing on the machine changes and nothing leaves loopback. In that network namespace the relay
# listens on 2525 itself, the port the recipes name, so their lines are used exactly as written.
# PHP mail() (sendmail_path = /usr/sbin/sendmail -t -i, PHP's default; msmtp's from the README)
# hands each MTA the same message: Postfix (a private instance with the README's relayhost),
# msmtp (the README's /etc/msmtprc), nullmailer, ssmtp, Exim and Sendmail. PHPMailer (Debian's
# libphp-phpmailer) talks SMTP with the README's settings. Each message must reach the sink with
# the rewritten envelope sender, its bytes intact. RECIPES="exim sendmail" runs only those.
set -euo pipefail
if [ -z "${RP_PRIVATE_NS:-}" ]; then
  # the packages first, while the network is the machine's: outside CI nobody may have fetched
  # them, so try once (apt-get download needs the package lists)
  debs=$(dirname "$0")/../lib/recipe-debs.sh
  if ! "$debs" check >/dev/null && ! fetch_log=$("$debs" fetch 2>&1); then
    . "$(dirname "$0")/../lib/common.sh"; it_init recipes
    printf '%s\n' "$fetch_log"
    skip "the recipes' Debian packages cannot be fetched: $(tail -n 1 <<<"$fetch_log") (.ci/run fetches them)"
  fi
  # re-run this script in namespaces of its own: its mounts, its loopback and its host name
  # vanish with it
  if unshare -m -n -u --propagation private true 2>/dev/null && command -v ip >/dev/null 2>&1; then
    RP_PRIVATE_NS=1 exec unshare -m -n -u --propagation private bash "$0" "$@"
  fi
  . "$(dirname "$0")/../lib/common.sh"; it_init recipes
  command -v ip >/dev/null 2>&1 || skip "no ip (iproute2) to bring up a private loopback"
  skip "cannot make private mount, network and UTS namespaces (unshare -m -n -u needs root)"
fi
ip link set lo up
hostname web01.internal
. "$(dirname "$0")/../lib/common.sh"
. "$IT_LIB/messages.sh"
it_init recipes
readme=$IT_ROOT/../README.md
debs=$IT_LIB/recipe-debs.sh
"$debs" check >/dev/null || fail "the recipes' packages are not unpacked: $("$debs" check)"

# --- the README's lines ----------------------------------------------------------------------
# readme_inline NAME N: the N-th `code` span of the README paragraph that starts with **NAME**
# (its lines joined)
readme_inline() {
  local para span
  para=$(awk -v m="**$1**" 'index($0, m) == 1 { f = 1 } f && /^$/ { exit } f { printf "%s ", $0 }' "$readme")
  [ -n "$para" ] || fail "the README has no **$1** recipe"
  span=$(awk -v n="$2" -F'`' '{ print $(2 * n) }' <<<"$para")
  [ -n "$span" ] || fail "the README's **$1** recipe has no code span $2"
  printf '%s\n' "$span"
}
# readme_block NAME: the first fenced block after the README line that starts with **NAME**
readme_block() {
  awk -v m="**$1**" 'index($0, m) == 1 { found = 1; next }
                     found && /^```/ { if (inside) exit; inside = 1; next }
                     inside { print }' "$readme"
}

# --- the overlays ----------------------------------------------------------------------------
# mta_mount SET: the unpacked packages of SET over /usr, /etc and /var (writable, the writes go to
# $T/ov/SET); mta_umount undoes it. The relay and the sink keep running underneath.
MTA_MOUNTS=()
# the upper layers on a tmpfs of this namespace: an overlay's upper may not be on an overlay
# (the temp dir of a CI job in a container may be one)
mkdir -p "$T/ov" && mount -t tmpfs -o mode=0755 rp-it-overlays "$T/ov"
# (detached before it_cleanup removes $T; the exit status is kept for it)
trap 'rc=$?; umount -l "$T/ov" 2>/dev/null; set +e; (exit $rc); it_cleanup' EXIT
mta_mount() {
  local set=$1 root d lower
  root=$("$debs" root "$set")   # set "system": nothing unpacked, the machine's own programs
  [ "$set" != system ] || { root=$T/ov/system.root; mkdir -p "$root"; echo "(none)" > "$root/.unpacked"; }
  for d in usr etc var; do
    mkdir -p "$T/ov/$set/$d.up" "$T/ov/$set/$d.work"
    lower=$root/$d:/$d
    # a layer may not lie inside another: the cache is under /var, so its var/ is copied up
    if [ "$d" = var ]; then cp -a "$root/var/." "$T/ov/$set/var.up/" 2>/dev/null || true; lower=/var; fi
    [ -d "$root/$d" ] || lower=/$d
    mount -t overlay "rp-it-$set-$d" -o "lowerdir=$lower,upperdir=$T/ov/$set/$d.up,workdir=$T/ov/$set/$d.work" "/$d"
    MTA_MOUNTS+=("/$d")
  done
  # the namespace's resolver is the scenario's NSD on 127.0.0.1:53, and the host knows its name
  rm -f /etc/resolv.conf /etc/hosts
  printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' > /etc/resolv.conf
  printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s %s\n' "$(hostname)" "$(hostname | cut -d. -f1)" > /etc/hosts
  [ "$(hostname)" = web01.internal ] || printf '127.0.2.1\tweb01.internal\n' >> /etc/hosts   # the app's sender domain
  if [ "$set" = system ]; then log "system: /usr, /etc and /var writable, the machine's own programs"
  else log "$set: its packages over /usr, /etc and /var ($(tr '\n' ' ' < "$root/.unpacked" | sed 's/ $//'))"; fi
}
mta_umount() {
  local d
  for d in "${MTA_MOUNTS[@]}"; do umount -l "$d"; done
  MTA_MOUNTS=()
}

# php_sendmail NAME [PARAMS]: PHP mail() of message NAME (lib/messages.sh) with PHP's default
# sendmail_path (and mail()'s fifth argument)
php_sendmail() {
  local out
  out=$(php_mail "/usr/sbin/sendmail -t -i" "customer@gmail.test" "Your order #1042" "$T/msg/$1.body" "$T/msg/$1.headers" "${2:-}")
  log "php ($1): $out"
  grep -q 'returned true' <<<"$out" || fail "$1: mail() failed: $out"
}

# expect_arrival N WHAT: message N at the sink came through the relay, rewritten, byte for byte
expect_arrival() {
  local n=$1 name=$2 received=$3
  sink_wait "$n" 30 || fail "$name: nothing reached the sink (relay log: $(tail -n 3 "$RELAY_DIR/relay.log" | tr '\n' ' '))"
  expect_envelope "$n" "bounce@example.com" "customer@gmail.test"
  expect_bytes "$n" "$received" "$T/msg/$name.expected"
}

# NSD on port 53 of the namespace's loopback: the MTAs' resolver (gmail.test, the recipients'
# domain, has an MX that nothing can reach: mail that went there instead would not arrive)
DNS_PORT=53 DNS_RCPT_ZONE=gmail.test
start_dns
start_sink
RELAY_PORT=2525
start_relay
wait_tcp 2525 5 || fail "the relay does not listen on 2525"
msgs=0

want() { [ -z "${RECIPES:-}" ] || grep -qw "$1" <<<"$RECIPES"; }   # RECIPES="exim ssmtp": only those

# --- Postfix ---------------------------------------------------------------------------------
if want postfix; then
  line=$(readme_block Postfix)
  log "postfix: main.cf gets $line"
  PF_MAIN_EXTRA=$line
  start_postfix
  expect "postfix: the README's relayhost is the one in force" [ "relayhost = $(postconf -c "$PF" -h relayhost)" = "$line" ]
  postfix -c "$PF" reload >/dev/null 2>&1 || fail "postfix reload failed"
  php_message postfix noreply@example.com
  out=$(php_mail "$PF_SENDMAIL" "customer@gmail.test" "Your order #1042" "$T/msg/postfix.body" "$T/msg/postfix.headers")
  grep -q 'returned true' <<<"$out" || fail "postfix: mail() failed: $out"
  msgs=$((msgs + 1))
  expect_arrival "$msgs" postfix 2
  postfix -c "$PF" stop >/dev/null 2>&1 || true
fi

# --- msmtp -----------------------------------------------------------------------------------
if want msmtp; then
  rc=$(readme_block msmtp)
  sendmail_path=$(readme_inline msmtp 3 | sed -n 's/^sendmail_path = "\(.*\)"$/\1/p')
  [ -n "$sendmail_path" ] || fail "msmtp: no sendmail_path in the README's recipe"
  log "msmtp: sendmail_path = $sendmail_path"
  mta_mount system
  printf '%s\n' "$rc" > /etc/msmtprc
  php_message msmtp noreply@example.com
  out=$(php_mail "$sendmail_path" "customer@gmail.test" "Your order #1042" "$T/msg/msmtp.body" "$T/msg/msmtp.headers")
  grep -q 'returned true' <<<"$out" || fail "msmtp: mail() failed: $out"
  mta_umount
  msgs=$((msgs + 1))
  sink_wait "$msgs" 1 || fail "msmtp: mail() returned before the message reached the sink (passthrough)"
  expect_arrival "$msgs" msmtp 1
fi

# --- nullmailer ------------------------------------------------------------------------------
if want nullmailer; then
  remotes=$(readme_inline nullmailer 2)
  normalize=$(readme_inline nullmailer 5)
  log "nullmailer: /etc/nullmailer/remotes = $remotes; returnpath: $normalize"
  mta_mount nullmailer
  mkdir -p /etc/nullmailer
  printf '%s\n' "$remotes" > /etc/nullmailer/remotes
  echo web01.internal > /etc/mailname
  mkfifo -m 0622 /var/spool/nullmailer/trigger && chown mail:root /var/spool/nullmailer/trigger
  nm_start() {
    (cd /var/spool/nullmailer && exec setpriv --reuid=mail --regid=mail --clear-groups /usr/sbin/nullmailer-send) >>"$T/nullmailer-send.log" 2>&1 &
    nm_pid=$!; IT_PIDS+=("$nm_pid")
  }
  nm_start
  php_message nullmailer noreply@example.com
  # as the README says: refused while the relay rejects bare CRs
  php_sendmail nullmailer
  # (its first delivery run ends once it has given the message up and queued the bounce)
  for _ in $(seq 1 300); do grep -q 'Delivery complete' "$T/nullmailer-send.log" && break; sleep 0.1; done
  expect "nullmailer: the relay refused the message with 550 5.5.2 (bare CR)" \
    grep -q 'from=<root@web01.internal> status=rejected (550 5.5.2' "$RELAY_DIR/relay.log"
  expect "nullmailer: it gave the message up" grep -q 'Moving message .* into failed' "$T/nullmailer-send.log"
  expect "nullmailer: nothing reached the sink while the relay rejects bare CRs" [ "$(sink_count)" -eq "$msgs" ]
  # nullmailer's bounce of it goes too: it would reach the sink below
  kill "$nm_pid"; wait "$nm_pid" 2>/dev/null || true
  rm -f /var/spool/nullmailer/queue/* /var/spool/nullmailer/tmp/*
  # ... and delivered intact with the README's line in the relay's configuration
  stop_relay
  write_relay_conf "$RELAY_CONF" "$normalize"
  relay_launch
  nm_start
  php_sendmail nullmailer
  msgs=$((msgs + 1))
  sink_wait "$msgs" 30 || { cat "$T/nullmailer-send.log"; fail "nullmailer: nothing reached the sink"; }
  expect "nullmailer: one message at the sink, not its bounce too" [ "$(sink_count)" -eq "$msgs" ]
  kill "$nm_pid"; wait "$nm_pid" 2>/dev/null || true
  mta_umount
  expect_arrival "$msgs" nullmailer 2
  # the other recipes run against the default (bare-newline = reject)
  stop_relay; write_relay_conf "$RELAY_CONF"; relay_launch
fi

# --- ssmtp -----------------------------------------------------------------------------------
if want ssmtp; then
  conf=$(readme_inline ssmtp 2)
  log "ssmtp: /etc/ssmtp/ssmtp.conf = $conf"
  mta_mount ssmtp
  printf '%s\n' "$conf" > /etc/ssmtp/ssmtp.conf
  php_message ssmtp noreply@example.com
  php_sendmail ssmtp
  msgs=$((msgs + 1))
  mta_umount
  expect_arrival "$msgs" ssmtp 2
fi

# --- Exim 4 ----------------------------------------------------------------------------------
if want exim; then
  block=$(readme_block Exim)
  [ -n "$block" ] || fail "the README has no Exim block"
  mta_mount exim
  echo 'Debian-exim:x:2527:2527::/var/spool/exim4:/usr/sbin/nologin' >> /etc/passwd
  echo 'Debian-exim:x:2527:' >> /etc/group
  mkdir -p /var/spool/exim4 /var/log/exim4 /var/lib/exim4 /run/exim4
  chown Debian-exim:Debian-exim /var/spool/exim4 /var/log/exim4 /run/exim4
  echo web01.internal > /etc/mailname
  # Debian's own configuration (internet site, split files), with the README's router placed
  # before dnslookup (conf.d/router/200_exim4-config_primary) and its transport beside the others
  awk 'BEGIN { RS = ""; ORS = "\n\n" } NR == 1' <<<"$block" > /etc/exim4/conf.d/router/190_returnpath
  awk 'BEGIN { RS = ""; ORS = "\n\n" } NR > 1' <<<"$block" > /etc/exim4/conf.d/transport/30_returnpath
  cat > /etc/exim4/update-exim4.conf.conf <<'EOF'
dc_eximconfig_configtype='internet'
dc_other_hostnames='web01.internal'
dc_local_interfaces='127.0.0.1'
dc_readhost=''
dc_relay_domains=''
dc_minimaldns='false'
dc_relay_nets=''
dc_smarthost=''
CFILEMODE='644'
dc_use_split_config='true'
dc_hide_mailname=''
dc_mailname_in_oh='true'
dc_localdelivery='mail_spool'
EOF
  update-exim4.conf || fail "update-exim4.conf failed"
  grep -q '^returnpath:' /var/lib/exim4/config.autogenerated || fail "exim: the router is not in the generated configuration"
  exim4 -bV >/dev/null || fail "exim4 -bV: $(exim4 -bV 2>&1 | tail -n 3)"
  log "exim: routing customer@gmail.test: $(exim4 -bt customer@gmail.test 2>&1 | tr '\n' ' ')"
  php_message exim noreply@example.com
  php_sendmail exim
  msgs=$((msgs + 1))
  sink_wait "$msgs" 30 || { tail -n 20 /var/log/exim4/mainlog; fail "exim: nothing reached the sink"; }
  log "exim mainlog:"; sed 's/^/    /' /var/log/exim4/mainlog
  mta_umount
  expect_arrival "$msgs" exim 2
fi

# --- Sendmail 8 ------------------------------------------------------------------------------
if want sendmail; then
  lines=$(readme_block Sendmail)
  [ -n "$lines" ] || fail "the README has no Sendmail block"
  # the host has returnpath's name: Sendmail would take the relay's greeting for its own
  hostname relay.example.com
  mta_mount sendmail
  echo 'smmsp:x:2528:2528::/var/lib/sendmail:/usr/sbin/nologin' >> /etc/passwd
  echo 'smmta:x:2529:2529::/var/lib/sendmail:/usr/sbin/nologin' >> /etc/passwd
  printf 'smmsp:x:2528:\nsmmta:x:2529:\n' >> /etc/group
  ln -sf ../libexec/sendmail/sendmail /usr/sbin/sendmail
  chgrp smmsp /usr/libexec/sendmail/sendmail && chmod 2755 /usr/libexec/sendmail/sendmail
  mkdir -p /etc/mail/m4 /var/lib/sendmail/host_status /var/spool/mqueue /var/spool/mqueue-client
  : > /etc/mail/m4/dialup.m4; : > /etc/mail/m4/provider.m4
  chmod 0700 /var/spool/mqueue; chown smmsp:smmsp /var/spool/mqueue-client; chmod 2770 /var/spool/mqueue-client
  # Debian's sendmail.mc with the README's lines before the mailers, built as the README says
  sm_mc() { awk -v add="$1" '/^MAILER_DEFINITIONS/ { print add } { print }' /usr/share/sendmail/cf/debian/sendmail.mc; }
  sm_mc "$lines" > /etc/mail/sendmail.mc
  cp /usr/share/sendmail/cf/debian/submit.mc /etc/mail/submit.mc
  (cd /etc/mail && m4 sendmail.mc > sendmail.cf && m4 submit.mc > submit.cf) || fail "sendmail: m4 failed"
  : > /etc/mail/access; makemap hash /etc/mail/access < /etc/mail/access
  echo web01.internal > /etc/mail/local-host-names
  printf 'postmaster: root\n' > /etc/mail/aliases; ln -sf mail/aliases /etc/aliases
  newaliases >/dev/null 2>&1 || true
  php_message sendmail noreply@example.com
  # sm_run CF: the MTA daemon on port 25 with CF, and one mail() through the MSP to it (the host
  # name is under example.com, so root@ would pass as aligned: the app's own sender instead)
  sm_run() {
    # a fresh start: no queue, and no host status from the run before (it remembers a refusal)
    rm -rf /var/spool/mqueue/* /var/spool/mqueue-client/* /var/lib/sendmail/host_status/*
    /usr/libexec/sendmail/sendmail -bD -q1h -C "$1" >>"$T/sendmail-daemon.log" 2>&1 &
    sm_pid=$!; IT_PIDS+=("$sm_pid")
    wait_tcp 25 20 "$sm_pid" || { cat "$T/sendmail-daemon.log"; fail "sendmail: the daemon did not listen on 25"; }
    php_sendmail sendmail -fapache@web01.internal
  }
  sm_stop() { kill "$sm_pid"; wait "$sm_pid" 2>/dev/null || true; }
  # sm_wait_queue REGEX: until a message in the MTA's queue (a deferral's status, a bounce) matches
  sm_wait_queue() {
    for _ in $(seq 1 150); do
      cat /var/spool/mqueue/qf* /var/spool/mqueue/df* 2>/dev/null | grep -q -- "$1" && return 0; sleep 0.1
    done
    mailq 2>&1 | head -n 12; return 1
  }
  # sm_shows NAME EDITED WHAT REGEX: Sendmail built from the README's lines EDITED keeps the mail
  # from the sink, and its queue (a deferral's status, a bounce) shows REGEX
  sm_shows() {
    local name=$1 edited=$2 what=$3 re=$4
    [ "$edited" != "$lines" ] || fail "sendmail: nothing in the README's lines to change for: $what"
    sm_mc "$edited" > "/etc/mail/$name.mc" && m4 "/etc/mail/$name.mc" > "/etc/mail/$name.cf"
    sm_run "/etc/mail/$name.cf"
    sm_wait_queue "$re" || fail "sendmail: not as the README says: $what"
    sm_stop
    expect "sendmail: nothing reached the sink: $what" [ "$(sink_count)" -eq "$msgs" ]
    log "sendmail: $what: $(cat /var/spool/mqueue/qf* /var/spool/mqueue/df* 2>/dev/null | grep -m 1 -- "$re")"
  }
  # The README's reasons, shown: a plain [127.0.0.1] sends the mail to the recipient's MX, and
  # without the flag k a relay that greets with Sendmail's own name is a loop
  sm_shows plain "$(sed 's/`relay:\[127\.0\.0\.1\]'"'"'/`[127.0.0.1]'"'"'/' <<<"$lines")" \
    "with a plain [127.0.0.1] the mail heads for the MX" 'mx\.gmail\.test'
  sm_shows nok "$(grep -v 'RELAY_MAILER_FLAGS' <<<"$lines")" \
    "without the flag k the relay's greeting is a loop" 'mail loops back to me'
  # the recipe as it is
  sm_run /etc/mail/sendmail.cf
  msgs=$((msgs + 1))
  if ! sink_wait "$msgs" 30; then
    mailq 2>&1 | head -20; cat "$T/sendmail-daemon.log"
    fail "sendmail: nothing reached the sink"
  fi
  sm_stop
  mta_umount
  hostname web01.internal
  expect_arrival "$msgs" sendmail 3
fi

# --- PHPMailer -------------------------------------------------------------------------------
if want phpmailer; then
  settings=$(readme_inline PHPMailer 1)
  log "PHPMailer: $settings"
  mta_mount phpmailer
  out=$(RP_SETTINGS=$settings php -n -d display_errors=stderr -r '
    require "/usr/share/php/libphp-phpmailer/autoload.php";
    $mail = new PHPMailer\PHPMailer\PHPMailer(true);
    eval(getenv("RP_SETTINGS"));
    $mail->setFrom("noreply@example.com", "Web Shop");
    $mail->addAddress("customer@gmail.test");
    $mail->Subject = "Your order #1042 (PHPMailer)";
    $mail->Body = "Hello,\n\nyour order #1042 has shipped.\n";
    $mail->send();
    echo "sent as ", $mail->getLastMessageID(), "\n";' 2>&1) || fail "PHPMailer: $out"
  log "PHPMailer: $out"
  mta_umount
  msgs=$((msgs + 1))
  sink_wait "$msgs" 10 || fail "PHPMailer: nothing reached the sink"
  # PHPMailer's envelope sender is its From: aligned, so the relay keeps it
  expect_envelope "$msgs" "noreply@example.com" "customer@gmail.test"
  mid=$(sed -n 's/^sent as //p' <<<"$out")
  expect "PHPMailer: the sink has its Message-ID $mid" grep -qF "Message-ID: $mid" "$(sink_msg "$msgs").eml"
fi

pass
