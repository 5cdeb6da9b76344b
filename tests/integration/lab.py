"""The mail lab (test_lab, docs/lab.md): mailscoped on every challenge's
own addresses behind a real DNS hierarchy, and real senders, each in a
network namespace of its own.

- core namespace: a bridge `br0` holding every service address: the
  challenges' own addresses (port 25: 192.0.2.N and 2001:db8::N, N the
  challenge's place in the catalogue, 192.0.2.(100+N) and 2001:db8::1:N
  on the second MX's host), mailscoped's DNS responder (DNS4/DNS6: the
  *-bogus, *-dns6 and dns.<base> zones, `[dns] zones`) and web (WEB4/WEB6,
  443: the MTA-STS policies), one NSD (NSD4/NSD6) serving a signed fake
  root, `test.`, the base zone of `mailscope zones` (DS in `test.`), its
  insecure children and `senders.test` (the senders' own zones: SPF,
  DMARC, DKIM key, an MX that accepts nothing), a validating Unbound
  (VALIDATING4/6: root hints and trust anchor of the fake root, IPv6 on)
  and a non-validating, IPv4-only Unbound (PLAIN4);
- one namespace per sender: a veth into br0, 198.51.100.(10+i) and
  2001:db8:1::(10+i), routes to 192.0.2.0/24 and 2001:db8::/64 only, and
  /etc/netns/NAME/resolv.conf naming its resolver.

Nothing is routed anywhere else.  Every process is stopped by PID and
every namespace deleted, also when start() fails.
"""

import base64
import ipaddress
import os
import re
import shutil
import subprocess
import tempfile

import harness
from dnslab import DnsLab, add_netns, need
from harness import BASE_DOMAIN, CHALLENGE_HOSTS, CHALLENGES, A_ONLY_CHALLENGES, \
    AAAA_ONLY_CHALLENGES, describe, run

NSD4, NSD6 = "192.0.2.250", "2001:db8::250"
DNS4, DNS6 = "192.0.2.53", "2001:db8::53"
WEB4, WEB6 = "192.0.2.200", "2001:db8::200"
NOMX4 = "192.0.2.254"           # the senders' domains' MX: nothing listens
VALIDATING4, VALIDATING6 = "198.51.100.1", "2001:db8:1::1"
PLAIN4 = "198.51.100.2"
SENDERS_ZONE = "senders.test"
DKIM_SELECTOR = "lab"


def challenge_addrs(challenge, host):
    """(IPv4 or None, IPv6 or None) of CHALLENGE on HOST, port 25."""
    n = CHALLENGES.index(challenge) + 1
    second = CHALLENGE_HOSTS[challenge].index(host) == 1
    a4 = "192.0.2.%d" % (100 + n if second else n)
    a6 = "2001:db8::%s%d" % ("1:" if second else "", n)
    return (None if challenge in AAAA_ONLY_CHALLENGES else a4,
            None if challenge in A_ONLY_CHALLENGES else a6)


def sender_addrs(i):
    return "198.51.100.%d" % (10 + i), "2001:db8:1::%d" % (10 + i)


class LabDaemon(harness.Daemon):
    """mailscoped for the lab: every challenge on its lab addresses, port
    25; [dns] zones on DNS4/DNS6; [web] on WEB4/WEB6:443; analysis
    lookups through the validating Unbound; a short greylist delay and
    waiting period (WAIT)."""

    def __init__(self, name, wait="40s", greylist_delay="3s"):
        super().__init__(name)
        for sec, key, val in (
                ("global", "resolver", VALIDATING4),
                ("global", "wait", wait),
                ("host grey", "greylist_delay", greylist_delay),
                ("dns", "zones", "zones"),
                ("dns", "listen", "%s:53 [%s]:53" % (DNS4, DNS6)),
                ("web", "listen", "%s:443 [%s]:443" % (WEB4, WEB6))):
            self.set_option(sec, key, val)
        for edit in (self._zones_ns, self._listen):
            self._edits.append(edit)
            self._write(edit(self.config_text()))
        self.tool("zones", "--out", self.zones)

    @property
    def zones(self):
        return os.path.join(self.dir, "zones")

    @staticmethod
    def _zones_ns(text):
        return text + "\n[zones]\nns = ns1.%s %s %s\nns6 = ns6.%s %s\n" % (
            BASE_DOMAIN, NSD4, NSD6, BASE_DOMAIN, DNS6)

    @staticmethod
    def _listen(text):
        host = None
        out = []
        for line in text.splitlines():
            m = re.match(r"\[host (\S+)\]", line)
            if m:
                host = m.group(1)
            m = re.match(r"challenge_listen\s*=\s*(\S+)\s", line)
            if m:
                a4, a6 = challenge_addrs(m.group(1), host)
                line = "challenge_listen = %s %s" % (m.group(1), " ".join(
                    x for x in ("%s:25" % a4 if a4 else None,
                                "[%s]:25" % a6 if a6 else None) if x))
            out.append(line)
        return "\n".join(out) + "\n"

    def service_addrs(self):
        """Every address mailscoped listens on in the lab."""
        addrs = {DNS4, DNS6, WEB4, WEB6}
        for (c, host, _), _ in self.challenge_listeners().items():
            addrs.update(a for a in challenge_addrs(c, host) if a)
        return addrs


def _signzone(d, zone, text):
    """ZONE (a name ending in '.') written with TEXT into D, signed with a
    new combined ECDSA P-256 key; (signed file, DS line)."""
    cp = run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k", zone], cwd=d)
    assert cp.returncode == 0, describe(cp)
    key = os.path.join(d, cp.stdout.strip())
    fname = os.path.join(d, (zone.rstrip(".") or "root") + ".zone")
    with open(fname, "w") as f:
        f.write(text)
    cp = run(["ldns-signzone", "-o", zone, fname, key])
    assert cp.returncode == 0, describe(cp)
    cp = run(["ldns-key2ds", "-n", "-2", key + ".key"])
    assert cp.returncode == 0, describe(cp)
    return fname + ".signed", cp.stdout.strip()


def reverse_name(addr):
    return ipaddress.ip_address(addr).reverse_pointer + "."


def dkim_key(d):
    """(private key file, p= value) of a new 2048-bit RSA key in D."""
    key = os.path.join(d, "dkim.key")
    cp = run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
              "rsa_keygen_bits:2048", "-out", key])
    assert cp.returncode == 0, describe(cp)
    cp = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"],
                        capture_output=True, timeout=30)
    assert cp.returncode == 0, cp.stderr
    os.chmod(key, 0o644)        # Exim's transport reads it as Debian-exim
    return key, base64.b64encode(cp.stdout).decode()


def txt(value):
    """A TXT rdata of VALUE in strings of at most 255 characters."""
    return " ".join('"%s"' % value[i:i + 255] for i in range(0, len(value), 255))


class Sender:
    """One sender's namespace: NAME (its domain is NAME.senders.test),
    index I (its addresses), its resolver, the MTA put there later."""

    def __init__(self, lab, i, name, resolver):
        self.lab, self.i, self.name, self.resolver = lab, i, name, resolver
        self.ns = "%s-%d" % (lab.ns, i)
        self.addr4, self.addr6 = sender_addrs(i)
        self.domain = "%s.%s" % (name, SENDERS_ZONE)
        self.mail_from = "lab@" + self.domain
        self.dir = os.path.join(lab.root, "sender-" + name)
        self.mta = None
        self.dkim = None        # (key file, public key) when it signs

    @property
    def etc_netns(self):
        return os.path.join("/etc/netns", self.ns)

    def run(self, *argv, timeout=30):
        return run(["ip", "netns", "exec", self.ns] + list(argv), timeout=timeout)


class MailLab(DnsLab):
    """The lab of the module docstring for mailscoped D and the senders
    added with sender() before start()."""

    def __init__(self, name, d):
        super().__init__(name, {})
        self.d = d
        self.senders = []
        self.root = tempfile.mkdtemp(prefix="ms-lab-")
        os.chmod(self.root, 0o755)      # Postfix and Exim run as their users

    def sender(self, name, resolver=VALIDATING4):
        s = Sender(self, len(self.senders) + 1, name, resolver)
        os.mkdir(s.dir)
        os.chmod(s.dir, 0o755)
        self.senders.append(s)
        return s

    def start(self, mtas):
        """MTAS(sender) makes each sender's MTA once DNS is up."""
        need("ip", "nsd", "unbound", "dig", "ldns-keygen", "ldns-signzone",
             "ldns-key2ds", "openssl", "nsenter", "postfix", "mta-sts-daemon")
        add_netns(self.ns)
        try:
            self._network()
            self._dns_zones()
            # the analysis validates the senders' zones from the lab's root
            self.d.set_option("global", "trust_anchor", self.root_anchor)
            self._start(["nsd"], "nsd", "-d", "-c", self._nsd_conf_lab())
            self.enter()
            self.d.start()
            self._start(["unbound-validating"], "unbound", "-d", "-c", self._unbound(
                "unbound-validating", (VALIDATING4, VALIDATING6), True, "yes"))
            self._start(["unbound-plain"], "unbound", "-d", "-c", self._unbound(
                "unbound-plain", (PLAIN4,), False, "no"))
            self._wait_answer(VALIDATING4)
            self._wait_answer(PLAIN4)
            for s in self.senders:
                s.mta = mtas(s)
                s.mta.start()
        except BaseException:
            self.stop()
            raise
        return self

    def _ip(self, ns, *cmds):
        for c in cmds:
            cp = run(["ip", "-n", ns] + c)
            assert cp.returncode == 0, describe(cp)

    def _network(self):
        core = [["link", "set", "lo", "up"],
                ["link", "add", "br0", "type", "bridge"],
                ["link", "set", "br0", "up"]]
        addrs = self.d.service_addrs() | {NSD4, NSD6, NOMX4, PLAIN4}
        core.append(["addr", "add", VALIDATING4 + "/24", "dev", "br0"])
        core.append(["addr", "add", VALIDATING6 + "/64", "dev", "br0", "nodad"])
        for a in sorted(addrs):
            core.append(["addr", "add", a + ("/128" if ":" in a else "/32"), "dev", "br0"]
                        + (["nodad"] if ":" in a else []))
        self._ip(self.ns, *core)
        for s in self.senders:
            add_netns(s.ns)
            self._ip(self.ns, ["link", "add", "vs%d" % s.i, "type", "veth", "peer",
                               "name", "eth0", "netns", s.ns],
                     ["link", "set", "vs%d" % s.i, "master", "br0"],
                     ["link", "set", "vs%d" % s.i, "up"])
            self._ip(s.ns, ["link", "set", "lo", "up"],
                     ["addr", "add", s.addr4 + "/24", "dev", "eth0"],
                     ["addr", "add", s.addr6 + "/64", "dev", "eth0", "nodad"],
                     ["link", "set", "eth0", "up"],
                     ["route", "add", "192.0.2.0/24", "via", VALIDATING4],
                     ["-6", "route", "add", "2001:db8::/64", "via", VALIDATING6])
            os.makedirs(s.etc_netns, exist_ok=True)
            with open(os.path.join(s.etc_netns, "resolv.conf"), "w") as f:
                f.write("nameserver %s\noptions trust-ad\n" % s.resolver)
            with open(os.path.join(s.etc_netns, "hosts"), "w") as f:
                f.write("127.0.0.1 localhost\n%s %s\n" % (s.addr4, s.domain))

    def _dns_zones(self):
        """The fake root, test. and senders.test, signed; the base zone's
        DS (trust-anchor.ds of `mailscope zones`) in test."""
        d = os.path.join(self.root, "dns")
        os.mkdir(d)
        soa = "{z} 3600 IN SOA ns.test. hostmaster.test. 1 3600 600 86400 60\n"
        ns = ("ns.test. 3600 IN A %s\nns.test. 3600 IN AAAA %s\n" % (NSD4, NSD6))
        senders = soa.format(z=SENDERS_ZONE + ".") + "%s. 3600 IN NS ns.test.\n" % SENDERS_ZONE
        senders += "nomx.%s. 3600 IN A %s\n" % (SENDERS_ZONE, NOMX4)
        for s in self.senders:
            z = s.domain + "."
            senders += ("{z} 3600 IN A {a4}\n{z} 3600 IN AAAA {a6}\n"
                        "{z} 3600 IN MX 10 nomx.{p}.\n"
                        "{z} 3600 IN TXT \"v=spf1 ip4:{a4} ip6:{a6} -all\"\n"
                        "_dmarc.{z} 3600 IN TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@{d}\"\n"
                        ).format(z=z, a4=s.addr4, a6=s.addr6, p=SENDERS_ZONE, d=s.domain)
            if s.dkim is not None:
                senders += "%s._domainkey.%s 3600 IN TXT %s\n" % (
                    DKIM_SELECTOR, z, txt("v=DKIM1; k=rsa; p=" + s.dkim[1]))
        senders_signed, senders_ds = _signzone(d, SENDERS_ZONE + ".", senders)
        with open(os.path.join(self.d.zones, "trust-anchor.ds")) as f:
            base_ds = "\n".join(l for l in f.read().splitlines()
                                if l.strip() and not l.startswith(";"))
        test = (soa.format(z="test.") + "test. 3600 IN NS ns.test.\n" + ns
                + "{b}. 3600 IN NS ns1.{b}.\nns1.{b}. 3600 IN A {n4}\n"
                  "ns1.{b}. 3600 IN AAAA {n6}\n".format(b=BASE_DOMAIN, n4=NSD4, n6=NSD6)
                + base_ds + "\n" + "%s. 3600 IN NS ns.test.\n" % SENDERS_ZONE
                + senders_ds + "\n")
        test_signed, test_ds = _signzone(d, "test.", test)
        # the senders' reverse names, forward-confirmed, in one signed arpa.
        arpa = soa.format(z="arpa.") + "arpa. 3600 IN NS ns.test.\n"
        for s in self.senders:
            arpa += "%s 3600 IN PTR %s.\n%s 3600 IN PTR %s.\n" % (
                reverse_name(s.addr4), s.domain, reverse_name(s.addr6), s.domain)
        arpa_signed, arpa_ds = _signzone(d, "arpa.", arpa)
        root = (". 86400 IN SOA ns.root-lab. hostmaster.root-lab. 1 3600 600 86400 60\n"
                ". 86400 IN NS ns.root-lab.\n"
                "ns.root-lab. 86400 IN A %s\nns.root-lab. 86400 IN AAAA %s\n"
                "test. 86400 IN NS ns.test.\n" % (NSD4, NSD6) + ns + test_ds + "\n"
                + "arpa. 86400 IN NS ns.test.\n" + arpa_ds + "\n")
        root_signed, root_ds = _signzone(d, ".", root)
        self.root_anchor = os.path.join(d, "root.ds")
        with open(self.root_anchor, "w") as f:
            f.write(root_ds + "\n")
        self.root_hints = os.path.join(d, "root.hints")
        with open(self.root_hints, "w") as f:
            f.write(". 3600000 NS ns.root-lab.\nns.root-lab. 3600000 A %s\n"
                    "ns.root-lab. 3600000 AAAA %s\n" % (NSD4, NSD6))
        self.lab_zones = ((".", root_signed), ("test", test_signed), ("arpa", arpa_signed),
                          (SENDERS_ZONE, senders_signed))

    def _nsd_conf_lab(self):
        conf = self._nsd_conf("nsd", "nsd.conf")
        with open(conf, "a") as f:
            for name, path in self.lab_zones:
                f.write('zone:\n\tname: "%s"\n\tzonefile: "%s"\n' % (name, path))
        return conf

    def _nsd_conf(self, name, include):
        # dnslab's, with the zones of this daemon's `mailscope zones`
        self.out = self.d.zones
        return super()._nsd_conf(name, include)

    def _unbound(self, name, interfaces, validating, v6):
        return self._write_conf(
            name, "unbound.conf",
            'server:\n{ifs}\taccess-control: 0.0.0.0/0 allow\n'
            '\taccess-control: ::/0 allow\n\tusername: ""\n'
            '\tchroot: ""\n\tdirectory: "{d}"\n\tpidfile: "{d}/unbound.pid"\n'
            '\tlogfile: "{d}/unbound.log"\n\tuse-syslog: no\n'
            '\tdo-daemonize: no\n\tnum-threads: 1\n\tdo-ip4: yes\n'
            '\tdo-ip6: {v6}\n\troot-hints: "{hints}"\n'
            '\tmodule-config: "{modules}"\n{anchor}'
            '\tlocal-zone: "test." nodefault\n'
            # Unbound answers the documentation prefixes' reverse zones itself
            '\tlocal-zone: "100.51.198.in-addr.arpa." nodefault\n'
            '\tlocal-zone: "8.b.d.0.1.0.0.2.ip6.arpa." nodefault\n'
            '\tval-log-level: 2\n\tverbosity: 1\n'
            'remote-control:\n\tcontrol-enable: no\n',
            ifs="".join("\tinterface: %s@53\n" % a for a in interfaces), v6=v6,
            hints=self.root_hints,
            modules="validator iterator" if validating else "iterator",
            anchor='\ttrust-anchor-file: "%s"\n' % self.root_anchor if validating else "")

    def dig(self, server, name, rtype, *opts):
        cp = run(["ip", "netns", "exec", self.ns, "dig", "+dnssec", "+tries=1",
                  "+time=2", "@" + server, name, rtype] + list(opts), timeout=30)
        status = re.search(r"status: (\w+)", cp.stdout)
        flags = re.search(r"^;; flags: ([^;]*);", cp.stdout, re.M)
        answer = [l.split() for l in cp.stdout.splitlines()
                  if l and not l.startswith(";") and len(l.split()) > 4]
        return (status.group(1) if status else None,
                flags.group(1).split() if flags else [], answer, cp)

    def _wait_answer(self, server):
        import time
        end = time.monotonic() + harness.deadline(10)
        while True:
            status, _, _, cp = self.dig(server, "tls." + BASE_DOMAIN, "MX")
            if status == "NOERROR":
                return
            if time.monotonic() > end or any(p.poll() is not None for p, _ in self.procs):
                raise AssertionError("no answer from Unbound on %s\n%s\n%s"
                                     % (server, describe(cp), self.logs()))
            time.sleep(0.1)

    def stop(self):
        try:
            for s in self.senders:
                if s.mta is not None:
                    try:
                        s.mta.stop()
                    except Exception:   # the others are stopped all the same
                        pass
            if self.d.running:
                self.d.stop(check=False)
        finally:
            self.leave()
            super().stop()
            for s in self.senders:
                run(["ip", "netns", "delete", s.ns])
                shutil.rmtree(s.etc_netns, True)

    def logs(self):
        out = [super().logs()]
        for s in self.senders:
            if s.mta is not None:
                out.append("--- %s (%s)\n%s" % (s.name, s.mta.kind, s.mta.log()[-4000:]))
        out.append(self.d.log_tail())
        return "\n".join(out)
