"""SPF (RFC 7208) and the client's DNS through the real daemon, against a
real DNS server: NSD, started here unprivileged on a loopback port, serves
sender zones made for these tests, and the daemon's resolver points at it.
Messages with different MAIL FROM and HELO names go through the daemon;
the rows of spf_results and client_dns are asserted exactly.  The timeout
case needs a recursive resolver: Unbound in front of NSD, with a zone
delegated to a name server that never answers."""

import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import unittest

import harness
from harness import DaemonTestCase, make_message

NSD = shutil.which("nsd") or "/usr/sbin/nsd"
UNBOUND = shutil.which("unbound") or "/usr/sbin/unbound"

# h1..h10 resolve elsewhere; h11, which would pass, must never be asked.
ELEVEN = "v=spf1 " + " ".join("a:h%d.sender.test" % i for i in range(1, 12)) + " -all"
# Macro expansions beyond the limits of DNS names (RFC 7208 7.3).
TRICKS = ("v=spf1 exists:%{l}%{l}%{l}%{l}%{l}.%{d} a:%{l}.%{l}.%{l}.%{l}.%{l}.%{d}"
          " exists:%{l1r-}.%{ir}.%{v}._spf.%{d2} -all")

SENDER_ZONE = """$ORIGIN sender.test.
$TTL 300
@           SOA   ns.sender.test. hostmaster.sender.test. 1 3600 600 86400 300
@           NS    ns.sender.test.
ns          A     127.0.0.1
pass        TXT   "v=spf1 ip4:127.0.0.0/8 ip6:::1 -all"
pass        TXT   "an unrelated TXT record"
fail        TXT   "v=spf1 ip4:192.0.2.0/24 -all exp=why.fail.sender.test"
why.fail    TXT   "%{c} is not one of %{d}'s senders"
softfail    TXT   "v=spf1 ip4:192.0.2.0/24 ~all"
neutral     TXT   "v=spf1 ?all"
eleven      TXT   "ELEVEN"
void        TXT   "v=spf1 a:nx1.sender.test a:nx2.sender.test a:nx3.sender.test ip4:127.0.0.1 -all"
syntax      TXT   "v=spf1 ip4:127.0.0.300 -all"
twice       TXT   "v=spf1 -all"
twice       TXT   "v=spf1 +all"
macro       TXT   "v=spf1 exists:%{i}.%{l}._spf.sender.test -all"
127.0.0.1.alice._spf A 127.0.0.2
mx          TXT   "v=spf1 mx -all"
mx          MX    10 mx1.sender.test.
mx          MX    20 mx2.sender.test.
mx1         A     192.0.2.1
mx2         A     127.0.0.1
include     TXT   "v=spf1 include:pass.sender.test -all"
tricks      TXT   "TRICKS"
nospf       A     192.0.2.7
mta         A     127.0.0.1
mta         AAAA  ::1
mta         TXT   "v=spf1 a -all"
liar        A     192.0.2.99
slow        TXT   "v=spf1 include:dead.sender.test -all"
dead        NS    ns.dead.sender.test.
ns.dead     A     127.0.0.1
""".replace('"ELEVEN"', '"%s"' % ELEVEN).replace('"TRICKS"', '"%s"' % TRICKS) + "".join(
    "h%d          A     %s\n" % (i, "127.0.0.1" if i == 11 else "192.0.2.%d" % i)
    for i in range(1, 12))

REVERSE4_ZONE = """$ORIGIN 127.in-addr.arpa.
$TTL 300
@           SOA   ns.sender.test. hostmaster.sender.test. 1 3600 600 86400 300
@           NS    ns.sender.test.
1.0.0       PTR   mta.sender.test.
"""

REVERSE6_ORIGIN = "0." * 31 + "ip6.arpa"
REVERSE6_ZONE = """$ORIGIN %s.
$TTL 300
@           SOA   ns.sender.test. hostmaster.sender.test. 1 3600 600 86400 300
@           NS    ns.sender.test.
1           PTR   mta.sender.test.
""" % REVERSE6_ORIGIN

ZONES = [("sender.test", SENDER_ZONE), ("127.in-addr.arpa", REVERSE4_ZONE),
         (REVERSE6_ORIGIN, REVERSE6_ZONE)]


def dns_query(port, name, qtype=6, timeout=0.5):
    """One UDP query to 127.0.0.1:PORT; the RCODE, or None without reply."""
    qid = random.getrandbits(16)
    qname = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".") if l) + b"\0"
    pkt = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", qtype, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(pkt, ("127.0.0.1", port))
        data = s.recv(4096)
    except OSError:
        return None
    finally:
        s.close()
    if len(data) < 12 or struct.unpack(">H", data[:2])[0] != qid:
        return None
    return data[3] & 0x0f


class Server:
    """A DNS server process of the test: its own directory, config, log and
    port; started in the foreground and stopped by PID."""

    name = "server"

    def __init__(self, root, port):
        self.dir = os.path.join(root, self.name)
        os.makedirs(self.dir)
        self.port = port
        self.log_path = os.path.join(self.dir, self.name + ".log")
        self.proc = None

    def argv(self):
        raise NotImplementedError

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def start(self, probe="sender.test"):
        out = open(os.path.join(self.dir, "stdout"), "ab")
        self.proc = subprocess.Popen(self.argv(), cwd=self.dir, stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=subprocess.STDOUT)
        out.close()
        end = time.monotonic() + harness.deadline(10)
        while dns_query(self.port, probe) is None:
            if self.proc.poll() is not None or time.monotonic() > end:
                status = self.proc.poll()
                self.stop()
                with open(os.path.join(self.dir, "stdout"), errors="replace") as f:
                    early = f.read()
                raise AssertionError("%s on port %d not answering (exit %s)\n%s\n%s"
                                     % (self.name, self.port, status, early, self.log()))
            time.sleep(0.05)
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(harness.deadline(10))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class NSDServer(Server):
    """NSD serving ZONES (or the [(origin, text)] given), unprivileged
    (TOOLS-NOTES: username and database empty, every path in its
    directory)."""

    name = "nsd"

    def __init__(self, root, port, served=None):
        super().__init__(root, port)
        zones = ""
        for origin, text in served or ZONES:
            with open(os.path.join(self.dir, origin + ".zone"), "w") as f:
                f.write(text)
            zones += 'zone:\n\tname: "%s"\n\tzonefile: "%s.zone"\n' % (origin, origin)
        self.conf = os.path.join(self.dir, "nsd.conf")
        with open(self.conf, "w") as f:
            f.write("""server:
	ip-address: 127.0.0.1
	port: %(port)d
	do-ip6: no
	username: ""
	chroot: ""
	database: ""
	zonesdir: "%(dir)s"
	zonelistfile: "%(dir)s/zone.list"
	xfrdfile: "%(dir)s/xfrd.state"
	xfrdir: "%(dir)s"
	pidfile: "%(dir)s/nsd.pid"
	logfile: "%(log)s"
	server-count: 1
	reuseport: no
	verbosity: 1
remote-control:
	control-enable: no
%(zones)s""" % {"port": port, "dir": self.dir, "log": self.log_path, "zones": zones})

    def argv(self):
        return [NSD, "-d", "-c", self.conf]


class UnboundServer(Server):
    """Unbound as the recursive resolver in front of NSD (stub zones), with
    dead.sender.test delegated to SILENT_PORT, where nothing answers.
    Names outside the stubs are refused: no query leaves loopback."""

    name = "unbound"

    def __init__(self, root, port, nsd_port, silent_port):
        super().__init__(root, port)
        self.conf = os.path.join(self.dir, "unbound.conf")
        stubs = "".join('stub-zone:\n\tname: "%s."\n\tstub-addr: 127.0.0.1@%d\n'
                        % (origin, nsd_port) for origin, _ in ZONES)
        stubs += 'stub-zone:\n\tname: "dead.sender.test."\n\tstub-addr: 127.0.0.1@%d\n' % silent_port
        with open(self.conf, "w") as f:
            f.write("""server:
	interface: 127.0.0.1
	port: %(port)d
	do-ip6: no
	username: ""
	chroot: ""
	directory: "%(dir)s"
	pidfile: "%(dir)s/unbound.pid"
	logfile: "%(log)s"
	use-syslog: no
	verbosity: 1
	num-threads: 1
	so-reuseport: no
	module-config: "iterator"
	do-not-query-localhost: no
	qname-minimisation: no
	access-control: 127.0.0.0/8 allow
	local-zone: "." refuse
	local-zone: "test." nodefault
	local-zone: "sender.test." transparent
	local-zone: "127.in-addr.arpa." transparent
	local-zone: "%(rev6)s." transparent
remote-control:
	control-enable: no
%(stubs)s""" % {"port": port, "dir": self.dir, "log": self.log_path,
                "stubs": stubs, "rev6": REVERSE6_ORIGIN})

    def argv(self):
        return [UNBOUND, "-d", "-c", self.conf]


class SilentServer:
    """A UDP and TCP port on 127.0.0.1 where nothing is ever answered."""

    def __init__(self, port):
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", port))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.bind(("127.0.0.1", port))
        self.tcp.listen(16)

    def stop(self):
        self.udp.close()
        self.tcp.close()


class SPFCase(DaemonTestCase):
    """One daemon per class with its resolver on our DNS servers."""

    resolver_timeout = "500ms"

    @classmethod
    def start_dns(cls, root):
        """Starts the DNS servers; returns the resolver's port."""
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        harness.require_binaries()
        for prog in (NSD,):
            if not os.access(prog, os.X_OK):
                raise AssertionError("%s not found: install the Debian package nsd "
                                     "(contrib/install-deps does)" % prog)
        cls.root = tempfile.mkdtemp(prefix="ms-dns-")
        cls.addClassCleanup(shutil.rmtree, cls.root, True)
        port = cls.start_dns(cls.root)
        cls.options = [("global", "resolver", "127.0.0.1:%d" % port),
                       ("global", "resolver_timeout", cls.resolver_timeout)]
        super().setUpClass()

    def deliver(self, mail_from, helo="mta.sender.test", family=4):
        """One message from MAIL_FROM after EHLO HELO; waits for its
        analysis.  Returns ({identity: spf_results row}, client_dns row,
        v_deliveries row, analyses row)."""
        t = self.d.new_test()
        to = self.d.address(t, challenge="plaintext")
        with self.d.smtp("plain", family=family) as c:
            self.assertEqual(c.cmd("EHLO " + helo).code, 250)
            self.assertEqual(c.cmd("MAIL FROM:<%s>" % mail_from).code, 250)
            self.assertEqual(c.cmd("RCPT TO:<%s>" % to).code, 250)
            self.assertEqual(c.cmd("DATA").code, 354)
            c.send(harness.dot_stuff(make_message(to, sender=mail_from or "x@sender.test")))
            self.assertEqual(c.read_reply().code, 250)
            c.quit()
        txn = self.d.query_one(
            "SELECT t.id FROM transactions t JOIN recipients r ON r.transaction_id = t.id"
            " WHERE r.test_id = ?", (t["id"],))["id"]
        analysis = self.d.wait_for(
            "SELECT * FROM analyses WHERE transaction_id = ? AND finished IS NOT NULL",
            (txn,), timeout=15, what="analysis of transaction %d" % txn)[0]
        spf = {r.pop("identity"): r for r in self.d.query(
            "SELECT identity, domain, result, explanation, record, dns_lookups,"
            " void_lookups, error FROM spf_results WHERE transaction_id = ?", (txn,))}
        client = self.d.query(
            "SELECT ptr, ptr_status, fcrdns, helo_resolves, helo_addrs, helo_status"
            " FROM client_dns WHERE transaction_id = ?", (txn,))
        view = self.d.query_one("SELECT * FROM v_deliveries WHERE transaction_id = ?", (txn,))
        return spf, client[0] if client else None, view, analysis

    def row(self, domain, result, record=None, dns_lookups=0, void_lookups=0,
            explanation=None, error=None):
        return {"domain": domain, "result": result, "explanation": explanation,
                "record": record, "dns_lookups": dns_lookups,
                "void_lookups": void_lookups, "error": error}


class SPFAgainstNSD(SPFCase):
    """The daemon's resolver is NSD itself: every answer is the zone's."""

    @classmethod
    def start_dns(cls, root):
        port = harness.pick_base_port(1)
        nsd = NSDServer(root, port)
        cls.addClassCleanup(nsd.stop)
        nsd.start()
        return port

    MTA = {"domain": "mta.sender.test", "result": "pass", "explanation": None,
           "record": "v=spf1 a -all", "dns_lookups": 1, "void_lookups": 0, "error": None}

    def test_mail_from_and_helo_pass_for_the_client(self):
        spf, client, view, _ = self.deliver("alice@pass.sender.test")
        self.assertEqual(spf, {
            "mailfrom": self.row("pass.sender.test", "pass",
                                 "v=spf1 ip4:127.0.0.0/8 ip6:::1 -all"),
            "helo": self.MTA})
        self.assertEqual((view["spf_mailfrom"], view["spf_helo"]), ("pass", "pass"))

    def test_fail_stores_the_expanded_explanation(self):
        spf, _, view, _ = self.deliver("alice@fail.sender.test")
        self.assertEqual(spf["mailfrom"], self.row(
            "fail.sender.test", "fail",
            "v=spf1 ip4:192.0.2.0/24 -all exp=why.fail.sender.test",
            explanation="127.0.0.1 is not one of fail.sender.test's senders"))
        self.assertEqual(view["spf_mailfrom"], "fail")

    def test_softfail_and_neutral(self):
        spf, _, _, _ = self.deliver("alice@softfail.sender.test")
        self.assertEqual(spf["mailfrom"], self.row(
            "softfail.sender.test", "softfail", "v=spf1 ip4:192.0.2.0/24 ~all"))
        spf, _, _, _ = self.deliver("alice@neutral.sender.test")
        self.assertEqual(spf["mailfrom"], self.row(
            "neutral.sender.test", "neutral", "v=spf1 ?all"))

    def test_eleven_dns_lookups_are_permerror(self):
        spf, _, view, _ = self.deliver("alice@eleven.sender.test")
        self.assertEqual(spf["mailfrom"], self.row(
            "eleven.sender.test", "permerror", ELEVEN, dns_lookups=11,
            error="more than 10 DNS-querying terms (RFC 7208 4.6.4)"))
        self.assertEqual(view["spf_mailfrom"], "permerror")

    def test_third_void_lookup_is_permerror(self):
        spf, _, _, _ = self.deliver("alice@void.sender.test")
        self.assertEqual(spf["mailfrom"], self.row(
            "void.sender.test", "permerror",
            "v=spf1 a:nx1.sender.test a:nx2.sender.test a:nx3.sender.test"
            " ip4:127.0.0.1 -all", dns_lookups=3, void_lookups=3,
            error="more than 2 void lookups (RFC 7208 4.6.4)"))

    def test_syntax_error_and_two_records_are_permerror(self):
        spf, _, _, _ = self.deliver("alice@syntax.sender.test")
        m = spf["mailfrom"]
        self.assertEqual((m["result"], m["record"]), ("permerror", "v=spf1 ip4:127.0.0.300 -all"))
        self.assertTrue(m["error"], "a permerror says why")
        spf, _, _, _ = self.deliver("alice@twice.sender.test")
        self.assertEqual(spf["mailfrom"], self.row(
            "twice.sender.test", "permerror",
            error="2 SPF records at twice.sender.test (RFC 7208 4.5)"))

    def test_macros_are_expanded_with_the_sender(self):
        spf, _, _, _ = self.deliver("alice@macro.sender.test")
        record = "v=spf1 exists:%{i}.%{l}._spf.sender.test -all"
        self.assertEqual(spf["mailfrom"], self.row(
            "macro.sender.test", "pass", record, dns_lookups=1))
        spf, _, _, _ = self.deliver("bob@macro.sender.test")
        self.assertEqual(spf["mailfrom"], self.row(
            "macro.sender.test", "fail", record, dns_lookups=1, void_lookups=1))

    def test_mx_and_include_count_one_lookup_each(self):
        spf, _, _, _ = self.deliver("alice@mx.sender.test")
        self.assertEqual(spf["mailfrom"], self.row(
            "mx.sender.test", "pass", "v=spf1 mx -all", dns_lookups=1))
        spf, _, _, _ = self.deliver("alice@include.sender.test")
        self.assertEqual(spf["mailfrom"], self.row(
            "include.sender.test", "pass", "v=spf1 include:pass.sender.test -all",
            dns_lookups=1))

    def test_no_record_and_no_domain_are_none(self):
        spf, _, view, _ = self.deliver("alice@nospf.sender.test")
        self.assertEqual(spf["mailfrom"], self.row(
            "nospf.sender.test", "none", error="no SPF record at nospf.sender.test: noerror"))
        spf, _, _, _ = self.deliver("alice@nx.sender.test")
        self.assertEqual(spf["mailfrom"], self.row(
            "nx.sender.test", "none", error="no SPF record at nx.sender.test: nxdomain"))
        self.assertEqual(view["spf_mailfrom"], "none")

    def test_macro_expansion_tricks_are_bounded(self):
        # 5 x 64 characters: RFC 7208 7.3 cuts labels on the left down to
        # tricks.sender.test (no A: void); five labels of 64 characters
        # cannot be asked (no match); the third is NXDOMAIN (void)
        spf, _, _, _ = self.deliver("%s-b-c@tricks.sender.test" % ("a" * 60))
        self.assertEqual(spf["mailfrom"], self.row(
            "tricks.sender.test", "fail", TRICKS, dns_lookups=3, void_lookups=2))

    def test_null_sender_is_checked_as_postmaster_at_helo(self):
        spf, _, view, _ = self.deliver("")
        self.assertEqual(spf, {"mailfrom": self.MTA, "helo": self.MTA})
        self.assertEqual(view["spf_mailfrom"], "pass")

    def test_helo_names_without_record_or_not_a_name(self):
        spf, client, view, _ = self.deliver("alice@pass.sender.test", helo="liar.sender.test")
        self.assertEqual(spf["helo"], self.row(
            "liar.sender.test", "none", error="no SPF record at liar.sender.test: noerror"))
        self.assertEqual(spf["mailfrom"]["result"], "pass")
        self.assertEqual(view["spf_helo"], "none")
        self.assertEqual((client["helo_resolves"], client["helo_addrs"], client["helo_status"]),
                         (1, "192.0.2.99", "noerror"))
        spf, client, _, _ = self.deliver("alice@pass.sender.test", helo="[127.0.0.1]")
        self.assertEqual(spf["helo"], self.row(
            "[127.0.0.1]", "none", error="not a multi-label domain name (RFC 7208 4.3)"))
        self.assertEqual((client["helo_resolves"], client["helo_addrs"], client["helo_status"]),
                         (None, None, "literal"))

    def test_client_ptr_is_forward_confirmed(self):
        _, client, _, _ = self.deliver("alice@pass.sender.test")
        self.assertEqual(client, {
            "ptr": "mta.sender.test", "ptr_status": "noerror", "fcrdns": 1,
            "helo_resolves": 1, "helo_addrs": "127.0.0.1 ::1", "helo_status": "noerror"})
        _, client, _, _ = self.deliver("alice@pass.sender.test", helo="nx.sender.test")
        self.assertEqual((client["fcrdns"], client["helo_resolves"], client["helo_addrs"],
                          client["helo_status"]), (1, 0, None, "nxdomain"))

    def test_ipv6_client(self):
        spf, client, _, _ = self.deliver("alice@pass.sender.test", family=6)
        self.assertEqual(spf["mailfrom"]["result"], "pass")
        self.assertEqual(spf["helo"], self.MTA)
        self.assertEqual((client["ptr"], client["fcrdns"]), ("mta.sender.test", 1))
        spf, _, _, _ = self.deliver("alice@fail.sender.test", family=6)
        self.assertEqual(spf["mailfrom"]["explanation"],
                         "::1 is not one of fail.sender.test's senders")


class SPFTimeoutThroughResolver(SPFCase):
    """The daemon asks Unbound, which asks NSD; dead.sender.test is
    delegated to a name server that never answers.  The lookup gives up
    after the resolver timeout (one retry): temperror, promptly."""

    resolver_timeout = "300ms"

    @classmethod
    def start_dns(cls, root):
        if not os.access(UNBOUND, os.X_OK):
            raise AssertionError("%s not found: install the Debian package unbound" % UNBOUND)
        base = harness.pick_base_port(3)
        silent = SilentServer(base + 2)
        cls.addClassCleanup(silent.stop)
        nsd = NSDServer(root, base)
        cls.addClassCleanup(nsd.stop)
        nsd.start()
        unbound = UnboundServer(root, base + 1, base, base + 2)
        cls.addClassCleanup(unbound.stop)
        unbound.start()
        cls.unbound = unbound
        return base + 1

    def test_unanswered_delegation_is_temperror_within_the_timeout(self):
        spf, client, view, analysis = self.deliver("alice@slow.sender.test")
        m = spf["mailfrom"]
        self.assertEqual((m["result"], m["record"], m["dns_lookups"]),
                         ("temperror", "v=spf1 include:dead.sender.test -all", 1))
        # our timeout first (2 x 300 ms), or Unbound's SERVFAIL
        self.assertIn(m["error"], ("TXT dead.sender.test: timeout",
                                   "TXT dead.sender.test: servfail"))
        self.assertEqual(spf["helo"], SPFAgainstNSD.MTA)
        self.assertEqual(client["fcrdns"], 1)
        self.assertEqual(view["spf_mailfrom"], "temperror")
        took = analysis["finished"] - analysis["queued"]
        self.assertLess(took, harness.deadline(3), "analysis took %.2fs" % took)


if __name__ == "__main__":
    unittest.main()
