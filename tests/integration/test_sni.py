"""SNI: a host with certificates for different names presents the one for
the name the client asked for; the tls-bad host always presents its bad
certificate; the name is recorded either way."""

import ssl
import unittest

import harness
from harness import DaemonTestCase


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


if __name__ == "__main__":
    unittest.main()
