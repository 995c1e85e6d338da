#!/usr/bin/env bash
# Scenario 21: the systemd service in its documented layout. In a private mount namespace
# (nothing is installed on the machine) /opt/returnpath holds the jar and the runtime that
# docs/install.md's jlink line builds, /etc/returnpath the configuration, /var/spool/returnpath
# the spool. The unit's own ExecStart= line runs as uid 2525 in its WorkingDirectory=; mail
# is queued (spool mode) while the sink defers, `queue list` and `doctor` run from / with
# --config, `queue flush` delivers, and SIGTERM ends with an exit code that the unit's
# SuccessExitStatus= counts as clean. systemd-analyze verify checks the unit.
set -euo pipefail
if [ -z "${RP_PRIVATE_MOUNTS:-}" ]; then
  # re-run this script in a mount namespace of its own: its mounts vanish with it
  if unshare -m --propagation private true 2>/dev/null; then
    RP_PRIVATE_MOUNTS=1 exec unshare -m --propagation private bash "$0" "$@"
  fi
  . "$(dirname "$0")/../lib/common.sh"; it_init service
  skip "cannot make a private mount namespace (unshare -m needs root)"
fi
. "$(dirname "$0")/../lib/common.sh"
it_init service
command -v setpriv >/dev/null 2>&1 || skip "no setpriv (util-linux)"

unit=$IT_ROOT/../conf/systemd/returnpath.service
install_md=$IT_ROOT/../docs/install.md
for line in User=returnpath Group=returnpath WorkingDirectory=/var/spool/returnpath Restart=on-failure \
            SuccessExitStatus=143 RestartPreventExitStatus=78 ProtectSystem=strict NoNewPrivileges=yes \
            ReadWritePaths=/var/spool/returnpath PrivateTmp=yes CapabilityBoundingSet=; do
  expect "the unit says $line" grep -qx -- "$line" "$unit"
done
expect "sysusers names the spool as home" grep -q '^u returnpath .* /var/spool/returnpath ' "$IT_ROOT/../conf/systemd/returnpath.sysusers"
expect "tmpfiles creates the spool" grep -qx 'd /var/spool/returnpath 0750 returnpath returnpath -' "$IT_ROOT/../conf/systemd/returnpath.tmpfiles"

# --- the layout, on tmpfs mounts private to this namespace ----------------------------------
created=()
for d in /opt /etc/returnpath /var/spool/returnpath; do
  [ -d "$d" ] || { mkdir -p "$d"; created+=("$d"); }
  mount -t tmpfs -o mode=0755 "rp-it-$(basename "$d")" "$d"
done
# the mount points this scenario had to create on the real file system go when it ends
trap 'it_cleanup; for d in "${created[@]}"; do rmdir "$d" 2>/dev/null || true; done' EXIT
install -d -m 0755 /opt/returnpath
install -m 0644 "$RELAY_JAR" /opt/returnpath/returnpath.jar
java_home=$(dirname "$(dirname "$(readlink -f "$(command -v "$JAVA")")")")
if [ -x "$java_home/bin/jlink" ]; then
  # docs/install.md's own jlink command, with its JAVA_HOME
  jlink_cmd=$(sed -n '/bin\/jlink"/,/[^\\]$/p' "$install_md")
  [ -n "$jlink_cmd" ] || fail "docs/install.md has no jlink command"
  t0=$(date +%s)
  JAVA_HOME=$java_home bash -c "set -e; $jlink_cmd" || fail "docs/install.md's jlink command failed"
  note "the jlink runtime of docs/install.md: $(du -sm /opt/returnpath/jre | cut -f1) MB, built in $(( $(date +%s) - t0 )) s"
else
  ln -s "$java_home" /opt/returnpath/jre
  log "no jlink in $java_home (a JRE): /opt/returnpath/jre is a symlink to it"
fi
chown 2525:2525 /var/spool/returnpath && chmod 0750 /var/spool/returnpath

if command -v systemd-analyze >/dev/null 2>&1; then
  out=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $out"
  # it reports unknown keys and bad values as warnings, with exit 0: none is allowed
  expect "systemd-analyze verify says nothing about the unit ($out)" [ -z "$(grep -v 'sysinit.target' <<<"$out")" ]
  log "systemd-analyze verify: clean"
else
  note "no systemd-analyze: the unit was not verified"
fi

start_sink --reply-file "$T/defer"
printf '451 4.3.0 try again later (the scenario defers)\n' > "$T/defer"
RELAY_PORT=$(free_port) RELAY_MGMT_PORT=$(free_port)
cat > /etc/returnpath/returnpath.conf <<CONF
returnpath {
  hostname = "relay.example.com"
  listen.port = $RELAY_PORT
  domains { "example.com" { return-path = "bounce@example.com" } }
  delivery {
    mode = smarthost
    smarthost { host = "127.0.0.1", port = $SINK_PORT, tls = none }
  }
  queue {
    mode = spool
    dir = "/var/spool/returnpath"
    first-retry = 1h
  }
  dns { servers = ["127.0.0.1:9"], timeout = 1s }
  management.port = $RELAY_MGMT_PORT
}
CONF
chgrp 2525 /etc/returnpath/returnpath.conf && chmod 0640 /etc/returnpath/returnpath.conf

as_returnpath() { setpriv --reuid=2525 --regid=2525 --clear-groups --no-new-privs "$@"; }
# the unit's ExecStart=, continuation lines joined
exec_start=$(sed -n '/^ExecStart=/,/[^\\]$/p' "$unit" | sed 's/\\$//' | tr '\n' ' ' | sed 's/^ExecStart=//')
log "ExecStart: $exec_start"
read -r -a argv <<<"$exec_start"
(cd /var/spool/returnpath && exec setpriv --reuid=2525 --regid=2525 --clear-groups --no-new-privs "${argv[@]}") \
  >"$T/serve.log" 2>&1 &
pid=$!
IT_PIDS+=("$pid")
wait_tcp "$RELAY_PORT" 60 "$pid" || { cat "$T/serve.log"; fail "the unit's ExecStart did not listen"; }
log "serve listens on $RELAY_PORT as uid $(stat -c %u /proc/$pid)"

swaks --server "127.0.0.1:$RELAY_PORT" --from apache@web01.internal --to user@example.org \
  --h-From: 'Contact form <noreply@example.com>' --h-Subject: 'service test' >"$T/swaks.log" 2>&1 \
  || { cat "$T/swaks.log"; fail "swaks through the service failed"; }
expect "the relay queued the message" grep -q '250 2.0.0 Ok: queued as' "$T/swaks.log"
id=$(sed -n 's/.*Ok: queued as \([0-9A-F]*\).*/\1/p' "$T/swaks.log" | head -n 1)

# queue and doctor from any directory, with --config only
cd /
for _ in $(seq 1 50); do grep -q "$id: .*status=deferred" "$T/serve.log" && break; sleep 0.2; done
out=$(as_returnpath "${argv[0]}" -jar /opt/returnpath/returnpath.jar queue list --config /etc/returnpath/returnpath.conf 2>&1) \
  || fail "queue list --config from /: $out"
log "queue list: $out"
expect "queue list from / shows the deferred message $id" grep -q "$id" <<<"$out"
set +e
out=$(as_returnpath "${argv[0]}" -jar /opt/returnpath/returnpath.jar doctor --config /etc/returnpath/returnpath.conf 2>&1)
rc=$?
set -e
log "doctor (exit $rc): $(head -n 3 <<<"$out")"
expect "doctor --config from / ran its checks (exit $rc: $out)" [ "$rc" -eq 0 -o "$rc" -eq 1 ]
expect "doctor names the upstream check" grep -q 'upstream' <<<"$out"
rm -f "$T/defer"
out=$(as_returnpath "${argv[0]}" -jar /opt/returnpath/returnpath.jar queue flush --config /etc/returnpath/returnpath.conf 2>&1) \
  || fail "queue flush --config from /: $out"
sink_wait 1 30 || fail "the flushed message did not reach the sink"
expect "the sink got the rewritten envelope sender" [ "$($CHECK field "$(sink_msg 1).json" mail_from)" = "bounce@example.com" ]

# stop as systemctl stop does; the exit code must be one the unit counts as success
kill -TERM "$pid"
set +e; wait "$pid"; rc=$?; set -e
success=$(sed -n 's/^SuccessExitStatus=//p' "$unit")
log "serve exited $rc on SIGTERM; SuccessExitStatus=$success"
expect "SIGTERM's exit code $rc is 0 or in SuccessExitStatus ($success)" \
  bash -c "[ $rc -eq 0 ] || grep -qw -- $rc <<<'$success'"
expect "serve logged its stop" grep -q 'stopped' "$T/serve.log"
pass
