"""Real sending MTAs for the labs, each a private instance in a network
namespace of the test's own, with its own configuration directory, queue
and log, started and stopped by PID (tests/integration/README.md, "Labs
in network namespaces"):

- Postfix: a private instance (`postfix -c DIR start`), the package;
- MtaSts: postfix-mta-sts-resolver's `mta-sts-daemon` for a Postfix;
- Exim: exim4-daemon-heavy, unpacked from its .deb by contrib/install-deps;
- OpenSMTPD: opensmtpd, likewise, its fixed spool (/var/spool/smtpd) and
  control socket (/run) bind-mounted from its directory in a mount
  namespace of its own.

Every class has start(), stop(), submit(MAIL_FROM, RCPTS, MESSAGE), log()
and kick() (a queue run now).
"""

import os
import shutil
import signal
import subprocess
import time

from harness import deadline, describe, run

LAB_TOOLS = os.environ.get("MAILSCOPE_LAB_TOOLS", "/opt/mailscope-lab")
EXIM = os.path.join(LAB_TOOLS, "exim4-daemon-heavy", "usr", "sbin", "exim4")
SMTPD = os.path.join(LAB_TOOLS, "opensmtpd", "usr", "sbin", "smtpd")
SMTPCTL = os.path.join(LAB_TOOLS, "opensmtpd", "usr", "sbin", "smtpctl")

MASTER_CF = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

# No smtpd (master.cf has none), no local delivery; the caller's lines
# (EXTRA) come last and win (postconf(5): the last setting counts).
MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {d}/spool
data_directory = {d}/data
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
inet_interfaces = loopback-only
inet_protocols = all
myhostname = {hostname}
mydestination =
alias_maps =
alias_database =
local_transport = error:no local delivery
dnssec_probe =
smtp_tls_loglevel = 1
smtp_connect_timeout = 5s
"""

QUEUE_DIRS = ("active", "bounce", "corrupt", "defer", "deferred", "flush",
              "hold", "incoming", "private", "saved", "trace")


def alive(pid):
    """PID exists and is no zombie (a stopped master is nobody's child)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def stop_pid(pid, timeout=5):
    """SIGTERM to PID, SIGKILL after TIMEOUT; waits until it is gone."""
    if pid is None or not alive(pid):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    end = time.monotonic() + deadline(timeout)
    while alive(pid) and time.monotonic() < end:
        time.sleep(0.02)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)


def read_log(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def stop_foreground(daemon):
    """DAEMON.proc (one we started, in the foreground) ended: SIGTERM,
    SIGKILL by its PID after 5 s; its log file DAEMON.logf closed."""
    if daemon.proc is not None and daemon.proc.poll() is None:
        daemon.proc.send_signal(signal.SIGTERM)
        try:
            daemon.proc.wait(deadline(5))
        except subprocess.TimeoutExpired:
            daemon.proc.kill()
            daemon.proc.wait()
    if daemon.logf:
        daemon.logf.close()
        daemon.logf = None


class Postfix:
    """A private Postfix instance in network namespace NS, configured in
    DIR/etc, its queue in DIR/spool, its log DIR/maillog.  POLICY: the
    lines of DIR/etc/tls_policy (texthash), for EXTRA to name."""

    kind = "postfix"

    def __init__(self, ns, d, policy="", extra="", hostname="sender.example.net"):
        self.ns, self.dir = ns, d
        self.etc = os.path.join(d, "etc")
        self.maillog = os.path.join(d, "maillog")
        self.master = None
        os.makedirs(self.etc)
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(d=d, hostname=hostname) + extra.format(d=d))
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(MASTER_CF)
        with open(os.path.join(self.etc, "tls_policy"), "w") as f:
            f.write(policy)
        # the queue as `postfix set-permissions` makes it; quick-start
        # skips postfix-script's checks (seconds)
        spool = os.path.join(d, "spool")
        data = os.path.join(d, "data")
        os.makedirs(os.path.join(spool, "pid"))
        os.mkdir(data)
        shutil.chown(data, "postfix")
        for q in QUEUE_DIRS:
            os.mkdir(os.path.join(spool, q), 0o700)
            shutil.chown(os.path.join(spool, q), "postfix", "root")
        for q, mode in (("maildrop", 0o1730), ("public", 0o710)):
            os.mkdir(os.path.join(spool, q))
            os.chmod(os.path.join(spool, q), mode)
            shutil.chown(os.path.join(spool, q), "postfix", "postdrop")
        open(os.path.join(spool, "quick-start"), "w").close()

    def _exec(self, *argv, timeout=30, input=None):
        return run(["ip", "netns", "exec", self.ns] + list(argv), timeout=timeout,
                   input=input)

    def start(self):
        cp = self._exec("postfix", "-c", self.etc, "start")
        if cp.returncode != 0:
            raise AssertionError("postfix start failed\n%s\n%s" % (describe(cp), self.log()))
        with open(os.path.join(self.dir, "spool", "pid", "master.pid")) as f:
            self.master = int(f.read().strip())

    def stop(self):
        if self.master is None or not alive(self.master):
            return
        self._exec("postfix", "-c", self.etc, "stop")
        end = time.monotonic() + deadline(5)
        while alive(self.master) and time.monotonic() < end:
            time.sleep(0.02)
        if alive(self.master):
            os.kill(self.master, signal.SIGKILL)

    def submit(self, mail_from, rcpts, message):
        cp = self._exec("sendmail", "-C", self.etc, "-f", mail_from, "--", *rcpts,
                        input=message)
        if cp.returncode != 0:
            raise AssertionError("sendmail failed\n%s\n%s" % (describe(cp), self.log()))

    def sendmail(self, rcpts, subject):
        self.submit("sender@sender.example.net", rcpts,
                    "From: sender@sender.example.net\nTo: %s\nSubject: %s\n\nHello.\n"
                    % (", ".join(rcpts), subject))

    def kick(self):
        """Nothing: its own queue_run_delay and backoff times run it."""

    def log(self):
        return read_log(self.maillog)

    def status(self, rcpt):
        """The last status=... line for RCPT, or None."""
        lines = [l for l in self.log().splitlines()
                 if "to=<%s>" % rcpt in l and " status=" in l]
        return lines[-1] if lines else None

    def wait_status(self, rcpt, status, why):
        end = time.monotonic() + deadline(20)
        while True:
            line = self.status(rcpt)
            if line is not None:
                if " status=%s " % status not in line:
                    raise AssertionError("%s: want status=%s, got\n%s\n%s"
                                         % (rcpt, status, line, why()))
                return line
            if time.monotonic() > end:
                raise AssertionError("no status for %s after %.0fs\n%s"
                                     % (rcpt, deadline(20), why()))
            time.sleep(0.02)


class MtaSts:
    """postfix-mta-sts-resolver's mta-sts-daemon in namespace NS on
    127.0.0.1:PORT, trusting CA (SSL_CERT_FILE) and resolving with the
    namespace's resolv.conf; for smtp_tls_policy_maps =
    socketmap:inet:127.0.0.1:PORT:postfix."""

    def __init__(self, ns, d, ca, port=8461):
        self.ns, self.dir, self.ca, self.port = ns, d, ca, port
        self.proc = None
        self.logf = None
        os.makedirs(d)
        self.conf = os.path.join(d, "mta-sts-daemon.yml")
        with open(self.conf, "w") as f:
            f.write("host: 127.0.0.1\nport: %d\n"
                    "cache:\n  type: internal\n  options:\n    cache_size: 1000\n"
                    "default_zone:\n  strict_testing: false\n  timeout: 4\n" % port)

    def start(self):
        self.logf = open(os.path.join(self.dir, "mta-sts-daemon.log"), "w")
        env = dict(os.environ, SSL_CERT_FILE=self.ca)
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, "mta-sts-daemon", "-v", "debug",
             "-c", self.conf], stdin=subprocess.DEVNULL, stdout=self.logf,
            stderr=subprocess.STDOUT, env=env)
        end = time.monotonic() + deadline(15)
        while True:
            cp = run(["ip", "netns", "exec", self.ns, "postmap", "-q", "example.invalid",
                      "socketmap:inet:127.0.0.1:%d:postfix" % self.port], timeout=10)
            if "connect" not in cp.stderr:
                return
            if self.proc.poll() is not None or time.monotonic() > end:
                raise AssertionError("mta-sts-daemon did not start\n%s\n%s"
                                     % (describe(cp), self.log()))
            time.sleep(0.1)

    def stop(self):
        stop_foreground(self)

    def log(self):
        return read_log(os.path.join(self.dir, "mta-sts-daemon.log"))


EXIM_CONF = """\
exim_path = {exim}
spool_directory = {d}/spool
log_file_path = {d}/log/%slog
pid_file_path = {d}/spool/exim-daemon.pid
exim_user = Debian-exim
exim_group = Debian-exim
keep_environment =
primary_hostname = {hostname}
qualify_domain = {domain}
log_selector = +tls_cipher +tls_certificate_verified +tls_peerdn +smtp_protocol_error \\
  +outgoing_interface +received_recipients
dns_dnssec_ok = 1
delay_warning = 0s
{main}

begin routers
remote:
  driver = dnslookup
  dnssec_request_domains = *
  transport = remote_smtp
  no_more

begin transports
remote_smtp:
  driver = smtp
{transport}

begin retry
*  *  F,1h,{retry}
"""


class Exim:
    """Exim (exim4-daemon-heavy, unpacked) in namespace NS: a private
    config DIR/exim.conf (-C, allowed to root), its spool and logs in
    DIR, a queue runner every RETRY (`exim -qRETRY`, no listener).
    MAIN and TRANSPORT: lines for the main section and remote_smtp."""

    kind = "exim"

    def __init__(self, ns, d, hostname, domain, main="", transport="", retry="5s"):
        self.ns, self.dir, self.retry = ns, d, retry
        os.makedirs(os.path.join(d, "spool"))
        os.makedirs(os.path.join(d, "log"))
        for sub in ("spool", "log"):
            shutil.chown(os.path.join(d, sub), "Debian-exim", "Debian-exim")
        self.conf = os.path.join(d, "exim.conf")
        with open(self.conf, "w") as f:
            f.write(EXIM_CONF.format(exim=EXIM, d=d, hostname=hostname, domain=domain,
                                     main=main, transport=transport, retry=retry))
        self.pid = None

    def _exec(self, *argv, timeout=30, input=None):
        return run(["ip", "netns", "exec", self.ns, EXIM, "-C", self.conf] + list(argv),
                   timeout=timeout, input=input)

    def start(self):
        cp = self._exec("-q" + self.retry, "-oP",
                        os.path.join(self.dir, "spool", "exim-daemon.pid"))
        pidfile = os.path.join(self.dir, "spool", "exim-daemon.pid")
        end = time.monotonic() + deadline(10)
        while not os.path.exists(pidfile) or not read_log(pidfile).strip():
            if cp.returncode != 0 or time.monotonic() > end:
                raise AssertionError("exim did not start\n%s\n%s" % (describe(cp), self.log()))
            time.sleep(0.05)
        self.pid = int(read_log(pidfile).strip())

    def stop(self):
        stop_pid(self.pid)

    def submit(self, mail_from, rcpts, message):
        # -odb: delivered at once by a process of its own, as sendmail(1) does
        cp = self._exec("-odb", "-f", mail_from, "--", *rcpts, input=message)
        if cp.returncode != 0:
            raise AssertionError("exim failed\n%s\n%s" % (describe(cp), self.log()))

    def kick(self):
        """Nothing: the queue runner runs every RETRY."""

    def log(self):
        return "".join(read_log(os.path.join(self.dir, "log", f))
                       for f in ("mainlog", "rejectlog", "paniclog"))


SMTPD_CONF = """\
listen on lo
action "relay" relay helo {hostname}
match from local for any action "relay"
"""


class OpenSMTPD:
    """OpenSMTPD (unpacked) in namespace NS, in the foreground (-d), with
    DIR/spool bind-mounted on /var/spool/smtpd and DIR/run on /run in a
    mount namespace of its own (`ip netns exec` makes one).  Its first
    retry after a temporary failure is compiled in (about 400 s): kick()
    runs `smtpctl schedule all` in its namespaces."""

    kind = "opensmtpd"

    def __init__(self, ns, d, hostname):
        self.ns, self.dir = ns, d
        self.proc = None
        self.logf = None
        for sub in ("spool", "run", "etc"):
            os.makedirs(os.path.join(d, sub))
        os.chmod(os.path.join(d, "spool"), 0o711)
        self.conf = os.path.join(d, "etc", "smtpd.conf")
        with open(self.conf, "w") as f:
            f.write(SMTPD_CONF.format(hostname=hostname))
        os.chmod(self.conf, 0o644)

    def start(self):
        self.logf = open(os.path.join(self.dir, "smtpd.log"), "w")
        script = ("mount --bind {d}/spool /var/spool/smtpd 2>/dev/null || "
                  "{{ mkdir -p /var/spool/smtpd && mount --bind {d}/spool /var/spool/smtpd; }} "
                  "&& mount --bind {d}/run /run && exec {smtpd} -d -v -f {conf}"
                  ).format(d=self.dir, smtpd=SMTPD, conf=self.conf)
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns, "sh", "-c", script],
                                     stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        end = time.monotonic() + deadline(15)
        while True:
            if os.path.exists(os.path.join(self.dir, "run", "smtpd.sock")):
                cp = self._exec(SMTPCTL, "show", "status")
                if cp.returncode == 0:
                    return
            if self.proc.poll() is not None or time.monotonic() > end:
                raise AssertionError("smtpd did not start\n%s" % self.log())
            time.sleep(0.05)

    def _exec(self, *argv, input=None, timeout=30):
        """ARGV in smtpd's network and mount namespaces, and in its root
        (-r, -w): entering a mount namespace resets the root to the
        namespace's, which is not the test's in a chroot (fresh-machine)."""
        return run(["nsenter", "-t", str(self.proc.pid), "-m", "-n", "-r", "-w"]
                   + list(argv), input=input, timeout=timeout)

    def submit(self, mail_from, rcpts, message):
        cp = self._exec(SMTPCTL.replace("smtpctl", "sendmail"), "-f", mail_from, "--",
                        *rcpts, input=message)
        if cp.returncode != 0:
            raise AssertionError("smtpd's sendmail failed\n%s\n%s" % (describe(cp), self.log()))

    def kick(self):
        self._exec(SMTPCTL, "schedule", "all")

    def stop(self):
        stop_foreground(self)

    def log(self):
        return read_log(os.path.join(self.dir, "smtpd.log"))
