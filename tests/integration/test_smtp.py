"""The SMTP dialogue beyond the golden transcripts (tests/golden, run by
test_golden, have the exact replies of the greeting, simple commands,
command order, syntax and relay refusal): the EHLO keywords of every
host, the escaping of refused commands in the log (RFC 5321, 2034)."""

import unittest

import harness
from harness import HOSTNAME, DaemonTestCase

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

    def test_refused_command_cannot_forge_log_fields(self):
        tag = "forged%d" % id(self)
        with self.d.smtp("plain") as c:
            c.ehlo()
            # a known verb: an unknown command's argument is cut in the log
            self.assertReply(c.cmd('MAIL FROM:<x" from=%s cmd="NOOP>' % tag), 501, "5.5.4")
            c.quit()
        line = [l for l in self.d.log().splitlines() if tag in l and "reject:" in l]
        self.assertEqual(len(line), 1, self.d.log_tail(40))
        self.assertIn(r'cmd="MAIL\x20FROM:<x\x22\x20from=%s\x20cmd=\x22NOOP>"' % tag,
                      line[0])
        self.assertEqual(len(line[0].split(" from=")), 2, line[0])


if __name__ == "__main__":
    unittest.main()
