"""The extensions senders use (issue 11): SMTPUTF8 (RFC 6531), CHUNKING
with BDAT (RFC 3030), DSN (RFC 3461), REQUIRETLS (RFC 8689) and unknown
parameters (RFC 5321 4.1.1.11).  For each, a delivery by a real client
that uses it and a malformed use, with exact replies and rows; the exact
dialogues are the golden transcripts tests/golden/ext_*.in."""

import hashlib
import unittest

import harness
from harness import DaemonTestCase, describe, make_message, run


class Extensions(DaemonTestCase):

    def setUp(self):
        self.t = self.new_test()
        self.tid = self.t["id"]

    def txn(self, conn_id):
        return self.d.query_one("SELECT * FROM transactions WHERE connection_id = ?",
                                (conn_id,))

    def rcpts(self, txn_id):
        return self.d.query("SELECT address, rcpt_params, notify, orcpt FROM recipients "
                            "WHERE transaction_id = ? ORDER BY id", (txn_id,))

    def test_ehlo_offers_the_extensions_on_every_host(self):
        for host in ("plain", "open"):
            with self.d.smtp(host) as c:
                lines = c.ehlo().raw
                keywords = [l[4:] for l in lines[1:]]
                for k in ("SMTPUTF8", "CHUNKING", "DSN"):
                    self.assertIn(k, keywords, (host, lines))
                # RFC 8689 4.1: only once TLS is up
                self.assertNotIn("REQUIRETLS", keywords, (host, lines))
                c.quit()

    # --- SMTPUTF8 --------------------------------------------------------

    def test_smtplib_smtputf8_delivery(self):
        to = self.d.address(self.t, "plain")
        sender = "pel\u00e9@example.org"
        msg = ("From: Pel\u00e9 <%s>\r\nTo: <%s>\r\nSubject: caf\u00e9\r\n\r\n"
               "Gr\u00fc\u00dfe.\r\n" % (sender, to)).encode("utf-8")
        s = self.d.smtplib("plain")
        try:
            self.assertEqual(s.sendmail(sender, [to], msg, mail_options=["SMTPUTF8"]), {})
        finally:
            s.quit()
        rows = self.d.wait_for("SELECT t.* FROM transactions t JOIN recipients r "
                               "ON r.transaction_id = t.id WHERE r.test_id = ?", (self.tid,))
        t = rows[0]
        self.assertEqual((t["mail_from"], t["mail_params"], t["smtputf8"], t["size"],
                          t["body_sha256"]),
                         (sender, "size=%d SMTPUTF8" % len(msg), 1, len(msg),
                          hashlib.sha256(msg).hexdigest()))

    def test_non_ascii_address_without_smtputf8_is_553(self):
        with self.d.smtp("plain") as c:
            c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<pel\u00e9@example.org>"), 553, "5.6.7")
            self.assertReply(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
            self.assertReply(c.cmd("RCPT TO:<jos\u00e9@plaintext.%s>" % harness.BASE_DOMAIN),
                             553, "5.6.7")
            self.assertReply(c.cmd(b"MAIL FROM:<p\xc3l@example.org> SMTPUTF8"), 503, "5.5.1")
            self.assertReply(c.cmd("RSET"), 250, "2.0.0")
            self.assertReply(c.cmd(b"MAIL FROM:<p\xc3l@example.org> SMTPUTF8"), 501, "5.5.4")
            c.quit()
        conn = self.d.connection(c)
        self.assertEqual((conn["transactions"], conn["extensions"]), (0, "SMTPUTF8"))

    # --- CHUNKING --------------------------------------------------------

    def test_bdat_split_and_pipelined_is_stored_as_sent(self):
        to = self.d.address(self.t, "plain")
        part1 = b"Subject: bdat\r\n\r\nline one\r\n.\r\n"
        part2 = b"MAIL FROM:<evil@example.org>\r\n\n.\r\nend\r\n"
        with self.d.smtp("plain") as c:
            c.ehlo()
            # the chunk starts in the write of the commands, ends in the next
            c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<%s>\r\nBDAT %d\r\n%s"
                   % (to.encode(), len(part1) + len(part2), part1))
            self.assertReply(c.read_reply(), 250, "2.1.0")
            self.assertReply(c.read_reply(), 250, "2.1.5")
            c.send(part2 + b"BDAT 0 LAST\r\nNOOP\r\n")
            r = c.read_reply()
            self.assertReply(r, 250, "2.0.0")
            self.assertEqual(r.text, "2.0.0 Ok: %d octets" % (len(part1) + len(part2)))
            self.assertReply(c.read_reply(), 250, "2.0.0")      # stored
            self.assertReply(c.read_reply(), 250, "2.0.0")      # NOOP
            c.quit()
        conn = self.d.connection(c)
        self.assertCommands(conn, {"ehlo": "1", "mail": "1", "rcpt": "1", "bdat": "2",
                                   "noop": "1", "quit": "1"})
        self.assertEqual(conn["extensions"], "PIPELINING,CHUNKING")
        t = self.txn(conn["id"])
        message = part1 + part2
        self.assertEqual((t["body_method"], t["chunks"], t["size"], t["body_sha256"],
                          t["bare_lf"]),
                         ("BDAT", 2, len(message), hashlib.sha256(message).hexdigest(), 1))
        v = self.d.query_one("SELECT body_method, chunks, size FROM v_deliveries "
                             "WHERE test_id = ?", (self.tid,))
        self.assertEqual(v, {"body_method": "BDAT", "chunks": 2, "size": len(message)})

    def test_bdat_without_transaction_consumes_its_chunk(self):
        with self.d.smtp("plain") as c:
            c.ehlo()
            c.send(b"BDAT 6 LAST\r\nRSET\r\nNOOP\r\n")
            self.assertReply(c.read_reply(), 503, "5.5.1")
            self.assertReply(c.read_reply(), 250, "2.0.0")
            self.assertReply(c.cmd("BDAT 1x"), 501, "5.5.4")
            c.quit()
        conn = self.d.connection(c)
        self.assertCommands(conn, {"ehlo": "1", "bdat": "0/2", "noop": "1", "quit": "1"})

    # --- DSN -------------------------------------------------------------

    def test_smtplib_dsn_delivery(self):
        to = self.d.address(self.t, "plain")
        s = self.d.smtplib("plain")
        try:
            self.assertEqual(s.sendmail("a@example.org", [to], make_message(to, subject="dsn"),
                                        mail_options=["RET=HDRS", "ENVID=QQ+2B1"],
                                        rcpt_options=["NOTIFY=SUCCESS,DELAY",
                                                      "ORCPT=rfc822;x+2By@example.org"]), {})
        finally:
            s.quit()
        v = self.d.wait_for("SELECT * FROM v_deliveries WHERE test_id = ?", (self.tid,))[0]
        self.assertEqual((v["ret"], v["envid"], v["notify"], v["orcpt"], v["rcpt_params"],
                          v["body_method"], v["chunks"]),
                         ("HDRS", "QQ+2B1", "SUCCESS,DELAY", "rfc822;x+2By@example.org",
                          "NOTIFY=SUCCESS,DELAY ORCPT=rfc822;x+2By@example.org", "DATA", 0))
        self.assertTrue(v["mail_params"].endswith(" RET=HDRS ENVID=QQ+2B1"), v["mail_params"])

    def test_bad_dsn_values_are_501_unknown_parameters_555(self):
        to = self.d.address(self.t, "plain")
        with self.d.smtp("plain") as c:
            c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<a@example.org> RET=NONE"), 501, "5.5.4")
            self.assertReply(c.cmd("MAIL FROM:<a@example.org> AUTH=<>"), 555, "5.5.4")
            self.assertReply(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
            self.assertReply(c.cmd("RCPT TO:<%s> NOTIFY=BOGUS" % to), 501, "5.5.4")
            self.assertReply(c.cmd("RCPT TO:<%s> ORCPT=rfc822;a+zz" % to), 501, "5.5.4")
            self.assertReply(c.cmd("RCPT TO:<%s> X-FOO=1" % to), 555, "5.5.4")
            c.quit()

    # --- REQUIRETLS ------------------------------------------------------

    def test_requiretls_only_under_tls(self):
        to = self.d.address(self.t, "open")
        with self.d.smtp("open") as c:
            self.assertNotIn("250-REQUIRETLS", c.ehlo().raw)
            self.assertReply(c.cmd("MAIL FROM:<a@example.org> REQUIRETLS"), 530, "5.7.10")
            c.starttls(self.d.tls_context())
            self.assertIn("250-REQUIRETLS", c.ehlo().raw)
            r = c.cmd("MAIL FROM:<a@example.org> REQUIRETLS")
            self.assertReply(r, 250, "2.1.0")
            self.assertReply(c.cmd("RCPT TO:<%s>" % to), 250, "2.1.5")
            self.assertReply(c.cmd("DATA"), 354)
            c.send(make_message(to, subject="requiretls") + b".\r\n")
            self.assertReply(c.read_reply(), 250, "2.0.0")
            c.quit()
        conn = self.d.connection(c)
        t = self.txn(conn["id"])
        self.assertEqual((t["requiretls"], t["tls"], t["mail_params"]), (1, 1, "REQUIRETLS"))

    # --- a real client besides Python ------------------------------------

    def test_swaks_pipelined_delivery(self):
        to = self.d.address(self.t, "plain")
        addr, port = self.d.addr("plain")
        cp = run(["swaks", "--server", addr, "--port", str(port), "--to", to,
                  "--from", "swaks@example.org", "--helo", "swaks.example", "--pipeline",
                  "--timeout", "15", "--header", "Subject: swaks pipelined"], timeout=30)
        self.assertEqual(cp.returncode, 0, describe(cp))
        conn = self.d.wait_for("SELECT * FROM connections WHERE test_id = ? AND "
                               "ended IS NOT NULL", (self.tid,), what="swaks connection")[0]
        self.assertEqual((conn["transactions"], conn["end_reason"]), (1, "quit"))
        self.assertIn("PIPELINING", conn["extensions"].split(","))
        t = self.txn(conn["id"])
        self.assertEqual((t["body_method"], t["chunks"], t["mail_from"], t["smtputf8"],
                          t["requiretls"]), ("DATA", 0, "swaks@example.org", 0, 0))
        self.assertEqual(self.rcpts(t["id"]), [{"address": to, "rcpt_params": "",
                                                 "notify": None, "orcpt": None}])


if __name__ == "__main__":
    unittest.main()
