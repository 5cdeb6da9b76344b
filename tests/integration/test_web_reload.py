"""SIGHUP reloads the [web] listener's certificates and keys (issue 15),
as it does the SMTP hosts' (test_hardening_sessions): a new TLS
connection to the web listener is served the new certificate; a broken
new key keeps the old certificate, the daemon running, and the log says
why."""

import hashlib
import os
import signal
import socket
import ssl
import time
import unittest

import harness
from harness import Daemon


def fingerprint(der):
    return hashlib.sha256(der).hexdigest()


class WebReload(unittest.TestCase):

    def daemon(self):
        self.d = Daemon(self._testMethodName[:24])
        self.addCleanup(self.d.close)
        self.d.start()
        return self.d

    def web_cert(self):
        """The SHA-256 of the certificate a new TLS 1.2 RSA connection to
        the web listener is served, after a page was answered on it."""
        ctx = self.d.tls_context(verify=False)
        ctx.set_ciphers("aRSA")
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        with socket.create_connection(self.d.addr("web"),
                                      timeout=harness.deadline(5)) as s:
            with ctx.wrap_socket(s) as t:
                der = t.getpeercert(binary_form=True)
                t.sendall(b"HEAD / HTTP/1.1\r\nHost: www.%s\r\n"
                          b"Connection: close\r\n\r\n" % harness.BASE_DOMAIN.encode())
                head = t.recv(1024)
        self.assertTrue(head.startswith(b"HTTP/1.1 200 "), head)
        return fingerprint(der)

    def leaf(self, name):
        """The SHA-256 of the first certificate of certs/NAME."""
        end = "-----END CERTIFICATE-----"
        with open(os.path.join(self.d.certs, name)) as f:
            pem = f.read().split(end)[0] + end + "\n"
        return fingerprint(ssl.PEM_cert_to_DER_cert(pem))

    def copy(self, src, dst):
        with open(os.path.join(self.d.certs, src), "rb") as f:
            data = f.read()
        with open(os.path.join(self.d.certs, dst), "wb") as f:
            f.write(data)

    def wait_log(self, text):
        end = time.monotonic() + harness.deadline(5)
        while text not in self.d.log():
            self.assertTrue(self.d.running, self.d.log_tail())
            self.assertLess(time.monotonic(), end, self.d.log_tail())
            time.sleep(0.05)

    def test_sighup_reloads_the_web_certificates(self):
        d = self.daemon()
        old = self.web_cert()
        self.assertEqual(old, self.leaf("web.rsa.pem"))
        new = self.leaf("open.rsa.pem")
        self.assertNotEqual(old, new)
        self.copy("open.rsa.pem", "web.rsa.pem")
        self.copy("open.rsa.key", "web.rsa.key")
        d.signal(signal.SIGHUP)
        self.wait_log("reload: host web: certificates and keys reloaded")
        self.assertEqual(self.web_cert(), new)
        # the SMTP hosts are reloaded all the same
        self.assertIn("reload: host tls: certificates and keys reloaded", d.log())

    def test_sighup_with_a_bad_web_key_keeps_the_old_one(self):
        d = self.daemon()
        old = self.web_cert()
        self.copy("open.rsa.pem", "web.rsa.pem")
        with open(os.path.join(d.certs, "web.rsa.key"), "w") as f:
            f.write("not a key\n")
        d.signal(signal.SIGHUP)
        self.wait_log("keeping the old certificates and keys of host web")
        self.assertRegex(d.log(), r"reload: .*web\.rsa\.key: .*; keeping the old "
                         r"certificates and keys of host web")
        self.assertTrue(d.running)
        self.assertEqual(self.web_cert(), old)
        # a second SIGHUP with the files repaired takes them
        self.copy("open.rsa.key", "web.rsa.key")
        d.signal(signal.SIGHUP)
        self.wait_log("reload: host web: certificates and keys reloaded")
        self.assertEqual(self.web_cert(), self.leaf("open.rsa.pem"))


if __name__ == "__main__":
    unittest.main()
