"""[dns] zones: mailscoped serves the *-bogus and *-dns6 zones that
`mailscope zones` wrote (issue 12), so that every resolver that looks
at them leaves its queries in dns_queries, including one that refused
the bogus data or could not reach the IPv6-only servers.

On loopback: dig straight at the responder (signatures with +dnssec,
NSEC proofs, the *-dns6 zones on IPv6 only), the rows, what `mailscope
zones` writes for this layout, and the start-up errors.  In a network
namespace of the test's own: NSD serves the base zone on 127.0.0.1:53,
mailscoped the children on 127.0.0.53 and 2001:db8::53 port 53, and three
Unbounds resolve through them: validating with and without IPv6, and one
that does not validate.
"""

import os
import re
import shutil
import tempfile
import unittest

import harness
from dnslab import DnsLab, need
from harness import BASE_DOMAIN, DaemonTestCase, describe, run

DIG = shutil.which("dig")
T_A, T_MX, T_AAAA, T_DNSKEY = 1, 15, 28, 48


def zone(challenge):
    return "%s.%s" % (challenge, BASE_DOMAIN)


class ZonesDaemon(harness.Daemon):
    """A daemon with [dns] zones = zones, whose files `mailscope zones`
    writes from its own config (again after a new demo-config)."""

    def __init__(self, name, options=(), edits=()):
        self._zones_written = False
        super().__init__(name, options=options)
        self.set_option("dns", "zones", "zones")
        for edit in edits:
            self._edits.append(edit)
            self._write(edit(self.config_text()))
        self.write_zones()

    def _prepare(self):
        super()._prepare()
        if self._zones_written:
            self.write_zones()

    @property
    def zones(self):
        return os.path.join(self.dir, "zones")

    def write_zones(self):
        self.tool("zones", "--out", self.zones)
        self._zones_written = True


class Dig:
    """dig's answer: status, flags, records [(owner, type, rdata...)] by
    section."""

    def __init__(self, cp):
        self.cp = cp
        m = re.findall(r"status: (\w+)", cp.stdout)
        self.status = m[-1] if m else None
        m = re.findall(r";; flags: ([^;]*);", cp.stdout)
        self.flags = set(m[-1].split()) if m else set()
        self.answer = self._section("ANSWER")
        self.authority = self._section("AUTHORITY")

    def _section(self, name):
        m = re.search(r";; %s SECTION:\n(.*?)(?:\n\n|\Z)" % name, self.cp.stdout, re.S)
        if not m:
            return []
        return [l.split() for l in m.group(1).splitlines() if l.strip()]

    def types(self, section):
        return [r[3] for r in section]

    def __str__(self):
        return describe(self.cp)


def dig(server, port, *args):
    return Dig(run([DIG, "@" + server, "-p", str(port), "+tries=1", "+time=2",
                    "+norec"] + list(args), timeout=20))


class ZoneFilesForTheResponder(unittest.TestCase):
    """What `mailscope zones` writes when mailscoped serves the children."""

    @classmethod
    def setUpClass(cls):
        cls.d = ZonesDaemon(cls.__name__)
        cls.addClassCleanup(cls.d.close)

    def read(self, name):
        with open(os.path.join(self.d.zones, name)) as f:
            return f.read()

    def test_bogus_children_are_delegated_to_the_responder(self):
        base = self.read(BASE_DOMAIN + ".zone")
        for c in ("v4-bogus", "v6-bogus"):
            self.assertRegex(base, r"(?m)^%s\.\s+IN NS\s+ns\.dns\.%s\.$"
                             % (re.escape(zone(c)), re.escape(BASE_DOMAIN)))
            self.assertRegex(base, r"(?m)^%s\.\s+IN DS\s" % re.escape(zone(c)))
        for c in ("v4-dns6", "v6-dns6"):
            self.assertRegex(base, r"(?m)^%s\.\s+IN NS\s+ns6\.%s\.$"
                             % (re.escape(zone(c)), re.escape(BASE_DOMAIN)))

    def test_name_servers_serve_only_the_static_zones(self):
        nsd = self.read("nsd.conf")
        knot = self.read("knot.conf")
        for c in ("v4-bogus", "v6-bogus", "v4-dns6", "v6-dns6"):
            self.assertNotIn(zone(c), nsd)
            self.assertNotIn(zone(c), knot)
        for z in (BASE_DOMAIN, zone("tlsa-bad-insecure")):
            self.assertIn('name: "%s"' % z, nsd)
        self.assertFalse(os.path.exists(os.path.join(self.d.zones, "nsd-dns6.conf")))
        self.assertFalse(os.path.exists(os.path.join(self.d.zones, "knot-dns6.conf")))

    def test_ipv6_only_servers_must_be_responder_addresses(self):
        text = self.d.config_text() + "\n[zones]\nns6 = ns6.%s 2001:db8::99\n" % BASE_DOMAIN
        conf = os.path.join(self.d.dir, "ns6.conf")
        with open(conf, "w") as f:
            f.write(text)
        cp = run([harness.MAILSCOPE, "-c", conf, "zones", "--out",
                  os.path.join(self.d.dir, "other")])
        self.assertEqual(cp.returncode, 1, describe(cp))
        self.assertIn("zones: error: name server ns6.%s: address 2001:db8::99 is "
                      "not a [dns] listen address" % BASE_DOMAIN, cp.stderr)


class ResponderServesZoneFiles(DaemonTestCase):
    """dig straight at the responder on loopback."""

    @classmethod
    def setUpClass(cls):
        if DIG is None:
            raise AssertionError("dig not installed (contrib/install-deps: bind9-dnsutils)")
        cls.d = ZonesDaemon(cls.__name__)
        cls.addClassCleanup(cls.d.close)
        cls.d.start()
        cls.dns = {4: cls.d.addr("dns", 4), 6: cls.d.addr("dns", 6)}

    def setUp(self):
        self.first = self.d.query("SELECT coalesce(max(id), 0) AS n FROM dns_queries")[0]["n"]

    def dig(self, family, *args):
        return dig(*self.dns[family], *args)

    def new_rows(self, n):
        """The rows written since the test started, at least N."""
        self.d.wait_for("SELECT count(*) AS n FROM dns_queries WHERE id > ? HAVING n >= ?",
                        (self.first, n), what="%d dns_queries rows" % n)
        return self.d.query("SELECT * FROM dns_queries WHERE id > ? ORDER BY id",
                            (self.first,))

    def test_bogus_zone_answers_with_its_signatures(self):
        r = self.dig(4, "+dnssec", "MX", zone("v4-bogus"))
        self.assertEqual(r.status, "NOERROR", r)
        self.assertIn("aa", r.flags, r)
        self.assertNotIn("ra", r.flags, r)
        self.assertEqual(r.types(r.answer), ["MX", "RRSIG"], r)
        self.assertEqual(r.answer[0][4:], ["10", "mx.%s." % zone("v4-bogus")], r)
        r = self.dig(4, "+dnssec", "A", "mx." + zone("v4-bogus"))
        self.assertEqual(r.types(r.answer), ["A", "RRSIG"], r)
        r = self.dig(6, "+dnssec", "AAAA", "mx." + zone("v6-bogus"))
        self.assertEqual(r.types(r.answer), ["AAAA", "RRSIG"], r)
        r = self.dig(6, "+dnssec", "DNSKEY", zone("v6-bogus"))
        self.assertEqual(r.types(r.answer), ["DNSKEY", "DNSKEY", "RRSIG"], r)
        # without DO: no signatures
        r = self.dig(4, "+nodnssec", "MX", zone("v4-bogus"))
        self.assertEqual(r.types(r.answer), ["MX"], r)
        rows = self.new_rows(5)
        self.assertEqual([(x["qname"], x["qtype"], x["family"], x["do_bit"], x["rcode"],
                           x["challenge"], x["test_id"]) for x in rows],
                         [(zone("v4-bogus"), T_MX, 4, 1, 0, "v4-bogus", None),
                          ("mx." + zone("v4-bogus"), T_A, 4, 1, 0, "v4-bogus", None),
                          ("mx." + zone("v6-bogus"), T_AAAA, 6, 1, 0, "v6-bogus", None),
                          (zone("v6-bogus"), T_DNSKEY, 6, 1, 0, "v6-bogus", None),
                          (zone("v4-bogus"), T_MX, 4, 0, 0, "v4-bogus", None)])

    def test_the_signatures_are_those_of_the_zone_file(self):
        r = self.dig(4, "+dnssec", "MX", zone("v4-bogus"))
        with open(os.path.join(self.d.zones, zone("v4-bogus") + ".zone.signed")) as f:
            signed = f.read()
        sig = "".join(r.answer[1][-2:])
        self.assertIn(sig[:40], signed.replace(" ", ""), r)

    def test_missing_names_get_nxdomain_with_soa_and_nsec(self):
        r = self.dig(6, "+dnssec", "A", "nothing." + zone("v4-dns6"))
        self.assertEqual(r.status, "NXDOMAIN", r)
        self.assertIn("aa", r.flags, r)
        types = r.types(r.authority)
        self.assertEqual(types[:2], ["SOA", "RRSIG"], r)
        self.assertIn("NSEC", types, r)
        r = self.dig(6, "+dnssec", "AAAA", "mx." + zone("v4-dns6"))
        self.assertEqual((r.status, r.answer), ("NOERROR", []), r)
        self.assertEqual(r.types(r.authority), ["SOA", "RRSIG", "NSEC", "RRSIG"], r)
        rows = self.new_rows(2)
        self.assertEqual([(x["rcode"], x["challenge"]) for x in rows],
                         [(3, "v4-dns6"), (0, "v4-dns6")])

    def test_dns6_zones_are_answered_on_ipv6_only(self):
        r = self.dig(4, "+dnssec", "MX", zone("v6-dns6"))
        self.assertEqual(r.status, "REFUSED", r)
        self.assertNotIn("aa", r.flags, r)
        r = self.dig(6, "+dnssec", "MX", zone("v6-dns6"))
        self.assertEqual(r.status, "NOERROR", r)
        self.assertEqual(r.types(r.answer), ["MX", "RRSIG"], r)
        rows = self.new_rows(2)
        self.assertEqual([(x["family"], x["rcode"], x["challenge"]) for x in rows],
                         [(4, 5, "v6-dns6"), (6, 0, "v6-dns6")])

    def test_a_test_id_below_a_zone_is_recorded(self):
        i = "abcdefghijklmnopqrstuvwx2a"
        r = self.dig(4, "MX", "%s.%s" % (i, zone("v4-bogus")))
        self.assertEqual(r.status, "NXDOMAIN", r)
        r = self.dig(4, "MX", "%s.dns.%s" % (i, BASE_DOMAIN))
        self.assertEqual(r.status, "NOERROR", r)
        rows = self.new_rows(2)
        self.assertEqual([(x["test_id"], x["challenge"]) for x in rows],
                         [(i, "v4-bogus"), (i, "dns")])


class StartErrors(unittest.TestCase):
    """A zone file that is missing or cannot be served stops the start,
    with the config's or the zone file's FILE:LINE."""

    def start_fails(self, d):
        cp = run([harness.MAILSCOPED, "-c", d.conf, "-f"], timeout=20)
        self.assertEqual(cp.returncode, 1, describe(cp))
        self.assertFalse(harness.sanitizer_report(cp.stderr), cp.stderr)
        return cp.stderr

    def test_missing_and_broken_zone_files(self):
        d = ZonesDaemon(self.__class__.__name__)
        self.addCleanup(d.close)
        line = [n for n, l in enumerate(d.config_text().splitlines(), 1)
                if l.startswith("zones ")][0]
        os.unlink(os.path.join(d.zones, zone("v6-dns6") + ".zone.signed"))
        with open(os.path.join(d.zones, zone("v4-bogus") + ".zone.signed"), "a") as f:
            f.write("www IN A 999.0.0.1\n")
        err = self.start_fails(d)
        self.assertIn("%s:%d: error: zones: cannot read %s/%s.zone.signed: No such file "
                      "or directory" % (d.conf, line, d.zones, zone("v6-dns6")), err)
        self.assertRegex(err, r"%s/%s\.zone\.signed:\d+: error: " % (
            re.escape(d.zones), re.escape(zone("v4-bogus"))))

    def test_zones_needs_an_ipv6_listen_address(self):
        d = ZonesDaemon(self.__class__.__name__)
        self.addCleanup(d.close)
        d.set_option("dns", "listen", "127.0.0.1:%d" % d.addr("dns", 4)[1])
        line = [n for n, l in enumerate(d.config_text().splitlines(), 1)
                if l.startswith("zones ")][0]
        err = self.start_fails(d)
        self.assertIn("%s:%d: error: zones: the *-dns6 zones are served on IPv6 only"
                      % (d.conf, line), err)


# --- resolvers in a network namespace -------------------------------------

RESP4, RESP6 = "127.0.0.53", "2001:db8::53"


class ResponderLab(DnsLab):
    """DnsLab with the zones of daemon D: NSD for nsd.conf on 127.0.0.1,
    mailscoped (D, started inside) for the children.  UNBOUNDS: {port:
    (do-ip6, validating, last byte of its source addresses)}."""

    def __init__(self, name, unbounds, d):
        super().__init__(name, {p: v[0] for p, v in unbounds.items()})
        self.spec = unbounds
        self.d = d

    def start(self):
        need("ip", "nsd", "unbound", "dig")
        cp = run(["ip", "netns", "add", self.ns])
        if cp.returncode != 0:
            raise unittest.SkipTest("cannot create a network namespace: %s"
                                    % cp.stderr.strip())
        try:
            self.root = tempfile.mkdtemp(prefix="ms-resplab-")
            self.out = self.d.zones
            cmds = [["link", "set", "lo", "up"],
                    ["addr", "add", RESP6 + "/128", "dev", "lo", "nodad"]]
            for _, _, src in self.spec.values():
                cmds.append(["addr", "add", "2001:db8::%d/128" % src, "dev", "lo", "nodad"])
            for c in cmds:
                cp = run(["ip", "-n", self.ns] + c)
                assert cp.returncode == 0, describe(cp)
            self._start(["nsd"], "nsd", "-d", "-c", self._nsd_conf("nsd", "nsd.conf"))
            self.enter()
            self.d.start()
            for port in self.unbounds:
                self._start(["unbound%d" % port], "unbound", "-d", "-c",
                            self._unbound_conf(port, self.unbounds[port]))
            for port in self.unbounds:
                self._wait_answer(port)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        # the daemon first: it runs in the namespace
        if self.d.running:
            self.d.stop()
        super().stop()

    def _unbound_conf(self, port, v6):
        conf = super()._unbound_conf(port, v6)
        _, validating, src = self.spec[port]
        with open(conf) as f:
            text = f.read()
        # its own source addresses: its rows are told from the others'
        text = text.replace("server:\n", "server:\n\toutgoing-interface: 127.0.0.%d\n"
                            "\toutgoing-interface: 2001:db8::%d\n" % (src, src), 1)
        if not validating:
            text = text.replace('module-config: "validator iterator"',
                                'module-config: "iterator"')
            text = re.sub(r"\ttrust-anchor-file: .*\n", "", text)
        with open(conf, "w") as f:
            f.write(text)
        return conf


class ResolversThroughTheResponder(unittest.TestCase):
    """Unbound 5301 validates and uses IPv6, 5302 validates without IPv6,
    5303 does not validate."""

    V6, NO_V6, NO_VAL = 5301, 5302, 5303
    SPEC = {V6: ("yes", True, 11), NO_V6: ("no", True, 12), NO_VAL: ("yes", False, 13)}

    @classmethod
    def setUpClass(cls):
        edits = [lambda t: harness.config_set(t, "dns", "listen",
                                              "%s:53 [%s]:53" % (RESP4, RESP6)),
                 lambda t: t + "\n[zones]\nns = ns1.%s 127.0.0.1\nns6 = ns6.%s %s\n"
                 % (BASE_DOMAIN, BASE_DOMAIN, RESP6)]
        cls.d = ZonesDaemon(cls.__name__, edits=edits)
        cls.addClassCleanup(cls.d.close)
        cls.lab = ResponderLab("resp", cls.SPEC, cls.d)
        cls.lab.start()
        cls.addClassCleanup(cls.lab.stop)

    def query(self, port, name, rtype):
        status, flags, answer, cp = self.lab.dig(port, name, rtype)
        self.last = "%s\n%s\n%s" % (describe(cp), self.lab.logs(), self.d.log_tail())
        return status, flags, [a for a in answer if a[3] == rtype]

    def rows_from(self, port, challenge, n=1):
        src = self.SPEC[port][2]
        where = ("challenge = ? AND client_addr IN (?, ?)",
                 (challenge, "127.0.0.%d" % src, "2001:db8::%d" % src))
        self.d.wait_for("SELECT count(*) AS n FROM dns_queries WHERE %s HAVING n >= %d"
                        % (where[0], n), where[1], timeout=10,
                        what="%d queries of %s from %d" % (n, challenge, port))
        return self.d.query("SELECT * FROM dns_queries WHERE %s ORDER BY id" % where[0],
                            where[1])

    def test_validating_resolver_refuses_the_bogus_zone_and_is_recorded(self):
        status, _, _ = self.query(self.V6, zone("v4-bogus"), "MX")
        self.assertEqual(status, "SERVFAIL", self.last)
        rows = self.rows_from(self.V6, "v4-bogus")
        # it fetched the keys to check them against the DS, and refused
        self.assertIn(T_DNSKEY, [r["qtype"] for r in rows], rows)
        self.assertTrue(all(r["rcode"] == 0 and r["do_bit"] == 1 for r in rows), rows)

    def test_non_validating_resolver_takes_the_bogus_answer(self):
        status, flags, answer = self.query(self.NO_VAL, zone("v6-bogus"), "MX")
        self.assertEqual(status, "NOERROR", self.last)
        self.assertNotIn("ad", flags, self.last)
        self.assertEqual(answer[0][4:], ["10", "mx.%s." % zone("v6-bogus")], self.last)
        rows = self.rows_from(self.NO_VAL, "v6-bogus")
        self.assertIn((zone("v6-bogus"), T_MX), [(r["qname"].lower(), r["qtype"])
                                                 for r in rows], rows)
        # DO is no sign of validation: this one sets it and does not check
        self.assertTrue(all(r["do_bit"] == 1 for r in rows), rows)

    def test_dns6_zone_resolves_securely_over_ipv6_only(self):
        status, flags, answer = self.query(self.V6, zone("v4-dns6"), "MX")
        self.assertEqual(status, "NOERROR", self.last)
        self.assertIn("ad", flags, self.last)
        self.assertTrue(answer, self.last)
        rows = self.rows_from(self.V6, "v4-dns6")
        self.assertEqual({(r["family"], r["local_addr"]) for r in rows},
                         {(6, "[%s]:53" % RESP6)}, rows)
        status, _, _ = self.query(self.NO_V6, zone("v6-dns6"), "MX")
        self.assertEqual(status, "SERVFAIL", self.last)
        # the responder heard nothing from a resolver without IPv6: a
        # later query of it is stored, so the earlier ones would be too
        status, _, _ = self.query(self.NO_V6, zone("v4-bogus"), "DNSKEY")
        self.assertEqual(status, "SERVFAIL", self.last)
        self.rows_from(self.NO_V6, "v4-bogus")
        self.assertEqual(self.d.query(
            "SELECT count(*) AS n FROM dns_queries WHERE client_addr = '127.0.0.12'"
            " AND challenge LIKE '%-dns6'")[0]["n"], 0)


if __name__ == "__main__":
    unittest.main()
