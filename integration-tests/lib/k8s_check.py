#!/usr/bin/python3
"""Checks a rendered kustomization (kubectl kustomize DIR) for what the operator's path promises.

  k8s_check.py RENDERED.yaml deployment|statefulset OUT_DIR

Prints one line per property checked ("ok: ...") and exits 1 with "FAIL: ..." lines when any
does not hold. Writes the ConfigMap's returnpath.conf and the Secret's files under OUT_DIR, so
that the caller can load the configuration with the relay itself.
"""
import base64
import os
import sys

import yaml

failures = []


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok:
        failures.append(what)


def main():
    rendered, kind, out = sys.argv[1], sys.argv[2], sys.argv[3]
    docs = [d for d in yaml.safe_load_all(open(rendered)) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    want = {"deployment": "Deployment", "statefulset": "StatefulSet"}[kind]
    other = "StatefulSet" if want == "Deployment" else "Deployment"
    check(len(by_kind.get(want, [])) == 1, f"exactly one {want}")
    check(not by_kind.get(other), f"no {other}")
    if failures:
        return
    wl = by_kind[want][0]
    pod = wl["spec"]["template"]["spec"]
    check(wl["spec"]["selector"]["matchLabels"].items() <= wl["spec"]["template"]["metadata"]["labels"].items(),
          "the selector matches the pod's labels")

    # the native sidecar: an init container that keeps running
    inits = {c["name"]: c for c in pod.get("initContainers", [])}
    relay = inits.get("returnpath")
    check(relay is not None, "returnpath is an init container")
    if relay is None:
        return
    check(relay.get("restartPolicy") == "Always", "the init container has restartPolicy: Always (native sidecar)")
    check(relay["image"].startswith("returnpath:") and relay["image"] != "returnpath:latest",
          f"the image is pinned to a release ({relay['image']})")
    check(len(pod.get("containers", [])) >= 1, "an app container runs beside it")

    # non-root, read-only root file system, no privilege escalation
    psc = pod.get("securityContext", {})
    csc = relay.get("securityContext", {})
    uid = csc.get("runAsUser", psc.get("runAsUser"))
    check(psc.get("runAsNonRoot") is True or csc.get("runAsNonRoot") is True, "runAsNonRoot")
    check(isinstance(uid, int) and uid != 0, f"a non-zero uid ({uid})")
    check(csc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem")
    check(csc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation: false")
    check("ALL" in csc.get("capabilities", {}).get("drop", []), "every capability dropped")

    # probes on the management port
    ports = {p["name"]: p["containerPort"] for p in relay.get("ports", []) if "name" in p}

    def probe(name, path):
        p = relay.get(name, {}).get("httpGet")
        if not p:
            check(False, f"{name} is an httpGet")
            return
        port = ports.get(p["port"], p["port"])
        check(p["path"] == path and port == 8025, f"{name} asks {path} on 8025 (got {p['path']} on {port})")

    probe("startupProbe", "/healthz")
    probe("livenessProbe", "/healthz")
    probe("readinessProbe", "/readyz")
    check(ports.get("smtp") == 2525, "the SMTP port is 2525")

    # resources
    res = relay.get("resources", {})
    for section in ("requests", "limits"):
        for r in ("cpu", "memory"):
            check(r in res.get(section, {}), f"resources.{section}.{r} is set")

    def mib(q):
        units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
        for u, f in units.items():
            if q.endswith(u):
                return float(q[:-2]) * f
        return float(q) / 1048576

    req, lim = mib(res["requests"]["memory"]), mib(res["limits"]["memory"])
    check(req <= lim, f"the memory request ({req:.0f} MiB) is within the limit ({lim:.0f} MiB)")
    # the benchmark's loads keep the live heap under 70 MiB; 35% of the limit is the heap
    check(0.35 * lim >= 80, f"the limit leaves a heap of at least 80 MiB ({0.35 * lim:.0f} MiB)")

    # volumes: config from a ConfigMap, secrets from a Secret as files, writable spool and /tmp
    mounts = {m["mountPath"]: m for m in relay.get("volumeMounts", [])}
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    claims = {c["metadata"]["name"]: c for c in wl["spec"].get("volumeClaimTemplates", [])}
    cms = {c["metadata"]["name"]: c for c in by_kind.get("ConfigMap", [])}
    secrets = {s["metadata"]["name"]: s for s in by_kind.get("Secret", [])}

    def volume_of(path):
        m = mounts.get(path)
        return (m, vols.get(m["name"]), claims.get(m["name"])) if m else (None, None, None)

    m, v, _ = volume_of("/etc/returnpath")
    check(v is not None and "configMap" in v and v["configMap"]["name"] in cms and "subPath" not in m,
          "/etc/returnpath is a whole-directory ConfigMap mount (so that updates arrive)")
    args = relay.get("args", [])
    check("--config" in args and args[args.index("--config") + 1] == "/etc/returnpath/returnpath.conf",
          "serve reads /etc/returnpath/returnpath.conf")
    conf = cms[v["configMap"]["name"]]["data"].get("returnpath.conf", "") if v and "configMap" in v else ""
    check(conf.strip().startswith("#") or conf.strip().startswith("returnpath"), "the ConfigMap holds returnpath.conf")

    secret_mounts = [(p, vols.get(mm["name"])) for p, mm in mounts.items()
                     if vols.get(mm["name"], {}).get("secret")]
    check(len(secret_mounts) >= 1, "a Secret is mounted as files")
    for p, sv in secret_mounts:
        name = sv["secret"]["secretName"]
        check(name in secrets, f"the Secret {name} is part of the render")
        check(mounts[p].get("readOnly") is True, f"{p} is mounted read-only")
        check(oct(sv["secret"].get("defaultMode", 0o644)) in ("0o400", "0o440"),
              f"the Secret's files are not world-readable ({oct(sv['secret'].get('defaultMode', 0o644))})")
        s = secrets.get(name, {})
        files = dict(s.get("stringData", {}))
        files.update({k: base64.b64decode(x).decode() for k, x in s.get("data", {}).items()})
        os.makedirs(os.path.join(out, "secrets"), exist_ok=True)
        for k, x in files.items():
            open(os.path.join(out, "secrets", k), "w").write(x)
        conf = conf.replace(p.rstrip("/") + "/", os.path.join(out, "secrets") + "/")
    envs = [e for c in [relay] for e in c.get("env", [])]
    check(not any("valueFrom" in e and "secretKeyRef" in e["valueFrom"] for e in envs),
          "no secret is passed in the environment")
    settings = "\n".join(l.split("#")[0] for l in conf.splitlines())
    for key in ("listen.host", "management.host", "queue.dir", "dir =", "0.0.0.0"):
        check(key not in settings, f"the ConfigMap's file does not set {key} (the image's environment does)")
    check({"name": "RETURNPATH_LISTEN_HOST", "value": "127.0.0.1"} in envs,
          "the sidecar listens on the pod's loopback only")

    m, v, claim = volume_of("/tmp")
    check(m is not None and v is not None and "emptyDir" in v, "/tmp is a writable emptyDir")
    m, v, claim = volume_of("/var/spool/returnpath")
    if want == "Deployment":
        check(v is not None and "emptyDir" in v, "the passthrough scratch dir is an emptyDir")
        check("mode = spool" not in settings, "the Deployment runs in passthrough mode")
    else:
        check(claim is not None and v is None, "the spool is a volumeClaimTemplate, not a pod volume")
        check(claim is not None and "ReadWriteOnce" in claim["spec"]["accessModes"]
              and "storage" in claim["spec"]["resources"]["requests"], "the claim is ReadWriteOnce with a size")
        check("mode = spool" in settings, "the StatefulSet runs in spool mode")
        svc = [s for s in by_kind.get("Service", []) if s["metadata"]["name"] == wl["spec"].get("serviceName")]
        check(len(svc) == 1, "the StatefulSet's serviceName is a Service of the render")
    check(pod.get("terminationGracePeriodSeconds", 30) >= 35,
          "the grace period covers the relay's 30 s shutdown grace")
    open(os.path.join(out, "returnpath.conf"), "w").write(conf)


main()
if failures:
    sys.exit(1)
