"""The database's owner (the operator issue): `mailscope new-test` run as
root on a config with `user` creates the database 0600 and owned by that
user (and its directory when missing), so that mailscoped, which opens it
after dropping to the user, can write it.  The user is `nobody`."""

import os
import pwd
import sqlite3
import stat
import time
import unittest

import harness
from harness import Daemon, describe

USER = "nobody"


def owner(path):
    st = os.stat(path)
    return pwd.getpwuid(st.st_uid).pw_name, stat.S_IMODE(st.st_mode)


@unittest.skipUnless(os.geteuid() == 0, "needs root: creates files for another user")
class DatabaseOwner(unittest.TestCase):

    def setUp(self):
        self.d = Daemon(self._testMethodName, options=[
            ("global", "user", USER),
            ("global", "database", "state/mailscope.db")])
        self.addCleanup(self.d.close)
        # the daemon, as nobody, must reach the database's directory
        for p in (self.d.root, self.d.dir):
            os.chmod(p, 0o755)
        self.db = os.path.join(self.d.dir, "state", "mailscope.db")

    def test_new_test_as_root_creates_it_for_the_user(self):
        self.assertFalse(os.path.exists(os.path.dirname(self.db)))
        cp = self.d.tool("new-test", "--json")
        self.assertEqual(cp.stderr, "", describe(cp))
        self.assertEqual(owner(os.path.dirname(self.db)), (USER, 0o750))
        self.assertEqual(owner(self.db), (USER, 0o600))
        for suffix in ("-wal", "-shm"):
            if os.path.exists(self.db + suffix):
                self.assertEqual(owner(self.db + suffix), (USER, 0o600), suffix)

    def test_the_daemon_as_the_user_then_writes_it(self):
        t = self.d.new_test()
        self.d.start()
        c = self.d.smtplib("open")
        c.sendmail("sender@example.org", [t["addresses"]["v4"]],
                   harness.make_message(t["addresses"]["v4"]))
        c.quit()
        self.d.wait_for("SELECT 1 FROM recipients WHERE test_id = ?", (t["id"],),
                        what="the delivery stored by mailscoped as %s" % USER)
        # root's new-test while the daemon runs: -wal and -shm stay the user's
        self.d.new_test()
        for suffix in ("", "-wal", "-shm"):
            self.assertEqual(owner(self.db + suffix), (USER, 0o600), suffix)
        self.d.stop()
        self.assertNotIn("readonly database", self.d.log())

    def test_a_database_root_made_without_mailscope_stops_the_daemon(self):
        """What the CLI now prevents: SQLite run by root makes the file
        root's; mailscoped, as the user, cannot open it and exits."""
        os.makedirs(os.path.dirname(self.db))
        sqlite3.connect(self.db).close()
        os.chmod(self.db, 0o600)
        with self.assertRaises(harness.DaemonError):
            self.d.start(attempts=1)
        self.assertIn(self.db, self.d.log())

    def test_an_existing_database_of_another_owner_is_named(self):
        os.makedirs(os.path.dirname(self.db))
        sqlite3.connect(self.db).close()
        cp = self.d.tool("new-test", check=False)
        self.assertEqual(cp.returncode, 0, describe(cp))
        self.assertIn("is owned by uid 0, not by user %s" % USER, cp.stderr)

    def test_a_directory_the_user_cannot_write_is_named(self):
        os.makedirs(os.path.dirname(self.db), mode=0o755)
        cp = self.d.tool("new-test", check=False)
        self.assertEqual(cp.returncode, 0, describe(cp))
        self.assertIn("cannot make %s-wal" % self.db, cp.stderr)
        self.assertEqual(owner(self.db), (USER, 0o600))

    def test_an_unknown_user_creates_nothing(self):
        self.d.set_option("global", "user", "no-such-user-mailscope")
        cp = self.d.tool("new-test", check=False)
        self.assertEqual(cp.returncode, 1, describe(cp))
        self.assertIn("no-such-user-mailscope: no such user", cp.stderr)
        self.assertFalse(os.path.exists(self.db))


if __name__ == "__main__":
    unittest.main()
