"""Delivery and what is stored: exact rows in connections, transactions
and recipients; dot-unstuffing; bare LF/CR; end of data; IPv6; views."""

import time
import unittest

import harness
from harness import BASE_DOMAIN, DaemonTestCase, dot_stuff, make_message


class Delivery(DaemonTestCase):
    options = [("global", "max_message_size", "100000")]

    def setUp(self):
        self.t = self.new_test()
        self.tid = self.t["id"]

    def assertRow(self, row, expected, what="row"):
        """ROW has the EXPECTED values (only those keys compared)."""
        got = {k: row.get(k) for k in expected}
        if got != expected:
            diff = {k: (got[k], expected[k]) for k in expected if got[k] != expected[k]}
            self.fail("%s differs (got, expected): %r\nfull row: %r" % (what, diff, row))

    def txn_rows(self, conn_id):
        return self.d.query("SELECT * FROM transactions WHERE connection_id = ? ORDER BY id",
                            (conn_id,))

    def rcpt_rows(self, txn_id):
        return self.d.query("SELECT address, challenge, test_id FROM recipients "
                            "WHERE transaction_id = ? ORDER BY id", (txn_id,))

    def deliver_plain(self, msg, mail_from="a@example.org"):
        """MSG from MAIL_FROM to the test's plain address, 250 2.0.0 checked;
        returns its transaction row."""
        to = self.d.address(self.t, "plain")
        with self.d.smtp("plain") as c:
            c.ehlo()
            self.assertReply(c.send_mail(mail_from, [to], msg), 250, "2.0.0")
            c.quit()
        conn = self.d.connection(c)
        return self.txn_rows(conn["id"])[0]

    def test_plain_delivery_exact_rows(self):
        to = self.d.address(self.t, "plain")
        msg = make_message(to, subject="plain delivery",
                           body=b"Hello.\r\nA second line.\r\n")
        port = self.d.port("plain")
        t0 = time.time()
        with self.d.smtp("plain") as c:
            c.ehlo("client.example")
            self.assertReply(c.send_mail("sender@example.org", [to], msg), 250, "2.0.0")
            # acknowledged means durable: committed before the 250, no waiting
            now = self.d.query("SELECT id FROM transactions WHERE connection_id = ?",
                               (self.d.connection_id(c, timeout=0),))
            self.assertEqual(len(now), 1, "transaction not in the database at the 250")
            c.quit()
        t1 = time.time()

        conn = self.d.connection(c)
        self.assertRow(conn, {
            "host": "plain", "local_addr": "127.0.0.1:%d" % port,
            "client_addr": "127.0.0.1", "client_port": c.local_port, "family": 4,
            "helo_verb": "EHLO", "helo": "client.example", "starttls": 0,
            "pipelined_discarded": 0, "improper_pipelining": 0, "transactions": 1,
            "test_id": self.tid, "end_reason": "quit", "tls_established": 0, "tls_version": None,
            "tls_cipher": None, "tls_group": None, "tls_sni": None,
            "ch_versions": None, "ch_ciphers": None, "ch_groups": None,
        }, "connection")
        self.assertCommands(conn, {"ehlo": 1, "mail": 1, "rcpt": 1, "data": 1, "quit": 1})
        self.assertTrue(conn["commands"].startswith("ehlo=1 mail=1 rcpt=1 data=1 quit=1"),
                        conn["commands"])
        self.assertIn(conn["extensions"], (None, ""))
        self.assertTrue(t0 - 1 <= conn["started"] <= conn["ended"] <= t1 + 1,
                        (t0, conn["started"], conn["ended"], t1))

        txns = self.txn_rows(conn["id"])
        self.assertEqual(len(txns), 1)
        txn = txns[0]
        self.assertRow(txn, {
            "connection_id": conn["id"], "mail_from": "sender@example.org",
            "size": harness.message_size(msg),
            "body_sha256": harness.body_sha256(msg),
            "bare_lf": 0, "bare_cr": 0, "long_lines": 0, "tls": 0,
        }, "transaction")
        self.assertIn(txn["mail_params"], (None, ""))
        self.assertTrue(conn["started"] <= txn["received"] <= conn["ended"])
        headers = txn["headers"]
        if isinstance(headers, str):
            headers = headers.encode()
        self.assertTrue(headers.startswith(b"From: Sender <sender@example.org>\r\n"), headers)
        self.assertIn(b"\r\nSubject: plain delivery\r\n", headers)
        self.assertNotIn(b"A second line", headers)

        self.assertEqual(self.rcpt_rows(txn["id"]),
                         [{"address": to, "challenge": "plaintext", "test_id": self.tid}])

    def test_dot_unstuffing(self):
        """RFC 5321 4.5.2: '..x' is stored as '.x'; size and hash after unstuffing."""
        to = self.d.address(self.t, "plain")
        body = (b".leading dot\r\n.\r\n..\r\n. space\r\nmiddle..dots.\r\n"
                b"...\r\nlast\r\n")
        msg = make_message(to, subject="dots", body=body)
        wire = dot_stuff(msg)
        self.assertIn(b"\r\n..leading dot\r\n..\r\n...\r\n", wire)
        txn = self.deliver_plain(msg)
        self.assertEqual(txn["size"], len(msg))
        self.assertEqual(txn["body_sha256"], harness.body_sha256(msg))

    def test_bare_lf_and_bare_cr_accepted_and_counted(self):
        to = self.d.address(self.t, "plain")
        body = b"bare lf here\nand here\nbare cr here\rend of it\r\n"
        msg = make_message(to, subject="bare", body=body)
        txn = self.deliver_plain(msg)
        self.assertRow(txn, {"bare_lf": 2, "bare_cr": 1, "size": len(msg),
                             "body_sha256": harness.body_sha256(msg)}, "transaction")

    def test_only_crlf_dot_crlf_ends_data(self):
        """SMTP smuggling: <LF>.<LF>, <LF>.<CR><LF>, <CR><LF>.<LF> do not end
        the data; what follows them is message text, never commands."""
        to = self.d.address(self.t, "plain")
        seps = [b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r\n"]
        with self.d.smtp("plain") as c:
            c.ehlo()
            for sep in seps:
                with self.subTest(separator=sep):
                    self.assertReply(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
                    self.assertReply(c.cmd("RCPT TO:<%s>" % to), 250, "2.1.5")
                    self.assertReply(c.cmd("DATA"), 354)
                    c.send(b"Subject: smuggle\r\n\r\nbefore" + sep +
                           b"MAIL FROM:<smuggled@evil.example>\r\n"
                           b"RCPT TO:<postmaster@" + BASE_DOMAIN.encode() + b">\r\n"
                           b"DATA\r\nsmuggled\r\n.\r\n")
                    self.assertReply(c.read_reply(), 250, "2.0.0")
            self.assertReply(c.cmd("NOOP"), 250, "2.0.0")
            c.quit()
        conn = self.d.connection(c)
        txns = self.txn_rows(conn["id"])
        self.assertEqual(len(txns), len(seps))
        self.assertEqual({t["mail_from"] for t in txns}, {"a@example.org"})
        self.assertEqual(conn["transactions"], len(seps))

    def test_mail_parameters_recorded(self):
        to = self.d.address(self.t, "plain")
        msg = make_message(to, body="8 bit: caf\u00e9\r\n".encode())
        params = "SIZE=%d BODY=8BITMIME" % len(msg)
        with self.d.smtp("plain") as c:
            c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<a@example.org> " + params), 250, "2.1.0")
            self.assertReply(c.cmd("RCPT TO:<%s>" % to), 250, "2.1.5")
            self.assertReply(c.cmd("DATA"), 354)
            c.send(dot_stuff(msg))
            self.assertReply(c.read_reply(), 250, "2.0.0")
            c.quit()
        conn = self.d.connection(c)
        txn = self.txn_rows(conn["id"])[0]
        self.assertEqual(txn["mail_params"], params)
        used = set(w.upper() for w in (conn["extensions"] or "").replace(",", " ").split())
        self.assertLessEqual({"SIZE", "8BITMIME"}, used, conn["extensions"])

    def test_null_reverse_path(self):
        to = self.d.address(self.t, "plain")
        self.assertEqual(self.deliver_plain(make_message(to), mail_from="")["mail_from"], "")

    def test_two_transactions_one_connection(self):
        a = self.d.address(self.t, challenge="v4")
        b = self.d.address(self.t, challenge="uniq")
        with self.d.smtp("open") as c:
            c.ehlo()
            self.assertReply(c.send_mail("one@example.org", [a], make_message(a)), 250, "2.0.0")
            self.assertReply(c.cmd("RSET"), 250, "2.0.0")
            self.assertReply(c.send_mail("two@example.org", [a, b], make_message(a)),
                             250, "2.0.0")
            c.quit()
        conn = self.d.connection(c)
        self.assertEqual(conn["transactions"], 2)
        self.assertCommands(conn, {"ehlo": 1, "mail": 2, "rcpt": 3, "data": 2,
                                   "rset": 1, "quit": 1})
        txns = self.txn_rows(conn["id"])
        self.assertEqual([t["mail_from"] for t in txns], ["one@example.org", "two@example.org"])
        self.assertEqual(self.rcpt_rows(txns[1]["id"]),
                         [{"address": a, "challenge": "v4", "test_id": self.tid},
                          {"address": b, "challenge": "uniq", "test_id": self.tid}])

    def test_ipv6_delivery(self):
        to = self.d.address(self.t, challenge="v6")
        port = self.d.port("open", 6)
        with self.d.smtp("open", family=6) as c:
            c.ehlo("v6.client.example")
            self.assertReply(c.send_mail("a@example.org", [to], make_message(to)), 250, "2.0.0")
            c.quit()
        conn = self.d.connection(c)
        self.assertRow(conn, {"host": "open", "family": 6, "client_addr": "::1",
                              "local_addr": "[::1]:%d" % port, "helo": "v6.client.example",
                              "test_id": self.tid, "transactions": 1,
                              "end_reason": "quit"}, "connection")
        txn = self.txn_rows(conn["id"])[0]
        self.assertEqual(self.rcpt_rows(txn["id"]),
                         [{"address": to, "challenge": "v6", "test_id": self.tid}])

    def test_smtplib_delivery(self):
        to = self.d.address(self.t, "plain")
        s = self.d.smtplib("plain")
        try:
            refused = s.sendmail("a@example.org", [to], make_message(to, subject="smtplib"))
            self.assertEqual(refused, {})
        finally:
            s.quit()
        rows = self.d.wait_for("SELECT * FROM recipients WHERE test_id = ?", (self.tid,))
        self.assertEqual(rows[0]["challenge"], "plaintext")

    def test_views_show_deliveries(self):
        plain_to = self.d.address(self.t, "plain")
        v6_to = self.d.address(self.t, challenge="v6")
        msg = make_message(plain_to)
        with self.d.smtp("plain") as c:
            c.ehlo("views.example")
            self.assertReply(c.send_mail("a@example.org", [plain_to], msg), 250, "2.0.0")
            c.quit()
        with self.d.smtp("open", family=6) as c6:
            c6.ehlo("views.example")
            self.assertReply(c6.send_mail("a@example.org", [v6_to], make_message(v6_to)),
                             250, "2.0.0")
            c6.quit()
        self.d.connection(c)
        self.d.connection(c6)
        rows = self.d.query("SELECT * FROM v_deliveries WHERE test_id = ? ORDER BY challenge",
                            (self.tid,))
        self.assertEqual(len(rows), 2, rows)
        self.assertRow(rows[0], {"challenge": "plaintext", "address": plain_to,
                                 "host": "plain", "client_addr": "127.0.0.1", "family": 4,
                                 "helo": "views.example", "tls_version": None,
                                 "mail_from": "a@example.org", "size": len(msg),
                                 "bare_lf": 0, "bare_cr": 0}, "v_deliveries plaintext")
        self.assertRow(rows[1], {"challenge": "v6", "host": "open", "client_addr": "::1",
                                 "family": 6}, "v_deliveries v6")
        self.assertIsNotNone(rows[0]["received"])
        summary = self.d.query_one("SELECT * FROM v_test_summary WHERE test_id = ?", (self.tid,))
        self.assertEqual(summary["connections"], 2)
        self.assertEqual(summary["challenges_delivered"], 2)
        self.assertIsNotNone(summary["last_delivery"])
        vc = self.d.query("SELECT * FROM v_connections WHERE test_id = ?", (self.tid,))
        self.assertEqual(sorted(r["host"] for r in vc), ["open", "plain"])


if __name__ == "__main__":
    unittest.main()
