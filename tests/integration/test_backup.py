"""mailscope backup (docs/operator-data.md, "Backup and restore"): an
online copy while the daemon stores mail, 0600, that passes
integrity_check and holds every message acknowledged before it began;
never over an existing file without --force; and a restore into another
daemon's database path gives the same report."""

import json
import os
import sqlite3
import stat
import subprocess
import unittest

from harness import Daemon
from test_purge import Load, check_db, daemon, deliver, wait_analyses


def backup_rows(path, sql, params=()):
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


class Backup(unittest.TestCase):

    def setUp(self):
        self.d = daemon(self._testMethodName)
        self.addCleanup(self.d.close)
        self.d.start()
        self.out = os.path.join(self.d.dir, "backups", "ms.db")
        os.makedirs(os.path.dirname(self.out))

    def test_backup_while_writing_holds_every_acknowledged_message(self):
        d = self.d
        t = d.new_test()
        load = Load(d, d.address(t, "plain"))
        load.wait_acked(200)
        before = set(load.acked())
        cp = d.tool("backup", self.out)
        load.wait_acked(len(load.acked()) + 50)
        load.stop()
        self.assertRegex(cp.stdout, r"backup: .*ms.db: \d+ pages, integrity_check ok")
        self.assertEqual(stat.S_IMODE(os.stat(self.out).st_mode), 0o600)
        self.assertEqual(load.errors, [])
        self.assertEqual([c for c in load.replies.values() if c != 250], [])
        self.assertEqual(backup_rows(self.out, "PRAGMA integrity_check"), [("ok",)])
        self.assertEqual(backup_rows(self.out, "PRAGMA foreign_key_check"), [])
        # one file: no WAL of its own
        self.assertEqual(backup_rows(self.out, "PRAGMA journal_mode"), [("delete",)])
        copied = {r[0] for r in backup_rows(
            self.out, "SELECT t.body_sha256 FROM transactions t JOIN recipients r"
            " ON r.transaction_id = t.id WHERE r.test_id = ?", (t["id"],))}
        self.assertEqual(before - copied, set())
        # the daemon wrote on meanwhile: the copy is a snapshot, not the end
        self.assertLess(len(copied), len(load.acked()))
        self.assertEqual([f for f in os.listdir(os.path.dirname(self.out))],
                         ["ms.db"])
        check_db(self, d)

    def test_backup_refuses_an_existing_file_unless_forced(self):
        d = self.d
        with open(self.out, "w") as f:
            f.write("keep me")
        cp = d.tool("backup", self.out, check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("exists", cp.stderr)
        with open(self.out) as f:
            self.assertEqual(f.read(), "keep me")
        self.assertEqual(os.listdir(os.path.dirname(self.out)), ["ms.db"])
        d.tool("backup", self.out, "--force")
        self.assertEqual(backup_rows(self.out, "PRAGMA integrity_check"), [("ok",)])
        self.assertEqual(stat.S_IMODE(os.stat(self.out).st_mode), 0o600)
        for args in ((), ("a", "b"), ("--bogus", "x")):
            self.assertEqual(d.tool("backup", *args, check=False).returncode, 2)

    def test_restore_gives_the_same_report(self):
        d = self.d
        t = d.new_test()
        deliver(d, t, 3, "restore")
        wait_analyses(d, 3)
        report = d.tool("report", t["id"], "--format", "json").stdout
        d.tool("backup", self.out)

        # docs/operator-data.md, "Restore": another daemon, stopped; the
        # copy in place with the daemon's owner and mode, no -wal, -shm
        r = Daemon("restored")
        self.addCleanup(r.close)
        db = r.db_path
        subprocess.run(["install", "-o", str(os.getuid()), "-g", str(os.getgid()),
                        "-m", "0600", self.out, db], check=True)
        subprocess.run(["rm", "-f", db + "-wal", db + "-shm"], check=True)
        r.start()
        self.assertEqual(stat.S_IMODE(os.stat(db).st_mode), 0o600)
        restored = json.loads(r.tool("report", t["id"], "--format", "json").stdout)
        report = json.loads(report)
        # when the report was made: the only field that may differ
        restored.pop("generated")
        report.pop("generated")
        self.assertEqual(restored, report)
        self.assertEqual(r.query_one("PRAGMA journal_mode")["journal_mode"], "wal")
        check_db(self, r)

    def test_files_the_tool_writes_have_their_modes(self):
        d = self.d
        t = d.new_test()
        deliver(d, t, 1, "modes")
        wait_analyses(d, 1)
        os.umask(0o022)
        export = os.path.join(self.d.dir, "export.csv")
        with open(export, "w") as f:      # an older, readable file
            f.write("old")
        os.chmod(export, 0o644)
        d.tool("export", "--format", "csv", "--out", export)
        self.assertEqual(stat.S_IMODE(os.stat(export).st_mode), 0o600)
        report = os.path.join(self.d.dir, "report.html")
        d.tool("report", t["id"], "--format", "html", "--out", report)
        self.assertEqual(stat.S_IMODE(os.stat(report).st_mode), 0o644)
        db = d.db_path
        self.assertEqual(stat.S_IMODE(os.stat(db).st_mode), 0o600)


if __name__ == "__main__":
    unittest.main()
