"""Issue 17: every verdict proven against real mail servers.

The lab of lab.py with eight senders (docs/lab.md): each gets a test of
its own (`mailscope new-test --json`), sends one message to the whole
address set, and `mailscope report --format json` must give, for every
challenge and every verdict, what docs/lab-expected.json (rendered in
docs/lab.md) says that sender's documentation implies.  The matrix is
printed; a mismatch fails with its evidence rows and the sender's log.
"""

import email.utils
import json
import os
import shutil
import sys
import time
import unittest
import uuid

import jsonschema

import harness
import labexpect
from harness import BASE_DOMAIN, CHALLENGE_HOSTS, deadline
from lab import DKIM_SELECTOR, PLAIN4, LabDaemon, MailLab, dkim_key
from mta import Exim, MtaSts, OpenSMTPD, Postfix

WAIT = 40               # [global] wait, seconds: absence is conclusive after it
GREYLIST_DELAY = "3s"
RETRY = "5s"            # the senders' queue retry interval

POSTFIX_COMMON = """\
myorigin = {domain}
smtp_tls_CAfile = {ca}
minimal_backoff_time = {retry}
maximal_backoff_time = 10s
queue_run_delay = {retry}
"""

# name: (MTA, its settings beyond POSTFIX_COMMON (Postfix) or the smtp
# transport's (Exim), resolver).  docs/lab.md explains each.
POSTFIX_LEVELS = {
    "postfix-may": "smtp_tls_security_level = may\n",
    "postfix-dane": "smtp_dns_support_level = dnssec\nsmtp_tls_security_level = dane\n",
    "postfix-encrypt": ("smtp_tls_security_level = encrypt\n"
                        "smtp_tls_mandatory_protocols = >=TLSv1.2\n"),
    "postfix-encrypt13": ("smtp_tls_security_level = encrypt\n"
                          "smtp_tls_mandatory_protocols = >=TLSv1.3\n"),
    "postfix-dane-sts": ("smtp_dns_support_level = dnssec\nsmtp_tls_security_level = dane\n"
                         "smtp_tls_policy_maps = socketmap:inet:127.0.0.1:8461:postfix\n"),
    "postfix-may-nonvalidating": "smtp_tls_security_level = may\n",
}
EXIM_TRANSPORT = """\
  hosts_try_dane = *
  tls_verify_certificates = {ca}
  tls_try_verify_hosts = *
  dkim_domain = {domain}
  dkim_selector = {selector}
  dkim_private_key = {key}
  dkim_canon = relaxed
"""
SENDERS = [s["name"] for s in labexpect.load()["senders"]]


class PostfixWithSts(Postfix):
    """Postfix and the mta-sts-daemon its smtp_tls_policy_maps names."""

    def __init__(self, sts, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sts = sts

    def start(self):
        self.sts.start()
        super().start()

    def stop(self):
        try:
            super().stop()
        finally:
            self.sts.stop()

    def log(self):
        return super().log() + "--- mta-sts-daemon\n" + self.sts.log()


def make_mta(d, s):
    # the lab CA where the MTA's own user can read it (Exim's transport
    # runs as Debian-exim)
    ca = os.path.join(s.dir, "ca.pem")
    shutil.copyfile(d.ca, ca)
    os.chmod(ca, 0o644)
    d_ = os.path.join(s.dir, "mta")
    if s.name.startswith("postfix"):
        extra = POSTFIX_COMMON.format(domain=s.domain, ca=ca, retry=RETRY) \
            + POSTFIX_LEVELS[s.name]
        if s.name == "postfix-dane-sts":
            return PostfixWithSts(MtaSts(s.ns, os.path.join(s.dir, "sts"), ca),
                                  s.ns, d_, extra=extra, hostname=s.domain)
        return Postfix(s.ns, d_, extra=extra, hostname=s.domain)
    if s.name == "exim":
        return Exim(s.ns, d_, s.domain, s.domain, retry=RETRY,
                    transport=EXIM_TRANSPORT.format(ca=ca, domain=s.domain,
                                                    selector=DKIM_SELECTOR, key=s.dkim[0]))
    if s.name == "opensmtpd":
        return OpenSMTPD(s.ns, d_, s.domain)
    raise AssertionError("no MTA for sender " + s.name)


def message(s, rcpts):
    return ("From: Lab <{f}>\nTo: {to}\nSubject: mailscope lab: {n}\nDate: {date}\n"
            "Message-ID: <{mid}@{dom}>\nMIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=us-ascii\n\n"
            "One message to every challenge address, from {n}.\n").format(
                f=s.mail_from, to=",\n ".join(rcpts), n=s.name, dom=s.domain,
                date=email.utils.formatdate(localtime=True), mid=uuid.uuid4().hex)


class Lab(unittest.TestCase):
    """One lab, eight senders, one test each; then one comparison per
    sender (its challenges, its verdicts)."""

    @classmethod
    def setUpClass(cls):
        cls.started = time.monotonic()
        cls.d = LabDaemon(cls.__name__, wait="%ds" % WAIT, greylist_delay=GREYLIST_DELAY)
        cls.addClassCleanup(cls.d.close)
        cls.lab = MailLab("lab", cls.d)
        cls.addClassCleanup(cls.lab.stop)
        for name in SENDERS:
            s = cls.lab.sender(name, PLAIN4 if name.endswith("nonvalidating") else
                               "198.51.100.1")
            if name == "exim":
                s.dkim = dkim_key(s.dir)
        cls.lab.start(lambda s: make_mta(cls.d, s))
        cls.setup_time = time.monotonic() - cls.started
        cls.tests = {}
        for s in cls.lab.senders:
            t = cls.d.new_test()
            cls.tests[s.name] = t
            rcpts = [t["addresses"][c] for c in sorted(t["addresses"])]
            s.mta.submit(s.mail_from, rcpts, message(s, rcpts))
        cls.reports = cls._wait_reports()
        cls.run_time = time.monotonic() - cls.started
        cls.results = {s.name: labexpect.compare(labexpect.expected(s.name),
                                                 cls.reports[s.name])
                       for s in cls.lab.senders}
        sys.stderr.write("\n" + labexpect.matrix(cls.reports, cls.results)
                         + "\nlab: set up in %.0f s, %.0f s in all\n"
                         % (cls.setup_time, cls.run_time))
        if os.environ.get("MAILSCOPE_LAB_DUMP"):
            with open(os.environ["MAILSCOPE_LAB_DUMP"], "w") as f:
                json.dump(cls.reports, f, indent=1)

    @classmethod
    def _report(cls, t):
        return json.loads(cls.d.tool("report", t["id"], "--format", "json").stdout)

    @classmethod
    def _wait_reports(cls):
        """Every sender's report once nothing in it waits or is pending
        (but TLS-RPT, which waits for a daily report), queues kicked
        every RETRY meanwhile."""
        end = time.monotonic() + deadline(WAIT + 90)
        while True:
            reports = {n: cls._report(t) for n, t in cls.tests.items()}
            if all(labexpect.settled(r) for r in reports.values()):
                return reports
            if time.monotonic() > end:
                return reports      # the comparison says what is missing
            for s in cls.lab.senders:
                s.mta.kick()
            time.sleep(int(RETRY[:-1]))

    def check_sender(self, name):
        rep = self.reports[name]
        with open(os.path.join(harness.SRCDIR, "docs", "report.schema.json")) as f:
            jsonschema.validate(rep, json.load(f))
        bad = self.results[name]
        if bad:
            s = [x for x in self.lab.senders if x.name == name][0]
            self.fail("%s: %d mismatches with docs/lab-expected.json\n%s\n--- %s log\n%s"
                      % (name, len(bad), "\n".join(labexpect.explain(b, rep)
                                                    + self.connection_rows(s, b) for b in bad),
                         s.mta.kind, s.mta.log()[-6000:]))

    ROW_KEYS = ("id", "client_addr", "local_addr", "host", "challenge", "tls_established",
                "tls_alert_sent", "tls_alert_received", "end_reason", "commands",
                "mail_commands")

    def connection_rows(self, s, mismatch):
        """The connections rows of sender S to a mismatching challenge."""
        if mismatch[0] != "challenge":
            return ""
        rows = self.d.query("SELECT * FROM connections WHERE challenge = ? AND"
                            " client_addr IN (?, ?) ORDER BY id",
                            (mismatch[1], s.addr4, s.addr6))
        return "".join("\n    connection %s" % {k: r.get(k) for k in self.ROW_KEYS}
                       for r in rows) or "\n    no connection from this sender"

    def test_run_time(self):
        # a cold lab within 5 minutes on two cores (issue 17)
        self.assertLess(self.run_time, 300 * harness.SLOW)


class LabDoc(unittest.TestCase):
    """docs/lab.md shows docs/lab-expected.json, which is complete; the
    comparison can fail (no root needed)."""

    def test_the_doc_tables_are_rendered_from_the_expectations(self):
        self.assertEqual(labexpect.doc_tables(), labexpect.render(),
                         "docs/lab.md is stale: python3 tests/integration/labexpect.py --doc")

    def test_every_sender_has_every_cell_and_an_mta(self):
        keys = set(labexpect.load()["defaults"]["verdicts"])
        for name in SENDERS:
            exp = labexpect.expected(name)
            self.assertEqual(set(exp["challenges"]), set(harness.CHALLENGES), name)
            self.assertEqual(set(exp["verdicts"]), keys, name)
            for c, cell in exp["challenges"].items():
                self.assertIn(cell.split()[0], ("delivered", "refused", "absent"), (name, c))
            for what, k in exp["known"].items():
                self.assertEqual(set(k), {"observed", "reason"}, (name, what))
            self.assertTrue(name in POSTFIX_LEVELS or name in ("exim", "opensmtpd"), name)

    def test_a_differing_cell_or_verdict_is_a_mismatch(self):
        exp = labexpect.expected("postfix-dane")
        rep = {"challenges": [], "verdicts": [{"key": "dane", "state": "improve"}]}
        for c in harness.CHALLENGES:
            want = labexpect._parse(exp["challenges"][c])
            fam = {"4": 4, "6": 6}.get(labexpect.lab_mx_family(c), 6)
            rep["challenges"].append({
                "name": c, "outcome": want["outcome"], "host": CHALLENGE_HOSTS[c][0],
                "deliveries": [{"tls_version": None if want["tls"] == "cleartext"
                                else want["tls"], "host": want["via"] or CHALLENGE_HOSTS[c][0],
                                "family": fam}] if want["outcome"] == "delivered" else []})
        self.assertEqual(labexpect.compare(exp, rep),
                         [("verdict", "dane", "good", "improve", None)])
        rep["challenges"][harness.CHALLENGES.index("tlsa-bad")].update(
            outcome="delivered", deliveries=[{"tls_version": "TLSv1.3", "host": "tls-bad",
                                              "family": 4}])
        self.assertIn(("challenge", "tlsa-bad", "refused", "delivered TLSv1.3 v4", None),
                      labexpect.compare(exp, rep))
        # the family of an A-only MX is checked
        rep["challenges"][harness.CHALLENGES.index("v4")]["deliveries"][0]["family"] = 6
        self.assertIn(("challenge", "v4", "delivered TLSv1.3", "delivered TLSv1.3 v6", None),
                      labexpect.compare(exp, rep))


for _name in SENDERS:
    setattr(Lab, "test_" + _name.replace("-", "_"),
            lambda self, n=_name: self.check_sender(n))


if __name__ == "__main__":
    unittest.main()
