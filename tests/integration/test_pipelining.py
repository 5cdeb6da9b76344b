"""PIPELINING (RFC 2920): never refused, replies in order, improper
pipelining recorded rather than punished."""

import unittest

from harness import DaemonTestCase, dot_stuff, make_message


class Pipelining(DaemonTestCase):

    def setUp(self):
        self.t = self.new_test()

    def test_pipelined_transaction_after_ehlo(self):
        """MAIL, RCPT (ok and refused), DATA in one write; then the message and
        QUIT in one write: every reply in order, the mail stored."""
        to = self.d.address(self.t, "plain")
        with self.d.smtp("plain") as c:
            c.ehlo()
            c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<%s>\r\n"
                   "RCPT TO:<someone@gmail.com>\r\nDATA\r\n" % to)
            r = c.read_replies(4)
            self.assertReply(r[0], 250, "2.1.0")
            self.assertReply(r[1], 250, "2.1.5")
            self.assertReply(r[2], 550, "5.7.1")
            self.assertReply(r[3], 354)
            c.send(dot_stuff(make_message(to, subject="pipelined")) + b"QUIT\r\n")
            r = c.read_replies(2)
            self.assertReply(r[0], 250, "2.0.0")
            self.assertReply(r[1], 221, "2.0.0")
            c.expect_eof()
        conn = self.d.connection(c.local_port)
        self.assertEqual(conn["transactions"], 1)
        self.assertEqual(conn["improper_pipelining"], 0)
        self.assertEqual(conn["end_reason"], "quit")
        rows = self.d.query("SELECT r.address FROM recipients r JOIN transactions t "
                            "ON t.id = r.transaction_id WHERE t.connection_id = ?",
                            (conn["id"],))
        self.assertEqual(rows, [{"address": to}])

    def test_whole_session_in_one_write(self):
        """EHLO to QUIT, message included, in one write: still served in
        order (we measure senders, we do not punish them), and recorded as
        improper pipelining."""
        to = self.d.address(self.t, "plain")
        with self.d.smtp("plain") as c:
            c.send(b"EHLO burst.example\r\nMAIL FROM:<a@example.org>\r\n"
                   b"RCPT TO:<" + to.encode() + b">\r\nDATA\r\n" +
                   dot_stuff(make_message(to, subject="burst")) + b"QUIT\r\n")
            r = c.read_replies(6)
            self.assertReply(r[0], 250)
            self.assertGreater(len(r[0].lines), 1, "EHLO reply: %s" % r[0])
            self.assertReply(r[1], 250, "2.1.0")
            self.assertReply(r[2], 250, "2.1.5")
            self.assertReply(r[3], 354)
            self.assertReply(r[4], 250, "2.0.0")
            self.assertReply(r[5], 221, "2.0.0")
            c.expect_eof()
        conn = self.d.connection(c.local_port)
        self.assertEqual(conn["transactions"], 1)
        self.assertGreaterEqual(conn["improper_pipelining"], 1)
        self.assertEqual(conn["helo"], "burst.example")
        self.assertEqual(conn["test_id"], self.t["id"])

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
        conn = self.d.connection(c.local_port)
        self.assertEqual(conn["transactions"], n)
        rows = self.d.query("SELECT mail_from FROM transactions WHERE connection_id = ? "
                            "ORDER BY id", (conn["id"],))
        self.assertEqual([r["mail_from"] for r in rows],
                         ["n%d@example.org" % i for i in range(n)])


if __name__ == "__main__":
    unittest.main()
