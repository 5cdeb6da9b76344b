"""The sender's zones through the real daemon: the zones of `mailscope
zones` served by NSD behind a validating Unbound in a network namespace
(dnslab.py), the daemon in that namespace with Unbound as its resolver
and the zones' trust-anchor.ds as its trust anchor.  Messages whose MAIL
FROM and From domains are in a signed zone, a bogus child (its DS matches
no key), an insecure child (no DS, proven by NSEC) and a child on IPv6-only
name servers; the sender_zones rows are asserted exactly."""

import os
import socket
import time
import unittest

import harness
from dnslab import DnsLab
from harness import BASE_DOMAIN, Daemon, make_message

UNBOUND_PORT = 5301


def z(name):
    return "%s.%s" % (name, BASE_DOMAIN)


class SenderZones(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        harness.require_binaries()
        cls.lab = DnsLab("sendzone", {UNBOUND_PORT: "yes"})
        cls.lab.start()
        cls.addClassCleanup(cls.lab.stop)
        cls.lab.enter()
        cls.d = Daemon(cls.__name__, options=[
            ("global", "resolver", "127.0.0.1:%d" % UNBOUND_PORT),
            ("global", "resolver_timeout", "2s"),
            ("global", "trust_anchor", os.path.join(cls.lab.out, "trust-anchor.ds"))])
        cls.addClassCleanup(cls.d.close)
        cls.d.start()

    def deliver(self, mail_from, header_from, extra_headers=b"", d=None):
        """One message to D (default: the class's daemon); waits for its
        analysis; {(role, name): row}."""
        d = d or self.d
        t = d.new_test()
        to = d.address(t, challenge="plaintext")
        with d.smtp("plain") as c:
            self.assertEqual(c.cmd("EHLO mta.%s" % BASE_DOMAIN).code, 250)
            self.assertEqual(c.cmd("MAIL FROM:<%s>" % mail_from).code, 250)
            self.assertEqual(c.cmd("RCPT TO:<%s>" % to).code, 250)
            self.assertEqual(c.cmd("DATA").code, 354)
            c.send(harness.dot_stuff(make_message(to, sender=header_from,
                                                  extra_headers=extra_headers)))
            self.assertEqual(c.read_reply().code, 250)
            c.quit()
        txn = d.query_one(
            "SELECT t.id FROM transactions t JOIN recipients r ON r.transaction_id = t.id"
            " WHERE r.test_id = ?", (t["id"],))["id"]
        d.wait_for(
            "SELECT * FROM analyses WHERE transaction_id = ? AND finished IS NOT NULL",
            (txn,), timeout=30, what="analysis of transaction %d" % txn)
        rows = d.query(
            "SELECT role, name, zone, dnssec, dnssec_error, ipv6_ns"
            " FROM sender_zones WHERE transaction_id = ?", (txn,))
        return {(r.pop("role"), r.pop("name")): r for r in rows}

    @staticmethod
    def row(zone, dnssec, error=None, ipv6_ns=0):
        return {"zone": zone, "dnssec": dnssec, "dnssec_error": error,
                "ipv6_ns": ipv6_ns}

    # the client is 127.0.0.1: Unbound answers for 127.in-addr.arpa itself
    REVERSE = {("reverse", "1.0.0.127.in-addr.arpa"): {
        "zone": "127.in-addr.arpa", "dnssec": "indeterminate",
        "dnssec_error": "127.in-addr.arpa: not under the trust anchor " + BASE_DOMAIN,
        "ipv6_ns": None}}

    def test_names_in_the_signed_base_zone_are_secure(self):
        # ns1.<base>, the base zone's only name server, has no AAAA
        got = self.deliver("a@" + z("tls"), "Someone@" + z("TLS"))
        self.assertEqual(got, {**self.REVERSE,
            ("mailfrom", z("tls")): self.row(BASE_DOMAIN, "secure"),
            ("from", z("tls")): self.row(BASE_DOMAIN, "secure")})

    def test_a_child_whose_ds_matches_no_key_is_bogus(self):
        got = self.deliver("a@" + z("v4-bogus"), "b@mx." + z("v4-bogus"))
        err = "%s: no DNSKEY matches the DS" % z("v4-bogus")
        self.assertEqual(got, {**self.REVERSE,
            ("mailfrom", z("v4-bogus")): self.row(z("v4-bogus"), "bogus", err),
            ("from", "mx." + z("v4-bogus")): self.row(z("v4-bogus"), "bogus", err)})

    def test_a_child_without_ds_proven_by_nsec_is_insecure(self):
        c = z("tlsa-bad-insecure")
        got = self.deliver("a@" + c, "b@" + c)
        err = "%s: no DS in %s" % (c, BASE_DOMAIN)
        self.assertEqual(got, {**self.REVERSE,
            ("mailfrom", c): self.row(c, "insecure", err),
            ("from", c): self.row(c, "insecure", err)})

    def test_ipv6_only_name_servers_count_only_for_their_own_cut(self):
        got = self.deliver("a@" + z("v4-dns6"), "b@" + z("v4"))
        self.assertEqual(got, {**self.REVERSE,
            ("mailfrom", z("v4-dns6")): self.row(z("v4-dns6"), "secure", ipv6_ns=1),
            ("from", z("v4")): self.row(BASE_DOMAIN, "secure", ipv6_ns=0)})

    def test_every_dkim_domain_gets_a_row_once(self):
        sigs = b"".join(
            b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=%s;"
            b" s=sel; h=from; bh=AAAA; b=AAAA\r\n" % d.encode()
            for d in (z("v6-dns6"), z("V6-DNS6"), z("v6-bogus")))
        got = self.deliver("a@" + z("tls"), "b@" + z("tls"), extra_headers=sigs)
        self.assertEqual(got, {**self.REVERSE,
            ("mailfrom", z("tls")): self.row(BASE_DOMAIN, "secure"),
            ("from", z("tls")): self.row(BASE_DOMAIN, "secure"),
            ("dkim", z("v6-dns6")): self.row(z("v6-dns6"), "secure", ipv6_ns=1),
            ("dkim", z("v6-bogus")): self.row(
                z("v6-bogus"), "bogus", "%s: no DNSKEY matches the DS" % z("v6-bogus"))})

    def other_daemon(self, name, options):
        d = Daemon(name, options=options)
        self.addCleanup(d.close)
        d.start()
        return d

    def test_a_trust_anchor_matching_no_key_makes_everything_bogus(self):
        # Unbound validates with the right anchor: its AD bit is not ours
        with open(os.path.join(self.lab.out, "trust-anchor.ds")) as f:
            ds = [l for l in f if l.strip() and not l.startswith(";")]
        self.assertEqual(len(ds), 1, ds)
        owner, ttl, cls_, rtype, tag, alg, dtype, digest = ds[0].split()
        flipped = "%064x" % (int(digest, 16) ^ ((1 << 256) - 1))
        anchor = os.path.join(self.lab.root, "wrong-anchor.ds")
        with open(anchor, "w") as f:
            f.write(" ".join([owner, ttl, cls_, rtype, tag, alg, dtype, flipped]) + "\n")
        d = self.other_daemon("WrongAnchor", [
            ("global", "resolver", "127.0.0.1:%d" % UNBOUND_PORT),
            ("global", "trust_anchor", anchor)])
        got = self.deliver("a@" + z("tls"), "b@" + z("tlsa-bad-insecure"), d=d)
        err = "%s: no DNSKEY matches the DS" % BASE_DOMAIN
        self.assertEqual(got, {**self.REVERSE,
            ("mailfrom", z("tls")): self.row(BASE_DOMAIN, "bogus", err),
            ("from", z("tlsa-bad-insecure")): self.row(z("tlsa-bad-insecure"), "bogus", err)})

    def test_an_unreadable_trust_anchor_is_a_config_error(self):
        text = self.d.config_text()
        bad = os.path.join(self.d.dir, "bad.conf")
        with open(bad, "w") as f:
            f.write(harness.config_set(text, "global", "trust_anchor", "no-such.ds"))
        line = harness.config_set(text, "global", "trust_anchor", "@@").split(
            "\n").index("trust_anchor = @@") + 1
        cp = harness.run([harness.MAILSCOPE, "-c", bad, "check-config"])
        self.assertEqual(cp.returncode, 1, harness.describe(cp))
        self.assertIn("%s:%d: error: cannot read trust_anchor 'no-such.ds'" % (bad, line),
                      cp.stderr)

    def test_a_silent_resolver_gives_indeterminate_rows_after_two_timeouts(self):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(udp.close)
        udp.bind(("127.0.0.1", 0))
        port = udp.getsockname()[1]
        d = self.other_daemon("SilentResolver", [
            ("global", "resolver", "127.0.0.1:%d" % port),
            ("global", "resolver_timeout", "200ms")])
        started = time.monotonic()
        got = self.deliver("a@" + z("tls"), "b@" + z("v4"), d=d)
        self.assertLess(time.monotonic() - started, harness.deadline(10))
        self.assertEqual(got, {
            ("mailfrom", z("tls")): self.row(
                None, "indeterminate", "SOA %s: timeout" % z("tls"), None),
            ("from", z("v4")): self.row(
                None, "indeterminate", "SOA %s: timeout" % z("v4"), None),
            ("reverse", "1.0.0.127.in-addr.arpa"): self.row(
                None, "indeterminate",
                "SOA 1.0.0.127.in-addr.arpa: not asked after timeouts", None)})


if __name__ == "__main__":
    unittest.main()
