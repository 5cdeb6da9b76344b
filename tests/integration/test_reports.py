"""Reports sent to us: TLS-RPT (RFC 8460) to tlsrpt@<base>, the address
every zone publishes, accepted on every host and stored whole in
inbound_reports; the report address of a challenge domain, and dmarc@,
still refused.  Each policy attributed to a test: by its uniq domain, or
by the reporter's address and the date range (docs/researcher.md).

Tests of attribution by address use client addresses of their own
(127.0.0.5x): evidence is kept per address for the daemon's database."""

import email
import gzip
import json
import os
import time
import unittest
from email import policy
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import harness
from harness import BASE_DOMAIN, DaemonTestCase, sha256_hex

REPORT_RCPT = "tlsrpt@" + BASE_DOMAIN
REPORTER = "noreply-smtp-tls-reporting@sender.example"
MAX_SIZE = 40000
# Hosts that answer 530 before STARTTLS (CHALLENGES.md).
TLS_REQUIRED = ("tls", "tls-bad", "tls13", "tls12", "strong", "medium")


def tlsrpt_json(policy_domain=BASE_DOMAIN, sending_mta_ip="192.0.2.1",
                dates=("2025-11-24T00:00:00Z", "2025-11-24T23:59:59Z")):
    """An aggregate report (RFC 8460 4.4) for POLICY_DOMAIN, its failure
    sent from SENDING_MTA_IP, over DATES (start, end)."""
    return {
        "organization-name": "Sender Example",
        "date-range": {"start-datetime": dates[0],
                       "end-datetime": dates[1]},
        "contact-info": "smtp-tls-reporting@sender.example",
        "report-id": "2025-11-24T00:00:00Z_" + policy_domain,
        "policies": [{
            "policy": {"policy-type": "no-policy-found",
                       "policy-domain": policy_domain},
            "summary": {"total-successful-session-count": 3,
                        "total-failure-session-count": 1},
            "failure-details": [{
                "result-type": "certificate-expired",
                "sending-mta-ip": sending_mta_ip,
                "receiving-mx-hostname": "mx.tls-bad." + BASE_DOMAIN,
                "failed-session-count": 1}],
        }],
    }


def tlsrpt_message(to=REPORT_RCPT, report=None, padding=0):
    """An RFC 8460 5.3 report mail: multipart/report; report-type=tlsrpt,
    a human-readable part (with a line that begins with a dot, so the
    DATA stream is dot-stuffed) and the gzip'd JSON as
    application/tlsrpt+gzip; PADDING random bytes as one more attachment.
    Returns (message bytes with CRLF line ends, report)."""
    report = report or tlsrpt_json()
    msg = MIMEMultipart("report", report_type="tlsrpt")
    msg["From"] = "TLS reporting <%s>" % REPORTER
    msg["To"] = to
    msg["Subject"] = ("Report Domain: %s Submitter: sender.example "
                      "Report-ID: <%s>" % (BASE_DOMAIN, report["report-id"]))
    msg["Date"] = "Tue, 25 Nov 2025 01:00:00 +0000"
    msg["Message-ID"] = "<%s@sender.example>" % os.urandom(8).hex()
    msg["TLS-Report-Domain"] = BASE_DOMAIN
    msg["TLS-Report-Submitter"] = "sender.example"
    msg.attach(MIMEText("This is an aggregate TLS report from sender.example.\n"
                        ".A line that begins with a dot.\n"))
    gz = MIMEApplication(gzip.compress(json.dumps(report).encode(), mtime=0),
                         "tlsrpt+gzip")
    gz.add_header("Content-Disposition", "attachment",
                  filename="sender.example!%s!1763942400!1764028799.json.gz"
                  % BASE_DOMAIN)
    msg.attach(gz)
    if padding:
        msg.attach(MIMEApplication(os.urandom(padding)))
    data = msg.as_bytes(policy=policy.SMTP)
    assert b"\r\n.A line" in data and data.endswith(b"\r\n")
    return data, report


def utc_day(t):
    """The RFC 3339 start and end of the UTC day of T, as reporters send
    (RFC 8460 4.1)."""
    day = int(t) // 86400 * 86400
    return (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(day)),
            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(day + 86399)))


def report_in(blob):
    """The JSON report of the stored message BLOB, unpacked."""
    m = email.message_from_bytes(blob, policy=policy.default)
    assert m.get_content_type() == "multipart/report", m.get_content_type()
    assert m.get_param("report-type") == "tlsrpt"
    for part in m.iter_attachments():
        if part.get_content_type() == "application/tlsrpt+gzip":
            return json.loads(gzip.decompress(part.get_payload(decode=True)))
    raise AssertionError("no application/tlsrpt+gzip part")


class Reports(DaemonTestCase):
    options = [("global", "max_message_size", str(MAX_SIZE))]

    def setUp(self):
        self.t = self.new_test()

    def tls_context(self):
        """Any suite any host offers (medium: CBC only, TLS 1.2)."""
        return self.d.tls_context(verify=False, minimum=None,
                                  ciphers="ALL:@SECLEVEL=0")

    def reports_of(self, conn_id):
        return self.d.query("SELECT * FROM inbound_reports WHERE connection_id = ?"
                            " ORDER BY id", (conn_id,))

    def assertStoredWhole(self, row, msg, rcpt=REPORT_RCPT, mail_from=REPORTER):
        self.assertEqual(row["kind"], "tlsrpt")
        self.assertEqual(row["rcpt"], rcpt)
        self.assertEqual(row["mail_from"], mail_from)
        self.assertEqual(row["size"], len(msg))
        self.assertEqual(row["sha256"], sha256_hex(msg))
        self.assertEqual(bytes(row["message"]), msg, "stored message differs")

    def deliver(self, host, rcpts, msg, tls, source=None):
        """MSG to RCPTS on HOST (after STARTTLS if TLS) from SOURCE; the
        final reply and the connection row."""
        with self.d.smtp(host, source=source) as c:
            c.ehlo()
            if tls:
                c.starttls(self.tls_context())
                c.ehlo()
            reply = c.send_mail(REPORTER, rcpts, msg)
            c.quit()
        return reply, self.d.connection(c)

    def test_report_over_starttls_on_open_host_is_stored_whole(self):
        msg, report = tlsrpt_message()
        reply, conn = self.deliver("open", [REPORT_RCPT], msg, tls=True)
        self.assertReply(reply, 250, "2.0.0")
        self.assertEqual(conn["tls_established"], 1)
        self.assertIsNone(conn["test_id"])
        self.assertEqual(conn["transactions"], 1)

        rows = self.reports_of(conn["id"])
        self.assertEqual(len(rows), 1)
        self.assertStoredWhole(rows[0], msg)
        self.assertEqual(report_in(bytes(rows[0]["message"])), report)
        # a transaction like any other, its recipient without a test
        txn = self.d.query_one("SELECT * FROM transactions WHERE id = ?",
                               (rows[0]["transaction_id"],))
        self.assertEqual((txn["connection_id"], txn["size"], txn["body_sha256"],
                          txn["tls"]),
                         (conn["id"], len(msg), sha256_hex(msg), 1))
        self.assertEqual(self.d.query("SELECT address, challenge, test_id FROM"
                                      " recipients WHERE transaction_id = ?",
                                      (txn["id"],)),
                         [{"address": REPORT_RCPT, "challenge": None,
                           "test_id": None}])
        view = self.d.query("SELECT * FROM v_inbound_reports WHERE"
                            " connection_id = ?", (conn["id"],))
        self.assertEqual(len(view), 1)
        self.assertNotIn("message", view[0])
        self.assertEqual((view[0]["report_id"], view[0]["kind"], view[0]["host"],
                          view[0]["size"], view[0]["sha256"],
                          view[0]["tls_version"]),
                         (rows[0]["id"], "tlsrpt", "open", len(msg),
                          sha256_hex(msg), conn["tls_version"]))

    def tlsrpt_rows(self, conn_id):
        """The v_tlsrpt rows of CONN_ID's report, once analysed."""
        return self.d.wait_for("SELECT * FROM v_tlsrpt WHERE connection_id = ?"
                               " ORDER BY policy_id", (conn_id,),
                               what="the report parsed into v_tlsrpt")

    def test_report_is_parsed_into_v_tlsrpt(self):
        msg, report = tlsrpt_message()
        reply, conn = self.deliver("open", [REPORT_RCPT], msg, tls=True)
        self.assertReply(reply, 250, "2.0.0")
        rows = self.tlsrpt_rows(conn["id"])
        self.assertEqual(len(rows), 1)
        r = rows[0]
        self.assertEqual((r["status"], r["error"], r["organization"],
                          r["report_id"], r["contact"], r["date_start"],
                          r["date_end"]),
                         ("ok", None, "Sender Example", report["report-id"],
                          "smtp-tls-reporting@sender.example",
                          "2025-11-24T00:00:00Z", "2025-11-24T23:59:59Z"))
        self.assertEqual((r["policy_type"], r["policy_domain"],
                          r["successful"], r["failed"], r["failure_rows"]),
                         ("no-policy-found", BASE_DOMAIN.lower(), 3, 1, 1))
        # the base domain is no challenge's: no test
        self.assertEqual((r["test_id"], r["attribution"], r["candidates"]),
                         (None, "none", None))
        self.assertEqual(r["inbound_report_id"],
                         self.reports_of(conn["id"])[0]["id"])
        f = self.d.query_one("SELECT * FROM tlsrpt_failures WHERE"
                             " tlsrpt_policy_id = ?", (r["policy_id"],))
        self.assertEqual((f["result_type"], f["sending_mta_ip"],
                          f["receiving_mx_hostname"], f["receiving_ip"],
                          f["failed_sessions"]),
                         ("certificate-expired", "192.0.2.1",
                          ("mx.tls-bad." + BASE_DOMAIN).lower(), None, 1))

    def test_report_with_wrong_types_is_stored_malformed(self):
        report = tlsrpt_json()
        report["policies"][0]["summary"]["total-failure-session-count"] = "1"
        msg, _ = tlsrpt_message(report=report)
        reply, conn = self.deliver("open", [REPORT_RCPT], msg, tls=True)
        self.assertReply(reply, 250, "2.0.0")
        rows = self.tlsrpt_rows(conn["id"])
        self.assertEqual(len(rows), 1)
        self.assertEqual((rows[0]["status"], rows[0]["error"],
                          rows[0]["organization"], rows[0]["policy_id"]),
                         ("malformed",
                          "total-failure-session-count: not an integer",
                          "Sender Example", None))
        # the message is kept whole all the same
        self.assertStoredWhole(self.reports_of(conn["id"])[0], msg)

    def test_malformed_reports_are_stored_unattributed(self):
        """From an address with evidence for a test: bad gzip, a message
        without a report part.  Malformed, no policy, nothing attributed,
        and the daemon parses the next report."""
        t = self.new_test()
        conn = self.sent_by(t, "127.0.0.50")
        msg, _ = tlsrpt_message(report=tlsrpt_json(
            "tls." + BASE_DOMAIN, dates=utc_day(conn["started"])))
        broken = msg.replace(b"H4sI", b"H4sX", 1)    # the gzip magic, base64
        self.assertNotEqual(broken, msg)
        plain = harness.make_message(REPORT_RCPT)
        for m, error in ((broken, "bad gzip"),
                         (plain, "no application/tlsrpt+gzip or +json part")):
            reply, conn = self.deliver("open", [REPORT_RCPT], m, tls=False,
                                       source="127.0.0.50")
            self.assertReply(reply, 250, "2.0.0")
            rows = self.tlsrpt_rows(conn["id"])
            self.assertEqual([(r["status"], r["error"], r["policy_id"],
                               r["test_id"], r["attribution"]) for r in rows],
                             [("malformed", error, None, None, None)])
            self.assertStoredWhole(self.reports_of(conn["id"])[0], m)
        self.assertTrue(self.d.running)
        self.assertEqual(self.attributed(msg, "127.0.0.50"),
                         [("tls." + BASE_DOMAIN, t["id"], "sender", None)])

    # -- attribution (docs/researcher.md, "Reports sent to us")

    def sent_by(self, t, source):
        """A delivery to T's v4 address from SOURCE, its attribution
        stored (the evidence the store matches reports with); its
        connection row."""
        to = self.d.address(t, "open")
        reply, conn = self.deliver("open", [to], harness.make_message(to),
                                   tls=False, source=source)
        self.assertReply(reply, 250, "2.0.0")
        self.d.wait_for("SELECT 1 FROM connection_attribution WHERE"
                        " connection_id = ? AND reason = 'rcpt'", (conn["id"],),
                        what="connection %d attributed" % conn["id"])
        return conn

    def attributed(self, msg, source):
        """MSG sent to the report address from SOURCE: its policies'
        (policy_domain, test_id, attribution, candidates)."""
        reply, conn = self.deliver("open", [REPORT_RCPT], msg, tls=False,
                                   source=source)
        self.assertReply(reply, 250, "2.0.0")
        return [(r["policy_domain"], r["test_id"], r["attribution"],
                 r["candidates"]) for r in self.tlsrpt_rows(conn["id"])]

    def test_uniq_policy_domain_is_attributed_to_its_test(self):
        t = self.new_test()
        domain = "%s.uniq.%s" % (t["id"], BASE_DOMAIN)
        # from an address without evidence, in another year
        msg, _ = tlsrpt_message(report=tlsrpt_json(domain.upper()))
        self.assertEqual(self.attributed(msg, "127.0.0.51"),
                         [(domain.lower(), t["id"], "uniq", None)])
        # an ID that no test has: no test, whatever the domain says
        other = "%s.uniq.%s" % ("a" * 26, BASE_DOMAIN)
        msg, _ = tlsrpt_message(report=tlsrpt_json(other))
        self.assertEqual(self.attributed(msg, "127.0.0.51"),
                         [(other, None, "none", None)])

    def test_a_report_mailed_for_uniq_appears_in_the_test_report(self):
        """The whole path: a report for <id>.uniq.<base> mailed to
        tlsrpt@<base> is the evidence of the test's tlsrpt verdict and
        carries its organization and counts."""
        t = self.new_test()
        self.sent_by(t, "127.0.0.71")
        domain = "%s.uniq.%s" % (t["id"], BASE_DOMAIN)
        msg, _ = tlsrpt_message(report=tlsrpt_json(domain))
        self.assertEqual(self.attributed(msg, "127.0.0.72"),
                         [(domain, t["id"], "uniq", None)])
        cp = self.d.tool("report", t["id"], "--format", "json")
        v = {x["key"]: x for x in json.loads(cp.stdout)["verdicts"]}["tlsrpt"]
        self.assertEqual(v["state"], "good", v)
        report = self.d.query("SELECT r.id, r.organization FROM tlsrpt_reports r"
                              " JOIN tlsrpt_policies p ON p.tlsrpt_report_id = r.id"
                              " WHERE p.test_id = ?", (t["id"],))
        self.assertEqual([(e["table"], e["id"]) for e in v["evidence"]],
                         [("tlsrpt_reports", report[0]["id"])], v)
        self.assertIn(report[0]["organization"], v["evidence"][0]["summary"])
        self.assertIn("attributed by uniq", v["evidence"][0]["summary"])
        text = self.d.tool("report", t["id"], "--verbose").stdout
        self.assertIn(report[0]["organization"], text)

    def test_challenge_domain_is_attributed_by_the_reporters_address(self):
        """A report for tls.<base> from the address a test's delivery
        came from, its date range the delivery's day: that test."""
        t = self.new_test()
        conn = self.sent_by(t, "127.0.0.52")
        domain = "tls." + BASE_DOMAIN
        day = utc_day(conn["started"])
        msg, _ = tlsrpt_message(report=tlsrpt_json(domain, dates=day))
        self.assertEqual(self.attributed(msg, "127.0.0.52"),
                         [(domain, t["id"], "sender", None)])
        # from elsewhere, the failure detail's sending-mta-ip: the same
        msg, _ = tlsrpt_message(report=tlsrpt_json(
            "mx.tls." + BASE_DOMAIN, sending_mta_ip="127.0.0.52", dates=day))
        self.assertEqual(self.attributed(msg, "127.0.0.53"),
                         [("mx.tls." + BASE_DOMAIN, t["id"], "sender", None)])
        # dates not RFC 3339: the report's arrival +- 2 days
        msg, _ = tlsrpt_message(report=tlsrpt_json(
            domain, dates=("yesterday", "today")))
        self.assertEqual(self.attributed(msg, "127.0.0.52"),
                         [(domain, t["id"], "sender", None)])

    def test_two_tests_from_one_address_are_ambiguous(self):
        t1, t2 = self.new_test(), self.new_test()
        conn = self.sent_by(t1, "127.0.0.54")
        self.sent_by(t2, "127.0.0.54")
        msg, _ = tlsrpt_message(report=tlsrpt_json(
            "tls." + BASE_DOMAIN, dates=utc_day(conn["started"])))
        self.assertEqual(self.attributed(msg, "127.0.0.54"),
                         [("tls." + BASE_DOMAIN, None, "ambiguous",
                           " ".join(sorted((t1["id"], t2["id"]))))])

    def test_unrelated_reports_are_attributed_to_no_test(self):
        t = self.new_test()
        conn = self.sent_by(t, "127.0.0.55")
        day = utc_day(conn["started"])
        cases = [
            # not one of our challenge domains, from the test's address
            ("127.0.0.55", tlsrpt_json("mail.example.org", dates=day)),
            ("127.0.0.55", tlsrpt_json(BASE_DOMAIN, dates=day)),
            # a challenge domain, from an address without evidence
            ("127.0.0.56", tlsrpt_json("tls." + BASE_DOMAIN, dates=day)),
            # the test's address, another day
            ("127.0.0.55", tlsrpt_json("tls." + BASE_DOMAIN,
                                       dates=utc_day(conn["started"] - 86400))),
        ]
        for source, report in cases:
            with self.subTest(source=source, domain=report["policies"][0]
                              ["policy"]["policy-domain"]):
                msg, _ = tlsrpt_message(report=report)
                got = self.attributed(msg, source)
                self.assertEqual([g[1:] for g in got], [(None, "none", None)])

    def test_report_in_plaintext_on_plain_host_is_stored_whole(self):
        msg, report = tlsrpt_message()
        reply, conn = self.deliver("plain", [REPORT_RCPT], msg, tls=False)
        self.assertReply(reply, 250, "2.0.0")
        self.assertEqual(conn["tls_established"], 0)
        rows = self.reports_of(conn["id"])
        self.assertEqual(len(rows), 1)
        self.assertStoredWhole(rows[0], msg)
        self.assertEqual(report_in(bytes(rows[0]["message"])), report)
        self.assertEqual(self.d.query_one("SELECT host, tls_version FROM"
                                          " v_inbound_reports WHERE report_id = ?",
                                          (rows[0]["id"],)),
                         {"host": "plain", "tls_version": None})

    def test_report_address_in_any_case_with_final_dot(self):
        rcpt = "TlsRpt@" + BASE_DOMAIN.upper() + "."
        msg, _ = tlsrpt_message(to=rcpt)
        reply, conn = self.deliver("plain", [rcpt], msg, tls=False)
        self.assertReply(reply, 250, "2.0.0")
        rows = self.reports_of(conn["id"])
        self.assertEqual(len(rows), 1)
        self.assertStoredWhole(rows[0], msg, rcpt=rcpt)

    def test_oversize_report_refused_with_552_and_not_stored(self):
        msg, _ = tlsrpt_message(padding=MAX_SIZE)
        self.assertGreater(len(msg), MAX_SIZE)
        reply, conn = self.deliver("open", [REPORT_RCPT], msg, tls=True)
        self.assertReply(reply, 552, "5.3.4")
        self.assertEqual(self.reports_of(conn["id"]), [])
        self.assertNoTransaction(conn["id"])

    def test_report_and_test_recipient_in_one_transaction(self):
        """The test recipient is recorded as usual and the report stored:
        one transaction, its two recipients, one report row."""
        to = self.d.address(self.t, "plain")
        msg, _ = tlsrpt_message()
        reply, conn = self.deliver("plain", [to, REPORT_RCPT], msg, tls=False)
        self.assertReply(reply, 250, "2.0.0")
        self.assertEqual(conn["test_id"], self.t["id"])
        txns = self.d.query("SELECT id FROM transactions WHERE connection_id = ?",
                            (conn["id"],))
        self.assertEqual(len(txns), 1)
        self.assertEqual(self.d.query("SELECT address, challenge, test_id FROM"
                                      " recipients WHERE transaction_id = ?"
                                      " ORDER BY id", (txns[0]["id"],)),
                         [{"address": to, "challenge": "plaintext",
                           "test_id": self.t["id"]},
                          {"address": REPORT_RCPT, "challenge": None,
                           "test_id": None}])
        rows = self.reports_of(conn["id"])
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["transaction_id"], txns[0]["id"])
        self.assertStoredWhole(rows[0], msg)
        self.assertEqual(len(self.d.query("SELECT 1 FROM v_deliveries WHERE"
                                          " test_id = ?", (self.t["id"],))), 1)

    def test_normal_mail_stores_no_report(self):
        to = self.d.address(self.t, "plain")
        msg = harness.make_message(to)
        reply, conn = self.deliver("plain", [to], msg, tls=False)
        self.assertReply(reply, 250, "2.0.0")
        self.assertEqual(len(self.d.query("SELECT id FROM transactions WHERE"
                                          " connection_id = ?", (conn["id"],))), 1)
        self.assertEqual(self.reports_of(conn["id"]), [])

    def test_report_address_accepted_on_every_host(self):
        hosts = sorted({h for h, fam in self.d.listeners() if h in harness.HOST_CHALLENGE})
        self.assertEqual(set(hosts), set(harness.HOST_CHALLENGE))
        for host in hosts:
            with self.subTest(host=host), self.d.smtp(host) as c:
                c.ehlo()
                if host in TLS_REQUIRED:
                    c.starttls(self.tls_context())
                    c.ehlo()
                self.assertReply(c.cmd("MAIL FROM:<%s>" % REPORTER), 250, "2.1.0")
                # never greylisted, on grey either
                self.assertReply(c.cmd("RCPT TO:<%s>" % REPORT_RCPT), 250, "2.1.5")
                c.quit()

    def test_other_report_addresses_refused_with_550(self):
        tid = self.t["id"]
        refused = ["tlsrpt@tls." + BASE_DOMAIN, "tlsrpt@plaintext." + BASE_DOMAIN,
                   "TLSRPT@v4.%s." % BASE_DOMAIN,
                   "tlsrpt@%s.uniq.%s" % (tid, BASE_DOMAIN),
                   # no zone publishes a DMARC rua= of ours
                   "dmarc@" + BASE_DOMAIN]
        with self.d.smtp("open") as c:
            c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<%s>" % REPORTER), 250, "2.1.0")
            for a in refused:
                self.assertReply(c.cmd("RCPT TO:<%s>" % a), 550, "5.1.1", a)
            c.quit()


class UnparsedReports(DaemonTestCase):
    """Reports stored but never parsed (before schema 16, or their
    analysis skipped) are parsed at the next start, and attributed."""

    def test_report_without_its_rows_is_parsed_at_the_next_start(self):
        d = self.d
        t = d.new_test()
        domain = "%s.uniq.%s" % (t["id"], BASE_DOMAIN)
        msg, _ = tlsrpt_message(report=tlsrpt_json(domain))
        with d.smtp("plain") as c:
            c.ehlo()
            self.assertEqual(c.send_mail(REPORTER, [REPORT_RCPT], msg).code, 250)
            c.quit()
        conn = d.connection(c)
        view = "SELECT * FROM v_tlsrpt WHERE connection_id = ?"
        d.wait_for(view, (conn["id"],), what="the report parsed")
        d.stop()
        # as a database of schema 15 has it: the report, nothing parsed
        con = d.db(readonly=False)
        with con:
            for table in ("tlsrpt_failures", "tlsrpt_policies", "tlsrpt_reports"):
                con.execute("DELETE FROM %s" % table)
        con.close()
        analyses = d.query("SELECT * FROM analyses ORDER BY transaction_id")
        d.start()
        rows = d.wait_for(view, (conn["id"],), what="the report parsed again")
        self.assertEqual([(r["status"], r["policy_domain"], r["test_id"],
                           r["attribution"], r["failure_rows"]) for r in rows],
                         [("ok", domain, t["id"], "uniq", 1)])
        self.assertRegex(d.log(), r"store: 1 TLS-RPT reports stored unparsed: "
                         r"1 queued for parsing now")
        # only the report is parsed: the analysis stays as it was
        self.assertEqual(d.query("SELECT * FROM analyses ORDER BY transaction_id"),
                         analyses)
        self.assertEqual(len(d.query("SELECT 1 FROM messages m JOIN"
                                     " inbound_reports i USING (transaction_id)"
                                     " WHERE i.connection_id = ?", (conn["id"],))), 1)


if __name__ == "__main__":
    unittest.main()
