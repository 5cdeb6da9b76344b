"""The DNS responder's rate limits (issue 15, daemon/server/dnsd.c).

A flood of a few thousand UDP queries from one loopback address
(127.0.0.2) while another /24 (127.0.1.2) asks: the flood's answers beyond
[dns] rrl_rate a second are slipped TC=1 every rrl_slip-th and dropped
otherwise, the other source is answered as usual, TCP is never limited,
the drops are logged ("dns: rate limit: dropped N answers, slipped M") and
counted in dns_queries.rrl_dropped, and the rows of the flood stay within
record_rate a second (the rest counted in dns_queries.unrecorded).

Then [dns] rrl_total: queries from many /24s (127.0.x.2), each well
within rrl_rate, together beyond rrl_total a second: the answers beyond
the total are limited as over rrl_rate (every rrl_slip-th of a prefix's
slipped, the others dropped), and every query is still accounted for.
"""

import socket
import struct
import time

import harness
from test_dnsd import (T_A, T_MX, T_SOA, ZONE, DnsCase, framed, new_id, parse_header,
                       query, tcp_read_message)

FLOOD_FROM = "127.0.0.2"      # 127.0.0.0/24
OTHER_FROM = "127.0.1.2"      # another /24
RATE, SLIP, RECORD = 50, 2, 10
FLOOD = 3000
BATCH = 50


def udp_socket(source):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    return s


class RateLimitedResponder(DnsCase):
    """[dns] rrl_rate = 50, rrl_slip = 2, record_rate = 10."""

    options = [("dns", "rrl_rate", str(RATE)), ("dns", "rrl_slip", str(SLIP)),
               ("dns", "record_rate", str(RECORD))]

    def drain(self, s, heads, quiet=0.05):
        """Reads answers on S into HEADS until none came for QUIET s."""
        s.settimeout(quiet)
        while True:
            try:
                heads.append(parse_header(s.recv(65535)))
            except socket.timeout:
                return

    def test_flood_is_slipped_and_dropped_and_others_are_answered(self):
        addr, port = self.dns[4]
        name = "%s.%s" % (new_id(), ZONE)
        heads, other = [], None
        start = time.monotonic()
        with udp_socket(FLOOD_FROM) as s:
            s.connect((addr, port))
            for k in range(FLOOD):
                s.send(query(name, T_MX, qid=k % 65536))
                if k % BATCH == BATCH - 1:
                    self.drain(s, heads, 0.002)
                if k == FLOOD // 2:
                    # another /24 in the middle of the flood: as usual
                    with udp_socket(OTHER_FROM) as o:
                        o.settimeout(harness.deadline(2))
                        o.connect((addr, port))
                        o.send(query(ZONE, T_SOA, qid=7))
                        other = parse_header(o.recv(65535))
                    # and the flooding address over TCP: never limited
                    with socket.create_connection((addr, port), harness.deadline(2),
                                                  (FLOOD_FROM, 0)) as t:
                        t.sendall(framed(query(ZONE, T_SOA, qid=8)))
                        tcp = parse_header(tcp_read_message(t))
            self.drain(s, heads, 0.5)
        elapsed = time.monotonic() - start
        self.assertEqual((other["id"], other["rcode"], other["tc"], other["an"]),
                         (7, 0, 0, 1), other)
        self.assertEqual((tcp["id"], tcp["rcode"], tcp["tc"], tcp["an"]), (8, 0, 0, 1))

        full = [h for h in heads if not h["tc"]]
        slipped = [h for h in heads if h["tc"]]
        # within the rate: the burst of one second, then RATE a second
        self.assertGreaterEqual(len(full), RATE)
        self.assertLessEqual(len(full), RATE * (elapsed + 1) + 1,
                             "%d full answers in %.2fs" % (len(full), elapsed))
        for h in full:
            self.assertEqual((h["rcode"], h["an"]), (0, 1), h)
        # slipped: TC=1, the question only, the rcode kept
        for h in slipped:
            self.assertEqual((h["rcode"], h["an"], h["qd"]), (0, 0, 1), h)

        # every query of the prefix is counted: rows (summaries aside) +
        # unrecorded, once the flood fell silent and its summary row was
        # written (a summary names the prefix's last client: 127.0.0.2)
        sent = FLOOD + 1            # and the TCP query
        self.d.wait_for(
            "SELECT sum(CASE WHEN rrl IS 'summary' THEN 0 ELSE 1 END) + sum(unrecorded)"
            " AS n FROM dns_queries WHERE client_addr = ? HAVING n >= %d" % sent,
            (FLOOD_FROM,), timeout=5, what="every query of the flood counted")
        rows = self.d.query("SELECT * FROM dns_queries WHERE client_addr = ? ORDER BY id",
                            (FLOOD_FROM,))
        received = sum(0 if r["rrl"] == "summary" else 1 for r in rows) + \
            sum(r["unrecorded"] for r in rows)
        dropped = sum(r["rrl_dropped"] for r in rows)
        self.assertEqual(received, sent, "the kernel lost some of the flood")
        # what was not answered in full: every SLIP-th slipped, the rest dropped
        limited = FLOOD - len(full)
        self.assertEqual(len(slipped), limited // SLIP)
        self.assertEqual(dropped, limited - limited // SLIP)
        # the rows: within record_rate a second, and the summaries
        summaries = [r for r in rows if r["rrl"] == "summary"]
        self.assertLessEqual(len(rows) - len(summaries), RECORD * (elapsed + 2) + 1,
                             "%d rows in %.2fs" % (len(rows), elapsed))
        self.assertGreaterEqual(len(summaries), 1)
        for r in summaries:
            self.assertEqual((r["qname"], r["rcode"]), (None, None), r)
        for r in rows:
            if r["rrl"] == "slip":
                self.assertEqual(r["truncated"], 1, r)
        # the log says so, at most once a second
        lines = [l for l in self.d.log().splitlines() if "dns: rate limit: dropped" in l]
        self.assertTrue(lines, self.d.log_tail())
        self.assertLessEqual(len(lines), elapsed + 2, lines)
        self.assertIn("the last to %s" % FLOOD_FROM, lines[-1])

    def test_queries_within_the_rate_are_answered_and_recorded(self):
        addr, port = self.dns[4]
        name = "%s.%s" % (new_id(), ZONE)
        with udp_socket("127.0.2.2") as s:
            s.settimeout(harness.deadline(2))
            s.connect((addr, port))
            for k in range(RECORD):
                s.send(query(name, T_A, qid=k))
                h = parse_header(s.recv(65535))
                self.assertEqual((h["id"], h["tc"]), (k, 0))
        rows = self.rows("client_addr = '127.0.2.2'", (), RECORD)
        self.assertEqual([(r["rrl"], r["unrecorded"], r["rrl_dropped"]) for r in rows],
                         [(None, 0, 0)] * RECORD)


class TotalRateLimit(DnsCase):
    """[dns] rrl_rate = 50, rrl_slip = 2, rrl_total = 100."""

    PREFIXES, EACH, TOTAL = 40, 20, 100
    options = [("dns", "rrl_rate", str(RATE)), ("dns", "rrl_slip", str(SLIP)),
               ("dns", "rrl_total", str(TOTAL))]

    def read_until(self, s, heads, qid):
        """Reads answers on S into HEADS until that of QID, or until none
        came for 20 ms (scaled)."""
        s.settimeout(harness.deadline(0.02))
        while True:
            try:
                heads.append(parse_header(s.recv(65535)))
            except socket.timeout:
                return
            if heads[-1]["id"] == qid:
                return

    def test_many_prefixes_within_their_rate_are_limited_by_the_total(self):
        self.assertLess(self.EACH, RATE)
        addr, port = self.dns[4]
        name = "%s.%s" % (new_id(), ZONE)
        sources = ["127.0.%d.2" % (10 + k) for k in range(self.PREFIXES)]
        socks, heads = [], {}
        start = time.monotonic()
        try:
            # one prefix after the other: two that share an RRL slot
            # (one chance in a few hundred) take it over once each
            for src in sources:
                s = udp_socket(src)
                socks.append(s)
                s.connect((addr, port))
                heads[src] = []
                for k in range(self.EACH):
                    s.send(query(name, T_MX, qid=k))
                # a prefix at a time, so that the kernel drops none: its
                # last answer (unless that one was dropped) ends the wait
                self.read_until(s, heads[src], self.EACH - 1)
            for src, s in zip(sources, socks):
                RateLimitedResponder.drain(self, s, heads[src], 0.05)
            elapsed = time.monotonic() - start
        finally:
            for s in socks:
                s.close()

        full = {src: [h for h in hs if not h["tc"]] for src, hs in heads.items()}
        slipped = {src: [h for h in hs if h["tc"]] for src, hs in heads.items()}
        nfull = sum(len(v) for v in full.values())
        # the burst of one second, then TOTAL a second
        self.assertGreaterEqual(nfull, self.TOTAL - 2)
        self.assertLessEqual(nfull, self.TOTAL * (elapsed + 1) + 1,
                             "%d full answers in %.2fs" % (nfull, elapsed))
        self.assertLess(nfull, self.PREFIXES * self.EACH)

        # each prefix: limited as over rrl_rate, and every query counted
        for src in sources:
            self.d.wait_for(
                "SELECT sum(CASE WHEN rrl IS 'summary' THEN 0 ELSE 1 END) +"
                " sum(unrecorded) AS n FROM dns_queries WHERE client_addr = ?"
                " HAVING n >= %d" % self.EACH, (src,), timeout=5,
                what="every query from %s counted" % src)
            rows = self.d.query("SELECT * FROM dns_queries WHERE client_addr = ?", (src,))
            received = sum(0 if r["rrl"] == "summary" else 1 for r in rows) + \
                sum(r["unrecorded"] for r in rows)
            self.assertEqual(received, self.EACH, (src, rows))
            limited = self.EACH - len(full[src])
            self.assertEqual(len(slipped[src]), limited // SLIP, src)
            self.assertEqual(sum(r["rrl_dropped"] for r in rows),
                             limited - limited // SLIP, src)
            self.assertEqual(sum(1 for r in rows if r["rrl"] == "slip"),
                             len(slipped[src]), src)
            for h in full[src]:
                self.assertEqual((h["rcode"], h["an"]), (0, 1), h)
            for h in slipped[src]:
                self.assertEqual((h["rcode"], h["an"], h["qd"]), (0, 0, 1), h)
        # the log says the total was the limit
        lines = [l for l in self.d.log().splitlines() if "dns: rate limit: dropped" in l]
        self.assertTrue(lines, self.d.log_tail())
        self.assertTrue(any("rrl_total=%d over_total=" % self.TOTAL in l
                            and "over_total=0" not in l for l in lines), lines)
