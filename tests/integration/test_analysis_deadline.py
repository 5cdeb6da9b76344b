"""analysis_deadline (issue 15): all the DNS work of one message ends by
then.  With a resolver that never answers, the analysis of a message
finishes within the deadline (and a little), every analyzer saying the DNS
timed out, and SIGTERM right after a delivery does not wait for the
message's lookups one timeout after the other."""

import signal
import socket
import threading
import time
import unittest

import harness
from harness import Daemon, DaemonTestCase, make_message


class SilentResolver:
    """A UDP socket on 127.0.0.1 that reads every query and answers none."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.queries = 0
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self):
        while True:
            try:
                self.sock.recvfrom(4096)
            except OSError:
                return
            self.queries += 1

    def close(self):
        self.sock.close()


SILENT = SilentResolver()
OPTIONS = [("global", "resolver", "127.0.0.1:%d" % SILENT.port),
           ("global", "resolver_timeout", "1s"),
           ("global", "analysis_deadline", "2s")]
# Without the deadline one message asks ten names or more, two tries of a
# second each: far beyond this.
BOUND = 6


def deliver(d, mail_from="sender@example.org"):
    """One message to a new test; the transaction id and when 250 came."""
    t = d.new_test()
    to = d.address(t, challenge="plaintext")
    with d.smtp("plain") as c:
        c.ehlo("client.example")
        reply = c.send_mail(mail_from, [to], make_message(to))
        acked = time.monotonic()
        assert reply.code == 250, str(reply)
        c.quit()
    txn = d.query_one("SELECT t.id FROM transactions t JOIN recipients r"
                      " ON r.transaction_id = t.id WHERE r.test_id = ?",
                      (t["id"],))["id"]
    return txn, acked


class AnalysisDeadline(DaemonTestCase):
    options = OPTIONS

    def test_silent_resolver_analysis_finishes_by_the_deadline(self):
        txn, acked = deliver(self.d)
        self.d.wait_for("SELECT 1 FROM analyses WHERE transaction_id = ?"
                        " AND finished IS NOT NULL", (txn,),
                        timeout=20, what="analysis done")
        took = time.monotonic() - acked
        self.assertLess(took, harness.deadline(BOUND),
                        "analysis took %.1fs\n%s" % (took, self.d.log_tail()))
        self.assertGreater(SILENT.queries, 0)
        spf = {r["identity"]: r for r in self.d.query(
            "SELECT identity, domain, result, error FROM spf_results"
            " WHERE transaction_id = ?", (txn,))}
        self.assertEqual((spf["mailfrom"]["domain"], spf["mailfrom"]["result"]),
                         ("example.org", "temperror"))
        self.assertEqual((spf["helo"]["domain"], spf["helo"]["result"]),
                         ("client.example", "temperror"))
        # the DNS decided it: a lookup timed out, not the evaluator
        self.assertIn("timeout", spf["mailfrom"]["error"])
        self.assertIn("timeout", spf["helo"]["error"])
        client = self.d.query_one("SELECT ptr_status, helo_status FROM client_dns"
                                  " WHERE transaction_id = ?", (txn,))
        self.assertEqual((client["ptr_status"], client["helo_status"]),
                         ("timeout", "timeout"))


class ShutdownDuringAnalysis(unittest.TestCase):

    def test_sigterm_right_after_delivery_exits_promptly(self):
        d = Daemon("deadline-stop", options=OPTIONS)
        self.addCleanup(d.close)
        d.start()
        txn, _ = deliver(d)
        t0 = time.monotonic()
        d.signal(signal.SIGTERM)
        self.assertEqual(d.wait_exit(timeout=20), 0, d.log_tail())
        took = time.monotonic() - t0
        self.assertLess(took, harness.deadline(BOUND),
                        "SIGTERM took %.1fs\n%s" % (took, d.log_tail()))
        d._reap()
        d.check_exit()
        row = d.query_one("SELECT finished FROM analyses WHERE transaction_id = ?",
                          (txn,))
        self.assertIsNotNone(row["finished"])


if __name__ == "__main__":
    unittest.main()
