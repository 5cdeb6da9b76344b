"""retention_days (docs/mailscope.conf.5, docs/operator-data.md): the
daemon purges the tests older than that five seconds after it starts
(then daily), on a worker with its own database connection, and logs what
went; without the key it purges nothing.  Tests are made old by setting
tests.created in the database while the daemon is stopped, then the
daemon is started again."""

import re
import time
import unittest

from harness import Daemon, deadline
from test_purge import (TEST_COLUMNS, check_db, deliver, make_old,
                        rows_of, wait_analyses)

LOG = re.compile(r"retention: purged tests older than 30 days: tests=(\d+)"
                 r" connections=(\d+) transactions=(\d+)")


class Retention(unittest.TestCase):

    def daemon(self, *options):
        d = Daemon(self._testMethodName, options=list(options))
        self.addCleanup(d.close)
        d.start()
        old, young = d.new_test(), d.new_test()
        deliver(d, old, 3, "old")
        deliver(d, young, 2, "young")
        wait_analyses(d, 5)
        d.stop()
        make_old(d, [old["id"]])
        return d, old["id"], young["id"]

    def test_daemon_purges_old_tests_shortly_after_start(self):
        d, old, young = self.daemon(("global", "retention_days", "30"))
        young_rows = rows_of(d, [young])
        d.start()
        d.wait_for("SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM tests"
                   " WHERE id = ?)", (old,), timeout=20,
                   what="the old test purged")
        # the log line follows the last deletes and the vacuum
        end = time.monotonic() + deadline(10)
        while not (m := LOG.search(d.log())) and time.monotonic() < end:
            time.sleep(0.05)
        self.assertTrue(m, d.log_tail())
        # the 3 deliveries' connections, and the harness's probes at the
        # start attributed to the old test by address (from 127.0.0.1)
        tests, conns, txns = map(int, m.groups())
        self.assertEqual((tests, txns), (1, 3))
        self.assertGreaterEqual(conns, 3)
        self.assertEqual(rows_of(d, [old]), {t: 0 for t, _ in TEST_COLUMNS})
        self.assertEqual(rows_of(d, [young]), young_rows)
        check_db(self, d)
        d.stop()

    def test_without_retention_days_nothing_is_purged(self):
        d, old, young = self.daemon()
        d.start()
        # longer than the first purge's delay (a fixed wait: an absence)
        time.sleep(7)
        self.assertEqual(rows_of(d, [old])["tests"], 1)
        self.assertNotIn("retention:", d.log())
        d.stop()


if __name__ == "__main__":
    unittest.main()
