"""Durability of the store (docs/security.md, "The store: durability and
quotas"): thousands of messages from concurrent sessions, then kill -9 or
SIGTERM in the middle, or a full disk; after a restart on the same
database every message that got 250 is there exactly once, with its
connection row, and the database passes PRAGMA integrity_check.  An
analysis cut off by kill -9 is finished as 'interrupted' at the next
start.  One daemon per test."""

import errno
import os
import signal
import socket
import subprocess
import threading
import time
import unittest

import harness
from harness import Daemon, body_sha256, dot_stuff, make_message

SESSIONS = 24
# a few thousand messages in all; fewer in the slow (sanitizer) pass
MESSAGES = int(3000 / harness.SLOW)


class Load:
    """SESSIONS concurrent sessions to the plain host, each sending its
    share of TOTAL messages (with the header lines PAD) one after the
    other until a reply is not 250 or the daemon stops answering.
    replies: {body_sha256: reply code, or None when the final dot was sent
    and no reply came}; endpoints: the sessions' connections."""

    def __init__(self, d, to, total, pad=b"", sessions=SESSIONS):
        self.d, self.to, self.pad = d, to, pad
        self.replies = {}
        self.last = None
        self.endpoints = []
        self.lock = threading.Lock()
        per = max(1, total // sessions)
        self.threads = [threading.Thread(target=self.session, args=(i, per),
                                         daemon=True)
                        for i in range(sessions)]
        for t in self.threads:
            t.start()

    def session(self, n, count):
        try:
            c = self.d.smtp("plain", timeout=30)
        except (OSError, AssertionError, EOFError):
            return
        with self.lock:
            self.endpoints.append(c.endpoint)
        try:
            c.ehlo()
            for i in range(count):
                msg = make_message(self.to, subject="load %d.%d" % (n, i),
                                   body=b"session %d message %d\r\n" % (n, i),
                                   extra_headers=self.pad)
                sha = body_sha256(msg)
                if (c.cmd("MAIL FROM:<load%d@example.org>" % n).code != 250
                        or c.cmd("RCPT TO:<%s>" % self.to).code != 250
                        or c.cmd("DATA").code != 354):
                    return
                c.send(dot_stuff(msg))
                with self.lock:
                    self.replies[sha] = None
                r = c.read_reply()
                code = r.code
                with self.lock:
                    self.replies[sha] = code
                    self.last = r
                if code != 250:
                    return
            c.quit()
        except (OSError, AssertionError, EOFError):
            pass            # the daemon went away
        finally:
            c.close()

    def acked(self):
        with self.lock:
            return [s for s, code in self.replies.items() if code == 250]

    def wait_acked(self, n, timeout=60):
        end = time.monotonic() + harness.deadline(timeout)
        while len(self.acked()) < n:
            if time.monotonic() > end:
                raise AssertionError("only %d of %d messages acknowledged\n%s"
                                     % (len(self.acked()), n, self.d.log_tail()))
            time.sleep(0.01)

    def join(self, timeout=60):
        for t in self.threads:
            t.join(harness.deadline(timeout))
            if t.is_alive():
                raise AssertionError("a session is still running")


class Durability(unittest.TestCase):

    def daemon(self, *options):
        # thousands of messages from one address to one test: no quotas
        self.d = Daemon(self._testMethodName, options=[
            ("global", "max_connections", "200"),
            ("global", "max_per_ip", "200"),
            ("global", "max_connection_rate", "1000000"),
        ("global", "max_transactions", "100000"),
            ("global", "max_client_transactions", "100000"),
            ("global", "max_test_transactions", "100000")] + list(options))
        self.addCleanup(self.d.close)
        return self.d

    def start(self):
        self.d.start()
        self.t = self.d.new_test()
        self.to = self.d.address(self.t, "plain")

    def assertAcknowledgedStored(self, load):
        """Every 250 is one transaction with its connection row; nothing
        is stored twice; the database is sound."""
        d = self.d
        self.assertEqual(d.query("PRAGMA integrity_check"), [{"integrity_check": "ok"}])
        self.assertEqual(d.query("PRAGMA foreign_key_check"), [])
        rows = d.query("SELECT t.body_sha256 AS sha, count(*) AS n,"
                       " count(c.id) AS conns FROM transactions t"
                       " LEFT JOIN connections c ON c.id = t.connection_id"
                       " GROUP BY t.body_sha256")
        stored = {r["sha"]: r for r in rows}
        acked = load.acked()
        missing = [s for s in acked if s not in stored]
        self.assertEqual(missing, [], "%d of %d acknowledged messages lost\n%s"
                         % (len(missing), len(acked), d.log_tail()))
        self.assertEqual([s for s in acked if stored[s]["conns"] != 1], [],
                         "acknowledged messages without their connection row")
        self.assertEqual([s for s in load.replies if s in stored and stored[s]["n"] != 1],
                         [], "messages stored more than once")

    def wait_no_pending(self):
        self.d.wait_for("SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM analyses"
                        " WHERE finished IS NULL)", timeout=30,
                        what="no analysis pending")

    def test_kill9_in_the_middle_loses_no_acknowledged_message(self):
        d = self.daemon()
        self.start()
        load = Load(d, self.to, MESSAGES)
        load.wait_acked(MESSAGES // 2)
        os.kill(d.proc.pid, signal.SIGKILL)
        load.join()
        d.kill()
        d.start()
        self.assertAcknowledgedStored(load)
        # analyses cut off by the kill are finished at the start
        self.wait_no_pending()
        with d.smtp("plain") as c:
            c.ehlo()
            self.assertEqual(c.send_mail("after@example.org", [self.to],
                                         make_message(self.to)).code, 250)
            c.quit()

    def test_sigterm_in_the_middle_loses_nothing_in_flight(self):
        d = self.daemon(("global", "shutdown_grace", "100ms"))
        self.start()
        load = Load(d, self.to, MESSAGES)
        load.wait_acked(MESSAGES // 2)
        d.signal(signal.SIGTERM)
        load.join()
        self.assertEqual(d.wait_exit(30), 0, d.log_tail())
        d.check_exit()
        d.stop()
        # every message whose final dot was sent was answered
        self.assertEqual([s for s, code in load.replies.items() if code is None], [])
        self.assertEqual(sorted(set(load.replies.values()) - {250, 421}), [])
        d.start()
        self.assertAcknowledgedStored(load)
        # every session's end and every analysis was written before exit
        self.assertEqual(d.query("SELECT id FROM connections WHERE ended IS NULL"
                                 " AND started < ?", (time.time() - 0.5,)), [])
        self.wait_no_pending()
        self.assertEqual(d.query("SELECT transaction_id FROM analyses"
                                 " WHERE error = 'interrupted'"), [])

    def test_kill9_during_analysis_finishes_it_as_interrupted(self):
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind(("127.0.0.1", 0))
        self.addCleanup(silent.close)
        # a resolver that never answers: each analysis waits for it
        d = self.daemon(("global", "resolver", "127.0.0.1:%d" % silent.getsockname()[1]),
                        ("global", "resolver_timeout", "3s"))
        self.start()
        with d.smtp("plain") as c:
            c.ehlo()
            for i in range(3):
                self.assertEqual(c.send_mail("s%d@example.org" % i, [self.to],
                                             make_message(self.to)).code, 250)
            c.quit()
        rows = d.query("SELECT a.transaction_id FROM analyses a"
                       " WHERE a.finished IS NULL")
        self.assertEqual(len(rows), 3, "analyses not pending")
        os.kill(d.proc.pid, signal.SIGKILL)
        d.kill()
        d.start()
        got = d.query("SELECT transaction_id, error FROM analyses"
                      " ORDER BY transaction_id")
        self.assertEqual(got, [{"transaction_id": r["transaction_id"],
                                "error": "interrupted"} for r in rows])
        self.assertIn("3 analyses left pending by the last run finished as "
                      "'interrupted'", d.log())
        # the researcher's view says it too
        self.assertEqual(d.query("SELECT analysis, analysis_error FROM v_deliveries"
                                 " ORDER BY transaction_id"),
                         [{"analysis": "done", "analysis_error": "interrupted"}] * 3)
        # the report says why the message has no results
        self.assertIn("the analysis ended without results (interrupted)",
                      d.tool("report", self.t["id"]).stdout)

    def mount_small_disk(self):
        """An 8 MiB tmpfs under the daemon's directory (room for the WAL,
        which SQLite checkpoints at 1000 pages, 4 MiB), unmounted after
        the daemon stopped; skipped only when mounting is not allowed."""
        mnt = os.path.join(self.d.root, "disk")
        os.mkdir(mnt)
        cp = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=1777",
                             "tmpfs", mnt], capture_output=True, text=True)
        if cp.returncode != 0:
            self.skipTest("cannot mount a tmpfs (%s): %s"
                          % ("not root" if os.geteuid() != 0 else "not permitted",
                             cp.stderr.strip()))
        # cleanups run last first: this one after the daemon's close
        self.addCleanup(subprocess.run, ["umount", "-l", mnt])
        return mnt

    @staticmethod
    def fill(path):
        """Writes PATH until the disk is full."""
        with open(path, "wb", buffering=0) as f:
            for size in (65536, 4096, 512, 1):
                try:
                    while True:
                        f.write(b"\0" * size)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise

    def test_full_disk_answers_451_and_loses_nothing_acknowledged(self):
        d = self.daemon()
        mnt = self.mount_small_disk()
        d.set_option("global", "database", os.path.join(mnt, "ms.db"))
        self.start()
        filler = os.path.join(mnt, "filler")
        pad = (b"X-Pad: " + b"p" * 900 + b"\r\n") * 4
        before = Load(d, self.to, 40, pad)
        before.join()
        self.assertEqual(sorted(set(before.replies.values())), [250], d.log_tail())
        self.fill(filler)
        # one session sends on until the store runs out of room
        full = Load(d, self.to, 500, pad, sessions=1)
        full.join()
        self.assertEqual((full.last.code, full.last.status), (451, "4.3.0"),
                         d.log_tail())
        # room again
        os.unlink(filler)
        after = Load(d, self.to, 40, pad)
        after.join()
        self.assertEqual(sorted(set(after.replies.values())), [250], d.log_tail())
        # read as it is on the disk (the small one is nearly full again)
        d.stop()
        for load in (before, full, after):
            self.assertAcknowledgedStored(load)
            # the session's records failed with its mail were written again
            for ep in load.endpoints:
                d.connection(ep, timeout=1)


if __name__ == "__main__":
    unittest.main()
