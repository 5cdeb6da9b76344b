"""Quotas on the open internet (issue 15): transactions per session
(max_transactions, 421 4.7.0), per client address an hour
(max_client_transactions, 421 4.7.0), per test (max_test_transactions,
452 4.5.3), and the message bytes all sessions hold in memory
(max_message_memory, 452 4.3.1).  Every refusal is answered with its
enhanced status and stored in the refusals table; every 250 is stored."""

import threading
import time

from harness import DaemonTestCase, dot_stuff, make_message


def refusals(d, reason):
    return d.query("SELECT * FROM refusals WHERE reason = ? ORDER BY id", (reason,))


def tcp_queues(port):
    """{(local port, remote port): (tx_queue, rx_queue)} of the IPv4
    sockets of loopback /proc/net/tcp that have PORT at either end."""
    out = {}
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            lport = int(fields[1].split(":")[1], 16)
            rport = int(fields[2].split(":")[1], 16)
            tx, rx = (int(x, 16) for x in fields[4].split(":"))
            if port in (lport, rport):
                out[(lport, rport)] = (tx, rx)
    return out


def wait_read(*clients, timeout=10):
    """Wait until the daemon has read all that CLIENTS sent: nothing in
    their send queues, nothing in the receive queues of the daemon's end
    (what it read it has processed: a session reads and parses at once)."""
    end = time.monotonic() + timeout
    while True:
        busy = []
        for c in clients:
            port = c.local_port
            q = tcp_queues(port)
            mine = [v for (lp, _), v in q.items() if lp == port]
            theirs = [v for (_, rp), v in q.items() if rp == port]
            if not mine or not theirs or mine[0][0] != 0 or theirs[0][1] != 0:
                busy.append((port, mine, theirs))
        if not busy:
            return
        if time.monotonic() > end:
            raise AssertionError("the daemon did not read everything: %r" % busy)
        time.sleep(0.02)


class SessionQuota(DaemonTestCase):
    options = [("global", "max_transactions", "3")]

    def test_the_transaction_after_the_last_is_421_and_the_session_ends(self):
        t = self.new_test()
        to = t["addresses"]["v4"]
        with self.d.smtp("open") as c:
            c.ehlo()
            for _ in range(3):
                self.assertReply(c.send_mail("a@example.org", [to], make_message(to)),
                                 250, "2.0.0")
            r = c.cmd("MAIL FROM:<a@example.org>")
            self.assertReply(r, 421, "4.7.0")
            c.expect_eof()
        conn = self.d.connection(c)
        self.assertEqual(conn["end_reason"], "quota")
        self.assertEqual(conn["transactions"], 3)
        self.assertEqual(conn["refusals"], 1)
        rows = refusals(self.d, "quota_session")
        self.assertEqual([(r["connection_id"], r["command"], r["reply"]) for r in rows],
                         [(conn["id"], "mail", "421 4.7.0")])
        # a new session may send again
        with self.d.smtp("open") as c2:
            c2.ehlo()
            self.assertReply(c2.send_mail("a@example.org", [to], make_message(to)),
                             250, "2.0.0")
            c2.quit()


class ClientQuota(DaemonTestCase):
    options = [("global", "max_client_transactions", "4")]

    def test_an_address_over_its_hour_is_refused_others_are_not(self):
        t = self.new_test()
        to = t["addresses"]["v4"]
        for n in (2, 2):                # two sessions, the quota spent
            with self.d.smtp("open", source="127.0.0.5") as c:
                c.ehlo()
                for _ in range(n):
                    self.assertReply(c.send_mail("a@example.org", [to], make_message(to)),
                                     250, "2.0.0")
                c.quit()
        with self.d.smtp("open", source="127.0.0.5") as c:
            c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<a@example.org>"), 421, "4.7.0")
            c.expect_eof()
        conn = self.d.connection(c)
        self.assertEqual(conn["end_reason"], "quota")
        rows = refusals(self.d, "quota_client")
        self.assertEqual([(r["connection_id"], r["command"], r["reply"]) for r in rows],
                         [(conn["id"], "mail", "421 4.7.0")])
        # another client is not held to that address's quota
        with self.d.smtp("open", source="127.0.0.6") as c:
            c.ehlo()
            self.assertReply(c.send_mail("a@example.org", [to], make_message(to)),
                             250, "2.0.0")
            c.quit()


class TestQuota(DaemonTestCase):
    options = [("global", "max_test_transactions", "2")]

    def deliver(self, to):
        with self.d.smtp("open") as c:
            c.ehlo()
            r = c.send_mail("a@example.org", [to], make_message(to))
            c.quit()
        return r

    def test_a_full_test_refuses_its_recipients_452_also_after_a_restart(self):
        t, other = self.new_test(), self.new_test()
        to = t["addresses"]["v4"]
        # one message to two of its addresses counts once
        with self.d.smtp("open") as c:
            c.ehlo()
            self.assertReply(c.send_mail("a@example.org", [to, t["addresses"]["v6"]],
                                         make_message(to)), 250, "2.0.0")
            c.quit()
        self.assertReply(self.deliver(to), 250, "2.0.0")
        for attempt in ("in this run", "after a restart"):
            with self.subTest(attempt):
                with self.d.smtp("open") as c:
                    c.ehlo()
                    self.assertReply(c.cmd("MAIL FROM:<a@example.org>"), 250)
                    self.assertReply(c.cmd("RCPT TO:<%s>" % to), 452, "4.5.3")
                    c.quit()
                row = self.d.wait_for(
                    "SELECT * FROM refusals WHERE reason = 'quota_test'"
                    " AND connection_id = ?", (self.d.connection(c)["id"],))[0]
                self.assertEqual((row["command"], row["reply"], row["address"],
                                  row["test_id"]), ("rcpt", "452 4.5.3", to, t["id"]))
                # the count of another test is its own
                self.assertReply(self.deliver(other["addresses"]["v4"]), 250, "2.0.0")
                self.d.stop()
                self.d.start()
        self.assertEqual(self.d.query_one(
            "SELECT count(DISTINCT transaction_id) AS n FROM recipients"
            " WHERE test_id = ?", (t["id"],))["n"], 2)


# max_message_size 100k, max_header_size 4k: a session that holds a
# 90 KB message holds 4096 + 102401 bytes of buffers (smtp.c's first
# sizes, doubled, capped at the limits plus one).
HELD = 4096 + 100 * 1024 + 1
MEMORY_OPTIONS = [("global", "max_message_size", "100k"),
                  ("global", "max_header_size", "4k")]


def big_message(to, kib=90):
    body = (b"x" * 78 + b"\r\n") * (kib * 1024 // 80)
    return make_message(to, body=body)


class MemoryCase(DaemonTestCase):

    def begin(self, to, source=None):
        """A session in DATA that has sent a 90 KB message but its end."""
        c = self.d.smtp("open", source=source)
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<a@example.org>"), 250)
        self.assertReply(c.cmd("RCPT TO:<%s>" % to), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(dot_stuff(big_message(to))[:-3])     # without ".\r\n"
        wait_read(c)
        return c


class MemoryAtData(MemoryCase):
    # two held messages leave less than a new message's first 20 KiB
    options = MEMORY_OPTIONS + [("global", "max_message_memory", str(2 * HELD + 12000))]

    def test_data_is_452_while_the_sessions_hold_the_memory(self):
        t = self.new_test()
        to = t["addresses"]["v4"]
        a, b = self.begin(to), self.begin(to)
        with self.d.smtp("open") as c:
            c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<a@example.org>"), 250)
            self.assertReply(c.cmd("RCPT TO:<%s>" % to), 250)
            self.assertReply(c.cmd("DATA"), 452, "4.3.1")
            # A ends its message: stored, and the memory is free again
            a.send(b".\r\n")
            self.assertReply(a.read_reply(), 250, "2.0.0")
            self.assertReply(c.cmd("DATA"), 354)
            c.send(dot_stuff(make_message(to)))
            self.assertReply(c.read_reply(), 250, "2.0.0")
            c.quit()
        b.send(b".\r\n")
        self.assertReply(b.read_reply(), 250, "2.0.0")
        for s in (a, b):
            s.quit()
            s.close()
        rows = refusals(self.d, "memory")
        self.assertEqual([(r["command"], r["reply"]) for r in rows], [("data", "452 4.3.1")])


class MemoryWhileReading(MemoryCase):
    # room for one more message's first buffers, not for the message
    options = MEMORY_OPTIONS + [("global", "max_message_memory", str(2 * HELD + 32000))]

    def test_a_message_that_would_go_beyond_is_read_to_its_end_then_452(self):
        t = self.new_test()
        to = t["addresses"]["v4"]
        a, b = self.begin(to), self.begin(to)
        with self.d.smtp("open") as c:
            c.ehlo()
            r = c.send_mail("a@example.org", [to], big_message(to))
            self.assertReply(r, 452, "4.3.1")
            # the session goes on: a small message fits in what is left
            r = c.send_mail("a@example.org", [to], make_message(to))
            self.assertReply(r, 250, "2.0.0")
            c.quit()
        for s in (a, b):
            s.send(b".\r\n")
            self.assertReply(s.read_reply(), 250, "2.0.0")
            s.quit()
            s.close()
        rows = refusals(self.d, "memory")
        self.assertEqual([(r["command"], r["reply"]) for r in rows], [("data", "452 4.3.1")])


class MemoryParallel(DaemonTestCase):
    """Many large messages at once: some are deferred, none is lost."""
    SESSIONS = 16
    options = MEMORY_OPTIONS + [("global", "max_message_memory", str(6 * HELD))]

    def test_parallel_large_messages_all_stored_or_452(self):
        t = self.new_test()
        to = t["addresses"]["v4"]
        msg = dot_stuff(big_message(to))
        replies, errors = [], []
        start = threading.Barrier(self.SESSIONS)

        def one(i):
            try:
                with self.d.smtp("open", timeout=30) as c:
                    c.ehlo()
                    self.assertReply(c.cmd("MAIL FROM:<p%d@example.org>" % i), 250)
                    self.assertReply(c.cmd("RCPT TO:<%s>" % to), 250)
                    r = c.cmd("DATA")
                    if r.code == 354:
                        start.wait(30)
                        # slowly, so that the sessions hold their buffers at once
                        half = len(msg) // 2
                        c.send(msg[:half])
                        time.sleep(0.2)
                        c.send(msg[half:])
                        r = c.read_reply()
                    else:
                        start.wait(30)
                    replies.append((i, r.code, r.status))
                    c.quit()
            except (AssertionError, OSError, threading.BrokenBarrierError) as e:
                errors.append("%d: %r" % (i, e))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(self.SESSIONS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
        self.assertEqual(errors, [])
        codes = sorted(set((code, status) for _, code, status in replies))
        self.assertEqual(len(replies), self.SESSIONS)
        self.assertTrue(set(codes) <= {(250, "2.0.0"), (452, "4.3.1")}, codes)
        ok = sum(1 for _, code, _ in replies if code == 250)
        self.assertGreater(ok, 0)
        self.assertLess(ok, self.SESSIONS, "the cap deferred none: %r" % replies)
        stored = self.d.query_one(
            "SELECT count(*) AS n FROM transactions WHERE mail_from LIKE 'p%@example.org'")["n"]
        self.assertEqual(stored, ok, "every 250 is stored, nothing else")
        # the refusals rows reach the store after the replies
        self.d.wait_for("SELECT count(*) AS n FROM refusals WHERE reason = 'memory'"
                        " HAVING count(*) >= ?", (self.SESSIONS - ok,))
        self.assertEqual(len(refusals(self.d, "memory")), self.SESSIONS - ok)
