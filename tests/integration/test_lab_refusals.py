"""A real sender refuses challenges, and each refusal row names its
challenge and, once the same sender delivers to the test, the test
(issue 12: challenge_listen, connection_attribution).

Two network namespaces of the test's own, joined by a veth pair:

- core: NSD (the base zone, 127.0.0.1:53), mailscoped (the *-bogus and
  *-dns6 zones on 127.0.0.53 and 2001:db8::53, and the SMTP listeners:
  the challenges below on addresses of their own, port 25, on the veth:
  192.0.2.x and 2001:db8::x, published by `mailscope zones`), and a
  validating Unbound on 198.51.100.1:53 for the sender;
- sender (198.51.100.2, 2001:db8:1::2): a private Postfix instance whose
  resolver is that Unbound (/etc/netns/NAME/resolv.conf, trust-ad), with
  smtp_tls_security_level = dane and `encrypt` for plaintext.<base>;
  and `openssl s_client -tls1_3` for tls12.

The test sends to plaintext (no STARTTLS: Postfix refuses after EHLO)
and tlsa-bad (no TLSA matches: Postfix refuses after the handshake),
checks why in Postfix's maillog, then has the same Postfix deliver to v4
and v6: the refusals become `address` attributions of the test.
"""

import json
import os
import re
import shutil
import tempfile
import unittest

import jsonschema

import harness
from dnslab import DnsLab, add_netns, need
from harness import BASE_DOMAIN, describe, run
from mta import Postfix

RESP4, RESP6 = "127.0.0.53", "2001:db8::53"
CORE4, CORE6 = "198.51.100.1", "2001:db8:1::1"
SEND4, SEND6 = "198.51.100.2", "2001:db8:1::2"
UNBOUND_PORT = 5301
# The challenges' own addresses (port 25) on the core's side of the veth.
LISTEN = {
    "plaintext": ("192.0.2.1", "2001:db8::1"),
    "v4": ("192.0.2.2", None),
    "v6": (None, "2001:db8::2"),
    "tlsa-bad": ("192.0.2.12", "2001:db8::12"),
    "tls12": ("192.0.2.14", "2001:db8::14"),
}

# Postfix's DANE, DNSSEC from the resolver's AD bit (resolv.conf has
# trust-ad), no retries during the test.
POSTFIX_EXTRA = """\
smtp_dns_support_level = dnssec
smtp_tls_security_level = dane
smtp_tls_policy_maps = texthash:{d}/etc/tls_policy
smtp_address_preference = ipv6
minimal_backoff_time = 1h
maximal_backoff_time = 1h
queue_run_delay = 1h
"""


class MailLab(DnsLab):
    """The two namespaces, NSD, Unbound, mailscoped (D) and Postfix."""

    def __init__(self, name, d):
        super().__init__(name, {UNBOUND_PORT: "yes"})
        self.sns = self.ns + "s"
        self.d = d
        self.postfix = None
        self.etc_netns = os.path.join("/etc/netns", self.sns)
        self.unbound_extra = ("\tinterface: %s@53\n\taccess-control: 198.51.100.0/24 allow\n"
                              % CORE4)

    def start(self):
        need("ip", "nsd", "unbound", "dig", "postfix", "sendmail", "openssl")
        add_netns(self.ns)
        try:
            add_netns(self.sns)
            self.root = tempfile.mkdtemp(prefix="ms-refuse-")
            os.chmod(self.root, 0o755)      # Postfix's daemons run as postfix
            self.out = self.d.zones
            core = [["link", "set", "lo", "up"],
                    ["addr", "add", RESP6 + "/128", "dev", "lo", "nodad"],
                    ["link", "add", "vcore", "type", "veth", "peer", "name", "vsend",
                     "netns", self.sns],
                    ["addr", "add", CORE4 + "/24", "dev", "vcore"],
                    ["addr", "add", CORE6 + "/64", "dev", "vcore", "nodad"],
                    ["link", "set", "vcore", "up"]]
            for a4, a6 in LISTEN.values():
                if a4:
                    core.append(["addr", "add", a4 + "/32", "dev", "vcore"])
                if a6:
                    core.append(["addr", "add", a6 + "/128", "dev", "vcore", "nodad"])
            sender = [["link", "set", "lo", "up"],
                      ["addr", "add", SEND4 + "/24", "dev", "vsend"],
                      ["addr", "add", SEND6 + "/64", "dev", "vsend", "nodad"],
                      ["link", "set", "vsend", "up"],
                      ["route", "add", "192.0.2.0/24", "via", CORE4],
                      ["-6", "route", "add", "2001:db8::/64", "via", CORE6]]
            for ns, cmds in ((self.ns, core), (self.sns, sender)):
                for c in cmds:
                    cp = run(["ip", "-n", ns] + c)
                    assert cp.returncode == 0, describe(cp)
            os.makedirs(self.etc_netns, exist_ok=True)
            with open(os.path.join(self.etc_netns, "resolv.conf"), "w") as f:
                f.write("nameserver %s\noptions trust-ad\n" % CORE4)
            self._start(["nsd"], "nsd", "-d", "-c", self._nsd_conf("nsd", "nsd.conf"))
            self.enter()
            self.d.start()
            self._start(["unbound"], "unbound", "-d", "-c",
                        self._unbound_conf(UNBOUND_PORT, "yes"))
            self._wait_answer(UNBOUND_PORT)
            self.postfix = Postfix(self.sns, os.path.join(self.root, "postfix"),
                                   "plaintext.%s encrypt\n" % BASE_DOMAIN, POSTFIX_EXTRA)
            self.postfix.start()
        except BaseException:
            self.stop()
            raise
        return self

    def sender(self, *argv, timeout=30):
        """ARGV run in the sender's namespace."""
        return run(["ip", "netns", "exec", self.sns] + list(argv), timeout=timeout,
                   input="")

    def stop(self):
        try:
            if self.postfix is not None:
                self.postfix.stop()
            if self.d.running:
                self.d.stop()
        finally:
            super().stop()
            run(["ip", "netns", "delete", self.sns])
            shutil.rmtree(self.etc_netns, True)

    def logs(self):
        return "%s\n--- postfix maillog\n%s\n%s" % (
            super().logs(), self.postfix.log() if self.postfix else "",
            self.d.log_tail())


class LabDaemon(harness.Daemon):
    """mailscoped for the lab: [dns] zones, the responder on RESP4/RESP6,
    the challenges of LISTEN on their lab addresses, port 25."""

    def __init__(self, name):
        super().__init__(name)
        self.set_option("dns", "zones", "zones")
        self.set_option("dns", "listen", "%s:53 [%s]:53" % (RESP4, RESP6))
        for edit in (self._zones_ns, self._listen):
            self._edits.append(edit)
            self._write(edit(self.config_text()))
        self.tool("zones", "--out", self.zones)

    @property
    def zones(self):
        return os.path.join(self.dir, "zones")

    @staticmethod
    def _zones_ns(text):
        return text + "\n[zones]\nns = ns1.%s 127.0.0.1\nns6 = ns6.%s %s\n" % (
            BASE_DOMAIN, BASE_DOMAIN, RESP6)

    @staticmethod
    def _listen(text):
        for c, (a4, a6) in LISTEN.items():
            addrs = " ".join(x for x in ("%s:25" % a4 if a4 else None,
                                         "[%s]:25" % a6 if a6 else None) if x)
            text, n = re.subn(r"(?m)^challenge_listen = %s .*$" % re.escape(c),
                              "challenge_listen = %s %s" % (c, addrs), text)
            assert n == 1, "challenge_listen of %s: %d lines" % (c, n)
        return text


class RefusalsOfARealSender(unittest.TestCase):
    """One test, one Postfix: two refusals (plaintext, tlsa-bad) and a
    failed TLS 1.3 handshake (tls12), then deliveries to v4 and v6."""

    @classmethod
    def setUpClass(cls):
        cls.d = LabDaemon(cls.__name__)
        cls.addClassCleanup(cls.d.close)
        cls.lab = MailLab("refuse", cls.d)
        cls.lab.start()
        cls.addClassCleanup(cls.lab.stop)
        cls.t = cls.d.new_test()
        cls.addr = cls.t["addresses"]
        pf = cls.lab.postfix
        # the refusals first
        cls.plain_line = cls._refused(pf, "plaintext")
        cls.dane_line = cls._refused(pf, "tlsa-bad")
        cls.s_client = cls.lab.sender(
            "openssl", "s_client", "-starttls", "smtp", "-tls1_3", "-brief",
            "-connect", "mx.tls12.%s:25" % BASE_DOMAIN, timeout=20)
        try:
            cls.tls12 = cls._rows("tls12")
        except AssertionError as e:
            raise AssertionError("%s\n%s" % (e, describe(cls.s_client)))
        cls.before = {r["id"]: cls._attribution(r["id"]) for c in
                      ("plaintext", "tlsa-bad", "tls12") for r in cls._rows(c)}
        # then a delivery from the same sender, over each family
        pf.sendmail([cls.addr["v4"], cls.addr["v6"]], "delivered")
        cls.sent = [pf.wait_status(cls.addr[c], "sent", cls.lab.logs) for c in ("v4", "v6")]

    @classmethod
    def _refused(cls, pf, challenge):
        """Send to CHALLENGE, wait for the deferral and for every
        connection of that challenge to be closed; the status line."""
        pf.sendmail([cls.addr[challenge]], challenge)
        line = pf.wait_status(cls.addr[challenge], "deferred", cls.lab.logs)
        cls._rows(challenge)
        return line

    @classmethod
    def _rows(cls, challenge):
        """The connections to CHALLENGE's addresses, once all are closed."""
        cls.d.wait_for("SELECT count(*) AS n, count(ended) AS e FROM connections"
                       " WHERE challenge = ? HAVING n > 0 AND n = e", (challenge,),
                       timeout=10, what="closed connections of %s" % challenge)
        return cls.d.query("SELECT * FROM connections WHERE challenge = ? ORDER BY id",
                           (challenge,))

    @classmethod
    def _attribution(cls, conn_id):
        return cls.d.wait_for("SELECT * FROM connection_attribution WHERE connection_id = ?",
                              (conn_id,), what="attribution of %d" % conn_id)[0]

    def why(self):
        return self.lab.logs()

    def attributed(self, challenge):
        """The rows of v_test_connections of our test for CHALLENGE, once
        every connection of the challenge is attributed by address."""
        ids = [r["id"] for r in self._rows(challenge)]
        self.d.wait_for(
            "SELECT count(*) AS n FROM connection_attribution WHERE connection_id IN (%s)"
            " AND reason = 'address' HAVING n = ?" % ",".join("?" * len(ids)),
            tuple(ids) + (len(ids),), timeout=10,
            what="address attribution of %s %s" % (challenge, ids))
        return self.d.query("SELECT * FROM v_test_connections WHERE test_id = ?"
                            " AND challenge = ? ORDER BY connection_id",
                            (self.t["id"], challenge))

    def assertRefusalRows(self, challenge, host, rows):
        self.assertTrue(rows, self.why())
        for r in rows:
            self.assertEqual((r["host"], r["challenge"], r["challenges"], r["test_id"],
                              r["mail_commands"]),
                             (host, challenge, challenge, None, 0), r)
            self.assertIn(r["client_addr"], (SEND4, SEND6), r)
            a4, a6 = LISTEN[challenge]
            self.assertIn(r["local_addr"], ("%s:25" % a4, "[%s]:25" % a6), r)
            # before the delivery, nothing tied it to a test
            self.assertEqual(self.before[r["id"]]["reason"], "none", self.before[r["id"]])

    def assertAttributed(self, challenge, rows):
        got = self.attributed(challenge)
        self.assertEqual([(r["connection_id"], r["reason"]) for r in got],
                         [(r["id"], "address") for r in rows], self.why())
        for r in got:
            net = SEND4 if r["family"] == 4 else "2001:db8:1::/64"
            self.assertEqual(r["client_net"], net, r)
            self.assertEqual(r["candidates"], self.t["id"], r)

    def test_deliveries_carry_the_test(self):
        for line in self.sent:
            self.assertRegex(line, r"relay=mx\.v[46]\.%s\[[0-9a-f:.]+\]:25, .*"
                             r"status=sent \(250 2\.0\.0" % re.escape(BASE_DOMAIN), line)
        rows = self.d.query("SELECT challenge, client_addr, connection_challenge, wrong_host"
                            " FROM v_deliveries WHERE test_id = ? ORDER BY challenge",
                            (self.t["id"],))
        self.assertEqual([tuple(r.values()) for r in rows],
                         [("v4", SEND4, "v4", 0), ("v6", SEND6, "v6", 0)], self.why())
        # no TLSA there: DANE falls back to opportunistic TLS
        for c in ("v4", "v6"):
            self.assertRegex(self.lab.postfix.log(),
                             r"Untrusted TLS connection established to mx\.%s\.%s\["
                             % (c, re.escape(BASE_DOMAIN)))

    def test_encrypt_refuses_plaintext_after_ehlo_and_is_attributed_by_address(self):
        # one refusal per address of the MX, IPv6 first (smtp_address_preference)
        log = self.lab.postfix.log()
        mx = re.escape("mx.plaintext." + BASE_DOMAIN)
        self.assertRegex(log, r"TLS is required, but was not offered by host %s\[%s\]\n"
                         % (mx, re.escape(LISTEN["plaintext"][1])), log)
        self.assertRegex(self.plain_line, r"dsn=4\.7\.4, status=deferred \(TLS is required, "
                         r"but was not offered by host %s\[%s\]\)"
                         % (mx, re.escape(LISTEN["plaintext"][0])), self.plain_line)
        rows = self._rows("plaintext")
        self.assertRefusalRows("plaintext", "plain", rows)
        self.assertEqual([r["family"] for r in rows], [6, 4], rows)
        for r in rows:
            self.assertEqual((r["tls_established"], r["end_reason"]), (0, "quit"), r)
            self.assertEqual(r["commands"], "ehlo=1 quit=1 commands=2", r)
        self.assertAttributed("plaintext", rows)

    def test_dane_refuses_tlsa_bad_and_is_attributed_by_address(self):
        # the handshake completes, the check after it fails: once per address
        log = self.lab.postfix.log()
        mx = re.escape("mx.tlsa-bad." + BASE_DOMAIN)
        self.assertEqual(
            sorted(re.findall(r"server certificate verification failed for %s\[([0-9a-f:.]+)\]"
                              r":25: num=65:no matching DANE TLSA records" % mx, log)),
            sorted(LISTEN["tlsa-bad"]), log)
        self.assertRegex(log, r"Untrusted TLS connection established to %s\[" % mx, log)
        self.assertIn("dsn=4.7.5, status=deferred (Server certificate not verified)",
                      self.dane_line, self.dane_line)
        rows = self._rows("tlsa-bad")
        self.assertRefusalRows("tlsa-bad", "tls-bad", rows)
        self.assertEqual(sorted(r["family"] for r in rows), [4, 6], rows)
        for r in rows:
            self.assertEqual((r["tls_established"], r["end_reason"]), (1, "quit"), r)
            # Postfix quits right after the handshake, without a second EHLO
            self.assertEqual(r["commands"], "ehlo=1 starttls=1 quit=1 commands=3", r)
            self.assertEqual(r["tls_sni"], "mx.tlsa-bad." + BASE_DOMAIN, r)
        self.assertAttributed("tlsa-bad", rows)

    def test_tls13_only_client_fails_on_tls12_and_is_attributed_by_address(self):
        self.assertNotEqual(self.s_client.returncode, 0, describe(self.s_client))
        self.assertRegex(self.s_client.stdout + self.s_client.stderr,
                         r"(?i)protocol version|no protocols available",
                         describe(self.s_client))
        rows = self.tls12
        self.assertRefusalRows("tls12", "tls12", rows)
        for r in rows:
            self.assertEqual((r["tls_established"], r["end_reason"], r["tls_alert_sent"],
                              r["tls_sni"]),
                             (0, "tls-failed", "protocol_version", "mx.tls12." + BASE_DOMAIN), r)
        self.assertAttributed("tls12", rows)


    def test_the_report_of_this_sender(self):
        """`mailscope report` on what this real Postfix did: the two
        families delivered under TLS, the refusals as evidence of their
        challenges (attributed by address), and DANE still waiting for
        its controls (tls, tlsa-ok-pkix-bad were not sent to)."""
        for c in ("plaintext", "tlsa-bad", "tls12"):
            self.attributed(c)
        rep = json.loads(self.d.tool("report", self.t["id"], "--format", "json").stdout)
        with open(os.path.join(harness.SRCDIR, "docs", "report.schema.json")) as f:
            jsonschema.validate(rep, json.load(f))
        v = {x["key"]: x for x in rep["verdicts"]}
        state = {k: x["state"] for k, x in v.items()}
        for key, want in (("ipv4", "good"), ("ipv6", "good"), ("starttls", "good"),
                          ("plaintext", "good"), ("dane", "waiting"),
                          ("requires_tls13", "waiting"), ("bare_lf", "good")):
            self.assertEqual(state[key], want, (key, v[key], self.why()))
        # the plaintext verdict rests on the refusals, not on absence
        ev = v["plaintext"]["evidence"]
        self.assertEqual(sorted(e["id"] for e in ev),
                         sorted(r["id"] for r in self._rows("plaintext")), ev)
        self.assertTrue(all(e["table"] == "connections" for e in ev), ev)
        ch = {c["name"]: c for c in rep["challenges"]}
        for c in ("v4", "v6"):
            self.assertEqual((ch[c]["delivered"], ch[c]["outcome"]), (True, "delivered"), ch[c])
            self.assertEqual(ch[c]["deliveries"][0]["client_addr"],
                             SEND4 if c == "v4" else SEND6, ch[c])
        for c in ("plaintext", "tlsa-bad", "tls12"):
            self.assertEqual((ch[c]["delivered"], ch[c]["outcome"]), (False, "refused"), ch[c])
            self.assertEqual(sorted(r["connection"] for r in ch[c]["refusals"]),
                             sorted(r["id"] for r in self._rows(c)), ch[c])
            self.assertEqual({r["reason"] for r in ch[c]["refusals"]}, {"address"}, ch[c])
        self.assertEqual(ch["tls"]["outcome"], "pending", ch["tls"])
        for fmt in ("text", "html"):
            self.assertIn(self.t["id"], self.d.tool("report", self.t["id"], "--format",
                                                    fmt).stdout)


if __name__ == "__main__":
    unittest.main()
