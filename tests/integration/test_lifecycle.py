"""Process life: SIGTERM (stop accepting, let sessions finish, 421 4.3.2
after shutdown_grace, flush, exit 0) and acknowledged-means-durable
under SIGKILL.  One daemon per test."""

import os
import signal
import socket
import time
import unittest

import harness
from harness import Daemon, make_message


class Lifecycle(unittest.TestCase):

    def daemon(self, grace):
        self.d = Daemon(self._testMethodName, options=[("global", "shutdown_grace", grace)])
        self.addCleanup(self.d.close)
        self.d.start()
        self.t = self.d.new_test()
        return self.d

    def assertReply(self, reply, code, status=None):
        self.assertEqual((reply.code, reply.status if status else None), (code, status),
                         str(reply))

    def not_served(self, host="plain"):
        """Poll until a new connection gets no session: refused, closed, a
        421, or left unanswered in the backlog.  False if at the deadline
        new connections still get a 220 greeting."""
        addr, port = self.d.addr(host)
        end = time.monotonic() + harness.deadline(0.8)
        while time.monotonic() < end:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(0.3)
            try:
                s.connect((addr, port))
                data = s.recv(512)
            except (ConnectionRefusedError, ConnectionResetError, socket.timeout):
                return True
            except OSError:
                time.sleep(0.02)
                continue
            finally:
                s.close()
            if not data.startswith(b"220"):
                return True
            time.sleep(0.02)            # accepted just before the signal
        return False

    def test_sigterm_gives_open_session_421_after_grace(self):
        d = self.daemon("1s")
        to = d.address(self.t, "plain")
        with d.smtp("plain") as c:
            c.ehlo()
            self.assertReply(c.send_mail("a@example.org", [to], make_message(to)), 250, "2.0.0")
            t0 = time.monotonic()
            d.signal(signal.SIGTERM)
            self.assertTrue(self.not_served(), "new connections still served after SIGTERM")
            c.settimeout(5)
            r = c.read_reply()
            took = time.monotonic() - t0
            self.assertReply(r, 421, "4.3.2")
            self.assertGreaterEqual(took, 0.8, "421 before shutdown_grace")
            self.assertLess(took, harness.deadline(4), "421 long after shutdown_grace")
            c.expect_eof()
        self.assertEqual(d.wait_exit(10), 0, d.log_tail())
        d.check_exit()
        conn = d.connection(c.local_port, timeout=1)
        self.assertEqual((conn["end_reason"], conn["transactions"], conn["test_id"]),
                         ("shutdown", 1, self.t["id"]))
        rows = d.query("SELECT r.address FROM recipients r JOIN transactions t "
                       "ON t.id = r.transaction_id WHERE t.connection_id = ?", (conn["id"],))
        self.assertEqual(rows, [{"address": to}])

    def test_sigterm_lets_a_session_finish(self):
        d = self.daemon("5s")
        to = d.address(self.t, "plain")
        with d.smtp("plain") as c:
            c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
            self.assertReply(c.cmd("RCPT TO:<%s>" % to), 250, "2.1.5")
            d.signal(signal.SIGTERM)
            self.assertTrue(self.not_served(), "new connections still served after SIGTERM")
            self.assertReply(c.cmd("DATA"), 354)
            c.send(harness.dot_stuff(make_message(to)))
            self.assertReply(c.read_reply(), 250, "2.0.0")
            t0 = time.monotonic()
            c.quit()
        # the last session is gone: exit now, not at the end of the grace
        self.assertEqual(d.wait_exit(10), 0, d.log_tail())
        self.assertLess(time.monotonic() - t0, harness.deadline(3),
                        "waited for shutdown_grace although no session was left")
        d.check_exit()
        conn = d.connection(c.local_port, timeout=1)
        self.assertEqual((conn["end_reason"], conn["transactions"]), ("quit", 1))

    def test_sigterm_idle_daemon_exits_0_promptly(self):
        d = self.daemon("5s")
        t0 = time.monotonic()
        d.signal(signal.SIGTERM)
        self.assertEqual(d.wait_exit(10), 0, d.log_tail())
        self.assertLess(time.monotonic() - t0, harness.deadline(3))
        d.check_exit()
        # every connection row (the readiness probes) completed before exit
        self.assertEqual(d.query("SELECT id FROM connections WHERE ended IS NULL"), [])

    def test_acknowledged_message_survives_sigkill(self):
        """Acknowledged means durable: SIGKILL right after the 250."""
        d = self.daemon("1s")
        to = d.address(self.t, "plain")
        msg = make_message(to, subject="durable")
        with d.smtp("plain") as c:
            c.ehlo()
            for i in range(3):
                self.assertReply(c.send_mail("k%d@example.org" % i, [to], msg), 250, "2.0.0")
            d.kill()
        rows = d.query(
            "SELECT t.mail_from, t.size, r.address, r.test_id FROM transactions t "
            "JOIN recipients r ON r.transaction_id = t.id "
            "JOIN connections c ON c.id = t.connection_id "
            "WHERE c.client_port = ? ORDER BY t.id", (c.local_port,), readonly=False)
        self.assertEqual(rows, [{"mail_from": "k%d@example.org" % i, "size": len(msg),
                                 "address": to, "test_id": self.t["id"]} for i in range(3)])

    def test_background_daemon_serves_stores_and_stops_by_pid_file(self):
        """Without -f: the parent returns, the detached daemon writes its
        pid file, accepts and stores mail (its writer and workers exist
        after the fork), and SIGTERM to that pid ends it and the file."""
        d = Daemon(self._testMethodName)
        self.addCleanup(d.close)
        cp = harness.run([harness.MAILSCOPED, "-c", d.conf, "-p", "mailscoped.pid"],
                         cwd=d.dir, timeout=20)
        self.assertEqual(cp.returncode, 0, harness.describe(cp))
        pidfile = os.path.join(d.dir, "mailscoped.pid")
        end = time.monotonic() + harness.deadline(10)
        while not os.path.exists(pidfile) and time.monotonic() < end:
            time.sleep(0.05)
        with open(pidfile) as f:
            pid = int(f.read())
        self.addCleanup(self.kill_if_alive, pid)
        t = d.new_test()
        to = d.address(t, "plain")
        while True:
            try:
                c = d.smtp("plain")
                break
            except (OSError, AssertionError, EOFError):
                if time.monotonic() > end:
                    raise
                time.sleep(0.05)
        with c:
            c.ehlo()
            self.assertReply(c.send_mail("bg@example.org", [to], make_message(to)), 250, "2.0.0")
            c.quit()
        d.wait_for("SELECT 1 FROM analyses a JOIN recipients r ON r.transaction_id ="
                   " a.transaction_id WHERE r.test_id = ? AND a.finished IS NOT NULL",
                   (t["id"],), what="the analysis of the background daemon")
        os.kill(pid, signal.SIGTERM)
        while self.alive(pid) and time.monotonic() < end + harness.deadline(10):
            time.sleep(0.05)
        self.assertFalse(self.alive(pid), "mailscoped %d still running" % pid)
        self.assertFalse(os.path.exists(pidfile))

    @staticmethod
    def alive(pid):
        """Running (a zombie waiting for init to reap it counts as gone)."""
        try:
            with open("/proc/%d/status" % pid) as f:
                return "\nState:\tZ" not in f.read()
        except FileNotFoundError:
            return False

    def kill_if_alive(self, pid):
        if self.alive(pid):
            os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    unittest.main()
