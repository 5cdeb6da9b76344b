"""mailscope zones: the zone files of the catalogue, checked by the tools
of the DNS people (named-checkzone, ldns-verify-zone, openssl), then
served by NSD and resolved through a validating Unbound in a network
namespace of the test's own, where NSD can use port 53 on 127.0.0.1 and
::1 as a real delegation needs.

The loopback layout (zones.c): ns1.<base> has only A 127.0.0.1 (one NSD
for the base zone and the bogus and insecure children), ns6.<base> only
AAAA ::1 (a second NSD for the *-dns6 children): an Unbound with
do-ip6: no cannot reach the *-dns6 zones, one with do-ip6: yes can.
"""

import calendar
import hashlib
import os
import re
import shutil
import stat
import subprocess
import time
import unittest

import harness
from dnslab import DnsLab, make_zones, need, zones_run
from harness import BASE_DOMAIN, MAILSCOPE, describe, run

SIGNED_CHILDREN = ["v4-dns6", "v6-dns6"]
BOGUS_CHILDREN = ["v4-bogus", "v6-bogus"]
INSECURE_CHILDREN = ["tlsa-bad-insecure", "tlsa-bad-insecure-pkix-ok"]
CHILDREN = SIGNED_CHILDREN + BOGUS_CHILDREN + INSECURE_CHILDREN
STS = {"sts-n": "\n", "sts-rn": "\r\n", "sts-plain": "\r\n",
       "sts-2mx-tls": "\r\n", "sts-2mx-plain": "\r\n",
       "sts-ok-tlsa-bad": "\r\n", "sts-bad-tlsa-ok-pkix-bad": "\r\n",
       "sts-bad-tlsa-ok": "\r\n"}
TLSA_OK = {"tlsa-ok-pkix-bad": "tls-bad", "sts-bad-tlsa-ok-pkix-bad": "tls-bad",
           "sts-bad-tlsa-ok": "tls"}
TLSA_BAD = {"tlsa-bad": "tls-bad", "tlsa-bad-pkix-ok": "tls",
            "sts-ok-tlsa-bad": "tls", "tlsa-bad-insecure": "tls-bad",
            "tlsa-bad-insecure-pkix-ok": "tls"}
FAMILY = {"v4": "A", "v6": "AAAA", "v4-dns6": "A", "v6-dns6": "AAAA",
          "v4-bogus": "A", "v6-bogus": "AAAA", "grey-v4": "A",
          "grey-v6": "AAAA", "tls": "dual", "plaintext": "dual"}

RECORD_RE = re.compile(r"^(\S+)\s+IN\s+(\S+)\s+(.*?)\s*$")


def zone_name(challenge=None):
    return BASE_DOMAIN if challenge is None else "%s.%s" % (challenge, BASE_DOMAIN)


def records(path):
    """[(owner without the final dot, type, rdata)] of an unsigned zone
    file as zones.c writes it (absolute names, one record a line)."""
    out = []
    with open(path) as f:
        for line in f:
            if line[:1] in (";", "$", "\t", " ", "\n"):
                continue
            m = RECORD_RE.match(line)
            if m:
                out.append((m.group(1).rstrip("."), m.group(2), m.group(3)))
    return out


def rdata(recs, owner, rtype):
    return sorted(r for o, t, r in recs if o == owner and t == rtype)


def serial(path):
    with open(path) as f:
        m = re.search(r"^\s*(\d+)\s*; serial", f.read(), re.M)
    assert m, "no serial in %s" % path
    return int(m.group(1))


def spki_sha256(pem):
    """What `openssl x509 -pubkey | openssl pkey -pubin -outform der |
    sha256sum` prints for the first certificate of PEM."""
    pub = subprocess.run(["openssl", "x509", "-in", pem, "-pubkey", "-noout"],
                         capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"],
                         input=pub, capture_output=True, check=True).stdout
    return hashlib.sha256(der).hexdigest()


def host_certs(conf, host):
    for name, kv, _ in harness.config_sections(open(conf).read()):
        if name == "host " + host:
            return [harness.config_path(conf, p) for p in kv["certificate"].split()]
    raise AssertionError("no [host %s]" % host)


def ds_of(recs, zone):
    """The DS of ZONE in the base zone as a trust anchor line."""
    ds = rdata(recs, zone, "DS")
    assert len(ds) == 1, (zone, ds)
    return "%s. 3600 IN DS %s\n" % (zone, ds[0])


class ZoneFiles(unittest.TestCase):
    """What `mailscope zones` writes for the demo config."""

    @classmethod
    def setUpClass(cls):
        need("named-checkzone", "ldns-verify-zone", "openssl")
        cls.root, cls.conf, cls.out = make_zones("files")
        cls.addClassCleanup(shutil.rmtree, cls.root, True)
        cls.base = records(os.path.join(cls.out, BASE_DOMAIN + ".zone"))

    def path(self, *parts):
        return os.path.join(self.out, *parts)

    def zone(self, challenge=None):
        return records(self.path(zone_name(challenge) + ".zone"))

    def test_writes_every_zone_anchor_policy_and_server_snippet(self):
        for c in [None] + CHILDREN:
            name = zone_name(c)
            with self.subTest(zone=name):
                self.assertTrue(os.path.isfile(self.path(name + ".zone")))
                self.assertEqual(os.path.isfile(self.path(name + ".zone.signed")),
                                 c not in INSECURE_CHILDREN)
        for f in ("trust-anchor.ds", "trust-anchor.key", "nsd.conf",
                  "nsd-dns6.conf", "knot.conf", "knot-dns6.conf"):
            self.assertTrue(os.path.isfile(self.path(f)), f)
        for c in STS:
            self.assertTrue(os.path.isfile(self.path(
                "policies", "mta-sts.%s.%s" % (c, BASE_DOMAIN), ".well-known",
                "mta-sts.txt")), c)
        # no zone file for dns.<base>: mailscoped's responder serves it
        self.assertFalse(os.path.exists(self.path("dns.%s.zone" % BASE_DOMAIN)))

    def test_keys_are_private_and_one_ksk_and_zsk_per_signed_zone(self):
        keys = self.path("keys")
        self.assertEqual(stat.S_IMODE(os.stat(keys).st_mode), 0o700)
        for c in [None] + SIGNED_CHILDREN + BOGUS_CHILDREN:
            for role, flags in (("ksk", "257"), ("zsk", "256")):
                with self.subTest(zone=zone_name(c), role=role):
                    base = os.path.join(keys, "%s.%s" % (zone_name(c), role))
                    self.assertEqual(stat.S_IMODE(os.stat(base + ".private").st_mode), 0o600)
                    with open(base + ".key") as f:
                        self.assertRegex(f.read(), r"\sDNSKEY\s+%s 3 13 " % flags)

    def test_named_checkzone_accepts_every_zone(self):
        for c in [None] + CHILDREN:
            name = zone_name(c)
            files = [name + ".zone"]
            if c not in INSECURE_CHILDREN:
                files.append(name + ".zone.signed")
            for f in files:
                with self.subTest(file=f):
                    cp = run(["named-checkzone", name, self.path(f)])
                    self.assertEqual(cp.returncode, 0, describe(cp))

    def test_ldns_verify_zone_passes_on_the_signed_zones(self):
        for c in [None] + SIGNED_CHILDREN + BOGUS_CHILDREN:
            with self.subTest(zone=zone_name(c)):
                cp = run(["ldns-verify-zone", self.path(zone_name(c) + ".zone.signed")])
                self.assertEqual(cp.returncode, 0, describe(cp))
                self.assertIn("Zone is verified and complete", cp.stdout)

    def chain(self, child, ds_line):
        """ldns-verify-zone of CHILD's signed zone with DS_LINE as its
        trust anchor: the DNSKEYs must be what the DS points at."""
        anchor = os.path.join(self.root, "anchor-%s.ds" % child)
        with open(anchor, "w") as f:
            f.write(ds_line)
        return run(["ldns-verify-zone", "-k", anchor,
                    self.path(zone_name(child) + ".zone.signed")])

    def test_signed_children_validate_against_the_parents_ds(self):
        for c in SIGNED_CHILDREN:
            with self.subTest(zone=zone_name(c)):
                cp = self.chain(c, ds_of(self.base, zone_name(c)))
                self.assertEqual(cp.returncode, 0, describe(cp))

    def test_bogus_children_fail_against_the_parents_ds_only(self):
        for c in BOGUS_CHILDREN:
            with self.subTest(zone=zone_name(c)):
                parent_ds = ds_of(self.base, zone_name(c))
                cp = self.chain(c, parent_ds)
                self.assertNotEqual(cp.returncode, 0, describe(cp))
                self.assertIn("No keys with the keytag and algorithm", cp.stdout + cp.stderr)
                # the child itself is sound: its own KSK's DS validates it
                key = self.path("keys", zone_name(c) + ".ksk.key")
                own = run(["ldns-key2ds", "-n", "-2", key])
                self.assertEqual(own.returncode, 0, describe(own))
                self.assertEqual(self.chain(c, own.stdout).returncode, 0)
                # same key tag and algorithm, every digest bit flipped
                p, o = parent_ds.split(), own.stdout.split()
                self.assertEqual(p[4:7], o[4:7])
                self.assertEqual(int(p[7], 16) ^ int(o[7], 16), (1 << 256) - 1)

    def test_base_zone_validates_against_the_trust_anchor(self):
        for anchor in ("trust-anchor.ds", "trust-anchor.key"):
            with self.subTest(anchor=anchor):
                cp = run(["ldns-verify-zone", "-k", self.path(anchor),
                          self.path(BASE_DOMAIN + ".zone.signed")])
                self.assertEqual(cp.returncode, 0, describe(cp))

    def test_insecure_children_have_no_ds_and_no_signatures(self):
        for c in INSECURE_CHILDREN:
            with self.subTest(zone=zone_name(c)):
                self.assertEqual(rdata(self.base, zone_name(c), "NS"),
                                 ["ns1.%s." % BASE_DOMAIN])
                self.assertEqual(rdata(self.base, zone_name(c), "DS"), [])
                types = {t for _, t, _ in self.zone(c)}
                self.assertFalse(types & {"RRSIG", "DNSKEY", "NSEC"}, types)

    def test_dns6_children_are_delegated_to_ipv6_only_name_servers(self):
        ns6 = "ns6.%s" % BASE_DOMAIN
        for c in SIGNED_CHILDREN:
            with self.subTest(zone=zone_name(c)):
                self.assertEqual(rdata(self.base, zone_name(c), "NS"), [ns6 + "."])
                self.assertEqual(rdata(self.zone(c), zone_name(c), "NS"), [ns6 + "."])
        self.assertEqual(rdata(self.base, ns6, "AAAA"), ["::1"])
        self.assertEqual(rdata(self.base, ns6, "A"), [])
        self.assertEqual(rdata(self.base, "ns1." + BASE_DOMAIN, "A"), ["127.0.0.1"])
        self.assertEqual(rdata(self.base, "ns1." + BASE_DOMAIN, "AAAA"), [])

    def test_mx_records_and_addresses_follow_the_catalogue(self):
        """Each MX has the challenge's own addresses on that host
        (challenge_listen: 127.0.1.N and ::1 in the demo), by MX family."""
        own = harness.config_challenge_listen(open(self.conf).read())
        for c in harness.CHALLENGES:
            if c in ("dns",):
                continue
            recs = self.zone(c) if c in CHILDREN else self.base
            dom = zone_name(c)
            with self.subTest(challenge=c):
                mx = rdata(recs, dom, "MX")
                want = ["10 mx.%s." % dom]
                if c.startswith("sts-2mx-"):
                    want.append("20 mx2.%s." % dom)
                self.assertEqual(mx, want)
                fam = FAMILY.get(c, "dual")
                for name, host in zip(("mx.", "mx2."), harness.CHALLENGE_HOSTS[c]):
                    a = rdata(recs, name + dom, "A")
                    aaaa = rdata(recs, name + dom, "AAAA")
                    v4 = sorted(set(ad for ad, _ in own.get((c, host, 4), [])))
                    v6 = sorted(set(ad for ad, _ in own.get((c, host, 6), [])))
                    self.assertEqual(a, v4 if fam in ("A", "dual") else [])
                    self.assertEqual(aaaa, v6 if fam in ("AAAA", "dual") else [])
                    self.assertTrue(a or aaaa)
                    if fam in ("A", "dual"):
                        self.assertRegex(a[0], r"^127\.0\.1\.\d+$")
                self.assertEqual(rdata(recs, "_smtp._tls." + dom, "TXT"),
                                 ['"v=TLSRPTv1; rua=mailto:tlsrpt@%s"' % BASE_DOMAIN])

    def test_uniq_is_a_signed_wildcard_and_dns_is_delegated_to_mailscoped(self):
        uniq = zone_name("uniq")
        self.assertEqual(rdata(self.base, "*." + uniq, "MX"), ["10 mx.%s." % uniq])
        self.assertEqual(rdata(self.base, "*." + uniq, "TXT"),
                         ['"v=TLSRPTv1; rua=mailto:tlsrpt@%s"' % BASE_DOMAIN])
        dns = zone_name("dns")
        self.assertEqual(rdata(self.base, dns, "NS"), ["ns.%s." % dns])
        self.assertEqual(rdata(self.base, dns, "DS"), [])
        self.assertEqual(rdata(self.base, "ns." + dns, "A"), ["127.0.0.1"])
        self.assertEqual(rdata(self.base, "ns." + dns, "AAAA"), ["::1"])

    def test_mta_sts_ids_match_the_byte_exact_policy_files(self):
        for c, eol in STS.items():
            with self.subTest(challenge=c):
                with open(self.path("policies", "mta-sts.%s.%s" % (c, BASE_DOMAIN),
                                    ".well-known", "mta-sts.txt"), "rb") as f:
                    policy = f.read()
                self.assertTrue(policy.startswith(b"version: STSv1" + eol.encode()))
                self.assertEqual(policy.count(b"\n"), policy.count(eol.encode()))
                self.assertIn(b"mode: enforce", policy)
                pid = hashlib.sha256(policy).hexdigest()[:20]
                self.assertEqual(rdata(self.base, "_mta-sts." + zone_name(c), "TXT"),
                                 ['"v=STSv1; id=%s"' % pid])
                self.assertEqual(rdata(self.base, "mta-sts." + zone_name(c), "A"),
                                 ["127.0.0.1"])
                self.assertEqual(rdata(self.base, "mta-sts." + zone_name(c), "AAAA"),
                                 ["::1"])
        self.assertEqual(rdata(self.base, "_mta-sts." + zone_name("tls"), "TXT"), [])

    def tlsa(self, c):
        recs = self.zone(c) if c in CHILDREN else self.base
        return rdata(recs, "_25._tcp.mx." + zone_name(c), "TLSA")

    def test_tlsa_3_1_1_matches_the_host_certificates(self):
        for c, host in TLSA_OK.items():
            with self.subTest(challenge=c):
                want = sorted("3 1 1 " + spki_sha256(p) for p in host_certs(self.conf, host))
                self.assertEqual(len(want), 2)      # RSA and ECDSA
                self.assertEqual(self.tlsa(c), want)

    def test_bad_tlsa_matches_no_certificate(self):
        for c, host in TLSA_BAD.items():
            with self.subTest(challenge=c):
                real = {int(spki_sha256(p), 16) for p in host_certs(self.conf, host)}
                got = {int(t.split()[3], 16) for t in self.tlsa(c)}
                self.assertEqual(len(got), 2)
                self.assertFalse(got & real)
                self.assertEqual({g ^ ((1 << 256) - 1) for g in got}, real)
        self.assertEqual(self.tlsa("tls"), [])

    def test_nsd_snippets_separate_the_ipv6_only_servers(self):
        with open(self.path("nsd.conf")) as f:
            main = f.read()
        with open(self.path("nsd-dns6.conf")) as f:
            six = f.read()
        self.assertEqual(re.findall(r"ip-address: (\S+)", main), ["127.0.0.1"])
        self.assertEqual(re.findall(r"ip-address: (\S+)", six), ["::1"])
        self.assertEqual(sorted(re.findall(r'name: "([^"]+)"', six)),
                         sorted(zone_name(c) for c in SIGNED_CHILDREN))
        self.assertEqual(sorted(re.findall(r'name: "([^"]+)"', main)),
                         sorted(zone_name(c) for c in [None] + BOGUS_CHILDREN + INSECURE_CHILDREN))


class Rerun(unittest.TestCase):
    """Running it again keeps the keys (DS and TLSA stay valid) and
    raises every serial."""

    @classmethod
    def setUpClass(cls):
        need("ldns-verify-zone")
        cls.root, cls.conf, cls.out = make_zones("rerun")
        cls.addClassCleanup(shutil.rmtree, cls.root, True)

    def snapshot(self):
        keys = {}
        kdir = os.path.join(self.out, "keys")
        for f in sorted(os.listdir(kdir)):
            with open(os.path.join(kdir, f), "rb") as fp:
                keys[f] = fp.read()
        zones = {}
        for c in [None] + CHILDREN:
            path = os.path.join(self.out, zone_name(c) + ".zone")
            zones[c] = (serial(path), [r for r in records(path) if r[1] in ("DS", "TLSA")])
        with open(os.path.join(self.out, "trust-anchor.ds")) as f:
            anchor = f.read()
        return keys, zones, anchor

    def test_rerun_keeps_keys_ds_and_tlsa_and_increases_serials(self):
        keys1, zones1, anchor1 = self.snapshot()
        zones_run(self.conf, self.out)
        keys2, zones2, anchor2 = self.snapshot()
        self.assertEqual(keys1, keys2)
        self.assertEqual(anchor1, anchor2)
        for c in zones1:
            with self.subTest(zone=zone_name(c)):
                self.assertGreater(zones2[c][0], zones1[c][0])
                self.assertEqual(zones2[c][1], zones1[c][1])
        cp = run(["ldns-verify-zone", "-k", os.path.join(self.out, "trust-anchor.ds"),
                  os.path.join(self.out, BASE_DOMAIN + ".zone.signed")])
        self.assertEqual(cp.returncode, 0, describe(cp))

    def test_zones_section_errors_name_file_and_line(self):
        with open(self.conf) as f:
            text = f.read()
        bad = os.path.join(os.path.dirname(self.conf), "bad.conf")
        with open(bad, "w") as f:
            f.write(text + "\n[zones]\nns6 = ns6.%s 127.0.0.1\nttl = soon\n"
                    "soa_email = nobody\n" % BASE_DOMAIN)
        line = text.count("\n") + 3
        cp = run([MAILSCOPE, "-c", bad, "check-config"])
        self.assertEqual(cp.returncode, 1, describe(cp))
        self.assertIn("%s:%d: error: bad value for ns6: '127.0.0.1'" % (bad, line), cp.stderr)
        self.assertIn("%s:%d: error: bad value for ttl" % (bad, line + 1), cp.stderr)
        self.assertIn("%s:%d: error: bad value for soa_email" % (bad, line + 2), cp.stderr)


class ZonesSection(unittest.TestCase):
    """[zones]: name servers, SOA contact, TTL, validity, keys directory."""

    @classmethod
    def setUpClass(cls):
        cls.root, cls.conf, cls.out = make_zones("section")
        cls.addClassCleanup(shutil.rmtree, cls.root, True)
        with open(cls.conf) as f:
            cls.text = f.read()

    def configure(self, zones):
        conf = os.path.join(os.path.dirname(self.conf), "custom.conf")
        with open(conf, "w") as f:
            f.write(self.text + "\n[zones]\n" + zones)
        return conf

    def test_every_key_reaches_the_zones(self):
        conf = self.configure(
            "ns = ns1.%s 127.0.0.1 NS2.Other.Example.\n"
            "ns6 = ns6a.%s ::1 ns6b.%s ::2\n"
            "soa_email = dns.admin@example.org\nttl = 5m\n"
            "signature_validity = 2d\nkeys = mykeys\n"
            % (BASE_DOMAIN, BASE_DOMAIN, BASE_DOMAIN))
        out = os.path.join(self.root, "custom")
        started = time.time()
        zones_run(conf, out)
        path = os.path.join(out, BASE_DOMAIN + ".zone")
        base = records(path)
        self.assertEqual(rdata(base, BASE_DOMAIN, "NS"),
                         ["ns1.%s." % BASE_DOMAIN, "ns2.other.example."])
        self.assertEqual(rdata(base, "ns1." + BASE_DOMAIN, "A"), ["127.0.0.1"])
        self.assertEqual(rdata(base, "ns6a." + BASE_DOMAIN, "AAAA"), ["::1"])
        self.assertEqual(rdata(base, "ns6b." + BASE_DOMAIN, "AAAA"), ["::2"])
        self.assertEqual(rdata(base, zone_name("v6-dns6"), "NS"),
                         ["ns6a.%s." % BASE_DOMAIN, "ns6b.%s." % BASE_DOMAIN])
        with open(path) as f:
            text = f.read()
        self.assertIn("$TTL 300\n", text)
        self.assertRegex(text, r"IN SOA ns1\.%s\. dns\\\.admin\.example\.org\. \("
                         % re.escape(BASE_DOMAIN))
        keys = os.path.join(os.path.dirname(conf), "mykeys")
        self.assertTrue(os.path.isfile(os.path.join(keys, BASE_DOMAIN + ".ksk.private")))
        self.assertFalse(os.path.exists(os.path.join(out, "keys")))
        # RRSIG expiration: two days from the run
        with open(os.path.join(out, BASE_DOMAIN + ".zone.signed")) as f:
            m = re.search(r"\sRRSIG\s+SOA\s+13\s+\d+\s+\d+\s+(\d{14})\s+(\d{14})\s", f.read())
        self.assertTrue(m)
        until = calendar.timegm(time.strptime(m.group(1), "%Y%m%d%H%M%S"))
        self.assertAlmostEqual(until, started + 2 * 86400, delta=120)

    def test_ipv6_only_servers_need_addresses_of_their_own(self):
        conf = self.configure("ns = ns1.%s 127.0.0.1 ::1\nns6 = ns6.%s ::1\n"
                              % (BASE_DOMAIN, BASE_DOMAIN))
        cp = run([MAILSCOPE, "-c", conf, "zones", "--out",
                  os.path.join(self.root, "shared")])
        self.assertEqual(cp.returncode, 1, describe(cp))
        self.assertIn("zones: error: address ::1 is in both ns", cp.stderr)
        self.assertFalse(harness.sanitizer_report(cp.stderr), cp.stderr)


class Resolution(unittest.TestCase):
    """NSD serves the zones, Unbound validates: one Unbound may use IPv6
    (port 5301), the other may not (do-ip6: no, port 5302)."""

    V6, NO_V6 = 5301, 5302

    @classmethod
    def setUpClass(cls):
        cls.lab = DnsLab("resolve", {cls.V6: "yes", cls.NO_V6: "no"})
        cls.lab.start()
        cls.addClassCleanup(cls.lab.stop)
        cls.NS = cls.lab.ns

    def query(self, port, name, rtype, *opts):
        status, flags, answer, cp = self.lab.dig(port, name, rtype, *opts)
        self.last = "%s\n%s" % (describe(cp), self.lab.logs())
        return status, flags, [a for a in answer if a[3] == rtype]

    def assertSecure(self, name, rtype, port=V6):
        status, flags, answer = self.query(port, name, rtype)
        self.assertEqual(status, "NOERROR", self.last)
        self.assertIn("ad", flags, self.last)
        self.assertTrue(answer, self.last)
        return answer

    def test_signed_names_are_secure(self):
        mx = self.assertSecure("tls." + BASE_DOMAIN, "MX")
        self.assertEqual(mx[0][4:], ["10", "mx.tls.%s." % BASE_DOMAIN])
        self.assertSecure("mx.tls." + BASE_DOMAIN, "AAAA")
        self.assertSecure("_25._tcp.mx.tlsa-ok-pkix-bad." + BASE_DOMAIN, "TLSA")
        self.assertSecure("_mta-sts.sts-rn." + BASE_DOMAIN, "TXT")
        # a per-test name of the wildcard, and its TLS-RPT record
        self.assertSecure("abcdefghijklmnopqrstuvwxyz.uniq." + BASE_DOMAIN, "MX")
        self.assertSecure("_smtp._tls.abcdefghijklmnopqrstuvwxyz.uniq." + BASE_DOMAIN, "TXT")

    def test_bogus_names_fail_validation(self):
        for c, rtype in (("v4-bogus", "A"), ("v6-bogus", "AAAA")):
            with self.subTest(challenge=c):
                status, _, _ = self.query(self.V6, zone_name(c), "MX")
                self.assertEqual(status, "SERVFAIL", self.last)
                status, _, _ = self.query(self.V6, "mx." + zone_name(c), rtype)
                self.assertEqual(status, "SERVFAIL", self.last)
                # the data is there for a resolver that does not check
                status, flags, answer = self.query(self.V6, zone_name(c), "MX", "+cd")
                self.assertEqual(status, "NOERROR", self.last)
                self.assertNotIn("ad", flags, self.last)
                self.assertTrue(answer, self.last)

    def test_insecure_names_resolve_without_ad(self):
        for c in INSECURE_CHILDREN:
            with self.subTest(challenge=c):
                status, flags, answer = self.query(
                    self.V6, "_25._tcp.mx." + zone_name(c), "TLSA")
                self.assertEqual(status, "NOERROR", self.last)
                self.assertNotIn("ad", flags, self.last)
                self.assertEqual(len(answer), 2, self.last)

    def test_dns6_names_resolve_only_over_ipv6(self):
        for c, rtype in (("v4-dns6", "A"), ("v6-dns6", "AAAA")):
            with self.subTest(challenge=c):
                self.assertSecure(zone_name(c), "MX", port=self.V6)
                self.assertSecure("mx." + zone_name(c), rtype, port=self.V6)
                status, _, _ = self.query(self.NO_V6, zone_name(c), "MX")
                self.assertEqual(status, "SERVFAIL", self.last)
        # the control: the base zone resolves without IPv6
        self.assertSecure("v4." + BASE_DOMAIN, "MX", port=self.NO_V6)

    def test_dns_is_an_insecure_delegation_to_the_responder(self):
        cp = run(["ip", "netns", "exec", self.NS, "dig", "+norec", "+tries=1",
                  "@127.0.0.1", "x.dns." + BASE_DOMAIN, "MX"])
        self.assertRegex(cp.stdout, r"(?m)^dns\.%s\.\s+\d+\s+IN\s+NS\s+ns\.dns\.%s\.$"
                         % (re.escape(BASE_DOMAIN), re.escape(BASE_DOMAIN)), describe(cp))
        self.assertRegex(cp.stdout, r"(?m)^ns\.dns\.%s\.\s+\d+\s+IN\s+A\s+127\.0\.0\.1$"
                         % re.escape(BASE_DOMAIN), describe(cp))
        # no DS, and that is proven (NSEC): secure denial
        status, flags, answer = self.query(self.V6, "dns." + BASE_DOMAIN, "DS")
        self.assertEqual(status, "NOERROR", self.last)
        self.assertIn("ad", flags, self.last)
        self.assertEqual(answer, [], self.last)


if __name__ == "__main__":
    unittest.main()
