"""Issue 15, sessions and the event loop: every session ends within a
bounded time whatever the peer does, output back-pressure, accept() at
the file limit (SMTP, web and DNS over TCP), the hard shutdown deadline, STARTTLS without an SSL,
SIGHUP, and the modes of what the daemon creates and reads.  One daemon
per test, on loopback."""

import os
import resource
import shutil
import signal
import socket
import ssl
import sqlite3
import stat
import subprocess
import tempfile
import time
import unittest

import harness
from harness import Daemon, make_message

# What a test of a stuck client waits for: a few timeouts.
TIMEOUT = 0.3


def flood(sock, line, seconds, limit=None):
    """Sends LINE again and again for SECONDS without reading (a
    non-blocking socket; a full send buffer is waited out); returns the
    bytes sent.  Stops after LIMIT bytes."""
    sock.setblocking(False)
    data = line * 512
    sent = 0
    end = time.monotonic() + seconds
    # ends on a whole line: what follows is a command of its own
    while ((time.monotonic() < end and (limit is None or sent < limit))
           or sent % len(line)) and time.monotonic() < end + 5:
        try:
            off = sent % len(data)      # whole lines, however cut
            sent += sock.send(data[off:])
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            time.sleep(0.01)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLEOFError):
            break       # the server closed: what some tests wait for
    return sent


def cpu_seconds(pid):
    """utime + stime of PID (all threads), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def prlimit_nofile(pid, soft):
    """PID's soft limit of open files (util-linux prlimit)."""
    subprocess.run(["prlimit", "--pid", str(pid), "--nofile=%d:" % soft], check=True)


class Sessions(unittest.TestCase):

    def start_with_env(self, d, **env):
        """Starts D with ENV added to its environment; ASAN_OPTIONS are
        appended to those already set."""
        saved = {k: os.environ.get(k) for k in env}
        for k, v in env.items():
            os.environ[k] = ":".join(x for x in (saved[k], v) if x) \
                if k == "ASAN_OPTIONS" else v
        try:
            d.start()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def daemon(self, options=(), start=True):
        self.d = Daemon(self._testMethodName[:24], options=list(options))
        self.addCleanup(self.d.close)
        if start:
            self.d.start()
        return self.d

    def assertReply(self, reply, code, status=None):
        self.assertEqual((reply.code, reply.status if status else None), (code, status),
                         str(reply))

    def assertEnded(self, c, reason, timeout):
        """C's connection row is ended (the session freed) within TIMEOUT."""
        conn = self.d.connection(c, timeout=timeout)
        self.assertEqual(conn["end_reason"], reason, self.d.log_tail())
        return conn

    # -- every session ends --------------------------------------------

    # The write timeout (timeout_command) must fire before the read
    # timeout: replies the client never reads, then DATA (whose read
    # timeout, timeout_data, is long) and silence.
    stuck_options = [("global", "timeout_command", "%dms" % (TIMEOUT * 1000)),
                     ("global", "timeout_data", "60s"),
                     ("global", "max_commands", "100000000")]

    def flood_then_data(self, c):
        to = self.d.address(self.d.new_test(), "open")
        flood(c.sock, b"EHLO client.example\r\n", 1)
        flood(c.sock, ("MAIL FROM:<a@example.org>\r\nRCPT TO:<%s>\r\nDATA\r\n"
                       % to).encode(), 0.2, limit=1)

    def test_plain_client_that_never_reads_is_freed(self):
        """The write timeout fires first; the 421 cannot be sent either;
        the session still ends, and so does the daemon at SIGTERM."""
        d = self.daemon(self.stuck_options)
        c = d.smtp("open")
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        with c:
            self.flood_then_data(c)
            self.assertEnded(c, "timeout", timeout=harness.deadline(4))
        self.assertEqual(d.stop(), 0)

    def test_tls_client_that_never_reads_is_freed(self):
        d = self.daemon(self.stuck_options)
        c = d.smtp("open")
        with c:
            c.ehlo()
            c.starttls(d.tls_context(verify=False))
            self.flood_then_data(c)
            conn = self.assertEnded(c, "timeout", timeout=harness.deadline(4))
            self.assertEqual(conn["tls_established"], 1)
        self.assertEqual(d.stop(), 0)

    def test_session_time_is_bounded_however_busy(self):
        """A client that keeps every timer happy (a NOOP well within
        timeout_command) still gets 421 4.4.2 after timeout_session."""
        d = self.daemon([("global", "timeout_session", "1s")])
        with d.smtp("plain") as c:
            t0 = time.monotonic()
            c.ehlo()
            while True:
                r = c.cmd("NOOP")
                if r.code != 250:
                    break
                self.assertLess(time.monotonic() - t0, harness.deadline(5),
                                "still served after 5 s")
                time.sleep(0.1)
            self.assertReply(r, 421, "4.4.2")
            self.assertGreater(time.monotonic() - t0, 0.9)
            c.expect_eof()
        self.assertEqual(d.connection(c)["end_reason"], "timeout")

    # -- back-pressure ---------------------------------------------------

    def test_pipelined_flood_without_reading_is_bounded(self):
        """Thousands of pipelined commands, none of the replies read: the
        daemon stops reading once 64 KiB of replies wait, so its memory
        does not grow with what the client sends."""
        d = self.daemon([("global", "timeout_command", "3s"),
                         ("global", "max_commands", "100000000")], start=False)
        # freed memory the sanitizer keeps would count as growth
        self.start_with_env(d, ASAN_OPTIONS="quarantine_size_mb=1")
        pid = d.proc.pid
        before = rss_kib(pid)
        c = d.smtp("plain")
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        with c:
            # each EHLO line (21 bytes) asks for a reply of about 200:
            # without back-pressure 24 MB of them queue 230 MB of replies
            sent = flood(c.sock, b"EHLO client.example\r\n", 4, limit=24 << 20)
            time.sleep(1)       # what the kernel holds is read meanwhile
            grown = rss_kib(pid) - before
            self.assertGreater(sent, 200000, "the flood did not get going")
            self.assertLess(grown, 24 * 1024,
                            "daemon grew by %d KiB for %d bytes of commands" % (grown, sent))
            self.assertEnded(c, "timeout", timeout=harness.deadline(10))

    def test_paused_session_resumes_when_replies_drain(self):
        """Back-pressure is a pause, not an end: a client that sends 5000
        NOOPs before reading gets every reply, in order."""
        d = self.daemon([("global", "max_commands", "100000000")])
        with d.smtp("plain") as c:
            c.ehlo()
            n = 20000
            c.send(b"NOOP\r\n" * n)
            for _ in range(n):
                self.assertReply(c.read_reply(), 250, "2.0.0")
            c.quit()

    # -- accept() at the file limit ---------------------------------------

    def assertAcceptPausesAtFileLimit(self, d, section, served):
        """At EMFILE, accepting on SECTION's listener does not spin (little
        CPU, a warning per pause at most); once files are back, SERVED()
        succeeds again within a deadline."""
        pid = d.proc.pid
        d.wait_probes_closed()
        prlimit_nofile(pid, open_fds(pid) + 2)
        clients = []
        try:
            for _ in range(8):
                s = socket.create_connection(d.addr(section), timeout=2)
                clients.append(s)
            time.sleep(0.5)
            t0 = cpu_seconds(pid)
            time.sleep(2)
            used = cpu_seconds(pid) - t0
            self.assertLess(used, 0.4, "%.2f s of CPU in 2 s at EMFILE" % used)
            warns = d.log().count("Too many open files")
            self.assertGreaterEqual(warns, 1, d.log_tail())
            self.assertLessEqual(warns, 6, "logged %d times in 2.5 s" % warns)
        finally:
            for s in clients:
                s.close()
            prlimit_nofile(pid, 4096)
        # accepting resumes: a new client is served
        end = time.monotonic() + harness.deadline(5)
        while True:
            try:
                served()
                break
            except (AssertionError, EOFError, OSError, harness.DaemonError):
                if time.monotonic() > end:
                    raise
                time.sleep(0.1)

    def test_accept_at_file_limit_does_not_spin(self):
        d = self.daemon([("global", "max_per_ip", "100")])

        def served():
            with d.smtp("plain", timeout=1) as c:
                c.quit()
        self.assertAcceptPausesAtFileLimit(d, "plain", served)

    def test_web_accept_at_file_limit_does_not_spin(self):
        d = self.daemon([("global", "max_per_ip", "100")])

        def served():
            ctx = d.tls_context(verify=False)
            with socket.create_connection(d.addr("web"), timeout=1) as s:
                with ctx.wrap_socket(s) as t:
                    t.sendall(b"HEAD / HTTP/1.1\r\nHost: www.%s\r\n"
                              b"Connection: close\r\n\r\n" % harness.BASE_DOMAIN.encode())
                    head = t.recv(1024)
            self.assertTrue(head.startswith(b"HTTP/1.1 200 "), head)
        self.assertAcceptPausesAtFileLimit(d, "web", served)
        self.assertRegex(d.log(), r"accept on web 127\.0\.0\.1:\d+: Too many open "
                         r"files; not accepting for 1000 ms")

    def test_dns_tcp_accept_at_file_limit_does_not_spin(self):
        from test_dnsd import T_SOA, ZONE, framed, parse_header, query, tcp_read_message
        d = self.daemon([("global", "max_per_ip", "100")])

        def served():
            with socket.create_connection(d.addr("dns"), timeout=1) as s:
                s.sendall(framed(query(ZONE, T_SOA, qid=9)))
                h = parse_header(tcp_read_message(s))
            self.assertEqual((h["id"], h["rcode"], h["an"]), (9, 0, 1), h)
        self.assertAcceptPausesAtFileLimit(d, "dns", served)
        self.assertRegex(d.log(), r"accept on dns tcp 127\.0\.0\.1:\d+: Too many "
                         r"open files; not accepting for 1000 ms")

    def run_daemon(self, d, soft, hard):
        """mailscoped on D's config under RLIMIT_NOFILE SOFT/HARD; the
        process, its stderr in D's log file."""
        def limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        log = open(d.log_path, "ab")
        self.addCleanup(log.close)
        # root could raise the hard limit: not without CAP_SYS_RESOURCE
        drop = (["setpriv", "--bounding-set=-sys_resource", "--"]
                if os.geteuid() == 0 else [])
        return subprocess.Popen(drop + [harness.MAILSCOPED, "-c", d.conf, "-f"], cwd=d.dir,
                                stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, preexec_fn=limit)

    def test_refuses_limits_that_cannot_fit_the_file_limit(self):
        d = self.daemon([("global", "max_connections", "500")], start=False)
        p = self.run_daemon(d, 128, 128)
        try:
            rc = p.wait(harness.deadline(10))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            self.fail("mailscoped started with 128 files for 500 connections")
        self.assertEqual(rc, 1)
        self.assertRegex(d.log(), r"open files: the limits need \d+, the hard limit is 128")

    def test_raises_the_soft_file_limit(self):
        d = self.daemon([("global", "max_connections", "500")], start=False)
        p = self.run_daemon(d, 128, 4096)
        try:
            end = time.monotonic() + harness.deadline(10)
            while "mailscoped started" not in d.log():
                self.assertIsNone(p.poll(), d.log())
                self.assertLess(time.monotonic(), end, d.log())
                time.sleep(0.05)
            with open("/proc/%d/limits" % p.pid) as f:
                line = [l for l in f if l.startswith("Max open files")][0]
            soft = int(line.split()[3])
            self.assertGreater(soft, 3 * 500, line)
        finally:
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(harness.deadline(10)), 0, d.log())

    # -- shutdown ----------------------------------------------------------

    def test_commit_at_end_of_grace_gets_421_after_its_reply(self):
        d = self.daemon([("global", "shutdown_grace", "300ms")])
        t = d.new_test()
        to = d.address(t, "plain")
        with d.smtp("plain") as c:
            c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
            self.assertReply(c.cmd("RCPT TO:<%s>" % to), 250, "2.1.5")
            self.assertReply(c.cmd("DATA"), 354)
            # the writer waits for this lock: the session stays in commit
            lock = sqlite3.connect(d.db_path, timeout=5, isolation_level=None)
            lock.execute("BEGIN IMMEDIATE")
            try:
                c.send(harness.dot_stuff(make_message(to)))
                time.sleep(0.2)
                d.signal(signal.SIGTERM)
                time.sleep(0.8)             # the grace is over
            finally:
                lock.execute("ROLLBACK")
                lock.close()
            c.settimeout(5)
            self.assertReply(c.read_reply(), 250, "2.0.0")
            self.assertReply(c.read_reply(), 421, "4.3.2")
            c.expect_eof()
        self.assertEqual(d.wait_exit(5), 0, d.log_tail())
        d.check_exit()
        conn = d.connection(c, timeout=1)
        self.assertEqual((conn["end_reason"], conn["transactions"]), ("shutdown", 1))

    def test_second_sigterm_ends_everything_at_once(self):
        """A session that will not end by itself (its client neither reads
        nor leaves) and a long grace: a second SIGTERM closes it, flushes
        the store and exits 0."""
        d = self.daemon([("global", "shutdown_grace", "30s"),
                         ("global", "timeout_command", "30s"),
                         ("global", "max_commands", "100000000")])
        c = d.smtp("plain")
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        with c:
            flood(c.sock, b"EHLO client.example\r\n", 1)
            d.signal(signal.SIGTERM)
            time.sleep(0.3)
            self.assertTrue(d.running, "exited at the first SIGTERM")
            t0 = time.monotonic()
            d.signal(signal.SIGTERM)
            self.assertEqual(d.wait_exit(5), 0, d.log_tail())
            self.assertLess(time.monotonic() - t0, harness.deadline(2))
        d.check_exit()
        self.assertEqual(d.query("SELECT id FROM connections WHERE ended IS NULL"), [])
        self.assertEqual(d.connection(c, timeout=1)["end_reason"], "shutdown")

    def test_shutdown_deadline_ends_everything(self):
        d = self.daemon([("global", "shutdown_grace", "500ms"),
                         ("global", "shutdown_deadline", "1500ms"),
                         ("global", "timeout_command", "30s"),
                         ("global", "max_commands", "100000000")])
        c = d.smtp("plain")
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        with c:
            flood(c.sock, b"EHLO client.example\r\n", 1)
            t0 = time.monotonic()
            d.signal(signal.SIGTERM)
            self.assertEqual(d.wait_exit(10), 0, d.log_tail())
            took = time.monotonic() - t0
            self.assertGreater(took, 1.2)
            self.assertLess(took, harness.deadline(3))
        d.check_exit()
        self.assertEqual(d.query("SELECT id FROM connections WHERE ended IS NULL"), [])

    # -- STARTTLS without an SSL --------------------------------------------

    def test_starttls_without_ssl_answers_454(self):
        """SSL_new fails (an LD_PRELOAD shim): 454 4.7.0 instead of 220,
        and the session goes on in plaintext."""
        tmp = tempfile.mkdtemp(prefix="ms-shim-")
        src = os.path.join(tmp, "nossl.c")
        lib = os.path.join(tmp, "nossl.so")
        with open(src, "w") as f:
            f.write("#include <stddef.h>\n"
                    "void *SSL_new(void *ctx) { (void)ctx; return NULL; }\n")
        subprocess.run(["cc", "-shared", "-fPIC", "-o", lib, src], check=True)
        d = self.daemon(start=False)
        # the sanitizer runtime wants to be first: the shim goes first
        self.start_with_env(d, LD_PRELOAD=lib, ASAN_OPTIONS="verify_asan_link_order=0")
        shutil.rmtree(tmp)
        t = d.new_test()
        to = d.address(t, "open")
        with d.smtp("open") as c:
            c.ehlo()
            self.assertReply(c.cmd("STARTTLS"), 454, "4.7.0")
            self.assertReply(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
            self.assertReply(c.cmd("RCPT TO:<%s>" % to), 250, "2.1.5")
            c.quit()
        self.assertEqual(d.connection(c)["end_reason"], "quit")

    # -- SIGHUP ------------------------------------------------------------

    def peer_cert(self, host="tls"):
        with self.d.smtp(host) as c:
            c.ehlo()
            ctx = self.d.tls_context(verify=False)
            ctx.set_ciphers("aRSA")
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            c.starttls(ctx)
            der = c.sock.getpeercert(binary_form=True)
            c.ehlo()
            c.quit()
        return der

    def leaf_der(self, pem_file):
        """The first certificate of a chain file, DER."""
        end = "-----END CERTIFICATE-----"
        with open(pem_file) as f:
            return ssl.PEM_cert_to_DER_cert(f.read().split(end)[0] + end + "\n")

    def copy(self, src, dst):
        with open(os.path.join(self.d.certs, src), "rb") as f:
            data = f.read()
        with open(os.path.join(self.d.certs, dst), "wb") as f:
            f.write(data)

    def test_sighup_reloads_certificates(self):
        d = self.daemon()
        new = self.leaf_der(os.path.join(d.certs, "open.rsa.pem"))
        self.assertNotEqual(self.peer_cert(), new)
        self.copy("open.rsa.pem", "tls.rsa.pem")
        self.copy("open.rsa.key", "tls.rsa.key")
        d.signal(signal.SIGHUP)
        end = time.monotonic() + harness.deadline(5)
        while self.peer_cert() != new:
            self.assertTrue(d.running, d.log_tail())
            self.assertLess(time.monotonic(), end, d.log_tail())
            time.sleep(0.05)
        self.assertIn("reloaded", d.log())

    def test_sighup_with_a_bad_key_keeps_the_old_one(self):
        d = self.daemon()
        old = self.peer_cert()
        with open(os.path.join(d.certs, "tls.rsa.key"), "w") as f:
            f.write("not a key\n")
        d.signal(signal.SIGHUP)
        end = time.monotonic() + harness.deadline(5)
        while "keeping the old" not in d.log():
            self.assertTrue(d.running, d.log_tail())
            self.assertLess(time.monotonic(), end, d.log_tail())
            time.sleep(0.05)
        self.assertTrue(d.running)
        self.assertEqual(self.peer_cert(), old)

    # -- what the daemon creates and reads ----------------------------------

    def test_database_and_wal_are_0600(self):
        d = self.daemon()
        with d.smtp("plain") as c:
            c.quit()
        d.connection(c)
        for path in (d.db_path, d.db_path + "-wal"):
            mode = stat.S_IMODE(os.stat(path).st_mode)
            self.assertEqual(mode, 0o600, "%s is %o" % (path, mode))

    def test_refuses_a_world_readable_key(self):
        d = self.daemon(start=False)
        key = os.path.join(d.certs, "tls.ecdsa.key")
        os.chmod(key, 0o644)
        cp = harness.run([harness.MAILSCOPED, "-c", d.conf, "-f"], cwd=d.dir,
                         timeout=10)
        self.assertEqual(cp.returncode, 1, harness.describe(cp))
        self.assertIn("tls.ecdsa.key: readable by everyone", cp.stderr)


if __name__ == "__main__":
    unittest.main()
