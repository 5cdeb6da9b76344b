"""Connection limits: per client address and in total; refused at
connect with 421 4.7.0 (RFC 5321 3.8), recorded like any connection."""

import unittest

from harness import DaemonTestCase

MAX_PER_IP = 2
MAX_CONNECTIONS = 4


class ConnectionLimits(DaemonTestCase):
    options = [
        ("global", "max_per_ip", str(MAX_PER_IP)),
        ("global", "max_connections", str(MAX_CONNECTIONS)),
    ]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.d.wait_probes_closed()

    def setUp(self):
        self.open = []

    def tearDown(self):
        # leave no session behind for the next test
        for c in self.open:
            c.close()
        for c in self.open:
            self.d.connection(c)

    def connect(self, host="plain", family=4, source=None, greet=True):
        c = self.d.smtp(host, family=family, source=source, greet=greet)
        self.open.append(c)
        return c

    def assertRefused(self, c):
        r = c.read_reply()
        self.assertReply(r, 421, "4.7.0")
        c.expect_eof()
        conn = self.d.connection(c)
        self.assertEqual(conn["end_reason"], "limit")
        self.assertIsNone(conn["helo"])

    def test_per_ip_limit(self):
        for _ in range(MAX_PER_IP):
            self.connect()
        extra = self.connect(greet=False)
        self.assertRefused(extra)
        # another address is not affected
        other = self.connect(family=6)
        self.assertReply(other.cmd("NOOP"), 250, "2.0.0")
        # per address over the whole daemon, not per listener (3 < 4 in total)
        self.assertRefused(self.connect("open", greet=False))

    def test_slot_freed_after_quit(self):
        first = [self.connect() for _ in range(MAX_PER_IP)]
        first[0].quit()
        self.d.connection(first[0])
        again = self.connect()
        self.assertReply(again.cmd("NOOP"), 250, "2.0.0")

    def test_total_limit(self):
        self.connect(source="127.0.0.1")
        self.connect(source="127.0.0.1")
        self.connect(source="127.0.0.2")
        self.connect(source="127.0.0.3", family=4)
        self.assertEqual(len(self.open), MAX_CONNECTIONS)
        extra = self.connect(source="127.0.0.4", greet=False)
        self.assertRefused(extra)


if __name__ == "__main__":
    unittest.main()
