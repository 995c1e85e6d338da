#!/usr/bin/python3
"""probe.py: the measurements smtp-source and smtp-sink cannot make, for bench/run.sh.

NAME
    probe.py latency | sessions | wait-count | idle | start | rss

SUMMARY
    The headline throughput numbers come from Postfix's smtp-source and smtp-sink; this helper
    only measures what those tools do not report. It is standard-library Python, no packages.

    latency HOST PORT MSGFILE FROM TO
        One SMTP session (HELO once, then MAIL, RCPT, DATA, message, "." in a loop, no
        pipelining, like smtp-source) that times every transaction from the first byte of MAIL
        to the last byte of the reply to "." with a monotonic clock. It runs until SIGTERM or
        SIGINT, then prints "n=N p50=MS p90=MS p99=MS max=MS" (milliseconds). It is meant to run
        beside smtp-source's load, so that it sees the queueing the load causes. MSGFILE is sent
        as smtp-source -F sends it: LF line ends become CRLF, leading dots are doubled.

    sessions HOST PORT CONC N MSGFILE FROM TO MODE [CAFILE USER]
        N messages, each in an SMTP session of its own (greeting, EHLO, MAIL, RCPT, DATA,
        QUIT), over CONC concurrent sessions: what msmtp does for every PHP mail(). MODE plain;
        starttls (STARTTLS and EHLO again, the certificate verified against CAFILE for the name
        localhost); or auth (the same, then AUTH PLAIN as USER, the password from
        $BENCH_SMTP_PASSWORD, never from the command line). Prints "sent=N errors=E" and exits
        1 on any error (the first ones go to stderr). Standard library only (ssl, threading).

    wait-count FILE N TIMEOUT
        Waits until smtp-sink -c's counter output in FILE says mesg >= N, then prints the wall
        clock (ns since the epoch, time.time_ns) at which it saw it, and exits 0; exits 1 with
        the last count on timeout. Polls every 5 ms, reading only the file's tail.

    idle HOST PORT N READYFILE
        Opens N connections, reads each greeting and sends EHLO, then writes READYFILE and
        holds the connections until SIGTERM. Needs `ulimit -n` above N.

    start HOST PORT TIMEOUT LOGFILE -- COMMAND...
        Starts COMMAND, its stdout and stderr appended to LOGFILE, and prints the milliseconds from the fork to the first 220 greeting read
        on HOST:PORT, then the child's pid ("ms pid"); the child is left running. Exits 1 on
        timeout or when the child fails first (a child that exits 0, like `postfix start`,
        which daemonizes, is waited past).

    rss PID...
        Prints the summed VmRSS and VmHWM (peak) of the given processes, in KiB: "rss hwm".

    rss-peak PID...
        Samples once a second the summed memory of the given processes and of all their
        descendants (a Postfix instance is a tree of processes) until SIGTERM, then prints the
        highest sum seen, in KiB: "pss rss". PSS (proportional set size, smaps_rollup) shares
        each page among the processes that map it, so that a hundred Postfix processes mapping
        the same libraries are not counted a hundred times; for one JVM PSS and RSS are equal
        but for its few shared libraries.

    cpu PID...
        Prints the CPU time (user + system, in microseconds) used so far by the given
        processes, their live descendants, and the children they have reaped (Postfix's master
        reaps its smtpd, cleanup and smtp processes): sampled before and after a measurement,
        the difference is what that process tree spent on it.

DESCRIPTION
    Nothing here judges: run.sh writes the numbers down, and never fails on time.
"""
import base64
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time


def smtp_payload(path):
    """The bytes smtp-source -F sends for FILE: CRLF line ends, dot-stuffing, then CRLF.CRLF."""
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    out = bytearray()
    for line in lines:
        if line.endswith(b"\r"):
            line = line[:-1]
        if line.startswith(b"."):
            out += b"."
        out += line + b"\r\n"
    out += b".\r\n"
    return bytes(out)


class Replies:
    """Reads SMTP replies (multi-line aware) from a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def reply(self):
        while True:
            while b"\r\n" in self.buf:
                line, self.buf = self.buf.split(b"\r\n", 1)
                if len(line) < 4 or line[3:4] != b"-":
                    return int(line[:3])
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed by the server")
            self.buf += chunk


def expect(r, codes, what):
    code = r.reply()
    if code not in codes:
        raise RuntimeError("%s: unexpected reply %d" % (what, code))


def latency(host, port, msgfile, sender, rcpt):
    payload = smtp_payload(msgfile)
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    signal.signal(signal.SIGINT, lambda *a: stop.append(1))
    s = socket.create_connection((host, int(port)))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    r = Replies(s)
    expect(r, (220,), "greeting")
    s.sendall(b"HELO probe.example\r\n")
    expect(r, (250,), "HELO")
    mail = ("MAIL FROM:<%s>\r\n" % sender).encode()
    rcpt_cmd = ("RCPT TO:<%s>\r\n" % rcpt).encode()
    times = []
    errors = 0
    parent = os.getppid()
    while not stop and not orphaned(parent):
        try:
            t0 = time.perf_counter_ns()
            s.sendall(mail)
            expect(r, (250,), "MAIL")
            s.sendall(rcpt_cmd)
            expect(r, (250,), "RCPT")
            s.sendall(b"DATA\r\n")
            expect(r, (354,), "DATA")
            s.sendall(payload)
            code = r.reply()
            t1 = time.perf_counter_ns()
        except InterruptedError:
            break
        if code == 250:
            times.append((t1 - t0) / 1e6)
        else:
            errors += 1
            s.sendall(b"RSET\r\n")
            r.reply()
    try:
        s.sendall(b"QUIT\r\n")
        s.close()
    except OSError:
        pass
    times.sort()
    if not times:
        print("n=0 p50=nan p90=nan p99=nan max=nan errors=%d" % errors)
        return

    def pct(p):
        # nearest-rank percentile
        k = max(0, min(len(times) - 1, int(-(-p * len(times) // 100)) - 1))
        return times[k]

    print("n=%d p50=%.3f p90=%.3f p99=%.3f max=%.3f errors=%d"
          % (len(times), pct(50), pct(90), pct(99), times[-1], errors))


def sessions(host, port, conc, n, msgfile, sender, rcpt, mode, cafile=None, user=None):
    payload = smtp_payload(msgfile)
    if mode not in ("plain", "starttls", "auth"):
        raise SystemExit("sessions: MODE is plain, starttls or auth")
    ctx = ssl.create_default_context(cafile=cafile) if mode != "plain" else None
    auth = None
    if mode == "auth":
        secret = b"\0" + user.encode() + b"\0" + os.environ.get("BENCH_SMTP_PASSWORD", "").encode()
        auth = b"AUTH PLAIN " + base64.b64encode(secret) + b"\r\n"
    envelope = ("MAIL FROM:<%s>\r\n" % sender).encode(), ("RCPT TO:<%s>\r\n" % rcpt).encode()
    left = [int(n)]
    lock = threading.Lock()
    errors = []

    def one():
        s = socket.create_connection((host, int(port)), timeout=60)
        try:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            r = Replies(s)
            expect(r, (220,), "greeting")
            s.sendall(b"EHLO probe.example\r\n")
            expect(r, (250,), "EHLO")
            if ctx is not None:
                s.sendall(b"STARTTLS\r\n")
                expect(r, (220,), "STARTTLS")
                s = ctx.wrap_socket(s, server_hostname="localhost")
                r = Replies(s)
                s.sendall(b"EHLO probe.example\r\n")
                expect(r, (250,), "EHLO after STARTTLS")
                if auth is not None:
                    s.sendall(auth)
                    expect(r, (235,), "AUTH")
            s.sendall(envelope[0])
            expect(r, (250,), "MAIL")
            s.sendall(envelope[1])
            expect(r, (250,), "RCPT")
            s.sendall(b"DATA\r\n")
            expect(r, (354,), "DATA")
            s.sendall(payload)
            expect(r, (250,), "end of DATA")
            s.sendall(b"QUIT\r\n")
            expect(r, (221,), "QUIT")
        finally:
            s.close()

    def worker():
        while True:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            try:
                one()
            except (OSError, RuntimeError, ConnectionError) as e:
                with lock:
                    errors.append(str(e))

    threads = [threading.Thread(target=worker) for _ in range(int(conc))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in errors[:3]:
        print("sessions: %s" % e, file=sys.stderr)
    print("sent=%d errors=%d" % (int(n) - len(errors), len(errors)))
    return 1 if errors else 0


COUNT = re.compile(rb"mesg=(\d+)")


def sink_count(path):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 256))
            tail = f.read()
    except FileNotFoundError:
        return 0
    found = COUNT.findall(tail)
    return int(found[-1]) if found else 0


def orphaned(parent):
    """True once the process that started this one is gone (run.sh was stopped)."""
    return os.getppid() != parent


def wait_count(path, n, timeout):
    n = int(n)
    parent = os.getppid()
    deadline = time.monotonic() + float(timeout)
    while True:
        c = sink_count(path)
        if c >= n:
            print(time.time_ns())
            return 0
        if time.monotonic() > deadline or orphaned(parent):
            print("timeout: sink has %d of %d" % (c, n), file=sys.stderr)
            return 1
        time.sleep(0.005)


def idle(host, port, n, readyfile):
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    socks = []
    for i in range(int(n)):
        s = socket.create_connection((host, int(port)))
        socks.append(s)
    for s in socks:
        r = Replies(s)
        expect(r, (220,), "greeting")
        s.sendall(b"EHLO idle.example\r\n")
        expect(r, (250,), "EHLO")
    with open(readyfile, "w") as f:
        f.write("%d\n" % len(socks))
    while not stop:
        time.sleep(0.2)
    for s in socks:
        s.close()
    return 0


def start(host, port, timeout, logfile, cmd):
    out = open(logfile, "ab")
    t0 = time.monotonic_ns()
    child = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + float(timeout)
    while time.monotonic() < deadline:
        if child.poll() is not None and child.returncode != 0:
            print("the command exited with %d before listening" % child.returncode, file=sys.stderr)
            return 1
        try:
            s = socket.create_connection((host, int(port)), timeout=1)
        except OSError:
            time.sleep(0.001)
            continue
        try:
            s.settimeout(5)
            code = Replies(s).reply()
        except (OSError, ConnectionError):
            s.close()
            time.sleep(0.001)
            continue
        t1 = time.monotonic_ns()
        s.sendall(b"QUIT\r\n")
        s.close()
        if code == 220:
            print("%.0f %d" % ((t1 - t0) / 1e6, child.pid))
            return 0
    print("no greeting on %s:%s within %ss" % (host, port, timeout), file=sys.stderr)
    return 1


def proc_kb(pids, name, fields):
    """The sums over pids of /proc/PID/NAME's "Field: N kB" lines, in the order of fields."""
    sums = dict.fromkeys(fields, 0)
    for pid in pids:
        try:
            with open("/proc/%s/%s" % (pid, name)) as f:
                for line in f:
                    key = line.split(":", 1)[0]
                    if key in sums:
                        sums[key] += int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass
    return [sums[k] for k in fields]


def rss(pids):
    total, hwm = proc_kb(pids, "status", ["VmRSS", "VmHWM"])
    print("%d %d" % (total, hwm))
    return 0


def descendants(roots):
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = f.read().rsplit(")", 1)[1].split()[1]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        children.setdefault(ppid, []).append(d)
    out, todo = set(), [str(r) for r in roots]
    while todo:
        p = todo.pop()
        if p in out:
            continue
        out.add(p)
        todo.extend(children.get(p, []))
    return out


def mem_sum(pids):
    pss, rss = proc_kb(pids, "smaps_rollup", ["Pss", "Rss"])
    return pss, rss


def rss_peak(roots):
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    signal.signal(signal.SIGINT, lambda *a: stop.append(1))
    parent = os.getppid()
    peak_pss = peak_rss = 0
    while not stop and not orphaned(parent):
        pss, rss = mem_sum(descendants(roots))
        peak_pss, peak_rss = max(peak_pss, pss), max(peak_rss, rss)
        # once a second: reading smaps_rollup walks the page tables, and a sampler must not
        # take the CPU it is measuring (every 200 ms it cost a quarter of a CPU for three columns)
        time.sleep(1.0)
    print("%d %d" % (peak_pss, peak_rss))
    return 0


def cpu(roots):
    hz = os.sysconf("SC_CLK_TCK")
    ticks = 0
    live = descendants(roots)
    for pid in live:
        try:
            with open("/proc/%s/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        # after the ")": state ppid ... utime(12) stime(13) cutime(14) cstime(15), 0-based
        ticks += int(fields[11]) + int(fields[12])
        if pid in [str(r) for r in roots]:
            ticks += int(fields[13]) + int(fields[14])
    print(ticks * 1000000 // hz)
    return 0


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[0], argv[1:]
    if cmd == "latency" and len(args) == 5:
        latency(*args)
        return 0
    if cmd == "sessions" and len(args) in (8, 10):
        return sessions(*args)
    if cmd == "wait-count" and len(args) == 3:
        return wait_count(*args)
    if cmd == "idle" and len(args) == 4:
        return idle(*args)
    if cmd == "start" and len(args) >= 6 and args[4] == "--":
        return start(args[0], args[1], args[2], args[3], args[5:])
    if cmd == "rss" and args:
        return rss(args)
    if cmd == "rss-peak" and args:
        return rss_peak(args)
    if cmd == "cpu" and args:
        return cpu(args)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
