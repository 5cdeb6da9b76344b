"""The HTTPS listener of [web]: MTA-STS policies (RFC 8461 3.3) byte-exact
by Host (else SNI), 404/405 for anything else, every request and every
failed connection in policy_fetches, hostile clients, and the researcher
view v_policy_fetches.  Clients: curl and Python's ssl."""

import os
import re
import shutil
import socket
import ssl
import tempfile
import time
import unittest
import uuid

import harness
from harness import BASE_DOMAIN, Daemon, DaemonTestCase, deadline, make_message

WEB_PATH = "/.well-known/mta-sts.txt"

# The challenges of CHALLENGES.md that publish an MTA-STS policy, with
# what the catalogue says of them: line ends, number of MX hosts, and
# whether the policy's mx list deliberately matches none of them.
STS = {
    "sts-n": ("\n", 1, False),
    "sts-rn": ("\r\n", 1, False),
    "sts-plain": ("\r\n", 1, False),
    "sts-2mx-tls": ("\r\n", 2, False),
    "sts-2mx-plain": ("\r\n", 2, False),
    "sts-ok-tlsa-bad": ("\r\n", 1, False),
    "sts-bad-tlsa-ok-pkix-bad": ("\r\n", 1, True),
    "sts-bad-tlsa-ok": ("\r\n", 1, True),
}
MAX_AGE = 86400             # docs/mailscope.conf.5, [web]
MISMATCH_MX = "mx.mismatch." + BASE_DOMAIN


def mx_names(challenge):
    """The MX host names of a challenge (catalog_mx_name's rule)."""
    n = STS[challenge][1]
    return ["mx.%s.%s" % (challenge, BASE_DOMAIN),
            "mx2.%s.%s" % (challenge, BASE_DOMAIN)][:n]


def policy_host(challenge):
    return "mta-sts.%s.%s" % (challenge, BASE_DOMAIN)


def expected_policy(challenge):
    """RFC 8461 3.2: version first, mode, one mx per MX host (one that
    matches none for the sts-bad-* challenges), max_age."""
    eol, _, mismatch = STS[challenge]
    mx = [MISMATCH_MX] if mismatch else mx_names(challenge)
    lines = ["version: STSv1", "mode: enforce"] + ["mx: " + m for m in mx] + \
        ["max_age: %d" % MAX_AGE]
    return "".join(l + eol for l in lines).encode()


def mx_matches(pattern, host):
    """RFC 8461 4.1: an mx pattern matches a host literally, or as
    "*.domain" the host's leftmost label replaced."""
    pattern, host = pattern.lower(), host.lower()
    if pattern.startswith("*."):
        return "." in host and host.split(".", 1)[1] == pattern[2:]
    return pattern == host


def parse_response(raw):
    """(status, {lowercased name: value}, body) of one HTTP/1.x response."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise AssertionError("no end of header section in %r" % raw[:300])
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"^HTTP/1\.[01] (\d{3}) ", lines[0])
    if not m:
        raise AssertionError("bad status line %r" % lines[0])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(m.group(1)), headers, body


def setUpModule():
    if shutil.which("curl") is None:
        raise AssertionError("curl is not installed (contrib/install-deps)")


class WebClient:
    """curl and raw TLS clients for the [web] listener of self.d."""

    def web(self, family=4):
        return self.d.addr("web", family)

    def curl(self, name, path=WEB_PATH, family=4, method=None, head=False,
             headers=(), data=None, ua=None, insecure=False):
        """One request with curl to https://NAME:PORT/PATH resolved to our
        listener.  Returns (status, headers, body bytes, user agent)."""
        addr, port = self.web(family)
        ua = ua or "policy-test/" + uuid.uuid4().hex
        with tempfile.TemporaryDirectory() as tmp:
            hfile, bfile = os.path.join(tmp, "h"), os.path.join(tmp, "b")
            argv = ["curl", "-sS", "--max-time", "%.0f" % deadline(10),
                    "--cacert", self.d.ca, "-D", hfile, "-o", bfile, "-A", ua,
                    "--resolve", "%s:%d:%s" % (name, port, addr if family == 4
                                               else "[%s]" % addr)]
            if insecure:
                argv.append("-k")
            if head:
                argv.append("-I")
            if method:
                argv += ["-X", method]
            if data is not None:
                argv += ["--data-binary", data]
            for h in headers:
                argv += ["-H", h]
            argv.append("https://%s:%d%s" % (name, port, path))
            cp = harness.run(argv, timeout=15)
            if cp.returncode != 0:
                raise AssertionError("curl failed\n%s\n%s" % (harness.describe(cp),
                                                              self.d.log_tail(40)))
            with open(hfile, "rb") as f:
                raw = f.read()
            body = b""
            if os.path.exists(bfile):
                with open(bfile, "rb") as f:
                    body = f.read()
        # -D holds the header sections of every response (only one here)
        status, hdrs, rest = parse_response(raw)
        self.assertEqual(rest, b"", "more than one response")
        return status, hdrs, body, ua

    def tls(self, sni, family=4, ctx=None):
        """A TLS socket to the listener, handshake done."""
        addr, port = self.web(family)
        s = socket.create_connection((addr, port), timeout=deadline(5))
        ctx = ctx or self.d.tls_context()
        return ctx.wrap_socket(s, server_hostname=sni)

    def read_all(self, sock, timeout=5):
        """Everything until the server closes (or resets)."""
        sock.settimeout(deadline(timeout))
        out = b""
        while True:
            try:
                data = sock.recv(65536)
            except (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError,
                    BrokenPipeError):
                break
            except socket.timeout:
                raise AssertionError("connection still open after %.1fs; got %r\n%s"
                                     % (deadline(timeout), out[:200], self.d.log_tail(40)))
            if not data:
                break
            out += data
        return out

    def raw(self, data, sni, family=4):
        """DATA over a new TLS connection, then everything until the server
        closes.  Returns (client port, response bytes)."""
        with self.tls(sni, family) as t:
            port = t.getsockname()[1]
            t.sendall(data)
            return port, self.read_all(t)

    def fetch_row(self, ua):
        return self.d.wait_for("SELECT * FROM policy_fetches WHERE user_agent = ?",
                               (ua,), what="the policy fetch of %s" % ua)[0]

    def port_row(self, port, family=4, error=False):
        addr = "127.0.0.1" if family == 4 else "::1"
        return self.d.wait_for(
            "SELECT * FROM policy_fetches WHERE client_addr = ? AND client_port = ?"
            + (" AND error IS NOT NULL" if error else ""),
            (addr, port), what="the row of %s port %d" % (addr, port))[0]

    def assertServes(self, challenge=None, family=4):
        """A normal fetch still works (the daemon keeps serving)."""
        challenge = challenge or "sts-rn"
        status, _, body, _ = self.curl(policy_host(challenge), family=family)
        self.assertEqual((status, body), (200, expected_policy(challenge)))


class Policies(WebClient, DaemonTestCase):

    def test_every_policy_is_served_byte_exact(self):
        port = self.web()[1]
        for ch in STS:
            with self.subTest(challenge=ch):
                name = policy_host(ch)
                status, hdrs, body, ua = self.curl(name)
                self.assertEqual(status, 200)
                self.assertEqual(body, expected_policy(ch))
                self.assertEqual(hdrs.get("content-type"), "text/plain")
                self.assertEqual(hdrs.get("content-length"), str(len(body)))
                row = self.fetch_row(ua)
                self.assertEqual(
                    {k: row[k] for k in ("client_addr", "family", "local_addr", "sni",
                                         "host", "method", "path", "status", "bytes",
                                         "challenge", "error")},
                    {"client_addr": "127.0.0.1", "family": 4,
                     "local_addr": "127.0.0.1:%d" % port, "sni": name,
                     "host": "%s:%d" % (name, port), "method": "GET", "path": WEB_PATH,
                     "status": 200, "bytes": len(body), "challenge": ch, "error": None})
                self.assertIn(row["tls_version"], ("TLSv1.2", "TLSv1.3"))
                self.assertTrue(row["tls_cipher"])

    def test_policies_follow_the_catalogue_rules(self):
        """Independently of the exact bytes: LF only for sts-n, every MX
        host listed, and the sts-bad-* lists match none of them."""
        for ch, (eol, _, mismatch) in STS.items():
            with self.subTest(challenge=ch):
                body = self.curl(policy_host(ch))[2]
                self.assertEqual(body.count(b"\r\n"), 0 if eol == "\n" else body.count(b"\n"))
                lines = body.decode().splitlines()
                self.assertEqual(lines[0], "version: STSv1")
                self.assertIn("mode: enforce", lines)
                mx = [l[4:] for l in lines if l.startswith("mx: ")]
                for host in mx_names(ch):
                    matched = any(mx_matches(p, host) for p in mx)
                    self.assertEqual(matched, not mismatch, "%s in %s" % (host, mx))

    def test_host_is_case_insensitive_without_port_and_wins_over_sni(self):
        status, _, body, ua = self.curl(policy_host("sts-n"),
                                        headers=["Host: MTA-STS.STS-2MX-PLAIN.Measure.Test"])
        self.assertEqual((status, body), (200, expected_policy("sts-2mx-plain")))
        row = self.fetch_row(ua)
        self.assertEqual((row["sni"], row["host"], row["challenge"]),
                         (policy_host("sts-n"), "MTA-STS.STS-2MX-PLAIN.Measure.Test",
                          "sts-2mx-plain"))

    def test_absolute_uri_host_wins_over_host_field(self):
        """RFC 9112 3.2.2: the host of an absolute-form target, not Host."""
        port, raw = self.raw(("GET https://%s%s HTTP/1.1\r\nHost: %s\r\n"
                              "Connection: close\r\n\r\n"
                              % (policy_host("sts-rn"), WEB_PATH, policy_host("sts-n"))
                              ).encode(), policy_host("sts-n"))
        status, _, body = parse_response(raw)
        self.assertEqual((status, body), (200, expected_policy("sts-rn")))
        self.assertEqual(self.port_row(port)["challenge"], "sts-rn")

    def test_sni_chooses_when_host_is_absent(self):
        port, raw = self.raw(b"GET " + WEB_PATH.encode() + b" HTTP/1.0\r\n"
                             b"User-Agent: no-host\r\n\r\n", policy_host("sts-2mx-tls"))
        status, hdrs, body = parse_response(raw)
        self.assertEqual((status, body), (200, expected_policy("sts-2mx-tls")))
        self.assertEqual(hdrs.get("content-type"), "text/plain")
        row = self.port_row(port)
        self.assertEqual((row["host"], row["sni"], row["challenge"], row["status"]),
                         (None, policy_host("sts-2mx-tls"), "sts-2mx-tls", 200))

    def test_other_paths_queries_and_hosts_are_404(self):
        cases = [
            (policy_host("sts-n"), "/", "sts-n"),
            (policy_host("sts-n"), WEB_PATH + "?x=1", "sts-n"),
            (policy_host("sts-n"), WEB_PATH + "?", "sts-n"),
            (policy_host("sts-n"), WEB_PATH + "/", "sts-n"),
            (policy_host("sts-n"), "/.well-known/MTA-STS.txt", "sts-n"),
            (policy_host("sts-n"), "/.well-known/mta-sts.txt.bak", "sts-n"),
            # a challenge without a policy (the certificate covers it)
            (policy_host("tls"), WEB_PATH, None),
            (policy_host("tlsa-ok-pkix-bad"), WEB_PATH, None),
        ]
        for name, path, ch in cases:
            with self.subTest(name=name, path=path):
                status, hdrs, body, ua = self.curl(name, path=path)
                self.assertEqual(status, 404)
                self.assertEqual(hdrs.get("content-type"), "text/plain")
                row = self.fetch_row(ua)
                self.assertEqual((row["status"], row["path"], row["challenge"],
                                  row["bytes"]), (404, path, ch, len(body)))
        # Host names that are no policy host, on a valid TLS name
        for host in ("sts-n." + BASE_DOMAIN, "mta-sts.unknown." + BASE_DOMAIN,
                     "mta-sts.sts-n." + BASE_DOMAIN + ".example", "127.0.0.1",
                     "[::1]:443", "mta-sts.sts-n"):
            with self.subTest(host=host):
                status, _, _, ua = self.curl(policy_host("sts-n"), headers=["Host: " + host])
                self.assertEqual(status, 404)
                row = self.fetch_row(ua)
                self.assertEqual((row["host"], row["challenge"]), (host, None))

    def test_methods_other_than_get_and_head_get_405(self):
        for method, data in (("POST", None), ("POST", "a=b"), ("PUT", "x"),
                             ("DELETE", None), ("OPTIONS", None)):
            with self.subTest(method=method, data=data):
                status, hdrs, _, ua = self.curl(policy_host("sts-n"), method=method,
                                                data=data)
                self.assertEqual(status, 405)
                self.assertEqual(hdrs.get("allow"), "GET, HEAD")
                row = self.fetch_row(ua)
                self.assertEqual((row["method"], row["status"], row["challenge"]),
                                 (method, 405, "sts-n"))

    def test_unknown_method_is_refused_and_recorded(self):
        port, raw = self.raw(b"BREW " + WEB_PATH.encode() + b" HTTP/1.1\r\nHost: "
                             + policy_host("sts-n").encode() + b"\r\n\r\n",
                             policy_host("sts-n"))
        status, _, _ = parse_response(raw)
        self.assertEqual(status // 100, 5)
        row = self.port_row(port)
        self.assertEqual(row["status"], status)
        self.assertIn("unknown method", row["error"])

    def test_head_gets_the_headers_of_get_and_no_body(self):
        name = policy_host("sts-rn")
        status, hdrs, body, ua = self.curl(name, head=True)
        self.assertEqual(status, 200)
        self.assertEqual(hdrs.get("content-type"), "text/plain")
        self.assertEqual(hdrs.get("content-length"), str(len(expected_policy("sts-rn"))))
        row = self.fetch_row(ua)
        self.assertEqual((row["method"], row["status"], row["bytes"]), ("HEAD", 200, 0))
        # on the wire: nothing after the header section
        port, raw = self.raw(b"HEAD " + WEB_PATH.encode() + b" HTTP/1.1\r\nHost: "
                             + name.encode() + b"\r\nConnection: close\r\n\r\n", name)
        status, hdrs, body = parse_response(raw)
        self.assertEqual((status, body), (200, b""))
        self.assertEqual(hdrs.get("content-length"), str(len(expected_policy("sts-rn"))))

    def test_keep_alive_serves_several_requests(self):
        name = policy_host("sts-n")
        req = ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ka\r\n\r\n" % (WEB_PATH, name)).encode()
        last = req.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
        port, raw = self.raw(req + req + last, name)
        self.assertEqual(raw.count(expected_policy("sts-n")), 3)
        self.d.wait_for("SELECT count(*) AS n FROM policy_fetches WHERE client_port = ? "
                        "AND status = 200 HAVING n = 3", (port,))

    def test_ipv6(self):
        addr, port = self.web(6)
        status, _, body, ua = self.curl(policy_host("sts-plain"), family=6)
        self.assertEqual((status, body), (200, expected_policy("sts-plain")))
        row = self.fetch_row(ua)
        self.assertEqual((row["family"], row["client_addr"], row["local_addr"]),
                         (6, "::1", "[::1]:%d" % port))

    def test_untrusted_text_is_escaped_in_row_and_log(self):
        name = policy_host("sts-n")
        ua = b"evil\x1b[31m\\ \xff" + uuid.uuid4().hex.encode()
        port, raw = self.raw(b"GET /\x7fx HTTP/1.1\r\nHost: " + name.encode()
                             + b"\r\nUser-Agent: " + ua + b"\r\nConnection: close\r\n\r\n",
                             name)
        self.assertEqual(parse_response(raw)[0], 404)
        row = self.port_row(port)
        escaped = ua.replace(b"\\", b"\\x5c").replace(b"\x1b", b"\\x1b") \
            .replace(b"\xff", b"\\xff").decode()
        self.assertEqual(row["user_agent"], escaped)
        self.assertEqual(row["path"], "/\\x7fx")
        log = self.d.log()
        # a log field escapes the space too (log_field)
        self.assertIn('ua="%s"' % escaped.replace(" ", "\\x20"), log)
        self.assertNotIn("\x1b", log)

    def test_user_agent_and_host_cannot_forge_log_fields(self):
        name = policy_host("sts-n")
        tag = uuid.uuid4().hex
        ua = 'x" status=200 challenge=forged-' + tag
        port, raw = self.raw(("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n"
                              "Connection: close\r\n\r\n" % (WEB_PATH, name, ua)).encode(),
                             name)
        self.assertEqual(parse_response(raw)[0], 200)
        row = self.port_row(port)
        self.assertEqual(row["user_agent"], ua)     # stored as sent (printable)
        line = [l for l in self.d.log().splitlines() if "port %d" % port in l
                and " GET " in l]
        self.assertEqual(len(line), 1, self.d.log_tail(40))
        self.assertIn('ua="x\\x22\\x20status=200\\x20challenge=forged-%s"' % tag, line[0])
        self.assertEqual(re.findall(r" status=(\d+)", line[0]), ["200"])
        self.assertEqual(re.findall(r" challenge=(\S+)", line[0]), ["sts-n"])

    def test_huge_header_is_refused_and_the_daemon_keeps_serving(self):
        name = policy_host("sts-n")
        with self.tls(name) as t:
            port = t.getsockname()[1]
            try:
                t.sendall(b"GET " + WEB_PATH.encode() + b" HTTP/1.1\r\nHost: "
                          + name.encode() + b"\r\nX-Big: " + b"a" * (100 * 1024)
                          + b"\r\n\r\n")
            except (ssl.SSLError, OSError):
                pass            # closed while we were still sending: fine
            raw = self.read_all(t)
        if raw:
            self.assertEqual(parse_response(raw)[0] // 100, 4, raw[:100])
        row = self.port_row(port, error=True)
        self.assertEqual(row["status"] // 100, 4)
        self.assertIn("header section over 8192 bytes", row["error"])
        self.assertServes()

    def test_plaintext_http_to_the_tls_port(self):
        addr, port = self.web()
        with socket.create_connection((addr, port), timeout=deadline(5)) as s:
            cport = s.getsockname()[1]
            s.sendall(b"GET " + WEB_PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            data = self.read_all(s)
        self.assertNotIn(b"STSv1", data)
        row = self.port_row(cport)
        self.assertEqual((row["status"], row["tls_version"], row["method"]), (None, None, None))
        self.assertEqual(row["error"], "tls handshake failed: http request")
        self.assertServes()

    def test_client_rejecting_the_certificate_is_recorded(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)   # no demo CA: unknown issuer
        ctx.load_default_certs()
        addr, port = self.web()
        with socket.create_connection((addr, port), timeout=deadline(5)) as s:
            cport = s.getsockname()[1]
            with self.assertRaises(ssl.SSLCertVerificationError):
                ctx.wrap_socket(s, server_hostname=policy_host("sts-n"))
        row = self.port_row(cport)
        self.assertEqual((row["status"], row["sni"]), (None, policy_host("sts-n")))
        self.assertRegex(row["error"], r"^tls handshake failed: .*alert received "
                                       r"(unknown_ca|bad_certificate)")
        self.assertServes()

    def test_client_aborting_the_handshake_is_recorded(self):
        addr, port = self.web()
        with socket.create_connection((addr, port), timeout=deadline(5)) as s:
            cport = s.getsockname()[1]
            # the first bytes of a ClientHello record, then goodbye
            s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(16))
        row = self.port_row(cport)
        self.assertEqual((row["status"], row["tls_version"]), (None, None))
        self.assertRegex(row["error"], r"^tls handshake (failed|not completed)")
        self.assertServes()

    def test_each_request_is_logged(self):
        status, _, _, ua = self.curl(policy_host("sts-bad-tlsa-ok"))
        self.fetch_row(ua)
        self.assertRegex(self.d.log(), r"w\d+: GET %s host=%s:\d+ sni=%s ua=\"%s\" "
                         r"status=200 bytes=\d+ challenge=sts-bad-tlsa-ok from 127\.0\.0\.1"
                         % (re.escape(WEB_PATH), re.escape(policy_host("sts-bad-tlsa-ok")),
                            re.escape(policy_host("sts-bad-tlsa-ok")), re.escape(ua)))


class SlowClients(WebClient, DaemonTestCase):
    """A short idle limit: [web] uses timeout_command (at most 10 s)."""

    options = [("global", "timeout_command", "1s")]

    def test_stalled_request_does_not_block_others_and_times_out(self):
        name = policy_host("sts-n")
        with self.tls(name) as t:
            port = t.getsockname()[1]
            t.sendall(b"GET " + WEB_PATH.encode() + b" HTTP/1.1\r\nHost: ")
            t0 = time.monotonic()
            self.assertServes()         # meanwhile, others are served
            self.assertServes("sts-2mx-tls", family=6)
            self.assertEqual(self.read_all(t, timeout=4), b"")
            self.assertGreaterEqual(time.monotonic() - t0, 0.8)
        row = self.port_row(port)
        self.assertEqual(row["status"], None)
        self.assertRegex(row["error"], r"^no request \(\d+ bytes received\), idle")

    def test_silent_connection_times_out_before_the_handshake(self):
        addr, port = self.web()
        with socket.create_connection((addr, port), timeout=deadline(5)) as s:
            cport = s.getsockname()[1]
            self.assertServes()
            self.assertEqual(self.read_all(s, timeout=4), b"")
        row = self.port_row(cport)
        self.assertEqual((row["status"], row["tls_version"], row["sni"]), (None, None, None))
        self.assertRegex(row["error"], r"^no tls handshake, idle")

    def test_trickling_client_is_closed_at_the_end_of_its_lifetime(self):
        name = policy_host("sts-n")
        with self.tls(name) as t:
            port = t.getsockname()[1]
            t0 = time.monotonic()
            closed = False
            while time.monotonic() - t0 < deadline(8):
                try:
                    t.sendall(b"X-Slow: a\r\n" if time.monotonic() > t0 + 0.1 else
                              b"GET " + WEB_PATH.encode() + b" HTTP/1.1\r\n")
                    t.settimeout(0.3)
                    if t.recv(1) == b"":
                        closed = True
                        break
                except socket.timeout:
                    continue
                except (ssl.SSLError, OSError):
                    closed = True
                    break
            self.assertTrue(closed, "still open after %.0fs" % deadline(8))
            # 3 idle limits (1 s each), never one without a byte
            self.assertGreaterEqual(time.monotonic() - t0, 2.5)
        row = self.port_row(port)
        self.assertTrue(row["error"].startswith("connection lifetime exceeded: "),
                        row["error"])


class LimitCase(WebClient, DaemonTestCase):
    """Two TLS connections hold the limit; a third is closed."""

    def refused_row(self):
        """A plain connection over the limit: closed without a byte; its
        policy_fetches row."""
        addr, port = self.web()
        with socket.create_connection((addr, port), timeout=deadline(5)) as s:
            cport = s.getsockname()[1]
            self.assertEqual(self.read_all(s, timeout=3), b"")
        return self.port_row(cport)

    def assertPolicyServed(self, conns, challenge):
        """The connections that held the limit are still served CHALLENGE's
        policy."""
        for t in conns:
            t.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                       % (WEB_PATH, policy_host(challenge))).encode())
            self.assertEqual(parse_response(self.read_all(t))[2], expected_policy(challenge))


class ConnectionLimit(LimitCase):

    options = [("global", "max_connections", "2")]

    def test_connections_over_the_limit_are_recorded_and_closed(self):
        name = policy_host("sts-n")
        with self.tls(name) as a, self.tls(name) as b:
            row = self.refused_row()
            self.assertTrue(row["error"].startswith("too many connections: "), row["error"])
            self.assertPolicyServed((a, b), "sts-n")
        self.assertServes()


class PerIpLimit(LimitCase):

    options = [("global", "max_per_ip", "2")]

    def test_third_connection_from_one_address_is_recorded_and_closed(self):
        name = policy_host("sts-n")
        with self.tls(name) as a, self.tls(name) as b:
            row = self.refused_row()
            self.assertTrue(row["error"].startswith(
                "too many connections from this address: "), row["error"])
            self.assertIn("closing: too many connections from this address",
                          self.d.log())
            # another address is not affected
            self.assertServes(family=6)
            self.assertPolicyServed((a, b), "sts-n")
        self.assertServes()


class FetchView(WebClient, DaemonTestCase):
    """v_policy_fetches attributes a fetch to the test of the nearest
    connection from the same client address within an hour."""

    def deliver(self, t):
        to = self.d.address(t, "open")
        with self.d.smtp("open") as c:
            c.ehlo()
            self.assertReply(c.send_mail("s@example.org", [to], make_message(to)), 250)
            c.quit()
        return self.d.connection(c)

    def test_fetch_is_attributed_by_client_address(self):
        t = self.new_test()
        conn = self.deliver(t)
        _, _, _, ua = self.curl(policy_host("sts-n"))
        v4 = self.d.wait_for("SELECT * FROM v_policy_fetches WHERE user_agent = ?", (ua,))[0]
        self.assertEqual(v4["test_id"], t["id"])
        self.assertEqual((v4["status"], v4["challenge"]), (200, "sts-n"))
        # nothing delivered from ::1 with a test: no attribution
        _, _, _, ua6 = self.curl(policy_host("sts-n"), family=6)
        v6 = self.d.wait_for("SELECT * FROM v_policy_fetches WHERE user_agent = ?", (ua6,))[0]
        self.assertIsNone(v6["test_id"])

        # nearest in time wins; more than an hour away is no evidence
        t2 = self.new_test()
        conn2 = self.deliver(t2)
        rows = [("near-1", conn["started"] - 1800), ("near-2", conn2["started"] + 1800),
                ("far", conn2["started"] + 3601 + (conn2["started"] - conn["started"]))]
        con = self.d.db(readonly=False)
        try:
            for ua_, when in rows:
                con.execute("INSERT INTO policy_fetches (time, local_addr, client_addr,"
                            " client_port, family, user_agent) VALUES (?, '', '127.0.0.1',"
                            " 1, 4, ?)", (when, ua_))
            con.commit()
        finally:
            con.close()
        got = {r["user_agent"]: r["test_id"] for r in self.d.query(
            "SELECT user_agent, test_id FROM v_policy_fetches WHERE user_agent IN "
            "('near-1', 'near-2', 'far')")}
        self.assertEqual(got, {"near-1": t["id"], "near-2": t2["id"], "far": None})


class Shutdown(WebClient, unittest.TestCase):

    def test_open_connections_are_recorded_at_sigterm(self):
        self.d = Daemon(self._testMethodName)
        self.addCleanup(self.d.close)
        self.d.start()
        with self.tls(policy_host("sts-n")) as t:
            port = t.getsockname()[1]
            self.assertServes()
            self.d.stop(check=True)
        row = self.d.query_one("SELECT * FROM policy_fetches WHERE client_port = ?", (port,))
        self.assertTrue(row["error"].startswith("shutdown: no request"), row["error"])


if __name__ == "__main__":
    unittest.main()
