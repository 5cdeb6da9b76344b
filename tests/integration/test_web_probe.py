"""`mailscope probe` from the web (docs/api.md, "Probes") against the real
daemon: its resolver is NSD, started here on a loopback port with zones
made for these tests, and [web] probe_port is the port of the daemon's
own tls host, so that a domain whose MX is 127.0.0.1 is probed on the
daemon itself.  A listener of the test on 127.0.0.2 at the same port
("the trap") never answers: nothing may ever connect to it.

Covered: the routes are 404 while probe = off; a name that is no domain
is 400; an owner's opt-out by TXT (at the domain and at its
organizational domain) and the operator's probe_opt_out are 403 and
nothing connects; an opt-out record that cannot be read is 503; the
limits per client net (/24) and per domain are 429 with Retry-After, and
a domain over its limit gets its result of the last hour (Age); a probe
of the daemon's own listener is 200, JSON that validates against
docs/probe.schema.json and equals what probe_store() kept, and its page
keeps the CSP, in a headless Chromium too; with probe_private = no an
MX on a private address is not connected to.  The ```sh probe examples
of docs/api.md run too."""

import base64
import hashlib
import json
import os
import re
import select
import socket
import subprocess
import tempfile
import shutil
import time
import unittest

import harness
from harness import config_set, deadline
from test_spf import NSD, NSDServer
from test_web import WebClient, free_port

try:
    import jsonschema
except ImportError:             # contrib/install-deps installs it
    jsonschema = None

SCHEMA = os.path.join(harness.SRCDIR, "docs", "probe.schema.json")
API_MD = os.path.join(harness.SRCDIR, "docs", "api.md")
TRAP = "127.0.0.2"

PROBE_ZONE = """$ORIGIN probe.test.
$TTL 300
@                   SOA   ns.probe.test. hostmaster.probe.test. 1 3600 600 86400 300
@                   NS    ns.probe.test.
ns                  A     127.0.0.1
mx                  A     127.0.0.1
trap                A     127.0.0.2
; the daemon's own tls host is its MX
good                MX    10 mx.probe.test.
; owners who opted out: nothing may connect to the trap
shy                 MX    10 trap.probe.test.
_mailscope-probe.shy TXT  "v=mailscope1; opt-out"
_mailscope-probe.shy TXT  "an unrelated record"
; a record without the token is no opt-out (its MX is the daemon)
keen                MX    10 mx.probe.test.
_mailscope-probe.keen TXT "opt-outs are described at example.org"
; a private address, for probe_private = no
private             MX    10 trap.probe.test.
; a server that never answers, for the queue
slow                MX    10 slowmx.probe.test.
slowmx              A     127.0.0.3
""" + "".join("null%d              MX    0 .\n" % i for i in range(1, 9))

OWNER_ZONE = """$ORIGIN owner.test.
$TTL 300
@                   SOA   ns.probe.test. hostmaster.probe.test. 1 3600 600 86400 300
@                   NS    ns.probe.test.
_mailscope-probe    TXT   "opt-out"
sub                 MX    10 trap.probe.test.
"""

# domains of their own (the limit per domain counts organizational domains)
NULL_ZONE = """$TTL 300
@                   SOA   ns.probe.test. hostmaster.probe.test. 1 3600 600 86400 300
@                   NS    ns.probe.test.
@                   MX    0 .
"""

ZONES = [("probe.test", PROBE_ZONE), ("owner.test", OWNER_ZONE)] + [
    ("null%d.test" % i, NULL_ZONE) for i in range(1, 7)]


class Trap:
    """A TCP listener that accepts nothing on its own: connections() says
    how many were made to it (the kernel completes them in the backlog)."""

    def __init__(self, addr, port):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.bind((addr, port))
        self.s.listen(64)
        self.s.setblocking(False)
        self.count = 0

    def pending(self):
        """A connection waits in the backlog (left there)."""
        return bool(select.select([self.s], [], [], 0)[0])

    def connections(self):
        while True:
            try:
                c, _ = self.s.accept()
            except BlockingIOError:
                return self.count
            c.close()
            self.count += 1

    def close(self):
        self.s.close()


class ProbeDaemon(harness.Daemon):
    """[web] probe_port follows demo-config: the port of [host tls]."""

    def _prepare(self):
        super()._prepare()
        self._write(config_set(self.config_text(), "web", "probe_port",
                               str(self.port("tls"))))


class ProbeCase(WebClient, unittest.TestCase):
    """NSD with ZONES, a daemon resolving through it with probe = on and
    the class's OPTIONS, the trap on 127.0.0.2."""

    options = []

    @classmethod
    def setUpClass(cls):
        harness.require_binaries()
        if not os.access(NSD, os.X_OK):
            raise AssertionError("%s not found: install the Debian package nsd "
                                 "(contrib/install-deps does)" % NSD)
        cls.root = tempfile.mkdtemp(prefix="ms-wprobe-")
        cls.addClassCleanup(shutil.rmtree, cls.root, True)
        port = harness.pick_base_port(1)
        nsd = NSDServer(cls.root, port, served=ZONES)
        cls.addClassCleanup(nsd.stop)
        nsd.start(probe="probe.test")
        cls.http_port = free_port()
        cls.d = ProbeDaemon(cls.__name__, options=[
            ("global", "resolver", "127.0.0.1:%d" % port),
            ("global", "resolver_timeout", "1s"),
            ("web", "http_listen", "127.0.0.1:%d" % cls.http_port),
            ("web", "probe", "on")] + cls.options)
        cls.addClassCleanup(cls.d.close)
        cls.d.start()
        cls.trap = Trap(TRAP, cls.d.port("tls"))
        cls.addClassCleanup(cls.trap.close)

    def api(self, domain, **kw):
        return self.get("/api/probe/" + domain, **kw)

    def assertNothingConnected(self):
        self.assertEqual(self.trap.connections(), 0, "a connection to the trap")

    def assertError(self, r, status, api=True, detail=None):
        self.assertEqual(r.status, status, r)
        self.assertSecurityHeaders(r)
        if api:
            self.assertEqual(r.header("Content-Type"), "application/json")
            body = r.json()
            self.assertEqual((body["status"], body["error"]), (status, body["error"]))
            if detail is not None:
                self.assertIn(detail, body["detail"])
            return body
        self.assertEqual(r.header("Content-Type"), "text/html; charset=utf-8")
        if detail is not None:
            self.assertIn(detail, r.body.decode())
        return r.body.decode()

    def assertPageStyleHashed(self, r):
        """The CSP's style-src hash is the page's one <style>, whatever
        style the page brings; no inline script, no style attribute."""
        page = r.body.decode()
        styles = re.findall(r"<style>(.*?)</style>", page, re.S)
        self.assertEqual(len(styles), 1, "one <style> element")
        digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
        csp = r.header("Content-Security-Policy")
        self.assertIn("style-src 'sha256-%s'" % digest, csp)
        self.assertIn("default-src 'none'", csp)
        self.assertIn("script-src 'self'", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertNotRegex(page, r"<script>|<script [^>]*>[^<]", "no inline script")
        self.assertNotIn(" style=", page)

    def probe_rows(self, domain):
        return self.d.query("SELECT * FROM probes WHERE domain = ? ORDER BY id", (domain,))


class ProbeOff(WebClient, harness.DaemonTestCase):
    """probe = off, the default: the routes do not exist."""

    @classmethod
    def setUpClass(cls):
        cls.http_port = free_port()
        cls.options = [("web", "http_listen", "127.0.0.1:%d" % cls.http_port)]
        super().setUpClass()

    def test_routes_are_404_and_the_start_page_has_no_form(self):
        page404 = self.get("/nothing")
        api404 = self.get("/api/other")
        for path in ("/probe", "/probe?domain=example.org"):
            r = self.get(path)
            self.assertEqual((r.status, r.body), (404, page404.body), path)
        for path in ("/api/probe/example.org", "/api/probe/"):
            r = self.get(path)
            self.assertEqual((r.status, r.body), (404, api404.body), path)
        home = self.get("/")
        self.assertEqual(home.status, 200)
        self.assertNotIn(b"/probe", home.body)
        self.assertNotIn("web: probe of", self.d.log())


class Probe(ProbeCase):
    """probe_private = yes (a lab), the default limits but per client."""

    options = [("web", "probe_private", "yes"),
               ("web", "probes_per_client", "1000"),
               ("web", "probes_per_domain", "1000"),
               ("web", "probe_opt_out", "listed.test")]

    def test_form_page_and_start_page_form(self):
        r = self.get("/probe")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"), "text/html; charset=utf-8")
        self.assertSecurityHeaders(r)
        self.assertPageStyleHashed(r)
        page = r.body.decode()
        self.assertIn('<form method="get" action="/probe"', page)
        self.assertIn('name="domain"', page)
        self.assertIn("_mailscope-probe.", page)
        home = self.get("/").body.decode()
        self.assertIn('<form method="get" action="/probe"', home)
        # HEAD of the form, the same length without a body
        head = self.request("HEAD", "/probe")
        self.assertEqual((head.status, head.body), (200, b""))
        self.assertEqual(head.header("Content-Length"), str(len(r.body)))

    def test_what_is_no_domain_is_400(self):
        for bad in ("example", "192.0.2.1", "exa%20mple.org", "a..b.org",
                    "http:%2F%2Fexample.org", "x" * 300 + ".org", "%00.org",
                    "ex%22ample.org", "-.-"):
            with self.subTest(domain=bad):
                self.assertError(self.api(bad), 400, detail="not a domain name")
                self.assertError(self.get("/probe?domain=" + bad), 400, api=False,
                                 detail="not a domain name")
        # an empty field of the form is no domain either
        self.assertError(self.get("/probe?domain="), 400, api=False)
        # a query that is no query
        self.assertEqual(self.get("/probe?domain=%zz").status, 400)
        # a path below the domain is no route
        self.assertEqual(self.api("example.org/x").status, 404)
        self.assertNothingConnected()

    def test_a_full_queue_answers_503_with_retry_after(self):
        """Six probes at once of a server that never answers: four run,
        a thread each, two get 503 at once; when the server goes away the
        four are answered."""
        slow = Trap("127.0.0.3", self.d.port("tls"))
        req = (b"GET /api/probe/slow.probe.test HTTP/1.1\r\nHost: x\r\n"
               b"Connection: close\r\n\r\n")
        socks = []
        try:
            for _ in range(6):
                s = socket.create_connection(("127.0.0.1", self.http_port),
                                             timeout=deadline(30))
                s.sendall(req)
                socks.append(s)
            end = time.monotonic() + deadline(10)
            while not slow.pending():
                self.assertLess(time.monotonic(), end, "the first probe did not connect")
                time.sleep(0.05)
            busy = []
            for s in socks:
                s.settimeout(0.5)
                try:
                    data = s.recv(65536)
                except socket.timeout:
                    continue
                self.assertTrue(data.startswith(b"HTTP/1.1 503 "), data)
                self.assertIn(b"\r\nRetry-After: 10\r\n", data)
                busy.append(s)
            self.assertEqual(len(busy), 2)
        finally:
            slow.close()        # the probes waiting on it are reset
        for s in socks:
            if s in busy:
                s.close()
                continue
            s.settimeout(deadline(30))
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            s.close()
            self.assertTrue(data.startswith(b"HTTP/1.1 200 "), data[:300])

    def test_wrong_method_gets_405(self):
        for path in ("/api/probe/example.org", "/probe"):
            r = self.request("POST", path)
            self.assertEqual((r.status, r.header("Allow")), (405, "GET, HEAD"), path)

    def test_owner_opt_out_by_txt_is_403_and_nothing_connects(self):
        n = len(self.d.query("SELECT id FROM probes"))
        body = self.assertError(self.api("shy.probe.test"), 403,
                                detail="_mailscope-probe.shy.probe.test")
        self.assertIn("opt", body["detail"])
        page = self.assertError(self.get("/probe?domain=shy.probe.test"), 403, api=False,
                                detail="_mailscope-probe.shy.probe.test")
        self.assertIn("opted out", page)
        # at the organizational domain: its subdomains are covered
        self.assertError(self.api("sub.owner.test"), 403,
                         detail="_mailscope-probe.owner.test")
        self.assertNothingConnected()
        self.assertEqual(len(self.d.query("SELECT id FROM probes")), n, "no probe stored")
        self.assertIn("web: probe of shy.probe.test not run", self.d.log())

    def test_operator_opt_out_is_403(self):
        for domain in ("listed.test", "mx.listed.test"):
            self.assertError(self.api(domain), 403, detail="listed.test")
        self.assertIn("web: probe of mx.listed.test refused", self.d.log())

    def test_unreadable_opt_out_record_is_503_and_nothing_probed(self):
        # NSD serves no zone of it: REFUSED is no answer about the record
        r = self.api("elsewhere.example")
        self.assertError(r, 503, detail="could not be read")
        self.assertEqual(r.header("Retry-After"), "60")
        self.assertEqual(self.probe_rows("elsewhere.example"), [])

    def test_probe_of_the_daemon_itself_as_json(self):
        since = time.time()
        r = self.api("good.probe.test")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"), "application/json")
        self.assertSecurityHeaders(r)
        self.assertIsNone(r.header("Age"))
        got = r.json()
        self.assertEqual(got["domain"], "good.probe.test")
        self.assertIsNotNone(jsonschema, "python3-jsonschema is not installed "
                             "(contrib/install-deps installs it)")
        with open(SCHEMA) as f:
            jsonschema.validate(got, json.load(f))
        mx = {m["name"]: m for m in got["mx"]}
        self.assertIn("mx.probe.test", mx)
        addrs = {a["addr"]: a for a in mx["mx.probe.test"]["addresses"]}
        self.assertEqual(addrs["127.0.0.1"]["stop"], "done", addrs)
        # it is stored, as the tool's probes are, and it is what was sent
        rows = self.probe_rows("good.probe.test")
        self.assertTrue(rows)
        self.assertEqual(json.loads(rows[-1]["result_json"]), got)
        # and the daemon saw the probe's connections on its tls host (the
        # harness's readiness checks say no EHLO)
        conns = self.d.wait_for(
            "SELECT * FROM connections WHERE host = 'tls' AND started >= ?"
            " AND helo IS NOT NULL", (since,), what="the probe's connections")
        self.assertEqual({(c["client_addr"], c["helo"]) for c in conns},
                         {("127.0.0.1", harness.HOSTNAME)}, conns)
        self.assertNothingConnected()
        # a record without the token opted nothing out
        self.assertEqual(self.api("keen.probe.test").status, 200)

    def test_probe_of_the_daemon_itself_as_a_page(self):
        r = self.get("/probe?domain=+GOOD.Probe.Test.+")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"), "text/html; charset=utf-8")
        self.assertPageStyleHashed(r)
        page = r.body.decode()
        self.assertIn("good.probe.test", page)
        self.assertIn("mx.probe.test", page)
        self.assertIn("web: probe of good.probe.test: grade", self.d.log())

    def test_null_mx_domain_runs_and_is_stored(self):
        r = self.api("null8.probe.test")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["null_mx"], True)
        self.assertEqual(len(self.probe_rows("null8.probe.test")), 1)

    def test_curl_examples_of_the_docs_run(self):
        with open(API_MD) as f:
            blocks = re.findall(r"^```sh probe\n(.*?)^```$", f.read(), re.M | re.S)
        self.assertGreaterEqual(len(blocks), 2)
        addr, port = self.d.addr("web")
        for block in blocks:
            with self.subTest(block=block):
                script = (block.replace("HOST:PORT", "%s:%d" % (addr, port))
                          .replace("DOMAIN", "null7.probe.test"))
                cp = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script],
                                    capture_output=True, text=True, timeout=deadline(60))
                self.assertEqual(cp.returncode, 0, "%s\n%s\n%s" % (script, cp.stdout,
                                                                 cp.stderr))


class ProbeBrowser(ProbeCase):
    """The probe's pages in a headless Chromium (browser.py): the form of
    the start page leads to the result page, whose style the CSP lets
    through (the grade is shown large) with no violation and no error."""

    options = [("web", "probe_private", "yes"),
               ("web", "probes_per_client", "1000")]

    @classmethod
    def setUpClass(cls):
        import browser
        browser.require()
        super().setUpClass()
        cls.b = browser.Browser(ca_pem=cls.d.ca)
        cls.addClassCleanup(cls.b.stop)
        cls.b.start()
        addr, port = cls.d.addr("web", 4)
        cls.base = "https://%s:%d" % (addr, port)

    def test_form_to_result_page_keeps_the_csp(self):
        b = self.b
        b.reset()
        b.get(self.base + "/")
        field = b.find('form[action="/probe"] input[name="domain"]')
        self.assertEqual(len(field), 1, "the start page's probe form")
        field[0].send_keys("Good.Probe.Test")
        b.find('form[action="/probe"] button[type="submit"]')[0].click()
        b.wait("return location.search === '?domain=Good.Probe.Test' && "
               "document.querySelector('.grade') !== null", deadline(30),
               what="the result page")
        self.assertIn("good.probe.test", b.text("h1"))
        # the page's own style applies: .grade is 2.4em of the body's
        size = b.js("return [parseFloat(getComputedStyle(document.querySelector("
                    "'.grade')).fontSize), parseFloat(getComputedStyle("
                    "document.body).fontSize)];")
        self.assertGreater(size[0], 2 * size[1], size)
        self.assertEqual(b.csp_violations(), [], b.console_summary())
        self.assertEqual(b.console_errors(), [], b.console_summary())
        b.assert_no_dialog()


class ProbeLimits(ProbeCase):
    """probes_per_client = 2 (a /24, an IPv6 /64), probes_per_domain = 1
    (an organizational domain: nullN.test are six, *.probe.test one)."""

    options = [("web", "probe_private", "yes"),
               ("web", "probes_per_client", "2"),
               ("web", "probes_per_domain", "1")]

    def test_per_client_net_then_per_domain(self):
        # client 127.0.0.0/24: two probes, then 429 for half an hour
        first = self.api("null1.test")
        self.assertEqual(first.status, 200, first)
        self.assertEqual(self.get("/probe?domain=null2.test",
                                  source="127.0.0.9").status, 200)
        r = self.api("null3.test", source="127.0.0.77")
        self.assertError(r, 429, detail="your network")
        # half an hour for a token, less what the bucket refilled since
        self.assertTrue(1700 < int(r.header("Retry-After")) <= 1800, r)
        self.assertError(self.get("/probe?domain=null3.test"), 429, api=False)
        # another /24: its own two
        other = dict(source="127.0.1.1")
        # the domain probed in the last hour: its result, with its age
        kept = self.api("null1.test", **other)
        self.assertEqual(kept.status, 200, kept)
        self.assertEqual(kept.body, first.body)
        self.assertRegex(kept.header("Age") or "", r"^[0-9]+$")
        self.assertEqual(len(self.probe_rows("null1.test")), 1, "not probed again")
        # over the domain's limit with nothing kept (it was opted out): 429
        self.assertError(self.api("shy.probe.test", family=6), 403)
        r = self.api("shy.probe.test", family=6)
        self.assertError(r, 429, detail="shy.probe.test was probed too often")
        # a name of the same organizational domain shares its limit
        r = self.api("good.probe.test", source="127.0.2.1")
        self.assertError(r, 429, detail="good.probe.test was probed too often")
        self.assertTrue(3500 < int(r.header("Retry-After")) <= 3600, r)
        # the plain listener behind a proxy: the client it names
        r = self.get("/api/probe/null4.test", plain=True,
                     headers={"X-Forwarded-For": "198.51.100.7"})
        self.assertEqual(r.status, 200, r)
        r = self.get("/api/probe/null5.test", plain=True,
                     headers={"X-Forwarded-For": "198.51.100.200"})
        self.assertEqual(r.status, 200, r)
        r = self.get("/api/probe/null6.test", plain=True,
                     headers={"X-Forwarded-For": "198.51.100.9"})
        self.assertError(r, 429)
        self.assertIn("(net 198.51.100.9): client rate limit", self.d.log())
        self.assertNothingConnected()


class ProbePublicOnly(ProbeCase):
    """probe_private = no, the default: non-global addresses are not
    connected to, the result says why."""

    options = [("web", "probes_per_client", "1000")]

    def test_private_mx_is_not_connected_to(self):
        r = self.api("private.probe.test")
        self.assertEqual(r.status, 200, r)
        got = r.json()
        addrs = [a for m in got["mx"] for a in m["addresses"]]
        self.assertEqual([a["addr"] for a in addrs], [TRAP])
        self.assertEqual(addrs[0]["stop"], "not_tried")
        self.assertIn("not a public address", addrs[0]["stop_detail"])
        self.assertNothingConnected()
        host = self.d.query_one(
            "SELECT h.* FROM probe_hosts h JOIN probes p ON p.id = h.probe_id"
            " WHERE p.domain = ?", ("private.probe.test",))
        self.assertEqual((host["addr"], host["stop"], host["reachable"]),
                         (TRAP, "not_tried", 0))

    def test_loopback_mx_is_not_connected_to(self):
        since = time.time()
        r = self.api("good.probe.test")
        self.assertEqual(r.status, 200, r)
        addrs = [a for m in r.json()["mx"] for a in m["addresses"]]
        self.assertEqual([(a["addr"], a["stop"]) for a in addrs],
                         [("127.0.0.1", "not_tried")])
        # a connection of ours after it: rows are written at accept, in
        # order, so a connection of the probe would have a smaller id (the
        # harness's readiness checks aside)
        with self.d.smtp("tls") as c:
            ours = self.d.connection_id(c)
            c.quit()
        ready = {(e.client_addr, e.client_port) for e in self.d.probe_ports}
        rows = [r for r in self.d.query(
            "SELECT * FROM connections WHERE host = 'tls' AND started >= ?"
            " AND id < ?", (since, ours))
            if (r["client_addr"], r["client_port"]) not in ready]
        self.assertEqual(rows, [])


if __name__ == "__main__":
    unittest.main()
