"""Connection limits: per client address and in total; refused at
connect with 421 4.7.0 (RFC 5321 3.8), recorded like any connection."""

import time
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


class RefusedRecording(DaemonTestCase):
    """A flood must not outrun the disk: connections refused at accept
    have a row each up to 10 a second from one client network; the rest
    are answered the same and counted in the next such row (unrecorded)."""
    options = [("global", "max_per_ip", "1")]
    FLOOD = 60

    def refused(self, source):
        c = self.d.smtp("plain", source=source, greet=False)
        r = c.read_reply()
        c.close()
        return r

    def test_refused_connections_beyond_the_rate_are_counted_not_recorded(self):
        src = "127.0.0.7"
        held = self.d.smtp("plain", source=src)
        replies = [self.refused(src) for _ in range(self.FLOOD)]
        self.assertEqual({(r.code, r.status) for r in replies}, {(421, "4.7.0")})
        time.sleep(1.2)         # a token again: the next refusal has a row
        last = self.d.smtp("plain", source=src, greet=False)
        self.assertReply(last.read_reply(), 421, "4.7.0")
        last_row = self.d.connection(last)
        held.quit()
        rows = self.d.query(
            "SELECT id, unrecorded FROM connections WHERE client_addr = ?"
            " AND end_reason = 'limit' ORDER BY id", (src,))
        self.assertLessEqual(len(rows), 13, "rows of refused connections")
        self.assertGreater(len(rows), 1)
        self.assertEqual(rows[-1]["id"], last_row["id"])
        # every refusal is a row or counted in the row after it
        self.assertEqual(len(rows) + sum(r["unrecorded"] for r in rows), self.FLOOD + 1)
        self.assertGreater(last_row["unrecorded"], 0)


class ConnectionRate(DaemonTestCase):
    """max_connection_rate: connections of one client network a minute."""
    options = [("global", "max_connection_rate", "5")]

    def test_the_connection_over_the_rate_is_421(self):
        src = "127.0.0.8"
        for _ in range(5):
            with self.d.smtp("plain", source=src) as c:
                c.quit()
        c = self.d.smtp("plain", source=src, greet=False)
        r = c.read_reply()
        self.assertReply(r, 421, "4.7.0")
        self.assertIn("slow down", r.text)
        c.expect_eof()
        self.assertEqual(self.d.connection(c)["end_reason"], "limit")
        # another network is not held to it
        with self.d.smtp("plain", source="127.0.0.9") as c2:
            c2.quit()
