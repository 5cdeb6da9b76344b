"""Greylisting on the grey host (CHALLENGES.md): the first try of each
(MAIL FROM, RCPT) gets 451 4.7.1, a retry after greylist_delay is accepted
from any address (the client address is not part of the key), and every
attempt is recorded."""

import time
import unittest

from harness import DaemonTestCase, make_message

DELAY = 1.0


class Greylisting(DaemonTestCase):
    options = [("host grey", "greylist_delay", "1s")]

    def test_retry_after_delay_accepted_from_another_address(self):
        t = self.new_test()
        to = self.d.address(t, challenge="grey-v4")
        with self.d.smtp("grey") as c:
            c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<grey@example.org>"), 250, "2.1.0")
            self.assertReply(c.cmd("RCPT TO:<%s>" % to), 451, "4.7.1")
            first = time.monotonic()
            self.assertReply(c.cmd("RCPT TO:<%s>" % to), 451, "4.7.1", "retry before the delay")
            c.quit()
        # the delay is configured time, not an event to wait for
        time.sleep(max(0.0, first + DELAY + 0.2 - time.monotonic()))
        with self.d.smtp("grey", family=6) as c6:
            c6.ehlo()
            self.assertReply(c6.send_mail("grey@example.org", [to], make_message(to)),
                             250, "2.0.0")
            c6.quit()
        # passed once: accepted at once from then on
        with self.d.smtp("grey") as c:
            c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<grey@example.org>"), 250, "2.1.0")
            self.assertReply(c.cmd("RCPT TO:<%s>" % to), 250, "2.1.5")
            c.quit()
        self.d.connection(c.local_port)
        rows = self.d.query("SELECT * FROM v_greylist WHERE test_id = ?", (t["id"],))
        self.assertEqual(len(rows), 1, rows)
        g = rows[0]
        self.assertEqual((g["attempts"] >= 3, g["addresses"], g["first_addr"], g["accepted_addr"]),
                         (True, 2, "127.0.0.1", "::1"), g)
        self.assertGreaterEqual(g["retry_delay"], DELAY - 0.05)
        deliveries = self.d.query("SELECT challenge, family FROM v_deliveries WHERE test_id = ?",
                                  (t["id"],))
        self.assertEqual(deliveries, [{"challenge": "grey-v4", "family": 6}])

    def test_other_hosts_are_not_greylisted(self):
        t = self.new_test()
        to = self.d.address(t, challenge="v4")
        with self.d.smtp("open") as c:
            c.ehlo()
            self.assertReply(c.send_mail("grey@example.org", [to], make_message(to)),
                             250, "2.0.0")
            c.quit()


if __name__ == "__main__":
    unittest.main()
