"""Every TLS host of the catalogue, proven from outside: the real
`openssl s_client -starttls smtp` against each host's protocol range,
cipher class and certificate (CHALLENGES.md "Hosts", docs/tls-profiles.md),
and the connection row the daemon recorded for each attempt.

One daemon for the module; every case is its own test method, generated
from the tables below, so that a failure names the host and the variant.
A connection row is found by its EHLO name, unique per case (s_client
sends it before STARTTLS with -name, and again inside TLS from stdin)."""

import random
import re
import subprocess
import unittest

import harness
from harness import DaemonTestCase, describe, mx_name, run

# docs/tls-profiles.md, "protocols": what each host must accept.
VERSIONS = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
PROTOCOLS = {
    "open": VERSIONS,
    "grey": VERSIONS,
    "tls": VERSIONS,
    "tls-bad": VERSIONS,
    "tls13": ["TLSv1.3"],
    "tls12": ["TLSv1", "TLSv1.1", "TLSv1.2"],
    "strong": ["TLSv1.2", "TLSv1.3"],
    "medium": ["TLSv1.2"],
}
# the `protocols` line demo-config writes for that range
PROTOCOLS_LINE = {
    "open": "TLSv1-TLSv1.3", "grey": "TLSv1-TLSv1.3", "tls": "TLSv1-TLSv1.3",
    "tls-bad": "TLSv1-TLSv1.3", "tls13": "TLSv1.3", "tls12": "TLSv1-TLSv1.2",
    "strong": "TLSv1.2-TLSv1.3", "medium": "TLSv1.2",
}
# s_client's flag for exactly one version; OpenSSL 3.0 refuses TLS 1.0/1.1
# at its default security level, hence SECLEVEL=0 on the client for those.
CLIENT_VERSION = {
    "TLSv1": ["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"],
    "TLSv1.1": ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"],
    "TLSv1.2": ["-tls1_2"],
    "TLSv1.3": ["-tls1_3"],
}

# docs/tls-profiles.md, "TLS <= 1.2 cipher string" per `ciphers` class.
HOST_CIPHERS = {
    "all": "ALL:COMPLEMENTOFDEFAULT:!eNULL:@SECLEVEL=0",
    "strong": "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!PSK:!SRP",
    "medium": "ECDHE+AES:DHE+AES:!AESGCM:!AESCCM:!aNULL:!PSK:!SRP:@SECLEVEL=1",
}
HOST_CLASS = {"open": "all", "grey": "all", "tls": "all", "tls-bad": "all",
              "tls13": "all", "tls12": "all", "strong": "strong", "medium": "medium"}

# TLS 1.2 clients of one cipher class each: (name, s_client arguments,
# {host: accepted?}).  The server takes the client's preference (docs), so
# the negotiated suite is the client's first one the host has.
MEDIUM_ONLY = "ECDHE+AES:!AESGCM:!AESCCM"
STRONG_ONLY = "ECDHE+AESGCM:ECDHE+CHACHA20"
CIPHER_CLIENTS = [
    ("medium_only", MEDIUM_ONLY,
     {"open": True, "tls": True, "tls12": True, "medium": True, "strong": False}),
    ("strong_only", STRONG_ONLY,
     {"open": True, "strong": True, "medium": False}),
]
# TLS 1.3: `all` hosts have the five suites (CCM included), `strong` three.
TLS13_CCM = "TLS_AES_128_CCM_SHA256"
TLS13_CCM_HOSTS = {"open": True, "tls13": True, "strong": False}

AEAD_MARKS = ("GCM", "CHACHA20", "CCM")
ALERT_TEXT = {          # how s_client reports an alert it received
    "protocol_version": "alert protocol version",
    "handshake_failure": "alert handshake failure",
}


def slug(s):
    """'TLSv1' -> 'tls1_0', 'TLSv1.2' -> 'tls1_2', 'tls-bad' -> 'tls_bad'."""
    if s == "TLSv1":
        return "tls1_0"
    return s.lower().replace("tlsv", "tls").replace(".", "_").replace("-", "_")


_cipher_lists = {}


def openssl_ciphers(string):
    """The TLS <= 1.2 suites of STRING in OpenSSL's order (no TLS 1.3 ones)."""
    if string not in _cipher_lists:
        cp = run(["openssl", "ciphers", "-tls1_2", string], timeout=10)
        if cp.returncode != 0:
            raise AssertionError("openssl ciphers failed\n" + describe(cp))
        _cipher_lists[string] = [c for c in cp.stdout.strip().split(":")
                                 if c and not c.startswith("TLS_")]
    return _cipher_lists[string]


class SClient:
    """One `openssl s_client -starttls smtp` run and what it printed."""

    def __init__(self, cp):
        self.cp = cp
        self.out = cp.stdout + cp.stderr
        self.established = "CONNECTION ESTABLISHED" in cp.stderr
        m = re.search(r"^Protocol version: (\S+)$", cp.stderr, re.M)
        self.version = m.group(1) if m else None
        m = re.search(r"^Ciphersuite: (\S+)$", cp.stderr, re.M)
        self.cipher = m.group(1) if m else None
        self.verified = "Verification: OK" in cp.stderr
        # the 221 to QUIT came back inside TLS
        self.quit_ok = re.search(r"^221 ", cp.stdout, re.M) is not None

    def __str__(self):
        return describe(self.cp)


class TLSMatrix(DaemonTestCase):
    """The cases are added below the class, one method each."""

    def s_client(self, host, args, sni=None, stdin=("EHLO {name}", "QUIT")):
        """s_client on HOST (IPv4) with ARGS: EHLO NAME, STARTTLS, the
        handshake, then STDIN's lines inside TLS.  Returns (SClient, the
        finished connection row)."""
        addr, port = self.d.addr(host)
        name = "%s-%x.example" % (host, random.getrandbits(40))
        argv = ["openssl", "s_client", "-starttls", "smtp",
                "-connect", "%s:%d" % (addr, port), "-name", name,
                "-servername", sni or mx_name(harness.HOST_CHALLENGE[host]),
                "-brief", "-ign_eof", "-crlf"] + list(args)
        text = "".join(l.format(name=name) + "\n" for l in stdin)
        try:
            cp = run(argv, input=text, timeout=20)
        except subprocess.TimeoutExpired as e:
            raise AssertionError("s_client hung: %s\n%s" % (e, self.d.log_tail()))
        # s_client's exit status is not used: it is 1 even after a clean
        # 221, as the daemon closes without close_notify (unexpected EOF).
        sc = SClient(cp)
        row = self.d.wait_for(
            "SELECT * FROM connections WHERE helo = ? AND ended IS NOT NULL",
            (name,), what="the connection of s_client -name %s\n%s" % (name, sc))
        self.assertEqual(len(row), 1, row)
        return sc, row[0]

    # -- what a row must say

    def assertEstablished(self, sc, row, version, cipher=None):
        ctx = "\n%s\nrow: %r" % (sc, row)
        self.assertTrue(sc.established, "handshake failed" + ctx)
        self.assertEqual(sc.version, version, "client's protocol" + ctx)
        self.assertTrue(sc.quit_ok, "no 221 to QUIT inside TLS" + ctx)
        if cipher is not None:
            self.assertEqual(sc.cipher, cipher, "negotiated suite" + ctx)
        got = {k: row[k] for k in ("starttls", "tls_established", "tls_version", "tls_cipher",
                                   "end_reason", "tls_error", "tls_alert_sent",
                                   "tls_alert_received", "transactions")}
        self.assertEqual(got, {
            "starttls": 1, "tls_established": 1, "tls_version": version,
            "tls_cipher": sc.cipher, "end_reason": "quit", "tls_error": None,
            "tls_alert_sent": None, "tls_alert_received": None, "transactions": 0,
        }, "connection row" + ctx)
        self.assertCommands(row, {"ehlo": 2, "starttls": 1, "quit": 1})
        self.assertNoTransaction(row["id"])

    def assertRefused(self, sc, row, alert_sent=None, alert_received=None):
        """The handshake failed, and the row says why: the alert the
        daemon sent (ALERT_SENT) or the one the client sent (ALERT_RECEIVED)."""
        ctx = "\n%s\nrow: %r" % (sc, row)
        self.assertFalse(sc.established, "handshake succeeded" + ctx)
        self.assertFalse(sc.quit_ok, "SMTP inside a failed handshake" + ctx)
        got = {k: row[k] for k in ("starttls", "tls_established", "tls_version", "tls_cipher",
                                   "end_reason", "tls_alert_sent", "tls_alert_received",
                                   "transactions")}
        self.assertEqual(got, {
            "starttls": 1, "tls_established": 0, "tls_version": None, "tls_cipher": None,
            "end_reason": "tls-failed", "tls_alert_sent": alert_sent,
            "tls_alert_received": alert_received, "transactions": 0,
        }, "connection row" + ctx)
        self.assertTrue(row["tls_error"], "tls_error not recorded" + ctx)
        if alert_sent is not None:
            # the client got the alert the daemon says it sent
            self.assertIn(ALERT_TEXT[alert_sent], sc.cp.stderr, ctx)
        self.assertCommands(row, {"ehlo": 1, "starttls": 1})
        self.assertNoTransaction(row["id"])

    # -- the cases (bodies of the generated methods)

    def check_protocol(self, host, version):
        sc, row = self.s_client(host, CLIENT_VERSION[version])
        if version in PROTOCOLS[host]:
            self.assertEstablished(sc, row, version)
        else:
            self.assertRefused(sc, row, alert_sent="protocol_version")
            self.assertIn(row["tls_error"], ("unsupported protocol",),
                          "tls_error for a version outside the range: %r" % row)

    def check_cipher_class(self, host, client, accepted):
        sc, row = self.s_client(host, ["-tls1_2", "-cipher", client])
        if accepted:
            hosts = openssl_ciphers(HOST_CIPHERS[HOST_CLASS[host]])
            common = [c for c in openssl_ciphers(client) if c in hosts]
            self.assertTrue(common, "no common suite in the test's own tables")
            self.assertEstablished(sc, row, "TLSv1.2", cipher=common[0])
            aead = any(m in sc.cipher for m in AEAD_MARKS)
            self.assertEqual(aead, client == STRONG_ONLY, sc.cipher)
        else:
            self.assertRefused(sc, row, alert_sent="handshake_failure")
            self.assertEqual(row["tls_error"], "no shared cipher", row)

    def check_tls13_suite(self, host, accepted):
        sc, row = self.s_client(host, ["-tls1_3", "-ciphersuites", TLS13_CCM])
        if accepted:
            self.assertEstablished(sc, row, "TLSv1.3", cipher=TLS13_CCM)
        else:
            self.assertRefused(sc, row, alert_sent="handshake_failure")

    def check_verifies(self, host, challenge):
        name = mx_name(challenge)
        sc, row = self.s_client(host, ["-verify_return_error", "-CAfile", self.d.ca,
                                       "-verify_hostname", name], sni=name)
        self.assertEstablished(sc, row, PROTOCOLS[host][-1])   # the highest it has
        self.assertTrue(sc.verified, "certificate not verified for %s\n%s" % (name, sc))
        self.assertIn("Verified peername: %s" % name, sc.cp.stderr, sc)
        self.assertEqual(row["tls_sni"], name)

    # -- single cases

    def test_matrix_covers_every_tls_host_of_the_catalogue(self):
        self.assertEqual(sorted(PROTOCOLS), sorted(harness.TLS_HOSTS))

    def test_demo_config_protocols_match_docs(self):
        got = {h: self.d.option("host " + h, "protocols") for h in harness.TLS_HOSTS}
        self.assertEqual(got, PROTOCOLS_LINE)
        got = {h: self.d.option("host " + h, "ciphers") for h in harness.TLS_HOSTS}
        self.assertEqual(got, HOST_CLASS)

    def test_tls_bad_certificate_refused_for_wrong_name(self):
        """Name checked: OpenSSL checks the host name before the validity
        period, so the client's alert is bad_certificate."""
        name = mx_name("tls-badcert")
        sc, row = self.s_client("tls-bad", ["-verify_return_error", "-CAfile", self.d.ca,
                                            "-verify_hostname", name], sni=name)
        self.assertIn("hostname mismatch", sc.cp.stderr, sc)
        self.assertRefused(sc, row, alert_received="bad_certificate")
        self.assertEqual(row["tls_sni"], name)
        # it left, but not after a completed handshake
        v = self.d.query_one("SELECT mail_commands, tls_then_left FROM v_connections "
                             "WHERE connection_id = ?", (row["id"],))
        self.assertEqual(v, {"mail_commands": 0, "tls_then_left": 0})

    def test_tls_bad_certificate_refused_as_expired(self):
        """Chain checked, name not: the client's alert is certificate_expired."""
        sc, row = self.s_client("tls-bad", ["-verify_return_error", "-CAfile", self.d.ca])
        self.assertIn("certificate has expired", sc.cp.stderr, sc)
        self.assertRefused(sc, row, alert_received="certificate_expired")

    def test_valid_certificate_refused_without_the_test_ca(self):
        """A client that does not trust the test CA sends unknown_ca."""
        sc, row = self.s_client("tls", ["-verify_return_error", "-no-CAfile", "-no-CApath",
                                        "-no-CAstore"])
        self.assertRefused(sc, row, alert_received="unknown_ca")

    def test_handshake_then_quit_without_mail(self):
        """STARTTLS, the handshake, then QUIT at once (no EHLO, no MAIL)."""
        sc, row = self.s_client("tls", [], stdin=("QUIT",))
        ctx = "\n%s\nrow: %r" % (sc, row)
        self.assertTrue(sc.established and sc.quit_ok, ctx)
        self.assertEqual((row["starttls"], row["tls_established"], row["tls_version"],
                          row["transactions"], row["end_reason"]),
                         (1, 1, sc.version, 0, "quit"), ctx)
        self.assertCommands(row, {"ehlo": 1, "starttls": 1, "quit": 1})
        self.assertNoTransaction(row["id"])
        v = self.d.query_one("SELECT mail_commands, tls_then_left FROM v_connections "
                             "WHERE connection_id = ?", (row["id"],))
        self.assertEqual(v, {"mail_commands": 0, "tls_then_left": 1}, ctx)


def _add(name, body, doc):
    assert name.startswith("test_") and not hasattr(TLSMatrix, name), name
    body.__name__ = name
    body.__doc__ = doc
    setattr(TLSMatrix, name, body)


for _host in PROTOCOLS:
    for _v in VERSIONS:
        _ok = _v in PROTOCOLS[_host]
        _add("test_%s_host_%s_%s_client" % (slug(_host), "accepts" if _ok else "refuses",
                                            slug(_v)),
             lambda self, h=_host, v=_v: self.check_protocol(h, v),
             "%s, %s only: %s" % (_host, _v, "established" if _ok
                                  else "protocol_version alert, tls-failed"))

for _label, _client, _hosts in CIPHER_CLIENTS:
    for _host, _ok in _hosts.items():
        _add("test_%s_host_%s_%s_tls1_2_client" % (slug(_host), "accepts" if _ok else "refuses",
                                                   _label),
             lambda self, h=_host, c=_client, ok=_ok: self.check_cipher_class(h, c, ok),
             "%s, TLS 1.2 with %r" % (_host, _client))

for _host, _ok in TLS13_CCM_HOSTS.items():
    _add("test_%s_host_%s_tls1_3_ccm_client" % (slug(_host), "accepts" if _ok else "refuses"),
         lambda self, h=_host, ok=_ok: self.check_tls13_suite(h, ok),
         "%s, TLS 1.3 with %s only" % (_host, TLS13_CCM))

for _host in PROTOCOLS:
    if _host == "tls-bad":
        continue
    _ch = harness.HOST_CHALLENGE[_host]
    _add("test_%s_host_certificate_verifies_for_mx_of_%s" % (slug(_host), slug(_ch)),
         lambda self, h=_host, ch=_ch: self.check_verifies(h, ch),
         "%s: verified with the test CA for %s" % (_host, mx_name(_ch)))


if __name__ == "__main__":
    unittest.main()
