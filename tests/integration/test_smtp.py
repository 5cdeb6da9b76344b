"""The SMTP dialogue: greeting, EHLO, simple commands, command order,
syntax, relay refusal (RFC 5321, RFC 2034 enhanced status codes)."""

import unittest

import harness
from harness import BASE_DOMAIN, HOSTNAME, DaemonTestCase

REQUIRED_EXTENSIONS = {"PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"}


def keywords(ehlo_reply):
    """EHLO reply -> {KEYWORD: [params]} (the first line is the greeting)."""
    out = {}
    for line in ehlo_reply.lines[1:]:
        parts = line.split()
        if parts:
            out[parts[0].upper()] = parts[1:]
    return out


class Dialogue(DaemonTestCase):
    options = [("global", "max_message_size", "100000")]

    def setUp(self):
        self.t = self.new_test()

    def test_greeting_names_the_host(self):
        with self.d.smtp("plain") as c:
            g = c.greeting
            self.assertEqual(g.code, 220)
            self.assertEqual(len(g.lines), 1, g)
            self.assertEqual(g.lines[0].split()[:2], [HOSTNAME, "ESMTP"], g)
            c.quit()

    def test_ehlo_lists_extensions_without_starttls_on_plain(self):
        with self.d.smtp("plain") as c:
            r = c.ehlo()
            self.assertEqual(r.lines[0].split()[0], HOSTNAME, r)
            kw = keywords(r)
            self.assertLessEqual(REQUIRED_EXTENSIONS, set(kw), r)
            self.assertEqual(kw.get("SIZE"), ["100000"], r)
            self.assertNotIn("STARTTLS", kw, r)
            c.quit()

    def test_ehlo_offers_starttls_on_every_tls_host(self):
        for host in harness.TLS_HOSTS:
            with self.subTest(host=host), self.d.smtp(host) as c:
                kw = keywords(c.ehlo())
                self.assertIn("STARTTLS", kw)
                self.assertLessEqual(REQUIRED_EXTENSIONS, set(kw))
                c.quit()

    def test_helo_is_accepted_and_recorded(self):
        with self.d.smtp("plain") as c:
            r = c.cmd("HELO old.client.example")
            self.assertReply(r, 250)
            self.assertEqual(len(r.lines), 1, "HELO reply is one line: %s" % r)
            msg = harness.make_message(self.d.address(self.t, "plain"))
            self.assertReply(c.send_mail("a@example.org", [self.d.address(self.t, "plain")], msg),
                             250, "2.0.0")
            c.quit()
        row = self.d.connection(c.local_port)
        self.assertEqual(row["helo_verb"], "HELO")
        self.assertEqual(row["helo"], "old.client.example")

    def test_ehlo_and_helo_without_a_name_get_one_reply(self):
        """501 and nothing else: a second reply would shift every later one."""
        with self.d.smtp("plain") as c:
            for verb in ("EHLO", "HELO"):
                self.assertReply(c.cmd(verb), 501, "5.5.4")
            # the very next reply belongs to NOOP, and no HELO was taken
            self.assertReply(c.cmd("NOOP"), 250, "2.0.0")
            self.assertReply(c.cmd("MAIL FROM:<a@example.org>"), 503, "5.5.1")
            c.quit()
        row = self.d.connection(c.local_port)
        self.assertIsNone(row["helo"])
        self.assertCommands(row, {"ehlo": "0/1", "helo": "0/1", "noop": "1",
                                  "mail": "0/1", "quit": "1"})

    def test_noop_rset_vrfy_help_quit(self):
        with self.d.smtp("plain") as c:
            self.assertReply(c.cmd("NOOP"), 250, "2.0.0")
            c.ehlo()
            self.assertReply(c.cmd("NOOP"), 250, "2.0.0")
            self.assertReply(c.cmd("RSET"), 250, "2.0.0")
            self.assertReply(c.cmd("VRFY postmaster"), 252, "2.5.0")
            self.assertReply(c.cmd("HELP"), 214, "2.0.0")
            self.assertReply(c.cmd("QUIT"), 221, "2.0.0")
            c.expect_eof()
        row = self.d.connection(c.local_port)
        self.assertEqual(row["end_reason"], "quit")
        self.assertEqual(row["transactions"], 0)

    def test_verbs_are_case_insensitive(self):
        to = self.d.address(self.t, "plain")
        with self.d.smtp("plain") as c:
            self.assertReply(c.cmd("ehlo client.example"), 250)
            self.assertReply(c.cmd("mail from:<a@example.org>"), 250, "2.1.0")
            self.assertReply(c.cmd("rcpt to:<%s>" % to), 250, "2.1.5")
            self.assertReply(c.cmd("data"), 354)
            c.send(harness.dot_stuff(harness.make_message(to)))
            self.assertReply(c.read_reply(), 250, "2.0.0")
            self.assertReply(c.cmd("Quit"), 221, "2.0.0")

    def test_unknown_command_500_and_session_continues(self):
        with self.d.smtp("plain") as c:
            c.ehlo()
            self.assertReply(c.cmd("XYZZY plugh"), 500, "5.5.1")
            self.assertReply(c.cmd("NOOP"), 250, "2.0.0")
            c.quit()

    def test_refused_command_cannot_forge_log_fields(self):
        tag = "forged%d" % id(self)
        with self.d.smtp("plain") as c:
            c.ehlo()
            self.assertReply(c.cmd('XYZZY" from=%s cmd="NOOP' % tag), 500, "5.5.1")
            c.quit()
        line = [l for l in self.d.log().splitlines() if tag in l and "reject:" in l]
        self.assertEqual(len(line), 1, self.d.log_tail(40))
        self.assertIn(r'cmd="XYZZY\x22\x20from=%s\x20cmd=\x22NOOP"' % tag, line[0])
        self.assertEqual(len(line[0].split(" from=")), 2, line[0])

    def test_bad_syntax_501(self):
        to = self.d.address(self.t, "plain")
        with self.d.smtp("plain") as c:
            c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<a@example.org"), 501, "5.5.4")
            self.assertReply(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
            self.assertReply(c.cmd("RCPT TO:<%s" % to), 501, "5.5.4")
            self.assertReply(c.cmd("RCPT TO:"), 501, "5.5.4")
            self.assertReply(c.cmd("RCPT TO:<%s>" % to), 250, "2.1.5")
            c.quit()

    def test_bad_sequence_503(self):
        to = self.d.address(self.t, "plain")
        with self.d.smtp("plain") as c:
            self.assertReply(c.cmd("MAIL FROM:<a@example.org>"), 503, "5.5.1",
                             "MAIL before EHLO")
            c.ehlo()
            self.assertReply(c.cmd("RCPT TO:<%s>" % to), 503, "5.5.1", "RCPT before MAIL")
            self.assertReply(c.cmd("DATA"), 503, "5.5.1", "DATA before MAIL")
            self.assertReply(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
            self.assertReply(c.cmd("DATA"), 503, "5.5.1", "DATA without RCPT")
            self.assertReply(c.cmd("MAIL FROM:<b@example.org>"), 503, "5.5.1", "nested MAIL")
            self.assertReply(c.cmd("RSET"), 250, "2.0.0")
            self.assertReply(c.cmd("MAIL FROM:<b@example.org>"), 250, "2.1.0", "MAIL after RSET")
            c.quit()
        row = self.d.connection(c.local_port)
        cmds = harness.parse_commands(row["commands"])
        self.assertEqual(cmds.get("mail"), "2/4", row["commands"])

    def test_starttls_on_plain_is_not_implemented(self):
        with self.d.smtp("plain") as c:
            c.ehlo()
            self.assertReply(c.cmd("STARTTLS"), 502, "5.5.1")
            self.assertReply(c.cmd("NOOP"), 250, "2.0.0")
            c.quit()
        self.assertEqual(self.d.connection(c.local_port)["starttls"], 0)

    def test_relay_attempts_refused(self):
        tid = self.t["id"]
        foreign = [
            "user@gmail.com",
            "measure+%s@%s.evil.example" % (tid, BASE_DOMAIN),
            "measure+%s@tls.%s.evil.example" % (tid, BASE_DOMAIN),
            "measure+%s@evil%s" % (tid, BASE_DOMAIN),
            "@a.example,@b.example:user@x.example",
        ]
        # address literals: refused as foreign, or as syntax we do not take
        literals = ["user@[127.0.0.1]", "user@[IPv6:::1]"]
        with self.d.smtp("open") as c:
            c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<spammer@example.org>"), 250, "2.1.0")
            for a in foreign:
                with self.subTest(rcpt=a):
                    self.assertReply(c.cmd("RCPT TO:<%s>" % a), 550, "5.7.1")
            for a in literals:
                with self.subTest(rcpt=a):
                    r = c.cmd("RCPT TO:<%s>" % a)
                    self.assertIn((r.code, r.status), [(550, "5.7.1"), (501, "5.5.4")], r)
            # the %-hack names one of our domains: refused (no such user or relay)
            r = c.cmd("RCPT TO:<user%%evil.example@tls.%s>" % BASE_DOMAIN)
            self.assertEqual(r.code, 550, r)
            self.assertIn(r.status, ("5.7.1", "5.1.1"), r)
            r = c.cmd("RCPT TO:<user!evil.example@tls.%s>" % BASE_DOMAIN)
            self.assertEqual(r.code, 550, r)
            self.assertReply(c.cmd("DATA"), 503, "5.5.1")
            c.quit()
        row = self.d.connection(c.local_port)
        self.assertEqual(row["transactions"], 0)
        self.assertEqual(harness.parse_commands(row["commands"]).get("rcpt"),
                         "0/%d" % (len(foreign) + len(literals) + 2), row["commands"])
        self.assertEqual(self.d.query("SELECT * FROM transactions WHERE connection_id = ?",
                                      (row["id"],)), [])

    def test_unknown_local_part_550_511(self):
        with self.d.smtp("open") as c:
            c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
            for a in ("nobody@tls.%s" % BASE_DOMAIN, "nobody@%s" % BASE_DOMAIN,
                      "measure@tls.%s" % BASE_DOMAIN):
                with self.subTest(rcpt=a):
                    self.assertReply(c.cmd("RCPT TO:<%s>" % a), 550, "5.1.1")
            c.quit()

    def test_postmaster_accepted_without_test(self):
        with self.d.smtp("plain") as c:
            c.ehlo()
            msg = harness.make_message("postmaster@" + BASE_DOMAIN)
            self.assertReply(c.send_mail("a@example.org", ["postmaster@" + BASE_DOMAIN], msg),
                             250, "2.0.0")
            c.quit()
        row = self.d.connection(c.local_port)
        rcpts = self.d.query(
            "SELECT r.address, r.challenge, r.test_id FROM recipients r "
            "JOIN transactions t ON t.id = r.transaction_id WHERE t.connection_id = ?",
            (row["id"],))
        self.assertEqual(rcpts, [{"address": "postmaster@" + BASE_DOMAIN,
                                  "challenge": None, "test_id": None}])


if __name__ == "__main__":
    unittest.main()
