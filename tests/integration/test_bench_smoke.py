"""The benchmark tools in seconds (tests/bench/, docs/performance.md):
msbench against the real daemon, plain and STARTTLS, pipelined and not.
Asserts no speed, only that msbench's counts add up (every planned
message ok, refused, failed or unsent, once) and that every message it
saw acknowledged is stored exactly once (one row each, all distinct).
msbench is built with `make bench` when it is not there."""

import json
import os
import subprocess
import unittest

import harness

MSBENCH = os.path.join(harness.BUILDDIR, "tests", "bench", "msbench")
QUOTA = 50      # max_transactions: a session's MAILs


def build_msbench():
    if os.access(MSBENCH, os.X_OK):
        return
    cp = harness.run(["make", "-C", harness.BUILDDIR, "bench"], timeout=300)
    if cp.returncode != 0 or not os.access(MSBENCH, os.X_OK):
        raise AssertionError("make bench failed\n" + harness.describe(cp))


class MsbenchSmoke(harness.DaemonTestCase):
    options = [("global", "max_transactions", str(QUOTA)),
               ("global", "max_connection_rate", "100000"),
               ("global", "max_client_transactions", "100000")]

    @classmethod
    def setUpClass(cls):
        build_msbench()
        super().setUpClass()

    def msbench(self, *args, rc=0, host="open"):
        addr, port = self.d.addr(host)
        cp = harness.run([MSBENCH, "--json", "-", "--timeout", "20000"] + list(args)
                         + ["%s:%d" % (addr, port)], timeout=120)
        self.assertEqual(cp.returncode, rc, harness.describe(cp))
        res = json.loads(cp.stdout)
        c = res["counts"]
        self.assertEqual(c["ok"] + c["refused"] + c["failed"] + c["unsent"], c["planned"],
                         "counts do not add up: %s" % c)
        self.assertEqual(res["latency_ms"]["n"], c["ok"], res)
        return res

    def stored(self, test):
        return self.d.query_one(
            "SELECT count(*) AS n, count(DISTINCT t.body_sha256) AS distinct_n"
            " FROM recipients r JOIN transactions t ON t.id = r.transaction_id"
            " WHERE r.test_id = ?", (test["id"],))

    def assert_stored_once(self, test, res):
        row = self.stored(test)
        self.assertEqual((row["n"], row["distinct_n"]),
                         (res["counts"]["ok"], res["counts"]["ok"]), res)

    def test_pipelined_sessions_every_message_stored_once(self):
        t = self.d.new_test()
        res = self.msbench("-c", "4", "-m", "25", "--rcpt", t["addresses"]["v4"])
        self.assertEqual(res["counts"]["ok"], 100, res)
        self.assertEqual(res["counts"]["connections"], 4, res)
        self.assert_stored_once(t, res)

    def test_a_connection_per_message_without_pipelining(self):
        t = self.d.new_test()
        res = self.msbench("-c", "3", "-m", "5", "--no-reuse", "--no-pipelining",
                           "-s", "1k:1,8k:1", "--rcpt", t["addresses"]["v4"])
        self.assertEqual((res["counts"]["ok"], res["counts"]["connections"]), (15, 15), res)
        self.assert_stored_once(t, res)

    def test_starttls_with_resumption(self):
        t = self.d.new_test()
        res = self.msbench("-c", "2", "-m", "4", "--no-reuse", "--starttls",
                           "--tls-version", "1.3", "--groups", "X25519", "--resume",
                           "--rcpt", t["addresses"]["v4"])
        c = res["counts"]
        self.assertEqual((c["ok"], c["handshakes"]), (8, 8), res)
        # the first handshake of each session is full, the others resumed
        self.assertEqual(c["resumed"], 6, res)
        self.assert_stored_once(t, res)

    def test_refusals_are_counted_and_not_stored(self):
        """The session quota ends a session with 421 at MAIL: the rest of
        its messages are unsent, and only the acknowledged are stored."""
        t = self.d.new_test()
        res = self.msbench("-c", "1", "-m", str(QUOTA + 10), "--rcpt",
                           t["addresses"]["v4"], rc=1)
        c = res["counts"]
        self.assertEqual((c["ok"], c["refused"], c["failed"], c["unsent"]),
                         (QUOTA, 1, 0, 9), res)
        self.assertEqual(res["errors"], {"MAIL 421": 1}, res)
        self.assert_stored_once(t, res)

    def test_refuses_targets_off_loopback(self):
        for target in ("192.0.2.1:25", "[2001:db8::1]:25", "0.0.0.0:25",
                       "[::ffff:127.0.0.1]:25"):
            cp = harness.run([MSBENCH, "--rcpt", "a@b.test", target])
            self.assertEqual(cp.returncode, 2, harness.describe(cp))
            self.assertIn("loopback", cp.stderr)
        cp = harness.run([MSBENCH, "--rcpt", "a@b.test", "--source", "192.0.2.1",
                          "127.0.0.1:25"])
        self.assertEqual(cp.returncode, 2, harness.describe(cp))


if __name__ == "__main__":
    unittest.main()
