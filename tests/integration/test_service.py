"""Running mailscoped as a service (docs/operator-service.md): make
install into a staging directory, the systemd unit (systemd-analyze
verify and security, offline), the background start that exits 0 only
once the daemon serves, readiness to $NOTIFY_SOCKET, mailscoped -t's
checks of this machine (one test per problem), and log_file with its
rotation (rename + SIGHUP).  Every daemon is stopped by its PID."""

import os
import pwd
import re
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import tempfile
import time
import unittest

import harness
from harness import MAILSCOPED, BUILDDIR, SRCDIR, Daemon, describe, run

IS_ROOT = os.geteuid() == 0
# the unprivileged user of the tests that drop privileges (Debian's)
OTHER_USER = "nobody"


def alive(pid):
    """Running (a zombie counts as gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            return "\nState:\tZ" not in f.read()
    except FileNotFoundError:
        return False


def wait_gone(pid, seconds=10):
    end = time.monotonic() + harness.deadline(seconds)
    while alive(pid) and time.monotonic() < end:
        time.sleep(0.02)
    return not alive(pid)


def open_fds(pid):
    """The paths PID has open (readlink of /proc/PID/fd/*)."""
    out = []
    d = "/proc/%d/fd" % pid
    for fd in os.listdir(d):
        try:
            out.append(os.readlink(os.path.join(d, fd)))
        except OSError:
            pass
    return out


def open_to_others(path):
    """PATH and every directory above it searchable by anyone (for a
    daemon that drops to OTHER_USER: mkdtemp() makes them 0700)."""
    p = os.path.abspath(path)
    while p not in ("/", "/tmp"):
        os.chmod(p, os.stat(p).st_mode | 0o711)
        p = os.path.dirname(p)


# --- make install and the unit --------------------------------------------

class Install(unittest.TestCase):
    """make install DESTDIR=...: binaries, man pages, the unit, sysusers.d
    and tmpfiles.d files, the example config, the state directory; as a
    user who owns only the staging directory."""

    @classmethod
    def setUpClass(cls):
        cls.stage = tempfile.mkdtemp(prefix="ms-stage-")
        cls.addClassCleanup(shutil.rmtree, cls.stage, True)
        argv = ["make", "-s", "-C", BUILDDIR, "install", "DESTDIR=" + cls.stage]
        if IS_ROOT:
            # staging owned by someone else than root: nothing may chown
            os.chown(cls.stage, pwd.getpwnam(OTHER_USER).pw_uid, -1)
            open_to_others(cls.stage)
            argv = ["runuser", "-u", OTHER_USER, "--"] + argv
        cls.install = run(argv, timeout=300)
        cp = run(["make", "-s", "--no-print-directory", "-C", BUILDDIR,
                  "print-install-dirs"], timeout=60)
        cls.dirs = dict(l.split("=", 1) for l in cp.stdout.split() if "=" in l)

    def staged(self, var, *rest):
        return os.path.join(self.stage + self.dirs[var], *rest)

    def test_make_install_stages_every_service_file(self):
        self.assertEqual(self.install.returncode, 0, describe(self.install))
        expect = [
            self.staged("sbindir", "mailscoped"),
            self.staged("bindir", "mailscope"),
            self.staged("mandir", "man8", "mailscoped.8"),
            self.staged("mandir", "man5", "mailscope.conf.5"),
            self.staged("mandir", "man1", "mailscope.1"),
            self.staged("systemdsystemunitdir", "mailscoped.service"),
            self.staged("sysusersdir", "mailscope.conf"),
            self.staged("tmpfilesdir", "mailscope.conf"),
            self.staged("sysconfdir", "mailscope", "mailscope.conf.example"),
        ]
        for p in expect:
            self.assertTrue(os.path.isfile(p), "not installed: %s" % p)
        state = self.staged("localstatedir", "lib", "mailscope")
        self.assertTrue(os.path.isdir(state), state)
        self.assertEqual(stat.S_IMODE(os.stat(state).st_mode), 0o700)
        with open(self.staged("sysusersdir", "mailscope.conf")) as f:
            self.assertRegex(f.read(), r"(?m)^u mailscope ")
        with open(self.staged("tmpfilesdir", "mailscope.conf")) as f:
            self.assertRegex(f.read(), r"(?m)^d /var/lib/mailscope 0700 mailscope mailscope")

    def test_sysusers_and_tmpfiles_make_the_user_and_its_directories(self):
        """systemd-sysusers and systemd-tmpfiles --create, offline, on a
        root of their own (--root): the user, then its 0700 state and
        0750 log directories owned by it."""
        root = tempfile.mkdtemp(prefix="ms-root-")
        self.addCleanup(shutil.rmtree, root, True)
        os.makedirs(os.path.join(root, "etc"))
        cp = run(["systemd-sysusers", "--root=" + root,
                  self.staged("sysusersdir", "mailscope.conf")])
        self.assertEqual(cp.returncode, 0, describe(cp))
        with open(os.path.join(root, "etc", "passwd")) as f:
            m = re.search(r"(?m)^mailscope:x:(\d+):(\d+):", f.read())
        self.assertIsNotNone(m, "no user mailscope\n" + describe(cp))
        cp = run(["systemd-tmpfiles", "--root=" + root, "--create",
                  self.staged("tmpfilesdir", "mailscope.conf")])
        self.assertEqual(cp.returncode, 0, describe(cp))
        for d, mode in (("var/lib/mailscope", 0o700), ("var/log/mailscope", 0o750)):
            st = os.stat(os.path.join(root, d))
            self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)),
                             (int(m.group(1)), int(m.group(2)), mode), d)

    def unit_text(self):
        with open(self.staged("systemdsystemunitdir", "mailscoped.service")) as f:
            return f.read()

    def test_unit_names_the_installed_binary_and_config(self):
        text = self.unit_text()
        sbin = os.path.join(self.dirs["sbindir"], "mailscoped")
        conf = os.path.join(self.dirs["sysconfdir"], "mailscope", "mailscope.conf")
        self.assertIn("ExecStart=%s -f -c %s\n" % (sbin, conf), text)
        self.assertIn("Type=notify\n", text)
        self.assertIn("ExecReload=/bin/kill -HUP $MAINPID\n", text)
        self.assertNotIn("@sbindir@", text)

    def verifiable_unit(self):
        """The installed unit with its binary path made the staged one."""
        sbin = os.path.join(self.dirs["sbindir"], "mailscoped")
        d = tempfile.mkdtemp(prefix="ms-unit-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "mailscoped.service")
        with open(path, "w") as f:
            f.write(self.unit_text().replace(sbin, self.staged("sbindir", "mailscoped")))
        return path

    def test_systemd_analyze_verify_accepts_the_unit(self):
        unit = self.verifiable_unit()
        env = dict(os.environ, MANPATH=self.staged("mandir"))
        cp = run(["systemd-analyze", "verify", unit], env=env)
        self.assertEqual(cp.returncode, 0, describe(cp))
        self.assertEqual(cp.stderr.strip(), "", describe(cp))

    def test_systemd_analyze_security_rates_the_unit_ok(self):
        """Offline: needs no running systemd.  docs/operator-service.md
        gives the score; it must not get worse than 2.0."""
        cp = run(["systemd-analyze", "security", "--offline=yes", "--no-pager",
                  self.verifiable_unit()])
        self.assertEqual(cp.returncode, 0, describe(cp))
        m = re.search(r"Overall exposure level for mailscoped\.service: ([0-9.]+) (\w+)",
                      cp.stdout)
        self.assertIsNotNone(m, describe(cp))
        self.assertLessEqual(float(m.group(1)), 2.0, describe(cp))
        with open(os.path.join(SRCDIR, "docs", "operator-service.md")) as f:
            self.assertIn("exposure level for mailscoped.service: %s %s"
                          % (m.group(1), m.group(2)), f.read(),
                          "the score in docs/operator-service.md is not today's")


class ExampleConfig(unittest.TestCase):
    """contrib/mailscope.conf.example passes mailscoped -t once its
    certificates exist (the demo's), its directories are at hand and its
    user exists: only warnings (the documentation addresses are not
    this machine's, the demo certificates not for measure.example)."""

    def test_example_config_passes_the_check(self):
        d = Daemon(self._testMethodName)
        self.addCleanup(d.close)
        with open(os.path.join(SRCDIR, "contrib", "mailscope.conf.example")) as f:
            text = f.read()
        etc = os.path.join(d.dir, "etc")
        state = os.path.join(d.dir, "state")
        logs = os.path.join(d.dir, "log")
        os.makedirs(os.path.join(etc, "certs"))
        os.makedirs(state)
        os.makedirs(logs)
        for name in os.listdir(d.certs):
            shutil.copy2(os.path.join(d.certs, name), os.path.join(etc, "certs", name))
        text = (text.replace("/etc/mailscope/", etc + "/")
                .replace("/var/lib/mailscope/", state + "/")
                .replace("/var/log/mailscope/", logs + "/"))
        if IS_ROOT:
            text = text.replace("user        = mailscope", "user        = " + OTHER_USER)
            open_to_others(state)
            uid = pwd.getpwnam(OTHER_USER).pw_uid
            os.chown(state, uid, -1)
            os.chown(logs, uid, -1)
        else:
            text = re.sub(r"(?m)^user .*\n", "", text)
        path = os.path.join(d.dir, "example.conf")
        with open(path, "w") as f:
            f.write(text)
        cp = run([MAILSCOPED, "-t", "-c", path])
        self.assertEqual(cp.returncode, 0, describe(cp))
        self.assertEqual(cp.stdout, "mailscoped: configuration OK\n", describe(cp))
        self.assertNotIn("error:", cp.stderr)
        self.assertIn("192.0.2.13:25: no such address on this machine", cp.stderr)


# --- mailscoped -t: one problem each ---------------------------------------

class Check(harness.ConfigCase):
    """mailscoped -t checks what the start needs from this machine."""

    def write(self, edits, name=None):
        text = self.d.config_text()
        for sec, key, val in edits:
            text = harness.config_set(text, sec, key, val)
        path = os.path.join(self.d.dir, (name or self._testMethodName) + ".conf")
        with open(path, "w") as f:
            f.write(text)
        lines = text.splitlines()
        return path, lines

    def line_of(self, lines, section, key):
        sect = None
        for i, l in enumerate(lines):
            m = re.match(r"^\s*\[\s*(.*?)\s*\]", l)
            if m:
                sect = " ".join(m.group(1).replace('"', " ").split())
            elif sect == section and re.match(r"^\s*%s\s*=" % re.escape(key), l):
                return i + 1
        raise AssertionError("no %s in [%s]" % (key, section))

    def check(self, path, rc):
        cp = run([MAILSCOPED, "-t", "-c", path])
        self.assertEqual(cp.returncode, rc, describe(cp))
        self.assertEqual(cp.stdout, "mailscoped: configuration OK\n" if rc == 0 else "",
                         describe(cp))
        return cp

    def test_demo_config_is_ok_without_warnings(self):
        cp = self.check(self.d.conf, 0)
        self.assertEqual(cp.stderr, "", describe(cp))

    def test_key_not_matching_its_certificate_is_an_error(self):
        key = os.path.join(self.d.certs, "tls13.rsa.key") + " " + \
            os.path.join(self.d.certs, "tls.ecdsa.key")
        path, lines = self.write([("host tls", "key", key)])
        cp = self.check(path, 1)
        self.assertIn("%s:%d: error: [host tls] key %s does not match certificate %s"
                      % (path, self.line_of(lines, "host tls", "key"),
                         os.path.join(self.d.certs, "tls13.rsa.key"),
                         os.path.join(self.d.certs, "tls.rsa.pem")), cp.stderr)

    def test_certificate_not_covering_the_mx_names_is_a_warning(self):
        c = self.d.certs
        path, lines = self.write([
            ("host tls", "certificate", os.path.join(c, "tls13.rsa.pem")),
            ("host tls", "key", os.path.join(c, "tls13.rsa.key"))])
        cp = self.check(path, 0)
        self.assertIn("%s:%d: warning: [host tls] certificate %s does not cover "
                      "mx.tls.measure.test" % (path, self.line_of(lines, "host tls", "certificate"),
                                               os.path.join(c, "tls13.rsa.pem")), cp.stderr)

    def test_user_that_does_not_exist_is_an_error(self):
        path, lines = self.write([("global", "user", "no-such-user-ms")])
        cp = self.check(path, 1)
        self.assertIn("%s:%d: error: user no-such-user-ms: no such user"
                      % (path, self.line_of(lines, "global", "user")), cp.stderr)

    def root_only(self):
        if not IS_ROOT:
            self.skipTest("needs root: the check takes another user's ids")

    def test_database_directory_not_writable_by_user_is_an_error(self):
        self.root_only()
        db = os.path.join(self.d.dir, "rootonly", "mailscope.db")
        os.makedirs(os.path.dirname(db))
        open_to_others(os.path.dirname(db))
        os.chmod(os.path.dirname(db), 0o755)
        path, lines = self.write([("global", "user", OTHER_USER), ("global", "database", db)])
        cp = self.check(path, 1)
        self.assertIn("%s:%d: error: database directory %s: not writable by user %s"
                      % (path, self.line_of(lines, "global", "database"),
                         os.path.dirname(db), OTHER_USER), cp.stderr)

    def test_database_file_owned_by_root_is_an_error(self):
        self.root_only()
        db = os.path.join(self.d.dir, "userdir", "mailscope.db")
        os.makedirs(os.path.dirname(db))
        open_to_others(os.path.dirname(db))
        os.chown(os.path.dirname(db), pwd.getpwnam(OTHER_USER).pw_uid, -1)
        sqlite3.connect(db).close()
        os.chmod(db, 0o600)
        path, lines = self.write([("global", "user", OTHER_USER), ("global", "database", db)])
        cp = self.check(path, 1)
        self.assertIn("%s:%d: error: database %s: not readable and writable by user %s"
                      % (path, self.line_of(lines, "global", "database"), db, OTHER_USER),
                      cp.stderr)
        self.assertIn("chown it to the user", cp.stderr)

    def test_log_file_in_missing_directory_is_an_error(self):
        log = os.path.join(self.d.dir, "no-such-dir", "mailscoped.log")
        path, lines = self.write([("global", "log_file", log)])
        cp = self.check(path, 1)
        self.assertIn("%s:%d: error: log_file directory %s: No such file or directory"
                      % (path, self.line_of(lines, "global", "log_file"),
                         os.path.dirname(log)), cp.stderr)

    def test_listen_address_not_on_this_machine_is_a_warning(self):
        port = self.d.port("plain")
        path, lines = self.write([("host plain", "listen", "192.0.2.1:%d [::1]:%d"
                                   % (port, port))])
        cp = self.check(path, 0)
        self.assertIn("%s:%d: warning: [host plain] listen 192.0.2.1:%d: no such address "
                      "on this machine" % (path, self.line_of(lines, "host plain", "listen"),
                                           port), cp.stderr)

    def test_connections_beyond_the_open_files_limit_are_an_error(self):
        # more than fs.nr_open: no limit can be raised that far
        path, lines = self.write([("global", "max_connections", "2000000")])
        cp = self.check(path, 1)
        self.assertRegex(cp.stderr, r"%s:%d: error: open files: the limits need \d+, the hard "
                         r"limit is \d+; lower max_connections"
                         % (re.escape(path), self.line_of(lines, "global", "max_connections")))


# --- the start in the background and readiness ----------------------------

class Background(unittest.TestCase):
    """Without -f: the parent exits 0 once the daemon serves, else 1 with
    the reason on its stderr."""

    def daemon(self):
        d = Daemon(self._testMethodName)
        self.addCleanup(d.close)
        return d

    def start_bg(self, d, *args):
        return run([MAILSCOPED, "-c", d.conf] + list(args), cwd=d.dir, timeout=30)

    def kill_if_alive(self, pid):
        if alive(pid):
            os.kill(pid, signal.SIGKILL)

    def test_pid_file_in_missing_directory_fails_the_start(self):
        d = self.daemon()
        pidfile = os.path.join(d.dir, "no-such-dir", "mailscoped.pid")
        cp = self.start_bg(d, "-p", pidfile)
        self.assertEqual(cp.returncode, 1, describe(cp))
        self.assertIn("mailscoped: pid file %s" % pidfile, cp.stderr)
        self.assertIn("No such file or directory", cp.stderr)
        self.assertIn("mailscoped: not started", cp.stderr)
        for (sec, fam), (addr, port) in d.listeners().items():
            if sec == "plain":
                with self.assertRaises(OSError, msg="still listening"):
                    socket.create_connection((addr, port), timeout=1).close()

    def test_database_the_user_cannot_open_fails_the_start(self):
        d = self.daemon()
        if IS_ROOT:
            # created by root before the first start: the case
            open_to_others(d.dir)
            os.chown(d.dir, pwd.getpwnam(OTHER_USER).pw_uid, -1)
            sqlite3.connect(d.db_path).close()
            os.chmod(d.db_path, 0o600)
            d.set_option("global", "user", OTHER_USER)
        else:
            db = os.path.join(d.dir, "ro", "mailscope.db")
            os.makedirs(os.path.dirname(db))
            os.chmod(os.path.dirname(db), 0o500)
            self.addCleanup(os.chmod, os.path.dirname(db), 0o700)
            d.set_option("global", "database", db)
        cp = self.start_bg(d)
        self.assertEqual(cp.returncode, 1, describe(cp))
        self.assertIn(d.db_path, cp.stderr)
        self.assertRegex(cp.stderr, r"readonly|unable to open|permission denied|Permission denied")
        if IS_ROOT:
            self.assertIn("%s: owned by uid 0, mode 0600, not readable and writable by uid %d: "
                          "chown it to the user" % (d.db_path, pwd.getpwnam(OTHER_USER).pw_uid),
                          cp.stderr)
        self.assertIn("mailscoped: not started", cp.stderr)

    def test_exits_zero_only_when_serving_and_stops_by_pid_file(self):
        d = self.daemon()
        cp = self.start_bg(d, "-p", "mailscoped.pid")
        self.assertEqual(cp.returncode, 0, describe(cp))
        pidfile = os.path.join(d.dir, "mailscoped.pid")
        with open(pidfile) as f:
            pid = int(f.read())
        self.addCleanup(self.kill_if_alive, pid)
        self.assertNotIn("not started", cp.stderr, describe(cp))
        # at once, without retrying: every host answers with its greeting
        for (sec, fam), (addr, port) in sorted(d.listeners().items()):
            if sec not in harness.HOSTS:
                continue
            with socket.create_connection((addr, port), timeout=harness.deadline(5)) as s:
                self.assertTrue(s.recv(512).startswith(b"220 "), (sec, fam))
        os.kill(pid, signal.SIGTERM)
        self.assertTrue(wait_gone(pid), "mailscoped %d still running" % pid)
        self.assertFalse(os.path.exists(pidfile))


class Readiness(unittest.TestCase):
    """$NOTIFY_SOCKET (Type=notify): READY=1 once serving, RELOADING=1 and
    READY=1 around SIGHUP, STOPPING=1 at SIGTERM."""

    def test_ready_reloading_and_stopping_reach_the_notify_socket(self):
        d = Daemon(self._testMethodName)
        self.addCleanup(d.close)
        sock_path = os.path.join(d.dir, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(sock.close)
        sock.bind(sock_path)
        sock.settimeout(harness.deadline(15))
        logf = open(d.log_path, "ab")
        self.addCleanup(logf.close)
        proc = subprocess.Popen([MAILSCOPED, "-c", d.conf, "-f"], cwd=d.dir,
                                env=dict(os.environ, NOTIFY_SOCKET=sock_path),
                                stdin=subprocess.DEVNULL, stdout=logf,
                                stderr=subprocess.STDOUT)
        self.addCleanup(lambda: proc.poll() is None and (proc.kill(), proc.wait()))
        try:
            self.assertEqual(sock.recv(256), b"READY=1", d.log())
        except socket.timeout:
            self.fail("no READY=1\n" + d.log())
        addr, port = d.addr("tls")
        with socket.create_connection((addr, port), timeout=harness.deadline(5)) as s:
            self.assertTrue(s.recv(512).startswith(b"220 "))
        proc.send_signal(signal.SIGHUP)
        self.assertEqual(sock.recv(256), b"RELOADING=1")
        self.assertEqual(sock.recv(256), b"READY=1")
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(sock.recv(256), b"STOPPING=1")
        self.assertEqual(proc.wait(harness.deadline(15)), 0, d.log())


# --- log_file and its rotation ---------------------------------------------

LINE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z mailscoped\[(\d+)\]: .+$")


class LogFile(unittest.TestCase):
    """log_file: every line in the file, time-stamped; rename + SIGHUP
    (logrotate) gives a new file at the path and closes the old one."""

    def wait_for_line(self, path, text, d):
        end = time.monotonic() + harness.deadline(10)
        while time.monotonic() < end:
            if os.path.exists(path):
                with open(path) as f:
                    if text in f.read():
                        return
            time.sleep(0.02)
        self.fail("%r not in %s\n%s" % (text, path, d.log_tail()))

    def test_lines_go_to_the_file_and_rotation_reopens_it(self):
        d = Daemon(self._testMethodName)
        self.addCleanup(d.close)
        logs = os.path.join(d.dir, "logs")
        os.makedirs(logs)
        path = os.path.join(logs, "mailscoped.log")
        if IS_ROOT:
            # the daemon reopens it as the user: the directory is the user's
            uid = pwd.getpwnam(OTHER_USER).pw_uid
            open_to_others(d.dir)
            os.chown(logs, uid, -1)
            os.chown(d.dir, uid, -1)
            d.set_option("global", "user", OTHER_USER)
        d.set_option("global", "log_file", path)
        d.start()
        pid = d.proc.pid
        self.wait_for_line(path, "mailscoped started", d)
        with open(path) as f:
            lines = f.read().splitlines()
        for l in lines:
            self.assertRegex(l, LINE_RE)
            self.assertEqual(int(LINE_RE.match(l).group(1)), pid)
        st = os.stat(path)
        self.assertEqual(stat.S_IMODE(st.st_mode) & 0o027, 0, oct(st.st_mode))
        if IS_ROOT:
            self.assertEqual(st.st_uid, pwd.getpwnam(OTHER_USER).pw_uid)
        # the log has the lines, the harness's stderr log not
        self.assertNotIn("mailscoped started", d.log())
        with d.smtp("plain") as c:
            c.quit()
        self.wait_for_line(path, "disconnect", d)

        os.rename(path, path + ".1")
        d.signal(signal.SIGHUP)
        self.wait_for_line(path, "SIGHUP: reopened the log", d)
        with d.smtp("plain") as c:
            c.quit()
        self.wait_for_line(path, "disconnect", d)
        self.assertNotIn(path + ".1", open_fds(pid), "the old file is still open")
        with open(path + ".1") as f:
            old = f.read()
        self.assertNotIn("SIGHUP: reopened the log", old)
        d.stop()
        self.wait_for_line(path, "mailscoped stopped", d)
        # stderr followed the file: a sanitizer's report would be there
        with open(path) as f:
            self.assertFalse(harness.sanitizer_report(f.read() + old), "sanitizer report")


if __name__ == "__main__":
    unittest.main()
