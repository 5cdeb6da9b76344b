"""DKIM (RFC 6376) and DMARC (RFC 7489) through the real daemon, against a
real DNS server: NSD, started here unprivileged on a loopback port
(test_spf's NSDServer), serves sender zones with RSA-2048 and Ed25519 keys
made for this run (openssl genpkey), DMARC records with p=reject,
quarantine and none, strict and relaxed alignment, and report receivers
that do and do not authorise external reports; the daemon's resolver
points at it.  Messages are signed by a real signer (python3-dkim), good
and tampered, sent through the daemon, and the rows of dkim_results,
dkim_signatures, dmarc_results and dmarc_destinations asserted exactly.
The timeout case points the resolver at a port where nothing answers."""

import base64
import os
import shutil
import subprocess
import tempfile
import unittest

import harness
from harness import DaemonTestCase, make_message
from test_spf import NSD, NSDServer, SilentServer

try:
    import dkim
except ImportError:         # reported in setUpClass, with the fix
    dkim = None

HEADERS = [b"From", b"To", b"Subject", b"Date", b"Message-ID"]


def openssl(*args):
    return subprocess.run(["openssl"] + list(args), check=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout


def txt(text):
    """TXT rdata in zone file syntax: strings of at most 255 octets."""
    return " ".join('"%s"' % text[i:i + 200] for i in range(0, len(text), 200))


class Keys:
    """Signing keys made for this run in DIR, and their DNS records."""

    def __init__(self, root):
        self.pem = {}
        for name, args in (("rsa", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
                           ("small", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:512"]),
                           ("ed", ["-algorithm", "ED25519"])):
            path = os.path.join(root, name + ".pem")
            openssl("genpkey", *args, "-out", path)
            self.pem[name] = path

    def public(self, name):
        """p= of the key: SubjectPublicKeyInfo for RSA (RFC 6376 3.6.1),
        the raw 32 octets for Ed25519 (RFC 8463 4)."""
        der = openssl("pkey", "-in", self.pem[name], "-pubout", "-outform", "DER")
        return base64.b64encode(der[-32:] if name == "ed" else der).decode()

    def private(self, name):
        """What python3-dkim signs with: PEM for RSA, the base64 seed for
        Ed25519."""
        if name == "ed":
            der = openssl("pkey", "-in", self.pem[name], "-outform", "DER")
            return base64.b64encode(der[-32:])
        with open(self.pem[name], "rb") as f:
            return f.read()

    def records(self):
        return "".join("%-20s TXT %s\n" % (sel + "._domainkey", txt(
            "v=DKIM1; k=%s; p=%s" % ("ed25519" if sel == "ed" else "rsa", self.public(sel))))
            for sel in ("rsa", "small", "ed"))


SIGNER_DMARC = ("v=DMARC1; p=quarantine; sp=reject; pct=50; fo=1:d; "
                "rua=mailto:agg@signer.test, mailto:dmarc@collector.test!10m; "
                "ruf=mailto:fail@elsewhere.test")

SIGNER_ZONE = """$ORIGIN signer.test.
$TTL 300
@           SOA   ns.signer.test. hostmaster.signer.test. 1 3600 600 86400 300
@           NS    ns.signer.test.
ns          A     127.0.0.1
@           TXT   "v=spf1 ip4:127.0.0.0/8 ip6:::1 -all"
revoked._domainkey TXT "v=DKIM1; k=rsa; p="
_dmarc      TXT   "SIGNER_DMARC"
_dmarc      TXT   "an unrelated TXT record"
strict      TXT   "v=spf1 ip4:127.0.0.0/8 ip6:::1 -all"
_dmarc.strict TXT "v=DMARC1; p=reject; adkim=s; aspf=s"
_dmarc.none TXT   "v=DMARC1; p=none"
_dmarc.twice TXT  "v=DMARC1; p=none"
_dmarc.twice TXT  "v=DMARC1; p=reject"
_dmarc.broken TXT "v=DMARC1; p=bogus; pct=150"
_dmarc.lenient TXT "v=DMARC1; p=banana; pct=150; adkim=x; rua=mailto:agg@signer.test"
""".replace("SIGNER_DMARC", SIGNER_DMARC)

# The report receiver that authorises signer.test's reports (RFC 7489
# 7.1), one that does not, and a domain without DMARC.
OTHER_ZONES = [(origin, """$ORIGIN %s.
$TTL 300
@           SOA   ns.signer.test. hostmaster.signer.test. 1 3600 600 86400 300
@           NS    ns.signer.test.
%s""" % (origin, extra)) for origin, extra in (
    ("collector.test", 'signer.test._report._dmarc TXT "v=DMARC1"\n'),
    ("elsewhere.test", 'other.test._report._dmarc TXT "v=DMARC1"\n'),
    ("other.test", ""))]


def sign(msg, keys, selector, key=None, domain=b"signer.test",
         canon=(b"relaxed", b"simple"), length=False):
    """MSG with a DKIM-Signature prepended: s=SELECTOR, signed with KEY's
    private key (default: SELECTOR's)."""
    key = key or selector
    algo = b"ed25519-sha256" if key == "ed" else b"rsa-sha256"
    return dkim.sign(msg, selector.encode(), domain, keys.private(key),
                     include_headers=HEADERS, canonicalize=canon, length=length,
                     signature_algorithm=algo) + msg


class DKIMCase(DaemonTestCase):
    """One daemon per class, its resolver on our DNS server."""

    resolver_timeout = "500ms"

    @classmethod
    def start_dns(cls, root):
        """Starts the DNS server; returns its port."""
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        harness.require_binaries()
        if dkim is None:
            raise AssertionError("python3-dkim not installed: contrib/install-deps "
                                 "installs the Debian package python3-dkim")
        if not os.access(NSD, os.X_OK):
            raise AssertionError("%s not found: install the Debian package nsd "
                                 "(contrib/install-deps does)" % NSD)
        cls.root = tempfile.mkdtemp(prefix="ms-dkim-")
        cls.addClassCleanup(shutil.rmtree, cls.root, True)
        cls.keys = Keys(cls.root)
        port = cls.start_dns(cls.root)
        cls.options = [("global", "resolver", "127.0.0.1:%d" % port),
                       ("global", "resolver_timeout", cls.resolver_timeout)]
        super().setUpClass()

    def message(self, to, sender="alice@signer.test", **kw):
        return make_message(to, sender=sender, **kw)

    def deliver(self, build, mail_from="bounce@signer.test", timeout=15):
        """BUILD(to) is the message for the test's address; sends it from
        MAIL_FROM and waits for its analysis.  Returns (dkim_results row,
        [dkim_signatures rows by position], v_deliveries row)."""
        t = self.d.new_test()
        to = self.d.address(t, challenge="plaintext")
        with self.d.smtp("plain") as c:
            self.assertEqual(c.cmd("EHLO mta.signer.test").code, 250)
            self.assertEqual(c.cmd("MAIL FROM:<%s>" % mail_from).code, 250)
            self.assertEqual(c.cmd("RCPT TO:<%s>" % to).code, 250)
            self.assertEqual(c.cmd("DATA").code, 354)
            c.send(harness.dot_stuff(build(to)))
            self.assertEqual(c.read_reply().code, 250)
            c.quit()
        txn = self.d.query_one(
            "SELECT t.id FROM transactions t JOIN recipients r ON r.transaction_id = t.id"
            " WHERE r.test_id = ?", (t["id"],))["id"]
        self.d.wait_for("SELECT 1 FROM analyses WHERE transaction_id = ?"
                        " AND finished IS NOT NULL", (txn,), timeout=timeout,
                        what="analysis of transaction %d" % txn)
        result = self.d.query("SELECT signatures, result, error FROM dkim_results"
                              " WHERE transaction_id = ?", (txn,))
        sigs = self.d.query(
            "SELECT position, domain, selector, algorithm, key_bits, canon_header,"
            " canon_body, body_length, result, error, aligned FROM dkim_signatures"
            " WHERE transaction_id = ? ORDER BY position", (txn,))
        view = self.d.query_one("SELECT * FROM v_deliveries WHERE transaction_id = ?", (txn,))
        return result[0] if result else None, sigs, view

    def dmarc(self, txn):
        """(dmarc_results row, {(tag, position): dmarc_destinations row})."""
        rows = self.d.query("SELECT * FROM dmarc_results WHERE transaction_id = ?", (txn,))
        dests = {(r.pop("tag"), r.pop("position")): r for r in self.d.query(
            "SELECT tag, position, uri, domain, external, authorized, status"
            " FROM dmarc_destinations WHERE transaction_id = ?", (txn,))}
        if rows:
            rows[0].pop("transaction_id")
        return rows[0] if rows else None, dests

    @staticmethod
    def row(position, selector, result, error=None, key_bits=2048, algorithm="rsa-sha256",
            canon=("relaxed", "simple"), body_length=None, domain="signer.test", aligned=1):
        return {"position": position, "domain": domain, "selector": selector,
                "algorithm": algorithm, "key_bits": key_bits, "canon_header": canon[0],
                "canon_body": canon[1], "body_length": body_length, "result": result,
                "error": error, "aligned": aligned}


class NSDCase(DKIMCase):
    """The daemon's resolver is NSD itself: every answer is the zones'."""

    @classmethod
    def start_dns(cls, root):
        port = harness.pick_base_port(1)
        nsd = NSDServer(root, port, [("signer.test", SIGNER_ZONE + cls.keys.records())]
                        + OTHER_ZONES)
        cls.addClassCleanup(nsd.stop)
        nsd.start(probe="signer.test")
        return port


class DKIMAgainstNSD(NSDCase):
    """Signatures good and bad, keys present, missing and malformed."""

    def test_rsa_2048_and_ed25519_signatures_pass(self):
        res, sigs, view = self.deliver(lambda to: sign(
            sign(self.message(to), self.keys, "rsa"), self.keys, "ed",
            canon=(b"relaxed", b"relaxed")))
        self.assertEqual(res, {"signatures": 2, "result": "pass", "error": None})
        self.assertEqual(sigs, [
            self.row(1, "ed", "pass", key_bits=256, algorithm="ed25519-sha256",
                     canon=("relaxed", "relaxed")),
            self.row(2, "rsa", "pass")])
        self.assertEqual(view["dkim"], "pass")

    def test_simple_canonicalisation_passes(self):
        _, sigs, _ = self.deliver(lambda to: sign(self.message(to), self.keys, "rsa",
                                                  canon=(b"simple", b"simple")))
        self.assertEqual(sigs, [self.row(1, "rsa", "pass", canon=("simple", "simple"))])

    def test_tampered_body_and_header_fail(self):
        _, sigs, view = self.deliver(lambda to: sign(
            self.message(to), self.keys, "rsa").replace(b"Hello.", b"Hello!"))
        self.assertEqual(sigs, [self.row(1, "rsa", "fail",
                                         "body hash did not verify (RFC 6376 6.1.3)")])
        self.assertEqual(view["dkim"], "fail")
        _, sigs, _ = self.deliver(lambda to: sign(
            self.message(to, subject="original"), self.keys, "ed").replace(
                b"Subject: original", b"Subject: changed"))
        self.assertEqual(sigs, [self.row(1, "ed", "fail",
                                         "signature did not verify (RFC 6376 6.1.3)",
                                         key_bits=256, algorithm="ed25519-sha256")])

    def test_body_length_tag_covers_the_signed_part_only(self):
        def build(to):
            msg = sign(self.message(to), self.keys, "rsa", canon=(b"relaxed", b"simple"),
                       length=True)
            return msg + b"Appended after signing.\r\n"
        _, sigs, view = self.deliver(build)
        # l= counts the canonical body: "Hello.\r\n"
        self.assertEqual(sigs, [self.row(1, "rsa", "pass", body_length=8)])
        self.assertEqual(view["dkim"], "pass")

    def test_key_errors_are_permerror_and_small_keys_policy(self):
        _, sigs, view = self.deliver(lambda to: sign(
            sign(sign(self.message(to), self.keys, "rsa"), self.keys, "small"),
            self.keys, "revoked", key="rsa"))
        self.assertEqual(sigs, [
            self.row(1, "revoked", "permerror", "key revoked", key_bits=None),
            self.row(2, "small", "policy", "key too small (RFC 8301 3.2)", key_bits=512),
            self.row(3, "rsa", "pass")])
        self.assertEqual(view["dkim"], "pass")
        res, sigs, view = self.deliver(lambda to: sign(self.message(to), self.keys, "absent",
                                                       key="rsa"))
        self.assertEqual(sigs, [self.row(
            1, "absent", "permerror", "no key for signature (RFC 6376 6.1.2): "
            "TXT absent._domainkey.signer.test: nxdomain", key_bits=None)])
        self.assertEqual((res["result"], view["dkim"]), ("permerror", "permerror"))

    def test_malformed_signature_fields_are_permerror_rows(self):
        bad = (b"DKIM-Signature: v=1; a=rsa-sha256; d=signer.test; s=rsa; dangling\r\n"
               b"DKIM-Signature:\r\n"
               b"DKIM-Signature: v=1; a=rsa-sha256; d=bad$name; s=x; h=from; bh=; b=\r\n")
        res, sigs, view = self.deliver(lambda to: bad + sign(self.message(to), self.keys, "rsa"))
        self.assertEqual(res, {"signatures": 4, "result": "pass", "error": None})
        self.assertEqual(sigs[0], {
            "position": 1, "domain": "signer.test", "selector": "rsa",
            "algorithm": "rsa-sha256", "key_bits": None, "canon_header": "simple",
            "canon_body": "simple", "body_length": None, "result": "permerror",
            "error": "signature syntax: tag without value at end of signature data",
            "aligned": 1})
        self.assertEqual((sigs[1]["domain"], sigs[1]["result"], sigs[1]["error"],
                          sigs[1]["aligned"]),
                         (None, "permerror",
                          "signature syntax: missing parameter(s) in signature data", 0))
        self.assertEqual((sigs[2]["domain"], sigs[2]["result"], sigs[2]["error"],
                          sigs[2]["aligned"]),
                         ("bad$name", "permerror", 'signature syntax: malformed "d=" tag value',
                          0))
        # the good signature ignores the fields above it: h= does not name them
        self.assertEqual(sigs[3], self.row(4, "rsa", "pass"))
        self.assertEqual(view["dkim"], "pass")

    def test_hostile_bytes_and_sizes_are_stored_escaped(self):
        bad = (b"DKIM-Signature: v=1; a=rsa-sha256; s=\xff\xfe; d=evil\x1b[31m.test;"
               b" h=from; bh=x; b=y\r\n"
               b"DKIM-Signature: v=1; a=rsa-sha256; d=signer.test; s=rsa; h=from;"
               b" bh=x; b=" + b"\r\n\t".join([b"A" * 70] * 700) + b"\r\n"
               b"DKIM-Signature\t: v=1; not a field libopendkim takes\r\n")
        res, sigs, _ = self.deliver(lambda to: bad + sign(self.message(to), self.keys, "rsa"))
        self.assertEqual(res, {"signatures": 3, "result": "pass", "error": None})
        self.assertEqual(sigs[0], {
            "position": 1, "domain": None, "selector": None, "algorithm": "rsa-sha256",
            "key_bits": None, "canon_header": "simple", "canon_body": "simple",
            "body_length": None, "result": "permerror", "aligned": 0,
            "error": "signature syntax: invalid character (ASCII 0xff at offset 22) "
                     "in signature data"})
        self.assertEqual((sigs[1]["result"], sigs[1]["error"]),
                         ("fail", "signature did not verify (RFC 6376 6.1.3)"))
        self.assertEqual(sigs[2], self.row(3, "rsa", "pass"))

    def test_thousands_of_header_fields_are_stored_not_verified(self):
        filler = b"".join(b"X-Filler-%d: %d\r\n" % (i, i) for i in range(3000))
        res, sigs, view = self.deliver(lambda to: sign(
            self.message(to, extra_headers=filler), self.keys, "rsa"))
        self.assertEqual(res, {"signatures": 1, "result": "neutral",
                               "error": "more than 1000 header fields: signatures not verified"})
        self.assertEqual(sigs, [self.row(1, "rsa", "neutral",
                                         "not verified: more than 1000 header fields",
                                         key_bits=None)])
        self.assertEqual(view["dkim"], "neutral")

    def test_many_signatures_are_bounded(self):
        def build(to):
            msg = self.message(to)
            for _ in range(55):
                msg = sign(msg, self.keys, "ed")
            return msg
        res, sigs, _ = self.deliver(build)
        self.assertEqual(res["signatures"], 55)
        self.assertEqual(len(sigs), 50)
        # the first verified one covers none of the others; each lower one
        # is covered by none above it either (h= names no DKIM-Signature)
        self.assertEqual([s["result"] for s in sigs[:10]], ["pass"] * 10)
        self.assertEqual({(s["result"], s["error"]) for s in sigs[10:]},
                         {("neutral", "not verified: more than 10 signatures")})

    def test_unsigned_message_is_none(self):
        res, sigs, view = self.deliver(lambda to: self.message(to))
        self.assertEqual(res, {"signatures": 0, "result": "none", "error": None})
        self.assertEqual(sigs, [])
        self.assertEqual(view["dkim"], "none")


class DMARCAgainstNSD(NSDCase):
    """Policy discovery, alignment, the result and the report
    destinations (RFC 7489), against signer.test's records."""

    SIGNER = {
        "from_domain": "signer.test", "org_domain": "signer.test",
        "policy_domain": "signer.test", "record": SIGNER_DMARC, "result": "pass",
        "error": None, "p": "quarantine", "sp": "reject", "pct": 50, "adkim": "r",
        "aspf": "r", "fo": "1:d",
        "rua": "mailto:agg@signer.test, mailto:dmarc@collector.test!10m",
        "ruf": "mailto:fail@elsewhere.test", "invalid_tags": None,
        "spf_domain": "signer.test", "spf_result": "pass", "spf_aligned": 1,
        "dkim_aligned": 1, "policy": "quarantine", "disposition": "none"}

    def check(self, sender, mail_from="bounce@signer.test", selector=None):
        """A message From SENDER, signed by signer.test's SELECTOR key if
        given; (dmarc_results row, destinations, dkim rows, view row)."""
        def build(to):
            msg = self.message(to, sender=sender)
            return sign(msg, self.keys, selector) if selector else msg
        _, sigs, view = self.deliver(build, mail_from=mail_from)
        row, dests = self.dmarc(view["transaction_id"])
        return row, dests, sigs, view

    def test_aligned_spf_and_dkim_pass(self):
        row, dests, sigs, view = self.check("alice@signer.test", selector="rsa")
        self.assertEqual(row, self.SIGNER)
        self.assertEqual(view["dmarc"], "pass")
        self.assertEqual(self.d.query_one(
            "SELECT aligned FROM dkim_signatures WHERE transaction_id = ?",
            (view["transaction_id"],))["aligned"], 1)
        self.assertEqual(dests, {
            ("rua", 1): {"uri": "mailto:agg@signer.test", "domain": "signer.test",
                         "external": 0, "authorized": None, "status": None},
            ("rua", 2): {"uri": "mailto:dmarc@collector.test!10m",
                         "domain": "collector.test", "external": 1, "authorized": 1,
                         "status": "noerror"},
            ("ruf", 1): {"uri": "mailto:fail@elsewhere.test", "domain": "elsewhere.test",
                         "external": 1, "authorized": 0, "status": "nxdomain"}})

    def test_subdomain_takes_the_organizational_policy_and_sp(self):
        row, dests, _, view = self.check("alice@mail.signer.test", selector="ed")
        self.assertEqual(row, dict(self.SIGNER, from_domain="mail.signer.test",
                                   policy="reject"))
        self.assertEqual(len(dests), 3)
        row, _, _, view = self.check("alice@mail.signer.test", mail_from="bounce@other.test")
        self.assertEqual(row, dict(
            self.SIGNER, from_domain="mail.signer.test", result="fail",
            spf_domain="other.test", spf_result="none", spf_aligned=0, dkim_aligned=0,
            policy="reject", disposition="reject"))
        self.assertEqual(view["dmarc"], "fail")

    def test_strict_alignment_needs_the_exact_domain(self):
        row, _, sigs, view = self.check("alice@strict.signer.test", selector="rsa")
        self.assertEqual(
            {k: row[k] for k in ("policy_domain", "result", "adkim", "aspf", "spf_domain",
                                 "spf_aligned", "dkim_aligned", "policy", "disposition")},
            {"policy_domain": "strict.signer.test", "result": "fail", "adkim": "s",
             "aspf": "s", "spf_domain": "signer.test", "spf_aligned": 0, "dkim_aligned": 0,
             "policy": "reject", "disposition": "reject"})
        # the signature's own column is relaxed alignment
        self.assertEqual(sigs[0]["result"], "pass")
        self.assertEqual(self.d.query_one(
            "SELECT aligned FROM dkim_signatures WHERE transaction_id = ?",
            (view["transaction_id"],))["aligned"], 1)
        row, _, _, _ = self.check("alice@strict.signer.test",
                                  mail_from="bounce@strict.signer.test")
        self.assertEqual((row["result"], row["spf_aligned"], row["dkim_aligned"],
                          row["disposition"]), ("pass", 1, 0, "none"))

    def test_p_none_fails_without_a_disposition(self):
        row, dests, _, _ = self.check("alice@none.signer.test", mail_from="bounce@other.test")
        self.assertEqual(row, {
            "from_domain": "none.signer.test", "org_domain": "signer.test",
            "policy_domain": "none.signer.test", "record": "v=DMARC1; p=none",
            "result": "fail", "error": None, "p": "none", "sp": None, "pct": 100,
            "adkim": "r", "aspf": "r", "fo": "0", "rua": None, "ruf": None,
            "invalid_tags": None, "spf_domain": "other.test", "spf_result": "none",
            "spf_aligned": 0, "dkim_aligned": 0, "policy": "none", "disposition": "none"})
        self.assertEqual(dests, {})

    def test_broken_and_duplicate_records_are_permerror(self):
        row, _, _, view = self.check("alice@twice.signer.test")
        self.assertEqual((row["result"], row["error"], row["record"], row["policy_domain"]),
                         ("permerror", "2 DMARC records at _dmarc.twice.signer.test "
                          "(RFC 7489 6.6.3)", None, None))
        self.assertEqual(view["dmarc"], "permerror")
        row, _, _, _ = self.check("alice@broken.signer.test")
        self.assertEqual(
            {k: row[k] for k in ("result", "error", "record", "p", "pct", "invalid_tags",
                                 "policy", "disposition")},
            {"result": "permerror", "error": "no valid p= or sp= tag, and no valid rua= "
             "URI (RFC 7489 6.6.3)", "record": "v=DMARC1; p=bogus; pct=150", "p": None,
             "pct": None, "invalid_tags": "p pct", "policy": None, "disposition": None})

    def test_invalid_p_with_a_report_address_is_p_none(self):
        row, dests, _, _ = self.check("alice@lenient.signer.test")
        self.assertEqual(
            {k: row[k] for k in ("result", "p", "pct", "adkim", "invalid_tags", "policy",
                                 "disposition")},
            {"result": "pass", "p": "none", "pct": 100, "adkim": "r",
             "invalid_tags": "p pct adkim", "policy": "none", "disposition": "none"})
        self.assertEqual(list(dests), [("rua", 1)])

    def test_no_record_and_no_from_domain_are_none(self):
        row, _, _, view = self.check("alice@sub.other.test", mail_from="bounce@other.test")
        self.assertEqual(row, {
            "from_domain": "sub.other.test", "org_domain": "other.test",
            "policy_domain": None, "record": None, "result": "none",
            "error": "no DMARC record at _dmarc.sub.other.test: nxdomain; "
                     "at _dmarc.other.test: nxdomain",
            "p": None, "sp": None, "pct": None, "adkim": None, "aspf": None, "fo": None,
            "rua": None, "ruf": None, "invalid_tags": None, "spf_domain": "other.test",
            "spf_result": "none", "spf_aligned": None, "dkim_aligned": None,
            "policy": None, "disposition": None})
        self.assertEqual(view["dmarc"], "none")
        _, _, view = self.deliver(lambda to: b"To: <%s>\r\nSubject: no From\r\n\r\nx\r\n"
                                  % to.encode())
        row, _ = self.dmarc(view["transaction_id"])
        self.assertEqual((row["from_domain"], row["result"], row["error"]),
                         (None, "none", "no From domain"))


class DKIMKeyTimeout(DKIMCase):
    """Nothing answers the daemon's resolver: a key lookup times out
    (temperror); after two timeouts the other keys are not asked for."""

    resolver_timeout = "200ms"

    @classmethod
    def start_dns(cls, root):
        port = harness.pick_base_port(1)
        silent = SilentServer(port)
        cls.addClassCleanup(silent.stop)
        return port

    def test_unanswered_key_lookups_are_temperror(self):
        def build(to):
            msg = self.message(to)
            for sel in ("rsa", "small", "ed"):
                msg = sign(msg, self.keys, sel)
            return msg
        res, sigs, view = self.deliver(build, timeout=30)
        self.assertEqual(res, {"signatures": 3, "result": "temperror", "error": None})
        why = "key unavailable (RFC 6376 6.1.2): TXT %s._domainkey.signer.test: %s"
        self.assertEqual(sigs, [
            self.row(1, "ed", "temperror", why % ("ed", "timeout"), key_bits=None,
                     algorithm="ed25519-sha256"),
            self.row(2, "small", "temperror", why % ("small", "timeout"), key_bits=None),
            self.row(3, "rsa", "temperror",
                     why % ("rsa", "not asked after earlier timeouts"), key_bits=None)])
        self.assertEqual(view["dkim"], "temperror")
        row, _ = self.dmarc(view["transaction_id"])
        self.assertEqual((row["result"], row["error"], row["org_domain"]),
                         ("temperror", "TXT _dmarc.signer.test: timeout", "signer.test"))


class DKIMResolverOff(DaemonTestCase):
    """resolver = off (the harness default): no DKIM rows, NULL in the view."""

    def test_no_rows_without_a_resolver(self):
        t = self.d.new_test()
        to = self.d.address(t, challenge="plaintext")
        with self.d.smtp("plain") as c:
            c.ehlo()
            c.send_mail("a@signer.test", [to], make_message(to))
            c.quit()
        txn = self.d.query_one(
            "SELECT t.id FROM transactions t JOIN recipients r ON r.transaction_id = t.id"
            " WHERE r.test_id = ?", (t["id"],))["id"]
        self.d.wait_for("SELECT 1 FROM analyses WHERE transaction_id = ?"
                        " AND finished IS NOT NULL", (txn,))
        self.assertEqual(self.d.query("SELECT * FROM dkim_results"), [])
        self.assertIsNone(self.d.query_one(
            "SELECT dkim FROM v_deliveries WHERE transaction_id = ?", (txn,))["dkim"])


if __name__ == "__main__":
    unittest.main()
