"""Which test a connection belongs to (issue 12, schema/014): by its
recipient, by an SNI that names a test, by its client address's evidence
for exactly one test, else ambiguous or none (docs/researcher.md).

Every test uses a client address of its own (127.0.0.x), since evidence is
kept per address for the daemon's whole database."""

import re
import ssl
import unittest

from harness import BASE_DOMAIN, DaemonTestCase, make_message


class Attribution(DaemonTestCase):

    def attribution(self, conn_id, reason):
        """The connection_attribution row of CONN_ID once it says REASON."""
        return self.d.wait_for(
            "SELECT * FROM connection_attribution WHERE connection_id = ?"
            " AND reason = ?", (conn_id, reason),
            what="connection %d attributed %s" % (conn_id, reason))[0]

    def deliver(self, t, source):
        """One message to T's v4 address from SOURCE; its connection row."""
        to = self.d.address(t, "open")
        with self.d.smtp("open", source=source) as c:
            c.ehlo()
            self.assertReply(c.send_mail("a@example.org", [to], make_message(to)),
                             250, "2.0.0")
            c.quit()
        return self.d.connection(c)

    def bare(self, source, host="open"):
        """EHLO and QUIT from SOURCE: a connection that names no test."""
        with self.d.smtp(host, source=source) as c:
            c.ehlo()
            c.quit()
        return self.d.connection(c)

    def test_sni_naming_a_test_attributes_a_connection_without_mail(self):
        t = self.new_test()
        sni = "mx-%s.dns.%s" % (t["id"], BASE_DOMAIN)   # the dns MX
        with self.d.smtp("open", source="127.0.0.11") as c:
            c.ehlo()
            c.starttls(self.d.tls_context(verify=False), sni)
            c.ehlo()
            c.quit()
        conn = self.d.connection(c)
        self.assertIsNone(conn["test_id"])   # the row itself is not changed
        a = self.attribution(conn["id"], "sni")
        self.assertEqual((a["test_id"], a["candidates"], a["client_net"]),
                         (t["id"], None, "127.0.0.11"))
        self.assertRegex(self.d.log(), r"c%d: disconnect from 127\.0\.0\.11 .*"
                         r"test=%s/dns by=sni" % (conn["id"], t["id"]))
        rows = self.d.query("SELECT reason FROM v_test_connections"
                            " WHERE test_id = ? AND connection_id = ?",
                            (t["id"], conn["id"]))
        self.assertEqual([r["reason"] for r in rows], ["sni"])

    def test_bare_connection_after_a_delivery_is_attributed_by_address(self):
        t = self.new_test()
        self.deliver(t, "127.0.0.12")
        conn = self.bare("127.0.0.12")
        a = self.attribution(conn["id"], "address")
        self.assertEqual((a["test_id"], a["candidates"]), (t["id"], t["id"]))
        self.assertIn("c%d: attribution reason=address test=%s" % (conn["id"], t["id"]),
                      self.d.log())

    def test_refusal_before_the_delivery_is_attributed_once_it_arrives(self):
        t = self.new_test()
        # tls-bad: the client checks the certificate and gives up
        with self.d.smtp("tls-bad", source="127.0.0.13") as c:
            c.ehlo()
            with self.assertRaises((ssl.SSLError, OSError)):
                c.starttls(self.d.tls_context(verify=True), "mx.tls-badcert." + BASE_DOMAIN)
        refused = self.d.connection(c)
        self.assertEqual(refused["end_reason"], "tls-failed")
        self.attribution(refused["id"], "none")
        # the disconnect line says why the handshake failed
        line = re.search(r"c%d: disconnect from .* reason=tls-failed (.*)" % refused["id"],
                         self.d.log())
        self.assertIsNotNone(line, self.d.log_tail(20))
        self.assertRegex(line.group(1), r'^tls_error="[^"]*" alert_sent=\S+ '
                         r'alert_received=\S+ ')
        self.assertNotIn("alert_received=- ", line.group(1))

        self.deliver(t, "127.0.0.13")
        a = self.attribution(refused["id"], "address")
        self.assertEqual(a["test_id"], t["id"])
        self.assertIsNone(self.d.query_one("SELECT test_id FROM connections WHERE id = ?",
                                           (refused["id"],))["test_id"])

    def test_two_tests_from_one_address_make_a_bare_connection_ambiguous(self):
        t1, t2 = self.new_test(), self.new_test()
        self.deliver(t1, "127.0.0.14")
        self.deliver(t2, "127.0.0.14")
        conn = self.bare("127.0.0.14")
        a = self.attribution(conn["id"], "ambiguous")
        self.assertIsNone(a["test_id"])
        self.assertEqual(sorted(a["candidates"].split()), sorted([t1["id"], t2["id"]]))
        for t in (t1, t2):
            rows = self.d.query("SELECT reason, candidates FROM v_test_connections"
                                " WHERE test_id = ? AND connection_id = ?",
                                (t["id"], conn["id"]))
            self.assertEqual([r["reason"] for r in rows], ["ambiguous"])

    def test_connection_with_a_recipient_keeps_rcpt(self):
        t, other = self.new_test(), self.new_test()
        self.deliver(other, "127.0.0.15")
        conn = self.deliver(t, "127.0.0.15")
        a = self.attribution(conn["id"], "rcpt")
        self.assertEqual((a["test_id"], a["candidates"]), (t["id"], None))
        self.assertEqual(conn["test_id"], t["id"])
        self.assertRegex(self.d.log(), r"c%d: disconnect from .* test=%s/v4 by=rcpt"
                         % (conn["id"], t["id"]))


if __name__ == "__main__":
    unittest.main()
