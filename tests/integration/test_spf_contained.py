"""The SPF evaluator runs apart (issue 15): libspf2 parses the records
senders publish, so each analysis worker has it in a process of its own.
Killing that process while it waits on a lookup costs one message its SPF
result, recorded as a crash; the daemon lives on and the next message gets
a normal result.  The DNS here is a small responder of this test on
127.0.0.1: a TXT record for good.test, silence for slow.test's TXT (and a
note that it was asked), NXDOMAIN for every other name."""

import os
import signal
import socket
import struct
import threading
import time
import unittest

import harness
from harness import DaemonTestCase, make_message

GOOD_SPF = "v=spf1 ip4:127.0.0.0/8 -all"
TXT, NXDOMAIN = 16, 3


class TinyDNS:
    """Answers from the table above, on 127.0.0.1 over UDP."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.slow_asked = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @staticmethod
    def _question(q):
        """(name, type, end of the question) of query Q."""
        i, labels = 12, []
        while q[i]:
            labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
            i += 1 + q[i]
        qtype = struct.unpack("!H", q[i + 1:i + 3])[0]
        return ".".join(labels).lower(), qtype, i + 5

    def _serve(self):
        while True:
            try:
                q, peer = self.sock.recvfrom(4096)
                name, qtype, end = self._question(q)
            except (OSError, IndexError, struct.error):
                if self.sock.fileno() == -1:
                    return
                continue
            if name == "slow.test" and qtype == TXT:
                self.slow_asked.set()
                continue                     # never answered
            answers = b""
            count, rcode = 0, NXDOMAIN
            if name == "good.test":
                rcode = 0
                if qtype == TXT:
                    txt = GOOD_SPF.encode()
                    rdata = bytes([len(txt)]) + txt
                    answers = struct.pack("!HHHIH", 0xC00C, TXT, 1, 60,
                                          len(rdata)) + rdata
                    count = 1
            # QR, AA, RD as asked, RA, the RCODE; the question echoed
            flags = 0x8000 | 0x0400 | (q[2] & 1) << 8 | 0x0080 | rcode
            reply = (q[:2] + struct.pack("!HHHHH", flags, 1, count, 0, 0)
                     + q[12:end] + answers)
            self.sock.sendto(reply, peer)


DNS = TinyDNS()


def spf_evaluators(ppid):
    """PIDs of the live SPF evaluators (mailscoped -S) whose parent is PPID."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
            with open("/proc/%s/cmdline" % name, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        state, parent = stat[stat.rfind(")") + 2:].split()[:2]
        if int(parent) == ppid and state != "Z" and argv[1:2] == [b"-S"]:
            pids.append(int(name))
    return pids


def limit(pid, what):
    """The soft limit named WHAT in /proc/PID/limits, as written there."""
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith(what):
                return line[len(what):].split()[0]
    return None


class SPFEvaluatorContained(DaemonTestCase):
    # one worker: one evaluator to find; lookups long enough to kill it in
    options = [("global", "resolver", "127.0.0.1:%d" % DNS.port),
               ("global", "resolver_timeout", "5s"),
               ("global", "analysis_deadline", "30s"),
               ("global", "analysis_workers", "1")]

    def deliver(self, mail_from):
        t = self.d.new_test()
        to = self.d.address(t, challenge="plaintext")
        with self.d.smtp("plain") as c:
            c.ehlo("client.example")
            self.assertEqual(c.send_mail(mail_from, [to], make_message(to)).code, 250)
            c.quit()
        return self.d.query_one(
            "SELECT t.id FROM transactions t JOIN recipients r"
            " ON r.transaction_id = t.id WHERE r.test_id = ?", (t["id"],))["id"]

    def spf(self, txn):
        self.d.wait_for("SELECT 1 FROM analyses WHERE transaction_id = ?"
                        " AND finished IS NOT NULL", (txn,), timeout=20,
                        what="analysis done")
        return {r["identity"]: (r["domain"], r["result"], r["record"], r["error"])
                for r in self.d.query(
                    "SELECT identity, domain, result, record, error FROM spf_results"
                    " WHERE transaction_id = ?", (txn,))}

    def test_killed_evaluator_costs_one_result_and_the_next_message_passes(self):
        daemon_pid = self.d.proc.pid
        DNS.slow_asked.clear()
        txn = self.deliver("a@slow.test")
        self.assertTrue(DNS.slow_asked.wait(harness.deadline(10)),
                        "the evaluator never asked for slow.test\n" + self.d.log_tail())
        kids = spf_evaluators(daemon_pid)
        self.assertEqual(len(kids), 1, "SPF evaluators: %r" % kids)
        # bounded: no core file of sender data, a few descriptors
        self.assertEqual(limit(kids[0], "Max core file size"), "0")
        self.assertEqual(limit(kids[0], "Max open files"), "16")
        os.kill(kids[0], signal.SIGKILL)

        self.assertEqual(self.spf(txn), {
            "mailfrom": ("slow.test", "temperror", None,
                         "SPF evaluator crashed (signal 9)"),
            # the next check, HELO's, already has a new evaluator
            "helo": ("client.example", "none", None,
                     "no SPF record at client.example: nxdomain"),
        })
        self.assertTrue(self.d.running)
        self.assertIn("SPF evaluator crashed (signal 9)", self.d.log())

        txn = self.deliver("b@good.test")
        self.assertEqual(self.spf(txn)["mailfrom"],
                         ("good.test", "pass", GOOD_SPF, None))
        now = spf_evaluators(daemon_pid)
        self.assertEqual(len(now), 1, now)
        self.assertNotEqual(now, kids)


if __name__ == "__main__":
    unittest.main()
