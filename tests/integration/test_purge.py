"""mailscope purge (docs/operator-data.md, "Purge"): the tests created
more than DAYS days ago and every row attributed to them go, in short
write transactions beside the running daemon, while mail to young tests
goes on being acknowledged and stored; --dry-run changes nothing; the
space goes back to the file (auto_vacuum=incremental) or to SQLite's
free list.  Tests are made old by setting tests.created (and, for a
connection of no test, connections.started) in the database: there is
no test clock.  One daemon per test."""

import os
import re
import subprocess
import threading
import time
import unittest

import harness
from harness import Daemon, body_sha256, make_message

DAY = 86400
AGE = 40 * DAY          # made old: 40 days
DAYS = "30"             # purge --older-than
OLD_TESTS = 4
OLD_MESSAGES = 120      # one connection each, over the old tests
OLD_DNS = 600           # more than one batch (500)
LOAD_SESSIONS = 8

# every table that names a test, and its column
TEST_COLUMNS = [("tests", "id"), ("connections", "test_id"),
                ("recipients", "test_id"), ("greylist", "test_id"),
                ("greylist_attempts", "test_id"), ("dns_queries", "test_id"),
                ("refusals", "test_id"),
                ("connection_attribution", "test_id"),
                ("attribution_evidence", "test_id"),
                ("tlsrpt_policies", "test_id")]


class Load:
    """LOAD_SESSIONS sessions delivering to the plain host's address TO,
    message after message, until stop().  replies: {body_sha256: code,
    None while the final dot waits for its reply}."""

    def __init__(self, d, to, sessions=LOAD_SESSIONS):
        self.d, self.to = d, to
        self.replies = {}
        self.errors = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.session, args=(i,),
                                         daemon=True) for i in range(sessions)]
        for t in self.threads:
            t.start()

    def session(self, n):
        try:
            c = self.d.smtp("plain", timeout=30)
            c.ehlo()
            i = 0
            while not self.stopping.is_set():
                msg = make_message(self.to, subject="load %d.%d" % (n, i),
                                   body=b"load %d message %d\r\n" % (n, i))
                sha = body_sha256(msg)
                with self.lock:
                    self.replies[sha] = None
                r = c.send_mail("load%d@example.org" % n, [self.to], msg)
                with self.lock:
                    self.replies[sha] = r.code
                if r.code != 250:
                    return
                i += 1
                # a new session now and then: connection rows too
                if i % 20 == 0:
                    c.quit()
                    c = self.d.smtp("plain", timeout=30)
                    c.ehlo()
            c.quit()
        except (OSError, AssertionError, EOFError) as e:
            with self.lock:
                self.errors.append(repr(e))

    def acked(self):
        with self.lock:
            return [s for s, code in self.replies.items() if code == 250]

    def wait_acked(self, n, timeout=30):
        end = time.monotonic() + harness.deadline(timeout)
        while len(self.acked()) < n:
            if time.monotonic() > end:
                raise AssertionError("only %d of %d messages acknowledged\n%s"
                                     % (len(self.acked()), n, self.d.log_tail()))
            time.sleep(0.01)

    def stop(self, timeout=60):
        self.stopping.set()
        for t in self.threads:
            t.join(harness.deadline(timeout))
            if t.is_alive():
                raise AssertionError("a session is still running")


def daemon(name):
    return Daemon(name, options=[
        ("global", "max_connections", "200"),
        ("global", "max_per_ip", "200"),
        ("global", "max_connection_rate", "1000000"),
        ("global", "max_transactions", "100000"),
        ("global", "max_client_transactions", "100000"),
        ("global", "max_test_transactions", "100000")])


def parse_purge(out):
    """{table: count} and the longest write lock (ms) of purge's output."""
    counts = {}
    for line in out.splitlines():
        m = re.match(r"^([a-z_]+)\s+(\d+)$", line)
        if m:
            counts[m.group(1)] = int(m.group(2))
    m = re.search(r"write lock: (\d+) transactions, longest ([0-9.]+) ms", out)
    assert m, out
    return counts, int(m.group(1)), float(m.group(2))


def deliver(d, test, n, tag, host="plain", pad=b""):
    """N messages to TEST's address of HOST, one connection each; their
    body hashes."""
    shas = []
    to = d.address(test, host)
    for i in range(n):
        msg = make_message(to, subject="%s %d" % (tag, i),
                           body=b"%s message %d\r\n" % (tag.encode(), i),
                           extra_headers=pad)
        c = d.smtp(host)
        c.ehlo()
        r = c.send_mail("sender@example.org", [to], msg)
        assert r.code == 250, r
        c.quit()
        shas.append(body_sha256(msg))
    return shas


def greylisted(d, test):
    """One RCPT of TEST on the grey host, deferred: greylist rows."""
    c = d.smtp("grey")
    c.ehlo()
    assert c.cmd("MAIL FROM:<grey@example.org>").code == 250
    r = c.cmd("RCPT TO:<%s>" % d.address(test, "grey"))
    assert r.code // 100 == 4, r
    c.quit()


def wait_analyses(d, n):
    """Until N analyses are stored, every one finished."""
    d.wait_for("SELECT 1 FROM (SELECT count(*) AS n, count(finished) AS f"
               " FROM analyses) WHERE n = ? AND f = n", (n,), timeout=30,
               what="%d analyses finished" % n)


def make_old(d, ids, no_test_conns=()):
    """TESTS created AGE ago; the connections of no test NO_TEST_CONNS
    started AGE ago."""
    con = d.db(readonly=False)
    try:
        with con:
            con.executemany("UPDATE tests SET created = created - ?"
                            " WHERE id = ?", [(AGE, i) for i in ids])
            con.executemany("UPDATE connections SET started = started - ?"
                            " WHERE id = ?", [(AGE, c) for c in no_test_conns])
    finally:
        con.close()


def add_dns_and_fetches(d, old_id, young_id):
    """dns_queries and policy_fetches rows as the daemon writes them:
    OLD_DNS of the old test, 10 of the young one, 5 of no test aged
    and 5 recent; 3 fetches aged, 2 recent."""
    now = time.time()
    q = ("INSERT INTO dns_queries (time, local_addr, client_addr,"
         " client_port, family, transport, qname, qtype, qclass, test_id)"
         " VALUES (?, '127.0.0.1:53', '127.0.0.9', 5353, 4, 'udp', 'x', 1, 1, ?)")
    f = ("INSERT INTO policy_fetches (time, local_addr, client_addr,"
         " client_port, family) VALUES (?, '127.0.0.1:443', '127.0.0.9', 4433, 4)")
    con = d.db(readonly=False)
    try:
        with con:
            con.executemany(q, [(now, old_id)] * OLD_DNS)
            con.executemany(q, [(now - AGE, young_id)] * 10)
            con.executemany(q, [(now - AGE, None)] * 5)
            con.executemany(q, [(now, None)] * 5)
            con.executemany(f, [(now - AGE,)] * 3)
            con.executemany(f, [(now,)] * 2)
    finally:
        con.close()


def empty_connection(d):
    """A connection of no test (EHLO, QUIT): its id once it ended."""
    c = d.smtp("plain")
    c.ehlo()
    c.quit()
    return d.connection(c)["id"]


def rows_of(d, ids):
    """{table: rows naming one of IDS}."""
    marks = ",".join("?" * len(ids))
    return {t: d.query_one("SELECT count(*) AS n FROM %s WHERE %s IN (%s)"
                           % (t, col, marks), ids)["n"]
            for t, col in TEST_COLUMNS}


def table_digest(d):
    """Every row of every table, in order: what --dry-run must not change."""
    out = {}
    con = d.db()
    try:
        names = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        for n in names:
            out[n] = [tuple(r) for r in con.execute(
                "SELECT * FROM \"%s\" ORDER BY rowid" % n)]
    finally:
        con.close()
    return out


def check_db(tc, d):
    tc.assertEqual(d.query_one("PRAGMA integrity_check")["integrity_check"], "ok")
    tc.assertEqual(d.query("PRAGMA foreign_key_check"), [])


class Purge(unittest.TestCase):

    def setUp(self):
        self.d = daemon(self._testMethodName)
        self.addCleanup(self.d.close)
        self.d.start()

    def old_and_young(self):
        """OLD_TESTS tests with OLD_MESSAGES deliveries, a greylisted RCPT
        and DNS queries, made old with a connection of no test; a young
        test with two deliveries.  (old ids, young test, expected counts)."""
        d = self.d
        old = [d.new_test() for _ in range(OLD_TESTS)]
        young = d.new_test()
        for i in range(OLD_MESSAGES):
            deliver(d, old[i % OLD_TESTS], 1, "old%d" % i)
        greylisted(d, old[0])
        self.young_shas = deliver(d, young, 2, "young")
        empty = empty_connection(d)
        ids = [t["id"] for t in old]
        add_dns_and_fetches(d, ids[0], young["id"])
        wait_analyses(d, OLD_MESSAGES + 2)
        d.wait_for("SELECT 1 FROM greylist WHERE test_id = ?", (ids[0],))
        make_old(d, ids, [empty])
        expect = {
            "tests": OLD_TESTS,
            "recipients": OLD_MESSAGES,
            "transactions": OLD_MESSAGES,
            "analyses": OLD_MESSAGES,
            # each delivery's connection, the greylisted one, the empty one
            "connections": OLD_MESSAGES + 2,
            "greylist": 1,
            "greylist_attempts": 1,
            "dns_queries": OLD_DNS + 5,
            "policy_fetches": 3,
        }
        return ids, young, expect

    def purge(self, *extra):
        cp = self.d.tool("purge", "--older-than", DAYS, *extra)
        return cp.stdout

    def test_purge_under_delivery_load_keeps_young_and_deletes_old(self):
        d = self.d
        ids, young, expect = self.old_and_young()
        young_before = rows_of(d, [young["id"]])
        self.assertEqual(rows_of(d, ids)["tests"], OLD_TESTS)

        target = d.new_test()
        load = Load(d, d.address(target, "plain"))
        load.wait_acked(20)
        acked_before = len(load.acked())
        out = self.purge()
        acked_during = len(load.acked()) - acked_before
        load.wait_acked(len(load.acked()) + 20)
        load.stop()
        counts, ntx, longest = parse_purge(out)
        print("purge under load: %d write transactions, longest %.3f ms, "
              "%d messages acknowledged meanwhile" % (ntx, longest, acked_during))

        # every message to a young test answered 250 and stored
        self.assertEqual(load.errors, [])
        codes = list(load.replies.values())
        self.assertEqual([c for c in codes if c != 250], [],
                         "replies other than 250 during purge:\n%s" % d.log_tail())
        stored = {r["body_sha256"] for r in d.query(
            "SELECT t.body_sha256 FROM transactions t JOIN recipients r"
            " ON r.transaction_id = t.id WHERE r.test_id = ?", (target["id"],))}
        self.assertEqual(set(load.acked()) - stored, set())
        self.assertGreater(acked_during, 0, "purge did not overlap the load")
        stored_young = {r["body_sha256"] for r in d.query(
            "SELECT t.body_sha256 FROM transactions t JOIN recipients r"
            " ON r.transaction_id = t.id WHERE r.test_id = ?", (young["id"],))}
        self.assertEqual(stored_young, set(self.young_shas))
        self.assertEqual(rows_of(d, [young["id"]]), young_before)
        # the young test's queries, even those older than the cutoff
        self.assertEqual(d.query_one("SELECT count(*) AS n FROM dns_queries"
                                     " WHERE test_id = ?", (young["id"],))["n"], 10)
        self.assertEqual(d.query_one("SELECT count(*) AS n FROM dns_queries"
                                     " WHERE test_id IS NULL")["n"], 5)
        self.assertEqual(d.query_one("SELECT count(*) AS n FROM policy_fetches")["n"], 2)

        # every row of the old tests gone, and counted
        self.assertEqual(rows_of(d, ids), {t: 0 for t, _ in TEST_COLUMNS})
        for table, n in expect.items():
            self.assertEqual(counts[table], n, "%s\n%s" % (table, out))
        self.assertEqual(d.query("SELECT id FROM connections WHERE started < ?",
                                 (time.time() - AGE + DAY,)), [])
        check_db(self, d)
        # 451 4.3.0: the store failed (451 4.7.1 is the greylisted RCPT)
        self.assertIsNone(re.search(r"\b451 4\.3", d.log()), "451 4.3 in the log")
        self.assertLess(longest, 100.0, out)
        # a second purge finds nothing
        counts2, _, _ = parse_purge(self.purge())
        self.assertEqual(counts2["total"], 0)

    def test_dry_run_changes_nothing_and_counts_what_purge_deletes(self):
        d = self.d
        ids, young, expect = self.old_and_young()
        before = table_digest(d)
        dry = self.purge("--dry-run")
        self.assertIn("dry run: nothing deleted", dry)
        self.assertNotIn("space:", dry)
        self.assertEqual(table_digest(d), before)
        dry_counts, _, _ = parse_purge(dry)
        counts, _, _ = parse_purge(self.purge())
        self.assertEqual(dry_counts, counts)
        for table, n in expect.items():
            self.assertEqual(counts[table], n, table)
        self.assertEqual(rows_of(d, ids), {t: 0 for t, _ in TEST_COLUMNS})
        check_db(self, d)

    def test_open_connections_and_messages_of_young_tests_are_kept(self):
        d = self.d
        old, young = d.new_test(), d.new_test()
        deliver(d, old, 1, "old")
        # one message for both tests: kept whole, with the old recipient
        both = d.smtp("plain")
        both.ehlo()
        msg = make_message(d.address(old, "plain"), subject="both")
        r = both.send_mail("s@example.org", [d.address(old, "plain"),
                                             d.address(young, "plain")], msg)
        self.assertEqual(r.code, 250)
        both.quit()
        # a session of the old test still open: its connection is written
        opened = d.smtp("plain")
        opened.ehlo()
        self.assertEqual(opened.cmd("MAIL FROM:<s@example.org>").code, 250)
        self.assertEqual(opened.cmd("RCPT TO:<%s>" % d.address(old, "plain")).code, 250)
        where, params = opened.endpoint.where("started")
        open_id = d.wait_for("SELECT id FROM connections WHERE %s ORDER BY id"
                             " LIMIT 1" % where, params)[0]["id"]
        wait_analyses(d, 2)
        make_old(d, [old["id"]])
        counts, _, _ = parse_purge(self.purge())
        self.assertEqual(counts["tests"], 1)
        self.assertEqual(counts["connections"], 1)
        self.assertEqual(counts["recipients"], 1)
        self.assertEqual(d.query_one("SELECT count(*) AS n FROM recipients"
                                     " WHERE transaction_id = (SELECT transaction_id"
                                     " FROM recipients WHERE test_id = ?)",
                                     (young["id"],))["n"], 2)
        self.assertEqual(len(d.query("SELECT id FROM connections WHERE id = ?",
                                     (open_id,))), 1)
        # the open session goes on: its message is stored
        self.assertEqual(opened.cmd("DATA").code, 354)
        opened.send(harness.dot_stuff(make_message("x@example.org")))
        self.assertEqual(opened.read_reply().code, 250)
        opened.quit()
        d.wait_for("SELECT 1 FROM connections WHERE id = ? AND ended IS NOT NULL",
                   (open_id,))
        check_db(self, d)
        # once closed, the old test's connection goes with the next purge
        # when it is older than the cutoff (its test is no longer known)
        con = d.db(readonly=False)
        with con:
            con.execute("UPDATE connections SET started = started - ? WHERE id = ?",
                        (AGE, open_id))
        con.close()
        wait_analyses(d, 2)
        counts, _, _ = parse_purge(self.purge())
        self.assertEqual(counts["connections"], 1)
        self.assertEqual(counts["transactions"], 1)
        check_db(self, d)

    def test_space_goes_back_to_the_file_or_to_the_free_list(self):
        d = self.d
        self.assertEqual(d.query_one("PRAGMA auto_vacuum")["auto_vacuum"], 2)
        pad = b"X-Pad: " + b"p" * 900 + b"\r\n"
        old = d.new_test()
        deliver(d, old, 60, "big", pad=pad * 8)
        wait_analyses(d, 60)
        make_old(d, [old["id"]])
        pages = d.query_one("PRAGMA page_count")["page_count"]
        out = self.purge()
        m = re.search(r"space: (\d+) pages of 4096 bytes given back", out)
        self.assertTrue(m, out)
        self.assertGreater(int(m.group(1)), 60)
        self.assertLess(d.query_one("PRAGMA page_count")["page_count"],
                        pages - 60)

        # a database made before auto_vacuum=incremental: the free list
        d.stop()
        db = d.db_path
        subprocess.run(["sqlite3", db, "PRAGMA auto_vacuum=NONE; VACUUM;"],
                       check=True)
        d.start()
        old = d.new_test()
        deliver(d, old, 30, "big2", pad=pad * 8)
        wait_analyses(d, 30)
        make_old(d, [old["id"]])
        out = self.purge()
        m = re.search(r"space: (\d+) pages of 4096 bytes free in the database"
                      r" file, reused by SQLite", out)
        self.assertTrue(m, out)
        self.assertGreater(int(m.group(1)), 30)
        # docs/operator-data.md, "Space": converting it, the daemon stopped
        d.stop()
        for ext in ("-wal", "-shm"):
            self.assertFalse(os.path.exists(db + ext))
        subprocess.run(["sqlite3", db, "PRAGMA auto_vacuum=INCREMENTAL; VACUUM;"],
                       check=True)
        d.start()
        self.assertEqual(d.query_one("PRAGMA auto_vacuum")["auto_vacuum"], 2)
        self.assertEqual(d.query_one("PRAGMA freelist_count")["freelist_count"], 0)
        check_db(self, d)

    def test_usage_errors(self):
        for args in ((), ("--older-than",), ("--older-than", "x"),
                     ("--older-than", "-1"), ("--older-than", "3", "extra"),
                     ("--dry-run",)):
            cp = self.d.tool("purge", *args, check=False)
            self.assertEqual(cp.returncode, 2, (args, cp.stderr))


if __name__ == "__main__":
    unittest.main()
