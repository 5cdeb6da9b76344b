"""The host profiles as an outside scanner sees them: testssl.sh (Debian
package testssl.sh, installed by contrib/install-deps) probes every TLS
host with STARTTLS for the protocols it offers (-p) and the standard
cipher categories (-s), and its JSON findings must match
docs/tls-profiles.md.  A second daemon with strong and medium
misconfigured on purpose shows that the check catches a host offering
what it must not.  MAILSCOPE_TESTSSL_JOBS: scans at once (default: two
per CPU)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

import harness
from harness import Daemon, DaemonTestCase, deadline

TESTSSL = "testssl"     # /usr/bin/testssl of testssl.sh 3.0.x
# Scans at once.  One scan is mostly CPU (a shell script forking openssl
# and helpers), so more than a few per core gains nothing; the scans run
# niced so that modules running beside this one keep their pace.
MAX_SCANS = int(os.environ.get("MAILSCOPE_TESTSSL_JOBS") or 2 * (os.cpu_count() or 1))

# The ids testssl.sh 3.0.8 gives these findings in its JSON (-p, -s).
PROTOCOL_IDS = ("SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3")
# -s: NULL = eNULL suites, aNULL = anonymous (ADH/AECDH), EXPORT, LOW
# (64-bit and DES, RC2, RC4), 3DES_IDEA, AVERAGE = "obsolete CBC ciphers"
# (3.1 calls it OBSOLETED), STRONG = AEAD suites, TLS 1.3 ones included.
CBC = "cipherlist_AVERAGE"
CIPHER_ALIASES = {CBC: ("cipherlist_AVERAGE", "cipherlist_OBSOLETED")}

# docs/tls-profiles.md: the versions each host offers.  testssl.sh 3.0.8
# tests protocols with its own sockets ("Testing protocols via sockets"),
# not through the local OpenSSL, so SSLv2, SSLv3, TLS 1.0 and 1.1 are
# reported even though Debian's OpenSSL 3 client has no SSLv2/SSLv3 and
# refuses TLS 1.0/1.1 at its default security level; all six are asserted
# exactly (the control daemon's medium shows TLS 1.0/1.1 detected).
ALL_VERSIONS = {"TLS1", "TLS1_1", "TLS1_2", "TLS1_3"}
PROTOCOLS = {
    "open": ALL_VERSIONS, "grey": ALL_VERSIONS, "tls": ALL_VERSIONS,
    "tls-bad": ALL_VERSIONS,
    "tls13": {"TLS1_3"},
    "tls12": {"TLS1", "TLS1_1", "TLS1_2"},
    "strong": {"TLS1_2", "TLS1_3"},
    "medium": {"TLS1_2"},
}

# Cipher categories: True = must be offered, False = must not; a category
# left out is not asserted.  No host may offer NULL or EXPORT suites.
NEVER = {"cipherlist_NULL": False, "cipherlist_EXPORT": False}
# The restricted strings exclude aNULL, and LOW and 3DES match none of them.
NARROW = dict(NEVER, cipherlist_aNULL=False, cipherlist_LOW=False,
              cipherlist_3DES_IDEA=False)
# The "all" hosts (ALL:COMPLEMENTOFDEFAULT:!eNULL:!aNULL:@SECLEVEL=0):
# everything the library has but anonymous suites, so that every host
# presents its certificate (a sender preferring an anonymous suite would
# otherwise look as if it did not validate the tls-bad certificate).  LOW
# and 3DES are left to the library (Debian's OpenSSL 3.0 has neither), so
# they are not asserted there.
EVERYTHING = dict(NEVER, cipherlist_aNULL=False, **{CBC: True}, cipherlist_STRONG=True)
CIPHERS = {
    "open": EVERYTHING, "grey": EVERYTHING, "tls": EVERYTHING, "tls-bad": EVERYTHING,
    "tls12": EVERYTHING,
    # every TLS 1.3 suite is AEAD
    "tls13": dict(NARROW, **{CBC: False}, cipherlist_STRONG=True),
    # forward-secret AEAD only
    "strong": dict(NARROW, **{CBC: False}, cipherlist_STRONG=True),
    # forward-secret CBC, none of the strong ones
    "medium": dict(NARROW, **{CBC: True}, cipherlist_STRONG=False),
}

# The control daemon: strong with medium's settings, medium with
# everything including eNULL and every version.
CONTROL_OPTIONS = [
    ("host strong", "protocols", "TLSv1.2"),
    ("host strong", "ciphers", "medium"),
    ("host medium", "protocols", "TLSv1-TLSv1.3"),
    ("host medium", "ciphers", "ALL:eNULL:@SECLEVEL=0"),
]


def expectations(host):
    """{finding id: must be offered} for HOST."""
    want = {p: p in PROTOCOLS[host] for p in PROTOCOL_IDS}
    want.update(CIPHERS[host])
    return want


def offered(finding):
    """testssl's finding -> True / False; None when it is neither (a test
    that could not be done, a connection problem)."""
    f = finding.strip().lower()
    if f.startswith("not offered"):
        return False
    if f.startswith("offered"):
        return True
    return None


def violations(host, findings):
    """What FINDINGS ({id: finding}) show against HOST's profile, sorted:
    'TLS1_3 offered', 'cipherlist_STRONG not offered', 'X: <odd finding>'."""
    out = []
    for fid, want in expectations(host).items():
        got = None
        for alias in CIPHER_ALIASES.get(fid, (fid,)):
            if alias in findings:
                got = findings[alias]
                break
        if got is None:
            out.append("%s: not reported" % fid)
        elif offered(got) is None:
            out.append("%s: %s" % (fid, got))
        elif offered(got) != want:
            out.append("%s %s" % (fid, "offered" if offered(got) else "not offered"))
    return sorted(out)


def find_testssl():
    path = shutil.which(TESTSSL)
    if path is None:
        raise AssertionError("testssl not found in PATH: install the Debian package "
                             "testssl.sh (contrib/install-deps does)")
    return path


class Scan:
    """One testssl run against ADDR:PORT (STARTTLS SMTP), its JSON and
    console output written to DIR."""

    def __init__(self, testssl, label, addr, port, dir):
        self.dir = dir
        self.label = label
        self.port = port
        self.json = os.path.join(dir, "testssl-%s.json" % label)
        self.out = os.path.join(dir, "testssl-%s.out" % label)
        self.argv = [testssl, "--starttls", "smtp", "-p", "-s",
                     "--jsonfile", self.json, "--warnings", "off", "--quiet",
                     "--color", "0", "--nodns", "none", "%s:%d" % (addr, port)]
        self.rc = None
        self.findings = None
        self.error = None
        self.took = None
        self.proc = None

    def start(self):
        self._t0 = time.monotonic()
        self._outf = open(self.out, "wb")
        # its own process group: testssl forks openssl and helpers
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=self._outf, stderr=subprocess.STDOUT,
                                     cwd=self.dir, start_new_session=True,
                                     preexec_fn=lambda: os.nice(10))

    def poll(self):
        """True once finished (and parsed)."""
        if self.proc.poll() is None:
            return False
        self._finish(self.proc.returncode)
        return True

    def kill(self):
        """The deadline passed: the whole process group goes."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.error = "testssl did not finish before the deadline; killed"
        self._finish(None)

    def _finish(self, rc):
        self.rc = rc
        self._outf.close()
        self.took = time.monotonic() - self._t0
        if self.error is None:
            self._parse()

    def _parse(self):
        if self.rc != 0:
            self.error = "testssl exited with %s" % self.rc
            return
        try:
            with open(self.json) as f:
                entries = json.load(f)
        except (OSError, ValueError) as e:
            self.error = "no JSON from testssl: %s" % e
            return
        ours = [e for e in entries if e.get("port") == str(self.port)]
        self.findings = {e["id"]: e.get("finding", "") for e in ours}
        if not self.findings:
            self.error = "no findings for port %d in %s" % (self.port, self.json)

    def describe(self):
        try:
            with open(self.out, "rb") as f:
                out = f.read().decode("utf-8", "replace")
        except OSError:
            out = ""
        return "$ %s\nexit %s after %.1fs\n--- output ---\n%s--- findings ---\n%s" % (
            " ".join(self.argv), self.rc, self.took or 0, out,
            "\n".join("%s: %s" % kv for kv in sorted((self.findings or {}).items())))


class TestsslProfiles(DaemonTestCase):
    """testssl -p -s against every TLS host of one daemon and two hosts of
    the control daemon, MAX_SCANS at a time, in setUpClass; each test
    checks one scan's findings."""

    @classmethod
    def setUpClass(cls):
        testssl = find_testssl()       # a missing tool fails, it is installed
        super().setUpClass()
        cls.control = Daemon("TestsslControl", options=CONTROL_OPTIONS)
        cls.addClassCleanup(cls.control.close)
        cls.control.start()
        targets = [(h, cls.d, h) for h in harness.TLS_HOSTS]
        targets += [("control-%s" % h, cls.control, h) for h in ("strong", "medium")]
        cls.scans = {}
        for label, d, host in targets:
            addr, port = d.addr(host)
            cls.scans[label] = Scan(testssl, label, addr, port, d.dir)
        cls.run_scans(list(cls.scans.values()))

    @classmethod
    def run_scans(cls, pending):
        """At most MAX_SCANS at a time, all within one deadline."""
        t0 = time.monotonic()
        end = t0 + deadline(300)
        running = []
        try:
            while pending or running:
                while pending and len(running) < MAX_SCANS:
                    s = pending.pop(0)
                    s.start()
                    running.append(s)
                running = [s for s in running if not s.poll()]
                if time.monotonic() > end:
                    break
                time.sleep(0.05)
        finally:
            for s in running:
                s.kill()
            for s in pending:
                s.error = "not run: the deadline passed first"
        slowest = max(cls.scans.values(), key=lambda s: s.took or 0)
        sys.stderr.write("# testssl: %d scans, %d at a time, %.1fs (slowest: %s %.1fs)\n"
                         % (len(cls.scans), MAX_SCANS, time.monotonic() - t0,
                            slowest.label, slowest.took or 0))

    def scan(self, label):
        s = self.scans[label]
        if s.error:
            self.fail("%s: %s\n%s" % (label, s.error, s.describe()))
        return s

    def check_host(self, host):
        s = self.scan(host)
        self.assertEqual(violations(host, s.findings), [],
                         "host %s does not match docs/tls-profiles.md\n%s"
                         % (host, s.describe()))

    def test_open_offers_every_version_and_class(self):
        self.check_host("open")

    def test_grey_offers_every_version_and_class(self):
        self.check_host("grey")

    def test_tls_offers_every_version_and_class(self):
        self.check_host("tls")

    def test_tls_bad_offers_every_version_and_class(self):
        self.check_host("tls-bad")

    def test_tls13_offers_only_tls13(self):
        self.check_host("tls13")

    def test_tls12_offers_tls10_to_tls12_not_tls13(self):
        self.check_host("tls12")

    def test_strong_offers_aead_and_no_cbc(self):
        self.check_host("strong")

    def test_medium_offers_cbc_and_no_aead_on_tls12_only(self):
        self.check_host("medium")

    def test_check_catches_strong_host_with_medium_settings(self):
        """strong configured as medium: no TLS 1.3, CBC, no AEAD."""
        s = self.scan("control-strong")
        self.assertEqual(violations("strong", s.findings),
                         ["TLS1_3 not offered", "cipherlist_AVERAGE offered",
                          "cipherlist_STRONG not offered"], s.describe())

    def test_check_catches_medium_host_offering_null_and_aead(self):
        """medium configured with everything and eNULL: every version,
        NULL, anonymous and AEAD suites are flagged."""
        s = self.scan("control-medium")
        self.assertEqual(violations("medium", s.findings),
                         sorted(["TLS1 offered", "TLS1_1 offered", "TLS1_3 offered",
                                 "cipherlist_NULL offered", "cipherlist_aNULL offered",
                                 "cipherlist_STRONG offered"]), s.describe())


if __name__ == "__main__":
    unittest.main()
