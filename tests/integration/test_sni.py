"""SNI: a host with certificates for different names presents the one for
the name the client asked for; the tls-bad host always presents its bad
certificate; the name is recorded either way.  The open host's certificate
verifies for the dns challenge's per-test MX."""

import ssl
import unittest

import harness
from harness import BASE_DOMAIN, DaemonTestCase


def peer_names(sock):
    """The DNS names of the certificate the server presented."""
    der = sock.getpeercert(binary_form=True)
    pem = ssl.DER_cert_to_PEM_cert(der)
    out = harness.run(["openssl", "x509", "-noout", "-ext", "subjectAltName"],
                      input=pem)
    return {n.strip()[4:] for n in out.stdout.replace("\n", ",").split(",")
            if n.strip().startswith("DNS:")}


class SNICertificates(DaemonTestCase):
    # The tls host gets its own pair and the web pair (mta-sts.* names);
    # tls-bad gets its bad pair and the web pair too.
    options = [
        ("host tls", "certificate", "certs/tls.rsa.pem certs/tls.ecdsa.pem certs/web.rsa.pem"),
        ("host tls", "key", "certs/tls.rsa.key certs/tls.ecdsa.key certs/web.rsa.key"),
        ("host tls-bad", "certificate", "certs/tls-bad.rsa.pem certs/web.rsa.pem"),
        ("host tls-bad", "key", "certs/tls-bad.rsa.key certs/web.rsa.key"),
    ]

    def handshake(self, host, sni):
        ctx = self.d.tls_context(verify=False)
        with self.d.smtp(host) as c:
            c.ehlo()
            c.starttls(ctx, sni)
            names = peer_names(c.sock)
            c.ehlo()
            c.quit()
        conn = self.d.connection(c)
        self.assertEqual(conn["tls_established"], 1)
        self.assertEqual(conn["tls_sni"], sni)
        return names

    def test_sni_selects_the_certificate_for_the_name(self):
        names = self.handshake("tls", "mta-sts.tls.measure.test")
        self.assertIn("mta-sts.tls.measure.test", names)
        self.assertNotIn("mx.tls.measure.test", names)

    def test_sni_of_the_default_names_keeps_the_default(self):
        names = self.handshake("tls", "mx.tls.measure.test")
        self.assertIn("mx.tls.measure.test", names)

    def test_unknown_sni_gets_the_default_certificate(self):
        names = self.handshake("tls", "unknown.example")
        self.assertIn("mx.tls.measure.test", names)

    def test_tls_bad_host_always_presents_its_bad_certificate(self):
        names = self.handshake("tls-bad", "mta-sts.tls.measure.test")
        self.assertEqual(names, {"wrong-name.invalid"})


class DnsChallengeMx(DaemonTestCase):
    """Issue 12: the dns challenge's MX is mx-<id>.dns.<base>, which
    *.dns.<base> on the open host's certificate covers (mx.<id>.dns.<base>
    was on none: Exim logged CV=no there and CV=yes for v4)."""

    def test_open_host_verifies_for_the_dns_challenges_mx(self):
        t = self.new_test()
        mx = "mx-%s.dns.%s" % (t["id"], BASE_DOMAIN)
        # the demo CA, the chain and the name, as a sender that checks them
        ctx = self.d.tls_context(verify=True, check_hostname=True)
        with self.d.smtp("open") as c:
            c.ehlo()
            c.starttls(ctx, mx)
            self.assertIn("*.dns." + BASE_DOMAIN, peer_names(c.sock))
            c.ehlo()
            c.quit()
        conn = self.d.connection(c)
        self.assertEqual((conn["tls_established"], conn["tls_sni"]), (1, mx))
        # the SNI names the test (testid_from_name)
        a = self.d.wait_for("SELECT * FROM connection_attribution"
                            " WHERE connection_id = ? AND reason = 'sni'",
                            (conn["id"],), what="attribution by sni")[0]
        self.assertEqual(a["test_id"], t["id"])

    def test_two_labels_below_dns_are_not_covered(self):
        """The name before issue 12: a wildcard covers one label only."""
        t = self.new_test()
        ctx = self.d.tls_context(verify=True, check_hostname=True)
        with self.d.smtp("open") as c:
            c.ehlo()
            with self.assertRaises(ssl.SSLCertVerificationError) as cm:
                c.starttls(ctx, "mx.%s.dns.%s" % (t["id"], BASE_DOMAIN))
        self.assertIn("Hostname mismatch", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
