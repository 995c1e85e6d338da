#!/usr/bin/env bash
# Scenario 20: the Kubernetes manifests render and say what they promise. `kubectl kustomize`
# renders conf/kubernetes/base (a Deployment, the relay as a native sidecar, passthrough) and
# conf/kubernetes/spool (a StatefulSet with a volume claim, spool mode); lib/k8s_check.py checks
# each render: the sidecar's restartPolicy, non-root, readOnlyRootFilesystem, the probes on the
# management port, config from a ConfigMap, secrets from a Secret as files, requests and limits.
# Then the relay itself loads each rendered configuration (with the Secret's files).
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
it_init kubernetes

command -v kubectl >/dev/null 2>&1 || skip "no kubectl (Debian 12: apt-get install kubernetes-client)"
log "$(kubectl version --client 2>&1 | head -n 1)"
k8s=$IT_ROOT/../conf/kubernetes
for variant in base:deployment spool:statefulset; do
  dir=${variant%%:*} kind=${variant##*:}
  mkdir -p "$T/$dir"
  kubectl kustomize "$k8s/$dir" >"$T/$dir.yaml" 2>"$T/$dir.err" \
    || fail "kubectl kustomize conf/kubernetes/$dir: $(grep -v '^# Warning' "$T/$dir.err" | head -n 3)"
  log "conf/kubernetes/$dir renders $(grep -c '^kind:' "$T/$dir.yaml") objects"
  $PY "$IT_LIB/k8s_check.py" "$T/$dir.yaml" "$kind" "$T/$dir" >"$T/$dir.check" || {
    cat "$T/$dir.check"; fail "conf/kubernetes/$dir: $(grep '^FAIL' "$T/$dir.check" | head -n 3 | tr '\n' ' ')"; }
  log "conf/kubernetes/$dir: $(grep -c '^ok' "$T/$dir.check") properties hold"
  # the rendered configuration loads, with the Secret's file included
  out=$(RETURNPATH_QUEUE_DIR="$T/$dir/spool" "$JAVA" -jar "$RELAY_JAR" rewrite-test --config "$T/$dir/returnpath.conf" \
          --mail-from apache@web01.internal --from noreply@example.com --json 2>&1) \
    || fail "the relay refuses conf/kubernetes/$dir's configuration: $out"
  expect "conf/kubernetes/$dir's configuration rewrites to bounce@example.com" \
    grep -q '"return-path": "bounce@example.com"' <<<"$out"
  # a broken Secret file is named as such: proof that the relay read it
  printf 'username = "u"\npasword = "typo"\n' > "$T/$dir/secrets/smarthost.conf"
  out=$("$JAVA" -jar "$RELAY_JAR" rewrite-test --config "$T/$dir/returnpath.conf" \
          --mail-from apache@web01.internal --from noreply@example.com 2>&1) && fail "a misspelt key in the Secret was accepted"
  expect "the Secret's misspelt key is reported with its file ($out)" grep -q "smarthost.conf:2: returnpath.delivery.smarthost.pasword" <<<"$out"
done
pass
