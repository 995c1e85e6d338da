#!/usr/bin/python3
"""A Microsoft-365-like pair for the XOAUTH2 scenario (26): an OAuth token endpoint and a smarthost.

- HTTPS on 127.0.0.1:TOKEN_PORT, POST /TENANT/oauth2/v2.0/token: the client-credentials grant
  (client_id, client_secret, scope https://outlook.office365.com/.default); a wrong secret is
  HTTP 401 {"error":"invalid_client","error_description":"AADSTS7000215: ..."}, as Entra says.
- SMTP on 127.0.0.1:SMTP_PORT (aiosmtpd): STARTTLS required, then AUTH XOAUTH2 only, required
  before MAIL; the initial response must be user=USER^Aauth=Bearer TOKEN^A^A with a token the
  endpoint issued. A bad token gets Gmail's answer: 334 + base64 JSON error, then 535.
  Accepted messages are written as sink.py writes them (DIR/NNNNNN.eml and .json).

With --google-public-key PEM (and --client-email) the endpoint is Google's instead: POST /token
takes the JWT bearer grant (RFC 7523), verifies the assertion's RS256 signature with that public
key (openssl dgst) and its claims (iss the service account, sub USER, scope
https://mail.google.com/, aud the endpoint's URL, an hour's lifetime); invalid_grant otherwise.

Both use CERT/KEY (made by the scenario from its own CA). The counts go to DIR/../oauth.json:
token requests, tokens issued, AUTH attempts and successes; nothing secret is printed.

Usage: xoauth2_upstream.py --smtp-port P --token-port P --dir DIR --cert F --key F --user MAILBOX
                           (--tenant T --client-id ID --secret-file F
                            | --google-public-key PEM --client-email EMAIL)
"""
import argparse
import base64
import json
import os
import secrets
import subprocess
import tempfile
import ssl
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult

from sink import Recorder, wait_for_signal

SCOPE = "https://outlook.office365.com/.default"


class State:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.tokens = set()
        self.counts = {"token_requests": 0, "tokens_issued": 0, "auth_attempts": 0, "auth_ok": 0,
                       "empty_replies_to_334": 0}

    def bump(self, key):
        with self.lock:
            self.counts[key] += 1
            with open(self.path + ".tmp", "w") as f:
                json.dump(self.counts, f)
            os.replace(self.path + ".tmp", self.path)


def b64url(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify_assertion(jwt, public_key, client_email, user, audience):
    """The claims of an RS256 JWT that openssl verifies with public_key and that name the account and user; else None."""
    parts = jwt.split(".")
    if len(parts) != 3 or json.loads(b64url(parts[0])).get("alg") != "RS256":
        return None
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "in"), "wb") as f:
            f.write((parts[0] + "." + parts[1]).encode())
        with open(os.path.join(d, "sig"), "wb") as f:
            f.write(b64url(parts[2]))
        ok = subprocess.run(["openssl", "dgst", "-sha256", "-verify", public_key, "-signature",
                             os.path.join(d, "sig"), os.path.join(d, "in")], capture_output=True).returncode == 0
    if not ok:
        return None
    c = json.loads(b64url(parts[1]))
    if (c.get("iss"), c.get("sub"), c.get("scope"), c.get("aud")) != (client_email, user, "https://mail.google.com/", audience) \
            or c.get("exp", 0) - c.get("iat", 0) != 3600:
        return None
    return c


def token_handler(state, tenant, client_id, secret, google=None):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass  # the request line has no secret, but say nothing anyway

        def answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            state.bump("token_requests")
            length = int(self.headers.get("Content-Length", "0"))
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            if google:
                public_key, client_email, user, audience = google
                if self.path != "/token":
                    return self.answer(404, {"error": "invalid_request"})
                if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
                    return self.answer(400, {"error": "unsupported_grant_type"})
                if not verify_assertion(form.get("assertion", ""), public_key, client_email, user, audience):
                    return self.answer(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
                return self.issue()
            if self.path != "/%s/oauth2/v2.0/token" % tenant:
                return self.answer(404, {"error": "invalid_request"})
            if form.get("grant_type") != "client_credentials":
                return self.answer(400, {"error": "unsupported_grant_type"})
            if form.get("client_id") != client_id or form.get("client_secret") != secret:
                return self.answer(401, {"error": "invalid_client",
                                         "error_description": "AADSTS7000215: Invalid client secret provided."})
            if form.get("scope") != SCOPE:
                return self.answer(400, {"error": "invalid_scope"})
            self.issue()

        def issue(self):
            token = "it-" + secrets.token_urlsafe(24)
            with state.lock:
                state.tokens.add(token)
            state.bump("tokens_issued")
            self.answer(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                              "access_token": token})
    return Handler


class XOAuth2Recorder(Recorder):
    def __init__(self, directory, state, user):
        super().__init__(directory, {}, None, None)
        self.state = state
        self.user = user

    async def auth_XOAUTH2(self, server, args):
        self.state.bump("auth_attempts")
        try:
            decoded = base64.b64decode(args[1], validate=True).decode() if len(args) > 1 else ""
        except Exception:
            decoded = ""
        parts = decoded.split("\x01")
        token = parts[1][len("auth=Bearer "):] if len(parts) >= 4 and parts[1].startswith("auth=Bearer ") else None
        with self.state.lock:
            good = token in self.state.tokens
        if parts[0] == "user=" + self.user and good and parts[2:] == ["", ""]:
            self.state.bump("auth_ok")
            return AuthResult(success=True, auth_data=self.user)
        challenge = json.dumps({"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"})
        reply = await server.challenge_auth(challenge)
        if reply == b"":
            self.state.bump("empty_replies_to_334")
        return AuthResult(success=False, handled=False, message="535 5.7.8 Username and Password not accepted")


def main():
    ap = argparse.ArgumentParser()
    for a in ("--smtp-port", "--token-port"):
        ap.add_argument(a, type=int, required=True)
    for a in ("--dir", "--cert", "--key", "--user"):
        ap.add_argument(a, required=True)
    for a in ("--tenant", "--client-id", "--secret-file", "--google-public-key", "--client-email"):
        ap.add_argument(a)
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    secret = None
    if a.secret_file:
        with open(a.secret_file) as f:
            secret = f.read().strip()
    google = None
    if a.google_public_key:
        google = (a.google_public_key, a.client_email, a.user, "https://localhost:%d/token" % a.token_port)
    state = State(os.path.join(os.path.dirname(a.dir.rstrip("/")), "oauth.json"))

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)
    httpd = ThreadingHTTPServer(("127.0.0.1", a.token_port), token_handler(state, a.tenant, a.client_id, secret, google))
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()

    handler = XOAuth2Recorder(a.dir, state, a.user)

    class Ctl(Controller):
        def factory(self):
            return SMTP(self.handler, decode_data=False, data_size_limit=None, ident="it-xoauth2 aiosmtpd",
                        tls_context=ctx, require_starttls=True, auth_required=True, auth_require_tls=True,
                        auth_exclude_mechanism=["LOGIN", "PLAIN"])

    ctl = Ctl(handler, hostname="127.0.0.1", port=a.smtp_port, ready_timeout=10)
    ctl.start()
    print("xoauth2: smtp 127.0.0.1:%d, token endpoint on 127.0.0.1:%d (%s)"
          % (a.smtp_port, a.token_port, "google" if google else "microsoft"), flush=True)
    wait_for_signal()
    ctl.stop()
    httpd.shutdown()


if __name__ == "__main__":
    main()
