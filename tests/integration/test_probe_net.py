"""The probe's network engine (daemon/probe/probe_smtp.c, probe_tls.c)
driven by tests/probe/probe_smtp_driver against small real SMTP servers of this
module on loopback: plain, STARTTLS with certificates made here by
openssl, version- and suite-limited, and hostile ones.  Real sockets,
real OpenSSL on both sides; the driver fills in the DNS facts by hand."""

import hashlib
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
import warnings

import harness

DRIVER = os.path.join(harness.BUILDDIR, "tests", "probe", "probe_smtp_driver")
MX = "mx.probe.test"
DOMAIN = "probe.test"
BASE = "measure.test"


def run_driver(port, addrs=("127.0.0.1",), timeout_ms=2000, deadline_ms=20000,
               per_host=2, mx=MX, tlsa=(), ad=False, env=None, wall=60, extra=()):
    argv = [DRIVER, "--port", str(port), "--timeout", str(timeout_ms),
            "--deadline", str(deadline_ms), "--per-host", str(per_host),
            "--mx", mx, "--domain", DOMAIN, "--base", BASE,
            "--hostname", "prober.measure.test"]
    for t in tlsa:
        argv += ["--tlsa", t]
    if ad:
        argv.append("--ad")
    argv += list(extra) + list(addrs)
    e = dict(os.environ)
    e.update(env or {})
    e.setdefault("SSL_CERT_FILE", "/nonexistent")
    e.setdefault("SSL_CERT_DIR", "/nonexistent")
    t0 = time.monotonic()
    cp = harness.run(harness.valgrind(argv, tool=True) if harness.VALGRIND else argv,
                     timeout=wall, env=e)
    took = time.monotonic() - t0
    if cp.returncode != 0 or harness.sanitizer_report(cp.stderr):
        raise AssertionError(harness.describe(cp))
    return parse(cp.stdout), took


def parse(text):
    """The driver's KEY=VALUE lines: one dict per address; repeated keys
    (tx, chain.N.san) become lists."""
    out, cur, steps = [], None, []
    multi = ("tx",)
    for line in text.splitlines():
        k, _, v = line.partition("=")
        if k == "progress":
            steps.append(v.split(" ", 1))
            continue
        if k == "addr":
            cur = {"addr": v, "tx": []}
            out.append(cur)
            continue
        if cur is None:
            continue
        if k in multi or k.endswith(".san"):
            cur.setdefault(k, []).append(v)
        else:
            cur[k] = v
    for r in out:
        r["progress"] = [step for addr, step in steps if addr == r["addr"]]
    return out


def openssl(*args, cwd):
    cp = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True,
                        text=True, timeout=60)
    if cp.returncode != 0:
        raise AssertionError(harness.describe(cp))
    return cp.stdout


class Certs:
    """A self-signed RSA certificate for MX, and a test CA (EC P-256)
    with a leaf for MX that it signed; fingerprints as the probe should
    find them."""

    def __init__(self, d):
        self.d = d
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "self.key",
                "-out", "self.pem", "-days", "30", "-subj", "/O=Probe Test/CN=" + MX,
                "-addext", "subjectAltName=DNS:%s,DNS:alt.probe.test,IP:127.0.0.1" % MX,
                cwd=d)
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "30",
                "-subj", "/CN=Probe Test CA", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=" + MX,
                cwd=d)
        with open(os.path.join(d, "leaf.ext"), "w") as f:
            f.write("subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\n"
                    "extendedKeyUsage=serverAuth\n" % MX)
        openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "20", "-out", "leaf.pem", "-extfile", "leaf.ext",
                cwd=d)
        with open(os.path.join(d, "chain.pem"), "w") as f:
            f.write(self.read("leaf.pem") + self.read("ca.pem"))

    def path(self, name):
        return os.path.join(self.d, name)

    def read(self, name):
        with open(self.path(name)) as f:
            return f.read()

    def der(self, name):
        return ssl.PEM_cert_to_DER_cert(self.read(name))

    def sha256(self, name):
        return hashlib.sha256(self.der(name)).hexdigest()

    def sha1(self, name):
        return hashlib.sha1(self.der(name)).hexdigest()

    def spki_sha256(self, name):
        pub = subprocess.run(["openssl", "x509", "-in", self.path(name), "-pubkey",
                              "-noout"], capture_output=True, check=True).stdout
        der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub,
                             capture_output=True, check=True).stdout
        return hashlib.sha256(der).hexdigest()

    def ctx(self, cert="self.pem", key="self.key", minv=None, maxv=None, ciphers=None):
        c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            if minv is not None:
                c.minimum_version = minv
            if maxv is not None:
                c.maximum_version = maxv
        if ciphers is not None:
            c.set_ciphers(ciphers)
        c.load_cert_chain(self.path(cert), self.path(key))
        return c


class Server:
    """A small SMTP server on loopback, one thread per connection.  What
    it answers is in its attributes; what it saw in .seen (commands per
    connection), .sni, .max_conns."""

    def __init__(self, family=socket.AF_INET, tls=None, banner="220 %s ESMTP probe-test" % MX,
                 exts=("PIPELINING", "SIZE 10240000", "8BITMIME", "ENHANCEDSTATUSCODES"),
                 rcpt=None, mail=None, ehlo_ok=True, helo_ok=True, hostile=None,
                 delay=0.0, port=0):
        self.tls, self.banner, self.exts = tls, banner, exts
        self.rcpt = rcpt or (lambda a: "250 2.1.5 ok")
        self.mail = mail or (lambda a: "250 2.1.0 ok")
        self.ehlo_ok, self.helo_ok, self.hostile, self.delay = ehlo_ok, helo_ok, hostile, delay
        self.seen, self.sni, self.lock = [], [], threading.Lock()
        self.max_conns = 0
        self.dups = []
        self.stopping = False
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", port))
        except OSError:
            self.sock.close()
            raise
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        if tls is not None:
            tls.sni_callback = self._sni
        self.threads = []
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _sni(self, sslobj, name, ctx):
        with self.lock:
            self.sni.append(name)

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            # Connections open at once, as the kernel sees them: a
            # duplicate of each accepted socket tells by its TCP state
            # whether the probe has closed it (CLOSE_WAIT), however late
            # the thread serving it notices.
            with self.lock:
                live = []
                for d in self.dups:
                    if tcp_state(d) == TCP_ESTABLISHED:
                        live.append(d)
                    else:
                        d.close()
                self.dups = live + [c.dup()]
                self.max_conns = max(self.max_conns, len(self.dups))
            t = threading.Thread(target=self._serve, args=(c,), daemon=True)
            self.threads.append(t)
            t.start()

    def stop(self):
        self.stopping = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.acceptor.join(5)
        for t in self.threads:
            t.join(5)
        for d in self.dups:
            d.close()

    def _serve(self, c):
        with self.lock:
            cmds = []
            self.seen.append(cmds)
        c.settimeout(10)
        try:
            self._dialogue(c, cmds)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            # the duplicate must not keep the connection open
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    def _send(self, c, text):
        if self.delay:
            time.sleep(self.delay)
        c.sendall(text.encode() + b"\r\n")

    def _dialogue(self, c, cmds):
        h = self.hostile
        if h == "slow-banner":
            for ch in (self.banner + "\r\n").encode():
                if self.stopping:
                    return
                c.sendall(bytes([ch]))
                time.sleep(1)
            return
        if h == "long-line":
            c.sendall(b"220-" + b"x" * 100000)
            time.sleep(3)
            return
        if h == "not-smtp":
            c.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            time.sleep(3)
            return
        self._send(c, self.banner)
        if not self.banner.startswith("220"):
            pass
        buf, tls, mail_from = b"", False, ""
        while True:
            while b"\n" not in buf:
                d = c.recv(4096)
                if not d:
                    return
                buf += d
            line, _, buf = buf.partition(b"\n")
            line = line.rstrip(b"\r").decode("utf-8", "replace")
            cmds.append(line)
            verb = line.split(" ", 1)[0].split(":", 1)[0].upper()
            if verb == "EHLO":
                if not self.ehlo_ok:
                    self._send(c, "502 5.5.1 no EHLO here")
                    continue
                if h == "endless-ehlo":
                    try:
                        while not self.stopping:
                            c.sendall(b"250-" + b"X" * 70 + b"\r\n")
                    except OSError:
                        return
                    return
                if h == "fat-ehlo":
                    c.sendall(("250-" + "F" * 4000 + "\r\n").encode() * 99)
                    time.sleep(2)
                    return
                exts = list(self.exts)
                if self.tls is not None and not tls:
                    exts.append("STARTTLS")
                lines = ["250-%s hello" % MX] + ["250-" + e for e in exts]
                lines[-1] = "250 " + lines[-1][4:]
                self._send(c, "\r\n".join(lines))
            elif verb == "HELO":
                self._send(c, "250 %s" % MX if self.helo_ok else "501 5.5.2 no")
            elif verb == "STARTTLS" and self.tls is not None and not tls:
                if h == "garbage-after-starttls":
                    self._send(c, "220 2.0.0 go ahead")
                    c.sendall(os.urandom(3000))
                    time.sleep(2)
                    return
                if h == "silent-after-starttls":
                    self._send(c, "220 2.0.0 go ahead")
                    for _ in range(50):
                        if self.stopping:
                            return
                        time.sleep(0.1)
                    return
                if h == "pipeline-before-tls":
                    c.sendall(b"220 2.0.0 go ahead\r\n250 injected before TLS\r\n")
                else:
                    self._send(c, "220 2.0.0 go ahead")
                c.settimeout(10)
                c = self.tls.wrap_socket(c, server_side=True)
                tls, buf = True, b""
            elif verb == "MAIL":
                mail_from = line[10:]
                self._send(c, self.mail(mail_from))
            elif verb == "RCPT":
                if h == "spf-at-rcpt" and "spf-deny." in mail_from:
                    self._send(c, "550 5.7.23 SPF fail for the sender")
                else:
                    self._send(c, self.rcpt(line[8:]))
            elif verb == "RSET":
                self._send(c, "250 2.0.0 ok")
            elif verb == "QUIT":
                self._send(c, "221 2.0.0 bye")
                return
            elif verb == "DATA":
                self._send(c, "554 5.5.1 the probe must never send DATA")
            else:
                self._send(c, "500 5.5.2 what")


TCP_ESTABLISHED = 1


def tcp_state(sock):
    """The socket's TCP state (struct tcp_info's first byte)."""
    try:
        return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]
    except OSError:
        return 0


def filtering_rcpt(arg):
    """postmaster@ and abuse@ exist; others do not; other domains are
    not relayed."""
    addr = arg.strip("<>").lower()
    local, _, dom = addr.partition("@")
    if dom != DOMAIN:
        return "554 5.7.1 relay access denied"
    if local in ("postmaster", "abuse"):
        return "250 2.1.5 ok"
    return "550 5.1.1 no such user"


def spf_mail(arg):
    if "spf-deny." in arg:
        return "550 5.7.23 SPF fail"
    return "250 2.1.0 ok"


class ProbeNetTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if not os.access(DRIVER, os.X_OK):
            raise AssertionError("%s is not built (make builds it)" % DRIVER)
        cls.tmp = tempfile.mkdtemp(prefix="probe-net-")
        cls.certs = Certs(cls.tmp)

    @classmethod
    def tearDownClass(cls):
        if not harness.KEEP_TMP:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def serve(self, **kw):
        s = Server(**kw)
        self.addCleanup(s.stop)
        return s

    def probe(self, s, **kw):
        res, took = run_driver(s.port, **kw)
        return res[0], took

    # ---- the dialogue and the policy checks ----

    def test_closed_server_filters_recipients_and_checks_spf(self):
        s = self.serve(rcpt=filtering_rcpt, mail=spf_mail)
        a, _ = self.probe(s)
        self.assertEqual(a["stop"], "done", a)
        self.assertEqual(a["banner_code"], "220")
        self.assertEqual(a["banner"], "%s ESMTP probe-test" % MX)
        self.assertEqual(a["banner_name"], MX)
        self.assertEqual(a["ehlo_code"], "250")
        self.assertEqual(a["ext"], "SIZE,PIPELINING,8BITMIME,ENHANCEDSTATUSCODES")
        self.assertEqual(a["size_limit"], "10240000")
        self.assertEqual(a["starttls_code"], "0")
        self.assertEqual(a["tls"], "0")
        self.assertGreaterEqual(float(a["connect_ms"]), 0)
        self.assertEqual((a["mail_code"], a["rcpt_postmaster"], a["rcpt_abuse"],
                          a["rcpt_random"], a["rcpt_relay"]),
                         ("250", "250", "250", "550", "554"))
        self.assertEqual(a["recipient_filtering"], "yes")
        self.assertEqual(a["open_relay"], "no")
        self.assertEqual(a["greylisting"], "no")
        self.assertEqual((a["spf_mail_code"], a["spf_rcpt_code"]), ("550", "0"))
        self.assertEqual(a["spf_checked"], "yes")
        # no STARTTLS: nothing tried, and it says why
        for v in ("TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"):
            self.assertEqual(a["version." + v], "unknown")
            self.assertIn("no STARTTLS", a["version.%s.detail" % v])
        self.assertEqual(a["dane"], "none")
        # what the server saw: one connection, never DATA, RSET then QUIT
        self.assertEqual(len(s.seen), 1, s.seen)
        cmds = s.seen[0]
        self.assertEqual(cmds[0], "EHLO prober.measure.test")
        self.assertEqual(cmds[1], "MAIL FROM:<probe@%s>" % BASE)
        self.assertIn("RCPT TO:<postmaster@%s>" % DOMAIN, cmds)
        self.assertIn("RCPT TO:<abuse@%s>" % DOMAIN, cmds)
        self.assertIn("RCPT TO:<x@example.net>", cmds)
        self.assertIn("MAIL FROM:<probe@spf-deny.%s>" % BASE, cmds)
        self.assertNotIn("DATA", [c.upper() for c in cmds])
        self.assertEqual(cmds[-2:], ["RSET", "QUIT"])
        # the transcript holds both sides, in order
        self.assertIn("C: EHLO prober.measure.test", a["tx"])
        self.assertIn("S: 550 5.1.1 no such user", a["tx"])
        self.assertIn("C: QUIT", a["tx"])
        self.assertIn("S: 221 2.0.0 bye", a["tx"])

    def test_open_relay_accepting_everything(self):
        s = self.serve()
        a, _ = self.probe(s)
        self.assertEqual(a["stop"], "done")
        self.assertEqual(a["rcpt_relay"], "250")
        self.assertEqual(a["open_relay"], "yes")
        self.assertEqual(a["recipient_filtering"], "no")
        self.assertEqual(a["spf_checked"], "no")
        self.assertEqual((a["spf_mail_code"], a["spf_rcpt_code"]), ("250", "250"))

    def test_spf_refusal_at_rcpt_counts_as_checked(self):
        s = self.serve(rcpt=filtering_rcpt, hostile="spf-at-rcpt")
        a, _ = self.probe(s)
        self.assertEqual((a["spf_mail_code"], a["spf_rcpt_code"]), ("250", "550"))
        self.assertEqual(a["spf_checked"], "yes")

    def test_refused_mail_leaves_the_policy_unknown(self):
        s = self.serve(mail=lambda a: "530 5.7.0 must issue a STARTTLS command first")
        a, _ = self.probe(s)
        self.assertEqual(a["stop"], "done")
        self.assertEqual(a["mail_code"], "530")
        for k in ("open_relay", "recipient_filtering", "greylisting", "spf_checked"):
            self.assertEqual(a[k], "unknown", k)
        self.assertEqual(s.seen[0][-3:], ["MAIL FROM:<probe@%s>" % BASE, "RSET", "QUIT"])

    def test_greylisting_4xx_on_first_rcpt_is_no_relay(self):
        s = self.serve(rcpt=lambda a: "451 4.7.1 greylisted, try again later")
        a, _ = self.probe(s)
        self.assertEqual(a["greylisting"], "yes")
        self.assertEqual(a["open_relay"], "no")
        self.assertEqual(a["recipient_filtering"], "unknown")
        self.assertEqual(a["spf_checked"], "unknown")

    def test_helo_fallback_when_ehlo_refused(self):
        s = self.serve(ehlo_ok=False)
        a, _ = self.probe(s)
        self.assertEqual(a["ehlo_code"], "502")
        self.assertEqual(a["stop"], "done")
        self.assertEqual(a["ext"], "")
        self.assertEqual(s.seen[0][:2], ["EHLO prober.measure.test",
                                         "HELO prober.measure.test"])

    def test_ehlo_and_helo_refused_stops_at_ehlo(self):
        s = self.serve(ehlo_ok=False, helo_ok=False)
        a, _ = self.probe(s)
        self.assertEqual(a["stop"], "ehlo")
        self.assertIn("EHLO and HELO refused", a["stop_detail"])
        self.assertEqual(s.seen[0][-1], "QUIT")

    def test_554_banner_stops_at_banner(self):
        s = self.serve(banner="554 5.7.1 no service for you")
        a, _ = self.probe(s)
        self.assertEqual(a["stop"], "banner")
        self.assertEqual(a["banner_code"], "554")
        self.assertIn("554", a["stop_detail"])

    def test_refused_connection_stops_at_connect(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        res, _ = run_driver(port)
        self.assertEqual(res[0]["stop"], "connect")
        self.assertIn("refused", res[0]["stop_detail"].lower())
        self.assertEqual(res[0]["connect_ms"], "-1.000")

    def test_family_off_and_public_only_are_not_tried(self):
        s = self.serve()
        res, _ = run_driver(s.port, addrs=("127.0.0.1", "::1"), extra=["--no-ipv6"])
        by = {r["addr"]: r for r in res}
        self.assertEqual(by["127.0.0.1"]["stop"], "done")
        self.assertEqual(by["::1"]["stop"], "not_tried")
        res, _ = run_driver(s.port, extra=["--public-only"])
        self.assertEqual(res[0]["stop"], "not_tried")
        self.assertIn("not a public address", res[0]["stop_detail"])
        # one connection in all: the IPv4 one of the first run
        self.assertEqual(len(s.seen), 1)

    def test_ipv6_and_ipv4_addresses_in_parallel(self):
        # one port on both loopbacks: a server per family
        for _ in range(20):
            s6 = self.serve(family=socket.AF_INET6, delay=0.3)
            try:
                s4 = self.serve(port=s6.port, delay=0.3)
                break
            except OSError:
                continue
        else:
            self.fail("no port free on both 127.0.0.1 and ::1")
        res, took = run_driver(s4.port, addrs=("127.0.0.1", "::1"))
        by = {r["addr"]: r for r in res}
        for addr in ("127.0.0.1", "::1"):
            self.assertEqual(by[addr]["stop"], "done", by[addr])
            self.assertEqual(by[addr]["open_relay"], "yes")
        self.assertEqual((len(s4.seen), len(s6.seen)), (1, 1))
        # in parallel: about one dialogue's time (13 replies at 0.3 s), not two
        self.assertLess(took, (13 * 0.3 * 1.6 + 1) * harness.SLOW)

    # ---- STARTTLS and the certificate ----

    def test_starttls_self_signed_certificate_fields(self):
        c = self.certs
        s = self.serve(tls=c.ctx(), rcpt=filtering_rcpt)
        a, _ = self.probe(s)
        self.assertEqual(a["stop"], "done", a.get("stop_detail"))
        self.assertIn("STARTTLS", a["ext"].split(","))
        self.assertNotIn("STARTTLS", a["ext_tls"].split(","))
        self.assertEqual(a["starttls_code"], "220")
        self.assertEqual(a["tls"], "1")
        self.assertEqual(a["tls_version"], "TLSv1.3")
        self.assertTrue(a["tls_cipher"].startswith("TLS_AES_") or
                        a["tls_cipher"].startswith("TLS_CHACHA20"), a["tls_cipher"])
        self.assertEqual(a["tls_group"], "x25519")
        self.assertIn(MX, s.sni)           # SNI is the MX name
        self.assertEqual(a["nchain"], "1")
        self.assertEqual(a["chain.0.subject"], "CN=%s,O=Probe Test" % MX)
        self.assertEqual(a["chain.0.subject_cn"], MX)
        self.assertEqual(a["chain.0.san"], [MX, "alt.probe.test", "127.0.0.1"])
        self.assertEqual(a["chain.0.issuer"], a["chain.0.subject"])
        self.assertEqual(a["chain.0.sha256"], c.sha256("self.pem"))
        self.assertEqual(a["chain.0.sha1"], c.sha1("self.pem"))
        self.assertEqual(a["chain.0.spki_sha256"], c.spki_sha256("self.pem"))
        self.assertEqual((a["chain.0.key_type"], a["chain.0.key_bits"]), ("RSA", "2048"))
        self.assertNotIn("chain.0.curve", a)
        self.assertEqual(a["chain.0.sig_alg"], "sha256WithRSAEncryption")
        self.assertEqual(a["chain.0.self_signed"], "1")
        now = time.time()
        self.assertLess(abs(int(a["chain.0.not_before"]) - now), 3600)
        self.assertLess(abs(int(a["chain.0.not_after"]) - (now + 30 * 86400)), 3600)
        self.assertEqual(a["chain_valid"], "no")
        self.assertIn("self-signed", a["chain_error"])
        self.assertEqual(a["name_match"], "yes")
        # the policy checks ran over TLS: EHLO twice, then MAIL
        tx = a["tx"]
        self.assertEqual(tx.count("C: EHLO prober.measure.test"), 2)
        self.assertTrue(any(l.startswith("-- TLS: TLSv1.3 TLS_") for l in tx), tx)
        self.assertEqual(a["recipient_filtering"], "yes")
        # every handshake try ran on its own connection, bounded per host
        self.assertLessEqual(s.max_conns, 2)
        self.assertEqual(a["version.TLSv1.3"], "yes")
        self.assertEqual(a["version.TLSv1.2"], "yes")

    def test_progress_steps_in_order_done_last(self):
        s = self.serve(tls=self.certs.ctx(), delay=0.01)
        a, _ = self.probe(s)
        self.assertEqual(a["progress"][:7], ["connect", "banner", "ehlo", "starttls",
                                             "handshake", "ehlo-tls", "mail"])
        self.assertEqual(a["progress"][-1], "done")
        self.assertEqual(a["progress"].count("done"), 1)
        self.assertIn("handshakes", a["progress"])

    def test_test_ca_chain_validates_and_name_mismatch_shows(self):
        c = self.certs
        s = self.serve(tls=c.ctx("chain.pem", "leaf.key"))
        env = {"SSL_CERT_FILE": c.path("ca.pem")}
        a = run_driver(s.port, env=env)[0][0]
        self.assertEqual(a["nchain"], "2")
        self.assertEqual(a["chain.0.subject_cn"], MX)
        self.assertEqual(a["chain.1.subject_cn"], "Probe Test CA")
        self.assertEqual((a["chain.0.key_type"], a["chain.0.key_bits"],
                          a["chain.0.curve"]), ("EC", "256", "P-256"))
        self.assertEqual(a["chain.0.sig_alg"], "ecdsa-with-SHA256")
        self.assertEqual(a["chain.0.self_signed"], "0")
        self.assertEqual(a["chain.1.self_signed"], "1")
        self.assertEqual(a["chain_valid"], "yes", a.get("chain_error"))
        self.assertEqual(a["name_match"], "yes")
        # without the CA: not valid; another MX name: no match
        a = run_driver(s.port, mx="other.probe.test")[0][0]
        self.assertEqual(a["chain_valid"], "no")
        self.assertEqual(a["name_match"], "no")

    def test_dane_records_against_the_presented_chain(self):
        c = self.certs
        s = self.serve(tls=c.ctx("chain.pem", "leaf.key"))
        ee = "3 1 1 " + c.spki_sha256("leaf.pem")
        ta = "2 0 1 " + c.sha256("ca.pem")
        wrong = "3 1 1 " + "00" * 32
        pkix = "1 0 1 " + c.sha256("leaf.pem")

        def dane(tlsa, ad=True, mx=MX):
            a = run_driver(s.port, tlsa=tlsa, ad=ad, mx=mx, per_host=4)[0][0]
            return a["dane"], a["dane_matched"]

        self.assertEqual(dane([]), ("none", "-1"))
        self.assertEqual(dane([ee]), ("match", "0"))
        self.assertEqual(dane([wrong, ee]), ("match", "1"))
        self.assertEqual(dane([wrong]), ("nomatch", "-1"))
        self.assertEqual(dane([ee], ad=False), ("unvalidated", "-1"))
        self.assertEqual(dane([ta]), ("match", "0"))
        # DANE-TA needs the MX name in the leaf (RFC 7672 3.2.2)
        self.assertEqual(dane([ta], mx="other.probe.test"), ("nomatch", "-1"))
        # PKIX-EE is unusable for SMTP (RFC 7672 3.1.3), even matching
        self.assertEqual(dane([pkix]), ("nomatch", "-1"))
        # full-certificate data (matching type 0) and SHA-512
        full = "3 0 0 " + c.der("leaf.pem").hex()
        self.assertEqual(dane([full]), ("match", "0"))
        sha512 = "3 0 2 " + hashlib.sha512(c.der("leaf.pem")).hexdigest()
        self.assertEqual(dane([sha512]), ("match", "0"))

    # ---- versions and weak classes ----

    def test_tls12_only_server_versions(self):
        c = self.certs
        s = self.serve(tls=c.ctx(minv=ssl.TLSVersion.TLSv1_2, maxv=ssl.TLSVersion.TLSv1_2))
        a, _ = self.probe(s, per_host=3)
        self.assertEqual(a["tls_version"], "TLSv1.2")
        self.assertEqual(a["version.TLSv1.2"], "yes")
        self.assertTrue(a["version.TLSv1.2.detail"].startswith("TLSv1.2 TLS_"),
                        a["version.TLSv1.2.detail"])
        self.assertEqual(a["version.TLSv1.3"], "no", a["version.TLSv1.3.detail"])
        self.assertIn("version", a["version.TLSv1.3.detail"])
        for v in ("TLSv1.0", "TLSv1.1"):
            # refused, or this OpenSSL cannot even offer it: said so
            self.assertIn(a["version." + v], ("no", "unknown"))
            if a["version." + v] == "unknown":
                self.assertIn("cannot offer", a["version.%s.detail" % v])
        self.assertLessEqual(s.max_conns, 3)

    def test_old_versions_accepted_when_the_server_allows_them(self):
        c = self.certs
        s = self.serve(tls=c.ctx(minv=ssl.TLSVersion.TLSv1, ciphers="ALL:@SECLEVEL=0"))
        a, _ = self.probe(s)
        for v in ("TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"):
            self.assertEqual(a["version." + v], "yes", a["version.%s.detail" % v])
            self.assertTrue(a["version.%s.detail" % v].startswith(v), a)

    def test_tls10_only_server_is_still_reached_by_the_main_handshake(self):
        c = self.certs
        s = self.serve(tls=c.ctx(minv=ssl.TLSVersion.TLSv1, maxv=ssl.TLSVersion.TLSv1,
                                 ciphers="ALL:@SECLEVEL=0"), rcpt=filtering_rcpt)
        a, _ = self.probe(s, per_host=3)
        self.assertEqual(a["stop"], "done", a.get("stop_detail"))
        self.assertEqual(a["tls_version"], "TLSv1.0")
        self.assertTrue(a["tls_cipher"].startswith("TLS_"), a["tls_cipher"])
        self.assertEqual({v: a["version." + v] for v in
                          ("TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")},
                         {"TLSv1.0": "yes", "TLSv1.1": "no", "TLSv1.2": "no",
                          "TLSv1.3": "no"})
        self.assertEqual(a["recipient_filtering"], "yes")

    def test_weak_classes_on_a_permissive_and_a_strict_server(self):
        c = self.certs
        loose = self.serve(tls=c.ctx(minv=ssl.TLSVersion.TLSv1, ciphers="ALL:@SECLEVEL=0"))
        a, _ = self.probe(loose, per_host=4)
        self.assertEqual(a["weak.cbc_only"], "yes", a["weak.cbc_only.detail"])
        self.assertIn("CBC", a["weak.cbc_only.detail"])
        self.assertEqual(a["weak.no_pfs"], "yes", a["weak.no_pfs.detail"])
        self.assertIn("TLS_RSA_WITH_", a["weak.no_pfs.detail"])
        self.assertEqual(a["weak.export"], "unknown")
        self.assertIn("no export suites", a["weak.export.detail"])
        for w in ("null", "rc4", "3des"):
            self.assertIn(a["weak." + w], ("no", "unknown", "yes"))
            self.assertTrue(a["weak.%s.detail" % w])
        strict = self.serve(tls=c.ctx(ciphers="ECDHE+AESGCM:ECDHE+CHACHA20"))
        a, _ = self.probe(strict, per_host=4)
        for w in ("cbc_only", "no_pfs", "null", "3des"):
            self.assertIn(a["weak." + w], ("no", "unknown"), a["weak.%s.detail" % w])
        self.assertEqual(a["weak.cbc_only"], "no")
        self.assertEqual(a["weak.no_pfs"], "no")

    # ---- hostile servers: bounded time and memory, a clear stop ----

    def test_slow_banner_one_byte_a_second_times_out(self):
        s = self.serve(hostile="slow-banner")
        a, took = self.probe(s, timeout_ms=1500)
        self.assertEqual(a["stop"], "timeout")
        self.assertIn("banner", a["stop_detail"])
        self.assertLess(took, 10 * harness.SLOW)

    def test_endless_multiline_reply_is_a_protocol_error(self):
        s = self.serve(hostile="endless-ehlo")
        a, took = self.probe(s)
        self.assertEqual(a["stop"], "protocol")
        self.assertIn("more than 100 lines", a["stop_detail"])
        self.assertLess(took, 10 * harness.SLOW)

    def test_endless_line_is_a_protocol_error(self):
        s = self.serve(hostile="long-line")
        a, took = self.probe(s)
        self.assertEqual(a["stop"], "protocol")
        self.assertIn("longer than 4096", a["stop_detail"])

    def test_not_smtp_is_a_protocol_error(self):
        s = self.serve(hostile="not-smtp")
        a, _ = self.probe(s)
        self.assertEqual(a["stop"], "protocol")
        self.assertIn("not an SMTP reply", a["stop_detail"])

    def test_garbage_after_starttls_fails_the_handshake(self):
        s = self.serve(tls=self.certs.ctx(), hostile="garbage-after-starttls")
        a, took = self.probe(s, timeout_ms=1500)
        self.assertEqual(a["stop"], "tls", a)
        self.assertIn("TLS handshake failed", a["stop_detail"])
        self.assertTrue(a.get("tls_error"))
        self.assertEqual(a["tls"], "0")
        self.assertLess(took, 20 * harness.SLOW)

    def test_data_pipelined_before_the_handshake_is_discarded(self):
        s = self.serve(tls=self.certs.ctx(), hostile="pipeline-before-tls")
        a, _ = self.probe(s)
        self.assertEqual(a["tls"], "1")
        self.assertTrue(any("discarded" in l for l in a["tx"]), a["tx"])
        self.assertNotIn("S: 250 injected before TLS", a["tx"])
        self.assertEqual(a["stop"], "done", a.get("stop_detail"))

    def test_huge_certificate_chain_ends_the_handshake(self):
        c = self.certs
        with open(c.path("huge.pem"), "w") as f:
            f.write(c.read("self.pem") + c.read("ca.pem") * 600)
        s = self.serve(tls=c.ctx("huge.pem", "self.key"), rcpt=filtering_rcpt)
        a, took = self.probe(s)
        self.assertEqual(a["stop"], "tls", a)
        self.assertIn("excessive message size", a["stop_detail"])
        # the policy checks ran again in plain text
        self.assertEqual(a["recipient_filtering"], "yes")
        self.assertTrue(any("without STARTTLS" in l for l in a["tx"]), a["tx"])
        self.assertEqual(a["version.TLSv1.3"], "no")

    def test_silence_after_starttls_times_out_in_the_handshake(self):
        s = self.serve(tls=self.certs.ctx(), hostile="silent-after-starttls")
        a, took = self.probe(s, timeout_ms=1000, per_host=1)
        self.assertEqual(a["stop"], "timeout", a)
        self.assertIn("TLS handshake did not finish within 1000 ms", a["stop_detail"])
        self.assertLess(took, 30 * harness.SLOW)

    def test_bytes_per_connection_are_bounded(self):
        s = self.serve(hostile="fat-ehlo")
        a, _ = self.probe(s)
        self.assertEqual(a["stop"], "protocol")
        self.assertIn("more than 262144 bytes", a["stop_detail"])

    def test_transcript_is_cut_at_its_bound(self):
        many = ["X-EXT-%03d" % i for i in range(95)]
        s = self.serve(tls=self.certs.ctx(), exts=many)
        a, _ = self.probe(s)
        self.assertEqual(a["stop"], "done")
        self.assertEqual(len(a["tx"]), 200)
        self.assertEqual(a["tx"][-1], "-- transcript cut at 200 lines")
        # the dialogue went on all the same
        self.assertEqual(s.seen[0][-1], "QUIT")

    def test_one_connection_at_a_time_with_per_host_1(self):
        s = self.serve(tls=self.certs.ctx(), delay=0.02)
        a, _ = self.probe(s, per_host=1)
        self.assertEqual(s.max_conns, 1)
        # the main dialogue, then one connection per try it could offer
        offered = sum(1 for k, v in a.items()
                      if (k.startswith("version.") or k.startswith("weak."))
                      and not k.endswith(".detail") and v != "unknown")
        self.assertEqual(len(s.seen), 1 + offered)
        for cmds in s.seen[1:]:
            self.assertEqual(cmds[:2], ["EHLO prober.measure.test", "STARTTLS"])
            self.assertNotIn("MAIL", " ".join(cmds))

    def test_address_deadline_ends_the_tries_in_flight(self):
        # a try takes 4 replies (1.2 s), the dialogue 20 (6 s): at 2 s the
        # first tries are in flight and the others not started
        s = self.serve(tls=self.certs.ctx(), delay=0.3)
        a, took = self.probe(s, timeout_ms=2000, deadline_ms=2000, per_host=3)
        self.assertEqual(a["stop"], "timeout", a.get("stop_detail"))
        self.assertIn("deadline", a["stop_detail"])
        details = [v for k, v in a.items() if k.endswith(".detail")]
        self.assertTrue(any("not finished: the address's deadline" in d
                            for d in details), details)
        self.assertTrue(any("not tried: the address's deadline" in d
                            for d in details), details)
        self.assertEqual(a["progress"][-1], "done")
        self.assertLess(took, 6 * harness.SLOW)

    def test_address_deadline_bounds_a_slow_dialogue(self):
        s = self.serve(delay=0.5)
        a, took = self.probe(s, timeout_ms=2000, deadline_ms=1800)
        self.assertEqual(a["stop"], "timeout")
        self.assertIn("deadline", a["stop_detail"])
        self.assertLess(took, 6 * harness.SLOW)


# docs/tls-profiles.md: what each of the project's own hosts accepts
HOST_VERSIONS = {
    "tls13": {"TLSv1.0": "no", "TLSv1.1": "no", "TLSv1.2": "no", "TLSv1.3": "yes"},
    "tls12": {"TLSv1.0": "yes", "TLSv1.1": "yes", "TLSv1.2": "yes", "TLSv1.3": "no"},
    "strong": {"TLSv1.0": "no", "TLSv1.1": "no", "TLSv1.2": "yes", "TLSv1.3": "yes"},
    "medium": {"TLSv1.0": "no", "TLSv1.1": "no", "TLSv1.2": "yes", "TLSv1.3": "no"},
    "tls": {"TLSv1.0": "yes", "TLSv1.1": "yes", "TLSv1.2": "yes", "TLSv1.3": "yes"},
}
HOST_WEAK = {           # cbc_only, no_pfs
    "tls13": ("no", "no"), "tls12": ("yes", "yes"), "strong": ("no", "no"),
    "medium": ("yes", "no"), "tls": ("yes", "yes"),
}


class ProbeOwnHosts(harness.DaemonTestCase):
    """The project's own mailscoped hosts, whose TLS profiles are known:
    the engine must find exactly those."""

    def probe_host(self, host, family=4, **kw):
        addr, port = self.d.addr(host, family)
        env = {"SSL_CERT_FILE": self.d.ca}
        res, _ = run_driver(port, addrs=(addr,), mx=harness.mx_name(
            harness.HOST_CHALLENGE[host]), env=env, **kw)
        return res[0]

    def test_versions_and_weak_classes_per_host(self):
        for host, versions in HOST_VERSIONS.items():
            with self.subTest(host=host):
                a = self.probe_host(host)
                self.assertEqual(a["tls"], "1", a.get("stop_detail"))
                got = {v: a["version." + v] for v in versions}
                self.assertEqual(got, versions, {v: a["version.%s.detail" % v]
                                                 for v in versions})
                self.assertEqual((a["weak.cbc_only"], a["weak.no_pfs"]), HOST_WEAK[host],
                                 (a["weak.cbc_only.detail"], a["weak.no_pfs.detail"]))
                self.assertEqual(a["chain_valid"], "yes", a.get("chain_error"))
                self.assertEqual(a["name_match"], "yes")
                # mailscoped is never a relay, and the probe sent no DATA
                self.assertEqual(a["open_relay"], "no")
                self.assertNotIn("C: DATA", a["tx"])

    def test_bad_certificate_host(self):
        a = self.probe_host("tls-bad")
        self.assertEqual(a["tls"], "1")
        self.assertEqual(a["chain_valid"], "no")
        self.assertIn("expired", a["chain_error"])
        self.assertEqual(a["name_match"], "no")

    def test_plain_host_offers_no_starttls(self):
        a = self.probe_host("plain")
        self.assertEqual(a["stop"], "done", a.get("stop_detail"))
        self.assertEqual(a["starttls_code"], "0")
        self.assertNotIn("STARTTLS", a["ext"].split(","))
        self.assertEqual(a["open_relay"], "no")

    def test_ipv6_listener(self):
        a = self.probe_host("tls13", family=6)
        self.assertEqual(a["tls_version"], "TLSv1.3")
        self.assertEqual(a["version.TLSv1.2"], "no")


if __name__ == "__main__":
    unittest.main()
