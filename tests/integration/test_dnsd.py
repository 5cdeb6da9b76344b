"""The DNS responder for dns.<base> ([dns], daemon/server/dnsd.c).

dig straight at the responder over UDP and TCP, IPv4 and IPv6: answers,
rcodes, AA, EDNS, DO, BADVERS, FORMERR, NOTIMP, the 0x20 case echo, TC
with "truncate = mx" and dig's retry over TCP; raw sockets for what dig
cannot send (malformed packets, several queries on one TCP connection).
Then Unbound, started here as a sender's resolver with the zone as a stub
and QNAME minimisation: resolution through it, its minimised query and
its fallback to TCP.  Every query is checked in dns_queries.
"""

import contextlib
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import unittest

import harness
from harness import BASE_DOMAIN, DaemonTestCase, describe, run

ZONE = "dns." + BASE_DOMAIN
B32 = "abcdefghijklmnopqrstuvwxyz234567"
DIG = shutil.which("dig")
UNBOUND = shutil.which("unbound") or (
    "/usr/sbin/unbound" if os.access("/usr/sbin/unbound", os.X_OK) else None)

T_A, T_NS, T_SOA, T_MX, T_TXT, T_AAAA = 1, 2, 6, 15, 16, 28


def mx_of(i):
    """The dns challenge's MX of test I (issue 12: one label below ZONE,
    so that *.dns.<base> on the open host's certificate covers it)."""
    return "mx-%s.%s" % (i, ZONE)


def new_id():
    """A syntactically valid test ID: the responder does not look it up,
    and a fresh one per query keeps every check to its own rows."""
    return "".join(random.choice(B32) for _ in range(26))


def mixed_case(s):
    """S with every letter's case flipped at random (at least one upper)."""
    out = "".join(c.upper() if c.isalpha() and random.random() < 0.5 else c for c in s)
    return out if out != s.lower() else out[0].upper() + out[1:]


# --- dig -----------------------------------------------------------------

class Dig:
    """dig's answer, parsed from its default output."""

    def __init__(self, cp):
        self.cp = cp
        self.out = cp.stdout
        m = re.search(r"->>HEADER<<- opcode: (\w+), status: (\w+), id: (\d+)", self.out)
        if not m:
            raise AssertionError("no answer from dig\n" + describe(cp))
        self.opcode, self.status, self.id = m.group(1), m.group(2), int(m.group(3))
        # the last header (after a retry over TCP) is the one that counts
        heads = re.findall(r"->>HEADER<<- opcode: (\w+), status: (\w+), id: (\d+)", self.out)
        self.opcode, self.status = heads[-1][0], heads[-1][1]
        flags = re.findall(r";; flags: ([^;]*);", self.out)
        self.flags = set(flags[-1].split())
        m = re.search(r"; EDNS: version: (\d+), flags:([^;]*); udp: (\d+)", self.out)
        self.edns = None if not m else {
            "version": int(m.group(1)), "flags": set(m.group(2).split()),
            "udp": int(m.group(3))}
        self.question = self.section("QUESTION")
        self.answer = self.section("ANSWER")
        self.authority = self.section("AUTHORITY")
        m = re.search(r";; SERVER: .*\((UDP|TCP)\)", self.out)
        self.transport = m.group(1).lower() if m else None
        self.retried_tcp = "Truncated, retrying in TCP mode" in self.out

    def section(self, name):
        m = re.search(r";; %s SECTION:\n(.*?)(?:\n\n|\Z)" % name, self.out, re.S)
        if not m:
            return []
        # the question is commented out: ";name.  IN  A"
        return [l.lstrip(";").split() for l in m.group(1).splitlines() if l.strip()]

    def __str__(self):
        return describe(self.cp)


def dig(server, port, *args, timeout=10):
    """dig @SERVER -p PORT ARGS (one try, two seconds)."""
    cp = run([DIG, "@" + server, "-p", str(port), "+tries=1", "+time=2"] + list(args),
             timeout=timeout)
    return Dig(cp)


# --- raw packets ---------------------------------------------------------

def wire_name(name):
    out = b""
    for label in name.split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def query(name, qtype, qid=0x4242, flags=0x0100, qdcount=1, edns=None):
    """A query; EDNS (udp size) adds an OPT."""
    head = struct.pack("!HHHHHH", qid, flags, qdcount, 0, 0, 1 if edns else 0)
    body = wire_name(name) + struct.pack("!HH", qtype, 1)
    if edns:
        body += b"\0" + struct.pack("!HHBBHH", 41, edns, 0, 0, 0, 0)
    return head + body


def parse_header(msg):
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", msg[:12])
    return {"id": qid, "qr": flags >> 15, "aa": (flags >> 10) & 1,
            "tc": (flags >> 9) & 1, "rcode": flags & 0xf, "qd": qd, "an": an,
            "ns": ns, "ar": ar}


def udp_exchange(addr, port, msg, timeout=2):
    """Sends MSG; the answer, or None when nothing came within TIMEOUT."""
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.settimeout(harness.deadline(timeout))
        s.connect((addr, port))
        s.send(msg)
        try:
            return s.recv(65535), s.getsockname()[1]
        except socket.timeout:
            return None, s.getsockname()[1]


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        data = s.recv(n - len(buf))
        if not data:
            raise EOFError("closed after %d of %d bytes" % (len(buf), n))
        buf += data
    return buf


def tcp_read_message(s):
    (n,) = struct.unpack("!H", recv_exact(s, 2))
    return recv_exact(s, n)


def tcp_connect(addr, port, timeout=5):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(harness.deadline(timeout))
    s.connect((addr, port))
    return s


def framed(msg):
    return struct.pack("!H", len(msg)) + msg


class DnsCase(DaemonTestCase):
    """A daemon with [dns]; helpers for its rows."""

    @classmethod
    def setUpClass(cls):
        if DIG is None:
            raise AssertionError("dig not installed (contrib/install-deps: bind9-dnsutils)")
        super().setUpClass()
        cls.dns = {4: cls.d.addr("dns", 4), 6: cls.d.addr("dns", 6)}
        # the MX's addresses: demo-config gives dns addresses of its own
        # on [host open] (challenge_listen), which the responder answers
        cls.mx_addr = {4: cls.d.challenge_addr("dns", 4)[0],
                       6: cls.d.challenge_addr("dns", 6)[0]}
        # serving: the event loop runs (the harness waited for SMTP)
        r = dig(*cls.dns[4], "SOA", ZONE)
        if r.status != "NOERROR":
            raise AssertionError("the responder does not answer\n%s\n%s" % (r, cls.d.log_tail()))

    def rows(self, where, params, n=1, what=None):
        """Waits until at least N dns_queries rows match WHERE; all of them."""
        sql = "SELECT * FROM dns_queries WHERE %s ORDER BY id" % where
        self.d.wait_for("SELECT count(*) AS n FROM dns_queries WHERE %s HAVING n >= %d"
                        % (where, n), params, what=what or where)
        return self.d.query(sql, params)

    def row_of(self, test_id, n=1):
        return self.rows("test_id = ?", (test_id,), n, "the queries of test %s" % test_id)

    @contextlib.contextmanager
    def limit_reached(self, n):
        """N TCP connections to the responder, each served a query; yields
        one more connection.  All of them are closed at the end."""
        conns = []
        try:
            for k in range(n):
                s = tcp_connect(*self.dns[4])
                conns.append(s)
                s.sendall(framed(query(ZONE, T_SOA, qid=k)))
                self.assertEqual(parse_header(tcp_read_message(s))["id"], k)
            s = tcp_connect(*self.dns[4])
            conns.append(s)
            yield s
        finally:
            for s in conns:
                s.close()

    def assertTcpServedAgain(self):
        """Once the connections at a limit are closed, the slots come back."""
        end = time.monotonic() + harness.deadline(5)
        while True:
            try:
                with tcp_connect(*self.dns[4]) as s:
                    s.sendall(framed(query(ZONE, T_SOA, qid=9)))
                    if parse_header(tcp_read_message(s))["id"] == 9:
                        return
            except (EOFError, ConnectionResetError):
                pass
            self.assertLess(time.monotonic(), end, "no connection served again")
            time.sleep(0.05)


class DigAtResponder(DnsCase):
    """dig and raw sockets straight at the responder (truncate = off)."""

    # record_rate: the 1000 queries of one TCP connection each get a row
    options = [("global", "timeout_command", "1s"),
               ("global", "max_connections", "4"),
               ("dns", "record_rate", "2000")]

    def dig(self, family, *args):
        return dig(*self.dns[family], *args)

    def test_mx_of_a_test_over_udp_and_tcp_ipv4_and_ipv6(self):
        for fam in (4, 6):
            for transport in ("udp", "tcp"):
                i = new_id()
                r = self.dig(fam, "+tcp" if transport == "tcp" else "+notcp", "MX",
                             "%s.%s" % (i, ZONE))
                self.assertEqual(r.status, "NOERROR", r)
                self.assertEqual(r.transport, transport, r)
                self.assertIn("aa", r.flags, r)
                self.assertNotIn("ra", r.flags, r)
                self.assertEqual(r.answer, [["%s.%s." % (i, ZONE), "300", "IN", "MX", "10",
                                             mx_of(i) + "."]], r)
                row = self.row_of(i)[0]
                self.assertEqual(
                    {k: row[k] for k in ("client_addr", "family", "transport", "qname",
                                         "qtype", "qclass", "rcode", "truncated",
                                         "minimised", "test_id", "error")},
                    {"client_addr": "127.0.0.1" if fam == 4 else "::1", "family": fam,
                     "transport": transport, "qname": "%s.%s" % (i, ZONE),
                     "qtype": T_MX, "qclass": 1, "rcode": 0, "truncated": 0,
                     "minimised": 0, "test_id": i, "error": None})
                self.assertEqual(row["local_addr"], self.d.option("dns", "listen").split()[
                    0 if fam == 4 else 1])

    def test_mx_host_has_the_dns_challenges_addresses(self):
        i = new_id()
        mx = mx_of(i)
        r = self.dig(4, "A", mx)
        self.assertIn("aa", r.flags, r)
        self.assertEqual(r.answer, [[mx + ".", "300", "IN", "A", self.mx_addr[4]]], r)
        r = self.dig(6, "+tcp", "AAAA", mx)
        self.assertEqual(r.answer, [[mx + ".", "300", "IN", "AAAA", self.mx_addr[6]]], r)
        rows = self.row_of(i, 2)
        self.assertEqual([(x["qtype"], x["rcode"], x["qname"], x["test_id"], x["challenge"],
                           x["minimised"]) for x in rows],
                         [(T_A, 0, mx, i, "dns", 0), (T_AAAA, 0, mx, i, "dns", 0)])

    def test_old_mx_name_is_nxdomain(self):
        """mx.<id>.dns.<base>, the MX before issue 12 (no certificate could
        cover it), is gone; no release had it.  Still the test's row."""
        i = new_id()
        for qtype in ("A", "AAAA"):
            r = self.dig(4, qtype, "mx.%s.%s" % (i, ZONE))
            self.assertEqual((r.status, r.answer), ("NXDOMAIN", []), r)
            self.assertIn("aa", r.flags, r)
        rows = self.row_of(i, 2)
        self.assertEqual([(x["qtype"], x["rcode"], x["test_id"]) for x in rows],
                         [(T_A, 3, i), (T_AAAA, 3, i)])

    def test_apex_has_soa_and_ns_and_ns_has_the_dns_addresses(self):
        r = self.dig(4, "NS", ZONE)
        self.assertEqual(r.answer, [[ZONE + ".", "300", "IN", "NS", "ns.%s." % ZONE]], r)
        r = self.dig(4, "SOA", ZONE)
        self.assertEqual(r.answer[0][3:], ["SOA", "ns.%s." % ZONE,
                                           "hostmaster.%s." % BASE_DOMAIN, "1", "3600",
                                           "600", "86400", "60"], r)
        r = self.dig(6, "A", "ns." + ZONE)
        self.assertEqual([a[4] for a in r.answer], [self.dns[4][0]], r)
        r = self.dig(6, "AAAA", "ns." + ZONE)
        self.assertEqual([a[4] for a in r.answer], [self.dns[6][0]], r)

    def test_missing_names_are_nxdomain_and_other_types_nodata(self):
        i = new_id()
        r = self.dig(4, "A", "www.%s.%s" % (i, ZONE))
        self.assertEqual(r.status, "NXDOMAIN", r)
        self.assertIn("aa", r.flags)
        self.assertEqual(r.answer, [])
        self.assertEqual([a[3] for a in r.authority], ["SOA"], r)
        r = self.dig(4, "TXT", "%s.%s" % (i, ZONE))
        self.assertEqual(r.status, "NOERROR", r)
        self.assertIn("aa", r.flags)
        self.assertEqual(r.answer, [])
        self.assertEqual([a[3] for a in r.authority], ["SOA"], r)
        rows = self.row_of(i, 2)
        self.assertEqual([(x["qtype"], x["rcode"], x["minimised"]) for x in rows],
                         [(T_A, 3, 0), (T_TXT, 0, 0)])

    def test_tlsrpt_of_a_test_name_is_published(self):
        """Issue 12: _smtp._tls.<id>.dns.<base> was NXDOMAIN; every
        challenge domain publishes TLS-RPT (RFC 8460 3)."""
        i = new_id()
        name = "_smtp._tls.%s.%s" % (i, ZONE)
        for transport in ("+notcp", "+tcp"):
            r = self.dig(4, transport, "TXT", name)
            self.assertEqual(r.status, "NOERROR", r)
            self.assertIn("aa", r.flags, r)
            self.assertEqual([a[:4] for a in r.answer], [[name + ".", "300", "IN", "TXT"]], r)
            self.assertEqual(" ".join(r.answer[0][4:]),
                             '"v=TLSRPTv1; rua=mailto:tlsrpt@%s"' % BASE_DOMAIN, r)
        # another type: NODATA; the name above it exists too (RFC 8020)
        for qtype, qname in (("A", name), ("A", "_tls.%s.%s" % (i, ZONE))):
            r = self.dig(4, qtype, qname)
            self.assertEqual((r.status, r.answer), ("NOERROR", []), r)
            self.assertEqual([a[3] for a in r.authority], ["SOA"], r)
        rows = self.row_of(i, 4)
        self.assertEqual([(x["qtype"], x["rcode"], x["test_id"]) for x in rows],
                         [(T_TXT, 0, i), (T_TXT, 0, i), (T_A, 0, i), (T_A, 0, i)])

    def test_minimised_is_a_or_ns_of_the_test_name(self):
        i = new_id()
        for qtype in ("A", "NS", "AAAA", "MX"):
            self.dig(4, qtype, "%s.%s" % (i, ZONE))
        rows = self.row_of(i, 4)
        self.assertEqual([(x["qtype"], x["minimised"]) for x in rows],
                         [(T_A, 1), (T_NS, 1), (T_AAAA, 0), (T_MX, 0)])

    def test_names_outside_the_zone_are_refused(self):
        r = self.dig(4, "A", "example.org")
        self.assertEqual(r.status, "REFUSED", r)
        self.assertNotIn("aa", r.flags)
        qname = "refused-%d.%s" % (random.getrandbits(32), BASE_DOMAIN)
        r = self.dig(6, "+tcp", "A", qname)
        self.assertEqual(r.status, "REFUSED", r)
        row = self.rows("qname = ?", (qname,))[0]
        self.assertEqual((row["rcode"], row["test_id"], row["transport"]), (5, None, "tcp"))

    def test_question_case_is_echoed_as_sent(self):
        """0x20: resolvers compare the question's case."""
        i = new_id()
        sent = [mixed_case(mx_of(i)), mixed_case("NoPe.%s.%s" % (i, ZONE))]
        for fam, qname in zip((4, 6), sent):
            r = self.dig(fam, "A", qname)
            self.assertEqual(r.question, [[qname + ".", "IN", "A"]], r)
            owner = (r.answer or r.authority)[0][0]
            self.assertTrue(qname.endswith(owner[:-1]), r)  # the same case
        rows = self.row_of(i, 2)
        self.assertEqual([x["qname"] for x in rows], sent)
        self.assertEqual([x["rcode"] for x in rows], [0, 3])
        self.assertEqual([x["test_id"] for x in rows], [i, i])

    def test_edns_size_and_do_bit(self):
        i = new_id()
        r = self.dig(4, "+dnssec", "+bufsize=4096", "MX", "%s.%s" % (i, ZONE))
        self.assertEqual(r.edns, {"version": 0, "flags": {"do"}, "udp": 1232}, r)
        r = self.dig(6, "+bufsize=512", "MX", "%s.%s" % (i, ZONE))
        self.assertEqual(r.edns, {"version": 0, "flags": set(), "udp": 1232}, r)
        r = self.dig(4, "+noedns", "MX", "%s.%s" % (i, ZONE))
        self.assertIsNone(r.edns, r)
        self.assertEqual(r.status, "NOERROR", r)
        rows = self.row_of(i, 3)
        self.assertEqual([(x["edns"], x["edns_size"], x["do_bit"]) for x in rows],
                         [(1, 4096, 1), (1, 512, 0), (0, None, 0)])

    def test_edns_version_1_is_badvers(self):
        i = new_id()
        r = self.dig(4, "+edns=1", "+noednsnegotiation", "MX", "%s.%s" % (i, ZONE))
        self.assertEqual(r.status, "BADVERS", r)
        self.assertEqual(r.edns["version"], 0, r)
        self.assertEqual(r.answer, [])
        self.assertEqual(self.row_of(i)[0]["rcode"], 16)

    def test_formerr_and_notimp(self):
        i = new_id()
        # dig cannot send two questions
        msg = query("%s.%s" % (i, ZONE), T_MX, qdcount=2)
        msg += wire_name("%s.%s" % (i, ZONE)) + struct.pack("!HH", T_A, 1)
        ans, _ = udp_exchange(*self.dns[4], msg)
        h = parse_header(ans)
        self.assertEqual((h["qr"], h["rcode"], h["aa"], h["an"]), (1, 1, 0, 0))
        r = self.dig(6, "+opcode=notify", "SOA", "%s.%s" % (i, ZONE))
        self.assertEqual((r.opcode, r.status), ("NOTIFY", "NOTIMP"), r)
        rows = self.row_of(i, 2)
        self.assertEqual([(x["rcode"], x["qtype"]) for x in rows], [(1, T_MX), (4, T_SOA)])
        # no question at all: FORMERR with the OPT back
        r = self.dig(4, "+header-only")
        self.assertEqual(r.status, "FORMERR", r)
        self.assertIsNotNone(r.edns, r)

    def test_malformed_packets_are_dropped_and_recorded(self):
        addr, port = self.dns[4]
        cases = [(b"\x12", "truncated header"),
                 (b"\xab\xcd\x81\x80" + b"\0" * 8, "not a query (QR set)"),
                 (query("x." + ZONE, T_A)[:-3], None)]
        socks = []
        try:
            for msg, _ in cases:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.connect((addr, port))
                s.send(msg)
            for (msg, err), s in zip(cases, socks):
                row = self.rows("client_port = ? AND transport = 'udp'",
                                (s.getsockname()[1],))[0]
                # recorded, so an answer would be there by now
                s.settimeout(harness.deadline(0.1))
                with self.assertRaises(socket.timeout, msg="an answer to %r" % msg):
                    s.recv(65535)
                self.assertEqual((row["rcode"], row["qname"], row["qtype"], row["test_id"]),
                                 (None, None, None, None), row)
                self.assertTrue(row["error"], row)
                if err:
                    self.assertEqual(row["error"], err)
        finally:
            for s in socks:
                s.close()
        # the responder still answers
        self.assertEqual(self.dig(4, "SOA", ZONE).status, "NOERROR")

    def test_tcp_several_queries_on_one_connection(self):
        """RFC 7766 6.2.1: pipelined queries, a garbage message between."""
        i = new_id()
        names = ["%s.%s" % (i, ZONE), mx_of(i), "nope.%s.%s" % (i, ZONE)]
        with tcp_connect(*self.dns[6]) as s:
            s.sendall(framed(query(names[0], T_MX, qid=1, edns=1232)) + framed(b"\x01\x02\x03")
                      + framed(query(names[1], T_A, qid=2)) + framed(query(names[2], T_A, qid=3)))
            heads = [parse_header(tcp_read_message(s)) for _ in range(3)]
            port = s.getsockname()[1]
        self.assertEqual([(h["id"], h["rcode"], h["an"]) for h in heads],
                         [(1, 0, 1), (2, 0, 1), (3, 3, 0)])
        rows = self.rows("client_port = ? AND client_addr = '::1'", (port,), 4)
        self.assertEqual([(x["transport"], x["qname"], x["rcode"]) for x in rows],
                         [("tcp", names[0], 0), ("tcp", None, None), ("tcp", names[1], 0),
                          ("tcp", names[2], 3)])

    def test_tcp_connection_is_closed_after_1000_queries(self):
        q = framed(query(ZONE, T_SOA))
        with tcp_connect(*self.dns[4]) as s:
            s.sendall(q * 1000)
            for _ in range(1000):
                self.assertEqual(parse_header(tcp_read_message(s))["rcode"], 0)
            self.assertEqual(s.recv(10), b"", "still open after 1000 queries")
            port = s.getsockname()[1]
        rows = self.rows("client_port = ? AND transport = 'tcp'", (port,), 1000)
        self.assertEqual(len(rows), 1000)

    def test_tcp_incomplete_message_is_recorded(self):
        with tcp_connect(*self.dns[4]) as s:
            s.sendall(struct.pack("!H", 100) + b"\0" * 10)
            port = s.getsockname()[1]
        row = self.rows("client_port = ? AND transport = 'tcp'", (port,))[0]
        self.assertEqual((row["rcode"], row["error"]),
                         (None, "tcp: connection closed within a message"))

    def test_tcp_idle_connection_is_closed_after_the_timeout(self):
        """timeout_command (1s here), at most 10 s."""
        with tcp_connect(*self.dns[4], timeout=5) as s:
            t0 = time.monotonic()
            self.assertEqual(s.recv(10), b"", "data on an idle connection")
            took = time.monotonic() - t0
        self.assertGreaterEqual(took, 0.8)
        self.assertLess(took, harness.deadline(4))

    def test_label_with_space_and_quote_cannot_forge_log_fields(self):
        addr, port = self.dns[4]
        tag = "%08x" % random.getrandbits(32)
        name = 'a b" rcode=NOERROR-%s.%s' % (tag, ZONE)
        answer, _ = udp_exchange(addr, port, query(name, T_A))
        head = parse_header(answer)
        self.assertEqual(head["rcode"], 3)
        row = self.rows("qname = ?", (name,))[0]  # stored as sent (printable)
        self.assertEqual(row["rcode"], 3)
        line = [l for l in self.d.log().splitlines() if "NOERROR-" + tag in l]
        self.assertEqual(len(line), 1, self.d.log_tail(40))
        self.assertIn(r'qname=a\x20b\x22\x20rcode=NOERROR-%s.%s ' % (tag, ZONE), line[0])
        self.assertEqual(re.findall(r" rcode=(\S+)", line[0]), ["NXDOMAIN"])

    def test_tcp_connections_over_max_connections_are_closed(self):
        with self.limit_reached(4) as s:
            self.assertEqual(s.recv(10), b"", "a fifth connection was served")
        self.assertTcpServedAgain()


class PerIpLimit(DnsCase):
    """max_per_ip applies to the TCP connections of one client address."""

    options = [("global", "max_per_ip", "2")]

    def test_third_tcp_connection_from_one_address_is_refused(self):
        with self.limit_reached(2) as s:
            port = s.getsockname()[1]
            self.assertEqual(s.recv(10), b"", "a third connection was served")
            self.assertIn("dns: tcp connection from 127.0.0.1 port %d refused: "
                          "max_per_ip (2) reached" % port, self.d.log())
            # another address is not affected
            with tcp_connect(*self.dns[6]) as s6:
                s6.sendall(framed(query(ZONE, T_SOA, qid=6)))
                self.assertEqual(parse_header(tcp_read_message(s6))["id"], 6)
        self.assertTcpServedAgain()


# --- Unbound ---------------------------------------------------------------

def free_port():
    """A loopback port free for both UDP and TCP."""
    for _ in range(100):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise RuntimeError("no free port")


class Unbound:
    """unbound -d with its own config in a temporary directory, as the
    resolver of a sending MTA would be; the zone is a stub pointing at the
    responder.  Stopped by PID."""

    def __init__(self, stub_port):
        self.dir = tempfile.mkdtemp(prefix="ms-unbound-")
        self.port = free_port()
        self.log = os.path.join(self.dir, "unbound.log")
        self.conf = os.path.join(self.dir, "unbound.conf")
        with open(self.conf, "w") as f:
            f.write("""server:
    verbosity: 1
    interface: 127.0.0.1
    port: %(port)d
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "%(dir)s"
    pidfile: "%(dir)s/unbound.pid"
    logfile: "%(log)s"
    use-syslog: no
    num-threads: 1
    so-reuseport: no
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    module-config: "iterator"
    domain-insecure: "%(zone)s"
    local-zone: "test." nodefault
    qname-minimisation: yes
    use-caps-for-id: yes
stub-zone:
    name: "%(zone)s"
    stub-addr: 127.0.0.1@%(stub)d
remote-control:
    control-enable: no
""" % {"port": self.port, "dir": self.dir, "log": self.log, "zone": ZONE,
                "stub": stub_port})
        self.proc = subprocess.Popen([UNBOUND, "-d", "-c", self.conf],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, "stderr"), "wb"))
        end = time.monotonic() + harness.deadline(10)
        while True:
            if self.proc.poll() is not None:
                raise AssertionError("unbound exited with %s\n%s"
                                     % (self.proc.returncode, self.log_text()))
            # localhost is answered locally: nothing reaches the responder
            cp = run([DIG, "@127.0.0.1", "-p", str(self.port), "+tries=1", "+time=1",
                      "A", "localhost"])
            if "status: NOERROR" in cp.stdout:
                break
            if time.monotonic() > end:
                raise AssertionError("unbound not answering\n" + self.log_text())
            time.sleep(0.05)

    def log_text(self):
        out = ""
        for name in ("unbound.log", "stderr"):
            try:
                with open(os.path.join(self.dir, name)) as f:
                    out += "--- %s ---\n%s" % (name, f.read())
            except OSError:
                pass
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(harness.deadline(10))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not harness.KEEP_TMP:
            shutil.rmtree(self.dir, ignore_errors=True)


class TruncateMx(DnsCase):
    """truncate = mx: the A/AAAA of mx-<id> come truncated over UDP; dig,
    then Unbound, retry over TCP (RFC 7766)."""

    options = [("dns", "truncate", "mx")]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.unbound = None
        if UNBOUND is not None:
            cls.unbound = Unbound(cls.dns[4][1])
            cls.addClassCleanup(cls.unbound.stop)

    def resolve(self, *args):
        if self.unbound is None:
            self.fail("unbound not installed (contrib/install-deps: unbound)")
        r = dig("127.0.0.1", self.unbound.port, *args)
        if r.status != "NOERROR":
            self.fail("through unbound: %s\n%s\n%s" % (r, self.unbound.log_text(),
                                                       self.d.log_tail()))
        return r

    def test_udp_answer_is_truncated_and_dig_retries_over_tcp(self):
        i = new_id()
        mx = mx_of(i)
        r = dig(*self.dns[4], "+ignore", "A", mx)
        self.assertIn("tc", r.flags, r)
        self.assertIn("aa", r.flags, r)
        self.assertEqual((r.status, r.answer), ("NOERROR", []), r)
        r = dig(*self.dns[6], "AAAA", mx)
        self.assertTrue(r.retried_tcp, r)
        self.assertEqual(r.transport, "tcp", r)
        self.assertEqual(r.answer, [[mx + ".", "300", "IN", "AAAA", self.mx_addr[6]]], r)
        rows = self.row_of(i, 3)
        self.assertEqual([(x["family"], x["transport"], x["qtype"], x["rcode"], x["truncated"],
                           x["test_id"]) for x in rows],
                         [(4, "udp", T_A, 0, 1, i), (6, "udp", T_AAAA, 0, 1, i),
                          (6, "tcp", T_AAAA, 0, 0, i)])

    def test_only_the_addresses_of_the_mx_are_truncated(self):
        i = new_id()
        r = dig(*self.dns[4], "MX", "%s.%s" % (i, ZONE))
        self.assertNotIn("tc", r.flags, r)
        self.assertEqual(len(r.answer), 1, r)
        r = dig(*self.dns[4], "A", "ns." + ZONE)
        self.assertNotIn("tc", r.flags, r)
        # the old MX name is no MX: NXDOMAIN, not truncated
        r = dig(*self.dns[4], "A", "mx.%s.%s" % (i, ZONE))
        self.assertNotIn("tc", r.flags, r)
        self.assertEqual(r.status, "NXDOMAIN", r)
        rows = self.row_of(i, 2)
        self.assertEqual([(x["qtype"], x["truncated"]) for x in rows], [(T_MX, 0), (T_A, 0)])

    def test_mx_resolves_through_unbound(self):
        i = new_id()
        r = self.resolve("MX", "%s.%s" % (i, ZONE))
        self.assertEqual(r.answer, [["%s.%s." % (i, ZONE), "300", "IN", "MX", "10",
                                     mx_of(i) + "."]], r)
        self.assertNotIn("aa", r.flags, r)          # a resolver's answer
        # Unbound 1.17 asks A <id> first (minimised) even for MX <id>
        rows = self.rows("test_id = ? AND qtype = ?", (i, T_MX))
        self.assertEqual(len(rows), 1, rows)
        row = rows[0]
        self.assertEqual((row["client_addr"], row["transport"], row["rcode"], row["test_id"],
                          row["minimised"]), ("127.0.0.1", "udp", 0, i, 0))
        self.assertEqual(row["qname"].lower(), "%s.%s" % (i, ZONE))
        # use-caps-for-id: Unbound's question in mixed case, echoed
        self.assertNotEqual(row["qname"], row["qname"].lower(), row)

    def test_unbound_minimises_then_falls_back_to_tcp(self):
        """As a sender: MX <id>, which Unbound asks after A <id> (RFC
        9156), then A mx-<id> over UDP, truncated, then over TCP."""
        i = new_id()
        mx = mx_of(i)
        r = self.resolve("MX", "%s.%s" % (i, ZONE))
        self.assertEqual([a[3:] for a in r.answer], [["MX", "10", mx + "."]], r)
        r = self.resolve("A", mx)
        self.assertEqual([a[3:] for a in r.answer], [["A", self.mx_addr[4]]], r)
        rows = self.row_of(i, 4)
        seen = [(x["qname"].lower(), x["qtype"], x["transport"], x["truncated"],
                 x["minimised"], x["rcode"]) for x in rows]
        self.assertIn(("%s.%s" % (i, ZONE), T_A, "udp", 0, 1, 0), seen, rows)
        self.assertIn((mx, T_A, "udp", 1, 0, 0), seen, rows)
        self.assertIn((mx, T_A, "tcp", 0, 0, 0), seen, rows)
        # the minimised query came first, the TCP retry after the UDP one
        order = [s[:3] for s in seen]
        self.assertLess(order.index(("%s.%s" % (i, ZONE), T_A, "udp")),
                        order.index((mx, T_A, "udp")))
        self.assertLess(order.index((mx, T_A, "udp")), order.index((mx, T_A, "tcp")))
        self.assertEqual({x["test_id"] for x in rows}, {i})
