"""The SMTP dialogue beyond the golden transcripts (tests/golden, run by
test_golden, have the exact replies of the greeting, simple commands,
command order, syntax and relay refusal): the EHLO keywords of every
host, the escaping of refused commands in the log (RFC 5321, 2034)."""

import socket
import struct
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

    def quit_and_close(self, host, tls):
        """QUIT and close at once without reading the 221, as Postfix does
        with smtp_skip_quit_response (issue 12); the close is a reset, as
        when unread bytes are left: the 221 often meets the reset."""
        with self.d.smtp(host) as c:
            c.ehlo()
            if tls:
                c.starttls(self.d.tls_context(verify=False))
                c.ehlo()
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                              struct.pack("ii", 1, 0))
            c.send("QUIT\r\n")
        return self.d.connection(c)

    def test_quit_then_close_without_reading_the_221_ends_with_quit(self):
        # a race with the 221: before the fix about half of the tries
        # ended as 'disconnect' (TLS) or 'error' (cleartext)
        for host, tls in (("plain", False), ("open", True)):
            for i in range(10):
                with self.subTest(host=host, attempt=i):
                    conn = self.quit_and_close(host, tls)
                    self.assertEqual(conn["end_reason"], "quit")
                    self.assertCommands(conn, {"ehlo": 2, "starttls": 1, "quit": 1}
                                        if tls else {"ehlo": 1, "quit": 1})


if __name__ == "__main__":
    unittest.main()
