"""The web application of [web] over real HTTP (docs/api.md): the start
page, creating a test by form and by API, the report page and JSON, the
events, the byte-identical 404 of unknown and malformed IDs, 405 with
Allow, the security headers and the CSP hash of the page's style, the
limits on creating tests (429 + Retry-After, per client net and for
everyone), oversized bodies, page requests never stored as policy
fetches while policy fetches still are, the plain-HTTP listener, and the
curl examples of docs/api.md run against the daemon."""

import base64
import hashlib
import json
import os
import re
import socket
import ssl
import subprocess
import time
import unittest
import uuid

import harness
from harness import BASE_DOMAIN, DaemonTestCase, deadline, make_message

try:
    import jsonschema
except ImportError:             # contrib/install-deps installs it
    jsonschema = None

SCHEMA = os.path.join(harness.SRCDIR, "docs", "report.schema.json")
API_MD = os.path.join(harness.SRCDIR, "docs", "api.md")
CSP_START = "default-src 'none'; style-src 'sha256-"
CSP_END = ("'; script-src 'self'; img-src 'self' data:; connect-src 'self'; "
           "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
UNKNOWN_ID = "a" * 26
MALFORMED_IDS = ["bad", "a" * 25, "a" * 27, "1" * 26, "a" * 25 + "%21",
                 "a" * 25 + "-"]
KINDS = {"connection", "delivery", "greylist", "policy_fetch", "dns_query", "tlsrpt"}


def free_port(addr="127.0.0.1"):
    """A loopback port free now (for http_listen)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((addr, 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %r %r>" % (self.status, self.headers, self.body[:200])


class WebClient:
    """Requests to the daemon's HTTPS listener (or its plain one)."""

    def request(self, method, path, body=None, headers=None, family=4, source=None,
                plain=False, sni=None):
        """One HTTP/1.1 request on a new connection (TLS with SNI SNI,
        none by default, or to the plain-HTTP listener), read to the end."""
        if plain:
            addr, port = "127.0.0.1", self.http_port
        else:
            addr, port = self.d.addr("web", family)
        s = socket.create_connection((addr, port), timeout=deadline(10),
                                     source_address=(source, 0) if source else None)
        if not plain:
            s = self.d.tls_context().wrap_socket(s, server_hostname=sni)
        hdrs = {"Host": "%s:%d" % (addr if family == 4 else "[%s]" % addr, port),
                "User-Agent": "web-test/" + uuid.uuid4().hex, "Connection": "close"}
        hdrs.update(headers or {})
        if body is not None:
            hdrs["Content-Length"] = str(len(body))
        raw = ("%s %s HTTP/1.1\r\n" % (method, path)
               + "".join("%s: %s\r\n" % kv for kv in hdrs.items()) + "\r\n").encode()
        with s:
            s.sendall(raw + (body or b""))
            data = b""
            while True:
                try:
                    chunk = s.recv(65536)
                except (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
                    break
                if not chunk:
                    break
                data += chunk
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            raise AssertionError("no response to %s %s: %r\n%s"
                                 % (method, path, data[:200], self.d.log_tail(40)))
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        return Response(status, headers, rest)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def create(self, **kw):
        r = self.post("/api/tests", **kw)
        self.assertEqual(r.status, 201, r)
        return r.json()

    def assertSecurityHeaders(self, r):
        csp = r.header("Content-Security-Policy") or ""
        self.assertTrue(csp.startswith(CSP_START) and csp.endswith(CSP_END), csp)
        self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
        self.assertEqual(r.header("Referrer-Policy"), "no-referrer")
        self.assertEqual(r.header("Content-Length"), str(len(r.body))
                         if r.body else r.header("Content-Length"))

    def assertStyleHashed(self, r):
        """The CSP's style-src hash is the page's one <style>."""
        page = r.body.decode()
        styles = re.findall(r"<style>(.*?)</style>", page, re.S)
        self.assertEqual(len(styles), 1, "one <style> element")
        digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
        self.assertIn("style-src 'sha256-%s'" % digest, r.header("Content-Security-Policy"))
        self.assertNotRegex(page, r"<script>|<script [^>]*>[^<]", "no inline script")
        self.assertNotIn(" style=", page)


class Web(WebClient, DaemonTestCase):

    @classmethod
    def setUpClass(cls):
        cls.http_port = free_port()
        cls.options = [("web", "http_listen", "127.0.0.1:%d" % cls.http_port),
                       ("web", "tests_per_client", "1000")]
        super().setUpClass()

    def test_home_page_has_the_form_and_the_security_headers(self):
        r = self.get("/")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"), "text/html; charset=utf-8")
        self.assertSecurityHeaders(r)
        self.assertStyleHashed(r)
        self.assertRegex(r.body.decode(), r'<form[^>]*method="post"[^>]*action="/tests"|'
                                          r'<form[^>]*action="/tests"[^>]*method="post"')
        head = self.request("HEAD", "/")
        self.assertEqual((head.status, head.body), (200, b""))
        self.assertEqual(head.header("Content-Length"), str(len(r.body)))

    def test_form_creates_a_test_and_redirects_to_its_page(self):
        r = self.post("/tests")
        self.assertEqual(r.status, 303, r)
        self.assertSecurityHeaders(r)
        loc = r.header("Location")
        self.assertRegex(loc, r"^/t/[a-z2-7]{26}$")
        tid = loc[3:]
        self.assertEqual(self.d.query_one("SELECT id FROM tests WHERE id = ?", (tid,))["id"], tid)
        page = self.get(loc)
        self.assertEqual(page.status, 200, page)
        self.assertEqual(page.header("Content-Type"), "text/html; charset=utf-8")
        self.assertSecurityHeaders(page)
        self.assertStyleHashed(page)
        text = page.body.decode()
        self.assertIn("measure+%s@v4.%s" % (tid, BASE_DOMAIN), text)
        self.assertIn('href="/api/tests/%s"' % tid, text)
        self.assertIn('src="/static/mailscope.js"', text)
        # the ID is looked up lowercased
        upper = self.get("/t/" + tid.upper())
        self.assertEqual(upper.status, 200)

    def test_api_creates_a_test_as_new_test_json_prints_it(self):
        t = self.create()
        self.assertRegex(t["id"], harness.TESTID_RE)
        cli = self.d.new_test()
        self.assertEqual(list(t), ["id", "addresses", "report", "api"])
        self.assertEqual(list(t["addresses"]), list(cli["addresses"]))
        self.assertEqual({k: v.replace(t["id"], "ID") for k, v in t["addresses"].items()},
                         {k: v.replace(cli["id"], "ID") for k, v in cli["addresses"].items()})
        self.assertEqual((t["report"], t["api"]), ("/t/" + t["id"], "/api/tests/" + t["id"]))
        self.assertTrue(self.d.query("SELECT 1 FROM tests WHERE id = ?", (t["id"],)))

    @unittest.skipIf(jsonschema is None, "python3-jsonschema is not installed")
    def test_report_json_validates_and_equals_the_tool_s(self):
        t = self.create()
        r = self.get("/api/tests/" + t["id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"), "application/json")
        self.assertSecurityHeaders(r)
        got = r.json()
        with open(SCHEMA) as f:
            jsonschema.validate(got, json.load(f))
        cp = self.d.tool("report", t["id"], "--format", "json")
        want = json.loads(cp.stdout)
        got.pop("generated")
        want.pop("generated")
        self.assertEqual(got, want)

    def test_unknown_and_malformed_ids_get_the_same_404(self):
        for prefix, suffix in (("/t/", ""), ("/api/tests/", ""), ("/api/tests/", "/events")):
            with self.subTest(route=prefix + "ID" + suffix):
                ref = self.get(prefix + UNKNOWN_ID + suffix)
                self.assertEqual(ref.status, 404)
                self.assertSecurityHeaders(ref)
                for bad in MALFORMED_IDS:
                    r = self.get(prefix + bad + suffix)
                    self.assertEqual((r.status, r.body, r.header("Content-Type")),
                                     (404, ref.body, ref.header("Content-Type")), bad)
        page404 = self.get("/t/" + UNKNOWN_ID)
        for path in ("/nothing", "/t/", "/t", "/static/other.js", "/tests/x", "//",
                     "/index.html", "/t/%s/x" % UNKNOWN_ID):
            with self.subTest(path=path):
                r = self.get(path)
                self.assertEqual((r.status, r.body), (404, page404.body))
        api404 = self.get("/api/tests/" + UNKNOWN_ID)
        self.assertEqual(api404.header("Content-Type"), "application/json")
        for path in ("/api/", "/api/tests/", "/api/other"):
            r = self.get(path)
            self.assertEqual((r.status, r.body), (404, api404.body), path)

    def test_wrong_method_gets_405_with_allow(self):
        t = self.create()
        for method, path, allow in (("POST", "/", "GET, HEAD"), ("PUT", "/", "GET, HEAD"),
                                    ("GET", "/tests", "POST"), ("GET", "/api/tests", "POST"),
                                    ("DELETE", "/api/tests/" + t["id"], "GET, HEAD"),
                                    ("POST", "/t/" + t["id"], "GET, HEAD"),
                                    ("OPTIONS", "/static/mailscope.js", "GET, HEAD")):
            with self.subTest(method=method, path=path):
                r = self.request(method, path)
                self.assertEqual((r.status, r.header("Allow")), (405, allow), r)
                self.assertSecurityHeaders(r)

    def test_script_is_served_as_javascript(self):
        r = self.get("/static/mailscope.js")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "text/javascript; charset=utf-8")
        self.assertSecurityHeaders(r)
        self.assertGreater(len(r.body), 0)

    def test_events_follow_a_delivery_without_repeats(self):
        t = self.create()
        ev = self.get("/api/tests/%s/events" % t["id"]).json()
        self.assertEqual(ev, {"events": [], "next": 0, "reset": False})
        to = t["addresses"]["v4"]
        with self.d.smtp("open", challenge="v4") as c:
            c.ehlo()
            r = c.send_mail("sender@example.org", [to], make_message(to))
            self.assertEqual(r.code, 250)
            c.quit()
        end = time.monotonic() + deadline(10)
        while True:
            ev = self.get("/api/tests/%s/events?since=0" % t["id"]).json()
            kinds = [e["kind"] for e in ev["events"]]
            if "delivery" in kinds and "connection" in kinds:
                break
            if time.monotonic() > end:
                self.fail("no delivery event: %r\n%s" % (ev, self.d.log_tail(40)))
            time.sleep(0.1)
        seqs = [e["seq"] for e in ev["events"]]
        self.assertEqual(seqs, list(range(1, len(seqs) + 1)))
        for e in ev["events"]:
            self.assertIn(e["kind"], KINDS)
            self.assertRegex(e["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            self.assertIsInstance(e["summary"], str)
        d = [e for e in ev["events"] if e["kind"] == "delivery"][0]
        self.assertEqual(d["challenge"], "v4")
        self.assertIn(to, d["summary"])
        # polling from next: nothing new, and the same cursor again
        again = self.get("/api/tests/%s/events?since=%d" % (t["id"], ev["next"])).json()
        self.assertEqual(again, {"events": [], "next": ev["next"], "reset": False})
        # a cursor that no longer matches starts again from seq 1
        stale = self.get("/api/tests/%s/events?since=%d" % (t["id"], ev["next"] ^ (1 << 30)))
        self.assertEqual(stale.json()["reset"], True)
        self.assertEqual(stale.json()["events"], ev["events"])
        for bad in ("x", "-1", "", "1.5", "9" * 30):
            r = self.get("/api/tests/%s/events?since=%s" % (t["id"], bad))
            self.assertEqual(r.status, 400, bad)

    def test_page_requests_are_not_policy_fetches_but_policy_fetches_are(self):
        t = self.create()
        ua = "web-not-policy/" + uuid.uuid4().hex
        for method, path in (("GET", "/"), ("GET", "/t/" + t["id"]),
                             ("GET", "/api/tests/" + t["id"]), ("GET", "/nothing"),
                             ("POST", "/api/tests"), ("GET", "/static/mailscope.js")):
            self.request(method, path, headers={"User-Agent": ua})
            self.request(method, path, headers={"User-Agent": ua, "Host": BASE_DOMAIN},
                         sni=BASE_DOMAIN)
        # a policy fetch on the same listener is served and stored
        host = "mta-sts.sts-n." + BASE_DOMAIN
        r = self.request("GET", "/.well-known/mta-sts.txt",
                         headers={"User-Agent": ua + "-sts", "Host": host}, sni=host)
        self.assertEqual(r.status, 200)
        self.assertIn(b"version: STSv1", r.body)
        row = self.d.wait_for("SELECT * FROM policy_fetches WHERE user_agent = ?",
                              (ua + "-sts",), what="the policy fetch")[0]
        self.assertEqual((row["status"], row["challenge"]), (200, "sts-n"))
        # the writer keeps order: the page requests came first, none is there
        self.assertEqual(self.d.query("SELECT * FROM policy_fetches WHERE user_agent = ?",
                                      (ua,)), [])
        # and no row for the connections themselves (browsers open spare ones)
        with socket.create_connection(self.d.addr("web"), timeout=deadline(5)) as s:
            with self.d.tls_context().wrap_socket(s, server_hostname=BASE_DOMAIN) as tls:
                port = tls.getsockname()[1]
        self.assertIn("a web connection, not recorded", self.wait_log("port %d: a web" % port))
        self.assertEqual(self.d.query("SELECT * FROM policy_fetches WHERE client_port = ?",
                                      (port,)), [])

    def wait_log(self, text):
        end = time.monotonic() + deadline(5)
        while text not in self.d.log():
            if time.monotonic() > end:
                self.fail("log has no %r\n%s" % (text, self.d.log_tail(40)))
            time.sleep(0.05)
        return self.d.log()

    def test_plain_http_listener_serves_pages_and_api_not_policies(self):
        r = self.post("/api/tests", plain=True)
        self.assertEqual(r.status, 201, r)
        tid = r.json()["id"]
        r = self.get("/api/tests/" + tid, plain=True)
        self.assertEqual((r.status, r.header("Content-Type")), (200, "application/json"))
        self.assertSecurityHeaders(r)
        r = self.get("/t/" + tid, plain=True)
        self.assertEqual(r.status, 200)
        r = self.get("/.well-known/mta-sts.txt", plain=True,
                     headers={"Host": "mta-sts.sts-n." + BASE_DOMAIN})
        self.assertEqual(r.status, 404)

    def test_oversized_body_gets_413_and_the_daemon_keeps_serving(self):
        for plain in (False, True):
            with self.subTest(plain=plain):
                r = self.post("/api/tests", body=b"x" * 4096, plain=plain,
                              headers={"Content-Type": "text/plain"})
                self.assertEqual(r.status, 413, r)
                self.assertEqual(self.get("/", plain=plain).status, 200)

    def test_clients_leaving_before_their_report_is_ready(self):
        t = self.create()
        addr, port = self.d.addr("web")
        req = ("GET /t/%s HTTP/1.1\r\nHost: x\r\n\r\n" % t["id"]).encode()
        for _ in range(20):
            s = socket.create_connection((addr, port), timeout=deadline(5))
            tls = self.d.tls_context().wrap_socket(s)
            tls.sendall(req)
            tls.close()
        with socket.create_connection(("127.0.0.1", self.http_port), timeout=deadline(5)) as s:
            for _ in range(20):
                c = socket.create_connection(("127.0.0.1", self.http_port),
                                             timeout=deadline(5))
                c.sendall(req)
                c.close()
        # the 40 left behind may fill the queue (by design: 503 and
        # Retry-After); a client that waits as told gets its page
        end = time.monotonic() + deadline(30)
        while True:
            r = self.get("/t/" + t["id"])
            if r.status != 503 or time.monotonic() > end:
                break
            self.assertEqual(r.header("Retry-After"), "2")
            time.sleep(2)
        self.assertEqual(r.status, 200, r)

    def test_a_full_queue_answers_503_with_retry_after(self):
        """Many report requests at once: each is answered, 200 or (beyond
        the worker's queue) 503 with Retry-After; none waits forever."""
        t = self.create()
        req = ("GET /api/tests/%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
               % t["id"]).encode()
        socks = [socket.create_connection(("127.0.0.1", self.http_port),
                                          timeout=deadline(20)) for _ in range(100)]
        try:
            for s in socks:
                s.sendall(req)
            seen = {}
            for s in socks:
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                status = int(data.split(b" ", 2)[1])
                seen[status] = seen.get(status, 0) + 1
                if status == 503:
                    self.assertIn(b"\r\nRetry-After: 2\r\n", data)
        finally:
            for s in socks:
                s.close()
        self.assertLessEqual(set(seen), {200, 503}, seen)
        self.assertEqual(self.get("/api/tests/" + t["id"]).status, 200)


class Limits(WebClient, DaemonTestCase):
    """tests_per_client = 2, tests_total = 5 in the period."""

    @classmethod
    def setUpClass(cls):
        cls.http_port = free_port()
        cls.options = [("web", "http_listen", "127.0.0.1:%d" % cls.http_port),
                       ("web", "tests_per_client", "2"), ("web", "tests_total", "5"),
                       ("web", "tests_period", "1h")]
        super().setUpClass()

    def assertLimited(self, r, api=True):
        self.assertEqual(r.status, 429, r)
        self.assertRegex(r.header("Retry-After") or "", r"^[1-9][0-9]*$")
        self.assertSecurityHeaders(r)
        self.assertEqual(r.header("Content-Type"),
                         "application/json" if api else "text/html; charset=utf-8")
        return int(r.header("Retry-After"))

    def test_per_client_net_then_for_everyone(self):
        self.create()
        self.assertEqual(self.post("/tests").status, 303)
        # 2 per hour: the next in 30 min at most, more than 0
        wait = self.assertLimited(self.post("/api/tests"))
        self.assertLessEqual(wait, 1800)
        self.assertLimited(self.post("/tests"), api=False)
        # another client, another bucket
        self.create(source="127.0.0.2")
        self.create(family=6)
        # behind the proxy: the address it appended to X-Forwarded-For
        r = self.post("/api/tests", plain=True,
                      headers={"X-Forwarded-For": "203.0.113.9, 198.51.100.7"})
        self.assertEqual(r.status, 201, r)
        self.assertIn("created for 198.51.100.7", self.d.log())
        # 5 created: everyone's limit, whoever asks
        wait = self.assertLimited(self.post("/api/tests", source="127.0.0.3"))
        self.assertLessEqual(wait, 720)
        self.assertEqual(self.d.query_one("SELECT count(*) AS n FROM tests")["n"], 5)
        # reading is not limited
        self.assertEqual(self.get("/").status, 200)


class ApiDocs(WebClient, DaemonTestCase):
    """Every ```sh block of docs/api.md, HOST:PORT our HTTPS listener, ID
    a test of ours; each must exit 0 (they use curl -f)."""

    @classmethod
    def setUpClass(cls):
        cls.http_port = free_port()
        cls.options = [("web", "http_listen", "127.0.0.1:%d" % cls.http_port)]
        super().setUpClass()

    def test_curl_examples_run(self):
        with open(API_MD) as f:
            blocks = re.findall(r"^```sh\n(.*?)^```$", f.read(), re.M | re.S)
        self.assertGreaterEqual(len(blocks), 4)
        tid = self.create()["id"]
        addr, port = self.d.addr("web")
        for block in blocks:
            with self.subTest(block=block):
                self.assertIn("curl", block)
                script = (block.replace("HOST:PORT", "%s:%d" % (addr, port))
                          .replace("PROXY:PORT", "127.0.0.1:%d" % self.http_port)
                          .replace("$ID", tid))
                cp = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script],
                                    capture_output=True, text=True, timeout=deadline(30))
                self.assertEqual(cp.returncode, 0, "%s\n%s\n%s" % (script, cp.stdout,
                                                                 cp.stderr))


if __name__ == "__main__":
    unittest.main()
