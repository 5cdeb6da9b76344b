"""Timeouts (RFC 5321 4.5.3.2), configured in milliseconds so that the
tests take a fraction of a second."""

import socket
import time
import unittest

import harness
from harness import DaemonTestCase

TIMEOUT = 0.3   # seconds, timeout_command / timeout_data / timeout_tls


class Timeouts(DaemonTestCase):
    options = [
        ("global", "timeout_command", "300ms"),
        ("global", "timeout_data", "300ms"),
        ("global", "timeout_tls", "300ms"),
    ]

    def setUp(self):
        self.t = self.new_test()

    def assertTimedOut(self, c, t0):
        r = c.read_reply()
        took = time.monotonic() - t0
        self.assertReply(r, 421, "4.4.2")
        self.assertGreaterEqual(took, TIMEOUT * 0.8, "timed out too early")
        self.assertLess(took, harness.deadline(TIMEOUT + 2.5), "timed out too late")
        c.expect_eof()
        conn = self.d.connection(c)
        self.assertEqual(conn["end_reason"], "timeout")
        return conn

    def test_idle_after_greeting(self):
        c = self.d.smtp("plain", greet=False)
        with c:
            t0 = time.monotonic()
            self.assertReply(c.read_reply(), 220)
            self.assertTimedOut(c, t0)

    def test_partial_command_line(self):
        with self.d.smtp("plain") as c:
            c.ehlo()
            c.send(b"MAIL FROM:<a@exa")
            self.assertTimedOut(c, time.monotonic())

    def test_activity_resets_the_timer(self):
        """The timeout is per command, not per session."""
        with self.d.smtp("plain") as c:
            c.ehlo()
            end = time.monotonic() + 4 * TIMEOUT     # the session outlives the timeout
            while time.monotonic() < end:
                time.sleep(TIMEOUT / 5)
                self.assertReply(c.cmd("NOOP"), 250, "2.0.0")
            c.quit()

    def test_data_timeout_stores_nothing(self):
        to = self.d.address(self.t, "plain")
        with self.d.smtp("plain") as c:
            c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
            self.assertReply(c.cmd("RCPT TO:<%s>" % to), 250, "2.1.5")
            self.assertReply(c.cmd("DATA"), 354)
            c.send(b"Subject: never finished\r\n\r\nsome text\r\n")
            conn = self.assertTimedOut(c, time.monotonic())
        self.assertNoTransaction(conn["id"])
        self.assertEqual(conn["transactions"], 0)

    def test_tls_handshake_timeout(self):
        """STARTTLS accepted, then no ClientHello: closed after timeout_tls."""
        with self.d.smtp("open") as c:
            c.ehlo()
            self.assertReply(c.cmd("STARTTLS"), 220, "2.0.0")
            t0 = time.monotonic()
            c.sock.settimeout(harness.deadline(TIMEOUT + 3))
            try:
                data = c.sock.recv(4096)
            except (ConnectionResetError, socket.timeout) as e:
                data = e
            took = time.monotonic() - t0
            # a close, or at most a TLS alert record before it
            self.assertTrue(data == b"" or data[:1] == b"\x15",
                            "expected the server to close, got %r" % (data,))
            self.assertGreaterEqual(took, TIMEOUT * 0.8)
        conn = self.d.connection(c)
        self.assertEqual((conn["starttls"], conn["tls_established"]), (1, 0))
        self.assertIn(conn["end_reason"], ("timeout", "tls-failed"))


if __name__ == "__main__":
    unittest.main()
