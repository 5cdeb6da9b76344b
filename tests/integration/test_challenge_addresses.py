"""The address names the challenge (issue 12): a connection to a
challenge's own address (challenge_listen) stores that challenge before
any command; a shared address stores the set of possible challenges; a
delivery on another challenge's address is wrong_host; the challenges
table mirrors the catalogue with the config's addresses."""

import re
import ssl
import unittest

from harness import (A_ONLY_CHALLENGES, AAAA_ONLY_CHALLENGES, CHALLENGE_HOSTS,
                     CHALLENGES, DaemonTestCase, make_message)


class ChallengeAddresses(DaemonTestCase):

    def deliver(self, host, rcpts, challenge=None, family=4):
        """A message to RCPTS over HOST's address (CHALLENGE's own, or the
        shared one); 250 checked; the connection row."""
        msg = make_message(rcpts[0], subject="addresses")
        with self.d.smtp(host, family=family, challenge=challenge) as c:
            c.ehlo()
            self.assertReply(c.send_mail("a@example.org", rcpts, msg), 250, "2.0.0")
            c.quit()
        return self.d.connection(c)

    def rcpts(self, conn_id):
        return self.d.query(
            "SELECT r.challenge, r.wrong_host FROM recipients r"
            " JOIN transactions t ON t.id = r.transaction_id"
            " WHERE t.connection_id = ? ORDER BY r.id", (conn_id,))

    def test_own_address_names_challenge_of_a_session_without_mail(self):
        with self.d.smtp("tls-bad", challenge="tlsa-bad") as c:
            c.ehlo()
            c.quit()
        row = self.d.connection(c)
        self.assertEqual((row["host"], row["challenge"], row["challenges"],
                          row["test_id"], row["mail_commands"]),
                         ("tls-bad", "tlsa-bad", "tlsa-bad", None, 0))
        addr, port = self.d.challenge_addr("tlsa-bad", 4)
        self.assertEqual(row["local_addr"], "%s:%d" % (addr, port))
        # the log's connect line names it
        self.assertRegex(self.d.log(), r"c%d: connect from .* to host=tls-bad "
                         r"\(%s\) challenge=tlsa-bad\n" % (row["id"], re.escape(row["local_addr"])))
        v = self.d.query_one("SELECT challenge, challenges FROM v_connections"
                             " WHERE connection_id = ?", (row["id"],))
        self.assertEqual((v["challenge"], v["challenges"]), ("tlsa-bad", "tlsa-bad"))

    def test_own_address_names_challenge_of_a_failed_handshake(self):
        """A sender that validates certificates aborts on tls-bad: which
        challenge it refused is known from the address alone (IPv6)."""
        with self.d.smtp("tls-bad", family=6, challenge="tls-badcert") as c:
            c.ehlo()
            with self.assertRaises((ssl.SSLError, OSError)):
                c.starttls(self.d.tls_context(verify=True))
            c.close()
        row = self.d.connection(c)
        self.assertEqual((row["challenge"], row["challenges"], row["family"],
                          row["tls_established"], row["mail_commands"]),
                         ("tls-badcert", "tls-badcert", 6, 0, 0))
        self.assertIsNotNone(row["tls_error"] or row["tls_alert_received"], row)

    def test_shared_address_stores_the_candidate_set(self):
        """Every challenge of plain has its own addresses in the demo: a
        connection to the shared one may be for any of them."""
        for family in (4, 6):
            with self.subTest(family=family):
                with self.d.smtp("plain", family=family) as c:
                    c.ehlo()
                    c.quit()
                row = self.d.connection(c)
                self.assertEqual((row["challenge"], row["challenges"]),
                                 (None, "plaintext,sts-plain,sts-2mx-plain"))
                self.assertIn("challenges=plaintext,sts-plain,sts-2mx-plain",
                              self.d.log())

    def test_delivery_on_another_challenges_address_is_wrong_host(self):
        t = self.new_test()
        right, wrong = t["addresses"]["sts-plain"], t["addresses"]["plaintext"]
        conn = self.deliver("plain", [right, wrong], challenge="sts-plain")
        self.assertEqual(conn["challenge"], "sts-plain")
        self.assertEqual([(r["challenge"], r["wrong_host"]) for r in self.rcpts(conn["id"])],
                         [("sts-plain", 0), ("plaintext", 1)])
        self.assertIn("wrong_host: rcpt for challenge plaintext on an address of "
                      "sts-plain", self.d.log())
        rows = self.d.query("SELECT challenge, wrong_host, connection_challenge"
                            " FROM v_deliveries WHERE test_id = ? ORDER BY challenge",
                            (t["id"],))
        self.assertEqual([tuple(r.values()) for r in rows],
                         [("plaintext", 1, "sts-plain"), ("sts-plain", 0, "sts-plain")])
        # only sts-plain counts as delivered
        s = self.d.query_one("SELECT challenges_delivered FROM v_test_summary"
                             " WHERE test_id = ?", (t["id"],))
        self.assertEqual(s["challenges_delivered"], 1)

    def test_delivery_on_a_shared_address_of_another_host_is_wrong_host(self):
        t = self.new_test()
        conn = self.deliver("plain", [t["addresses"]["v4"], t["addresses"]["plaintext"]])
        self.assertEqual([(r["challenge"], r["wrong_host"]) for r in self.rcpts(conn["id"])],
                         [("v4", 1), ("plaintext", 0)])

    def test_sts_2mx_either_host_is_right_and_the_one_used_is_recorded(self):
        t = self.new_test()
        to = t["addresses"]["sts-2mx-plain"]
        conn = self.deliver("plain", [to], challenge="sts-2mx-plain")
        self.assertEqual((conn["host"], conn["challenge"]), ("plain", "sts-2mx-plain"))
        row = self.d.query_one("SELECT wrong_host, mx, host FROM v_deliveries"
                               " WHERE test_id = ?", (t["id"],))
        self.assertEqual((row["wrong_host"], row["mx"], row["host"]), (0, 2, "plain"))
        # the same challenge's own address on its first host, tls-bad
        self.assertNotEqual(self.d.challenge_addr("sts-2mx-plain", 4, "tls-bad"),
                            self.d.challenge_addr("sts-2mx-plain", 4, "plain"))

    def test_challenges_table_matches_the_catalogue(self):
        rows = {r["name"]: r for r in self.d.query("SELECT * FROM challenges")}
        self.assertEqual(sorted(rows), sorted(CHALLENGES))
        own = self.d.challenge_listeners()
        for name in CHALLENGES:
            with self.subTest(challenge=name):
                r = rows[name]
                hosts = CHALLENGE_HOSTS[name]
                self.assertEqual([r["host"], r["host2"]],
                                 hosts + [None] * (2 - len(hosts)))
                fam = ("A" if name in A_ONLY_CHALLENGES else
                       "AAAA" if name in AAAA_ONLY_CHALLENGES else "dual")
                self.assertEqual(r["mx_family"], fam)
                self.assertTrue(r["description"])
                for col, host in zip(("addresses", "addresses2"), hosts):
                    want = sorted(("%s:%d" if f == 4 else "[%s]:%d") % a
                                  for f in (4, 6)
                                  for a in own.get((name, host, f), []))
                    self.assertEqual(sorted(r[col].split()), want, col)
        self.assertIn("signed", rows["tls"]["dns"].split(","))
        self.assertEqual(rows["tlsa-bad-insecure"]["dns"], "unsigned,tlsa-bad")
        self.assertEqual(rows["dns"]["dns"], "per-test,delegated")


if __name__ == "__main__":
    unittest.main()
