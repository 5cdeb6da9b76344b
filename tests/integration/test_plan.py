"""mailscope plan, names and certs on a production config (the operator
issue): plan assigns documentation addresses (RFC 5737, RFC 3849) to
hosts and challenges, the config it writes loads (mailscoped -t) once
`certs` made the files it names, `zones` runs on it, and `names` lists
exactly the names the zone files hold.  Nothing is bound or sent."""

import os
import pwd
import re
import shutil
import stat
import tempfile
import unittest

import harness
from harness import (A_ONLY_CHALLENGES, AAAA_ONLY_CHALLENGES, CHALLENGES,
                     CHALLENGE_HOSTS, HOSTS, MAILSCOPE, MAILSCOPED, describe,
                     run)

BASE = "measure.example"
PREFIX = "2001:db8:1::/64"
ONE_V4 = "192.0.2.1"
FULL_V4 = ",".join("192.0.2.%d" % i for i in range(1, 31))   # 28 needed
# Every (challenge, host) with an A record: what keeps all apart over IPv4.
V4_SLOTS = sum(len(CHALLENGE_HOSTS[c]) for c in CHALLENGES
               if c not in AAAA_ONLY_CHALLENGES)
# The hosts with publicly trusted certificates (tls-bad must not have one).
PKIX_HOSTS = [h for h in HOSTS if h not in ("plain", "tls-bad")]
RR_RE = re.compile(r"^(\S+)\.\s+(?:\d+\s+)?IN\s+(\S+)\s+(.*)$")
NAMES_RR_RE = re.compile(r"^  (\S+)\.\s+(A|AAAA|MX|TLSA|TXT|NS|DS)\s+(.*)$")


def plan(*args):
    return run([MAILSCOPE, "plan"] + list(args))


def relocate(text, root):
    """The plan's /etc/mailscope and /var/lib/mailscope moved under ROOT,
    its user (mailscope, which this machine may not have) nobody."""
    return (text.replace("/etc/mailscope", os.path.join(root, "etc"))
            .replace("/var/lib/mailscope", os.path.join(root, "var"))
            .replace("user        = mailscope", "user        = nobody"))


def zone_records(zdir):
    """{(owner, type)} of every unsigned zone file mailscope zones wrote."""
    out = set()
    for name in os.listdir(zdir):
        if not name.endswith(".zone"):
            continue
        with open(os.path.join(zdir, name)) as f:
            for line in f:
                m = RR_RE.match(line)
                if m:
                    out.add((m.group(1).lower(), m.group(2)))
    return out


def names_output(text):
    """(certificate names per section, {(owner, type)} records)."""
    certs, records, section = {}, set(), None
    for line in text.splitlines():
        m = re.match(r"^\[(.*)\]$", line)
        if m:
            section = m.group(1)
            continue
        if line.startswith("  name "):
            certs.setdefault(section, []).append(line[7:].strip().lower())
        m = NAMES_RR_RE.match(line)
        if m:
            records.add((m.group(1).lower(), m.group(2)))
    return certs, records


class Deployment:
    """plan -> certs -> zones in a directory of its own: the one pass."""

    def __init__(self, ipv4):
        self.root = tempfile.mkdtemp(prefix="ms-plan-")
        # the user (nobody) reaches its database through it, as through /var
        os.chmod(self.root, 0o755)
        os.makedirs(os.path.join(self.root, "etc"))
        self.plan = plan("--base", BASE, "--ipv4", ipv4, "--ipv6", PREFIX)
        if self.plan.returncode != 0:
            raise AssertionError("plan failed\n" + describe(self.plan))
        self.text = self.plan.stdout
        self.summary = self.plan.stderr
        self.conf = os.path.join(self.root, "etc", "mailscope.conf")
        with open(self.conf, "w") as f:
            f.write(relocate(self.text, self.root))
        self.sections = harness.config_sections(self.text)

    def tool(self, *args):
        return run([MAILSCOPE, "-c", self.conf] + list(args))

    def close(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def section(self, name):
        for n, kv, _ in self.sections:
            if n == name:
                return kv
        raise AssertionError("no [%s] in\n%s" % (name, self.text))

    def listen_v4(self):
        """Every IPv4 (address, port) bound on port 25, with its owner."""
        seen = []
        own = harness.config_challenge_listen(self.text)
        for h in HOSTS:
            for fam, addr, port in harness.parse_listen(
                    self.section("host " + h)["listen"]):
                if fam == 4:
                    seen.append(((addr, port), "host " + h))
        for (c, h, fam), addrs in own.items():
            if fam == 4:
                seen += [(a, c + "@" + h) for a in addrs]
        return seen


class PlanUsage(unittest.TestCase):
    """Bad input: exit 2 and a message that says what is wrong."""

    def assert_usage(self, cp, words):
        self.assertEqual(cp.returncode, 2, describe(cp))
        self.assertEqual(cp.stdout, "", describe(cp))
        for w in words:
            self.assertIn(w, cp.stderr)

    def test_prefix_that_is_not_a_64_is_refused(self):
        self.assert_usage(plan("--base", BASE, "--ipv4", ONE_V4, "--ipv6",
                               "2001:db8:1::/48"), ["--ipv6", "/64"])

    def test_prefix_without_length_is_refused(self):
        self.assert_usage(plan("--base", BASE, "--ipv4", ONE_V4, "--ipv6",
                               "2001:db8:1::"), ["--ipv6", "PREFIX/64"])

    def test_ipv4_as_ipv6_prefix_is_refused(self):
        self.assert_usage(plan("--base", BASE, "--ipv4", ONE_V4, "--ipv6",
                               "192.0.2.0/64"), ["not an IPv6 prefix"])

    def test_prefix_with_host_bits_is_refused(self):
        self.assert_usage(plan("--base", BASE, "--ipv4", ONE_V4, "--ipv6",
                               "2001:db8:1::5/64"), ["after the first 64"])

    def test_bad_ipv4_is_refused(self):
        for bad in ("192.0.2.300", "192.0.2.1,example.org", "2001:db8::1",
                    "192.0.2"):
            cp = plan("--base", BASE, "--ipv4", bad, "--ipv6", PREFIX)
            self.assert_usage(cp, ["--ipv4", "not an IPv4 address"])

    def test_ipv4_given_twice_is_refused(self):
        self.assert_usage(plan("--base", BASE, "--ipv4", "192.0.2.1,192.0.2.1",
                               "--ipv6", PREFIX), ["given twice"])

    def test_missing_option_and_bad_base(self):
        self.assert_usage(plan("--base", BASE, "--ipv6", PREFIX),
                          ["required"])
        self.assert_usage(plan("--base", "not a domain", "--ipv4", ONE_V4,
                               "--ipv6", PREFIX), ["--base"])

    def test_existing_file_is_not_overwritten_without_force(self):
        d = tempfile.mkdtemp(prefix="ms-plan-out-")
        self.addCleanup(shutil.rmtree, d, True)
        out = os.path.join(d, "mailscope.conf")
        with open(out, "w") as f:
            f.write("mine\n")
        cp = plan("--base", BASE, "--ipv4", ONE_V4, "--ipv6", PREFIX,
                  "--out", out)
        self.assertEqual(cp.returncode, 1, describe(cp))
        self.assertIn("exists: not overwritten", cp.stderr)
        with open(out) as f:
            self.assertEqual(f.read(), "mine\n")
        cp = plan("--base", BASE, "--ipv4", ONE_V4, "--ipv6", PREFIX,
                  "--out", out, "--force")
        self.assertEqual(cp.returncode, 0, describe(cp))
        self.assertIn("replaced " + out, cp.stderr)
        with open(out) as f:
            self.assertIn("[host tls-bad]", f.read())


class PlanChecks:
    """What holds for any number of IPv4 addresses (mixed in below)."""

    IPV4 = None
    FULL = False        # every challenge in the zones

    @classmethod
    def setUpClass(cls):
        harness.require_binaries()
        cls.d = Deployment(cls.IPV4)
        cls.addClassCleanup(cls.d.close)
        # the one pass of docs/operator-plan.md: certs makes the files the
        # config names, new-test the database and its directory, zones
        # the zones inside it
        cls.certs = cls.d.tool("certs", "--out", os.path.join(cls.d.root, "etc", "certs"))
        cls.new_test = cls.d.tool("new-test")
        cls.zones = cls.d.tool("zones", "--out", os.path.join(cls.d.root, "var", "zones"))
        cls.names = cls.d.tool("names")

    def test_certs_runs_before_the_certificates_exist(self):
        self.assertEqual(self.certs.returncode, 0, describe(self.certs))
        self.assertNotIn("warning", self.certs.stderr)

    def test_new_test_makes_the_state_directory_for_the_user(self):
        self.assertEqual(self.new_test.returncode, 0, describe(self.new_test))
        for p in ("var", "var/mailscope.db"):
            st = os.stat(os.path.join(self.d.root, p))
            self.assertEqual(st.st_uid, pwd.getpwnam("nobody").pw_uid, p)

    def test_the_config_loads_for_mailscoped(self):
        cp = run([MAILSCOPED, "-t", "-c", self.d.conf])
        self.assertEqual(cp.returncode, 0, describe(cp))

    def test_zones_runs_on_it(self):
        self.assertEqual(self.zones.returncode, 0, describe(self.zones))
        zdir = os.path.join(self.d.root, "var", "zones")
        self.assertTrue(os.path.exists(os.path.join(zdir, BASE + ".zone.signed")))

    def test_production_paths_and_user(self):
        g = self.d.section("global")
        self.assertEqual(g["base_domain"], BASE)
        self.assertEqual(g["user"], "mailscope")
        self.assertEqual(g["database"], "/var/lib/mailscope/mailscope.db")
        for h in HOSTS[1:] + ["web"]:
            sec = self.d.section(h if h == "web" else "host " + h)
            name = h
            self.assertEqual(sec["certificate"],
                             "/etc/mailscope/certs/%s.rsa.pem "
                             "/etc/mailscope/certs/%s.ecdsa.pem" % (name, name))

    def test_every_ipv6_challenge_has_an_address_of_its_own(self):
        own = harness.config_challenge_listen(self.d.text)
        v6 = []
        for c in CHALLENGES:
            if c in A_ONLY_CHALLENGES:
                continue
            for h in CHALLENGE_HOSTS[c]:
                addrs = [a for a, p in own.get((c, h, 6), [])]
                self.assertEqual(len(addrs), 1, "%s on %s" % (c, h))
                self.assertTrue(addrs[0].startswith("2001:db8:1::"), addrs)
                v6.append(addrs[0])
        self.assertEqual(len(v6), len(set(v6)), "an IPv6 address used twice")
        self.assertIn("IPv6: every challenge has an address of its own",
                      self.d.summary)

    def test_no_ipv4_address_is_bound_twice_on_port_25(self):
        seen = self.d.listen_v4()
        addrs = [a for a, _ in seen]
        self.assertEqual(len(addrs), len(set(addrs)), seen)

    def test_name_servers_and_responder_do_not_share_port_53(self):
        ns = self.d.section("zones")["ns"].split()
        dns = [a for fam, a, p in harness.parse_listen(self.d.section("dns")["listen"])]
        self.assertEqual(ns[0], "ns1." + BASE)
        for a in ns[1:]:
            self.assertNotIn(a, dns)

    def test_names_lists_every_name_the_zones_hold(self):
        """Every MX/A/AAAA owner of the zone files is in names, and every
        record names lists is in the zone files (TLSA, TXT too)."""
        self.assertEqual(self.names.returncode, 0, describe(self.names))
        zrec = zone_records(os.path.join(self.d.root, "var", "zones"))
        _, nrec = names_output(self.names.stdout)
        wanted = {(o, t) for o, t in zrec if t in ("MX", "A", "AAAA")}
        self.assertEqual(sorted(wanted - nrec), [], "in the zones, not in names")
        listed = {(o, t) for o, t in nrec if t in ("MX", "A", "AAAA", "TLSA", "TXT")}
        self.assertEqual(sorted(listed - zrec), [], "in names, not in the zones")

    def test_certificate_names_are_in_the_zones(self):
        zrec = zone_records(os.path.join(self.d.root, "var", "zones"))
        owners = {o for o, t in zrec if t in ("A", "AAAA")}
        delegated = {o for o, t in zrec if t == "NS"}
        certs, _ = names_output(self.names.stdout)
        self.assertEqual(sorted(certs), sorted(["host " + h for h in PKIX_HOSTS]
                                               + ["web"]))
        for section, names in certs.items():
            for n in names:
                if n.startswith("*."):
                    self.assertIn(n[2:], delegated, section)
                else:
                    self.assertIn(n, owners, "%s: %s" % (section, n))

    def test_certificate_names_match_what_certs_issued(self):
        """The lab certificates of certs carry every name names asks for
        (more: certs reads no config, so it covers challenges left out,
        and its web certificate every mta-sts.<challenge>).  With every
        challenge present, a host's names are exactly its SAN."""
        cdir = os.path.join(self.d.root, "etc", "certs")
        certs, _ = names_output(self.names.stdout)
        for section, names in certs.items():
            h = section.split()[-1]
            cp = run(["openssl", "x509", "-noout", "-ext", "subjectAltName",
                      "-in", os.path.join(cdir, h + ".ecdsa.pem")])
            self.assertEqual(cp.returncode, 0, describe(cp))
            san = set(re.findall(r"DNS:([^,\s]+)", cp.stdout))
            san.discard("localhost")
            self.assertEqual(sorted(set(names) - san), [], section)
            if self.FULL and section != "web":
                self.assertEqual(sorted(san), sorted(names), section)

    def test_tls_bad_gets_no_public_certificate(self):
        text = self.names.stdout.split("[host tls-bad]", 1)[1].split("\n[", 1)[0]
        self.assertIn("NOT publicly trusted", text)
        self.assertNotIn("  name ", text)

    def test_registrar_gets_ns_glue_and_the_ds(self):
        reg = self.names.stdout.split("[registrar]", 1)[1]
        self.assertRegex(reg, r"  %s\.\s+NS\s+ns1\.%s\." % (re.escape(BASE), re.escape(BASE)))
        self.assertRegex(reg, r"  ns1\.%s\.\s+A\s+192\.0\.2\.1\n" % re.escape(BASE))
        with open(os.path.join(self.d.root, "var", "zones", "trust-anchor.ds")) as f:
            ds = [l for l in f if not l.startswith(";")][0].split()
        m = re.search(r"  %s\.\s+DS\s+(.*)\n" % re.escape(BASE), reg)
        self.assertIsNotNone(m, reg)
        self.assertEqual(m.group(1).split(), ds[-4:])


class PlanOneIPv4(PlanChecks, unittest.TestCase):
    """One IPv4 address and a /64: every IPv6 challenge, a reduced IPv4 set."""

    IPV4 = ONE_V4

    def test_the_one_ipv4_serves_open_ns_and_web(self):
        self.assertEqual(harness.parse_listen(self.d.section("host open")["listen"])[0],
                         (4, ONE_V4, 25))
        self.assertIn(ONE_V4, self.d.section("zones")["ns"].split())
        self.assertIn((4, ONE_V4, 443),
                      harness.parse_listen(self.d.section("web")["listen"]))
        for h in HOSTS:
            if h != "open":
                fams = {f for f, a, p in harness.parse_listen(
                    self.d.section("host " + h)["listen"])}
                self.assertEqual(fams, {6}, h)

    def test_summary_says_what_is_merged_disabled_and_ipv6_only(self):
        s = self.d.summary
        self.assertIn("merged on 192.0.2.1 ([host open]): v4,v4-dns6,v4-bogus,uniq,dns", s)
        self.assertRegex(s, r"grey-v4\s+grey\s+DISABLED")
        self.assertRegex(s, r"tls-badcert\s+tls-bad\s+none: IPv6 only")
        self.assertIn("[dns] has no IPv4 address", s)
        self.assertIn("needs %d IPv4 addresses; 1 given" % V4_SLOTS, s)

    def test_without_ipv4_for_dns_the_bogus_zones_stay_on_nsd(self):
        self.assertNotIn("zones", self.d.section("dns"))
        ns6 = self.d.section("zones")["ns6"].split()
        self.assertEqual(ns6, ["ns6." + BASE, "2001:db8:1::6"])

    def test_grey_v4_is_left_out_of_the_zones(self):
        self.assertIn("challenge grey-v4 (an A-only MX) is left out", self.zones.stderr)
        zrec = zone_records(os.path.join(self.d.root, "var", "zones"))
        self.assertNotIn(("grey-v4." + BASE, "MX"), zrec)
        self.assertIn(("grey-v6." + BASE, "MX"), zrec)


class PlanFullIPv4(PlanChecks, unittest.TestCase):
    """Enough IPv4 addresses: every challenge apart in both families."""

    IPV4 = FULL_V4
    FULL = True

    def test_every_ipv4_mx_has_an_address_of_its_own(self):
        own = harness.config_challenge_listen(self.d.text)
        hosts_v4 = {}
        for h in HOSTS:
            for f, a, p in harness.parse_listen(self.d.section("host " + h)["listen"]):
                if f == 4:
                    hosts_v4[h] = a
        self.assertEqual(len(hosts_v4), len(HOSTS))
        for c in CHALLENGES:
            if c in AAAA_ONLY_CHALLENGES:
                continue
            for h in CHALLENGE_HOSTS[c]:
                v4 = [a for a, p in own.get((c, h, 4), [])]
                # at most one challenge per host stays on the host's address
                self.assertLessEqual(len(v4), 1, (c, h))
        self.assertIn("%d MX with an address of their own, 0 merged" % V4_SLOTS,
                      self.d.summary)
        self.assertIn("2 IPv4 addresses not needed, from 192.0.2.29", self.d.summary)
        self.assertNotIn("192.0.2.29", self.d.text.split("[global]", 1)[1])

    def test_dns_has_ipv4_and_serves_the_responder_zones(self):
        dns = harness.parse_listen(self.d.section("dns")["listen"])
        self.assertIn((4, "192.0.2.2", 53), dns)
        self.assertEqual(self.d.section("dns")["zones"], "/var/lib/mailscope/zones")
        self.assertEqual(self.d.section("zones")["ns6"].split(),
                         ["ns6." + BASE, "2001:db8:1::53"])


class CertsOnFreshConfig(unittest.TestCase):
    """certs on a config whose certificate files do not exist yet."""

    def setUp(self):
        harness.require_binaries()
        self.d = Deployment(ONE_V4)
        self.addCleanup(self.d.close)

    def test_strict_commands_still_refuse_missing_files(self):
        os.makedirs(os.path.join(self.d.root, "var"))
        for argv in ([MAILSCOPED, "-t", "-c", self.d.conf],
                     [MAILSCOPE, "-c", self.d.conf, "check-config"],
                     [MAILSCOPE, "-c", self.d.conf, "zones", "--out",
                      os.path.join(self.d.root, "var", "z")]):
            cp = run(argv)
            self.assertEqual(cp.returncode, 1, describe(cp))
            self.assertIn("cannot read certificate", cp.stderr)

    def test_certs_creates_them_then_the_config_loads(self):
        cdir = os.path.join(self.d.root, "etc", "certs")
        cp = self.d.tool("certs", "--out", cdir)
        self.assertEqual(cp.returncode, 0, describe(cp))
        for h in PKIX_HOSTS + ["tls-bad", "web"]:
            for kind in ("rsa", "ecdsa"):
                key = os.path.join(cdir, "%s.%s.key" % (h, kind))
                self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600, key)
        # the documented pass: new-test makes the database for the user
        cp = self.d.tool("new-test")
        self.assertEqual(cp.returncode, 0, describe(cp))
        cp = run([MAILSCOPED, "-t", "-c", self.d.conf])
        self.assertEqual(cp.returncode, 0, describe(cp))

    def test_certs_says_which_files_it_did_not_make(self):
        cp = self.d.tool("certs", "--out", os.path.join(self.d.root, "elsewhere"))
        self.assertEqual(cp.returncode, 0, describe(cp))
        self.assertIn("the config names %s" % os.path.join(
            self.d.root, "etc", "certs", "open.rsa.pem"), cp.stderr)

    def test_names_runs_before_certificates_and_keys(self):
        cp = self.d.tool("names")
        self.assertEqual(cp.returncode, 0, describe(cp))
        self.assertIn("run mailscope zones first", cp.stdout)
        self.assertIn("  name mx.tls." + BASE, cp.stdout)


if __name__ == "__main__":
    unittest.main()
