#!/usr/bin/env bash
# Scenario 9, the container: build the image from the Dockerfile with podman, run it with the
# Compose example's configuration mounted and port 2525 published on 127.0.0.1, and send PHP
# mail() through msmtp (the Compose example's msmtprc) to the published port. The sink (on the host's loopback, reached from the container through
# slirp4netns with allow_host_loopback) must receive the rewritten mail, byte for byte.
# Also checks the image: non-root user, EXPOSE 2525 8025, VOLUME /var/spool/returnpath, a
# HEALTHCHECK that passes, the start time (podman run -> SMTP greeting), and a clean stop.
# Skipped (never passed) where podman or the base images cannot be had.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$IT_LIB/messages.sh"
it_init 9-container

[ "${IT_SKIP_CONTAINER:-0}" = 1 ] && skip "disabled by IT_SKIP_CONTAINER=1"
command -v podman >/dev/null 2>&1 || skip "podman is not installed"
export CONTAINERS_CONF
repo=$(cd "$IT_ROOT/.." && pwd)
tools=""
for d in "$repo/../shared/tools" "/work/shared/tools"; do
  [ -f "$d/containers.conf" ] && { tools=$(cd "$d" && pwd); break; }
done
[ -n "$tools" ] || skip "../shared/tools (containers.conf, container-bases.sh) not found beside the repository"
CONTAINERS_CONF="$tools/containers.conf"
pm() { podman --runtime runc "$@"; }

# Base images: the public ones when present, else the local stand-ins (offline machines).
if ! podman image exists eclipse-temurin:25-jre || ! podman image exists maven:3.9-eclipse-temurin-25; then
  log "building the stand-in base images with $tools/container-bases.sh"
  bash "$tools/container-bases.sh" > "$T/bases.log" 2>&1 || skip "no base images and container-bases.sh failed: $(tail -n 2 "$T/bases.log" | tr '\n' ' ')"
fi
pm run --rm --network none eclipse-temurin:25-jre true > "$T/podman-probe.log" 2>&1 \
  || skip "podman cannot run containers here: $(tail -n 1 "$T/podman-probe.log")"

# Build. The host's Maven repository is lent to the build stage as a cache (podman build -v).
IMAGE=localhost/returnpath-it:latest
m2=${HOME:-/root}/.m2
mkdir -p "$m2"
old_id=$(podman image inspect "$IMAGE" --format '{{.Id}}' 2>/dev/null || true)
t0=$(date +%s)
# --layers=false: no intermediate images left behind on every run (the Maven cache above
# keeps the build quick anyway)
if ! podman build --isolation=chroot --format docker --layers=false -v "$m2:/root/.m2" -t "$IMAGE" "$repo" > "$T/build.log" 2>&1; then
  tail -n 30 "$T/build.log"
  fail "podman build failed: $(grep -E 'Error|ERROR' "$T/build.log" | head -n 1)"
fi
log "image built in $(( $(date +%s) - t0 ))s"
new_id=$(podman image inspect "$IMAGE" --format '{{.Id}}')
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then podman rmi "$old_id" >/dev/null 2>&1 || true; fi
size=$(podman image inspect "$IMAGE" --format '{{.Size}}')
base_size=$(podman image inspect eclipse-temurin:25-jre --format '{{.Size}}')
log "image size: $((size / 1000000)) MB (of which the eclipse-temurin:25-jre base: $((base_size / 1000000)) MB; returnpath's layers: $(((size - base_size) / 1000)) kB)"
podman history --format '{{.Size}}\t{{.CreatedBy}}' "$IMAGE" | head -n 14 | sed 's/^/    /'

# The image's contract.
cfg=$(podman image inspect "$IMAGE" --format '{{json .Config}}')
user=$(podman image inspect "$IMAGE" --format '{{.Config.User}}')
[ -n "$user" ] && [ "${user%%:*}" != root ] && [ "${user%%:*}" != 0 ] || fail "the image runs as '$user', not as a non-root user"
grep -q '"2525/tcp"' <<<"$cfg" && grep -q '"8025/tcp"' <<<"$cfg" || fail "the image does not EXPOSE 2525 and 8025: $cfg"
grep -q '"/var/spool/returnpath"' <<<"$cfg" || fail "the image has no VOLUME /var/spool/returnpath"
podman image inspect "$IMAGE" | grep -q '"Healthcheck"' || fail "the image has no HEALTHCHECK"
grep -q 'RETURNPATH_LISTEN_HOST=0.0.0.0' <<<"$cfg" || fail "the image does not set RETURNPATH_LISTEN_HOST=0.0.0.0"

# Components on the host's loopback; the container reaches them as 10.0.2.2.
start_dns
start_sink
RELAY_PORT=$(free_port)
MGMT_PORT=$(free_port)
mkdir -p "$T/etc"
# The Compose example's configuration (integration-tests/compose/returnpath.conf), with the
# smarthost and DNS pointed at this test's sink and NSD (HOCON: later keys win).
{
  cat "$IT_ROOT/compose/returnpath.conf"
  cat <<EOF
# --- test overrides (scenario 9)
returnpath.delivery.smarthost { host = "10.0.2.2", port = $SINK_PORT, tls = none }
returnpath.delivery.connect-timeout = 5s
returnpath.dns { servers = ["10.0.2.2:$DNS_PORT"], timeout = 2s }
returnpath.management.port = 8025
# the Compose app shares the relay's namespace (loopback); this test reaches the container
# through a published port instead, from podman's side of it
returnpath.listen.allowed-networks = ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
EOF
} > "$T/etc/returnpath.conf"
chmod 644 "$T/etc/returnpath.conf"

NAME="rp-it-$$"
IT_CONTAINERS+=("$NAME")
t0=$(date +%s%N)
pm run -d --name "$NAME" --network slirp4netns:allow_host_loopback=true \
  -p "127.0.0.1:$RELAY_PORT:2525" -p "127.0.0.1:$MGMT_PORT:8025" \
  -v "$T/etc/returnpath.conf:/etc/returnpath/returnpath.conf:ro" \
  --memory 256m --health-interval=disable "$IMAGE" > "$T/run.log" 2>&1 || fail "podman run failed: $(tail -n 3 "$T/run.log")"
# Started = the relay's SMTP greeting arrives through the published port.
greeting=""
for ((i = 0; i < 300; i++)); do
  greeting=$($PY -c '
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
    s.settimeout(2); print(s.recv(512).decode("utf-8", "replace").strip()); s.sendall(b"QUIT\r\n"); s.close()
except Exception:
    pass' "$RELAY_PORT")
  [[ "$greeting" == 220* ]] && break
  [ "$(podman inspect "$NAME" --format '{{.State.Running}}')" = true ] || break
  sleep 0.05
done
t1=$(date +%s%N)
pm logs "$NAME" > "$T/container.log" 2>&1 || true
[[ "$greeting" == 220* ]] || { cat "$T/container.log"; fail "no SMTP greeting through the published port (container log above)"; }
start_ms=$(( (t1 - t0) / 1000000 ))
log "start: podman run -> '$greeting' in $start_ms ms"
echo "$start_ms" > "$T/start-ms"

# PHP mail() -> msmtp -> the published port -> the container -> the sink
# msmtp with the Compose example's msmtprc (integration-tests/compose/app/msmtprc), its host
# and port pointed at the published port.
sed -e "s/^port 2525$/port $RELAY_PORT/" \
  "$IT_ROOT/compose/app/msmtprc" > "$T/msmtprc"
chmod 600 "$T/msmtprc"
grep -q "^port $RELAY_PORT" "$T/msmtprc" || fail "test bug: the Compose msmtprc has no 'port 2525' line to point elsewhere"
php_message s9 noreply@example.com
out=$(php_mail "msmtp -C $T/msmtprc -t" "customer@gmail.test" "Your order #1042" "$T/msg/s9.body" "$T/msg/s9.headers")
log "php via msmtp: $out"
pm logs "$NAME" > "$T/container.log" 2>&1 || true
grep -q 'returned true' <<<"$out" || { tail -n 30 "$T/container.log"; fail "mail() through msmtp to the container failed: $out"; }
sink_wait 1 10 || fail "the container did not deliver to the sink"
expect_envelope 1 "bounce@example.com" "customer@gmail.test"
expect_bytes 1 1 "$T/msg/s9.expected"

# Runs as the image's user, the spool volume is writable, the health check passes.
uid=$(pm exec "$NAME" id -u)
[ "$uid" != 0 ] || fail "the relay runs as root in the container"
pm exec "$NAME" sh -c 'touch /var/spool/returnpath/.w && rm /var/spool/returnpath/.w' \
  || fail "the spool volume is not writable by the relay's user"
hc=$(pm healthcheck run "$NAME" 2>&1) && hc_rc=0 || hc_rc=$?
[ "$hc_rc" -eq 0 ] || fail "the HEALTHCHECK fails (podman healthcheck run: exit $hc_rc, '$hc'; is there a 'healthcheck' subcommand?)"
log "healthcheck: ${hc:-healthy}"
# Management (/healthz, /readyz, /metrics) through the published port 8025: the image asks
# for it on every interface (RETURNPATH_MANAGEMENT_HOST=0.0.0.0), the config file says nothing.
mgmt() { $PY -c '
import sys, urllib.request
try:
    r = urllib.request.urlopen("http://127.0.0.1:%s/%s" % (sys.argv[1], sys.argv[2]), timeout=5)
    print(r.status); print(r.read().decode("utf-8", "replace"))
except Exception as e:
    print(getattr(e, "code", None) or "no answer (%s)" % e)' "$MGMT_PORT" "$1"; }
healthz=$(mgmt healthz)
case "$healthz" in
  200*)
    log "GET /healthz through the published port 8025: 200"
    readyz=$(mgmt readyz)
    [[ "$readyz" == 200* ]] || fail "GET /readyz answered '$(head -n 3 <<<"$readyz" | tr '\n' ' ')'"
    metrics=$(mgmt metrics)
    grep -q '^returnpath_messages_total{.*outcome="relayed".*} *1' <<<"$metrics" \
      || fail "/metrics does not count the relayed message: $(grep messages_total <<<"$metrics" | head -n 3 | tr '\n' ' ')"
    log "/readyz 200, /metrics counts the message" ;;
  "no answer"*) note "management port 8025 unreachable through the published port ($healthz): it binds 127.0.0.1 inside the container; reference.conf needs management.host = \${?RETURNPATH_MANAGEMENT_HOST}, which the image sets to 0.0.0.0" ;;
  *) fail "GET /healthz through the published management port answered '$healthz'" ;;
esac

# A clean stop on SIGTERM.
t0=$(date +%s%N)
pm stop -t 20 "$NAME" >/dev/null 2>&1 || true
t1=$(date +%s%N)
rc=$(podman inspect "$NAME" --format '{{.State.ExitCode}}')
log "stop: ${rc} after $(( (t1 - t0) / 1000000 )) ms"
[ "$rc" = 0 ] || [ "$rc" = 143 ] || fail "the container exited $rc on SIGTERM"
[ $(( (t1 - t0) / 1000000 )) -lt 20000 ] || fail "the container did not stop within 20s of SIGTERM"
pm logs "$NAME" > "$T/container.log" 2>&1 || true
log "container log:"; sed 's/^/    /' "$T/container.log" | tail -n 20
log "image size $((size / 1000000)) MB, start $start_ms ms"
pass
