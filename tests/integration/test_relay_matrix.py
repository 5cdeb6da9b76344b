"""The relay-trick matrix (issue 15): RCPT TO variants that could make a
receiving MTA relay or misfile mail -- foreign domains, the '%' hack, bang
paths, source routes, quoted local parts, address literals, trailing dots,
case, UTF-8 domains with and without SMTPUTF8, unknown and malformed test
IDs, postmaster and the TLS-RPT address.  Each row gets its own
transaction on the open host: the exact reply (code and enhanced status)
and, for an accepted recipient, the delivery and its recipients row
(address as given without the route, challenge, test ID).  Nothing is ever
relayed: every stored address is in the base domain."""

import random

from harness import (BASE_DOMAIN, HOST_CHALLENGE, HOSTS, DaemonTestCase,
                     LOCAL_PART, dot_stuff, make_message)

B32 = "abcdefghijklmnopqrstuvwxyz234567"
RELAY = (550, "5.7.1")          # SE_RELAY_DENIED
NO_USER = (550, "5.1.1")        # SE_NO_SUCH_USER
BAD = (501, "5.5.4")            # SE_BAD_ADDRESS
NEED_UTF8 = (553, "5.6.7")      # SE_NEED_SMTPUTF8
UNKNOWN_TEST = (550, "5.1.1")   # SE_UNKNOWN_TEST
OK = (250, "2.1.5")


def new_id():
    return "".join(random.choice(B32) for _ in range(26))


class RelayMatrix(DaemonTestCase):
    # every refusal counts toward max_errors: room for the whole matrix
    options = [("global", "max_errors", "1000")]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tid = cls.d.new_test()["id"]
        cls.unknown = new_id()      # well-formed, never created

    def shared(self, tid=None, challenge="v4"):
        """measure+ID@C.<base>, the address of a shared challenge."""
        return "%s+%s@%s.%s" % (LOCAL_PART, tid or self.tid, challenge, BASE_DOMAIN)

    def per_test(self, tid=None, challenge="uniq"):
        """measure@ID.C.<base>, the address of a per-test challenge."""
        return "%s@%s.%s.%s" % (LOCAL_PART, tid or self.tid, challenge, BASE_DOMAIN)

    def matrix(self, rows, smtputf8=False):
        """ROWS: (RCPT argument, (code, status), stored) with stored None
        or (address, challenge, test_id).  Each row in its own transaction
        of one session; accepted ones delivered.  Asserts every reply and
        then the recipients rows of the session, in order."""
        mail = "MAIL FROM:<sender@example.org>" + (" SMTPUTF8" if smtputf8 else "")
        want = []
        with self.d.smtp("open") as c:
            c.ehlo()
            for arg, (code, status), stored in rows:
                if isinstance(arg, str):
                    arg = arg.encode()
                with self.subTest(rcpt=arg, smtputf8=smtputf8):
                    self.assertReply(c.cmd(mail), 250, "2.1.0")
                    r = c.cmd(b"RCPT TO:" + arg)
                    accepted = r.code == 250
                    if accepted:
                        # delivered whatever was expected: the rows tell
                        self.assertReply(c.cmd("DATA"), 354)
                        c.send(dot_stuff(make_message("to@example.org")))
                        self.assertReply(c.read_reply(), 250, "2.0.0")
                    else:
                        self.assertReply(c.cmd("RSET"), 250, "2.0.0")
                    self.assertReply(r, code, status, arg)
                    self.assertEqual(stored is not None, code == 250,
                                     "the row's expectation is inconsistent")
                if stored is not None:
                    want.append(stored)
            c.quit()
        conn = self.d.connection(c)
        got = [(r["address"], r["challenge"], r["test_id"]) for r in self.d.query(
            "SELECT r.address, r.challenge, r.test_id FROM recipients r"
            " JOIN transactions t ON t.id = r.transaction_id"
            " WHERE t.connection_id = ? ORDER BY r.id", (conn["id"],))]
        self.assertEqual(got, want)
        for address, _, _ in got:
            domain = address.rpartition("@")[2].rstrip(".").lower()
            self.assertTrue(address.lower() == "postmaster" or domain == BASE_DOMAIN or
                            domain.endswith("." + BASE_DOMAIN),
                            "relayed to %r" % address)

    def test_foreign_domains_are_relay_denied(self):
        self.matrix([
            ("<user@example.org>", RELAY, None),
            ("<postmaster@example.org>", RELAY, None),
            ("<tlsrpt@example.org>", RELAY, None),
            ("<user@localhost>", RELAY, None),
            ("<user@test>", RELAY, None),
            # our names as a prefix or a label of a foreign one
            ("<%s.example.org>" % self.shared(), RELAY, None),
            ("<%sx>" % self.shared(), RELAY, None),
            ("<user@x%s>" % BASE_DOMAIN, RELAY, None),
            ("<user@%s.%s>" % (BASE_DOMAIN, BASE_DOMAIN.split(".")[-1]), RELAY, None),
            # our base domain but a name the catalogue does not have
            ("<%s>" % self.shared(challenge="nosuch"), RELAY, None),
            ("<postmaster@nosuch.%s>" % BASE_DOMAIN, RELAY, None),
            ("<user@mx.%s>" % BASE_DOMAIN, RELAY, None),
        ])

    def test_percent_hack_and_bang_paths_are_not_routed(self):
        self.matrix([
            # a local part with '%' is a local part of ours: no such user
            ("<user%%example.org@v4.%s>" % BASE_DOMAIN, NO_USER, None),
            ("<%s%%example.org@v4.%s>" % (self.shared().split("@")[0], BASE_DOMAIN),
             NO_USER, None),
            ("<user%%v4.%s@example.org>" % BASE_DOMAIN, RELAY, None),
            ("<user%%example.org@%s>" % BASE_DOMAIN, NO_USER, None),
            ("<example.org!user@v4.%s>" % BASE_DOMAIN, NO_USER, None),
            ("<v4.%s!user@example.org>" % BASE_DOMAIN, RELAY, None),
            # two unquoted '@': not an address
            ("<user@example.org@v4.%s>" % BASE_DOMAIN, BAD, None),
            ("<%s@example.org>" % self.shared(), BAD, None),
        ])

    def test_source_routes_are_ignored(self):
        """RFC 5321 4.1.2 and C: a route is accepted and ignored; the
        mailbox after it alone decides."""
        a = self.shared()
        self.matrix([
            ("<@example.org:%s>" % a, OK, (a, "v4", self.tid)),
            ("<@a.example,@b.example:%s>" % a, OK, (a, "v4", self.tid)),
            ("<@[192.0.2.1]:%s>" % a, OK, (a, "v4", self.tid)),
            ("<@v4.%s:user@example.org>" % BASE_DOMAIN, RELAY, None),
            ("<@%s,@v4.%s:user@example.org>" % (BASE_DOMAIN, BASE_DOMAIN), RELAY, None),
            ("<@:%s>" % a, BAD, None),
            ("<@example.org,%s>" % a, BAD, None),
            ("<@example.org:>", BAD, None),
        ])

    def test_quoted_local_parts_are_not_unquoted(self):
        """A quoted local part is compared as sent: never an address of
        another domain, and not a test address either."""
        local = self.shared().split("@")[0]
        self.matrix([
            ('<"%s"@v4.%s>' % (local, BASE_DOMAIN), NO_USER, None),
            ('<"user@example.org"@v4.%s>' % BASE_DOMAIN, NO_USER, None),
            ('<"user@example.org">', BAD, None),
            ('<"user"@example.org>', RELAY, None),
            ('<"postmaster">', BAD, None),
            ('<"a\\"b"@v4.%s>' % BASE_DOMAIN, NO_USER, None),
            ('<"unterminated@v4.%s>' % BASE_DOMAIN, BAD, None),
            ('<a"b@v4.%s>' % BASE_DOMAIN, BAD, None),
        ])

    def test_address_literals_are_relay_denied(self):
        self.matrix([
            ("<user@[127.0.0.1]>", RELAY, None),
            ("<postmaster@[127.0.0.1]>", RELAY, None),
            ("<%s@[127.0.0.1]>" % self.shared().split("@")[0], RELAY, None),
            ("<user@[IPv6:::1]>", RELAY, None),
            ("<user@[192.0.2.1]>", RELAY, None),
        ])

    def test_trailing_dots_and_case(self):
        """One final dot is the same domain (RFC 1034 3.1); the test ID is
        stored in lower case, the address as given."""
        a = self.shared()
        upper = a.upper()
        p = self.per_test()
        self.matrix([
            ("<%s.>" % a, OK, (a + ".", "v4", self.tid)),
            ("<%s..>" % a, RELAY, None),
            ("<user@example.org.>", RELAY, None),
            ("<%s>" % upper, OK, (upper, "v4", self.tid)),
            ("<%s>" % p.upper(), OK, (p.upper(), "uniq", self.tid)),
            ("<%s.>" % p, OK, (p + ".", "uniq", self.tid)),
            ("<Postmaster@%s.>" % BASE_DOMAIN.upper(), OK,
             ("Postmaster@%s." % BASE_DOMAIN.upper(), None, None)),
        ])

    def test_utf8_addresses_without_smtputf8_are_553(self):
        """RFC 6531 3.5: a non-ASCII address needs SMTPUTF8 in MAIL."""
        self.matrix([
            ("<%s>" % self.shared(challenge="v\u00f6"), NEED_UTF8, None),
            ("<user@ex\u00e4mple.org>", NEED_UTF8, None),
            ("<us\u00e9r@v4.%s>" % BASE_DOMAIN, NEED_UTF8, None),
            (b"<user@\xff.example>", NEED_UTF8, None),
        ])

    def test_utf8_addresses_with_smtputf8_are_ours_or_refused(self):
        a = self.shared()
        self.matrix([
            ("<%s>" % a, OK, (a, "v4", self.tid)),
            ("<user@ex\u00e4mple.org>", RELAY, None),
            ("<%s>" % self.shared(challenge="v\u00f6"), RELAY, None),
            # U+FF0E FULLWIDTH FULL STOP: IDNA maps it to '.', we do not
            ("<user@v4\uff0e%s>" % BASE_DOMAIN, RELAY, None),
            ("<us\u00e9r@v4.%s>" % BASE_DOMAIN, NO_USER, None),
            ("<user@xn--exmple-cua.org>", RELAY, None),
            # not UTF-8 (RFC 3629): a syntax error
            (b"<user@\xff.example>", BAD, None),
            (b"<user@\xc0\xae.example>", BAD, None),
        ], smtputf8=True)

    def test_well_formed_unknown_test_ids_are_refused_and_recorded(self):
        """Nobody writes under invented IDs: a well-formed ID of no test is
        550 5.1.1 in both address forms, nothing is stored under it but
        the refusals rows, which name the address and the ID."""
        u = self.unknown
        addrs = [self.shared(u), self.per_test(u), self.shared(u, "plaintext"),
                 self.per_test(u, "dns")]
        self.matrix([("<%s>" % a, UNKNOWN_TEST, None) for a in addrs])
        rows = self.d.query(
            "SELECT command, reason, reply, address, test_id FROM refusals"
            " WHERE test_id = ? ORDER BY id", (u,))
        self.assertEqual([tuple(r.values()) for r in rows],
                         [("rcpt", "unknown_test", "550 5.1.1", a, u) for a in addrs])
        self.assertEqual(self.d.query_one(
            "SELECT count(*) AS n FROM recipients WHERE test_id = ?", (u,))["n"], 0)
        conn = self.d.query("SELECT refusals, test_id FROM connections"
                            " WHERE id = (SELECT connection_id FROM refusals"
                            " WHERE test_id = ? LIMIT 1)", (u,))[0]
        self.assertEqual(conn["refusals"], len(addrs))
        self.assertIsNone(conn["test_id"], "an unknown test attributes nothing")

    def test_a_test_created_while_the_daemon_runs_is_found(self):
        """The daemon learns of tests the CLI creates after its start (the
        lookup is in the database, not in a list read at start)."""
        tid = self.d.new_test()["id"]
        self.matrix([("<%s>" % self.shared(tid), OK, (self.shared(tid), "v4", tid))])

    def test_malformed_test_ids_are_refused(self):
        tid = self.tid
        self.matrix([
            ("<%s>" % self.shared(tid[:25]), NO_USER, None),
            ("<%s>" % self.shared(tid + "a"), NO_USER, None),
            ("<%s>" % self.shared("0" + tid[1:]), NO_USER, None),
            ("<%s>" % self.shared("1" + tid[1:]), NO_USER, None),
            ("<%s>" % self.shared(tid[:-1] + "8"), NO_USER, None),
            ("<%s+@v4.%s>" % (LOCAL_PART, BASE_DOMAIN), NO_USER, None),
            ("<%s@v4.%s>" % (LOCAL_PART, BASE_DOMAIN), NO_USER, None),
            ("<other+%s@v4.%s>" % (tid, BASE_DOMAIN), NO_USER, None),
            ("<%s-%s@v4.%s>" % (LOCAL_PART, tid, BASE_DOMAIN), NO_USER, None),
            # the per-test form of a shared challenge and the other way
            ("<%s>" % self.per_test(challenge="v4"), RELAY, None),
            ("<%s>" % self.shared(challenge="uniq"), RELAY, None),
            ("<%s>" % self.per_test(tid[:25]), RELAY, None),
            ("<%s>" % self.per_test("1" + tid[1:]), RELAY, None),
            ("<other@%s.uniq.%s>" % (tid, BASE_DOMAIN), NO_USER, None),
            ("<%s@x.%s.uniq.%s>" % (LOCAL_PART, tid, BASE_DOMAIN), RELAY, None),
            # the base domain has no test addresses
            ("<%s+%s@%s>" % (LOCAL_PART, tid, BASE_DOMAIN), NO_USER, None),
            ("<%s@%s.%s>" % (LOCAL_PART, tid, BASE_DOMAIN), RELAY, None),
        ])

    def test_postmaster_variants(self):
        """RFC 5321 4.5.1: postmaster of every domain we accept mail for,
        and <Postmaster> without a domain (4.1.1.3), in any case."""
        pt = "postmaster@%s.uniq.%s" % (self.tid, BASE_DOMAIN)
        self.matrix([
            ("<postmaster>", OK, ("postmaster", None, None)),
            ("<POSTMASTER>", OK, ("POSTMASTER", None, None)),
            ("<postmaster@%s>" % BASE_DOMAIN, OK, ("postmaster@" + BASE_DOMAIN, None, None)),
            ("<PostMaster@v4.%s>" % BASE_DOMAIN, OK,
             ("PostMaster@v4." + BASE_DOMAIN, None, None)),
            ("<%s>" % pt, OK, (pt, None, None)),
            ("<@example.org:postmaster@%s>" % BASE_DOMAIN, OK,
             ("postmaster@" + BASE_DOMAIN, None, None)),
            ("<postmaster@nosuch.%s>" % BASE_DOMAIN, RELAY, None),
            ("<postmaster@example.org>", RELAY, None),
            ("<postmaster@[127.0.0.1]>", RELAY, None),
            ("<postmasters>", BAD, None),
            ("<postmaster%%example.org@%s>" % BASE_DOMAIN, NO_USER, None),
        ])

    def test_tlsrpt_address_only_on_the_base_domain(self):
        """RFC 8460 3: the zones publish rua=mailto:tlsrpt@<base> only."""
        self.matrix([
            ("<tlsrpt@%s>" % BASE_DOMAIN, OK, ("tlsrpt@" + BASE_DOMAIN, None, None)),
            ("<TLSRPT@%s.>" % BASE_DOMAIN.upper(), OK,
             ("TLSRPT@%s." % BASE_DOMAIN.upper(), None, None)),
            ("<tlsrpt@v4.%s>" % BASE_DOMAIN, NO_USER, None),
            ("<tlsrpt>", BAD, None),
            ("<dmarc@%s>" % BASE_DOMAIN, NO_USER, None),
            ("<tlsrpt%%example.org@%s>" % BASE_DOMAIN, NO_USER, None),
        ])

    def test_every_host_refuses_relay_and_accepts_its_test_address(self):
        """On every host (after STARTTLS where offered), a foreign
        recipient is 550 5.7.1 before anything else, greylisting included;
        the host's own test address is accepted (the grey host defers it
        first)."""
        for host in HOSTS:
            with self.subTest(host=host):
                with self.d.smtp(host) as c:
                    c.ehlo()
                    if host != "plain":
                        c.starttls(self.d.tls_context(verify=False))
                        c.ehlo()
                    self.assertReply(c.cmd("MAIL FROM:<sender@example.org>"), 250, "2.1.0")
                    self.assertReply(c.cmd("RCPT TO:<user@example.org>"), *RELAY)
                    self.assertReply(c.cmd("RCPT TO:<user@[127.0.0.1]>"), *RELAY)
                    own = self.shared(challenge=HOST_CHALLENGE[host])
                    if host == "grey":
                        self.assertReply(c.cmd("RCPT TO:<%s>" % own), 451, "4.7.1")
                    else:
                        self.assertReply(c.cmd("RCPT TO:<%s>" % own), *OK)
                    c.quit()

    def test_path_syntax(self):
        self.matrix([
            ("<>", (501, "5.1.3"), None),
            (self.shared(), BAD, None),
            ("<%s>x" % self.shared(), BAD, None),
            ("<%s" % self.shared(), BAD, None),
            ("<@%s>" % BASE_DOMAIN, BAD, None),
            ("<user@>", BAD, None),
            ("<user@v4.%s> FOO=bar" % BASE_DOMAIN, (555, "5.5.4"), None),
        ])
