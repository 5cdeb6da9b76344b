"""The DNS facts of `mailscope probe` (probe_dns.c, probe_sts.c) against
real servers: a network namespace of the test's own with NSD on
127.0.0.1:53 (a signed zone, an unsigned one, reverse zones), a
validating Unbound on 127.0.0.1:5353 that trusts the signed zone's key,
and MTA-STS web servers (Python's ssl) on 192.0.2.8x:443 with a test CA
brought by SSL_CERT_FILE.  tests/probe/probe_dns_driver runs in the
namespace and prints the facts; every process is stopped by PID.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import harness
from harness import deadline, describe, run

DRIVER = os.path.join(harness.BUILDDIR, "tests", "probe", "probe_dns_driver")
UNBOUND_PORT = 5353
SILENT_PORT = 5454      # a "resolver" that reads queries and never answers
TLSA_HEX = "aa" * 32

SIGNED = """$ORIGIN signed.test.
$TTL 300
@ SOA ns.signed.test. hostmaster.signed.test. 1 3600 600 86400 300
@ NS ns.signed.test.
ns A 127.0.0.1
@ MX 10 mx1.signed.test.
mx1 A 192.0.2.10
_25._tcp.mx1 TLSA 3 1 1 %s
; made bogus after signing: its MX rdata changed
bogus MX 10 mx1.signed.test.
""" % TLSA_HEX

PLAIN = """$ORIGIN plain.test.
$TTL 300
@ SOA ns.plain.test. hostmaster.plain.test. 1 3600 600 86400 300
@ NS ns.plain.test.
ns A 127.0.0.1
; two MX, given in the wrong order, a third by an STS wildcard
two MX 20 b.plain.test.
two MX 10 a.plain.test.
two MX 30 c.sub.plain.test.
a A 192.0.2.20
a AAAA 2001:db8::20
b A 192.0.2.21
c.sub A 192.0.2.22
nomatch A 192.0.2.99
_25._tcp.a TLSA 3 1 1 %(tlsa)s
two TXT "v=spf1 include:s1.plain.test -all"
s1 TXT "v=spf1 a mx include:s2.plain.test ~all"
s2 TXT "v=spf1 a mx a:x.plain.test mx:y.plain.test/24 include:s3.plain.test"
s3 TXT "v=spf1 a mx ip4:192.0.2.0/24 ?all"
_dmarc.two TXT "v=DMARC1; p=reject; sp=quarantine; pct=50; rua=mailto:d@plain.test; ruf=mailto:f@plain.test"
; the Organizational Domain's, for the names without their own
_dmarc TXT "v=DMARC1; p=reject; sp=none; rua=mailto:org@plain.test"
_smtp._tls.two TXT "v=TLSRPTv1; rua=mailto:tlsrpt@plain.test"
_mta-sts.two TXT "v=STSv1; id=20261207"
mta-sts.two A 192.0.2.80
; RFC 7505
null MX 0 .
null TXT "v=spf1 -all"
; RFC 5321 5.1
implicit A 192.0.2.30
loop TXT "v=spf1 include:loop2.plain.test -all"
loop2 TXT "v=spf1 include:loop.plain.test -all"
bad TXT "v=spf1 ip4:192.0.2.300 foo mx:/99 -all"
_dmarc.bad TXT "v=DMARC1; p=bogus; rua=mailto:x@plain.test"
_mta-sts.bad TXT "v=STSv1; id=not-alnum!"
_smtp._tls.bad TXT "v=TLSRPTv1; rua=ftp://x.plain.test"
dup TXT "v=spf1 -all"
dup TXT "v=spf1 ~all"
redir TXT "v=spf1 mx redirect=null.plain.test"
sts404 MX 10 a.plain.test.
_mta-sts.sts404 TXT "v=STSv1; id=1"
mta-sts.sts404 A 192.0.2.81
stsself MX 10 a.plain.test.
_mta-sts.stsself TXT "v=STSv1; id=1"
mta-sts.stsself A 192.0.2.82
stsname MX 10 a.plain.test.
_mta-sts.stsname TXT "v=STSv1; id=1"
mta-sts.stsname A 192.0.2.83
stsredir MX 10 a.plain.test.
_mta-sts.stsredir TXT "v=STSv1; id=1"
mta-sts.stsredir A 192.0.2.84
_mta-sts.stssilent TXT "v=STSv1; id=1"
mta-sts.stssilent A 192.0.2.85
_mta-sts.stsbig TXT "v=STSv1; id=1"
mta-sts.stsbig A 192.0.2.86
; a wildcard matches one label: a.plain.test, not c.sub.plain.test
stschunk MX 10 a.plain.test.
stschunk MX 20 c.sub.plain.test.
_mta-sts.stschunk TXT "v=STSv1; id=1"
mta-sts.stschunk A 192.0.2.87
_mta-sts.stsbad TXT "v=STSv1; id=1"
mta-sts.stsbad A 192.0.2.88
_mta-sts.stsnoaddr TXT "v=STSv1; id=1"
; SPF includes a domain without a record, and macros not followed
_dmarc.long TXT "v=DMARC1; p=reject; x1=%(pad)s" "%(pad)s" "%(pad)s; rua=mailto:long@plain.test"
noinc TXT "v=spf1 include:nothing.plain.test exists:%%{i}.e.plain.test -all"
""" % {"tlsa": TLSA_HEX, "pad": "a" * 200} + "".join(
    "many MX %d h%02d.plain.test.\n" % (100 - i, i) for i in range(40))

REV4 = """$ORIGIN 2.0.192.in-addr.arpa.
$TTL 300
@ SOA ns.plain.test. hostmaster.plain.test. 1 3600 600 86400 300
@ NS ns.plain.test.
10 PTR mx1.signed.test.
20 PTR a.plain.test.
21 PTR nomatch.plain.test.
"""

REV6 = """$ORIGIN 8.b.d.0.1.0.0.2.ip6.arpa.
$TTL 300
@ SOA ns.plain.test. hostmaster.plain.test. 1 3600 600 86400 300
@ NS ns.plain.test.
0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 PTR a.plain.test.
"""

# A web server for one MTA-STS host, as SPEC (JSON) says: status, body,
# content type, more headers, chunked; "silent": TCP accepted, then nothing.
SERVER = r"""
import http.server, json, socket, ssl, sys, time
addr, cert, key, spec = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
if spec.get("silent"):
    s = socket.socket(); s.bind((addr, 443)); s.listen(8)
    print("ready", flush=True)
    held = []
    while True:
        c, _ = s.accept(); held.append(c)
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        b = spec.get("body", "").encode()
        if self.path != "/.well-known/mta-sts.txt":
            self.send_response(404); b = b"no\n"
        else:
            self.send_response(spec.get("status", 200))
        self.send_header("Content-Type", spec.get("type", "text/plain"))
        self.send_header("Connection", "close")
        for k, v in spec.get("headers", []):
            self.send_header(k, v)
        if spec.get("chunked"):
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(b), 7):
                part = b[i:i + 7]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(b)))
            self.end_headers()
            self.wfile.write(b)
    def log_message(self, *a):
        sys.stderr.write("%s\n" % self.requestline)
s = http.server.HTTPServer((addr, 443), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
s.socket = ctx.wrap_socket(s.socket, server_side=True)
print("ready", flush=True)
s.serve_forever()
"""

POLICY = ("version: STSv1\r\nmode: enforce\r\nmx: a.plain.test\r\n"
          "mx: *.sub.plain.test\r\nmax_age: 86400\r\n")
# (the MTA-STS host's last label, its certificate's, the server's spec)
WEB = [
    (80, "two", "two", {"body": POLICY}),
    (81, "sts404", "sts404", {"status": 404, "body": "none"}),
    (82, "stsself", "self", {"body": POLICY}),
    (83, "stsname", "two", {"body": POLICY}),
    (84, "stsredir", "stsredir", {
        "status": 301, "body": "moved",
        "headers": [["Location", "https://mta-sts.two.plain.test/"]]}),
    (85, "stssilent", "stssilent", {"silent": True}),
    (86, "stsbig", "stsbig", {"body": "version: STSv1\n" + "x" * 70000}),
    (87, "stschunk", "stschunk", {
        "body": "version: STSv1\nmode: testing\nmx: *.plain.test\n"
                "max_age: 604800\n", "chunked": True,
        "type": "text/plain; charset=utf-8"}),
    (88, "stsbad", "stsbad", {
        "body": "version: STSv2\nmode: strict\nmax_age: 99999999999\n"
                "junk\n", "type": "text/html"}),
]


def need(*programs):
    missing = [p for p in programs if shutil.which(p) is None]
    if missing:
        raise AssertionError("not installed: %s (contrib/install-deps)"
                             % " ".join(missing))


class ProbeDnsLab:
    def __init__(self):
        self.ns = "msprobedns%d" % os.getpid()
        self.procs = []
        self.root = tempfile.mkdtemp(prefix="ms-probe-dns-")

    def nsrun(self, argv, **kw):
        return run(["ip", "netns", "exec", self.ns] + argv, **kw)

    def start(self):
        need("ip", "nsd", "unbound", "ldns-keygen", "ldns-signzone",
             "openssl")
        cp = run(["ip", "netns", "add", self.ns])
        if cp.returncode != 0:
            raise unittest.SkipTest("cannot create a network namespace: %s"
                                    % cp.stderr.strip())
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self):
        r = self.root
        assert self.nsrun(["ip", "link", "set", "lo", "up"]).returncode == 0
        for i in range(80, 80 + len(WEB)):
            cp = self.nsrun(["ip", "addr", "add", "192.0.2.%d/32" % i,
                             "dev", "lo"])
            assert cp.returncode == 0, describe(cp)
        # the zones: signed.test signed with one combined key
        for name, text in (("signed.test", SIGNED), ("plain.test", PLAIN),
                           ("2.0.192.in-addr.arpa", REV4),
                           ("8.b.d.0.1.0.0.2.ip6.arpa", REV6)):
            with open(os.path.join(r, name + ".zone"), "w") as f:
                f.write(text)
        cp = run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k",
                  "signed.test."], cwd=r)
        assert cp.returncode == 0, describe(cp)
        key = cp.stdout.strip()
        cp = run(["ldns-signzone", "signed.test.zone", key], cwd=r)
        assert cp.returncode == 0, describe(cp)
        signed = os.path.join(r, "signed.test.zone.signed")
        with open(signed) as f:
            text = f.read()
        text, n = re.subn(r"^(bogus\.signed\.test\.\s+\d+\s+IN\s+MX\s+)10 ",
                          r"\g<1>20 ", text, flags=re.M)
        assert n == 1, text
        with open(signed, "w") as f:
            f.write(text)
        zones = [("signed.test", "signed.test.zone.signed"),
                 ("plain.test", "plain.test.zone"),
                 ("2.0.192.in-addr.arpa", "2.0.192.in-addr.arpa.zone"),
                 ("8.b.d.0.1.0.0.2.ip6.arpa", "8.b.d.0.1.0.0.2.ip6.arpa.zone")]
        conf = ('server:\n\tusername: ""\n\tchroot: ""\n\tdatabase: ""\n'
                '\tzonesdir: "%(d)s"\n\tzonelistfile: "%(d)s/zone.list"\n'
                '\txfrdfile: "%(d)s/xfrd.state"\n\txfrdir: "%(d)s"\n'
                '\tpidfile: "%(d)s/nsd.pid"\n\tlogfile: "%(d)s/nsd.log"\n'
                '\tip-address: 127.0.0.1\n\tport: 53\n\tserver-count: 1\n'
                '\tverbosity: 1\nremote-control:\n\tcontrol-enable: no\n'
                % {"d": r})
        for name, f in zones:
            conf += 'zone:\n\tname: "%s"\n\tzonefile: "%s"\n' % (name, f)
        with open(os.path.join(r, "nsd.conf"), "w") as f:
            f.write(conf)
        self._spawn("nsd", ["nsd", "-d", "-c", os.path.join(r, "nsd.conf")])
        ub = ('server:\n\tinterface: 127.0.0.1@%(port)d\n\tusername: ""\n'
              '\tchroot: ""\n\tdirectory: "%(d)s"\n'
              '\tpidfile: "%(d)s/unbound.pid"\n'
              '\tlogfile: "%(d)s/unbound.log"\n\tuse-syslog: no\n'
              '\tdo-daemonize: no\n\tnum-threads: 1\n\tdo-ip6: no\n'
              '\tdo-not-query-localhost: no\n'
              '\tmodule-config: "validator iterator"\n'
              '\ttrust-anchor-file: "%(d)s/%(key)s.key"\n'
              '\tlocal-zone: "test." nodefault\n'
              '\tlocal-zone: "2.0.192.in-addr.arpa." nodefault\n'
              '\tlocal-zone: "8.b.d.0.1.0.0.2.ip6.arpa." nodefault\n'
              '\tval-log-level: 2\n\tverbosity: 1\n'
              'remote-control:\n\tcontrol-enable: no\n'
              % {"port": UNBOUND_PORT, "d": r, "key": key})
        for name, _ in zones:
            ub += 'stub-zone:\n\tname: "%s."\n\tstub-addr: 127.0.0.1@53\n' % name
        with open(os.path.join(r, "unbound.conf"), "w") as f:
            f.write(ub)
        self._spawn("unbound", ["unbound", "-d", "-c",
                                os.path.join(r, "unbound.conf")])
        self._certs()
        for i, _, cert, spec in WEB:
            self._web(i, cert, spec)
        self._silent()
        self._wait_dns()

    def _silent(self):
        p = self._spawn("silent", [sys.executable, "-u", "-c",
                                   "import socket\n"
                                   "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                                   "s.bind(('127.0.0.1', %d))\n"
                                   "print('ready', flush=True)\n"
                                   "while True: s.recv(4096)\n" % SILENT_PORT],
                        pipe=True)
        if "ready" not in p.stdout.readline():
            raise AssertionError("silent resolver did not start\n"
                                 + self.logs())

    def _certs(self):
        r = self.root
        ossl = lambda *a: run(["openssl"] + list(a), cwd=r)
        cp = ossl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
                  "-out", "ca.pem", "-days", "30", "-subj", "/CN=probe test CA")
        assert cp.returncode == 0, describe(cp)
        for name in [w[2] for w in WEB if w[2] not in ("self",)]:
            host = "mta-sts.%s.plain.test" % name
            cp = ossl("req", "-newkey", "ec", "-pkeyopt",
                      "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                      name + ".key", "-out", name + ".csr", "-subj",
                      "/CN=" + host)
            assert cp.returncode == 0, describe(cp)
            with open(os.path.join(r, name + ".ext"), "w") as f:
                f.write("subjectAltName=DNS:%s\n" % host)
            cp = ossl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem",
                      "-CAkey", "ca.key", "-CAcreateserial", "-days", "30",
                      "-extfile", name + ".ext", "-out", name + ".pem")
            assert cp.returncode == 0, describe(cp)
        # self-signed, for the right name, no CA's
        cp = ossl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:P-256", "-nodes", "-keyout", "self.key",
                  "-out", "self.pem", "-days", "30", "-subj",
                  "/CN=mta-sts.stsself.plain.test", "-addext",
                  "subjectAltName=DNS:mta-sts.stsself.plain.test")
        assert cp.returncode == 0, describe(cp)

    def _web(self, i, cert, spec):
        r = self.root
        script = os.path.join(r, "sts_server.py")
        with open(script, "w") as f:
            f.write(SERVER)
        p = self._spawn("web%d" % i, [
            sys.executable, "-u", script, "192.0.2.%d" % i,
            os.path.join(r, cert + ".pem"), os.path.join(r, cert + ".key"),
            json.dumps(spec)], pipe=True)
        end = time.monotonic() + deadline(10)
        line = p.stdout.readline()
        if "ready" not in line or time.monotonic() > end:
            raise AssertionError("web server %d did not start\n%s"
                                 % (i, self.logs()))

    def _spawn(self, name, argv, pipe=False):
        log = open(os.path.join(self.root, name + ".out"), "w")
        p = subprocess.Popen(["ip", "netns", "exec", self.ns] + argv,
                             stdout=subprocess.PIPE if pipe else log,
                             stderr=log, stdin=subprocess.DEVNULL,
                             text=True)
        self.procs.append((p, log))
        return p

    def _wait_dns(self):
        end = time.monotonic() + deadline(10)
        while True:
            cp = self.nsrun(["dig", "+tries=1", "+time=1", "-p",
                             str(UNBOUND_PORT), "@127.0.0.1", "signed.test",
                             "MX"], timeout=30)
            if "status: NOERROR" in cp.stdout and " ad" in cp.stdout:
                return
            if time.monotonic() > end or any(p.poll() is not None
                                              for p, _ in self.procs):
                raise AssertionError("no validated answer from Unbound\n%s\n%s"
                                     % (describe(cp), self.logs()))
            time.sleep(0.1)

    def logs(self):
        out = []
        for f in sorted(os.listdir(self.root)):
            if f.endswith((".log", ".out")):
                with open(os.path.join(self.root, f), errors="replace") as fp:
                    out.append("--- %s\n%s" % (f, fp.read()[-3000:]))
        return "\n".join(out)

    def probe(self, domain, *opts, port=UNBOUND_PORT):
        """The driver's facts: {key: [values]}."""
        env = dict(os.environ, SSL_CERT_FILE=os.path.join(self.root, "ca.pem"))
        env.pop("SSL_CERT_DIR", None)
        cp = run(["ip", "netns", "exec", self.ns] +
                 harness.valgrind([DRIVER, "-t", "3000"] + list(opts) +
                                  ["127.0.0.1:%d" % port, domain],
                                  tool=True),
                 env=env, timeout=60)
        if cp.returncode != 0 or harness.sanitizer_report(cp.stderr):
            raise AssertionError("driver failed\n%s\n%s"
                                 % (describe(cp), self.logs()))
        facts = {}
        for line in cp.stdout.splitlines():
            k, _, v = line.partition("=")
            facts.setdefault(k, []).append(v)
        return facts

    def stop(self):
        for p, log in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(deadline(5))
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            if p.stdout is not None:
                p.stdout.close()
            log.close()
        self.procs = []
        run(["ip", "netns", "delete", self.ns])
        if not harness.KEEP_TMP:
            shutil.rmtree(self.root, True)


def one(facts, key):
    v = facts.get(key)
    assert v is not None and len(v) == 1, "%s: %r" % (key, v)
    return v[0]


class TestProbeDns(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(DRIVER):
            raise AssertionError("%s not built (make check builds it)"
                                 % DRIVER)
        cls.lab = ProbeDnsLab()
        cls.lab.start()

    @classmethod
    def tearDownClass(cls):
        cls.lab.stop()

    def probe(self, domain, *opts):
        return self.lab.probe(domain, *opts)

    def test_mx_two_hosts_sorted_by_preference_with_addresses(self):
        f = self.probe("two.plain.test")
        self.assertEqual(one(f, "mx_q.status"), "noerror")
        self.assertEqual(sorted(f["mx_q.answer"]),
                         ["10 a.plain.test", "20 b.plain.test",
                          "30 c.sub.plain.test"])
        self.assertEqual(one(f, "nmx"), "3")
        self.assertEqual([one(f, "mx%d" % i) for i in range(3)],
                         ["a.plain.test", "b.plain.test", "c.sub.plain.test"])
        self.assertEqual(one(f, "mx0.preference"), "10")
        self.assertEqual(one(f, "mx1.preference"), "20")
        self.assertEqual(one(f, "null_mx"), "0")
        self.assertEqual(one(f, "implicit_mx"), "0")
        self.assertEqual(one(f, "dnssec"), "no")
        self.assertEqual(one(f, "mx0.naddrs"), "2")
        self.assertEqual(one(f, "mx0.addr0"), "192.0.2.20")
        self.assertEqual(one(f, "mx0.addr1"), "2001:db8::20")
        self.assertEqual(one(f, "mx0.addr1.family"), "6")
        self.assertEqual(one(f, "mx1.aaaa_q.status"), "noerror")
        # left for probe_smtp(): PSTOP_NOT_TRIED would make it skip them
        self.assertEqual(one(f, "mx0.addr0.stop"), "done")

    def test_families_asked_always_addresses_only_of_probed_ones(self):
        f = self.probe("two.plain.test", "-4")
        self.assertEqual(one(f, "mx0.naddrs"), "1")
        self.assertEqual(one(f, "mx0.aaaa_q.answer"), "2001:db8::20")

    def test_ptr_with_and_without_forward_confirmation(self):
        f = self.probe("two.plain.test")
        self.assertEqual(one(f, "mx0.addr0.ptr"), "a.plain.test")
        self.assertEqual(one(f, "mx0.addr0.fcrdns"), "yes")
        self.assertEqual(one(f, "mx0.addr1.ptr"), "a.plain.test")
        self.assertEqual(one(f, "mx0.addr1.fcrdns"), "yes")
        self.assertEqual(one(f, "mx1.addr0.ptr"), "nomatch.plain.test")
        self.assertEqual(one(f, "mx1.addr0.fcrdns"), "no")
        # no PTR at all: nxdomain in the reverse zone
        self.assertEqual(one(f, "mx2.addr0.ptr"), "(null)")
        self.assertEqual(one(f, "mx2.addr0.ptr_q.status"), "nxdomain")
        self.assertEqual(one(f, "mx2.addr0.fcrdns"), "no")

    def test_tlsa_unsigned_has_no_ad_bit(self):
        f = self.probe("two.plain.test")
        self.assertEqual(one(f, "mx0.tlsa_q.status"), "noerror")
        self.assertEqual(one(f, "mx0.tlsa_q.ad"), "0")
        self.assertEqual(one(f, "mx0.tlsa"), "3 1 1 " + TLSA_HEX)
        self.assertEqual(one(f, "mx1.tlsa_q.status"), "nxdomain")
        self.assertNotIn("mx1.tlsa", f)

    def test_signed_zone_mx_and_tlsa_validated(self):
        f = self.probe("signed.test")
        self.assertEqual(one(f, "dnssec"), "yes", self.lab.logs())
        self.assertEqual(one(f, "mx_q.ad"), "1")
        self.assertEqual(one(f, "mx0"), "mx1.signed.test")
        self.assertEqual(one(f, "mx0.tlsa_q.ad"), "1")
        self.assertEqual(one(f, "mx0.tlsa"), "3 1 1 " + TLSA_HEX)
        self.assertEqual(one(f, "mx0.addr0.ptr"), "mx1.signed.test")
        self.assertEqual(one(f, "mx0.addr0.fcrdns"), "yes")

    def test_bogus_mx_is_servfail_without_hosts(self):
        f = self.probe("bogus.signed.test")
        self.assertEqual(one(f, "mx_q.status"), "servfail")
        self.assertEqual(one(f, "dnssec"), "unknown")
        self.assertEqual(one(f, "nmx"), "0")
        self.assertEqual(one(f, "implicit_mx"), "0")

    def test_long_dmarc_record_parsed_whole_kept_bounded(self):
        f = self.probe("long.plain.test")
        self.assertEqual(one(f, "dmarc.rua"), "mailto:long@plain.test")
        self.assertEqual(one(f, "dmarc.policy"), "reject")
        self.assertEqual(len(one(f, "dmarc.record")), 512)

    def test_many_mx_bounded_best_preferences_kept(self):
        f = self.probe("many.plain.test")
        self.assertEqual(one(f, "nmx"), "16")
        self.assertEqual(one(f, "mx0"), "h39.plain.test")
        self.assertEqual(one(f, "mx0.preference"), "61")
        self.assertEqual(one(f, "mx15"), "h24.plain.test")
        self.assertEqual(len(f["mx_q.answer"]), 33)
        self.assertEqual(f["mx_q.answer"][-1], "(8 more records not kept)")

    def test_silent_resolver_bounded_by_the_deadline(self):
        # 2 s a try, two tries: unbounded, MX and the four TXT alone
        # would take 20 s
        t0 = time.monotonic()
        f = self.lab.probe("two.plain.test", "-d", "1500", "-t", "1000",
                           port=SILENT_PORT)
        elapsed = time.monotonic() - t0
        self.assertLess(elapsed, 3.5 * harness.SLOW)
        self.assertEqual(one(f, "mx_q.status"), "timeout")
        self.assertEqual(one(f, "dnssec"), "unknown")
        self.assertEqual(one(f, "nmx"), "0")
        self.assertEqual(one(f, "spf.error"), "TXT lookup: timeout")
        self.assertEqual(one(f, "spf.lookups"), "-1")
        self.assertEqual(one(f, "dmarc.error"), "TXT lookup: timeout")
        self.assertEqual(one(f, "sts.txt_error"), "TXT lookup: timeout")
        self.assertEqual(one(f, "sts.fetched"), "0")

    def test_null_mx_has_no_hosts(self):
        f = self.probe("null.plain.test")
        self.assertEqual(one(f, "null_mx"), "1")
        self.assertEqual(one(f, "nmx"), "0")
        self.assertEqual(one(f, "mx_q.answer"), "0 .")
        self.assertEqual(one(f, "spf.all"), "-all")
        self.assertEqual(one(f, "spf.lookups"), "0")

    def test_implicit_mx_is_the_domain(self):
        f = self.probe("implicit.plain.test")
        self.assertEqual(one(f, "implicit_mx"), "1")
        self.assertEqual(one(f, "nmx"), "1")
        self.assertEqual(one(f, "mx0"), "implicit.plain.test")
        self.assertEqual(one(f, "mx0.addr0"), "192.0.2.30")
        self.assertEqual(one(f, "spf.record"), "(null)")
        self.assertEqual(one(f, "spf.records"), "0")

    def test_no_domain_no_hosts(self):
        f = self.probe("nowhere.plain.test")
        self.assertEqual(one(f, "mx_q.status"), "nxdomain")
        self.assertEqual(one(f, "nmx"), "0")
        self.assertEqual(one(f, "implicit_mx"), "0")

    def test_spf_includes_past_ten_lookups(self):
        f = self.probe("two.plain.test")
        self.assertEqual(one(f, "spf.record"),
                         "v=spf1 include:s1.plain.test -all")
        self.assertEqual(one(f, "spf.records"), "1")
        # include s1 (1) + a mx include (3) + a mx a mx include (5) + a mx (2)
        self.assertEqual(one(f, "spf.lookups"), "11")
        self.assertEqual(one(f, "spf.all"), "-all")
        self.assertIn("11 DNS lookups, more than 10", one(f, "spf.error"))

    def test_spf_include_loop_detected(self):
        f = self.probe("loop.plain.test")
        self.assertIn("loop: loop.plain.test includes itself",
                      one(f, "spf.error"))

    def test_spf_syntax_errors(self):
        f = self.probe("bad.plain.test")
        err = one(f, "spf.error")
        self.assertIn("bad term 'ip4:192.0.2.300'", err)
        self.assertIn("bad term 'foo'", err)
        self.assertIn("bad term 'mx:/99'", err)

    def test_two_spf_records(self):
        f = self.probe("dup.plain.test")
        self.assertEqual(one(f, "spf.records"), "2")
        self.assertIn("2 v=spf1 records", one(f, "spf.error"))

    def test_spf_redirect_followed(self):
        f = self.probe("redir.plain.test")
        self.assertEqual(one(f, "spf.lookups"), "2")
        self.assertEqual(one(f, "spf.all"), "-all")
        self.assertEqual(one(f, "spf.error"), "(null)")

    def test_dmarc_tlsrpt_and_sts_records(self):
        f = self.probe("two.plain.test")
        self.assertEqual(one(f, "dmarc.policy"), "reject")
        self.assertEqual(one(f, "dmarc.subdomain_policy"), "quarantine")
        self.assertEqual(one(f, "dmarc.pct"), "50")
        self.assertEqual(one(f, "dmarc.rua"), "mailto:d@plain.test")
        self.assertEqual(one(f, "dmarc.ruf"), "mailto:f@plain.test")
        self.assertEqual(one(f, "dmarc.error"), "(null)")
        self.assertEqual(one(f, "tlsrpt.rua"), "mailto:tlsrpt@plain.test")
        self.assertEqual(one(f, "tlsrpt.error"), "(null)")
        self.assertEqual(one(f, "sts.id"), "20261207")
        self.assertEqual(one(f, "sts.txt_error"), "(null)")

    def test_dmarc_of_the_organizational_domain(self):
        """RFC 7489 6.6.3: no _dmarc.implicit.plain.test, so plain.test's
        record, with its sp= as the policy; a name with its own record
        keeps it."""
        f = self.probe("implicit.plain.test")
        self.assertEqual(one(f, "dmarc.org_domain"), "plain.test")
        self.assertEqual(one(f, "dmarc.rua"), "mailto:org@plain.test")
        self.assertEqual(one(f, "dmarc.policy"), "none")
        self.assertEqual(one(f, "dmarc.subdomain_policy"), "none")
        f = self.probe("two.plain.test")
        self.assertEqual(one(f, "dmarc.org_domain"), "(null)")
        self.assertEqual(one(f, "dmarc.policy"), "reject")

    def test_bad_dmarc_tlsrpt_sts_records(self):
        f = self.probe("bad.plain.test")
        # RFC 7489 6.6.3 step 6: an invalid p= with a valid rua= is none
        self.assertEqual(one(f, "dmarc.policy"), "none")
        self.assertIn("invalid tags ignored: p", one(f, "dmarc.error"))
        self.assertIn("neither mailto: nor https:", one(f, "tlsrpt.error"))
        self.assertIn("id= not 1 to 32 letters and digits",
                      one(f, "sts.txt_error"))

    def test_sts_policy_fetched_and_matched(self):
        f = self.probe("two.plain.test")
        self.assertEqual(one(f, "sts.cert_valid"), "yes", self.lab.logs())
        self.assertEqual(one(f, "sts.http_status"), "200",
                         one(f, "sts.fetch_error"))
        self.assertEqual(one(f, "sts.fetched"), "1")
        self.assertEqual(one(f, "sts.fetch_error"), "(null)")
        self.assertEqual(one(f, "sts.mode"), "enforce")
        self.assertEqual(one(f, "sts.max_age"), "86400")
        self.assertEqual(f["sts.mx"], ["a.plain.test", "*.sub.plain.test"])
        self.assertEqual(one(f, "mx0.sts_match"), "yes")
        self.assertEqual(one(f, "mx1.sts_match"), "no")
        self.assertEqual(one(f, "mx2.sts_match"), "yes")

    def test_sts_policy_404(self):
        f = self.probe("sts404.plain.test")
        self.assertEqual(one(f, "sts.cert_valid"), "yes")
        self.assertEqual(one(f, "sts.http_status"), "404")
        self.assertEqual(one(f, "sts.fetched"), "0")
        self.assertEqual(one(f, "sts.fetch_error"), "HTTP 404")
        self.assertEqual(one(f, "mx0.sts_match"), "unknown")

    def test_sts_redirect_not_followed(self):
        f = self.probe("stsredir.plain.test")
        self.assertEqual(one(f, "sts.http_status"), "301")
        self.assertIn("redirect, not followed", one(f, "sts.fetch_error"))
        self.assertEqual(one(f, "sts.fetched"), "0")

    def test_sts_self_signed_certificate_refused(self):
        f = self.probe("stsself.plain.test")
        self.assertEqual(one(f, "sts.cert_valid"), "no")
        self.assertIn("self-signed", one(f, "sts.fetch_error"))
        self.assertEqual(one(f, "sts.fetched"), "0")
        self.assertEqual(one(f, "sts.http_status"), "0")

    def test_sts_certificate_for_another_name_refused(self):
        f = self.probe("stsname.plain.test")
        self.assertEqual(one(f, "sts.cert_valid"), "no")
        self.assertIn("not valid for mta-sts.stsname.plain.test",
                      one(f, "sts.fetch_error"))
        self.assertEqual(one(f, "sts.fetched"), "0")

    def test_sts_silent_server_bounded_by_the_timeout(self):
        t0 = time.monotonic()
        f = self.probe("stssilent.plain.test")
        elapsed = time.monotonic() - t0
        self.assertIn("TLS handshake: timed out", one(f, "sts.fetch_error"))
        self.assertEqual(one(f, "sts.cert_valid"), "unknown")
        # -t 3000: the handshake's step, with the DNS around it
        self.assertGreater(elapsed, 2.9)
        self.assertLess(elapsed, 6 * harness.SLOW)

    def test_sts_body_over_64k_refused(self):
        f = self.probe("stsbig.plain.test")
        self.assertEqual(one(f, "sts.http_status"), "200")
        self.assertIn("policy body over 64 KiB", one(f, "sts.fetch_error"))
        self.assertEqual(one(f, "sts.fetched"), "0")

    def test_sts_chunked_policy_wildcard_one_label(self):
        f = self.probe("stschunk.plain.test")
        self.assertEqual(one(f, "sts.fetch_error"), "(null)")
        self.assertEqual(one(f, "sts.fetched"), "1")
        self.assertEqual(one(f, "sts.mode"), "testing")
        self.assertEqual(one(f, "sts.max_age"), "604800")
        self.assertEqual(one(f, "sts.policy"), "version: STSv1\\x0amode: "
                         "testing\\x0amx: *.plain.test\\x0amax_age: 604800"
                         "\\x0a")
        self.assertEqual(one(f, "mx0"), "a.plain.test")
        self.assertEqual(one(f, "mx0.sts_match"), "yes")
        self.assertEqual(one(f, "mx1"), "c.sub.plain.test")
        self.assertEqual(one(f, "mx1.sts_match"), "no")

    def test_sts_bad_policy_errors(self):
        f = self.probe("stsbad.plain.test")
        err = one(f, "sts.fetch_error")
        for e in ("Content-Type text/html, not text/plain",
                  "policy: version is not STSv1",
                  "policy: mode is not enforce, testing or none",
                  "policy: max_age is not 1 to 10 digits",
                  "policy: a line without ':'", "policy: no max_age",
                  "policy: no mx"):
            self.assertIn(e, err)
        self.assertEqual(one(f, "sts.mode"), "strict")

    def test_sts_host_without_address(self):
        f = self.probe("stsnoaddr.plain.test")
        self.assertEqual(one(f, "sts.fetch_error"),
                         "mta-sts.stsnoaddr.plain.test: no address "
                         "(A nxdomain, AAAA nxdomain)")

    def test_spf_include_without_record_and_macro(self):
        f = self.probe("noinc.plain.test")
        self.assertEqual(one(f, "spf.lookups"), "2")
        self.assertEqual(one(f, "spf.error"),
                         "include nothing.plain.test: no SPF record")

    def test_sts_public_only_connects_to_no_documentation_address(self):
        f = self.probe("two.plain.test", "-p")
        self.assertEqual(one(f, "sts.fetch_error"),
                         "192.0.2.80: not a public address, not connected to")
        self.assertEqual(one(f, "sts.fetched"), "0")
        self.assertEqual(one(f, "sts.cert_valid"), "unknown")

    def test_sts_no_record_no_fetch(self):
        f = self.probe("signed.test")
        self.assertEqual(one(f, "sts.txt"), "(null)")
        self.assertEqual(one(f, "sts.fetched"), "0")
        self.assertEqual(one(f, "sts.cert_valid"), "unknown")
        self.assertEqual(one(f, "mx0.sts_match"), "unknown")


if __name__ == "__main__":
    unittest.main()
