"""Integration test harness: the real mailscoped on free loopback ports.

A Daemon owns a temporary directory with a demo-config (its own ports,
certificates and database), starts `mailscoped -c CONF -f -v` with its log
in a file, waits for every listener with a deadline, and stops it by PID.
Tests drive it with RawSMTP (a line client over a plain socket that can
switch to TLS), smtplib, swaks or openssl s_client, and assert on the
SQLite rows through db(), query() and wait_for().

Environment: top_builddir (mailscoped, mailscope), top_srcdir (defaults:
the repository root); MAILSCOPE_TEST_SLOW multiplies every deadline (the
sanitizer pass sets it); MAILSCOPE_KEEP_TMP=1 keeps the directories.
Only the standard library of /usr/bin/python3 is used.
"""

import atexit
import hashlib
import json
import os
import random
import re
import shutil
import signal
import smtplib
import socket
import sqlite3
import ssl
import subprocess
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.abspath(os.environ.get("top_srcdir")
                         or os.path.join(HERE, "..", ".."))
BUILDDIR = os.path.abspath(os.environ.get("top_builddir") or SRCDIR)
MAILSCOPED = os.path.join(BUILDDIR, "mailscoped")
MAILSCOPE = os.path.join(BUILDDIR, "mailscope")

# MAILSCOPE_VALGRIND=1: mailscoped runs under valgrind's memcheck ("all":
# the mailscope tool too), one log per process in MAILSCOPE_VALGRIND_LOGS,
# every deadline 10 times longer unless MAILSCOPE_TEST_SLOW says otherwise
# (tests/valgrind/run builds, runs and scans the logs).
VALGRIND = os.environ.get("MAILSCOPE_VALGRIND", "")
SLOW = float(os.environ.get("MAILSCOPE_TEST_SLOW", "10" if VALGRIND else "1") or 1)
KEEP_TMP = os.environ.get("MAILSCOPE_KEEP_TMP") == "1"

# What demo-config writes (the contract the tests are written against).
BASE_DOMAIN = "measure.test"
HOSTNAME = "mx.measure.test"
LOCAL_PART = "measure"
# Hosts in demo-config's port order: base, base+1, ...; then [web], [dns].
HOSTS = ["plain", "open", "grey", "tls", "tls-bad", "tls13", "tls12",
         "strong", "medium"]
TLS_HOSTS = [h for h in HOSTS if h != "plain"]
# Every challenge of CHALLENGES.md (the catalogue may add more).
CHALLENGES = [
    "plaintext", "v4", "v6", "v4-dns6", "v6-dns6", "v4-bogus", "v6-bogus",
    "grey-v4", "grey-v6", "tls", "tls-badcert", "tlsa-bad", "tls13", "tls12",
    "strong", "medium", "uniq", "dns", "sts-n", "sts-rn", "sts-plain",
    "sts-2mx-tls", "sts-2mx-plain", "tlsa-bad-pkix-ok", "tlsa-ok-pkix-bad",
    "sts-ok-tlsa-bad", "sts-bad-tlsa-ok-pkix-bad", "sts-bad-tlsa-ok",
    "tlsa-bad-insecure", "tlsa-bad-insecure-pkix-ok",
]
PER_TEST_CHALLENGES = {"uniq", "dns"}
# The hosts of each challenge's MX by preference (CHALLENGES.md), and the
# MX families (catalog.c): every other challenge has a dual MX.
CHALLENGE_HOSTS = {
    "plaintext": ["plain"], "v4": ["open"], "v6": ["open"],
    "v4-dns6": ["open"], "v6-dns6": ["open"], "v4-bogus": ["open"],
    "v6-bogus": ["open"], "grey-v4": ["grey"], "grey-v6": ["grey"],
    "tls": ["tls"], "tls-badcert": ["tls-bad"], "tlsa-bad": ["tls-bad"],
    "tls13": ["tls13"], "tls12": ["tls12"], "strong": ["strong"],
    "medium": ["medium"], "uniq": ["open"], "dns": ["open"],
    "sts-n": ["tls-bad"], "sts-rn": ["tls-bad"], "sts-plain": ["plain"],
    "sts-2mx-tls": ["tls-bad", "tls"], "sts-2mx-plain": ["tls-bad", "plain"],
    "tlsa-bad-pkix-ok": ["tls"], "tlsa-ok-pkix-bad": ["tls-bad"],
    "sts-ok-tlsa-bad": ["tls"], "sts-bad-tlsa-ok-pkix-bad": ["tls-bad"],
    "sts-bad-tlsa-ok": ["tls"], "tlsa-bad-insecure": ["tls-bad"],
    "tlsa-bad-insecure-pkix-ok": ["tls"],
}
TWO_MX_CHALLENGES = {c: h for c, h in CHALLENGE_HOSTS.items() if len(h) == 2}
A_ONLY_CHALLENGES = {"v4", "v4-dns6", "v4-bogus", "grey-v4"}
AAAA_ONLY_CHALLENGES = {"v6", "v6-dns6", "v6-bogus", "grey-v6"}
# demo-config's ports: one per host, [web], [dns], then one on ::1 per
# challenge and host of an MX with AAAA records (challenge_listen).
NPORTS = len(HOSTS) + 2 + sum(len(CHALLENGE_HOSTS[c])
                              for c in CHALLENGES if c not in A_ONLY_CHALLENGES)
# A challenge whose (first) MX is the host, to address mail to each host.
HOST_CHALLENGE = {
    "plain": "plaintext", "open": "v4", "grey": "grey-v4", "tls": "tls",
    "tls-bad": "tls-badcert", "tls13": "tls13", "tls12": "tls12",
    "strong": "strong", "medium": "medium",
}
TESTID_RE = re.compile(r"^[a-z2-7]{26}$")

# Defaults for every test daemon, so that a forgotten session or a slow
# client never costs the suite the production timeouts.  No DNS lookups
# unless a test starts its own DNS server and sets resolver (test_spf):
# the system's resolver is not on loopback.
DEFAULT_OPTIONS = [
    ("global", "shutdown_grace", "1s"),
    ("global", "timeout_command", "10s"),
    ("global", "timeout_data", "10s"),
    ("global", "timeout_tls", "10s"),
    ("global", "resolver", "off"),
]

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "SUMMARY: UndefinedBehaviorSanitizer")


def valgrind(argv, tool=False):
    """ARGV, under memcheck when MAILSCOPE_VALGRIND asks for it."""
    if VALGRIND not in ("1", "all") or (tool and VALGRIND != "all"):
        return argv
    logs = os.environ.get("MAILSCOPE_VALGRIND_LOGS") or os.path.join(BUILDDIR, "valgrind-logs")
    os.makedirs(logs, exist_ok=True)
    return ["valgrind", "--tool=memcheck", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite",
            "--num-callers=30", "--log-file=%s/%s.%%p.log"
            % (logs, os.path.basename(argv[0]))] + argv


def deadline(seconds):
    """Seconds scaled by MAILSCOPE_TEST_SLOW."""
    return seconds * SLOW


def require_binaries():
    missing = [p for p in (MAILSCOPED, MAILSCOPE) if not os.access(p, os.X_OK)]
    if missing:
        # a build that is not there is a failure, not a skip
        raise DaemonError("not built: %s (set top_builddir)"
                          % ", ".join(missing))


# --- messages ------------------------------------------------------------

def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def make_message(to, subject="test", body=b"Hello.\r\n", sender="sender@example.org",
                 extra_headers=b""):
    """An RFC 5322 message (CRLF, not dot-stuffed) with BODY after the blank line."""
    if isinstance(body, str):
        body = body.encode()
    head = ("From: Sender <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
            "Date: Tue, 25 Nov 2025 16:00:00 +0000\r\n"
            "Message-ID: <%s@example.org>\r\n"
            % (sender, to, subject, "%x" % random.getrandbits(64))).encode()
    return head + extra_headers + b"\r\n" + body


def body_sha256(msg):
    """What transactions.body_sha256 holds for MSG: the SHA-256 of the mail
    data as received (RFC 5321 "mail data": header section, empty line and
    body), after dot-unstuffing, with the line ends as sent, without the
    terminating dot line."""
    return sha256_hex(msg)


def message_body(msg):
    """The body: what follows the first empty line (RFC 5322 section 2.1)."""
    i = msg.find(b"\r\n\r\n")
    assert i >= 0, "message without header/body separator"
    return msg[i + 4:]


def message_size(msg):
    """RFC 1870 section 3: octets incl. CRLFs, after dot-unstuffing, without
    the terminating dot line."""
    return len(msg)


def dot_stuff(msg):
    """The DATA stream for MSG (RFC 5321 4.5.2), final '.' line included.
    MSG must end in CRLF."""
    assert msg.endswith(b"\r\n")
    lines = msg.split(b"\r\n")[:-1]
    out = [(b"." + l if l.startswith(b".") else l) for l in lines]
    return b"\r\n".join(out) + b"\r\n.\r\n"


def parse_commands(s):
    """'ehlo=1 mail=1/2' -> {'ehlo': '1', 'mail': '1/2'} (order ignored)."""
    out = {}
    for tok in (s or "").split():
        k, _, v = tok.partition("=")
        out[k] = v
    return out


# --- ports ---------------------------------------------------------------

_used_bases = set()


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = f.read().split()
            return int(lo), int(hi)
    except (OSError, ValueError):
        return 32768, 60999


def _port_free(port):
    for fam, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        for typ in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(fam, typ)
            try:
                if fam == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s.bind((addr, port))
            except OSError:
                return False
            finally:
                s.close()
    return True


def pick_base_port(n=NPORTS):
    """A base port P such that P..P+n-1 are free for TCP and UDP on both
    127.0.0.1 and ::1, below the ephemeral range (no client socket takes
    them meanwhile), not used before in this run."""
    lo_eph, hi_eph = _ephemeral_range()
    lo, hi = 10000, lo_eph - n - 1
    if hi <= lo:
        lo, hi = hi_eph + 1, 65535 - n
    lo_all, hi_all = lo, hi
    # the runner gives each child process its own part of the range
    part = os.environ.get("MAILSCOPE_PORT_PART", "")
    m = re.match(r"^(\d+)/(\d+)$", part)
    if m and 0 <= int(m.group(1)) < int(m.group(2)):
        i, k = int(m.group(1)), int(m.group(2))
        width = (hi - lo) // k
        if width > 4 * n:
            lo, hi = lo + i * width, lo + (i + 1) * width - n
    # Every block of n ports in our part, from a random one on, then in
    # the whole range: a module that starts many daemons (each one keeps
    # its block for the run) must not run out of random tries.
    for a, b in ((lo, hi), (lo_all, hi_all)):
        slots = list(range(a, b, n))
        start = random.randrange(len(slots)) if slots else 0
        for base in slots[start:] + slots[:start]:
            if any(abs(base - u) < n for u in _used_bases):
                continue
            if all(_port_free(base + i) for i in range(n)):
                _used_bases.add(base)
                return base
    raise RuntimeError("no %d consecutive free ports found" % n)


# --- config --------------------------------------------------------------

_SECTION_RE = re.compile(r"^\s*\[\s*([^\]]*?)\s*\]\s*(?:[;#].*)?$")
_KEY_RE = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*[=:]")


def _section_name(raw):
    """'host  "tls"' -> 'host tls'."""
    parts = raw.replace('"', " ").split()
    return " ".join(parts)


def _strip_comment(value):
    return re.split(r"\s[;#]", " " + value, 1)[0].strip()


def config_set(text, section, key, value):
    """TEXT with KEY = VALUE in [SECTION]: its line replaced, or inserted
    right after the section header.  The section must exist."""
    lines = text.splitlines(True)
    want = _section_name(section)
    cur = None
    header = None
    for i, line in enumerate(lines):
        m = _SECTION_RE.match(line)
        if m:
            cur = _section_name(m.group(1))
            if cur == want and header is None:
                header = i
            continue
        if cur != want:
            continue
        m = _KEY_RE.match(line)
        if m and m.group(1) == key:
            lines[i] = "%s = %s\n" % (key, value)
            return "".join(lines)
    if header is None:
        raise KeyError("no section [%s] in config" % section)
    lines.insert(header + 1, "%s = %s\n" % (key, value))
    return "".join(lines)


def config_del(text, section, key):
    """TEXT without KEY in [SECTION]."""
    out, cur = [], None
    want = _section_name(section)
    for line in text.splitlines(True):
        m = _SECTION_RE.match(line)
        if m:
            cur = _section_name(m.group(1))
        elif cur == want:
            k = _KEY_RE.match(line)
            if k and k.group(1) == key:
                continue
        out.append(line)
    return "".join(out)


def config_sections(text):
    """[(section name, {key: value}, header line number)] in file order."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        m = _SECTION_RE.match(line)
        if m:
            out.append((_section_name(m.group(1)), {}, n))
            continue
        if not out or not line.strip() or line.lstrip()[:1] in ";#":
            continue
        k, sep, v = line.partition("=")
        if sep:
            out[-1][1][k.strip()] = _strip_comment(v)
    return out


def config_challenge_listen(text):
    """{(challenge, host, family): [(address, port), ...]} from the
    challenge_listen lines of every [host] (a key given on many lines)."""
    out, cur = {}, None
    for line in text.splitlines():
        m = _SECTION_RE.match(line)
        if m:
            cur = _section_name(m.group(1))
            continue
        k = _KEY_RE.match(line)
        if not (cur or "").startswith("host ") or not k or k.group(1) != "challenge_listen":
            continue
        challenge = None
        for tok in _strip_comment(line.partition("=")[2]).split():
            if tok[0] != "[" and not tok[0].isdigit():
                challenge = tok
                continue
            for fam, addr, port in parse_listen(tok):
                out.setdefault((challenge, cur[5:], fam), []).append((addr, port))
    return out


def config_path(conf, value):
    """A path of the config: relative ones start at the config's directory."""
    return os.path.join(os.path.dirname(os.path.abspath(conf)), value)


def parse_listen(value):
    """'127.0.0.1:2525 [::1]:2525' -> [(4, '127.0.0.1', 2525), (6, '::1', 2525)]."""
    out = []
    for tok in value.split():
        m = re.match(r"^\[([^\]]+)\]:(\d+)$", tok)
        if m:
            out.append((6, m.group(1), int(m.group(2))))
            continue
        m = re.match(r"^([0-9.]+):(\d+)$", tok)
        if not m:
            raise ValueError("bad listen address %r" % tok)
        out.append((4, m.group(1), int(m.group(2))))
    return out


# --- processes -----------------------------------------------------------

def run(argv, timeout=60, input=None, env=None, cwd=None):
    """subprocess.run capturing text output, with a scaled timeout."""
    return subprocess.run(argv, input=input, capture_output=True, text=True,
                          timeout=deadline(timeout), env=env, cwd=cwd)


def describe(cp):
    return "$ %s\nexit %s\n--- stdout ---\n%s--- stderr ---\n%s" % (
        " ".join(cp.args), cp.returncode, cp.stdout, cp.stderr)


def sanitizer_report(text):
    return any(m in text for m in SANITIZER_MARKS)


_cert_cache_dir = None


def _cert_cache():
    """A certs/ directory from one demo-config, copied into every daemon's
    directory before its own demo-config, so that keys are reused (certs.h:
    existing keys are reused) instead of generated for every daemon.
    MAILSCOPE_CERT_CACHE names one made by the runner for all modules."""
    global _cert_cache_dir
    shared = os.environ.get("MAILSCOPE_CERT_CACHE")
    if _cert_cache_dir is None and shared and os.path.isdir(os.path.join(shared, "certs")):
        _cert_cache_dir = shared         # made by the runner for its children
    if _cert_cache_dir is None:
        d = tempfile.mkdtemp(prefix="mailscope-certcache-")
        atexit.register(shutil.rmtree, d, True)
        cp = run([MAILSCOPE, "demo-config", "--out", d, "--base-port",
                  str(pick_base_port())])
        if cp.returncode != 0:
            raise AssertionError("demo-config failed\n" + describe(cp))
        _cert_cache_dir = d
    return os.path.join(_cert_cache_dir, "certs")


class DaemonError(AssertionError):
    pass


_live = set()       # daemons running now, killed at exit whatever happened


@atexit.register
def _kill_leftovers():
    for d in list(_live):
        if d.proc is not None and d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
        if not KEEP_TMP:
            shutil.rmtree(d.root, ignore_errors=True)


class Daemon:
    """One mailscoped with its own directory, config, ports and database.

    d = Daemon("name"); d.set_option("global", "max_per_ip", "2"); d.start()
    ... d.stop() (exit status checked) or d.kill(); d.close() always.
    """

    def __init__(self, name="mailscope", options=(), reuse_certs=True):
        require_binaries()
        self.name = name
        self.proc = None
        self.logf = None
        self.returncode = None
        self.probe_ports = []
        self._edits = []          # replayed after a new demo-config
        self._final_log = None
        self._reuse_certs = reuse_certs
        # short, as paths end up in config lines and in log lines
        self.root = tempfile.mkdtemp(prefix="ms-%s-" % name[:16])
        self.dir = None
        try:
            self._prepare()
            for sec, key, val in list(DEFAULT_OPTIONS) + list(options):
                self.set_option(sec, key, val)
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    # -- directory and config

    def _prepare(self):
        """A fresh demo-config on a new base port in a new directory."""
        self.base_port = pick_base_port()
        self.dir = tempfile.mkdtemp(prefix="p%d-" % self.base_port, dir=self.root)
        if self._reuse_certs:
            shutil.copytree(_cert_cache(), os.path.join(self.dir, "certs"))
        self.demo_config = self.tool("demo-config", "--out", self.dir,
                                     "--base-port", str(self.base_port),
                                     config=False)
        self.conf = os.path.join(self.dir, "mailscope.conf")
        self.log_path = os.path.join(self.dir, "mailscoped.log")
        for edit in self._edits:
            self._write(edit(self.config_text()))

    def config_text(self):
        with open(self.conf) as f:
            return f.read()

    def _write(self, text):
        with open(self.conf, "w") as f:
            f.write(text)

    def set_option(self, section, key, value):
        """KEY = VALUE in [SECTION] (replaced, or inserted after the header)."""
        edit = lambda t: config_set(t, section, key, value)
        self._edits.append(edit)
        self._write(edit(self.config_text()))

    def del_option(self, section, key):
        edit = lambda t: config_del(t, section, key)
        self._edits.append(edit)
        self._write(edit(self.config_text()))

    def sections(self):
        return config_sections(self.config_text())

    def option(self, section, key):
        for name, kv, _ in self.sections():
            if name == section and key in kv:
                return kv[key]
        return None

    @property
    def db_path(self):
        """[global] database; a relative path is taken from the config
        file's directory (as config_load() does)."""
        return config_path(self.conf, self.option("global", "database") or "mailscope.db")

    @property
    def certs(self):
        return os.path.join(self.dir, "certs")

    @property
    def ca(self):
        return os.path.join(self.certs, "ca.pem")

    def listeners(self):
        """{(section, family): (address, port)} from the config's listen lines."""
        out = {}
        for name, kv, _ in self.sections():
            if "listen" not in kv:
                continue
            if name.startswith("host "):
                name = name[5:]
            for fam, addr, port in parse_listen(kv["listen"]):
                out[(name, fam)] = (addr, port)
        return out

    def addr(self, host, family=4):
        try:
            return self.listeners()[(host, family)]
        except KeyError:
            raise DaemonError("no listener for [%s] family %d in %s"
                              % (host, family, self.conf))

    def port(self, host, family=4):
        return self.addr(host, family)[1]

    def challenge_listeners(self):
        """{(challenge, host, family): [(address, port), ...]}: the
        challenges' own addresses (challenge_listen)."""
        return config_challenge_listen(self.config_text())

    def challenge_addr(self, challenge, family=4, host=None):
        """(address, port) of CHALLENGE of its own, on HOST (default: the
        host of its first MX)."""
        host = host or CHALLENGE_HOSTS[challenge][0]
        try:
            return self.challenge_listeners()[(challenge, host, family)][0]
        except KeyError:
            raise DaemonError("no challenge_listen for %s on [host %s] family %d in %s"
                              % (challenge, host, family, self.conf))

    # -- the tool

    def tool(self, *args, config=True, check=True, timeout=60):
        argv = valgrind([MAILSCOPE] + (["-c", self.conf] if config else []) + list(args),
                        tool=True)
        cp = run(argv, timeout=timeout, cwd=self.dir)
        if check and (cp.returncode != 0 or sanitizer_report(cp.stderr)):
            raise DaemonError("mailscope failed\n" + describe(cp))
        return cp

    def new_test(self):
        """{'id': ..., 'addresses': {challenge: address}} from new-test --json."""
        cp = self.tool("new-test", "--json")
        try:
            t = json.loads(cp.stdout)
        except ValueError as e:
            raise DaemonError("new-test --json: not JSON (%s)\n%s" % (e, describe(cp)))
        return t

    # -- process

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, attempts=3):
        """Start and wait until every listener of the config accepts
        connections.  A port taken meanwhile by someone else gives a new
        demo-config on other ports (ATTEMPTS times)."""
        for attempt in range(attempts):
            try:
                self._start_once()
                return self
            except DaemonError:
                if self.running:
                    self.proc.kill()
                    self.proc.wait()
                self._reap()
                if attempt + 1 < attempts and "in use" in self.log().lower():
                    self._prepare()     # other ports, a new directory
                    continue
                raise

    def _start_once(self):
        self.logf = open(self.log_path, "ab")
        self.returncode = None
        self.proc = subprocess.Popen(
            valgrind([MAILSCOPED, "-c", self.conf, "-f", "-v"]), cwd=self.dir,
            stdin=subprocess.DEVNULL, stdout=self.logf, stderr=subprocess.STDOUT)
        _live.add(self)
        self.probe_ports = []
        pending = sorted(set((a, p) for (sec, fam), (a, p) in self.listeners().items()
                             if sec in HOSTS))
        end = time.monotonic() + deadline(15)
        while pending:
            self._still_starting(end, "listening on %s" % pending)
            try:
                self._probe(*pending[0], timeout=1).close()
                pending.pop(0)
            except OSError:
                time.sleep(0.02)
        # Bound is not serving: the event loop may still be opening the
        # database.  Serving means a reply (220, or 421 at a limit).
        addr, port = sorted(set(v for (sec, fam), v in self.listeners().items()
                                if sec in HOSTS))[0]
        while True:
            self._still_starting(end, "serving")
            try:
                s = self._probe(addr, port, timeout=max(0.1, end - time.monotonic()))
            except OSError:
                time.sleep(0.02)
                continue
            try:
                line = s.recv(512)
            except OSError:
                line = b""
            finally:
                s.close()
            if line[:4] in (b"220 ", b"220-", b"421 "):
                return
            time.sleep(0.02)

    def _still_starting(self, end, doing):
        """Fails with the log when the daemon exited, or END passed, before
        DOING."""
        if self.proc.poll() is not None:
            raise DaemonError("mailscoped exited with %s before %s\n%s"
                              % (self.proc.returncode, doing, self.log_tail()))
        if time.monotonic() > end:
            raise DaemonError("mailscoped not %s after %.0fs\n%s"
                              % (doing, deadline(15), self.log_tail()))

    def _probe(self, addr, port, timeout):
        """A connection to ADDR:PORT, its Endpoint noted in probe_ports
        (wait_probes_closed)."""
        s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET,
                          socket.SOCK_STREAM)
        s.settimeout(timeout)
        since = time.time()
        try:
            s.connect((addr, port))
        except OSError:
            s.close()
            raise
        self.probe_ports.append(Endpoint.of(s, since))
        return s

    def wait_probes_closed(self):
        """Wait until the readiness probes' connections are closed in the
        database, so that they no longer count toward connection limits."""
        for ep in self.probe_ports:
            self.connection(ep)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout=10):
        try:
            self.returncode = self.proc.wait(deadline(timeout))
        except subprocess.TimeoutExpired:
            raise DaemonError("mailscoped (pid %d) still running %.0fs later\n%s"
                              % (self.proc.pid, deadline(timeout), self.log_tail()))
        return self.returncode

    def stop(self, check=True, timeout=10):
        """SIGTERM, wait; SIGKILL after the deadline.  With CHECK, a
        non-zero exit or a sanitizer report in the log is an error."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.returncode = self.proc.wait(deadline(timeout))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._reap()
                raise DaemonError("mailscoped ignored SIGTERM for %.0fs; killed\n%s"
                                  % (deadline(timeout), self.log_tail()))
        self.returncode = self.proc.returncode
        self._reap()
        if check:
            self.check_exit()
        return self.returncode

    def check_exit(self):
        log = self.log()
        if self.returncode != 0:
            raise DaemonError("mailscoped exited with %s\n%s"
                              % (self.returncode, self.log_tail()))
        if sanitizer_report(log):
            raise DaemonError("sanitizer report in the daemon's log\n%s" % self.log_tail(400))

    def kill(self):
        """SIGKILL: no flush, no goodbye."""
        if self.running:
            self.proc.kill()
        if self.proc is not None:
            self.returncode = self.proc.wait()
        self._reap()

    def _reap(self):
        if self.proc is not None and self.proc.poll() is not None:
            self.returncode = self.proc.returncode
            self.proc = None
        if self.logf is not None:
            self.logf.close()
            self.logf = None

    def close(self):
        """Stop if running (checked), then remove the directory."""
        try:
            if self.proc is not None:
                self.stop(check=True)
        finally:
            self._final_log = self.log()
            _live.discard(self)
            if not KEEP_TMP:
                shutil.rmtree(self.root, ignore_errors=True)

    # -- log

    def log(self):
        if self._final_log is not None:
            return self._final_log
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=150):
        lines = self.log().splitlines()
        head = "--- mailscoped log (%s%s) ---\n" % (
            self.log_path, ", last %d lines" % n if len(lines) > n else "")
        return head + "\n".join(lines[-n:]) + "\n--- end of log ---"

    # -- database

    def db(self, readonly=True):
        if readonly:
            con = sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True,
                                  timeout=deadline(5))
        else:   # never creates a database
            con = sqlite3.connect("file:%s?mode=rw" % self.db_path, uri=True,
                                  timeout=deadline(5))
        con.row_factory = sqlite3.Row
        return con

    def query(self, sql, params=(), readonly=True):
        con = self.db(readonly)
        try:
            return [dict(r) for r in con.execute(sql, params).fetchall()]
        finally:
            con.close()

    def query_one(self, sql, params=(), readonly=True):
        rows = self.query(sql, params, readonly)
        if len(rows) != 1:
            raise DaemonError("expected one row, got %d: %s %r\n%s"
                              % (len(rows), sql, params, rows))
        return rows[0]

    def wait_for(self, sql, params=(), timeout=5, what=None):
        """Poll SQL until it returns a row; return the rows.  A timeout
        fails with the daemon's log."""
        end = time.monotonic() + deadline(timeout)
        last_err = None
        while True:
            try:
                rows = self.query(sql, params)
                if rows:
                    return rows
            except sqlite3.Error as e:     # not created yet, busy
                last_err = e
            if time.monotonic() > end:
                raise DaemonError("timed out after %.1fs waiting for %s\n  %s %r%s\n%s"
                                  % (deadline(timeout), what or "a row", sql, params,
                                     "\n  last error: %s" % last_err if last_err else "",
                                     self.log_tail()))
            time.sleep(0.02)

    def connection(self, client, timeout=5):
        """The finished connection row of CLIENT (a RawSMTP or an Endpoint):
        the one connection it made, even when its client port was used
        before, by an earlier daemon on this database or toward another
        listener (Endpoint.where)."""
        ep = endpoint_of(client)
        where, params = ep.where("started")
        return self.wait_for(
            "SELECT * FROM connections WHERE id = (SELECT min(id) FROM connections"
            " WHERE %s) AND ended IS NOT NULL" % where, params, timeout,
            what="connection %s to end" % ep)[0]

    def connection_id(self, client, timeout=5):
        """The id of CLIENT's connection, ended or not (its row is written
        at accept)."""
        ep = endpoint_of(client)
        where, params = ep.where("started")
        return self.wait_for(
            "SELECT min(id) AS id FROM connections WHERE %s HAVING id IS NOT NULL"
            % where, params, timeout, what="connection %s" % ep)[0]["id"]

    # -- clients

    def smtp(self, host, family=4, greet=True, source=None, timeout=5,
             challenge=None):
        """A RawSMTP connected to HOST (its shared address; with
        CHALLENGE, that challenge's own address on HOST); the greeting
        read (and checked 220)."""
        if challenge is not None:
            addr, port = self.challenge_addr(challenge, family, host)
        else:
            addr, port = self.addr(host, family)
        try:
            c = RawSMTP(addr, port, timeout=timeout, source=source)
        except OSError as e:
            raise DaemonError("connect to %s %s:%d: %s%s\n%s" % (
                host, addr, port, e,
                "" if self.running else " (daemon exited: %s)" % self._exit_status(),
                self.log_tail()))
        c.daemon = self
        if greet:
            c.greeting = c.read_reply()
            if c.greeting.code != 220:
                raise DaemonError("greeting: %s" % c.greeting)
        return c

    def _exit_status(self):
        if self.proc is not None:
            return self.proc.poll()
        return self.returncode

    def smtplib(self, host, family=4, timeout=5):
        addr, port = self.addr(host, family)
        return smtplib.SMTP(addr, port, timeout=deadline(timeout),
                            local_hostname="client.example")

    def tls_context(self, verify=True, check_hostname=False, minimum=ssl.TLSVersion.TLSv1_2,
                    maximum=None, curve=None, ciphers=None):
        """A client context trusting the demo CA (certs/ca.pem)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = check_hostname
        if verify:
            ctx.load_verify_locations(cafile=self.ca)
            ctx.verify_mode = ssl.CERT_REQUIRED
        else:
            ctx.verify_mode = ssl.CERT_NONE
        if ciphers:
            ctx.set_ciphers(ciphers)
        if minimum is not None:
            ctx.minimum_version = minimum
        if maximum is not None:
            ctx.maximum_version = maximum
        if curve:
            ctx.set_ecdh_curve(curve)
        return ctx

    def address(self, test, host=None, challenge=None):
        """The address of TEST for CHALLENGE (or the challenge of HOST)."""
        challenge = challenge or HOST_CHALLENGE[host]
        return test["addresses"][challenge]


def mx_name(challenge):
    """catalog_mx_name(): the MX host name of a challenge."""
    return "mx.%s.%s" % (challenge, BASE_DOMAIN)


# --- which rows are ours --------------------------------------------------

class Endpoint:
    """One connection (or UDP exchange) of a test client to the daemon: the
    client's address and port, the daemon's, and the wall-clock time just
    before connect().  A client port alone is ambiguous: it repeats across a
    restart of the daemon on the same database, and the kernel may give one
    port to connections toward two listeners at once.  The rows of this
    connection are the earliest with this client address and port, toward
    this listener, that started no earlier than SINCE (the daemon stamps
    them after accept(), on the same clock)."""

    def __init__(self, client_addr, client_port, server_addr, server_port, since):
        self.client_addr, self.client_port = client_addr, client_port
        self.server_addr, self.server_port = server_addr, server_port
        self.since = since

    @classmethod
    def of(cls, sock, since):
        """The endpoint of a connected socket; SINCE: time.time() before
        its connect()."""
        caddr, cport = sock.getsockname()[:2]
        saddr, sport = sock.getpeername()[:2]
        return cls(caddr, cport, saddr, sport, since)

    @property
    def local_addr(self):
        """The listener as the daemon stores it ("127.0.0.1:25", "[::1]:25")."""
        if ":" in self.server_addr:
            return "[%s]:%d" % (self.server_addr, self.server_port)
        return "%s:%d" % (self.server_addr, self.server_port)

    def where(self, time_column):
        """(SQL condition, params) matching the rows of this connection in a
        table with client_addr, client_port, local_addr and TIME_COLUMN.
        Our rows come first among those (ORDER BY id): while our socket is
        open nobody else has its address pair."""
        return ("client_addr = ? AND client_port = ? AND local_addr = ? AND %s >= ?"
                % time_column,
                (self.client_addr, self.client_port, self.local_addr,
                 self.since - 0.001))

    def __str__(self):
        return "from %s port %d to %s since %.3f" % (
            self.client_addr, self.client_port, self.local_addr, self.since)


def endpoint_of(client):
    """CLIENT's Endpoint: CLIENT is one, or has one (RawSMTP.endpoint)."""
    if isinstance(client, Endpoint):
        return client
    ep = getattr(client, "endpoint", None)
    if not isinstance(ep, Endpoint):
        raise TypeError("%r: not an Endpoint nor a client with one (a client "
                        "port alone is ambiguous, see Endpoint)" % (client,))
    return ep


# --- a line client -------------------------------------------------------

class Reply:
    """One SMTP reply: code, lines (text after 'NNN-'/'NNN '), enhanced status."""

    def __init__(self, raw_lines):
        self.raw = raw_lines
        self.code = int(raw_lines[-1][:3])
        self.lines = [l[4:] for l in raw_lines]
        m = re.match(r"^([245]\.\d{1,3}\.\d{1,3})(?:\s|$)", self.lines[0])
        self.status = m.group(1) if m else None

    @property
    def text(self):
        return "\n".join(self.lines)

    def __str__(self):
        return " | ".join(self.raw)

    __repr__ = __str__


class RawSMTP:
    """A socket speaking SMTP line by line; bytes are sent as given."""

    def __init__(self, addr, port, timeout=5, source=None):
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.settimeout(deadline(timeout))
        if source:
            self.sock.bind((source, 0))
        since = time.time()
        try:
            self.sock.connect((addr, port))
        except OSError:
            self.sock.close()
            raise
        self.endpoint = Endpoint.of(self.sock, since)
        self.local_addr, self.local_port = self.sock.getsockname()[:2]
        self.buf = b""
        self.greeting = None
        self.tls = False
        self.daemon = None
        self.transcript = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def settimeout(self, t):
        self.sock.settimeout(deadline(t))

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.transcript.append(("C", data))
        self.sock.sendall(data)

    def cmd(self, line):
        """Send LINE + CRLF, return the reply."""
        if isinstance(line, str):
            line = line.encode()
        self.send(line + b"\r\n")
        return self.read_reply()

    def _fill(self):
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise AssertionError("no reply within %.1fs; received so far %r%s"
                                 % (self.sock.gettimeout(), self.buf, self._ctx()))
        except (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
            data = b""
        if not data:
            raise EOFError("connection closed; pending %r" % self.buf)
        self.transcript.append(("S", data))
        self.buf += data

    def _ctx(self):
        return "\n" + self.daemon.log_tail(60) if self.daemon else ""

    def read_line(self):
        while b"\n" not in self.buf:
            self._fill()
        line, _, self.buf = self.buf.partition(b"\n")
        if not line.endswith(b"\r"):
            raise AssertionError("reply line not ended by CRLF: %r" % line)
        return line[:-1].decode("utf-8", "replace")

    def read_reply(self):
        lines = []
        while True:
            line = self.read_line()
            if not re.match(r"^[2-5]\d\d([ -]|$)", line):
                raise AssertionError("malformed reply line %r after %r" % (line, lines))
            if lines and line[:3] != lines[0][:3]:
                raise AssertionError("reply code changed within a reply: %r %r" % (lines, line))
            lines.append(line)
            if len(line) == 3 or line[3] == " ":
                return Reply(lines)

    def read_replies(self, n):
        return [self.read_reply() for _ in range(n)]

    def expect_eof(self, timeout=3):
        """The server closes: EOF (or reset) and nothing more."""
        self.sock.settimeout(deadline(timeout))
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                self.buf += data
        except socket.timeout:
            raise AssertionError("connection still open after %.1fs%s"
                                 % (deadline(timeout), self._ctx()))
        except (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError,
                BrokenPipeError):
            pass
        except ssl.SSLError as e:
            if "EOF" not in str(e) and "closed" not in str(e):
                raise
        if self.buf:
            raise AssertionError("unexpected bytes before close: %r" % self.buf)
        return True

    def ehlo(self, name="client.example"):
        r = self.cmd("EHLO " + name)
        if r.code != 250:
            raise AssertionError("EHLO: %s" % r)
        return r

    def starttls(self, context, server_hostname=None):
        """STARTTLS, check 220 and that nothing else was sent before the
        handshake, then the handshake."""
        r = self.cmd("STARTTLS")
        if r.code != 220:
            raise AssertionError("STARTTLS: %s" % r)
        return self.handshake(context, server_hostname)

    def handshake(self, context, server_hostname=None):
        if self.buf:
            raise AssertionError("cleartext bytes after the 220 to STARTTLS: %r" % self.buf)
        self.sock = context.wrap_socket(self.sock, server_hostname=server_hostname)
        self.tls = True
        return self.sock

    def send_mail(self, mail_from, rcpts, msg):
        """MAIL, RCPT..., DATA, message; every reply checked; returns the final one."""
        r = self.cmd("MAIL FROM:<%s>" % mail_from)
        if r.code != 250:
            raise AssertionError("MAIL: %s" % r)
        for a in rcpts:
            r = self.cmd("RCPT TO:<%s>" % a)
            if r.code != 250:
                raise AssertionError("RCPT %s: %s" % (a, r))
        r = self.cmd("DATA")
        if r.code != 354:
            raise AssertionError("DATA: %s" % r)
        self.send(dot_stuff(msg))
        return self.read_reply()

    def quit(self):
        r = self.cmd("QUIT")
        if r.code != 221:
            raise AssertionError("QUIT: %s" % r)
        self.expect_eof()
        return r


# --- test case base ------------------------------------------------------

class DaemonTestCase(unittest.TestCase):
    """One daemon per class (OPTIONS: [(section, key, value)]) started in
    setUpClass and stopped (exit status checked) after the class."""

    options = []

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(cls.__name__, options=cls.options)
        cls.addClassCleanup(cls.d.close)
        cls.d.start()

    def assertReply(self, reply, code, status=None, msg=None):
        self.assertIsInstance(reply, Reply)
        if reply.code != code or (status is not None and reply.status != status):
            self.fail("expected %d%s, got %s%s" % (
                code, " " + status if status else "", reply,
                " (%s)" % msg if msg else ""))

    def new_test(self):
        return self.d.new_test()

    def assertCommands(self, row, expected):
        """connections.commands equals EXPECTED ({verb: 'ok' or 'ok/total'}),
        in any order; a Postfix-style total "commands=N" may follow and
        must then be the sum of the totals."""
        got = parse_commands(row["commands"])
        total = got.pop("commands", None)
        self.assertEqual(got, {k: str(v) for k, v in expected.items()},
                         "commands summary %r" % row["commands"])
        if total is not None:
            oks = sum(int(v.split("/")[0]) for v in got.values())
            alls = sum(int(v.split("/")[-1]) for v in got.values())
            self.assertIn(total, ("%d" % alls if oks == alls else "%d/%d" % (oks, alls),),
                          "commands=N is not the sum: %r" % row["commands"])

    def assertNoTransaction(self, conn_id):
        rows = self.d.query("SELECT * FROM transactions WHERE connection_id = ?", (conn_id,))
        self.assertEqual(rows, [], "no transaction expected")


class ConfigCase(unittest.TestCase):
    """One Daemon per class that is never started: its directory, demo
    config and tool, for tests of the config and of `mailscope`."""

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(cls.__name__)
        cls.addClassCleanup(cls.d.close)


def all_daemons(test):
    """Daemons a test or its class refers to (for the runner's log dump)."""
    seen = []
    objs = list(vars(test).values()) if hasattr(test, "__dict__") else []
    for klass in type(test).__mro__:
        objs.extend(vars(klass).values())
    for o in objs:
        if isinstance(o, Daemon) and o not in seen:
            seen.append(o)
    return seen
