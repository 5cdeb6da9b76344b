"""Process life: SIGTERM (stop accepting, let sessions finish, 421 4.3.2
after shutdown_grace, flush, exit 0) and acknowledged-means-durable
under SIGKILL.  One daemon per test."""

import os
import re
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
        conn = d.connection(c, timeout=1)
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
        conn = d.connection(c, timeout=1)
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
            cid = d.connection_id(c)
            d.kill()
        rows = d.query(
            "SELECT t.mail_from, t.size, r.address, r.test_id FROM transactions t "
            "JOIN recipients r ON r.transaction_id = t.id "
            "WHERE t.connection_id = ? ORDER BY t.id", (cid,), readonly=False)
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


# Every column that stores a connection id (store.c, ST_LAST_CONN).
CONN_ID_COLUMNS = [("connections", "id"), ("transactions", "connection_id"),
                   ("greylist_attempts", "connection_id")]


class ConnectionIds(unittest.TestCase):
    """Connection ids continue after a restart from the highest id any table
    stores, so that no id names two connections; one that cannot be read
    stops the start."""

    def daemon(self):
        d = Daemon(self._testMethodName)
        self.addCleanup(d.close)
        d.start()
        return d

    def highest(self, d):
        return max(d.query_one("SELECT coalesce(max(%s), 0) AS n FROM %s" % (c, t))["n"]
                   for t, c in CONN_ID_COLUMNS)

    def prune(self, d, *tables):
        """Deletes every row of TABLES as the sqlite3 shell would: without
        foreign keys (rows naming the deleted connections stay)."""
        con = d.db(readonly=False)
        try:
            con.execute("PRAGMA foreign_keys = OFF")
            for t in tables:
                con.execute("DELETE FROM %s" % t)
            con.commit()
        finally:
            con.close()

    def deliver(self, d, t):
        to = d.address(t, "plain")
        with d.smtp("plain") as c:
            c.ehlo()
            self.assertEqual(c.send_mail("ids@example.org", [to], make_message(to)).code, 250)
            c.quit()
        return d.connection(c)["id"]

    def greylisted(self, d, t):
        with d.smtp("grey") as c:
            c.ehlo()
            self.assertEqual(c.cmd("MAIL FROM:<ids@example.org>").code, 250)
            self.assertEqual(c.cmd("RCPT TO:<%s>" % d.address(t, "grey")).code, 451)
            c.quit()
        cid = d.connection(c)["id"]
        d.wait_for("SELECT 1 FROM greylist_attempts WHERE connection_id = ?", (cid,),
                   what="the greylist attempt of c%d" % cid)
        return cid

    def assertIdsContinue(self, d, before):
        """After a restart, every new connection (the readiness probes
        first) has an id above BEFORE."""
        d.stop()
        restarted = time.time()
        d.start()
        with d.smtp("plain") as c:
            c.quit()
        new = d.connection(c)["id"]
        first = d.query_one("SELECT min(id) AS n FROM connections WHERE started >= ?",
                            (restarted,))["n"]
        self.assertGreater(first, before, "ids restarted: first new c%d, stored c%d\n%s"
                           % (first, before, d.log_tail()))
        self.assertGreater(new, before)

    def test_ids_continue_after_restart(self):
        d = self.daemon()
        t = d.new_test()
        self.deliver(d, t)
        self.assertIdsContinue(d, self.highest(d))

    def test_ids_continue_past_transactions_of_pruned_connections(self):
        """The connections table emptied: its transactions still hold ids."""
        d = self.daemon()
        t = d.new_test()
        self.greylisted(d, t)
        last = self.deliver(d, t)
        d.stop()
        self.prune(d, "connections")
        self.assertEqual(self.highest(d), last)
        self.assertIdsContinue(d, last)

    def test_ids_continue_past_greylist_attempts_of_pruned_connections(self):
        """greylist_attempts has no foreign key: its ids outlive the rest."""
        d = self.daemon()
        t = d.new_test()
        self.deliver(d, t)
        last = self.greylisted(d, t)
        d.stop()
        self.prune(d, "recipients", "transactions", "connections")
        self.assertEqual(self.highest(d), last)
        self.assertIdsContinue(d, last)

    def test_unreadable_highest_id_stops_the_start(self):
        """A stored id that is not an integer: no guess, exit 1 with why."""
        d = self.daemon()
        d.stop()
        con = d.db(readonly=False)
        try:
            con.execute("INSERT INTO greylist_attempts (connection_id, mail_from, rcpt,"
                        " client_addr, time, result) VALUES ('c7', 'a', 'b', '127.0.0.1',"
                        " 0, 'deferred')")
            con.commit()
        finally:
            con.close()
        with self.assertRaises(harness.DaemonError):
            d.start(attempts=1)
        self.assertEqual(d.returncode, 1, d.log_tail())
        self.assertIn("cannot read the highest connection id from %s: not starting"
                      % d.db_path, d.log())

    def test_database_that_is_not_one_stops_the_start(self):
        d = Daemon(self._testMethodName)
        self.addCleanup(d.close)
        with open(d.db_path, "wb") as f:
            f.write(b"not a database\n" * 512)
        with self.assertRaises(harness.DaemonError):
            d.start(attempts=1)
        self.assertEqual(d.returncode, 1, d.log_tail())
        self.assertRegex(d.log(), r"%s.*(not a database|malformed)" % re.escape(d.db_path))


RESOLVER_LINE = "analysis lookups use "


class ResolverNotice(unittest.TestCase):
    """The analysis' DNS lookups leave loopback: the daemon says so at start
    (the loopback demo keeps the system's resolver)."""

    def started(self, resolver):
        d = Daemon(self._testMethodName)
        self.addCleanup(d.close)
        if resolver is None:
            d.del_option("global", "resolver")
        else:
            d.set_option("global", "resolver", resolver)
        d.start()
        d.stop()
        return d.log()

    def test_resolver_not_on_loopback_is_named_at_start(self):
        self.assertIn("analysis lookups use 192.0.2.53:53 (from resolver), not loopback;"
                      " set resolver = off to stay on loopback\n",
                      self.started("192.0.2.53"))

    def test_system_resolver_is_named_unless_on_loopback(self):
        servers = []
        try:
            with open("/etc/resolv.conf") as f:
                for line in f:
                    w = line.split()
                    if len(w) >= 2 and w[0] == "nameserver":
                        servers.append(w[1])
        except OSError:
            pass
        away = [a for a in servers
                if not (a.startswith("127.") or a.split("%")[0] == "::1")]
        log = self.started(None)
        if away:
            self.assertIn("analysis lookups use %s (from /etc/resolv.conf), not loopback;"
                          " set resolver = off to stay on loopback\n" % " ".join(servers),
                          log)
        else:
            self.assertNotIn(RESOLVER_LINE, log)

    def test_resolver_off_or_on_loopback_is_not_mentioned(self):
        self.assertNotIn(RESOLVER_LINE, self.started("off"))
        self.assertNotIn(RESOLVER_LINE, self.started("127.0.0.1:5353"))
        self.assertNotIn(RESOLVER_LINE, self.started("[::1]"))


if __name__ == "__main__":
    unittest.main()
