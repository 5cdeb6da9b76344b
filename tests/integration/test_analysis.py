"""Message analysis through the real daemon: every accepted message gets an
analyses row at once ("pending" until the workers finish), then the header
analyzer's results in messages and header_findings (RFC 5322 3.6)."""

import re
import socket
import time
import unittest

import harness
from harness import DaemonTestCase, make_message

# A UDP "resolver" that never answers, so that every analysis waits for
# its DNS timeouts and the analysis queue fills up.
SILENT = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
SILENT.bind(("127.0.0.1", 0))


class AnalysisCase(DaemonTestCase):
    """Delivers one message to a new test and returns what was stored."""

    def deliver(self, msg, mail_from="sender@example.org", params=""):
        t = self.d.new_test()
        to = self.d.address(t, challenge="plaintext")
        with self.d.smtp("plain") as c:
            c.ehlo()
            r = c.cmd("MAIL FROM:<%s>%s" % (mail_from, params))
            self.assertEqual(r.code, 250, str(r))
            self.assertEqual(c.cmd("RCPT TO:<%s>" % to).code, 250)
            self.assertEqual(c.cmd("DATA").code, 354)
            c.send(msg.replace(b"\r\n.", b"\r\n..") + b"\r\n.\r\n")
            self.assertEqual(c.read_reply().code, 250)
            c.quit()
        txn = self.d.query_one(
            "SELECT t.id FROM transactions t JOIN recipients r"
            " ON r.transaction_id = t.id WHERE r.test_id = ?", (t["id"],))["id"]
        self.d.wait_for("SELECT 1 FROM analyses WHERE transaction_id = ?"
                        " AND finished IS NOT NULL", (txn,), what="analysis done")
        findings = {(f["field"], f["finding"]): f["count"] for f in self.d.query(
            "SELECT field, finding, count FROM header_findings WHERE transaction_id = ?",
            (txn,))}
        msgrow = self.d.query_one("SELECT * FROM messages WHERE transaction_id = ?", (txn,))
        view = self.d.query_one("SELECT analysis, header_dup, header_missing"
                                " FROM v_deliveries WHERE transaction_id = ?", (txn,))
        return findings, msgrow, view


class HeaderAnalysis(AnalysisCase):

    def test_clean_message_has_no_findings(self):
        msg = make_message("x@y.example", sender="sender@example.org",
                           extra_headers=b"Received: from a\r\nReceived: from b\r\n")
        findings, m, view = self.deliver(msg)
        self.assertEqual(findings, {})
        self.assertEqual((m["from_domain"], m["envelope_domain"], m["from_matches_envelope"],
                          m["received_count"], m["eight_bit"]),
                         ("example.org", "example.org", 1, 2, 0))
        self.assertEqual((view["analysis"], view["header_dup"], view["header_missing"]),
                         ("done", 0, 0))

    def test_duplicate_single_instance_fields_are_found(self):
        msg = make_message("x@y.example", extra_headers=b"Subject: again\r\n"
                           b"From: other@example.net\r\nTo: <z@y.example>\r\n")
        findings, _, view = self.deliver(msg)
        self.assertEqual(findings, {("subject", "dup"): 2, ("from", "dup"): 2,
                                    ("to", "dup"): 2})
        self.assertEqual(view["header_dup"], 3)

    def test_missing_date_from_and_message_id_are_found(self):
        msg = b"To: <x@y.example>\r\nSubject: bare\r\n\r\nbody\r\n"
        findings, m, view = self.deliver(msg)
        self.assertEqual(findings, {("date", "missing"): 0, ("from", "missing"): 0,
                                    ("message-id", "missing_recommended"): 0})
        self.assertIsNone(m["from_domain"])
        self.assertIsNone(m["from_matches_envelope"])
        self.assertEqual(view["header_missing"], 3)

    def test_envelope_and_header_from_domains_compared(self):
        msg = make_message("x@y.example", sender="news@Mail.Example.COM")
        _, m, _ = self.deliver(msg, mail_from="bounce@example.org")
        self.assertEqual((m["from_domain"], m["envelope_domain"], m["from_matches_envelope"]),
                         ("mail.example.com", "example.org", 0))

    def test_folded_header_is_one_field(self):
        msg = make_message("x@y.example", extra_headers=b"X-Long: a\r\n\tb\r\n c\r\n")
        findings, m, _ = self.deliver(msg)
        self.assertEqual(findings, {})
        self.assertEqual(m["header_count"], 6)

    def test_8bit_without_8bitmime_is_found(self):
        msg = make_message("x@y.example", body="caf\u00e9\r\n".encode())
        findings, m, _ = self.deliver(msg)
        self.assertEqual(findings, {(None, "8bit_undeclared"): 0})
        self.assertEqual((m["eight_bit"], m["body_8bitmime"]), (1, 0))
        findings, m, _ = self.deliver(msg, params=" BODY=8BITMIME")
        self.assertEqual(findings, {})
        self.assertEqual((m["eight_bit"], m["body_8bitmime"]), (1, 1))

    def test_header_line_at_the_limit_and_thousands_of_fields(self):
        """A field line of exactly line_max (1000 with CRLF) is accepted and
        analysed; 3000 fields are counted, the duplicates among them found."""
        at_limit = b"X-Long: " + b"a" * (1000 - 2 - len(b"X-Long: ")) + b"\r\n"
        self.assertEqual(len(at_limit), 1000)
        many = b"".join(b"X-F%d: v\r\n" % i for i in range(2990)) + b"Subject: two\r\n"
        msg = make_message("x@y.example", extra_headers=at_limit + many)
        findings, m, _ = self.deliver(msg)
        self.assertEqual(findings, {("subject", "dup"): 2})
        self.assertEqual(m["header_count"], 5 + 1 + 2990 + 1)

    def test_header_from_is_stored_escaped(self):
        msg = make_message("x@y.example").replace(
            b"From: Sender <sender@example.org>", b"From: \x1b[31mEvil\x1b[0m <e@example.org>")
        _, m, _ = self.deliver(msg)
        self.assertNotIn("\x1b", m["header_from"])
        self.assertIn("\\x1b", m["header_from"])
        self.assertEqual(m["from_domain"], "example.org")


class LongLines(AnalysisCase):
    """With line_max raised above the SMTP limit, lines over RFC 5322's 998
    characters are accepted and reported."""
    options = [("global", "line_max", "2000")]

    def test_lines_over_998_characters_are_found(self):
        msg = make_message("x@y.example", body=b"b" * 1500 + b"\r\n" + b"c" * 998 + b"\r\n",
                           extra_headers=b"X-Long: " + b"a" * 991 + b"\r\n")
        findings, _, _ = self.deliver(msg)
        self.assertEqual(findings, {(None, "long_line"): 2})


class AnalysisQueueBound(DaemonTestCase):
    """Waiting messages hold their whole text: beyond analysis_queue they
    are not queued, and their analyses row says so."""
    options = [("global", "analysis_queue", "1"),
               ("global", "resolver", "127.0.0.1:%d" % SILENT.getsockname()[1]),
               ("global", "resolver_timeout", "300ms")]

    def test_messages_beyond_the_queue_are_marked_skipped(self):
        t = self.d.new_test()
        to = self.d.address(t, challenge="plaintext")
        with self.d.smtp("plain") as c:
            c.ehlo()
            for i in range(6):
                self.assertEqual(c.send_mail("s%d@example.org" % i, [to],
                                             make_message(to)).code, 250)
            c.quit()
        by_test = (" FROM analyses a JOIN recipients r"
                   " ON r.transaction_id = a.transaction_id WHERE r.test_id = ?")
        self.d.wait_for("SELECT count(*)" + by_test + " HAVING count(*) = 6"
                        " AND sum(a.finished IS NULL) = 0", (t["id"],),
                        timeout=60, what="every analysis finished or skipped")
        rows = self.d.query("SELECT a.error" + by_test, (t["id"],))
        errors = [r["error"] for r in rows]
        self.assertEqual(len(errors), 6)
        skipped = [e for e in errors if e is not None]
        self.assertTrue(skipped, errors)
        self.assertEqual(set(skipped), {"skipped: analysis queue full"})
        # the skipped ones have no results, the others do
        self.assertEqual(len(self.d.query(
            "SELECT m.transaction_id FROM messages m JOIN recipients r"
            " ON r.transaction_id = m.transaction_id WHERE r.test_id = ?",
            (t["id"],))), 6 - len(skipped))

    def test_waiting_messages_are_skipped_at_shutdown(self):
        """Stopping does not wait for the DNS of every queued message."""
        d = self.d
        t = d.new_test()
        to = d.address(t, challenge="plaintext")
        with d.smtp("plain") as c:
            c.ehlo()
            for i in range(2):
                self.assertEqual(c.send_mail("w%d@example.org" % i, [to],
                                             make_message(to)).code, 250)
            c.quit()
        d.stop()
        rows = d.query("SELECT a.finished, a.error FROM analyses a JOIN recipients r"
                       " ON r.transaction_id = a.transaction_id WHERE r.test_id = ?",
                       (t["id"],))
        self.assertEqual(len(rows), 2)
        self.assertTrue(all(r["finished"] is not None for r in rows), rows)
        d.start()


if __name__ == "__main__":
    unittest.main()


class WorkerCount(DaemonTestCase):
    """analysis_workers (default 2): that many analyses run at once.  Six
    messages arrive while every worker waits on the silent resolver: the
    queue takes one, each worker one, the rest are skipped (issue 15)."""
    WORKERS = 2
    # lookups of 300 ms, one after another, hold each worker for longer
    # than the six messages take (and let it stop in time at shutdown)
    options = AnalysisQueueBound.options
    BEGUN = re.compile(r"analysis of transaction=\d+ begun")

    def test_that_many_analyses_run_at_once(self):
        t = self.d.new_test()
        to = self.d.address(t, challenge="plaintext")
        with self.d.smtp("plain") as c:
            c.ehlo()
            for i in range(6):
                self.assertEqual(c.send_mail("k%d@example.org" % i, [to],
                                             make_message(to)).code, 250)
                # a worker takes each of the first messages before the
                # next comes (a busy machine may be slow to wake it)
                end = time.monotonic() + harness.deadline(5)
                while (i < self.WORKERS and len(self.BEGUN.findall(self.d.log())) <= i
                       and time.monotonic() < end):
                    time.sleep(0.01)
            c.quit()
        self.assertEqual(len(self.BEGUN.findall(self.d.log())), self.WORKERS, self.d.log())
        sql = ("SELECT count(*) AS n FROM analyses a JOIN recipients r"
               " ON r.transaction_id = a.transaction_id WHERE r.test_id = ?"
               " AND a.error = 'skipped: analysis queue full'")
        self.d.wait_for(sql + " HAVING n > 0", (t["id"],), what="a skipped analysis")
        time.sleep(1.0)     # and no more while the workers wait
        self.assertEqual(self.d.query_one(sql, (t["id"],))["n"], 6 - self.WORKERS - 1)


class WorkerCountFour(WorkerCount):
    WORKERS = 4
    options = WorkerCount.options + [("global", "analysis_workers", "4")]
