#!/usr/bin/python3
"""Checks and small clients for the integration tests (Python standard library only).

  check.py field MSG.json KEY            prints an envelope field (lists joined by spaces)
  check.py top-received MSG.eml N OUT    writes MSG.eml without its first N header fields,
                                         which must all be Received:; prints those N
                                         fields, unfolded, one a line
  check.py canon IN OUT                  writes IN with every line ending made CRLF
                                         (what an MTA puts on the wire for a local message)
  check.py same EXPECTED ACTUAL          exit 0 when the files are byte-identical; else says
                                         where they differ
  check.py header MSG.eml NAME           prints each value of header NAME (unfolded), one a line
  check.py smtp PORT SCRIPT              speaks SMTP from SCRIPT (a file of raw bytes sent as is,
                                         in chunks split on the marker line "@@WAIT@@\\r\\n", each
                                         chunk followed by reading the server's replies) and
                                         prints the replies
  check.py utf8 PORT FROM TO MSGFILE     sends MSGFILE with smtplib using SMTPUTF8 and
                                         BODY=8BITMIME; prints the reply or the error
  check.py send PORT FROM TO MSGFILE [N] sends MSGFILE N times (one session each) with smtplib;
                                         prints the final reply of each ("250 ..." or "ERR ...")
  check.py blast PORT N CONC OUT [SIZE [PREFIX]]
                                         N distinct messages over CONC sessions; appends
                                         "MESSAGE-ID<TAB>CODE<TAB>TEXT" per message to OUT
  check.py crash-report OUT SINKDIR      every Message-ID that got a 250 in OUT is at the sink?
                                         counts duplicates; exit 1 when one is lost
"""
import json
import smtplib
import socket
import sys
import time


def fields(data):
    """Splits a message into (list of raw header fields, body-with-separator)."""
    out, i = [], 0
    while i < len(data):
        if data.startswith(b"\r\n", i) or data.startswith(b"\n", i):
            break
        j = i
        while True:
            nl = data.find(b"\n", j)
            if nl < 0:
                nl = len(data) - 1
            j = nl + 1
            if j >= len(data) or data[j:j + 1] not in (b" ", b"\t"):
                break
        out.append(data[i:j])
        i = j
    return out, data[i:]


def name_of(field):
    return field.split(b":", 1)[0].strip().lower()


def cmd_field(path, key):
    meta = json.load(open(path, encoding="utf-8"))
    v = meta.get(key)
    if isinstance(v, list):
        v = " ".join(str(x) for x in v)
    print("" if v is None else v)


def cmd_top_received(path, n, out):
    data = open(path, "rb").read()
    hs, body = fields(data)
    n = int(n)
    top = hs[:n]
    if len(top) < n or any(name_of(f) != b"received" for f in top):
        print("the first %d header fields are not all Received: %r" % (n, [name_of(f) for f in hs[:n + 1]]))
        sys.exit(1)
    for f in top:  # one line per field, unfolded
        print(b" ".join(f.replace(b"\r\n", b"\n").split(b"\n")).strip().decode("utf-8", "replace"))
    open(out, "wb").write(b"".join(hs[n:]) + body)


def cmd_canon(src, dst):
    data = open(src, "rb").read()
    data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    open(dst, "wb").write(data)


def cmd_same(expected, actual):
    a, b = open(expected, "rb").read(), open(actual, "rb").read()
    if a == b:
        return
    i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
    print("differ at byte %d (expected %d bytes, got %d)" % (i, len(a), len(b)))
    print("  expected: %r" % a[max(0, i - 60):i + 60])
    print("  got:      %r" % b[max(0, i - 60):i + 60])
    sys.exit(1)


def cmd_header(path, name):
    hs, _ = fields(open(path, "rb").read())
    for f in hs:
        if name_of(f) == name.lower().encode():
            v = f.split(b":", 1)[1]
            v = b" ".join(v.replace(b"\r\n", b"\n").split(b"\n")).strip()
            print(v.decode("utf-8", "replace"))


def read_replies(s, timeout):
    """Reads complete SMTP replies until none arrives within timeout."""
    s.settimeout(timeout)
    buf = b""
    while True:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            buf += b"<closed>\r\n"
            break
        buf += chunk
        lines = buf.split(b"\r\n")
        # a reply is complete when its last line has a space after the code
        if buf.endswith(b"\r\n") and len(lines) >= 2 and len(lines[-2]) >= 4 and lines[-2][3:4] == b" ":
            s.settimeout(0.3)  # more replies may follow (pipelining); take what comes quickly
    return buf


def cmd_smtp(port, script):
    data = open(script, "rb").read()
    chunks = data.split(b"@@WAIT@@\r\n")
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=30)
    out = read_replies(s, 30)
    for c in chunks:
        if c:
            s.sendall(c)
        out += read_replies(s, 30)
        if out.endswith(b"<closed>\r\n"):
            break
    s.close()
    sys.stdout.write(out.decode("utf-8", "replace"))


def cmd_utf8(port, sender, rcpt, msgfile):
    msg = open(msgfile, "rb").read()
    try:
        with smtplib.SMTP("127.0.0.1", int(port), local_hostname="web01.internal", timeout=60) as c:
            c.ehlo()
            if not c.has_extn("smtputf8"):
                print("ERR server does not advertise SMTPUTF8: %r" % c.esmtp_features)
                sys.exit(1)
            c.mail(sender, ["SMTPUTF8", "BODY=8BITMIME"])
            code, resp = c.rcpt(rcpt)
            if code != 250:
                print("ERR RCPT %d %s" % (code, resp.decode("utf-8", "replace")))
                sys.exit(1)
            code, resp = c.data(msg)
            print("%d %s" % (code, resp.decode("utf-8", "replace")))
            sys.exit(0 if code == 250 else 1)
    except smtplib.SMTPException as e:
        print("ERR %s" % e)
        sys.exit(1)


def send_one(c, sender, rcpt, msg):
    """One transaction on an open session; returns the final reply as "CODE TEXT"."""
    code, resp = c.mail(sender)
    if code != 250:
        c.rset()
        return "%d %s" % (code, resp.decode("utf-8", "replace"))
    code, resp = c.rcpt(rcpt)
    if code not in (250, 251):
        c.rset()
        return "%d %s" % (code, resp.decode("utf-8", "replace"))
    code, resp = c.data(msg)
    return "%d %s" % (code, resp.decode("utf-8", "replace"))


def cmd_send(port, sender, rcpt, msgfile, n="1"):
    msg = open(msgfile, "rb").read()
    for _ in range(int(n)):
        try:
            with smtplib.SMTP("127.0.0.1", int(port), local_hostname="web01.internal", timeout=60) as c:
                print(send_one(c, sender, rcpt, msg))
        except smtplib.SMTPResponseException as e:
            print("ERR %d %s" % (e.smtp_code, e.smtp_error.decode("utf-8", "replace")))
        except (smtplib.SMTPException, OSError) as e:
            print("ERR %s" % e)


def cmd_blast(port, n, conc, outfile, size="2048", prefix="crash"):
    """Sends N distinct messages over CONC concurrent sessions (a session is reopened after an
    error). Appends one line per message to OUTFILE as its final reply arrives:
    MESSAGE-ID <TAB> CODE <TAB> TEXT  (CODE ERR when the session broke before a reply)."""
    import queue
    import threading
    n, conc, size = int(n), int(conc), int(size)
    todo = queue.Queue()
    for i in range(n):
        todo.put(i)
    out = open(outfile, "a", buffering=1)
    lock = threading.Lock()
    filler = ("x" * 70 + "\r\n") * max(1, size // 72)

    def message(i):
        mid = "<%s-%05d@web01.internal>" % (prefix, i)
        return mid, ("From: <noreply@example.com>\r\nTo: <customer@gmail.test>\r\n"
                     "Subject: %s %d\r\nMessage-ID: %s\r\n\r\n%s" % (prefix, i, mid, filler)).encode()

    def record(mid, code, text):
        with lock:
            out.write("%s\t%s\t%s\n" % (mid, code, text.replace("\n", " ")))

    def worker():
        c = None
        while True:
            try:
                i = todo.get_nowait()
            except queue.Empty:
                break
            mid, msg = message(i)
            try:
                if c is None:
                    c = smtplib.SMTP("127.0.0.1", int(port), local_hostname="web01.internal", timeout=30)
                reply = send_one(c, "apache@web01.internal", "customer@gmail.test", msg)
                record(mid, reply[:3], reply[4:])
            except (smtplib.SMTPException, OSError) as e:
                record(mid, "ERR", str(e))
                try:
                    if c is not None:
                        c.close()
                except OSError:
                    pass
                c = None
                time.sleep(0.05)
        if c is not None:
            try:
                c.quit()
            except (smtplib.SMTPException, OSError):
                pass

    threads = [threading.Thread(target=worker) for _ in range(conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def cmd_crash_report(accepted_file, sink_dir):
    """Compares the Message-IDs that got a 250 with those at the sink. Exit 1 if any is lost."""
    import glob
    import re
    accepted = set()
    for line in open(accepted_file, encoding="utf-8"):
        parts = line.rstrip("\n").split("\t")
        if len(parts) >= 2 and parts[1] == "250":
            accepted.add(parts[0])
    seen = {}
    for f in glob.glob(sink_dir + "/*.eml"):
        m = re.search(rb"^Message-ID: *(<[^>]*>)", open(f, "rb").read(), re.M | re.I)
        if m:
            k = m.group(1).decode()
            seen[k] = seen.get(k, 0) + 1
    lost = sorted(accepted - set(seen))
    dups = sum(v - 1 for v in seen.values() if v > 1)
    unacked = len(set(seen) - accepted)
    print("accepted=%d delivered=%d lost=%d duplicates=%d delivered-without-250=%d"
          % (len(accepted), len(set(seen) & accepted), len(lost), dups, unacked))
    if lost:
        print("lost: " + " ".join(lost[:20]) + (" ..." if len(lost) > 20 else ""))
        sys.exit(1)


if __name__ == "__main__":
    cmds = {"field": cmd_field, "top-received": cmd_top_received, "canon": cmd_canon,
            "same": cmd_same, "header": cmd_header, "smtp": cmd_smtp, "utf8": cmd_utf8,
            "send": cmd_send, "blast": cmd_blast, "crash-report": cmd_crash_report}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        print(__doc__)
        sys.exit(2)
    cmds[sys.argv[1]](*sys.argv[2:])
