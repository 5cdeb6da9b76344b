"""PIPELINING (RFC 2920): never refused, replies in order, improper
pipelining recorded rather than punished.  The golden transcripts
(tests/golden/pipelined_*) have the exact dialogues; here, many
transactions on one connection."""

import unittest

from harness import DaemonTestCase, dot_stuff, make_message


class Pipelining(DaemonTestCase):

    def setUp(self):
        self.t = self.new_test()

    def test_many_transactions_pipelined(self):
        """Ten transactions, each MAIL/RCPT/DATA group and message written at
        once: ten 250s in order, ten transactions stored."""
        to = self.d.address(self.t, "plain")
        n = 10
        with self.d.smtp("plain") as c:
            c.ehlo()
            for i in range(n):
                c.send("MAIL FROM:<n%d@example.org>\r\nRCPT TO:<%s>\r\nDATA\r\n" % (i, to))
                r = c.read_replies(3)
                self.assertEqual([x.code for x in r], [250, 250, 354], r)
                c.send(dot_stuff(make_message(to, subject="n%d" % i)))
                self.assertReply(c.read_reply(), 250, "2.0.0")
            c.quit()
        conn = self.d.connection(c)
        self.assertEqual(conn["transactions"], n)
        rows = self.d.query("SELECT mail_from FROM transactions WHERE connection_id = ? "
                            "ORDER BY id", (conn["id"],))
        self.assertEqual([r["mail_from"] for r in rows],
                         ["n%d@example.org" % i for i in range(n)])


if __name__ == "__main__":
    unittest.main()
