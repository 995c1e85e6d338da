# integration-tests/lib/common.sh: the components a scenario starts, and how it reports.
#
# Sourced by each scenario script (scenarios/NN-name.sh), which runs in its own bash process:
#   it_init NAME         temp dir $T, EXIT trap that stops everything started below
#   start_dns            NSD on 127.0.0.1:$DNS_PORT serving example.com and 113.0.203.in-addr.arpa
#                        (DNS_PORT preset: that port; DNS_EXTRA_EXAMPLE: more records for the
#                        example.com zone, e.g. DKIM keys; DNS_RCPT_ZONE=D: a zone for the
#                        recipients' domain D too, its MX unreachable, 192.0.2.25)
#   dns_set_spf D TXT    rewrites D's SPF record in the zone and reloads NSD (SIGHUP)
#   test_ca DIR, test_cert DIR NAME   a private CA and a certificate for localhost/127.0.0.1
#   start_sink [ARGS]    aiosmtpd sink on 127.0.0.1:$SINK_PORT, messages in $SINK_DIR
#   start_smtp_sink      Postfix's smtp-sink on $SINK_PORT instead (load tests; records nothing)
#   start_relay [HOCON]  returnpath on 127.0.0.1:$RELAY_PORT, smarthost = the sink, DNS = NSD
#   start_postfix        a private Postfix null client, relayhost = [127.0.0.1]:$RELAY_PORT
#                        (PF_MAIN_EXTRA: lines appended to its main.cf, where the last one wins);
#                        its sendmail is "$PF_SENDMAIL"
#   write_msmtprc FILE   msmtp configured for the relay; its sendmail is "msmtp -C FILE -t"
#   php_mail ...         PHP mail() through a given sendmail_path
#   pass | fail REASON | skip REASON    writes the verdict and exits
#   note TEXT            a line run.sh prints under the verdict
# The verdict goes to $IT_RESULT (run.sh prints it); details go to stdout (the scenario log).

IT_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IT_ROOT=$(dirname "$IT_LIB")
PY=/usr/bin/python3          # Debian's python, where python3-aiosmtpd lives (not a pyenv shim)
CHECK="$PY $IT_LIB/check.py"
: "${RELAY_JAR:=$IT_ROOT/../target/returnpath.jar}"
: "${JAVA:=java}"

IT_PIDS=()
IT_POSTFIX_DIRS=()
IT_CONTAINERS=()

log() { printf '%s %s\n' "$(date +%H:%M:%S.%3N)" "$*"; }

it_init() {
  IT_NAME=$1
  T=$(mktemp -d "${TMPDIR:-/tmp}/rp-it.$IT_NAME.XXXXXX")
  chmod 755 "$T"   # Postfix daemons and NSD read below it after dropping privileges
  trap it_cleanup EXIT
  trap 'exit 143' TERM INT
  log "scenario $IT_NAME in $T"
}

it_cleanup() {
  local rc=$? d p
  for d in "${IT_CONTAINERS[@]}"; do
    podman --runtime runc rm -f -v -t 2 "$d" >/dev/null 2>&1 || true   # -v: its anonymous spool volume too
  done
  for d in "${IT_POSTFIX_DIRS[@]}"; do
    postfix -c "$d" abort >/dev/null 2>&1 || true
  done
  for p in "${IT_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${IT_PIDS[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if [ -n "${T:-}" ] && [ -d "$T" ]; then
    if [ "${IT_KEEP:-0}" = 1 ]; then log "kept $T"; else rm -rf "$T"; fi
  fi
  return $rc
}

# --- verdicts -----------------------------------------------------------------------------
# The verdict line goes to $IT_RESULT when run.sh set it (it prints the line), else to stdout.
verdict() { if [ -n "${IT_RESULT:-}" ]; then echo "$1" >> "$IT_RESULT"; else echo "$1"; fi; }
pass() { verdict "PASS $IT_NAME"; log "PASS"; exit 0; }
fail() { verdict "FAIL $IT_NAME: $*"; log "FAIL: $*"; it_dump_logs; exit 1; }
skip() { verdict "SKIP $IT_NAME: $*"; log "SKIP: $*"; exit 77; }
# note TEXT: something the run should show under the verdict without failing the scenario
# (a measurement, or a check of a feature that has not landed yet).
note() { log "note: $*"; if [ -n "${IT_RESULT:-}" ]; then echo "$*" >> "$IT_RESULT.notes"; fi; }

it_dump_logs() {
  local f
  for f in "$T"/relay*/relay.log "$T"/sink*/sink.log "$T"/pf*/maillog "$T"/pf*/etc/start.log "$T"/dns/nsd.log; do
    [ -f "$f" ] || continue
    echo "----- tail of ${f#$T/}"
    tail -n 40 "$f"
  done
}

# expect DESCRIPTION COMMAND...: runs the check, fails the scenario with DESCRIPTION if false.
expect() { local what=$1; shift; if ! "$@"; then fail "$what"; fi; }

# --- ports ---------------------------------------------------------------------------------
. "$IT_LIB/ports.sh"   # free_port, wait_tcp

# --- DNS: NSD ------------------------------------------------------------------------------
DNS_SERIAL=1
# The example.com zone. TTLs are 1 second so that a scenario's edit is seen at once
# (the relay caches SPF by TTL).
dns_write_zones() {
  local spf=${DNS_SPF_EXAMPLE:-v=spf1 ip4:203.0.113.5 -all}
  cat > "$T/dns/example.com.zone" <<EOF
\$ORIGIN example.com.
\$TTL 1
@       IN SOA ns1.example.com. hostmaster.example.com. ( $DNS_SERIAL 60 60 3600 1 )
        IN NS  ns1.example.com.
        IN MX  10 mx1.example.com.
        IN A   203.0.113.10
        IN TXT "$spf"
_dmarc  IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"
ns1     IN A   127.0.0.1
mx1     IN A   127.0.0.1
relay   IN A   203.0.113.5
relay   IN TXT "v=spf1 ip4:203.0.113.5 -all"
mail    IN TXT "v=spf1 ip4:203.0.113.5 -all"
mail    IN MX  10 mx1.example.com.
${DNS_EXTRA_EXAMPLE:-}
EOF
  cat > "$T/dns/113.0.203.in-addr.arpa.zone" <<EOF
\$ORIGIN 113.0.203.in-addr.arpa.
\$TTL 1
@       IN SOA ns1.example.com. hostmaster.example.com. ( $DNS_SERIAL 60 60 3600 1 )
        IN NS  ns1.example.com.
5       IN PTR relay.example.com.
10      IN PTR www.example.com.
EOF
  [ -z "${DNS_RCPT_ZONE:-}" ] || cat > "$T/dns/rcpt.zone" <<EOF
\$ORIGIN $DNS_RCPT_ZONE.
\$TTL 1
@       IN SOA ns1.example.com. hostmaster.example.com. ( $DNS_SERIAL 60 60 3600 1 )
        IN NS  ns1.example.com.
        IN MX  10 mx
mx      IN A   192.0.2.25
EOF
}

start_dns() {
  mkdir -p "$T/dns"
  DNS_PORT=${DNS_PORT:-$(free_port)}
  dns_write_zones
  cat > "$T/dns/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1@$DNS_PORT
    do-ip6: no
    username: ""
    chroot: ""
    zonesdir: "$T/dns"
    database: ""
    zonelistfile: "$T/dns/zone.list"
    xfrdfile: "$T/dns/xfrd.state"
    xfrdir: "$T/dns"
    pidfile: "$T/dns/nsd.pid"
    logfile: "$T/dns/nsd.log"
    server-count: 1
    verbosity: 1
    hide-version: yes
remote-control:
    control-enable: no
zone:
    name: example.com
    zonefile: example.com.zone
zone:
    name: 113.0.203.in-addr.arpa
    zonefile: 113.0.203.in-addr.arpa.zone
EOF
  [ -z "${DNS_RCPT_ZONE:-}" ] || printf 'zone:\n    name: %s\n    zonefile: rcpt.zone\n' "$DNS_RCPT_ZONE" >> "$T/dns/nsd.conf"
  nsd-checkconf "$T/dns/nsd.conf" || fail "nsd.conf does not check"
  nsd -d -c "$T/dns/nsd.conf" >>"$T/dns/nsd.log" 2>&1 &
  DNS_PID=$!
  IT_PIDS+=("$DNS_PID")
  local i
  for ((i = 0; i < 100; i++)); do
    if dig +short +time=1 +tries=1 @127.0.0.1 -p "$DNS_PORT" example.com TXT 2>/dev/null | grep -q spf1; then
      log "dns: NSD on 127.0.0.1:$DNS_PORT (pid $DNS_PID)"
      return 0
    fi
    kill -0 "$DNS_PID" 2>/dev/null || break
    sleep 0.1
  done
  fail "NSD did not answer on port $DNS_PORT"
}

# dns_set_spf TXT: example.com's SPF record becomes TXT; waits until NSD serves it.
dns_set_spf() {
  DNS_SPF_EXAMPLE=$1
  DNS_SERIAL=$((DNS_SERIAL + 1))
  dns_write_zones
  kill -HUP "$DNS_PID"
  local i
  for ((i = 0; i < 100; i++)); do
    if [ "$(dig +short +time=1 +tries=1 @127.0.0.1 -p "$DNS_PORT" example.com TXT | tr -d '"')" = "$1" ]; then
      log "dns: example.com TXT is now \"$1\""
      return 0
    fi
    sleep 0.1
  done
  fail "NSD did not serve the edited zone"
}

# --- TLS: a private CA ---------------------------------------------------------------------
# test_ca DIR: a CA made with openssl, DIR/ca.pem and DIR/ca.key (EC P-256, two days).
test_ca() {
  mkdir -p "$1"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=$IT_NAME CA" \
    -keyout "$1/ca.key" -out "$1/ca.pem" 2>/dev/null || fail "openssl could not make the test CA"
  chmod 600 "$1/ca.key"
}

# test_cert DIR NAME: DIR/NAME.pem and DIR/NAME.key, a server certificate for localhost and
# 127.0.0.1 signed by test_ca's CA in DIR.
test_cert() {
  local d=$1 n=$2
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
    -keyout "$d/$n.key" -out "$d/$n.csr" 2>/dev/null || fail "openssl could not make a key for $n"
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$d/$n.ext"
  openssl x509 -req -in "$d/$n.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
    -extfile "$d/$n.ext" -out "$d/$n.pem" 2>/dev/null || fail "openssl could not sign the certificate for $n"
  chmod 600 "$d/$n.key"
}

# --- the sink: aiosmtpd --------------------------------------------------------------------
start_sink() {
  SINK_PORT=$(free_port)
  SINK_DIR="$T/sink/msgs"
  mkdir -p "$SINK_DIR"
  $PY "$IT_LIB/sink.py" --port "$SINK_PORT" --dir "$SINK_DIR" "$@" >>"$T/sink/sink.log" 2>&1 &
  SINK_PID=$!
  IT_PIDS+=("$SINK_PID")
  wait_tcp "$SINK_PORT" 15 "$SINK_PID" || fail "sink did not start (see sink.log)"
  log "sink: aiosmtpd on 127.0.0.1:$SINK_PORT (pid $SINK_PID)"
}

# start_smtp_sink [ARGS]: Postfix's smtp-sink instead (fast, records nothing: for load, e.g.
# the benchmark; "-c" prints counters, "-d TEMPLATE" dumps messages). Sets SINK_PORT, SINK_PID.
start_smtp_sink() {
  SINK_PORT=$(free_port)
  mkdir -p "$T/sink"
  smtp-sink -u nobody "$@" "127.0.0.1:$SINK_PORT" 1000 >>"$T/sink/smtp-sink.log" 2>&1 &
  SINK_PID=$!
  IT_PIDS+=("$SINK_PID")
  wait_tcp "$SINK_PORT" 15 "$SINK_PID" || fail "smtp-sink did not start (see sink/smtp-sink.log)"
  log "sink: Postfix smtp-sink on 127.0.0.1:$SINK_PORT (pid $SINK_PID)"
}

sink_count() { find "$SINK_DIR" -name '*.json' 2>/dev/null | wc -l; }

# sink_wait N SECONDS: until the sink holds at least N messages.
sink_wait() {
  local n=$1 secs=$2 i
  for ((i = 0; i < secs * 10; i++)); do
    [ "$(sink_count)" -ge "$n" ] && return 0
    sleep 0.1
  done
  return 1
}

# sink_msg N: base path of the N-th message at the sink (N.json, N.eml)
sink_msg() { printf '%s/%06d' "$SINK_DIR" "$1"; }

# --- returnpath ----------------------------------------------------------------------------
# write_relay_conf FILE [EXTRA-HOCON]: the scenario config, on the documented keys.
write_relay_conf() {
  local file=$1 extra=${2:-}
  cat > "$file" <<EOF
# written by integration-tests/lib/common.sh for scenario $IT_NAME
returnpath {
  hostname = "relay.example.com"
  listen {
    host = "127.0.0.1"
    port = $RELAY_PORT
  }
  domains {
    "example.com" {
      return-path = "bounce@example.com"
    }
  }
  delivery {
    mode = smarthost
    smarthost {
      host = "127.0.0.1"
      port = $SINK_PORT
      tls = none
    }
    connect-timeout = 5s
    command-timeout = 30s
  }
  queue {
    dir = "$RELAY_DIR/spool"
  }
  dns {
    servers = ["127.0.0.1:$DNS_PORT"]
    timeout = 2s
  }
  spf {
    outbound-ips = ["203.0.113.5"]
    on-fail = tempfail
  }
  management {
    port = $RELAY_MGMT_PORT
  }
}
$extra
EOF
}

# start_relay [EXTRA-HOCON]: needs start_dns and start_sink first.
start_relay() {
  [ -f "$RELAY_JAR" ] || fail "no relay jar at $RELAY_JAR"
  RELAY_DIR="$T/relay"
  mkdir -p "$RELAY_DIR/spool"
  RELAY_PORT=${RELAY_PORT:-$(free_port)}
  RELAY_MGMT_PORT=${RELAY_MGMT_PORT:-$(free_port)}
  RELAY_CONF="$RELAY_DIR/returnpath.conf"
  write_relay_conf "$RELAY_CONF" "${1:-}"
  relay_launch
}

# relay_launch: (re)starts the relay process on the existing config.
relay_launch() {
  local t0 t1
  t0=$(date +%s%N)
  (cd "$RELAY_DIR" && exec "$JAVA" ${RELAY_JAVA_OPTS:-} -jar "$RELAY_JAR" serve --config "$RELAY_CONF") \
    >>"$RELAY_DIR/relay.log" 2>&1 &
  RELAY_PID=$!
  IT_PIDS+=("$RELAY_PID")
  wait_tcp "$RELAY_PORT" 60 "$RELAY_PID" || fail "relay did not listen on $RELAY_PORT (see relay.log)"
  t1=$(date +%s%N)
  log "relay: returnpath on 127.0.0.1:$RELAY_PORT (pid $RELAY_PID), listening after $(( (t1 - t0) / 1000000 )) ms"
}

stop_relay() {
  local sig=${1:-TERM} i
  kill "-$sig" "$RELAY_PID" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do kill -0 "$RELAY_PID" 2>/dev/null || return 0; sleep 0.2; done
  kill -9 "$RELAY_PID" 2>/dev/null || true
}

# --- Postfix as a null client ----------------------------------------------------------------
# start_postfix: a private instance under $T/pf (config_directory, queue, log), no listener;
# mail enters through its sendmail ("$PF_SENDMAIL") and leaves to [127.0.0.1]:$RELAY_PORT.
start_postfix() {
  PF_ROOT="$T/pf"
  PF="$PF_ROOT/etc"       # config_directory; kept apart from the queue (postfix check insists)
  mkdir -p "$PF" "$PF_ROOT/queue" "$PF_ROOT/data"
  chown postfix "$PF_ROOT/data"
  cat > "$PF/main.cf" <<EOF
# Postfix null client (the README recipe), private to scenario $IT_NAME
compatibility_level = 3.6
config_directory = $PF
queue_directory = $PF_ROOT/queue
data_directory = $PF_ROOT/data
maillog_file = $PF_ROOT/maillog
maillog_file_prefixes = $PF_ROOT
myhostname = web01.internal
myorigin = \$myhostname
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
relayhost = [127.0.0.1]:$RELAY_PORT
local_transport = error:local delivery is disabled
smtp_tls_security_level = none
smtp_connect_timeout = 10s
# no automatic retry within a scenario: a deferred message moves on "postqueue -f" only
minimal_backoff_time = 1h
maximal_backoff_time = 2h
queue_run_delay = 1h
bounce_queue_lifetime = 0
maximal_queue_lifetime = 1d
alias_maps =
alias_database =
${PF_MAIN_EXTRA:-}
EOF
  cp "$IT_LIB/postfix-master.cf" "$PF/master.cf"
  postfix -c "$PF" check >>"$PF/start.log" 2>&1 || fail "postfix check failed (see pf/maillog)"
  IT_POSTFIX_DIRS+=("$PF")
  postfix -c "$PF" start >>"$PF/start.log" 2>&1 || fail "postfix did not start (see pf/maillog)"
  PF_SENDMAIL="/usr/sbin/sendmail -C $PF -t -i"
  log "postfix: null client in $PF, relayhost [127.0.0.1]:$RELAY_PORT"
}

# pf_queue_json: the instance's queue, one JSON object per line (postqueue -j)
pf_queue_json() { postqueue -c "$PF" -j 2>/dev/null || true; }
pf_flush() { postqueue -c "$PF" -f; }

# pf_wait_log REGEX SECONDS: until the Postfix maillog has a matching line
pf_wait_log() {
  local re=$1 secs=$2 i
  for ((i = 0; i < secs * 10; i++)); do
    grep -Eq -- "$re" "$PF_ROOT/maillog" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# --- msmtp -----------------------------------------------------------------------------------
# write_msmtprc FILE [FROM]: msmtp with no queue, host = the relay, envelope sender FROM
# (default apache@web01.internal: what an unconfigured container sends).
write_msmtprc() {
  local file=$1 from=${2:-apache@web01.internal}
  cat > "$file" <<EOF
defaults
logfile $T/msmtp.log
account returnpath
host 127.0.0.1
port $RELAY_PORT
auth off
tls off
domain web01.internal
from $from
account default : returnpath
EOF
  chmod 600 "$file"
}

# --- PHP mail() ------------------------------------------------------------------------------
# php_mail SENDMAIL_PATH TO SUBJECT BODYFILE HEADERSFILE [PARAMS]
# Prints "mail() returned true|false"; PHP's and the sendmail's stderr go to stdout too.
php_mail() {
  local sendmail_path=$1
  PHP_TO=$2 PHP_SUBJECT=$3 PHP_BODY_FILE=$4 PHP_HEADERS_FILE=$5 PHP_PARAMS=${6:-} \
    php -n -d "sendmail_path=$sendmail_path" -d display_errors=stderr -r '
      $ok = mail(getenv("PHP_TO"), getenv("PHP_SUBJECT"),
                 file_get_contents(getenv("PHP_BODY_FILE")),
                 rtrim(file_get_contents(getenv("PHP_HEADERS_FILE")), "\r\n"),
                 getenv("PHP_PARAMS"));
      echo "mail() returned ", $ok ? "true" : "false", "\n";' 2>&1
}

# --- assertions on what the sink received ------------------------------------------------------
# expect_envelope N SENDER RCPTS: the N-th message at the sink has that envelope.
expect_envelope() {
  local m; m=$(sink_msg "$1")
  local got_from got_rcpt
  got_from=$($CHECK field "$m.json" mail_from)
  got_rcpt=$($CHECK field "$m.json" rcpt_tos)
  [ "$got_from" = "$2" ] || fail "envelope sender at the sink is <$got_from>, expected <$2>"
  [ "$got_rcpt" = "$3" ] || fail "recipients at the sink are '$got_rcpt', expected '$3'"
  log "sink $1: MAIL FROM:<$got_from> RCPT TO:<$got_rcpt> ok"
}

# expect_bytes N RECEIVED-COUNT EXPECTED-FILE: the N-th message at the sink is EXPECTED-FILE with
# RECEIVED-COUNT Received: fields on top, the first of them the relay's (by relay.example.com).
expect_bytes() {
  local m top; m=$(sink_msg "$1")
  top=$($CHECK top-received "$m.eml" "$2" "$T/rest.$1") || fail "message $1 at the sink: $top"
  log "sink $1: top Received fields:"; printf '    %s\n' "$top"
  local first; first=$(head -n 1 <<<"$top")
  grep -q 'by relay\.example\.com' <<<"$first" \
    || fail "the first Received at the sink is not the relay's (by relay.example.com): $first"
  local diff
  diff=$($CHECK same "$3" "$T/rest.$1") || fail "message $1 at the sink is not the one sent, below the Received lines: $diff"
  log "sink $1: bytes below the Received lines identical to what was sent ($(wc -c < "$3") bytes)"
}
