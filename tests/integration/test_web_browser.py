"""The web pages of issue 14 in a real browser: a headless Chromium
(browser.py: Debian's chromium, chromium-driver and python3-selenium)
against the real daemon's [web] listener on loopback.

The flow: open the start page, press "Start a test", read the address
set from the report page, deliver with smtplib to some of the addresses
(v4 in cleartext, tls with STARTTLS, plaintext, a greylisted grey-v4
never retried) and refuse tls-badcert as a validating sender does
(STARTTLS, then the handshake fails on the certificate), watch the
report page change from waiting to results without a reload, and
check the states shown against `mailscope report ID --format json`
and the "Download JSON" link.  Hostile values a sender controls (EHLO,
MAIL FROM, header fields with markup and quotes) reach the page through
the live update and must show as text: no dialog, no element of theirs,
no console error, no Content Security Policy violation.

Screenshots (PNG) of the start page and of the report with mixed
verdicts, desktop (1280x900) and phone (390x844) widths, go to
$top_builddir/screenshots/ (_build/screenshots/ when the build is the
source tree); the latest set is copied to docs/images/ for the README
(not with MAILSCOPE_DOCS_IMAGES=0, nor where the source is read-only).
"""

import http.server
import json
import os
import shutil
import smtplib
import ssl
import subprocess
import threading
import time
import unittest
import urllib.parse

import browser
import harness
from harness import BUILDDIR, MAILSCOPE, SRCDIR, DaemonTestCase, deadline, make_message

WAIT_S = 15                     # [global] wait: the report concludes during the test
SOURCE = "127.0.0.63"           # the flow's client address (attribution)
SOURCE_HOSTILE = "127.0.0.64"   # the hostile test's
LIVE_S = 5                      # mailscope.js re-fetches a live page this often

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
QUOTES = "\"q'uotes\" & <b>bold</b>"

if BUILDDIR == SRCDIR:
    SHOTS = os.path.join(SRCDIR, "_build", "screenshots")
else:
    SHOTS = os.path.join(BUILDDIR, "screenshots")
DOC_IMAGES = os.path.join(SRCDIR, "docs", "images")
MAX_PNG = 400 * 1024            # what the README may carry
SHOT_HEIGHT = {"desktop": 1500, "phone": 1800}  # of a report's screenshot

# The page's structure (daemon/report/report_html.c, daemon/server/web_pages.c).
JS_STATES = """
return Array.from(document.querySelectorAll('main .v[id^="v-"]')).map(function (e) {
  var b = e.querySelector('.badge');
  return [e.id.slice(2), e.getAttribute('data-state'),
          b ? b.className : null, b ? b.textContent.trim() : null];
});"""
JS_OUTCOMES = """
return Array.from(document.querySelectorAll('#challenges tbody tr')).map(function (r) {
  var c = r.cells;
  return [c[0].textContent.trim(), c[2].className, c[2].textContent.trim()];
});"""
STATES = ("good", "note", "improve", "bad", "waiting", "not_measured")


def setUpModule():
    browser.require()


def challenge_of(address, test_id):
    """The challenge of one of TEST_ID's addresses (CHALLENGES.md):
    measure+ID@C.BASE, or measure@ID.C.BASE for a per-test challenge."""
    local, _, domain = address.partition("@")
    suffix = "." + harness.BASE_DOMAIN
    if not domain.endswith(suffix):
        raise AssertionError("%r: not under %s" % (address, harness.BASE_DOMAIN))
    domain = domain[:-len(suffix)]
    if local == "%s+%s" % (harness.LOCAL_PART, test_id):
        return domain
    if local == harness.LOCAL_PART and domain.startswith(test_id + "."):
        return domain[len(test_id) + 1:]
    raise AssertionError("%r: not an address of test %s" % (address, test_id))


def state_of(row):
    """The state a verdict row shows: data-state, else the badge's class
    among STATES."""
    key, data_state, cls, text = row
    if data_state:
        return data_state
    got = [c for c in (cls or "").split() if c in STATES]
    return got[0] if got else text


class WebBrowser(DaemonTestCase):
    """One daemon and one browser for the class; each test its own test ID
    and client address."""

    options = [("global", "wait", "%ds" % WAIT_S)]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.b = browser.Browser(ca_pem=cls.d.ca)
        cls.addClassCleanup(cls.b.stop)
        cls.b.start()
        addr, port = cls.d.addr("web", 4)
        cls.base = "https://%s:%d" % (addr, port)

    def setUp(self):
        self.b.reset()                      # each test sees its own

    # -- the tool and the API

    def report_json(self, test_id):
        cp = subprocess.run([MAILSCOPE, "-c", self.d.conf, "report", test_id,
                             "--format", "json"], capture_output=True, cwd=self.d.dir,
                            timeout=deadline(60))
        if cp.returncode != 0 or harness.sanitizer_report(cp.stderr.decode("utf-8", "replace")):
            self.fail("mailscope report: exit %d\n%s" % (cp.returncode, cp.stderr[-2000:]))
        return json.loads(cp.stdout.decode("utf-8"))

    def fetch_in_page(self, href):
        """HREF fetched by the page itself (same origin): status, type, body."""
        return self.b.js_async("""
var done = arguments[arguments.length - 1];
fetch(arguments[0], {credentials: 'same-origin'}).then(function (r) {
  return r.text().then(function (t) {
    done([r.status, r.headers.get('content-type'), t]);
  });
}).catch(function (e) { done([0, null, String(e)]); });""", href)

    # -- mail

    def smtp(self, challenge, source, ehlo="client.example"):
        """smtplib connected from SOURCE to CHALLENGE's own IPv4 address,
        EHLO sent."""
        addr, port = self.d.challenge_addr(challenge, 4)
        s = smtplib.SMTP(addr, port, timeout=deadline(10), local_hostname=ehlo,
                         source_address=(source, 0))
        # starttls() sends this as SNI: the MX name, as a sender would
        s._host = harness.mx_name(challenge)
        code, msg = s.ehlo()
        self.assertEqual(code, 250, msg)
        return s

    def deliver(self, test, challenge, source, starttls=False):
        to = test[challenge]
        s = self.smtp(challenge, source)
        try:
            if starttls:
                s.starttls(context=self.d.tls_context())
                s.ehlo()
            refused = s.sendmail("sender@example.org", [to],
                                 make_message(to, subject="browser " + challenge))
            self.assertEqual(refused, {})
        finally:
            s.quit()

    def defer_grey(self, test, source):
        """One greylisted attempt (451 to RCPT), never retried."""
        s = self.smtp("grey-v4", source)
        try:
            code, msg = s.mail("sender@example.org")
            self.assertEqual(code, 250, msg)
            code, msg = s.rcpt(test["grey-v4"])
            self.assertEqual(code, 451, msg)
        finally:
            s.quit()

    def refuse_badcert(self, source, ehlo="client.example"):
        """A validating sender on tls-badcert: STARTTLS, the handshake fails
        on the certificate, the connection is dropped."""
        s = self.smtp("tls-badcert", source, ehlo=ehlo)
        try:
            with self.assertRaises((ssl.SSLError, OSError)):
                s.starttls(context=self.d.tls_context(verify=True))
        finally:
            s.close()

    # -- the page

    def page_states(self):
        return {r[0]: state_of(r) for r in self.b.js(JS_STATES)}

    def page_outcomes(self):
        out = {}
        for name, cls, text in self.b.js(JS_OUTCOMES):
            got = [c for c in (cls or "").split()
                   if c in ("delivered", "refused", "pending", "absent")]
            out[name] = got[0] if got else text
        return out

    def is_live(self):
        return self.b.js("var m = document.querySelector('main#report');"
                         " return m ? m.getAttribute('data-live') : 'no main#report';")

    def mark(self):
        """A marker in the document's JavaScript realm and its time origin:
        a reload or a navigation loses the one and changes the other."""
        return self.b.js("window.__mark = 1; return performance.timeOrigin;")

    def assert_same_document(self, origin, url):
        got = self.b.js("return [window.__mark, performance.timeOrigin,"
                        " performance.getEntriesByType('navigation').length];")
        self.assertEqual(got[0], 1, "the page was reloaded (marker lost)")
        self.assertEqual(got[1], origin, "a new document (time origin changed)")
        self.assertEqual(got[2], 1)
        self.assertEqual(self.b.url, url)

    def assert_clean_console(self):
        self.assertEqual(self.b.csp_violations(), [], "Content Security Policy violations")
        self.assertEqual(self.b.console_errors(), [], "console errors")
        self.b.assert_no_dialog()

    def shot(self, name, size, top=None):
        """Screenshot NAME-SIZE.png to SHOTS (and docs/images/): the
        viewport, or with TOP (a CSS selector) the page from that element
        down, SHOT_HEIGHT[SIZE] CSS pixels at most."""
        self.b.size(size)
        self.b.js("window.scrollTo(0, 0);")
        path = os.path.join(SHOTS, "web-%s-%s.png" % (name, size))
        n = self.b.screenshot(path, full_page=top is not None, top=top,
                              max_height=SHOT_HEIGHT[size])
        self.assertLess(n, MAX_PNG, "%s: %d bytes" % (path, n))
        # the README's copy: not where the source is read-only (distcheck)
        if (os.environ.get("MAILSCOPE_DOCS_IMAGES", "1") != "0"
                and os.access(os.path.dirname(DOC_IMAGES), os.W_OK)):
            os.makedirs(DOC_IMAGES, exist_ok=True)
            dst = os.path.join(DOC_IMAGES, os.path.basename(path))
            shutil.copyfile(path, dst + ".tmp")
            os.replace(dst + ".tmp", dst)
        return path

    # -- the tests

    def test_flow_start_deliver_live_report(self):
        b, d = self.b, self.d
        # the start page
        b.size("desktop")
        b.get(self.base + "/")
        form = b.find('form[method="post"][action="/tests"]')
        self.assertEqual(len(form), 1, "the start page's form")
        buttons = [e for e in b.find('form[action="/tests"] button, '
                                     'form[action="/tests"] input[type="submit"]')
                   if "Start a test" in (e.text or e.get_attribute("value") or "")]
        self.assertEqual(len(buttons), 1, "a 'Start a test' button")
        self.assert_clean_console()
        self.shot("home", "desktop")
        self.shot("home", "phone")
        b.size("desktop")
        # create a test: POST /tests, 303 to /t/ID
        buttons[0].click()
        b.wait("return /\\/t\\/[a-z2-7]{26}$/.test(location.pathname)", deadline(10),
               "the report page /t/ID")
        url = b.url
        test_id = url.rsplit("/", 1)[1]
        self.assertRegex(test_id, harness.TESTID_RE)
        self.assertEqual(url, self.base + "/t/" + test_id)
        # the address set: textarea readonly, mailto:, permanent link
        area = b.find("textarea#address-list[readonly]")
        self.assertEqual(len(area), 1, "the address set's textarea")
        listed = area[0].get_attribute("value")
        addresses = listed.split("\n")
        test = {challenge_of(a, test_id): a for a in addresses}
        rep = self.report_json(test_id)
        self.assertEqual(test, {c["name"]: c["address"] for c in rep["challenges"]})
        self.assertEqual(sorted(test), sorted(harness.CHALLENGES))
        mailto = [e.get_attribute("href") for e in b.find('a[href^="mailto:"]')]
        self.assertEqual(len(mailto), 1, "a mailto: link")
        got = urllib.parse.unquote(mailto[0][len("mailto:"):].split("?", 1)[0])
        self.assertEqual(got.split(","), addresses)
        self.assertTrue(b.find('a[href="/t/%s"]' % test_id), "the permanent link")
        json_link = [e for e in b.find('a[href="/api/tests/%s"]' % test_id)
                     if e.text.strip() == "Download JSON"]
        self.assertEqual(len(json_link), 1, "the 'Download JSON' link")
        # "Copy all": shown by the script; copies to the clipboard
        copy = b.find("button#copy-all")
        self.assertEqual(len(copy), 1, "the 'Copy all' button")
        b.wait("return !document.getElementById('copy-all').hidden", deadline(5),
               "the script to show 'Copy all'")
        self.assertEqual(copy[0].text.strip(), "Copy all")
        b.grant_clipboard(self.base)
        copy[0].click()
        b.wait("return document.getElementById('copy-all').textContent === 'Copied'",
               deadline(5), "'Copy all' to say 'Copied'")
        self.assertEqual(b.clipboard(), listed)
        # waiting, live
        self.assertEqual(self.is_live(), "1")
        self.assertEqual(set(self.page_states().values()), {"waiting"})
        origin = self.mark()
        # mail to the addresses the page gave: delivered, deferred, refused
        self.deliver(test, "v4", SOURCE)
        self.deliver(test, "tls", SOURCE, starttls=True)
        self.deliver(test, "plaintext", SOURCE)
        self.defer_grey(test, SOURCE)
        self.refuse_badcert(SOURCE)
        # the page changes without a reload: deliveries shown
        b.wait("var e = document.querySelector('#v-starttls');"
               " return e && !e.classList.contains('waiting') && e.className;",
               deadline(LIVE_S * 3), "the live update to conclude starttls")
        self.assert_same_document(origin, url)
        self.assertEqual(self.page_outcomes().get("v4"), "delivered")
        # then the results: the wait is over, the page stops being live
        first = d.query_one("SELECT min(started) AS s FROM connections WHERE id IN"
                            " (SELECT connection_id FROM connection_attribution"
                            " WHERE test_id = ?)", (test_id,))["s"]
        b.wait("var m = document.querySelector('main#report');"
               " return m && m.getAttribute('data-live') !== '1';",
               max(0, first + deadline(WAIT_S) - time.time()) + deadline(LIVE_S * 3),
               "the report to conclude (data-live gone)")
        self.assert_same_document(origin, url)
        rep = self.report_json(test_id)
        want = {v["key"]: v["state"] for v in rep["verdicts"]}
        self.assertEqual(self.page_states(), want)
        self.assertEqual(self.page_outcomes(),
                         {c["name"]: c["outcome"] for c in rep["challenges"]})
        self.assertNotIn("waiting", {want[k] for k in ("ipv4", "starttls",
                                                        "cert_validation", "plaintext")})
        self.assertGreaterEqual(len(set(want.values()) - {"waiting"}), 3,
                                "mixed verdicts: %r" % want)
        # "Download JSON": the API's report is the tool's
        status, ctype, body = self.fetch_in_page("/api/tests/" + test_id)
        self.assertEqual(status, 200, body[:300])
        self.assertIn("application/json", ctype)
        api = json.loads(body)
        for r in (api, rep):
            r.pop("generated", None)
        self.assertEqual(api, rep)
        self.assert_clean_console()
        # the summary and the verdicts (the address set is in the start's)
        self.shot("report", "desktop", top="main#report")
        self.shot("report", "phone", top="main#report")
        b.size("desktop")

    def test_another_certificate_is_still_refused(self):
        """The class's browser trusts the test CA's key (browser.py), not
        any certificate: without that key the daemon's page is Chromium's
        certificate error."""
        with browser.Browser() as other:
            other.get(self.base + "/")
            self.assertEqual(other.find('form[action="/tests"]'), [])
            self.assertIn("not private", other.text())

    def test_hostile_values_are_text(self):
        b, d = self.b, self.d
        t = d.new_test()
        test_id, test = t["id"], t["addresses"]
        url = self.base + "/t/" + test_id
        b.size("desktop")
        b.get(url)
        self.assertEqual(self.is_live(), "1")
        origin = self.mark()
        # markup and quotes in EHLO, MAIL FROM and the header fields
        to = test["v4"]
        s = self.smtp("v4", SOURCE_HOSTILE, ehlo=SCRIPT)
        try:
            mail_from = '"%s %s"@example.org' % (SCRIPT, IMG)
            code, msg = s.docmd("MAIL", "FROM:<%s>" % mail_from)
            self.assertEqual(code, 250, msg)
            code, msg = s.docmd("RCPT", "TO:<%s>" % to)
            self.assertEqual(code, 250, msg)
            msg = ("From: \"%s\" <evil@example.org>\r\nTo: <%s>\r\n"
                   "Subject: %s %s\r\nSubject: %s\r\n"
                   "Date: Mon, 07 Dec 2026 10:00:00 +0000\r\n"
                   "Message-ID: <%s@example.org>\r\n\r\nHello.\r\n"
                   % (IMG, to, SCRIPT, QUOTES, IMG, SCRIPT)).encode()
            code, resp = s.data(msg)
            self.assertEqual(code, 250, resp)
        finally:
            s.quit()
        self.refuse_badcert(SOURCE_HOSTILE, ehlo=SCRIPT + IMG + "'\"")
        # shown through the live update, as text; the message analysed
        # (its two Subject fields make duplicate_headers bad)
        d.wait_for("SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM recipients r"
                   " JOIN analyses a ON a.transaction_id = r.transaction_id"
                   " WHERE r.test_id = ? AND a.finished IS NULL)", (test_id,),
                   timeout=20, what="analyses")
        for what, value in (("the refusal's EHLO", SCRIPT + IMG), ("the MAIL FROM", mail_from)):
            b.wait("var m = document.querySelector('main#report');"
                   " return m && m.textContent.indexOf(%s) >= 0;" % json.dumps(value),
                   deadline(LIVE_S * 3), what + " in the page")
        b.wait("var e = document.querySelector('#v-duplicate_headers');"
               " return e && e.classList.contains('bad');", deadline(LIVE_S * 3),
               "the analysis of the message in the page")
        self.assert_same_document(origin, url)
        text = b.text_content("main")
        self.assertIn(SCRIPT + IMG + "'\"", text)          # the refusal's EHLO
        self.assertIn(mail_from, text)
        # no element of theirs, no handler attribute, nothing ran
        found = b.js("""
var out = [];
document.querySelectorAll('main script, main img, main iframe, main object,'
                          + ' main embed, main svg').forEach(function (e) {
  out.push(e.outerHTML.slice(0, 80)); });
document.querySelectorAll('main b').forEach(function (e) {
  if (e.textContent === 'bold') out.push(e.outerHTML); });
document.querySelectorAll('*').forEach(function (e) {
  for (var i = 0; i < e.attributes.length; i++)
    if (/^on/i.test(e.attributes[i].name)) out.push(e.outerHTML.slice(0, 80));
});
return out;""")
        self.assertEqual(found, [])
        self.assertEqual(b.js("return document.scripts.length"),
                         len(b.find('script[src="/static/mailscope.js"]')))
        self.assert_clean_console()


class BrowserSelfTest(unittest.TestCase):
    """The detectors of browser.py detect: a page that opens an alert, and
    one whose inline script a Content Security Policy blocks (a loopback
    server of our own)."""

    PAGES = {
        "/ok": (None, b"<!DOCTYPE html><meta name=viewport content=\"width=device-width\">"
                b"<title>ok</title><p id=p>&lt;script&gt;</p>"),
        "/alert": (None, b"<!DOCTYPE html><title>a</title><script>alert('x')</script>"),
        "/csp": ("default-src 'self'",
                 b"<!DOCTYPE html><title>c</title><p id=p>x</p>"
                 b"<script>document.getElementById('p').textContent='ran'</script>"),
    }

    @classmethod
    def setUpClass(cls):
        pages = cls.PAGES

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path not in pages:
                    self.send_error(404)
                    return
                csp, body = pages[self.path]
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                if csp:
                    self.send_header("Content-Security-Policy", csp)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        cls.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        th = threading.Thread(target=cls.srv.serve_forever, daemon=True)
        th.start()
        cls.addClassCleanup(th.join, 5)
        cls.addClassCleanup(cls.srv.server_close)
        cls.addClassCleanup(cls.srv.shutdown)
        cls.url = "http://127.0.0.1:%d" % cls.srv.server_address[1]
        cls.b = browser.Browser()
        cls.addClassCleanup(cls.b.stop)
        cls.b.start()

    def setUp(self):
        self.b.reset()

    def test_text_and_sizes(self):
        self.b.get(self.url + "/ok")
        self.assertEqual(self.b.text("#p"), "<script>")
        self.b.assert_no_dialog()
        self.assertEqual(self.b.console_errors(), [])
        for size, (w, h, _) in browser.SIZES.items():
            self.b.size(size)
            self.assertEqual(self.b.js("return [innerWidth, innerHeight]"), [w, h])
        self.b.size("desktop")

    def test_an_alert_is_detected(self):
        self.b.get(self.url + "/alert")
        with self.assertRaises(browser.BrowserError):
            self.b.assert_no_dialog()
        self.assertEqual(self.b.dialogs, ["x"])

    def test_a_csp_violation_is_detected(self):
        self.b.get(self.url + "/csp")
        self.assertEqual(self.b.text("#p"), "x")
        self.assertTrue(self.b.csp_violations())
        self.assertTrue(self.b.console_errors())


if __name__ == "__main__":
    unittest.main()
