"""mailscope export: CSV (RFC 4180) and JSON Lines of v_deliveries and
v_connections, and of the verdicts of every test (equal to what
`mailscope report` says), of v_probes and the probes' findings (`mailscope
probe`), --since, --anonymize, usage errors, constant memory."""

import csv
import datetime
import io
import json
import os
import shutil
import sqlite3
import subprocess
import time
import unittest

import harness
from harness import MAILSCOPE, ConfigCase, DaemonTestCase, make_message

HOSTILE_FROM = '"a,b\\"c"@example.org'
VERDICT_COLUMNS = ["test_id", "created", "key", "group", "state", "weight", "score",
                   "summary", "evidence"]
B32 = "abcdefghijklmnopqrstuvwxyz234567"


def view_rows(con, view, order):
    con.row_factory = sqlite3.Row
    return [dict(r) for r in con.execute("SELECT * FROM %s ORDER BY %s" % (view, order))]


def as_csv(v):
    return "" if v is None else str(v)


def sanitized():
    """An AddressSanitizer build: some 16 MB more to start with."""
    with open(MAILSCOPE, "rb") as f:
        return b"__asan_init" in f.read()


def max_rss():
    """The bound on an export's max RSS (an ASan build starts higher)."""
    return 50e6 if sanitized() else 30e6


def copy_store(d, fill):
    """A copy of D's database, FILL(connection) run on it, and a config
    naming the copy: its path."""
    copy = os.path.join(d.dir, "big.db")
    if os.path.exists(copy):
        os.unlink(copy)
    src, dst = d.db(), sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    fill(dst)
    dst.commit()
    dst.close()
    conf = os.path.join(d.dir, "big.conf")
    with open(d.conf) as f:
        text = harness.config_set(f.read(), "global", "database", copy)
    with open(conf, "w") as f:
        f.write(text)
    return conf


def stream_export(conf, *args):
    """mailscope export ARGS on CONF read as it streams: (the peak RSS
    of the process, bytes, lines, the first 100 kB of the output)."""
    # VmHWM of the running process: ru_maxrss of a child would start
    # at the RSS of this Python process, which it was forked from
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=1"
    p = subprocess.Popen([MAILSCOPE, "-c", conf, "export"] + list(args), env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    hwm, size, n, head = 0, 0, 0, b""
    while True:
        chunk = p.stdout.read(1 << 16)
        try:
            with open("/proc/%d/status" % p.pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        hwm = max(hwm, int(line.split()[1]) * 1024)
        except OSError:
            pass
        if not chunk:
            break
        if len(head) < 100000:
            head += chunk
        size += len(chunk)
        n += chunk.count(b"\n")
    err = p.stderr.read().decode()
    p.stdout.close()
    p.stderr.close()
    if p.wait() != 0 or harness.sanitizer_report(err):
        raise AssertionError("export exit %d\n%s" % (p.returncode, err))
    return hwm, size, n, head


class ExportCase(DaemonTestCase):
    """The export into a file, read back as CSV or JSON Lines."""

    def export(self, *args, rc=0):
        path = os.path.join(self.d.dir, "export.out")
        if os.path.exists(path):
            os.unlink(path)
        cp = self.d.tool("export", *args, "--out", path, check=False)
        if cp.returncode != rc or harness.sanitizer_report(cp.stderr):
            self.fail("export exit %d, expected %d\n%s" % (cp.returncode, rc, harness.describe(cp)))
        with open(path, "rb") as f:
            return f.read()

    def csv_rows(self, data):
        self.assertTrue(data.endswith(b"\r\n"), data[-20:])
        rows = list(csv.reader(io.StringIO(data.decode(), newline="")))
        return rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]

    def jsonl_rows(self, data):
        if data == b"":
            return []
        self.assertTrue(data.endswith(b"\n"))
        return [json.loads(line) for line in data.decode().split("\n")[:-1]]


class Export(ExportCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = cls.d
        cls.t1, cls.t2 = d.new_test(), d.new_test()
        sends = [(cls.t1, 4, "a@example.org"), (cls.t1, 4, HOSTILE_FROM),
                 (cls.t1, 6, "b@example.net"), (cls.t2, 4, "c@example.org")]
        for t, fam, frm in sends:
            to = d.address(t, "plain")
            with d.smtp("plain", family=fam) as c:
                c.ehlo("client.example")
                r = c.send_mail(frm, [to], make_message(to, sender=frm))
                if r.code != 250:
                    raise AssertionError("delivery: %s" % r)
                c.quit()
            d.connection(c)
        with d.smtp("plain") as c:      # a connection without mail
            c.ehlo("nomail.example")
            c.quit()
        d.connection(c)
        d.wait_for("SELECT 1 WHERE (SELECT count(*) FROM v_deliveries) = 4 AND NOT EXISTS "
                   "(SELECT 1 FROM v_deliveries WHERE analysis = 'pending')",
                   timeout=20, what="analyses")

    def views(self):
        con = self.d.db()
        try:
            return (view_rows(con, "v_deliveries", "transaction_id, address"),
                    view_rows(con, "v_connections", "connection_id"))
        finally:
            con.close()

    def test_both_formats_both_kinds_equal_the_views(self):
        dels, conns = self.views()
        self.assertEqual(len(dels), 4)
        for what, rows in (("deliveries", dels), ("connections", conns)):
            header, got = self.csv_rows(self.export("--format", "csv", "--what", what))
            self.assertEqual(header, list(rows[0].keys()))
            self.assertEqual(got, [{k: as_csv(v) for k, v in r.items()} for r in rows], what)
            got = self.jsonl_rows(self.export("--format", "jsonl", "--what", what))
            self.assertEqual(got, rows, what)
            self.assertEqual([list(r) for r in got], [list(r) for r in rows])
        # deliveries is the default
        self.assertEqual(self.jsonl_rows(self.export("--format", "jsonl")), dels)

    def test_csv_to_stdout_has_crlf_and_hostile_values_round_trip(self):
        cp = subprocess.run([MAILSCOPE, "-c", self.d.conf, "export", "--format", "csv"],
                            capture_output=True, timeout=harness.deadline(30))
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertNotIn(b"\n", cp.stdout.replace(b"\r\n", b""))
        _, rows = self.csv_rows(cp.stdout)
        froms = [r["mail_from"] for r in rows]
        self.assertIn(HOSTILE_FROM, froms)
        self.assertIn(b'"""a,b\\""c""@example.org"', cp.stdout)

    def test_since_filters(self):
        dels, conns = self.views()
        day = datetime.datetime.strptime(dels[0]["received"], "%Y-%m-%d %H:%M:%S")
        tomorrow = (day + datetime.timedelta(days=1)).strftime("%Y-%m-%d")
        yesterday = (day - datetime.timedelta(days=1)).strftime("%Y-%m-%d")
        self.assertEqual(self.jsonl_rows(self.export("--format", "jsonl", "--since", tomorrow)), [])
        self.assertEqual(self.jsonl_rows(self.export("--format", "jsonl", "--since", yesterday)), dels)
        last = max(r["started"] for r in conns)
        got = self.jsonl_rows(self.export("--format", "jsonl", "--what", "connections",
                                          "--since", last.replace(" ", "T") + "Z"))
        self.assertEqual(got, [r for r in conns if r["started"] >= last])
        self.assertTrue(got)
        got = self.jsonl_rows(self.export("--format", "jsonl", "--since", dels[-1]["received"]))
        self.assertEqual(got, [r for r in dels if r["received"] >= dels[-1]["received"]])

    def test_anonymize(self):
        dels, conns = self.views()
        a = self.jsonl_rows(self.export("--format", "jsonl", "--anonymize"))
        b = self.jsonl_rows(self.export("--format", "jsonl", "--anonymize"))
        self.assertEqual(len(a), len(dels))
        pseudo = {}
        for orig, row in zip(dels, a):
            self.assertEqual(row["client_addr"],
                             "127.0.0.0" if orig["family"] == 4 else "::")
            self.assertEqual(row["mail_from"], orig["mail_from"][orig["mail_from"].rindex("@"):])
            self.assertEqual(row["address"], orig["address"][orig["address"].rindex("@"):])
            self.assertEqual(row["helo"], orig["helo"])
            self.assertRegex(row["test_id"], r"^anon-[0-9a-f]{16}$")
            self.assertNotIn(orig["test_id"], json.dumps(row))
            pseudo.setdefault(orig["test_id"], set()).add(row["test_id"])
            for k in ("size", "connection_id", "challenge", "tls_version"):
                self.assertEqual(row[k], orig[k])
        self.assertEqual(sorted(len(s) for s in pseudo.values()), [1, 1])
        self.assertEqual(len(set().union(*pseudo.values())), 2)
        # a fresh key per export
        self.assertFalse(set(r["test_id"] for r in a) & set(r["test_id"] for r in b))
        c = self.jsonl_rows(self.export("--format", "jsonl", "--anonymize", "--what",
                                        "connections"))
        self.assertEqual([r["client_addr"] for r in c],
                         ["127.0.0.0" if r["family"] == 4 else "::" for r in conns])
        _, rows = self.csv_rows(self.export("--format", "csv", "--anonymize"))
        self.assertEqual([r["client_addr"] for r in rows], [r["client_addr"] for r in a])

    def test_usage_errors(self):
        for args in (["--format", "xml"], ["--format", "csv", "--since", "2024-13-01"],
                     ["--format", "csv", "--since", "yesterday"],
                     ["--format", "csv", "--since", "2024-02-30"],
                     ["--format", "csv", "--what", "tests"],
                     ["--format", "csv", "--what", "verdict"], [], ["--format", "csv", "extra"],
                     ["--format", "csv", "--bogus"]):
            cp = self.d.tool("export", *args, check=False)
            self.assertEqual(cp.returncode, 2, harness.describe(cp))
            self.assertIn("mailscope", cp.stderr)

    def test_constant_memory_and_invalid_utf8(self):
        """20,000 rows of 1.5 kB each: the export's max RSS stays below
        max_rss(), less than its 30 MB of output."""
        def fill(dst):
            cols = [r[1] for r in dst.execute("PRAGMA table_info(connections)")
                    if r[1] != "id"]
            sel = ", ".join("'x' || printf('%01500d', n)" if c == "helo" else c for c in cols)
            dst.execute("WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s "
                        "WHERE n < 20000) INSERT INTO connections (%s) SELECT %s FROM s, "
                        "(SELECT * FROM connections ORDER BY id LIMIT 1)"
                        % (", ".join(cols), sel))
            dst.execute("UPDATE connections SET helo = CAST(X'66ff6fc0af' AS TEXT), "
                        "end_reason = CAST(X'01225c0a097f2fe282ac' AS TEXT) WHERE id = "
                        "(SELECT min(id) FROM connections)")
        conf = copy_store(self.d, fill)
        hwm, size, n, head = stream_export(conf, "--format", "jsonl", "--what", "connections")
        self.assertGreater(size, 30e6)
        # holding the rows would take at least the 30 MB of output
        self.assertLess(hwm, max_rss(), "max RSS %d bytes" % hwm)
        self.assertGreater(hwm, 0)
        first = json.loads(head.split(b"\n")[0])
        self.assertEqual(first["helo"], "f\ufffdo\ufffd\ufffd")
        # controls, quote and backslash escaped; DEL, '/' and UTF-8 as they are
        self.assertEqual(first["end_reason"], "\x01\"\\\n\t\x7f/\u20ac")
        line = head.split(b"\n")[0]
        self.assertIn(b'"end_reason":"\\u0001\\"\\\\\\n\\t\x7f/\xe2\x82\xac"', line)
        self.assertEqual(n, 20000 + len(self.views()[1]))


class ExportVerdicts(ExportCase):
    """--what verdicts: one row per test and verdict, for three tests (two
    with mail through real SMTP, one without), against the reports."""

    # absence stays "waiting" while the test runs: the export and the
    # reports it is compared with judge alike though their "now" differ
    options = [("global", "wait", "3600s")]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = cls.d
        cls.t1 = d.new_test()
        created = d.query_one("SELECT created FROM tests WHERE id = ?",
                              (cls.t1["id"],))["created"]
        # --since compares to the second: the later tests in a later one
        end = time.monotonic() + harness.deadline(5)
        while time.time() < int(created) + 1 and time.monotonic() < end:
            time.sleep(0.05)
        cls.t2, cls.t3 = d.new_test(), d.new_test()
        for t, challenge, host in ((cls.t1, "v4", "open"), (cls.t1, "plaintext", "plain"),
                                   (cls.t2, "v4", "open")):
            to = t["addresses"][challenge]
            with d.smtp(host, challenge=challenge) as c:
                c.ehlo("client.example")
                r = c.send_mail("sender@example.org", [to],
                                make_message(to, subject="verdicts " + challenge))
                if r.code != 250:
                    raise AssertionError("%s: %s" % (challenge, r))
                c.quit()
            d.connection(c)
        d.wait_for("SELECT 1 WHERE (SELECT count(*) FROM v_deliveries) = 3 AND NOT EXISTS "
                   "(SELECT 1 FROM v_deliveries WHERE analysis = 'pending')",
                   timeout=20, what="analyses")

    def expected(self, tests=None):
        """The rows `mailscope report ID --format json` gives for TESTS
        (default: all three), in the export's order, and the rule count."""
        rows, nrules = [], set()
        order = [(r["id"], r["c"]) for r in self.d.query(
            "SELECT id, datetime(created, 'unixepoch') AS c FROM tests ORDER BY created, id")]
        self.assertEqual([r[0] for r in order], [t["id"] for t in (self.t1, self.t2, self.t3)])
        for test_id, created in order:
            if tests is not None and test_id not in [t["id"] for t in tests]:
                continue
            rep = json.loads(self.d.tool("report", test_id, "--format", "json").stdout)
            self.assertEqual(rep["created"].replace("T", " ").rstrip("Z"), created)
            nrules.add(len(rep["verdicts"]))
            for v in rep["verdicts"]:
                rows.append({"test_id": test_id, "created": created, "key": v["key"],
                             "group": v["group"], "state": v["state"],
                             "weight": v["weight"], "score": rep["score"],
                             "summary": v["summary"], "evidence": len(v["evidence"])})
        self.assertEqual(len(nrules), 1, nrules)
        return rows, nrules.pop()

    def test_verdicts_equal_the_reports_in_both_formats(self):
        want, nrules = self.expected()
        self.assertGreater(nrules, 10)
        got = self.jsonl_rows(self.export("--format", "jsonl", "--what", "verdicts"))
        self.assertEqual(len(got), 3 * nrules)
        self.assertEqual(got, want)
        self.assertEqual([list(r) for r in got], [VERDICT_COLUMNS] * len(got))
        # a delivered test is scored; the one without mail is not yet
        scores = {r["test_id"]: r["score"] for r in got}
        self.assertIsInstance(scores[self.t1["id"]], int)
        self.assertIsNone(scores[self.t3["id"]])
        self.assertIn("waiting", {r["state"] for r in got})
        header, rows = self.csv_rows(self.export("--format", "csv", "--what", "verdicts"))
        self.assertEqual(header, VERDICT_COLUMNS)
        self.assertEqual(rows, [{k: as_csv(v) for k, v in r.items()} for r in want])

    def test_verdicts_since_filters_tests(self):
        created = {r["id"]: r["c"] for r in self.d.query(
            "SELECT id, datetime(created, 'unixepoch') AS c FROM tests")}
        later = created[self.t2["id"]]
        self.assertLess(created[self.t1["id"]], later)
        want, _ = self.expected([self.t2, self.t3])
        got = self.jsonl_rows(self.export("--format", "jsonl", "--what", "verdicts",
                                          "--since", later.replace(" ", "T") + "Z"))
        self.assertEqual(got, want)
        day = datetime.datetime.strptime(later, "%Y-%m-%d %H:%M:%S")
        tomorrow = (day + datetime.timedelta(days=1)).strftime("%Y-%m-%d")
        yesterday = (day - datetime.timedelta(days=1)).strftime("%Y-%m-%d")
        header, rows = self.csv_rows(self.export("--format", "csv", "--what", "verdicts",
                                                 "--since", tomorrow))
        self.assertEqual((header, rows), (VERDICT_COLUMNS, []))
        got = self.jsonl_rows(self.export("--format", "jsonl", "--what", "verdicts",
                                          "--since", yesterday))
        self.assertEqual(got, self.expected()[0])

    def test_verdicts_anonymize(self):
        plain = self.jsonl_rows(self.export("--format", "jsonl", "--what", "verdicts"))
        data = self.export("--format", "jsonl", "--what", "verdicts", "--anonymize")
        got = self.jsonl_rows(data)
        self.assertEqual(len(got), len(plain))
        for t in (self.t1, self.t2, self.t3):
            self.assertNotIn(t["id"].encode(), data)
        pseudo = {}
        for orig, row in zip(plain, got):
            self.assertRegex(row["test_id"], r"^anon-[0-9a-f]{16}$")
            pseudo.setdefault(orig["test_id"], set()).add(row["test_id"])
            self.assertIsNone(row["summary"])
            self.assertEqual({k: v for k, v in row.items() if k not in ("test_id", "summary")},
                             {k: v for k, v in orig.items() if k not in ("test_id", "summary")})
            self.assertEqual(list(row), VERDICT_COLUMNS)
        # one pseudonym per test, three tests, three pseudonyms
        self.assertEqual(sorted(len(s) for s in pseudo.values()), [1, 1, 1])
        self.assertEqual(len(set().union(*pseudo.values())), 3)
        header, rows = self.csv_rows(self.export("--format", "csv", "--what", "verdicts",
                                                 "--anonymize"))
        self.assertEqual(header, VERDICT_COLUMNS)
        self.assertEqual({r["summary"] for r in rows}, {""})
        self.assertEqual(len({r["test_id"] for r in rows}), 3)

    def test_verdicts_of_an_old_store_exit_1(self):
        """A table the loader reads is missing: report_load() fails, and
        the export with it."""
        conf = copy_store(self.d, lambda dst: dst.execute("DROP TABLE dns_queries"))
        cp = harness.run([MAILSCOPE, "-c", conf, "export", "--format", "csv", "--what",
                          "verdicts"], timeout=30)
        self.assertEqual(cp.returncode, 1, harness.describe(cp))
        self.assertIn("predates this mailscope", cp.stderr)
        self.assertFalse(harness.sanitizer_report(cp.stderr), cp.stderr)

    def test_verdicts_in_constant_memory(self):
        """Many tests, one loaded at a time: the export's max RSS stays
        below max_rss() though its output is larger.  The tests are
        inserted into a copy of the store with sqlite3 directly: a test
        without connections or deliveries still has every verdict (waiting
        or not measured), and what the exporter holds per test does not
        depend on the rows it reads."""
        ntests = 8000 if sanitized() else 5000     # some 7 kB of output each
        base = self.d.query_one("SELECT max(created) AS m FROM tests")["m"] + 1

        def fill(dst):
            dst.executemany("INSERT INTO tests (id, created) VALUES (?, ?)",
                            (("".join(B32[(n >> (5 * i)) & 31] for i in range(26)),
                              base + n / 1000) for n in range(ntests)))
        conf = copy_store(self.d, fill)
        _, nrules = self.expected([self.t1])
        hwm, size, n, head = stream_export(conf, "--format", "jsonl", "--what", "verdicts")
        self.assertEqual(n, (ntests + 3) * nrules)
        # holding the rows (or the tests' reports) would take at least the output
        self.assertGreater(size, max_rss())
        self.assertLess(hwm, max_rss(), "max RSS %d bytes" % hwm)
        self.assertGreater(hwm, 0)
        self.assertEqual(json.loads(head.split(b"\n")[0])["test_id"], self.t1["id"])


PROBE_FINDING_COLUMNS = ["probe_id", "domain", "started", "grade", "score", "key",
                         "severity", "mx", "addr", "summary", "evidence"]


def fill_probes(dst):
    """Two probes a day apart: one of two addresses with findings, one of
    a null MX domain (no address: one row of v_probes)."""
    dst.execute("INSERT INTO probes (id, domain, started, finished, grade, score, "
                "result_json) VALUES (1, 'good.example', 1796637600, 1796637602.5, "
                "'B', 75, '{}')")
    dst.execute("INSERT INTO probes (id, domain, started, finished, null_mx, "
                "result_json) VALUES (2, 'nomail.example', 1796724000, 1796724001, 1, '{}')")
    for i, (addr, fam) in enumerate((("192.0.2.10", 4), ("2001:db8::1", 6))):
        dst.execute("INSERT INTO probe_hosts (probe_id, mx, preference, addr, family, "
                    "reachable, stop, starttls, tls, tls_version, cert_cn, banner) "
                    "VALUES (1, 'mx1.good.example', 10, ?, ?, 1, 'done', 1, 1, 'TLSv1.3', "
                    "'mx1.good.example', ?)", (addr, fam, HOSTILE_FROM + str(i)))
    dst.executemany("INSERT INTO probe_findings (probe_id, key, severity, mx, addr, summary, "
                    "evidence) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    ((1, "dane_nomatch", "bad", "mx1.good.example", "192.0.2.10",
                      "no TLSA record matches", "DNS _25._tcp.mx1.good.example TLSA\n  3 1 1 ab"),
                     (1, "tlsrpt_missing", "info", None, None, "no TLS-RPT record", None),
                     (2, "null_mx", "info", None, None, "nomail.example accepts no mail",
                      "DNS nomail.example MX: noerror")))


class ExportProbes(ExportCase):
    """--what probes (v_probes) and --what probe-findings over rows of
    schema 021 written into a copy of the store."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.conf = copy_store(cls.d, fill_probes)

    def export_probes(self, *args):
        # bytes: CSV's CRLF as written
        cp = subprocess.run([MAILSCOPE, "-c", self.conf, "export"] + list(args),
                            capture_output=True, timeout=harness.deadline(30))
        err = cp.stderr.decode(errors="replace")
        if cp.returncode != 0 or harness.sanitizer_report(err):
            self.fail("export %s: exit %d\n%s" % (" ".join(args), cp.returncode, err))
        return cp.stdout

    def copy_rows(self, sql):
        con = sqlite3.connect(os.path.join(self.d.dir, "big.db"))    # copy_store's
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute(sql)]
        finally:
            con.close()

    def test_probes_equal_v_probes_in_both_formats(self):
        rows = self.copy_rows("SELECT * FROM v_probes ORDER BY probe_id, host_id")
        self.assertEqual(len(rows), 3)
        self.assertEqual([(r["domain"], r["grade"], r["addr"]) for r in rows],
                         [("good.example", "B", "192.0.2.10"),
                          ("good.example", "B", "2001:db8::1"),
                          ("nomail.example", None, None)])
        self.assertEqual(rows[0]["findings_bad"], 1)
        got = self.jsonl_rows(self.export_probes("--format", "jsonl", "--what", "probes"))
        self.assertEqual(got, rows)
        self.assertEqual([list(r) for r in got], [list(r) for r in rows])
        header, got = self.csv_rows(self.export_probes("--format", "csv", "--what", "probes"))
        self.assertEqual(header, list(rows[0].keys()))
        self.assertEqual(got, [{k: as_csv(v) for k, v in r.items()} for r in rows])

    def test_probe_findings_and_since(self):
        got = self.jsonl_rows(self.export_probes("--format", "jsonl", "--what",
                                                 "probe-findings"))
        self.assertEqual([list(r) for r in got], [PROBE_FINDING_COLUMNS] * 3)
        self.assertEqual([(r["probe_id"], r["key"], r["severity"], r["addr"]) for r in got],
                         [(1, "dane_nomatch", "bad", "192.0.2.10"),
                          (1, "tlsrpt_missing", "info", None),
                          (2, "null_mx", "info", None)])
        self.assertEqual(got[0]["started"], "2026-12-07 10:00:00")
        self.assertEqual(got[0]["evidence"], "DNS _25._tcp.mx1.good.example TLSA\n  3 1 1 ab")
        later = self.jsonl_rows(self.export_probes("--format", "jsonl", "--what",
                                                   "probe-findings", "--since", "2026-12-08"))
        self.assertEqual([r["key"] for r in later], ["null_mx"])
        later = self.jsonl_rows(self.export_probes("--format", "jsonl", "--what", "probes",
                                                   "--since", "2026-12-08T10:00Z"))
        self.assertEqual([r["domain"] for r in later], ["nomail.example"])
        # --anonymize: a finding's free text goes, the rest stays
        anon = self.jsonl_rows(self.export_probes("--format", "jsonl", "--what",
                                                  "probe-findings", "--anonymize"))
        self.assertEqual([r["summary"] for r in anon], [None] * 3)
        self.assertEqual([{k: v for k, v in r.items() if k != "summary"} for r in anon],
                         [{k: v for k, v in r.items() if k != "summary"} for r in got])


class ExportNoDatabase(ConfigCase):

    def test_unreadable_database_exits_1(self):
        cp = self.d.tool("export", "--format", "csv", check=False)
        self.assertEqual(cp.returncode, 1, harness.describe(cp))
        self.assertFalse(os.path.exists(self.d.db_path))


if __name__ == "__main__":
    unittest.main()
