"""Evidence exactly as sent (issue 11): the message's bytes as the sender
meant them (RFC 5321 4.5.2 unstuffing after CRLF only, NULs kept), a bare
CR refused in a command (2.3.8), and no credential in the log."""

import hashlib
import re
import unittest

from harness import DaemonTestCase, dot_stuff, make_message


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class Evidence(DaemonTestCase):

    def setUp(self):
        self.t = self.new_test()
        self.to = self.d.address(self.t, "plain")

    def deliver(self, data):
        """Sends DATA (the stream after the 354, final dot line included)
        in one transaction; the connection and its one transaction row."""
        with self.d.smtp("plain") as c:
            c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
            self.assertReply(c.cmd("RCPT TO:<%s>" % self.to), 250, "2.1.5")
            self.assertReply(c.cmd("DATA"), 354)
            c.send(data)
            self.assertReply(c.read_reply(), 250, "2.0.0")
            c.quit()
        conn = self.d.connection(c)
        txn = self.d.query_one("SELECT * FROM transactions WHERE connection_id = ?",
                               (conn["id"],))
        return conn, txn

    def test_dot_after_bare_lf_is_kept(self):
        """A\\n.\\nB: the dot follows a bare LF, which ends no line (2.3.8):
        it is content, neither unstuffed nor the end of the data."""
        msg = make_message(self.to, body=b"A\n.\nB\r\n")
        conn, txn = self.deliver(msg + b".\r\n")
        self.assertEqual(txn["size"], len(msg))
        self.assertEqual(txn["body_sha256"], sha256(msg))
        self.assertEqual(txn["bare_lf"], 2)

    def test_dot_after_bare_lf_then_crlf_does_not_end_data(self):
        """\\n.\\r\\n is content; only CRLF . CRLF ends the data."""
        msg = make_message(self.to, body=b"A\n.\r\nB\r\n")
        conn, txn = self.deliver(msg + b".\r\n")
        self.assertEqual(txn["size"], len(msg))
        self.assertEqual(txn["body_sha256"], sha256(msg))

    def test_dot_after_crlf_is_unstuffed(self):
        msg = make_message(self.to, body=b"A\r\n.x\r\n..\r\n")
        conn, txn = self.deliver(dot_stuff(msg))
        self.assertEqual(txn["size"], len(msg))
        self.assertEqual(txn["body_sha256"], sha256(msg))

    def test_nul_bytes_kept_and_counted(self):
        msg = make_message(self.to, subject="a\0b", body=b"x\0\0y\r\n")
        conn, txn = self.deliver(msg + b".\r\n")
        self.assertEqual(txn["size"], len(msg))
        self.assertEqual(txn["body_sha256"], sha256(msg))
        self.assertEqual(txn["nul_bytes"], 3)
        # the stored header section is the bytes as received
        self.assertIn(b"Subject: a\0b\r\n", txn["headers"])
        row = self.d.query_one("SELECT nul_bytes FROM v_deliveries"
                               " WHERE transaction_id = ?", (txn["id"],))
        self.assertEqual(row["nul_bytes"], 3)

    def test_bare_cr_in_command_refused_501(self):
        with self.d.smtp("plain") as c:
            c.send(b"HELO a\rNOOP\r\n")
            self.assertReply(c.read_reply(), 501, "5.5.2")
            c.send(b"NOOP\r\r\n")
            self.assertReply(c.read_reply(), 501, "5.5.2")
            self.assertReply(c.cmd("NOOP"), 250, "2.0.0")
            c.quit()
        conn = self.d.connection(c)
        self.assertIsNone(conn["helo"])
        self.assertEqual(conn["bare_cr_commands"], 2)
        row = self.d.query_one("SELECT bare_cr_commands FROM v_connections"
                               " WHERE connection_id = ?", (conn["id"],))
        self.assertEqual(row["bare_cr_commands"], 2)
        self.assertIn('cmd="HELO\\x20a\\x0dNOOP"', self.reject_lines(conn))

    def reject_lines(self, conn):
        """The log's reject lines of CONN."""
        return "\n".join(l for l in self.d.log().splitlines()
                         if re.search(r"\bc%d: reject:" % conn["id"], l))

    def test_auth_credentials_not_logged(self):
        secret = "AGFsaWNlAHNlY3JldHBhc3N3b3Jk"
        with self.d.smtp("plain") as c:
            c.ehlo()
            self.assertReply(c.cmd("AUTH PLAIN " + secret), 500, "5.5.1")
            self.assertReply(c.cmd("auth login " + secret), 500, "5.5.1")
            c.quit()
        conn = self.d.connection(c)
        log = self.reject_lines(conn)
        self.assertNotIn(secret, self.d.log())
        self.assertIn('cmd="AUTH\\x20PLAIN..."', log)
        self.assertIn('cmd="auth\\x20login..."', log)

    def test_unknown_command_argument_cut_in_log(self):
        with self.d.smtp("plain") as c:
            c.ehlo()
            self.assertReply(c.cmd("XYZZY 0123456789abcdefSECRET-TAIL"), 500, "5.5.1")
            self.assertReply(c.cmd("XYZZY short"), 500, "5.5.1")
            c.quit()
        conn = self.d.connection(c)
        log = self.reject_lines(conn)
        self.assertNotIn("SECRET-TAIL", self.d.log())
        self.assertIn('cmd="XYZZY\\x200123456789abcdef..."', log)
        self.assertIn('cmd="XYZZY\\x20short"', log)


if __name__ == "__main__":
    unittest.main()
