"""STARTTLS (RFC 3207) and what the TLS layer records: the negotiated
version, suite and group, the ClientHello, SNI, failures; the host
profiles' protocol and suite policies."""

import random
import ssl
import unittest
import warnings

import harness
from harness import DaemonTestCase, describe, make_message, mx_name, run
from test_smtp import keywords

AEAD_MARKS = ("GCM", "CHACHA20", "CCM")
P256_NAMES = ("secp256r1", "prime256v1", "p-256", "23")
CBC_ONLY = ("ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384:"
            "ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:"
            "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:DHE-RSA-AES128-SHA256:"
            "DHE-RSA-AES256-SHA256:AES128-SHA256:AES256-SHA256:AES128-SHA:AES256-SHA"
            ":@SECLEVEL=0")
AEAD_ONLY = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20"


class StartTLS(DaemonTestCase):

    def setUp(self):
        self.t = self.new_test()

    def deliver_over_tls(self, host, challenge, ctx=None, family=4):
        """EHLO, STARTTLS, EHLO, one message, QUIT.  Returns (client view
        (version, cipher), connection row, transaction row)."""
        to = self.d.address(self.t, challenge=challenge)
        ctx = ctx or self.d.tls_context()
        with self.d.smtp(host, family=family) as c:
            self.assertIn("STARTTLS", keywords(c.ehlo()))
            s = c.starttls(ctx, mx_name(challenge))
            view = (s.version(), s.cipher()[0])
            kw = keywords(c.ehlo("client.example"))
            self.assertNotIn("STARTTLS", kw, "STARTTLS offered again after TLS")
            self.assertIn("PIPELINING", kw)
            self.assertReply(c.send_mail("tls@example.org", [to], make_message(to)),
                             250, "2.0.0")
            c.quit()
        conn = self.d.connection(c)
        txn = self.d.query_one("SELECT * FROM transactions WHERE connection_id = ?",
                               (conn["id"],))
        return view, conn, txn

    def test_starttls_delivery_on_optional_host(self):
        self.check_tls_delivery("open", "v4")

    def test_starttls_delivery_on_required_host(self):
        self.check_tls_delivery("tls", "tls")

    def check_tls_delivery(self, host, challenge):
        (version, cipher), conn, txn = self.deliver_over_tls(host, challenge)
        self.assertEqual(version, "TLSv1.3")
        expected = {
            "host": host, "starttls": 1, "tls_established": 1, "tls_version": version,
            "tls_cipher": cipher, "tls_sni": mx_name(challenge), "ch_versions": "0x0304,0x0303",
            "helo_verb": "EHLO", "helo": "client.example", "transactions": 1,
            "test_id": self.t["id"], "end_reason": "quit", "pipelined_discarded": 0,
            "tls_error": None,
        }
        got = {k: conn[k] for k in expected}
        self.assertEqual(got, expected)
        self.assertEqual((conn["tls_group"] or "").lower(), "x25519")
        self.assertTrue((conn["ch_groups"] or "").startswith("29,23"), conn["ch_groups"])
        self.assertIn(conn["tls_resumed"], (0, None))
        ciphers = (conn["ch_ciphers"] or "").split(",")
        self.assertIn("0x1302", ciphers)
        self.assertIn("0x1301", ciphers)
        self.assertTrue(conn["ch_sigalgs"], "ClientHello signature algorithms not recorded")
        self.assertCommands(conn, {"ehlo": 2, "starttls": 1, "mail": 1, "rcpt": 1,
                                   "data": 1, "quit": 1})
        self.assertEqual(txn["tls"], 1)
        rcpt = self.d.query_one("SELECT address, challenge, test_id FROM recipients "
                                "WHERE transaction_id = ?", (txn["id"],))
        self.assertEqual(rcpt, {"address": self.d.address(self.t, challenge=challenge),
                                "challenge": challenge, "test_id": self.t["id"]})
        dv = self.d.query_one("SELECT tls_version, tls_cipher, tls_group FROM v_deliveries "
                              "WHERE transaction_id = ?", (txn["id"],))
        self.assertEqual((dv["tls_version"], dv["tls_cipher"]), (version, cipher))

    def test_starttls_delivery_over_ipv6(self):
        (version, cipher), conn, txn = self.deliver_over_tls("open", "v6", family=6)
        self.assertEqual((conn["family"], conn["tls_established"], conn["tls_cipher"]),
                         (6, 1, cipher))
        self.assertEqual(txn["tls"], 1)

    def test_smtplib_starttls_delivery(self):
        to = self.d.address(self.t, challenge="v4")
        s = self.d.smtplib("open")
        try:
            s.ehlo()
            s.starttls(context=self.d.tls_context())
            s.ehlo()
            self.assertEqual(s.sendmail("a@example.org", [to], make_message(to)), {})
        finally:
            s.quit()
        row = self.d.wait_for("SELECT t.tls FROM recipients r JOIN transactions t "
                              "ON t.id = r.transaction_id WHERE r.test_id = ?", (self.t["id"],))
        self.assertEqual(row[0]["tls"], 1)

    def test_required_host_refuses_mail_before_starttls(self):
        to = self.d.address(self.t, "tls")
        with self.d.smtp("tls") as c:
            self.assertIn("STARTTLS", keywords(c.ehlo()))
            # RFC 3207 section 4: 530 to every command but NOOP, EHLO,
            # STARTTLS or QUIT, whatever the transaction state
            self.assertReply(c.cmd("MAIL FROM:<a@example.org>"), 530, "5.7.0")
            self.assertReply(c.cmd("RCPT TO:<%s>" % to), 530, "5.7.0")
            self.assertReply(c.cmd("DATA"), 530, "5.7.0")
            self.assertReply(c.cmd("NOOP"), 250, "2.0.0")
            c.starttls(self.d.tls_context(), mx_name("tls"))
            c.ehlo()
            self.assertReply(c.send_mail("a@example.org", [to], make_message(to)), 250, "2.0.0")
            c.quit()
        conn = self.d.connection(c)
        self.assertEqual((conn["tls_established"], conn["transactions"]), (1, 1))
        cmds = harness.parse_commands(conn["commands"])
        self.assertEqual((cmds.get("mail"), cmds.get("rcpt"), cmds.get("data")),
                         ("1/2", "1/2", "1/2"), conn["commands"])

    def test_required_host_cleartext_quit_recorded(self):
        """A sender that sees STARTTLS required and gives up: recorded."""
        with self.d.smtp("tls") as c:
            c.ehlo("giveup.example")
            self.assertReply(c.cmd("MAIL FROM:<a@example.org>"), 530, "5.7.0")
            c.quit()
        conn = self.d.connection(c)
        self.assertEqual((conn["starttls"], conn["tls_established"], conn["end_reason"],
                          conn["transactions"]), (0, 0, "quit", 0))

    def test_tls_then_quit_without_mail_is_marked(self):
        """Evidence: TLS completed, then the sender left without MAIL."""
        with self.d.smtp("tls-bad") as c:
            c.ehlo()
            c.starttls(self.d.tls_context(verify=False))
            c.ehlo()
            c.quit()
        conn = self.d.connection(c)
        view = self.d.query_one("SELECT tls_then_left, mail_commands FROM v_connections"
                                " WHERE connection_id = ?", (conn["id"],))
        self.assertEqual((view["tls_then_left"], view["mail_commands"]), (1, 0))
        with self.d.smtp("tls") as c:
            c.ehlo()
            c.starttls(self.d.tls_context(verify=False))
            c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
            c.quit()
        conn = self.d.connection(c)
        view = self.d.query_one("SELECT tls_then_left, mail_commands FROM v_connections"
                                " WHERE connection_id = ?", (conn["id"],))
        self.assertEqual((view["tls_then_left"], view["mail_commands"]), (0, 1))

    def test_negotiated_group_p256_only_client(self):
        ctx = self.d.tls_context(curve="prime256v1")
        _, conn, _ = self.deliver_over_tls("open", "v4", ctx=ctx)
        self.assertEqual(conn["ch_groups"], "23")
        self.assertIn((conn["tls_group"] or "").lower(), P256_NAMES)

    def test_tls_session_ends_with_close_notify(self):
        """After 221 the server closes TLS with close_notify (RFC 8446 6.1):
        OpenSSL 3 clients exit non-zero on an unexpected EOF otherwise."""
        for proto in ("-tls1_2", "-tls1_3"):
            addr, port = self.d.addr("tls")
            cp = run(["openssl", "s_client", "-starttls", "smtp", "-connect",
                      "%s:%d" % (addr, port), proto, "-ign_eof", "-crlf", "-quiet"],
                     input="QUIT\n", timeout=20)
            self.assertIn("221", cp.stdout, describe(cp))
            self.assertNotIn("unexpected eof", cp.stderr, describe(cp))
            self.assertEqual(cp.returncode, 0, describe(cp))

    def test_openssl_s_client_groups_and_sni(self):
        """openssl s_client -groups X25519:P-256: exactly 29,23 offered,
        x25519 negotiated, the certificate verifies with the test CA."""
        name = "sclient-%x.example" % random.getrandbits(32)
        addr, port = self.d.addr("tls")
        cp = run(["openssl", "s_client", "-starttls", "smtp", "-connect", "%s:%d" % (addr, port),
                  "-name", "pre.example", "-groups", "X25519:P-256", "-CAfile", self.d.ca,
                  "-servername", mx_name("tls"), "-verify_return_error", "-brief",
                  "-ign_eof", "-crlf"],
                 input="EHLO %s\nQUIT\n" % name, timeout=20)
        out = cp.stdout + cp.stderr
        self.assertIn("221", cp.stdout, describe(cp))
        self.assertIn("Verification: OK", out, describe(cp))
        conn = self.d.wait_for("SELECT * FROM connections WHERE helo = ? AND ended IS NOT NULL",
                               (name,), what="s_client connection")[0]
        self.assertEqual(conn["ch_groups"], "29,23")
        self.assertEqual((conn["tls_group"] or "").lower(), "x25519")
        self.assertEqual(conn["tls_sni"], mx_name("tls"))
        self.assertEqual(conn["tls_version"], "TLSv1.3")
        self.assertEqual(conn["end_reason"], "quit")

    def test_certificates_valid_for_mx_names(self):
        """Each host's certificate verifies for the MX name of its challenges."""
        for host in harness.TLS_HOSTS:
            if host == "tls-bad":
                continue
            ch = harness.HOST_CHALLENGE[host]
            with self.subTest(host=host), self.d.smtp(host) as c:
                c.ehlo()
                ctx = self.d.tls_context(check_hostname=True, ciphers="ALL:@SECLEVEL=0")
                s = c.starttls(ctx, mx_name(ch))
                self.assertTrue(s.getpeercert())
                c.ehlo()
                c.quit()

    def test_pipelined_command_after_starttls_is_discarded(self):
        """RFC 3207 section 5 (the STARTTLS command injection): what was
        pipelined after STARTTLS before the handshake is dropped, never
        answered inside TLS, and counted."""
        for host, ch in (("open", "v4"), ("tls", "tls")):
            with self.subTest(host=host), self.d.smtp(host) as c:
                c.ehlo()
                c.send(b"STARTTLS\r\nRSET\r\n")
                self.assertReply(c.read_reply(), 220, "2.0.0")
                c.handshake(self.d.tls_context(), mx_name(ch))
                r = c.cmd("EHLO after.example")
                self.assertEqual(r.code, 250, "first reply inside TLS: %s" % r)
                self.assertGreater(len(r.lines), 1,
                                   "first reply inside TLS is not the EHLO reply: %s" % r)
                self.assertEqual(r.lines[0].split()[0], harness.HOSTNAME, r)
                self.assertReply(c.cmd("NOOP"), 250, "2.0.0")
                c.quit()
                conn = self.d.connection(c)
                self.assertEqual(conn["pipelined_discarded"], len(b"RSET\r\n"))
                self.assertEqual((conn["starttls"], conn["tls_established"]), (1, 1))
                self.assertNotIn("rset", harness.parse_commands(conn["commands"]),
                                 conn["commands"])

    def test_swaks_starttls_delivery(self):
        to = self.d.address(self.t, "tls")
        addr, port = self.d.addr("tls")
        cp = run(["swaks", "--server", addr, "--port", str(port), "--to", to,
                  "--from", "swaks@example.org", "--helo", "swaks.example", "--tls",
                  "--timeout", "15", "--header", "Subject: swaks"], timeout=30)
        self.assertEqual(cp.returncode, 0, describe(cp))
        conn = self.d.wait_for("SELECT * FROM connections WHERE test_id = ? AND "
                               "ended IS NOT NULL", (self.t["id"],), what="swaks connection")[0]
        self.assertEqual((conn["host"], conn["helo"], conn["starttls"], conn["tls_established"],
                          conn["transactions"], conn["end_reason"]),
                         ("tls", "swaks.example", 1, 1, 1, "quit"))
        txn = self.d.query_one("SELECT * FROM transactions WHERE connection_id = ?",
                               (conn["id"],))
        self.assertEqual((txn["tls"], txn["mail_from"]), (1, "swaks@example.org"))
        self.assertEqual(self.d.query("SELECT challenge FROM recipients WHERE transaction_id = ?",
                                      (txn["id"],)), [{"challenge": "tls"}])


class TLSHostProfiles(DaemonTestCase):
    """Protocol versions, suites and certificates per host (CHALLENGES.md)."""

    def setUp(self):
        self.t = self.new_test()

    def handshake(self, host, ctx, challenge=None, deliver=False):
        """STARTTLS then the handshake; returns (client view or the
        exception, connection row)."""
        ch = challenge or harness.HOST_CHALLENGE[host]
        with self.d.smtp(host) as c:
            c.ehlo()
            try:
                s = c.starttls(ctx, mx_name(ch))
            except (ssl.SSLError, OSError) as e:
                view = e
            else:
                view = (s.version(), s.cipher()[0])
                c.ehlo()
                if deliver:
                    to = self.d.address(self.t, challenge=ch)
                    self.assertReply(c.send_mail("a@example.org", [to], make_message(to)),
                                     250, "2.0.0")
                c.quit()
        return view, self.d.connection(c)

    def assertFailed(self, view, conn):
        self.assertIsInstance(view, Exception, "handshake succeeded: %r" % (view,))
        self.assertEqual((conn["starttls"], conn["tls_established"], conn["end_reason"]),
                         (1, 0, "tls-failed"))
        self.assertTrue(conn["tls_error"] or conn["tls_alert_sent"] or conn["tls_alert_received"],
                        "failure reason not recorded: %r" % conn)
        self.assertNoTransaction(conn["id"])

    def assertEstablished(self, view, conn, version):
        self.assertNotIsInstance(view, Exception, "handshake failed: %r" % (view,))
        self.assertEqual(view[0], version)
        self.assertEqual((conn["tls_established"], conn["tls_version"], conn["tls_cipher"]),
                         (1, view[0], view[1]))

    def test_tls13_host_delivers_over_tls13(self):
        view, conn = self.handshake("tls13", self.d.tls_context(), deliver=True)
        self.assertEstablished(view, conn, "TLSv1.3")
        self.assertEqual(conn["transactions"], 1)

    def test_tls13_host_refuses_tls12_client(self):
        ctx = self.d.tls_context(maximum=ssl.TLSVersion.TLSv1_2)
        view, conn = self.handshake("tls13", ctx)
        self.assertFailed(view, conn)

    def test_tls12_host_negotiates_tls12(self):
        view, conn = self.handshake("tls12", self.d.tls_context(), deliver=True)
        self.assertEstablished(view, conn, "TLSv1.2")
        self.assertEqual(conn["ch_versions"], "0x0304,0x0303")

    def test_open_host_accepts_tls10(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx = self.d.tls_context(minimum=ssl.TLSVersion.TLSv1,
                                     maximum=ssl.TLSVersion.TLSv1, ciphers="ALL:@SECLEVEL=0")
        view, conn = self.handshake("open", ctx, deliver=True)
        self.assertEstablished(view, conn, "TLSv1")

    def test_bad_certificate_refused_by_verifying_client(self):
        view, conn = self.handshake("tls-bad", self.d.tls_context(check_hostname=True))
        self.assertIsInstance(view, ssl.SSLCertVerificationError)
        self.assertFailed(view, conn)
        self.assertTrue(conn["tls_alert_received"], "client's alert not recorded: %r" % conn)

    def test_bad_certificate_host_delivers_to_non_verifying_client(self):
        view, conn = self.handshake("tls-bad", self.d.tls_context(verify=False), deliver=True)
        self.assertEstablished(view, conn, "TLSv1.3")

    def test_strong_host_refuses_cbc_suites(self):
        ctx = self.d.tls_context(maximum=ssl.TLSVersion.TLSv1_2, ciphers=CBC_ONLY)
        view, conn = self.handshake("strong", ctx)
        self.assertFailed(view, conn)

    def test_strong_host_negotiates_aead_tls12(self):
        ctx = self.d.tls_context(maximum=ssl.TLSVersion.TLSv1_2)
        view, conn = self.handshake("strong", ctx, deliver=True)
        self.assertEstablished(view, conn, "TLSv1.2")
        self.assertTrue(any(m in view[1] for m in AEAD_MARKS), view)
        self.assertTrue(view[1].startswith(("ECDHE-", "DHE-")), view)

    def test_medium_host_refuses_aead_only_client(self):
        ctx = self.d.tls_context(maximum=ssl.TLSVersion.TLSv1_2, ciphers=AEAD_ONLY)
        view, conn = self.handshake("medium", ctx)
        self.assertFailed(view, conn)

    def test_medium_host_negotiates_cbc_tls12(self):
        ctx = self.d.tls_context(ciphers="ALL:@SECLEVEL=0")
        view, conn = self.handshake("medium", ctx, deliver=True)
        self.assertEstablished(view, conn, "TLSv1.2")
        self.assertFalse(any(m in view[1] for m in AEAD_MARKS), view)


if __name__ == "__main__":
    unittest.main()
