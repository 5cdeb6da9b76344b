"""Greylisting on the grey host (CHALLENGES.md, mailscope.conf(5)
greylist_delay, greylist_expire): the first try of each (MAIL FROM, RCPT)
gets 451 4.7.1, so does a retry before greylist_delay; a retry after it is
accepted from any address (the client address is not part of the key), and
from then on at once.  Every attempt is recorded (greylist_attempts,
v_greylist).  Entries survive a restart; an entry unused for
greylist_expire is forgotten.  No other host greylists.

The delays are configured time, not events: the tests sleep until a
configured time has passed since the reply that started it (the server saw
the attempt no later than its reply arrived)."""

import random
import time
import unittest

import harness
from harness import DaemonTestCase, make_message, mx_name

DELAY = 1.0                     # greylist_delay of the grey host, seconds
MARGIN = 0.2                    # past a configured time, client side
# client clock vs the daemon's, and our sleeps' overshoot
TOLERANCE = 0.1
GREY_CHALLENGE = "grey-v4"
REQUIRES_TLS = {"tls", "tls-bad", "tls13", "tls12", "strong", "medium"}


def sleep_until(t):
    """The configured time under test passes (a delay, not an event)."""
    time.sleep(max(0.0, t - time.monotonic()))


def sender(tag):
    return "%s-%x@example.org" % (tag, random.getrandbits(40))


class Attempt:
    """One RCPT on its own connection: the reply, when the RCPT was sent
    and when its reply arrived (time.monotonic()), the client's address
    and port."""

    def __init__(self, reply, sent, replied, endpoint):
        self.reply, self.sent, self.replied = reply, sent, replied
        self.endpoint = endpoint

    def __repr__(self):
        return "<attempt %s: %s>" % (self.endpoint, self.reply)


class GreyCase(DaemonTestCase):
    options = [("host grey", "greylist_delay", "%gs" % DELAY)]

    def try_rcpt(self, mail_from, to, host="grey", family=4, deliver=False):
        """EHLO, MAIL, one RCPT (and with DELIVER, when accepted, DATA);
        QUIT.  Returns an Attempt."""
        with self.d.smtp(host, family=family) as c:
            c.ehlo()
            if host in REQUIRES_TLS:
                ctx = self.d.tls_context(verify=False, ciphers="ALL:@SECLEVEL=0")
                c.starttls(ctx, mx_name(harness.HOST_CHALLENGE[host]))
                c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<%s>" % mail_from), 250, "2.1.0")
            sent = time.monotonic()
            r = c.cmd("RCPT TO:<%s>" % to)
            replied = time.monotonic()
            if deliver and r.code == 250:
                self.assertReply(c.cmd("DATA"), 354)
                c.send(harness.dot_stuff(make_message(to, sender=mail_from)))
                self.assertReply(c.read_reply(), 250, "2.0.0", "end of DATA")
            c.quit()
        return Attempt(r, sent, replied, c.endpoint)

    def deferred(self, mail_from, to, why, **kw):
        a = self.try_rcpt(mail_from, to, **kw)
        self.assertReply(a.reply, 451, "4.7.1", why)
        return a

    def accepted(self, mail_from, to, why, **kw):
        a = self.try_rcpt(mail_from, to, **kw)
        self.assertReply(a.reply, 250, "2.1.5", why)
        return a

    def attempts(self, mail_from, to, n):
        """The greylist_attempts rows of the pair (oldest first), once
        there are N of them: exactly N."""
        args = (mail_from.lower(), to.lower())
        where = "FROM greylist_attempts WHERE mail_from = ? AND rcpt = ?"
        self.d.wait_for("SELECT count(*) AS n %s HAVING count(*) >= ?" % where, args + (n,),
                        what="%d greylist attempts of %s -> %s" % (n, mail_from, to))
        rows = self.d.query("SELECT * %s ORDER BY time, id" % where, args)
        self.assertEqual(len(rows), n, "greylist_attempts of %s -> %s: %r"
                         % (mail_from, to, rows))
        return rows

    def entry(self, mail_from, to, n):
        """(greylist row, v_greylist row) of the pair, once N attempts are
        stored (the entry is written with its attempt)."""
        self.attempts(mail_from, to, n)
        args = (mail_from.lower(), to.lower())
        g = self.d.query_one("SELECT * FROM greylist WHERE mail_from = ? AND rcpt = ?", args)
        v = self.d.query_one("SELECT * FROM v_greylist WHERE mail_from = ? AND rcpt = ?", args)
        return g, v

    def assertGap(self, recorded, first, then, what="retry_delay"):
        """RECORDED (the daemon's seconds between two attempts) is the gap
        the client measured between attempts FIRST and THEN."""
        lo = then.sent - first.replied - TOLERANCE
        hi = then.replied - first.sent + TOLERANCE * harness.SLOW
        self.assertTrue(lo <= recorded <= hi, "%s %.3f s, the client measured %.3f..%.3f s"
                        % (what, recorded, lo + TOLERANCE, hi - TOLERANCE * harness.SLOW))

    def conn_ids(self, *attempts):
        return [self.d.connection(a)["id"] for a in attempts]


class Greylisting(GreyCase):

    def test_first_try_and_early_retry_deferred_then_accepted_after_delay(self):
        t = self.new_test()
        to = self.d.address(t, challenge=GREY_CHALLENGE)
        frm = sender("Grey")
        first = self.deferred(frm, to, "first try")
        # the key is case-insensitive: the same pair, still too early
        early = self.deferred(frm.upper(), to, "retry before greylist_delay")
        self.assertLess(early.replied - first.sent, DELAY, "the early retry was not early")
        sleep_until(first.replied + DELAY + MARGIN)
        retry = self.accepted(frm, to, "retry after greylist_delay", deliver=True)
        again = self.accepted(frm, to, "known pair, at once")

        rows = self.attempts(frm, to, 4)
        self.assertEqual([(r["result"], r["client_addr"], r["test_id"]) for r in rows],
                         [("deferred", "127.0.0.1", t["id"])] * 2 +
                         [("accepted", "127.0.0.1", t["id"])] * 2)
        self.assertEqual([r["connection_id"] for r in rows],
                         self.conn_ids(first, early, retry, again))
        g, v = self.entry(frm, to, 4)
        self.assertEqual({k: v[k] for k in ("test_id", "mail_from", "rcpt", "attempts",
                                            "addresses", "first_addr", "accepted_addr")},
                         {"test_id": t["id"], "mail_from": frm.lower(), "rcpt": to.lower(),
                          "attempts": 4, "addresses": 1, "first_addr": "127.0.0.1",
                          "accepted_addr": "127.0.0.1"})
        # first_seen and passed are the times of the first and the accepted attempt
        self.assertEqual((g["first_seen"], g["passed"], g["last_seen"]),
                         (rows[0]["time"], rows[2]["time"], rows[3]["time"]))
        self.assertAlmostEqual(v["retry_delay"], g["passed"] - g["first_seen"], places=6)
        self.assertGreaterEqual(v["retry_delay"], DELAY)
        self.assertGap(v["retry_delay"], first, retry)
        self.assertLess(rows[1]["time"] - rows[0]["time"], DELAY)
        dv = self.d.query("SELECT challenge, family, mail_from FROM v_deliveries "
                          "WHERE test_id = ?", (t["id"],))
        self.assertEqual(dv, [{"challenge": GREY_CHALLENGE, "family": 4, "mail_from": frm}])

    def test_retry_after_delay_accepted_from_another_address(self):
        t = self.new_test()
        to = self.d.address(t, challenge=GREY_CHALLENGE)
        with self.d.smtp("grey") as c:
            c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<grey@example.org>"), 250, "2.1.0")
            self.assertReply(c.cmd("RCPT TO:<%s>" % to), 451, "4.7.1")
            first = time.monotonic()
            self.assertReply(c.cmd("RCPT TO:<%s>" % to), 451, "4.7.1", "retry before the delay")
            c.quit()
        # the delay is configured time, not an event to wait for
        sleep_until(first + DELAY + MARGIN)
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
        self.d.connection(c)
        rows = self.d.query("SELECT * FROM v_greylist WHERE test_id = ?", (t["id"],))
        self.assertEqual(len(rows), 1, rows)
        g = rows[0]
        self.assertEqual((g["attempts"], g["addresses"], g["first_addr"], g["accepted_addr"]),
                         (4, 2, "127.0.0.1", "::1"), g)
        self.assertGreaterEqual(g["retry_delay"], DELAY)
        att = self.attempts("grey@example.org", to, 4)
        self.assertEqual([(r["client_addr"], r["result"]) for r in att],
                         [("127.0.0.1", "deferred"), ("127.0.0.1", "deferred"),
                          ("::1", "accepted"), ("127.0.0.1", "accepted")])
        deliveries = self.d.query("SELECT challenge, family FROM v_deliveries WHERE test_id = ?",
                                  (t["id"],))
        self.assertEqual(deliveries, [{"challenge": GREY_CHALLENGE, "family": 6}])

    def test_other_hosts_are_not_greylisted(self):
        """The pair that the grey host defers is accepted at once by every
        other host, and leaves no greylisting trace."""
        t = self.new_test()
        to = self.d.address(t, challenge=GREY_CHALLENGE)
        frm = sender("nogrey")
        for host in harness.HOSTS:
            if host == "grey":
                continue
            with self.subTest(host=host):
                self.accepted(frm, to, "on host %s" % host, host=host, deliver=True)
        hosts = self.d.query("SELECT c.host FROM v_deliveries v JOIN connections c "
                             "ON c.id = v.connection_id WHERE v.test_id = ? ORDER BY c.id",
                             (t["id"],))
        self.assertEqual([h["host"] for h in hosts], [h for h in harness.HOSTS if h != "grey"])
        self.assertEqual(self.d.query("SELECT * FROM greylist_attempts WHERE test_id = ?",
                                      (t["id"],)), [])
        self.assertEqual(self.d.query("SELECT * FROM greylist WHERE test_id = ?",
                                      (t["id"],)), [])
        # and the grey host still sees a first try
        self.deferred(frm, to, "first try on the grey host")


class GreylistRestart(GreyCase):
    """Entries are in SQLite: a restarted daemon (same config and
    database) still knows them, passed or pending."""

    def test_entries_survive_a_restart(self):
        t = self.new_test()
        to = self.d.address(t, challenge=GREY_CHALLENGE)
        passed, pending = sender("passed"), sender("pending")
        p1 = self.deferred(passed, to, "first try")
        sleep_until(p1.replied + DELAY + MARGIN)
        p2 = self.accepted(passed, to, "retry after the delay")
        q1 = self.deferred(pending, to, "first try")
        before = {k: self.entry(k, to, n)[0] for k, n in ((passed, 2), (pending, 1))}

        conf, db = self.d.conf, self.d.db_path
        self.d.stop()
        self.d.start(attempts=1)        # the same directory, ports and database
        self.assertEqual((self.d.conf, self.d.db_path), (conf, db))

        # the passed pair: accepted at once, the attempts keep counting
        p3 = self.accepted(passed, to, "passed pair after the restart")
        rows = self.attempts(passed, to, 3)
        self.assertEqual([r["result"] for r in rows], ["deferred", "accepted", "accepted"])
        g, v = self.entry(passed, to, 3)
        self.assertEqual((g["attempts"], g["first_seen"], g["passed"]),
                         (3, before[passed]["first_seen"], before[passed]["passed"]))
        self.assertEqual(g["last_seen"], rows[2]["time"])
        self.assertGap(v["retry_delay"], p1, p2)

        # the pending pair: its first try is remembered, so a retry once
        # the delay has passed since then is accepted (a new entry: 451)
        sleep_until(q1.replied + DELAY + MARGIN)
        q2 = self.accepted(pending, to, "pending pair, retried after the delay")
        g, v = self.entry(pending, to, 2)
        self.assertEqual((g["attempts"], g["first_seen"]), (2, before[pending]["first_seen"]))
        self.assertGap(v["retry_delay"], q1, q2)
        rows = self.attempts(passed, to, 3) + self.attempts(pending, to, 2)
        self.assertEqual([r["connection_id"] for r in rows], self.conn_ids(p1, p2, p3, q1, q2))


class GreylistExpiry(GreyCase):
    """greylist_expire: an entry unused for that long is forgotten and the
    next attempt is a first try again; an entry in use stays."""

    EXPIRE = 1.0
    SHORT_DELAY = 0.2
    options = [("global", "greylist_expire", "%gs" % EXPIRE),
               ("host grey", "greylist_delay", "%dms" % (SHORT_DELAY * 1000))]

    def first_try(self, tag):
        """A new test's grey address and a new sender (TAG); the first
        try, deferred.  Returns (sender, address, attempt)."""
        t = self.new_test()
        to = self.d.address(t, challenge=GREY_CHALLENGE)
        frm = sender(tag)
        return frm, to, self.deferred(frm, to, "first try")

    def assertStartedOver(self, frm, to, n):
        """After N attempts the entry is a first try again: one attempt,
        first seen at the last attempt, not passed.  Returns the attempt
        rows and the v_greylist row."""
        rows = self.attempts(frm, to, n)
        g, v = self.entry(frm, to, n)
        self.assertEqual((g["attempts"], g["first_seen"], g["passed"]),
                         (1, rows[-1]["time"], None))
        return rows, v

    def test_expired_pending_entry_starts_over(self):
        frm, to, first = self.first_try("expire-pending")
        # past the delay, but also past the expiry: a first try again
        sleep_until(first.replied + self.EXPIRE + MARGIN)
        again = self.deferred(frm, to, "after expiry: a first try again")
        rows, v = self.assertStartedOver(frm, to, 2)
        self.assertEqual((v["attempts"], v["retry_delay"], v["accepted_addr"]), (1, None, None))
        # and the delay counts from the new first try
        sleep_until(again.replied + self.SHORT_DELAY + MARGIN)
        retry = self.accepted(frm, to, "retry after the delay from the new first try")
        g, v = self.entry(frm, to, 3)
        self.assertEqual((g["attempts"], g["first_seen"]), (2, rows[1]["time"]))
        self.assertGap(v["retry_delay"], again, retry)
        self.assertEqual([r["result"] for r in self.attempts(frm, to, 3)],
                         ["deferred", "deferred", "accepted"])

    def test_expired_passed_entry_starts_over(self):
        frm, to, first = self.first_try("expire-passed")
        sleep_until(first.replied + self.SHORT_DELAY + MARGIN)
        passed = self.accepted(frm, to, "retry after the delay")
        sleep_until(passed.replied + self.EXPIRE + MARGIN)
        self.deferred(frm, to, "passed, then unused past greylist_expire")
        rows, v = self.assertStartedOver(frm, to, 3)
        self.assertEqual([r["result"] for r in rows], ["deferred", "accepted", "deferred"])
        self.assertEqual(v["retry_delay"], None)

    def test_entry_in_use_does_not_expire(self):
        """Expiry counts from the last use, not from the first try."""
        frm, to, first = self.first_try("in-use")
        sleep_until(first.replied + self.SHORT_DELAY + MARGIN)
        prev = self.accepted(frm, to, "retry after the delay")
        step = self.EXPIRE / 2
        for i in range(3):      # 1.5 x greylist_expire after passing, never idle that long
            sleep_until(prev.replied + step)
            cur = self.accepted(frm, to, "use %d, %.1f s after the last" % (i + 1, step))
            self.assertLess(cur.replied - prev.sent, self.EXPIRE,
                            "too slow to test: the entry was idle for greylist_expire")
            prev = cur
        g, _ = self.entry(frm, to, 5)
        rows = self.attempts(frm, to, 5)
        self.assertEqual((g["attempts"], g["first_seen"], g["passed"]),
                         (5, rows[0]["time"], rows[1]["time"]))
        self.assertGreater(rows[4]["time"] - rows[1]["time"], self.EXPIRE)


if __name__ == "__main__":
    unittest.main()


class GreylistFull(GreyCase):
    """greylist_max: a full table makes room from the passed entry unused
    longest; with none to forget it defers (451), never accepts a pair it
    has not greylisted (issue 15)."""

    SHORT_DELAY = 0.2
    options = [("global", "greylist_max", "2"),
               ("host grey", "greylist_delay", "%dms" % (SHORT_DELAY * 1000))]

    def test_full_table_defers_then_forgets_a_passed_entry(self):
        t = self.new_test()
        to = self.d.address(t, challenge=GREY_CHALLENGE)
        a, b, c = sender("full-a"), sender("full-b"), sender("full-c")
        first = self.deferred(a, to, "first try of a")
        self.deferred(b, to, "first try of b")
        # the table is full and nothing passed: c is deferred, not waved through
        self.deferred(c, to, "full, nothing to forget")
        self.assertIn("greylist: full (2 entries), none passed: deferring", self.d.log())
        # the deferral is evidence with its reason, not only a log line
        row = self.d.wait_for(
            "SELECT command, reason, reply, address, test_id FROM refusals"
            " WHERE reason = 'greylist_full'", what="the greylist_full refusal")[0]
        self.assertEqual(row, {"command": "rcpt", "reason": "greylist_full",
                               "reply": "451 4.7.1", "address": to, "test_id": t["id"]})
        sleep_until(first.replied + self.SHORT_DELAY + MARGIN)
        self.accepted(a, to, "a passes")
        # now a, passed, makes room for c, which starts its greylisting
        self.deferred(c, to, "c, first try in a table with room")
        self.assertIn("forgetting the passed entry unused longest", self.d.log())
        self.deferred(a, to, "a was forgotten: a first try again")
