"""mailscope report (issue 13): the real daemon receives real mail for one
test (v4 in cleartext, tls with STARTTLS, plaintext on the plain host) and
one refusal (a client that validates certificates gives up on
tls-badcert), then the report of that test in text, JSON (validated
against docs/report.schema.json) and HTML; usage errors, an unknown test,
an old store, and the query plan of every statement the loader runs."""

import json
import os
import pty
import re
import select
import socket
import sqlite3
import ssl
import subprocess
import time
import unittest

import harness
from harness import (CHALLENGES, MAILSCOPE, SRCDIR, ConfigCase,
                     DaemonTestCase, make_message)

WAIT_S = 2                      # [global] wait: absence conclusive after it
SOURCE = "127.0.0.61"           # this module's client address (attribution)
DELIVERED = {"v4", "tls", "plaintext"}
REFUSED = "tls-badcert"
# Tables a report must never scan whole (a store of 1,000,000 deliveries).
BIG_TABLES = {"connections", "transactions", "recipients", "policy_fetches",
              "dns_queries", "greylist_attempts", "tlsrpt_policies",
              "tlsrpt_reports", "tlsrpt_failures", "inbound_reports",
              "connection_attribution", "attribution_evidence", "analyses",
              "messages", "header_findings", "spf_results", "dkim_results",
              "dkim_signatures", "dmarc_results", "dmarc_destinations",
              "client_dns", "sender_zones"}


def c_strings(text):
    """The concatenation of the C string literals in TEXT (simple
    escapes only: the loader's SQL has none)."""
    return "".join(m.group(1) for m in re.finditer(r'"((?:[^"\\\n]|\\.)*)"', text))


def loader_queries():
    """[(name, sql)] of load_queries[] in daemon/report/report_load.c,
    macros of string literals expanded: the statements the loader runs."""
    with open(os.path.join(SRCDIR, "daemon", "report", "report_load.c")) as f:
        src = f.read()
    src = re.sub(r"/\*.*?\*/", " ", src, flags=re.S).replace("\\\n", " ")
    defines = {m.group(1): c_strings(m.group(2))
               for m in re.finditer(r'^#define\s+(\w+)\s+((?:"[^\n]*")+)\s*$', src, re.M)}
    table = re.search(r"load_queries\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
    if table is None:
        raise AssertionError("no load_queries[] in report_load.c")
    out = []
    for m in re.finditer(r'\{\s*"(\w+)",(.*?),\s*(load_\w+)\s*\}', table.group(1), re.S):
        body = re.sub(r"\b([A-Z_][A-Z0-9_]+)\b",
                      lambda k: '"%s"' % defines[k.group(1)] if k.group(1) in defines
                      else k.group(0), m.group(2))
        out.append((m.group(1), c_strings(body)))
    return out


def read_pty(argv, env):
    """ARGV's standard output through a pseudo-terminal (it sees a TTY),
    and its exit status."""
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdout=slave, stderr=subprocess.PIPE, env=env)
    os.close(slave)
    out = b""
    end = time.monotonic() + harness.deadline(30)
    while time.monotonic() < end:
        r, _, _ = select.select([master], [], [], 0.5)
        if not r:
            if p.poll() is not None:
                break
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:         # EIO: the child closed its side
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    err = p.stderr.read().decode("utf-8", "replace")
    p.stderr.close()
    return p.wait(harness.deadline(10)), out, err


class Report(DaemonTestCase):

    options = [("global", "wait", "%ds" % WAIT_S)]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = cls.d
        cls.t = t = d.new_test()
        cls.delivered = {}
        for challenge, host in (("v4", "open"), ("tls", "tls"), ("plaintext", "plain")):
            to = t["addresses"][challenge]
            with d.smtp(host, challenge=challenge, source=SOURCE) as c:
                c.ehlo()
                if host == "tls":
                    c.starttls(d.tls_context(), harness.mx_name("tls"))
                    c.ehlo()
                r = c.send_mail("sender@example.org", [to],
                                make_message(to, subject="report " + challenge))
                if r.code != 250:
                    raise AssertionError("%s: %s" % (challenge, r))
                c.quit()
            cls.delivered[challenge] = d.connection(c)
        # greylisted: the first RCPT to grey-v4 is deferred, never retried
        to = t["addresses"]["grey-v4"]
        with d.smtp("grey", challenge="grey-v4", source=SOURCE) as c:
            c.ehlo()
            for line, code in (("MAIL FROM:<sender@example.org>", 250),
                               ("RCPT TO:<%s>" % to, 451)):
                r = c.cmd(line)
                if r.code != code:
                    raise AssertionError("%s: %s" % (line, r))
            c.quit()
        cls.grey = d.wait_for("SELECT * FROM greylist_attempts WHERE test_id = ?",
                              (t["id"],), what="the greylist attempt")[0]
        # the MTA-STS policy of sts-rn fetched from the same address
        cls.fetch = cls.fetch_policy("sts-rn")
        # a sender that validates certificates: STARTTLS, then it gives up
        with d.smtp("tls-bad", challenge=REFUSED, source=SOURCE) as c:
            c.ehlo()
            try:
                c.starttls(d.tls_context(verify=True), harness.mx_name(REFUSED))
                raise AssertionError("the handshake with tls-bad succeeded")
            except (ssl.SSLError, OSError):
                pass
        cls.refused = d.connection(c)
        # no RCPT: the test comes from the address's evidence
        d.wait_for("SELECT 1 FROM connection_attribution WHERE connection_id = ?"
                   " AND test_id = ? AND reason = 'address'",
                   (cls.refused["id"], t["id"]), what="the refusal attributed")
        d.wait_for("SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM recipients r"
                   " JOIN analyses a ON a.transaction_id = r.transaction_id"
                   " WHERE r.test_id = ? AND a.finished IS NULL)", (t["id"],),
                   timeout=20, what="analyses")
        # absence is conclusive WAIT_S after the first contact: wait for
        # that instant (the daemon's clock is this machine's)
        first = d.query_one("SELECT min(started) AS s FROM connections WHERE id IN"
                            " (SELECT connection_id FROM connection_attribution"
                            " WHERE test_id = ?)", (t["id"],))["s"]
        while time.time() < first + WAIT_S + 0.2:
            time.sleep(0.05)

    @classmethod
    def fetch_policy(cls, challenge):
        """GET the MTA-STS policy of CHALLENGE from SOURCE; its row."""
        name = "mta-sts.%s.%s" % (challenge, harness.BASE_DOMAIN)
        ua = "report-test/%s" % challenge
        addr, port = cls.d.addr("web")
        raw = socket.create_connection((addr, port), timeout=harness.deadline(5),
                                       source_address=(SOURCE, 0))
        with cls.d.tls_context().wrap_socket(raw, server_hostname=name) as s:
            s.sendall(("GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: %s\r\n"
                       "User-Agent: %s\r\nConnection: close\r\n\r\n"
                       % (name, ua)).encode())
            resp = b""
            while True:
                try:
                    data = s.recv(65536)
                except (ssl.SSLEOFError, ConnectionResetError):
                    break
                if not data:
                    break
                resp += data
        if not resp.startswith(b"HTTP/1.1 200 "):
            raise AssertionError("policy fetch: %r" % resp[:200])
        return cls.d.wait_for("SELECT * FROM policy_fetches WHERE user_agent = ?",
                              (ua,), what="the policy fetch")[0]

    def report(self, *args, rc=0, env=None):
        argv = [MAILSCOPE, "-c", self.d.conf, "report"] + list(args)
        cp = subprocess.run(argv, capture_output=True, cwd=self.d.dir, env=env,
                            timeout=harness.deadline(60))
        err = cp.stderr.decode("utf-8", "replace")
        if cp.returncode != rc or harness.sanitizer_report(err):
            self.fail("report %s: exit %d, expected %d\n--- stdout ---\n%s\n"
                      "--- stderr ---\n%s" % (" ".join(args), cp.returncode, rc,
                                              cp.stdout[:4000].decode("utf-8", "replace"),
                                              err))
        return cp.stdout, err

    def report_json(self, *args):
        out, _ = self.report(self.t["id"], "--format", "json", *args)
        return json.loads(out)

    # -- JSON

    def test_json_has_the_schema_id_score_verdicts_and_challenges(self):
        rep = self.report_json()
        self.assertEqual(rep["schema"], 1)
        self.assertEqual(rep["id"], self.t["id"])
        self.assertIn("score", rep)
        self.assertTrue(rep["score"] is None or 0 <= rep["score"] <= 10, rep["score"])
        self.assertTrue(rep["verdicts"])
        keys = [v["key"] for v in rep["verdicts"]]
        self.assertEqual(len(keys), len(set(keys)), keys)
        for v in rep["verdicts"]:
            self.assertIn(v["state"], ("good", "note", "improve", "bad", "waiting",
                                       "not_measured"), v)
        names = [c["name"] for c in rep["challenges"]]
        self.assertEqual(names[:len(CHALLENGES)], CHALLENGES)
        for c in rep["challenges"]:
            with self.subTest(challenge=c["name"]):
                self.assertEqual(c["address"], self.t["addresses"][c["name"]])
                self.assertEqual(c["delivered"], c["name"] in DELIVERED)

    def test_json_validates_against_the_schema(self):
        import jsonschema        # python3-jsonschema (contrib/install-deps)
        path = os.path.join(SRCDIR, "docs", "report.schema.json")
        self.assertTrue(os.path.exists(path), "%s is missing" % path)
        with open(path) as f:
            schema = json.load(f)
        jsonschema.validators.validator_for(schema).check_schema(schema)
        jsonschema.validate(self.report_json(), schema)

    def test_json_deliveries_name_their_connection_host_and_tls(self):
        rep = {c["name"]: c for c in self.report_json()["challenges"]}
        for name in DELIVERED:
            with self.subTest(challenge=name):
                dl = rep[name]["deliveries"]
                self.assertEqual(len(dl), 1, dl)
                conn = self.delivered[name]
                self.assertEqual((dl[0]["host"], dl[0]["client_addr"], dl[0]["mx"]),
                                 (conn["host"], SOURCE, 1))
                self.assertEqual(dl[0]["tls_version"], conn["tls_version"])
        self.assertIsNotNone(rep["tls"]["deliveries"][0]["tls_version"])
        self.assertIsNone(rep["v4"]["deliveries"][0]["tls_version"])

    def test_json_the_refused_challenge_shows_its_connection(self):
        rep = {c["name"]: c for c in self.report_json()["challenges"]}
        c = rep[REFUSED]
        self.assertFalse(c["delivered"])
        self.assertEqual(c["outcome"], "refused")
        self.assertEqual([r["connection"] for r in c["refusals"]], [self.refused["id"]])
        self.assertEqual(c["refusals"][0]["reason"], "address")
        # the wait is over: the rest is absent, not pending
        for name, ch in rep.items():
            if name not in DELIVERED and name != REFUSED:
                self.assertEqual(ch["outcome"], "absent", name)

    def test_cert_validation_verdict_cites_the_refusal(self):
        """The verdict on certificate validation rests on the connection
        that gave up on tls-bad (CHALLENGES.md, "Evidence, not only
        absence")."""
        rep = self.report_json()
        v = {v["key"]: v for v in rep["verdicts"]}
        self.assertIn("cert_validation", v)
        cv = v["cert_validation"]
        self.assertEqual(cv["state"], "good", cv)
        self.assertIn(("connections", self.refused["id"]),
                      [(e["table"], e["id"]) for e in cv["evidence"]], cv)

    def test_mtasts_verdict_cites_the_policy_fetch(self):
        """The fetch from the test's sending address is the test's
        (v_policy_fetches' rule), and the MTA-STS verdict rests on it."""
        v = {v["key"]: v for v in self.report_json()["verdicts"]}
        self.assertIn(("policy_fetches", self.fetch["id"]),
                      [(e["table"], e["id"]) for e in v["mtasts"]["evidence"]], v["mtasts"])
        row = self.d.query_one("SELECT test_id FROM v_policy_fetches WHERE fetch_id = ?",
                               (self.fetch["id"],))
        self.assertEqual(row["test_id"], self.t["id"])

    def test_greylist_attempt_is_in_the_report(self):
        rep = self.report_json()
        grey = {c["name"]: c for c in rep["challenges"]}["grey-v4"]
        self.assertEqual([(g["connection"], g["accepted"]) for g in grey["greylist"]],
                         [(self.grey["connection_id"], False)])
        v = {v["key"]: v for v in rep["verdicts"]}["greylisting"]
        self.assertIn(("greylist_attempts", self.grey["id"]),
                      [(e["table"], e["id"]) for e in v["evidence"]], v)

    def test_uppercase_id_is_the_same_test(self):
        out, _ = self.report(self.t["id"].upper(), "--format", "json")
        self.assertEqual(json.loads(out)["id"], self.t["id"])

    # -- text

    def test_text_is_the_default_and_has_no_escape_when_not_a_tty(self):
        out, _ = self.report(self.t["id"])
        self.assertNotIn(b"\x1b", out)
        self.assertIn(self.t["id"].encode(), out)
        verbose, _ = self.report(self.t["id"], "--verbose")
        self.assertNotIn(b"\x1b", verbose)
        self.assertGreater(len(verbose), len(out))
        self.assertEqual(self.report(self.t["id"], "--format", "text")[0], out)

    def test_text_on_a_tty_has_colours_unless_no_color(self):
        argv = [MAILSCOPE, "-c", self.d.conf, "report", self.t["id"]]
        env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        rc, out, err = read_pty(argv, env)
        self.assertEqual(rc, 0, err)
        self.assertFalse(harness.sanitizer_report(err), err)
        self.assertIn(b"\x1b[", out)
        for value in ("1", "0", "no"):     # any value that is not empty
            rc, out, err = read_pty(argv, dict(env, NO_COLOR=value))
            self.assertEqual(rc, 0, err)
            self.assertNotIn(b"\x1b", out, "NO_COLOR=%s" % value)

    # -- HTML

    def test_html_is_a_document_without_scripts(self):
        out, _ = self.report(self.t["id"], "--format", "html")
        self.assertTrue(out.startswith(b"<!DOCTYPE html>"), out[:80])
        self.assertNotIn(b"<script", out.lower())
        self.assertIn(self.t["id"].encode(), out)

    # -- --out

    def test_out_writes_the_file_and_nothing_to_stdout(self):
        path = os.path.join(self.d.dir, "out", "report.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("old\n")
        out, _ = self.report(self.t["id"], "--format", "json", "--out", path)
        self.assertEqual(out, b"")
        with open(path) as f:
            got = json.load(f)
        want = self.report_json()
        got.pop("generated", None)
        want.pop("generated", None)
        self.assertEqual(got, want)
        self.assertEqual(os.listdir(os.path.dirname(path)), ["report.json"])  # no temporary left

    def test_out_text_has_no_colours_even_from_a_tty(self):
        path = os.path.join(self.d.dir, "report-tty.txt")
        env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        rc, out, err = read_pty([MAILSCOPE, "-c", self.d.conf, "report", "--out", path,
                                 self.t["id"]], env)
        self.assertEqual(rc, 0, err)
        with open(path, "rb") as f:
            text = f.read()
        self.assertIn(self.t["id"].encode(), text)
        self.assertNotIn(b"\x1b", text)

    def test_out_that_cannot_be_written_exits_1(self):
        path = os.path.join(self.d.dir, "no-such-dir", "report.txt")
        _, err = self.report(self.t["id"], "--out", path, rc=1)
        self.assertRegex(err, r"^mailscope: report: .*no-such-dir/report\.txt")

    def test_stdout_that_cannot_be_written_exits_1(self):
        for fmt in ("text", "json", "html"):
            with self.subTest(format=fmt), open("/dev/full", "wb") as full:
                cp = subprocess.run([MAILSCOPE, "-c", self.d.conf, "report", self.t["id"],
                                     "--format", fmt], stdout=full, stderr=subprocess.PIPE,
                                    text=True, timeout=harness.deadline(30))
                self.assertEqual(cp.returncode, 1, cp.stderr)
                self.assertEqual(cp.stderr, "mailscope: report: standard output: "
                                 "No space left on device\n")

    # -- errors

    def test_unknown_test_exits_1(self):
        other = "a" * 26
        out, err = self.report(other, rc=1)
        self.assertEqual(out, b"")
        self.assertEqual(err, "mailscope: report: no such test: %s\n" % other)

    def test_bad_id_exits_2_with_usage(self):
        for bad in ("not-a-test-id", "a" * 25, "a" * 27, "1" * 26):
            with self.subTest(id=bad):
                _, err = self.report(bad, rc=2)
                self.assertIn("mailscope: report: not a test ID: %s\n" % bad, err)
                self.assertIn("usage: mailscope", err)

    def test_usage_errors_exit_2(self):
        tid = self.t["id"]
        for args in (["--format", "xml", tid], [], [tid, tid], ["--bogus", tid],
                     [tid, "--format"], ["--out"]):
            with self.subTest(args=args):
                _, err = self.report(*args, rc=2)
                self.assertIn("usage: mailscope [-c FILE] report ID", err)
        _, err = self.report("--format", "xml", tid, rc=2)
        self.assertIn("mailscope: report: bad --format 'xml'", err)

    def test_store_without_migration_17_is_refused_with_a_clear_message(self):
        copy = os.path.join(self.d.dir, "old.db")
        src, dst = self.d.db(), sqlite3.connect(copy)
        src.backup(dst)
        src.close()
        # as migration 17 found it: its views, index and column not there
        for (view,) in dst.execute("SELECT name FROM sqlite_master WHERE type = 'view'").fetchall():
            dst.execute("DROP VIEW %s" % view)
        dst.execute("DROP INDEX tlsrpt_policies_test")
        dst.execute("ALTER TABLE tlsrpt_policies DROP COLUMN test_id")
        dst.execute("UPDATE schema_version SET version = 16")
        dst.commit()
        dst.close()
        conf = os.path.join(self.d.dir, "old.conf")
        with open(conf, "w") as f:
            f.write(harness.config_set(self.d.config_text(), "global", "database", copy))
        cp = subprocess.run([MAILSCOPE, "-c", conf, "report", self.t["id"]],
                            capture_output=True, text=True, timeout=harness.deadline(30))
        self.assertEqual(cp.returncode, 1, harness.describe(cp))
        self.assertFalse(harness.sanitizer_report(cp.stderr), cp.stderr)
        self.assertRegex(cp.stderr, r"^mailscope: report: .*old\.db: the store predates "
                         r"this mailscope \(no such column: .*test_id\); start "
                         r"mailscoped once to migrate it\n$")

    # -- the plans

    @staticmethod
    def scans(con, sql, tid):
        """The tables of BIG_TABLES that SQL's plan reads whole (SCAN, a
        covering index included), and the plan."""
        plan = [r[3] for r in con.execute("EXPLAIN QUERY PLAN " + sql, (tid,))]
        # the plan names a table by its alias: "FROM connections c"
        alias = {a: t for t, a in re.findall(
            r"\b(?:FROM|JOIN)\s+(\w+)\s+(?!(?:ON|WHERE|USING|JOIN|LEFT|GROUP|ORDER)\b)(\w+)",
            sql, re.I)}
        found = []
        for line in plan:
            m = re.match(r"^SCAN (\w+)", line)
            if m and alias.get(m.group(1), m.group(1)) in BIG_TABLES:
                found.append(line)
        return found, plan

    def test_every_statement_uses_an_index(self):
        """EXPLAIN QUERY PLAN of each statement of the loader on this store:
        no table that grows with the deliveries is read whole (the report
        must stay fast on a store of 1,000,000 deliveries)."""
        queries = loader_queries()
        names = [n for n, _ in queries]
        self.assertEqual(sorted(names), sorted(
            ["tests", "deliveries", "conns", "grey", "fetches", "dnsq", "messages",
             "spf", "dkim", "dests", "findings", "zones", "tlsrpt"]))
        con = self.d.db()
        try:
            # the check itself finds a scan, through an alias too
            for bad in ("SELECT id FROM connections c WHERE c.helo = ?1",
                        "SELECT f.id FROM policy_fetches f WHERE f.sni = ?1"):
                self.assertTrue(self.scans(con, bad, self.t["id"])[0], bad)
            for name, sql in queries:
                with self.subTest(query=name):
                    self.assertIn("?1", sql)
                    found, plan = self.scans(con, sql, self.t["id"])
                    self.assertEqual(found, [], "%s\n%s\n%s" % (name, sql, "\n".join(plan)))
        finally:
            con.close()


class ReportNoDatabase(ConfigCase):

    def test_missing_database_exits_1_and_creates_none(self):
        cp = self.d.tool("report", "a" * 26, check=False)
        self.assertEqual(cp.returncode, 1, harness.describe(cp))
        self.assertRegex(cp.stderr, r"^mailscope: report: .*mailscope\.db: ")
        self.assertFalse(os.path.exists(self.d.db_path))


if __name__ == "__main__":
    unittest.main()
