#!/usr/bin/python3
"""SMTP sink for the integration tests: aiosmtpd (Debian's python3-aiosmtpd) plus a tiny handler.

Every accepted message is written to DIR as two files, named by a 6-digit sequence number:
  NNNNNN.json  the envelope: mail_from, rcpt_tos, mail_options, rcpt_options, helo, peer, time
  NNNNNN.eml   the message bytes exactly as received (after SMTP dot-unstuffing, CRLF kept)
The .eml is written first and the .json renamed into place last, so a reader that sees the
.json sees a complete message.

Usage: sink.py --port PORT --dir DIR [--host 127.0.0.1]
               [--rcpt-reply ADDR=CODE TEXT]...   answer RCPT TO:<ADDR> with that reply
               [--data-reply CODE TEXT]           answer every DATA with that reply
               [--reply-file FILE]                while FILE exists, its lines are the DATA reply
               [--tls-cert PEM --tls-key PEM]     offer STARTTLS and require it before MAIL
               [--auth USER:PASSWORD-FILE]        require AUTH PLAIN or LOGIN (after TLS) as USER
                                                  with the password in PASSWORD-FILE, as a
                                                  provider's submission port does
It writes DIR/ready once it listens, and runs until SIGTERM/SIGINT. With --tls-cert/--auth the
.json also holds "tls" (the session had started TLS) and "auth_user" (who it authenticated as).
"""
import argparse
import asyncio
import json
import os
import signal
import ssl
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Recorder:
    def __init__(self, directory, rcpt_replies, data_reply, reply_file):
        self.dir = directory
        self.rcpt_replies = rcpt_replies
        self.data_reply = data_reply
        self.reply_file = reply_file
        self.lock = threading.Lock()
        self.seq = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rcpt_replies.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        reply = self.data_reply
        if self.reply_file and os.path.exists(self.reply_file):
            with open(self.reply_file) as f:  # several lines: a multi-line reply
                lines = [l.rstrip("\r\n") for l in f if l.strip()]
            reply = "\r\n".join(lines) or reply
        if reply and not reply.startswith("2"):
            return reply
        with self.lock:
            self.seq += 1
            n = self.seq
        raw = envelope.original_content
        if isinstance(raw, str):  # decode_data=False keeps bytes; be safe anyway
            raw = raw.encode("utf-8", "surrogateescape")
        base = os.path.join(self.dir, "%06d" % n)
        with open(base + ".eml", "wb") as f:
            f.write(raw)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "mail_options": envelope.mail_options,
            "rcpt_options": envelope.rcpt_options,
            "helo": session.host_name,
            "peer": list(session.peer) if session.peer else None,
            "size": len(raw),
            "time": time.time(),
            "tls": session.ssl is not None,
            "auth_user": session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None,
        }
        with open(base + ".json.tmp", "w", encoding="utf-8") as f:
            json.dump(meta, f, ensure_ascii=False)
        os.rename(base + ".json.tmp", base + ".json")
        print("sink: %06d from=<%s> to=%s size=%d" % (n, envelope.mail_from,
              ",".join("<%s>" % r for r in envelope.rcpt_tos), len(raw)), flush=True)
        return reply or "250 2.0.0 Ok: sunk as %06d" % n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--rcpt-reply", action="append", default=[])
    ap.add_argument("--data-reply", default=None)
    ap.add_argument("--reply-file", default=None)
    ap.add_argument("--tls-cert", default=None)
    ap.add_argument("--tls-key", default=None)
    ap.add_argument("--auth", default=None)
    a = ap.parse_args()
    tls = None
    if a.tls_cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(a.tls_cert, a.tls_key)
    auth = {}
    if a.auth:
        user, _, password_file = a.auth.partition(":")
        with open(password_file) as f:
            auth = {"user": user.encode(), "password": f.read().strip().encode()}

    def authenticator(server, session, envelope, mechanism, data):
        ok = (isinstance(data, LoginPassword) and data.login == auth["user"]
              and data.password == auth["password"])
        print("sink: AUTH %s as %s: %s" % (mechanism, data.login.decode(errors="replace")
              if isinstance(data, LoginPassword) else "?", "ok" if ok else "refused"), flush=True)
        return AuthResult(success=ok, handled=False, auth_data=data)
    os.makedirs(a.dir, exist_ok=True)
    rcpt_replies = {}
    for spec in a.rcpt_reply:
        addr, _, reply = spec.partition("=")
        rcpt_replies[addr.strip().lower()] = reply.strip()
    handler = Recorder(a.dir, rcpt_replies, a.data_reply, a.reply_file)

    class Ctl(Controller):
        def factory(self):
            return SMTP(self.handler, enable_SMTPUTF8=True, decode_data=False,
                        data_size_limit=None, ident="it-sink aiosmtpd",
                        tls_context=tls, require_starttls=tls is not None,
                        auth_required=bool(auth), auth_require_tls=True,
                        authenticator=authenticator if auth else None)

    ctl = Ctl(handler, hostname=a.host, port=a.port, ready_timeout=10)
    ctl.start()
    open(os.path.join(a.dir, "ready"), "w").close()
    print("sink: listening on %s:%d, writing to %s" % (a.host, a.port, a.dir), flush=True)
    wait_for_signal()
    ctl.stop()


def wait_for_signal():
    """Returns on SIGTERM or SIGINT (the harness stops its components with SIGTERM)."""
    stop = threading.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: stop.set())
    while not stop.wait(1):
        pass


if __name__ == "__main__":
    main()
