"""The worked examples of docs/researcher.md, run against a store made by
the real daemon.

setUpClass sends the traffic of three tests (senders) and two bare
ClientHellos, over loopback, to the challenges' own addresses:

- MODERN delivers v4 (127.0.0.1), v6 (::1), tls and grey-v4 over TLS 1.3
  with OpenSSL's default groups, checks certificates (so its handshake
  with tls-bad fails and tls-badcert is not delivered), and retries the
  greylisted grey-v4 from the same address after greylist_delay;
- LEGACY uses TLS 1.2 at most and P-256 only, checks no certificate:
  delivers v4, tls, tls-badcert (with RSA key transport, no group), and
  grey-v4 on a retry from another address (127.0.0.2); plaintext and
  uniq in cleartext;
- QUIET is greylisted once on grey-v4, in cleartext, and never retries:
  it delivers nothing;
- a ClientHello offering X25519MLKEM768 and X25519Kyber768Draft00
  (Python's OpenSSL 3.0 cannot) with key shares for X25519MLKEM768
  (random bytes: the daemon's OpenSSL ignores the group) and x25519, and
  one offering a GREASE value and the unassigned 14588 (which a query
  matching '%4588%' would count), both sent as raw bytes after STARTTLS;
  the daemon answers with x25519, and we hang up after its ServerHello.
  The test writes no row: the daemon records everything.

Then every ```sql block of the "Worked examples" section (first line
`-- example: NAME`) runs read-only, through Python's sqlite3 and through
the sqlite3 shell, and its rows are compared with what this traffic must
give: the method check_NAME.  A block without a check, or a check
without a block, fails the test.
"""

import json
import os
import re
import shutil
import smtplib
import ssl
import subprocess
import time
import unittest

import harness
from harness import DaemonTestCase, Endpoint, make_message, mx_name
from test_clienthello import (TLS12, TLS12_SUITES, TLS13, TLS13_SUITES,
                              X25519, X25519MLKEM768, client_hello,
                              groups_ext, key_share_ext, psk_modes_ext,
                              read_record, REC_HANDSHAKE, sigalgs_ext,
                              SIGALGS, sni_ext, versions_ext)

DOC = os.path.join(harness.SRCDIR, "docs", "researcher.md")
SECTION = "## Worked examples"
TEST_PLACEHOLDER = "'k7...'"
DELAY = 1.0                     # greylist_delay of the grey host, seconds
MARGIN = 0.2

X25519KYBER768DRAFT00 = 0x6399          # 25497
GREASE_GROUP = 0x1a1a                   # RFC 8701
DECOY_GROUP = 14588                     # unassigned: 4588 within it

TLS13_CIPHER = "TLS_AES_256_GCM_SHA384"   # OpenSSL's first TLS 1.3 suite


def examples(text):
    """[(name, sql)] of the worked-examples section of TEXT."""
    start = text.index("\n" + SECTION + "\n")
    m = re.search(r"^## ", text[start + 1 + len(SECTION):], re.M)
    end = start + 1 + len(SECTION) + m.start() if m else len(text)
    section = text[start:end]
    out = []
    for block in re.findall(r"^```sql\n(.*?)^```$", section, re.M | re.S):
        first = block.split("\n", 1)[0]
        m = re.match(r"^-- example: ([a-z0-9-]+)$", first)
        if not m:
            raise AssertionError("a worked example without '-- example: NAME' "
                                 "as its first line:\n%s" % block)
        out.append((m.group(1), block))
    return out


class WorkedExamples(DaemonTestCase):
    options = [("host grey", "greylist_delay", "%gs" % DELAY)]

    # -- the traffic

    @classmethod
    def session(cls, challenge, family=4, ctx=None, source=None, helo=None):
        """smtplib connected to CHALLENGE's own address (EHLO done, and
        with CTX STARTTLS); its Endpoint is noted in cls.endpoints."""
        addr, port = cls.d.challenge_addr(challenge, family)
        since = time.time()
        s = smtplib.SMTP(addr, port, timeout=harness.deadline(5),
                         local_hostname=helo or "client.example",
                         source_address=(source, 0) if source else None)
        cls.endpoints.append(Endpoint.of(s.sock, since))
        s.ehlo()
        if ctx is not None:
            code, resp = s.starttls(context=ctx)
            assert code == 220, (code, resp)
            s.ehlo()
        return s

    @classmethod
    def deliver(cls, test, challenge, family=4, ctx=None, source=None):
        """One message to TEST's address for CHALLENGE; the cipher used."""
        to = test["addresses"][challenge]
        s = cls.session(challenge, family, ctx, source)
        try:
            refused = s.sendmail("sender@example.org", [to],
                                 make_message(to, subject=challenge))
            assert refused == {}, refused
            cipher = s.sock.cipher()[0] if ctx is not None else None
        finally:
            s.quit()
        return cipher

    @classmethod
    def greylisted(cls, test, mail_from, ctx=None, source=None):
        """MAIL, RCPT to TEST's grey-v4 address; asserts 451; QUIT."""
        s = cls.session("grey-v4", ctx=ctx, source=source)
        try:
            code, _ = s.mail(mail_from)
            assert code == 250, code
            code, resp = s.rcpt(test["addresses"]["grey-v4"])
            assert code == 451, (code, resp)
        finally:
            s.quit()

    @classmethod
    def refused_certificate(cls, challenge, ctx):
        """STARTTLS to CHALLENGE with a context that checks the
        certificate: the handshake must fail on our side."""
        s = cls.session(challenge)
        try:
            try:
                s.starttls(context=ctx)
            except ssl.SSLCertVerificationError:
                return
            raise AssertionError("certificate of %s accepted" % challenge)
        finally:
            s.close()

    @classmethod
    def raw_hello(cls, challenge, groups, shares):
        """STARTTLS on CHALLENGE's own address, then a hand-made
        ClientHello offering GROUPS with key SHARES; the ServerHello is
        read and the connection closed."""
        c = cls.d.smtp(harness.CHALLENGE_HOSTS[challenge][0], challenge=challenge)
        cls.endpoints.append(c.endpoint)
        with c:
            c.ehlo()
            r = c.cmd("STARTTLS")
            assert r.code == 220, r
            exts = (sni_ext(mx_name(challenge)) + groups_ext(groups)
                    + sigalgs_ext(SIGALGS) + versions_ext([TLS13, TLS12])
                    + psk_modes_ext() + key_share_ext(shares))
            c.send(client_hello(TLS13_SUITES + TLS12_SUITES, exts))
            typ, frag = read_record(c.sock)
            assert typ == REC_HANDSHAKE and frag[0] == 2, (typ, frag[:8])
        return c

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = cls.d
        cls.endpoints = []
        cls.modern, cls.legacy, cls.quiet = (d.new_test() for _ in range(3))
        tls13 = d.tls_context(verify=False, minimum=ssl.TLSVersion.TLSv1_3)
        tls13_verify = d.tls_context(verify=True, minimum=ssl.TLSVersion.TLSv1_3)
        tls12 = d.tls_context(verify=False, maximum=ssl.TLSVersion.TLSv1_2,
                              curve="prime256v1")
        tls12_rsa = d.tls_context(verify=False, maximum=ssl.TLSVersion.TLSv1_2,
                                  ciphers="AES128-SHA:@SECLEVEL=0")
        m, l, q = cls.modern, cls.legacy, cls.quiet

        # the first tries on grey-v4, then the configured delay runs
        cls.grey_from = {m["id"]: "modern@example.org", l["id"]: "legacy@example.org",
                         q["id"]: "quiet@example.org"}
        cls.grey_first = time.time()
        cls.greylisted(m, cls.grey_from[m["id"]], ctx=tls13)
        cls.greylisted(l, cls.grey_from[l["id"]], ctx=tls12)
        cls.greylisted(q, cls.grey_from[q["id"]])
        retry_at = time.monotonic() + DELAY + MARGIN

        cls.modern_ciphers = [cls.deliver(m, "v4", ctx=tls13_verify),
                              cls.deliver(m, "v6", family=6, ctx=tls13_verify),
                              cls.deliver(m, "tls", ctx=tls13_verify)]
        cls.refused_certificate("tls-badcert", tls13_verify)
        cls.deliver(l, "plaintext")
        cls.deliver(l, "v4", ctx=tls12)
        cls.deliver(l, "uniq")
        cls.deliver(l, "tls", ctx=tls12)
        cls.deliver(l, "tls-badcert", ctx=tls12_rsa)
        pq = cls.raw_hello("uniq", [X25519MLKEM768, X25519KYBER768DRAFT00, X25519],
                           [(X25519MLKEM768, os.urandom(1216)),
                            (X25519, os.urandom(32))])
        cls.pq_client = pq.endpoint.client_addr
        cls.raw_hello("v4", [GREASE_GROUP, DECOY_GROUP, X25519],
                      [(X25519, os.urandom(32))])

        # the configured time passes; the retries
        time.sleep(max(0.0, retry_at - time.monotonic()))
        cls.modern_ciphers.append(cls.retry(m, ctx=tls13))
        cls.retry(l, ctx=tls12, source="127.0.0.2")
        cls.grey_last = time.time()
        for ep in cls.endpoints:
            d.connection(ep)

    @classmethod
    def retry(cls, test, ctx, source=None):
        """The accepted retry of TEST's greylisted grey-v4 message; the
        cipher used."""
        to = test["addresses"]["grey-v4"]
        s = cls.session("grey-v4", ctx=ctx, source=source)
        try:
            refused = s.sendmail(cls.grey_from[test["id"]], [to],
                                 make_message(to, subject="retry"))
            assert refused == {}, refused
            return s.sock.cipher()[0]
        finally:
            s.quit()

    # -- the examples

    def run_example(self, sql):
        """[dict] of SQL's rows through Python's sqlite3, read-only; the
        sqlite3 shell must give the same rows."""
        rows = self.d.query(sql)
        shell = shutil.which("sqlite3")
        self.assertIsNotNone(shell, "sqlite3 (the shell) is not installed")
        cp = subprocess.run([shell, "-readonly", "-bail", "-json", self.d.db_path],
                            input=sql, capture_output=True, text=True,
                            timeout=harness.deadline(30))
        self.assertEqual((cp.returncode, cp.stderr), (0, ""), "sqlite3 shell failed")
        self.assertEqual(json.loads(cp.stdout) if cp.stdout.strip() else [], rows,
                         "the sqlite3 shell gives other rows")
        return rows

    def test_worked_examples(self):
        with open(DOC) as f:
            blocks = examples(f.read())
        names = [n for n, _ in blocks]
        self.assertEqual(len(names), len(set(names)), "duplicate names: %s" % names)
        checks = sorted(a[len("check_"):].replace("_", "-")
                        for a in dir(self) if a.startswith("check_"))
        self.assertEqual(sorted(names), checks,
                         "every worked example needs a check_NAME here, and "
                         "every check an example")
        for name, sql in blocks:
            with self.subTest(example=name):
                if "k7..." in sql:
                    self.assertIn(TEST_PLACEHOLDER, sql)
                    sql = sql.replace(TEST_PLACEHOLDER, "'%s'" % self.modern["id"])
                rows = self.run_example(sql)
                getattr(self, "check_" + name.replace("-", "_"))(rows)

    def assertRows(self, rows, expected):
        """ROWS equal EXPECTED, a list of tuples of the columns' values
        in order."""
        self.assertEqual([tuple(r.values()) for r in rows], expected)

    # one method per example: what the traffic above must give

    def check_test_deliveries(self, rows):
        for r in rows:
            self.assertRegex(r.pop("received"), r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
        c = self.modern_ciphers
        self.assertRows(rows, [
            ("v4", 4, "TLSv1.3", c[0], "x25519"),
            ("v6", 6, "TLSv1.3", c[1], "x25519"),
            ("tls", 4, "TLSv1.3", c[2], "x25519"),
            ("grey-v4", 4, "TLSv1.3", c[3], "x25519"),
        ])
        self.assertEqual(set(c), {TLS13_CIPHER})

    def check_ipv6_share(self, rows):
        # modern over IPv6; legacy over IPv4 only; quiet nothing
        self.assertRows(rows, [(3, 2, 1, 33.3, 50.0)])

    def check_tls_versions_deliveries(self, rows):
        # modern: v4 v6 tls grey-v4; legacy: v4 tls tls-badcert grey-v4,
        # uniq in cleartext (plaintext is on plain, not counted)
        self.assertRows(rows, [("TLSv1.2", 4, 1, 44.4), ("TLSv1.3", 4, 1, 44.4),
                               ("cleartext", 1, 1, 11.1)])

    def check_tls_versions_connections(self, rows):
        # TLS 1.3: modern's v4 v6 tls, grey-v4 twice (the first without
        # a message); TLS 1.2: legacy's v4 tls tls-badcert, grey-v4
        # twice; failed: modern on tls-badcert and the two bare hellos
        # clients: 127.0.0.1 and 127.0.0.2; 127.0.0.1 and ::1; 127.0.0.1
        self.assertRows(rows, [("TLSv1.2", 5, 4, 2), ("TLSv1.3", 5, 4, 2),
                               ("failed", 3, 0, 1)])

    def check_pq_offered(self, rows):
        # 11 hellos of Python's ssl (6 of modern, 5 of legacy, one of
        # them without supported_groups) and the 2 bare ones; only the
        # first bare one offers a hybrid
        self.assertRows(rows, [(13, 1, 7.7, 1)])
        self.assertEqual(self.pq_client, "127.0.0.1")

    def check_pq_groups(self, rows):
        self.assertRows(rows, [
            (4588, "X25519MLKEM768", "hybrid", 1, 0),
            (25497, "X25519Kyber768Draft00", "hybrid, draft", 1, 0),
            (512, "MLKEM512", "ML-KEM", 0, 0),
            (513, "MLKEM768", "ML-KEM", 0, 0),
            (514, "MLKEM1024", "ML-KEM", 0, 0),
            (4587, "SecP256r1MLKEM768", "hybrid", 0, 0),
            (4589, "SecP384r1MLKEM1024", "hybrid", 0, 0),
        ])

    def check_groups_negotiated(self, rows):
        self.assertRows(rows, [("x25519", "TLSv1.3", 5), ("secp256r1", "TLSv1.2", 4),
                               ("(none)", "TLSv1.2", 1)])

    def check_greylist_retries(self, rows):
        # modern and legacy retried (legacy from 127.0.0.2), quiet did not
        delays = [(r.pop("min_delay"), r.pop("max_delay")) for r in rows]
        self.assertRows(rows, [("within 10 min", 2, 2, 1, 2),
                               ("no retry accepted", 1, 1, 0, 1)])
        (lo, hi), none = delays
        self.assertEqual(none, (None, None))
        self.assertGreaterEqual(lo, DELAY)
        self.assertLessEqual(hi, self.grey_last - self.grey_first + 0.1)

    def check_cert_validation(self, rows):
        self.assertRows(rows, [("no: delivered to tls-badcert", 1),
                               ("yes, or not yet tried", 1)])


if __name__ == "__main__":
    unittest.main()
