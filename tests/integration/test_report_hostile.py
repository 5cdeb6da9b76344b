"""mailscope report over what a hostile sender stores (issue 13): real
SMTP sessions put markup, quotes, ANSI and C1 escapes, invalid UTF-8 and
overlong values into EHLO, MAIL FROM and header fields; the report of
that test in text, JSON and HTML must stay inert: no control byte on
the terminal and lines of at most 100 columns, no markup of the
sender's in the page, strict UTF-8 JSON that validates against
docs/report.schema.json."""

import html.parser
import json
import os
import ssl
import subprocess
import unittest

import harness
from harness import MAILSCOPE, SRCDIR, DaemonTestCase, dot_stuff

SOURCE = "127.0.0.62"           # this module's client address (attribution)
WIDTH = 100                     # report_text.c: code points a line

SCRIPT = "<script>alert(1)</script>"
# What the sessions say, as bytes on the wire.  EHLO takes any bytes;
# a command line is at most 512 octets (RFC 5321 4.5.3.1.4).
EHLO_HOSTILE = (SCRIPT.encode() + b"\x1b[31mred\x1b[0m\xc2\x9b31m\xff\xfe'\""
                b"\x07\x7f")
EHLO_LONG = b"x" * 150 + b"<b>" + b"\xc3\xa9" * 100 + b"y" * 150
MAIL_FROM = b'"' + SCRIPT.encode() + b'\\"q\'uotes"@example.org'
HEADERS = (b"Subject: \x1b[2J\x1b[31mred\xc2\x9b31m\xff\xfe " + SCRIPT.encode() + b"\r\n"
           b"X-Long: " + b"A" * 900 + b"\r\n"
           b"Comments: \"quotes' &amp; \xe2\x82 cut\r\n")
# The terminal acts on these (ECMA-48 5): C0 but newline, DEL, C1.
CONTROLS = set(range(0x20)) - {0x0a} | {0x7f} | set(range(0x80, 0xa0))
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
        "meta", "source", "track", "wbr"}


def message(to):
    return (b"From: \"Evil \xff\" <evil@example.org>\r\nTo: <" + to.encode() + b">\r\n"
            b"Date: Mon, 07 Dec 2026 10:00:00 +0000\r\n"
            b"Message-ID: <" + SCRIPT.encode() + b"@example.org>\r\n"
            + HEADERS + b"\r\nHello.\r\n")


def assert_inert_text(case, data, width):
    """DATA is strict UTF-8 without a control character but newline; with
    WIDTH, no line is longer (in code points)."""
    text = data.decode("utf-8")          # strict: raises on invalid UTF-8
    bad = [(i, hex(ord(ch))) for i, ch in enumerate(text) if ord(ch) in CONTROLS]
    case.assertEqual(bad[:5], [], "control characters in %r" % text[:200])
    if width:
        long_lines = [l for l in text.split("\n") if len(l) > width]
        case.assertEqual(long_lines, [], "lines over %d code points" % width)
    return text


class Balance(html.parser.HTMLParser):
    """Every element closed in order (void ones excepted), and the names
    of every element and attribute seen."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.tags, self.attrs, self.errors = [], set(), set(), []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs.update(a for a, _ in attrs)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> closes %s" % (tag, self.stack[-1:]))
        else:
            self.stack.pop()


class ReportHostile(DaemonTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = cls.d
        cls.t = t = d.new_test()
        # delivered: markup and quotes in MAIL FROM, escapes in the headers
        for challenge, host in (("v4", "open"), ("plaintext", "plain")):
            to = t["addresses"][challenge]
            with d.smtp(host, challenge=challenge, source=SOURCE) as c:
                cls.reply(c, b"EHLO " + EHLO_HOSTILE, 250)
                cls.reply(c, b"MAIL FROM:<" + MAIL_FROM + b">", 250)
                cls.reply(c, b"RCPT TO:<" + to.encode() + b">", 250)
                cls.reply(c, b"DATA", 354)
                c.send(dot_stuff(message(to)))
                r = c.read_reply()
                if r.code != 250:
                    raise AssertionError("%s: DATA: %s" % (challenge, r))
                c.quit()
        # refused (a client that validates gives up on tls-bad), with an
        # EHLO the report shows: hostile on one, overlong on the other
        cls.refused = {}
        for challenge, ehlo in (("tls-badcert", EHLO_HOSTILE), ("tlsa-bad", EHLO_LONG)):
            with d.smtp("tls-bad", challenge=challenge, source=SOURCE) as c:
                cls.reply(c, b"EHLO " + ehlo, 250)
                try:
                    c.starttls(d.tls_context(verify=True), harness.mx_name(challenge))
                    raise AssertionError("the handshake with tls-bad succeeded")
                except (ssl.SSLError, OSError):
                    pass
            # (not d.connection(): its helo is no UTF-8 to decode)
            where, params = c.endpoint.where("started")
            cid = d.wait_for("SELECT id FROM connections WHERE %s AND ended IS NOT"
                             " NULL ORDER BY id LIMIT 1" % where, params,
                             what="the refusal's connection to end")[0]["id"]
            d.wait_for("SELECT 1 FROM connection_attribution WHERE connection_id = ?"
                       " AND test_id = ?", (cid, t["id"]), what="the refusal attributed")
            cls.refused[challenge] = cid
        d.wait_for("SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM recipients r"
                   " JOIN analyses a ON a.transaction_id = r.transaction_id"
                   " WHERE r.test_id = ? AND a.finished IS NULL)", (t["id"],),
                   timeout=20, what="analyses")

    @staticmethod
    def reply(c, line, code):
        r = c.cmd(line)
        if r.code != code:
            raise AssertionError("%r: expected %d, got %s" % (line[:60], code, r))
        return r

    def report(self, *args):
        argv = [MAILSCOPE, "-c", self.d.conf, "report", self.t["id"]] + list(args)
        env = dict(os.environ, NO_COLOR="")
        cp = subprocess.run(argv, capture_output=True, cwd=self.d.dir, env=env,
                            timeout=harness.deadline(60))
        err = cp.stderr.decode("utf-8", "replace")
        if cp.returncode != 0 or harness.sanitizer_report(err):
            self.fail("report %s: exit %d\n--- stdout ---\n%s\n--- stderr ---\n%s"
                      % (" ".join(args), cp.returncode,
                         cp.stdout[:4000].decode("utf-8", "replace"), err))
        return cp.stdout

    def stored(self, sql, params):
        """One value as the store holds it: bytes."""
        con = self.d.db()
        con.text_factory = bytes
        try:
            return con.execute(sql, params).fetchone()[0]
        finally:
            con.close()

    def test_the_store_holds_the_hostile_values(self):
        """The premise: what the sessions sent is what the report reads."""
        for challenge, ehlo in (("tls-badcert", EHLO_HOSTILE), ("tlsa-bad", EHLO_LONG)):
            self.assertEqual(self.stored("SELECT helo FROM connections WHERE id = ?",
                                         (self.refused[challenge],)), ehlo)
        self.assertEqual(self.stored("SELECT mail_from FROM transactions t JOIN"
                                     " recipients r ON r.transaction_id = t.id"
                                     " WHERE r.test_id = ? LIMIT 1", (self.t["id"],)),
                         MAIL_FROM)

    def test_text_is_inert_and_fits_100_columns(self):
        for args in ((), ("--verbose",)):
            with self.subTest(args=args):
                text = assert_inert_text(self, self.report("--format", "text", *args),
                                         WIDTH)
                self.assertIn(self.t["id"], text)
        verbose = self.report("--format", "text", "--verbose").decode()
        # the refusal's EHLO, escaped: shown, never acted on
        self.assertIn(SCRIPT + "\\x1b[31mred\\x1b[0m\\xc2\\x9b31m\\xff\\xfe'\"\\x07\\x7f",
                      verbose)
        self.assertIn("x" * 60, verbose)      # the overlong one, wrapped
        self.assertIn(MAIL_FROM.decode(), verbose)

    def test_html_is_inert(self):
        out = self.report("--format", "html")
        page = assert_inert_text(self, out, 0)
        self.assertTrue(page.startswith("<!DOCTYPE html>\n"), page[:80])
        self.assertIn('<meta charset="utf-8">', page)
        low = page.lower()
        for bad in ("<script", "src=", "href=", "url(", "@import", "javascript:"):
            self.assertNotIn(bad, low)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;\\x1b[31mred\\x1b[0m"
                      "\\xc2\\x9b31m\ufffd\ufffd&#39;&quot;\\x07\\x7f", page)   # EHLO
        self.assertIn("&quot;&lt;script&gt;alert(1)&lt;/script&gt;\\&quot;q&#39;uotes"
                      "&quot;@example.org", page)                        # MAIL FROM
        p = Balance()
        p.feed(page)
        p.close()
        self.assertEqual(p.errors, [])
        self.assertEqual(p.stack, [])
        self.assertEqual(p.tags & {"script", "iframe", "object", "embed", "img",
                                   "link", "form", "base"}, set())
        self.assertEqual({a for a in p.attrs if a.startswith("on")}, set())

    def test_json_is_strict_utf8_validates_and_round_trips(self):
        import jsonschema        # python3-jsonschema (contrib/install-deps)
        out = self.report("--format", "json")
        rep = json.loads(out.decode("utf-8"))       # strict UTF-8
        with open(os.path.join(SRCDIR, "docs", "report.schema.json")) as f:
            schema = json.load(f)
        jsonschema.validators.validator_for(schema).check_schema(schema)
        jsonschema.validate(rep, schema)
        ch = {c["name"]: c for c in rep["challenges"]}
        self.assertEqual(ch["v4"]["deliveries"][0]["mail_from"], MAIL_FROM.decode())
        self.assertEqual(ch["tls-badcert"]["outcome"], "refused")
        # invalid bytes become U+FFFD one by one, the rest is kept
        self.assertEqual(ch["tls-badcert"]["refusals"][0]["helo"],
                         EHLO_HOSTILE.decode("utf-8", "replace"))
        self.assertEqual(ch["tlsa-bad"]["refusals"][0]["helo"], EHLO_LONG.decode())


if __name__ == "__main__":
    unittest.main()
