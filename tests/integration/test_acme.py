"""Public certificates through ACME (docs/operator-acme.md), tried.

AcmeFiles: [web] acme_dir on loopback: /.well-known/acme-challenge/TOKEN
served on the plain-HTTP and the HTTPS listener for any Host, and every
way out of acme_dir refused.

AcmeLab: in a network namespace of the test's own, NSD serves the zones
`mailscope zones` wrote (127.0.0.1:53), Debian's pebble (Let's Encrypt's
test ACME server) resolves the names through it (-dnsserver) and
validates HTTP-01 on port 80, where mailscoped's http_listen serves
acme_dir; certbot (--webroot) gets a certificate for the MTA-STS policy
hosts ([web]) and one for the tls host's names, its deploy hook installs
them where the config points and sends SIGHUP to mailscoped (by PID).
New TLS connections to [web] and to the tls host then present pebble's
certificates (verified against pebble's root), tls-bad keeps its bad one;
a renewal with the same key keeps the TLSA 3 1 1 record that `mailscope
zones` computed valid, and a rollover to a new key publishes two.
Every process is stopped by PID, the namespace deleted in all cases.
"""

import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

import harness
from dnslab import DnsLab, add_netns, need
from harness import BASE_DOMAIN, DaemonTestCase, deadline, describe, run

PREFIX = "/.well-known/acme-challenge/"
TOKEN = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
KEYAUTH = TOKEN + ".9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"


def free_port(addr="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((addr, 0))
        return s.getsockname()[1]


def http(addr, port, method, path, host="anything.example", tls=False, sni=None):
    """(status, {header: value}, body) of one raw HTTP/1.1 request: the
    path goes out byte for byte (no client normalises it)."""
    s = socket.create_connection((addr, port), timeout=deadline(5))
    try:
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            s = ctx.wrap_socket(s, server_hostname=sni)
        s.sendall(("%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                   % (method, path, host)).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


class AcmeFiles(DaemonTestCase):
    """acme_dir on both listeners, on loopback."""

    @classmethod
    def setUpClass(cls):
        cls.http_port = free_port()
        cls.top = tempfile.mkdtemp(prefix="ms-acme-files-")
        cls.addClassCleanup(shutil.rmtree, cls.top, True)
        cls.acme = os.path.join(cls.top, "webroot", ".well-known", "acme-challenge")
        os.makedirs(cls.acme)
        cls.options = [("web", "http_listen", "127.0.0.1:%d" % cls.http_port),
                       ("web", "acme_dir", cls.acme)]
        super().setUpClass()
        cls.https = cls.d.addr("web", 4)

    def put(self, name, data, mode=0o644):
        path = os.path.join(self.acme, name)
        with open(path, "w") as f:
            f.write(data)
        os.chmod(path, mode)
        self.addCleanup(os.unlink, path)
        return path

    def plain(self, method, path, host="anything.example"):
        return http("127.0.0.1", self.http_port, method, path, host)

    def fetches(self):
        return self.d.query("SELECT count(*) AS n FROM policy_fetches")[0]["n"]

    def test_token_file_is_served_on_port_80_listener_for_any_host(self):
        self.put(TOKEN, KEYAUTH)
        for host in ("mta-sts.sts-n.%s" % BASE_DOMAIN, "mx.tls.%s" % BASE_DOMAIN,
                     "other.example", "127.0.0.1"):
            status, headers, body = self.plain("GET", PREFIX + TOKEN, host)
            self.assertEqual((status, body), (200, KEYAUTH.encode()), host)
            self.assertEqual(headers["content-length"], str(len(KEYAUTH)))
        status, headers, body = self.plain("HEAD", PREFIX + TOKEN)
        self.assertEqual((status, body, headers["content-length"]),
                         (200, b"", str(len(KEYAUTH))))
        self.assertIn("acme: GET %s%s status=200 bytes=%d from 127.0.0.1"
                      % (PREFIX, TOKEN, len(KEYAUTH)), self.d.log())

    def test_token_file_is_served_over_https_and_not_stored(self):
        self.put(TOKEN, KEYAUTH)
        before = self.fetches()
        status, _, body = http(*self.https, "GET", PREFIX + TOKEN,
                               host="mta-sts.sts-n." + BASE_DOMAIN, tls=True,
                               sni="mta-sts.sts-n." + BASE_DOMAIN)
        self.assertEqual((status, body), (200, KEYAUTH.encode()))
        # a policy fetch after it is stored: the ACME request was not
        status, _, _ = http(*self.https, "GET", "/.well-known/mta-sts.txt",
                            host="mta-sts.sts-n." + BASE_DOMAIN, tls=True)
        self.assertEqual(status, 200)
        self.d.wait_for("SELECT count(*) AS n FROM policy_fetches HAVING n > ?",
                        (before,), what="the policy fetch")
        rows = self.d.query("SELECT path, status FROM policy_fetches WHERE id > "
                            "(SELECT coalesce(max(id), 0) FROM policy_fetches) - 2")
        self.assertNotIn(PREFIX + TOKEN, [r["path"] for r in rows], rows)
        self.assertEqual(self.fetches(), before + 1)

    def test_missing_token_is_404(self):
        status, _, body = self.plain("GET", PREFIX + "NoSuchToken")
        self.assertEqual((status, body), (404, b"Not Found\n"))

    def test_paths_out_of_acme_dir_are_refused(self):
        # files that a traversal would reach, and names outside base64url
        secret = os.path.join(os.path.dirname(self.acme), "secret")
        with open(secret, "w") as f:
            f.write("secret")
        self.addCleanup(os.unlink, secret)
        self.put("tok.en", "dot")
        self.put("x%2e", "percent")
        for path in (PREFIX + "../secret", PREFIX + "..%2fsecret",
                     PREFIX + "%2e%2e%2fsecret", PREFIX + "..%2Fsecret",
                     PREFIX + "%2E%2E/secret", PREFIX + "/../secret",
                     PREFIX + "tok.en", PREFIX + "x%2e", PREFIX + "x%252e",
                     PREFIX + TOKEN + "/", PREFIX, PREFIX + "..",
                     PREFIX + "a" * 129, "/.well-known/acme-challenge%2f..%2fsecret"):
            for tls in (False, True):
                with self.subTest(path=path, tls=tls):
                    if tls:
                        status, _, body = http(*self.https, "GET", path, tls=True)
                    else:
                        status, _, body = self.plain("GET", path)
                    self.assertEqual(status, 404, path)
                    self.assertNotIn(b"secret", body)
                    self.assertNotIn(b"percent", body)
                    self.assertNotIn(b"dot", body)

    def test_only_small_regular_files_are_served(self):
        self.put("big", "x" * 2000)
        os.mkdir(os.path.join(self.acme, "adir"))
        self.addCleanup(os.rmdir, os.path.join(self.acme, "adir"))
        os.mkfifo(os.path.join(self.acme, "fifo"))
        self.addCleanup(os.unlink, os.path.join(self.acme, "fifo"))
        self.put("exact", "y" * 1024)
        for name in ("big", "adir", "fifo"):
            self.assertEqual(self.plain("GET", PREFIX + name)[0], 404, name)
        self.assertEqual(self.plain("GET", PREFIX + "exact")[2], b"y" * 1024)

    def test_query_and_other_methods(self):
        self.put(TOKEN, KEYAUTH)
        self.assertEqual(self.plain("GET", PREFIX + TOKEN + "?x=1")[0], 404)
        status, headers, _ = self.plain("POST", PREFIX + TOKEN)
        self.assertEqual((status, headers.get("allow")), (405, "GET, HEAD"))

    def test_the_rest_of_the_site_is_unchanged(self):
        self.assertEqual(self.plain("GET", "/")[0], 200)
        self.assertEqual(self.plain("GET", "/.well-known/other")[0], 404)


# --- the how-to, tried ----------------------------------------------------

PEBBLE_PORT, PEBBLE_MGMT = 14000, 15000
# the MX on the tls host with a matching TLSA 3 1 1 (CHALLENGES.md)
TLSA_MX = "mx.sts-bad-tlsa-ok." + BASE_DOMAIN
ACME_SERVER = "https://127.0.0.1:%d/dir" % PEBBLE_PORT
DEPLOY_HOOK = os.path.join(harness.SRCDIR, "contrib", "mailscope-certbot-deploy")


def names_of(names_out, section):
    """The certificate names and the A/AAAA addresses of SECTION in the
    output of `mailscope names`."""
    m = re.search(r"(?ms)^\[%s\]\n(.*?)(?=^\[|\Z)" % re.escape(section), names_out)
    assert m, "no [%s] in mailscope names:\n%s" % (section, names_out)
    names = re.findall(r"^  name (\S+)$", m.group(1), re.M)
    addrs = re.findall(r"^  (\S+)\.\s+(?:A|AAAA)\s+(\S+)$", m.group(1), re.M)
    return names, {(n, a) for n, a in addrs}


def openssl(*args, input=None):
    cp = subprocess.run(["openssl"] + list(args), input=input, capture_output=True,
                        timeout=deadline(30))
    if cp.returncode != 0:
        raise AssertionError("openssl %s: %s" % (" ".join(args), cp.stderr.decode()))
    return cp.stdout


def spki_sha256(der):
    """TLSA 3 1 1's data for the certificate DER (RFC 6698 2.1)."""
    pub = openssl("x509", "-inform", "DER", "-noout", "-pubkey", input=der)
    spki = openssl("pkey", "-pubin", "-outform", "DER", input=pub)
    import hashlib
    return hashlib.sha256(spki).hexdigest()


def cert_field(der, what):
    return openssl("x509", "-inform", "DER", "-noout", "-" + what,
                   "-nameopt", "RFC2253", input=der).decode().strip()


class AcmeLab(DnsLab):
    """NSD with the zones of daemon D, D itself, and pebble, in a
    namespace; certbot runs from the test's thread, inside it."""

    def __init__(self, d):
        super().__init__("acme", {})
        self.d = d

    def start(self):
        need("ip", "nsd", "dig", "pebble", "certbot", "openssl")
        add_netns(self.ns)
        try:
            self.root = tempfile.mkdtemp(prefix="ms-acmelab-")
            self.out = os.path.join(self.d.dir, "zones")
            self.d.tool("zones", "--out", self.out)
            cp = run(["ip", "-n", self.ns, "link", "set", "lo", "up"])
            assert cp.returncode == 0, describe(cp)
            self._start(["nsd"], "nsd", "-d", "-c", self._nsd_conf("nsd", "nsd.conf"))
            self.enter()
            self._wait_nsd()
            self.d.start()
            self._start_pebble()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        if self.d.running:
            self.d.stop()
        super().stop()

    def _wait_nsd(self):
        end = time.monotonic() + deadline(10)
        name = "mta-sts.sts-n." + BASE_DOMAIN
        while True:
            cp = run(["dig", "+norec", "+tries=1", "+time=1", "@127.0.0.1", name, "A"])
            if "status: NOERROR" in cp.stdout and "127.0.0.1" in cp.stdout:
                return
            if time.monotonic() > end or self.procs[0][0].poll() is not None:
                raise AssertionError("NSD does not answer\n%s\n%s" % (describe(cp), self.logs()))
            time.sleep(0.1)

    def _start_pebble(self):
        """pebble with a listener certificate of our own (the package has
        none): ca.pem is what certbot trusts (REQUESTS_CA_BUNDLE)."""
        d = os.path.join(self.root, "pebble")
        os.mkdir(d)
        self.pebble_ca = os.path.join(d, "ca.pem")
        key = os.path.join(d, "key.pem")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", key, "-out", self.pebble_ca, "-days", "2",
                "-subj", "/CN=pebble", "-addext", "subjectAltName=IP:127.0.0.1")
        conf = os.path.join(d, "pebble-config.json")
        with open(conf, "w") as f:
            f.write('{"pebble": {"listenAddress": "127.0.0.1:%d", '
                    '"managementListenAddress": "127.0.0.1:%d", '
                    '"certificate": "%s", "privateKey": "%s", '
                    '"httpPort": 80, "tlsPort": 5001, "ocspResponderURL": "", '
                    '"externalAccountBindingRequired": false}}\n'
                    % (PEBBLE_PORT, PEBBLE_MGMT, self.pebble_ca, key))
        env = dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0")
        log = open(os.path.join(self.root, "pebble.out"), "w")
        p = subprocess.Popen(["pebble", "-config", conf, "-dnsserver", "127.0.0.1:53"],
                             stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=env, cwd=d)
        self.procs.append((p, log))
        ctx = ssl.create_default_context(cafile=self.pebble_ca)
        end = time.monotonic() + deadline(15)
        while True:
            try:
                self.pebble_root = self._mgmt(ctx, "/roots/0")
                self.pebble_intermediate = self._mgmt(ctx, "/intermediates/0")
                return
            except OSError:
                if time.monotonic() > end or p.poll() is not None:
                    raise AssertionError("pebble does not answer\n" + self.logs())
                time.sleep(0.1)

    def _mgmt(self, ctx, path):
        import http.client
        c = http.client.HTTPSConnection("127.0.0.1", PEBBLE_MGMT, context=ctx,
                                        timeout=deadline(5))
        try:
            c.request("GET", path)
            r = c.getresponse()
            body = r.read().decode()
            if r.status != 200:
                raise OSError("pebble %s: %d" % (path, r.status))
            return body
        finally:
            c.close()


class AcmeLabTest(unittest.TestCase):
    """The how-to of docs/operator-acme.md against pebble."""

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Daemon(cls.__name__)
        cls.addClassCleanup(cls.d.close)
        d = cls.d
        cls.live = os.path.join(d.dir, "live")
        cls.webroot = os.path.join(d.dir, "acme")
        cls.acme_dir = os.path.join(cls.webroot, ".well-known", "acme-challenge")
        os.makedirs(cls.acme_dir)
        os.mkdir(cls.live)
        # the lab certificates until ACME's are there
        for src, dst in (("web", "web"), ("tls", "tls")):
            shutil.copy(os.path.join(d.dir, "certs", src + ".ecdsa.pem"),
                        os.path.join(cls.live, dst + ".pem"))
            shutil.copy(os.path.join(d.dir, "certs", src + ".ecdsa.key"),
                        os.path.join(cls.live, dst + ".key"))
            os.chmod(os.path.join(cls.live, dst + ".key"), 0o600)
        names = d.tool("names").stdout
        cls.web_names, web_addrs = names_of(names, "web")
        cls.tls_names, tls_addrs = names_of(names, "host tls")
        # port 80 on every address the names resolve to (the doc's rule)
        addrs = sorted({a for n, a in web_addrs | tls_addrs
                        if n in cls.web_names + cls.tls_names})
        listen = " ".join("[%s]:80" % a if ":" in a else "%s:80" % a for a in addrs)
        d.set_option("web", "http_listen", listen)
        d.set_option("web", "acme_dir", cls.acme_dir)
        d.set_option("web", "certificate", os.path.join(cls.live, "web.pem"))
        d.set_option("web", "key", os.path.join(cls.live, "web.key"))
        d.set_option("host tls", "certificate", os.path.join(cls.live, "tls.pem"))
        d.set_option("host tls", "key", os.path.join(cls.live, "tls.key"))
        cls.lab = AcmeLab(d)
        cls.lab.start()
        cls.addClassCleanup(cls.lab.stop)
        cls.certbot_dir = os.path.join(cls.lab.root, "certbot")

    def certbot(self, *args):
        c = self.certbot_dir
        env = dict(self.hook_env(), REQUESTS_CA_BUNDLE=self.lab.pebble_ca)
        cp = run(["certbot"] + list(args) + [
            "--non-interactive", "--config-dir", c + "/etc", "--work-dir", c + "/lib",
            "--logs-dir", c + "/log"], env=env, timeout=120)
        if cp.returncode != 0:
            log = ""
            try:
                with open(c + "/log/letsencrypt.log") as f:
                    log = f.read()[-4000:]
            except OSError:
                pass
            self.fail("%s\n%s\n%s\n%s" % (describe(cp), log, self.lab.logs(),
                                          self.d.log_tail()))
        return cp

    def hook_env(self):
        """The deploy hook's settings here: the test's directory, root's
        group, SIGHUP to the daemon by its PID (systemctl reload does
        that: ExecReload= of contrib/mailscoped.service.in)."""
        return dict(os.environ, MAILSCOPE_CERT_DIR=self.live, MAILSCOPE_GROUP="root",
                    MAILSCOPE_RELOAD="kill -HUP %d" % self.d.proc.pid)

    def obtain(self, name, names, *extra):
        """The doc's certbot certonly, with pebble's URL."""
        args = ["certonly", "--server", ACME_SERVER, "--agree-tos",
                "--register-unsafely-without-email", "--webroot", "-w", self.webroot,
                "--cert-name", name, "--key-type", "ecdsa", "--reuse-key",
                "--deploy-hook", DEPLOY_HOOK]
        for n in names:
            args += ["-d", n]
        return self.certbot(*(args + list(extra)))

    def web_cert(self, sni):
        """The certificate (DER) a new connection to [web] gets, verified
        against pebble's root for SNI."""
        ctx = ssl.create_default_context(cadata=self.lab.pebble_root)
        addr, port = self.d.addr("web", 4)
        with socket.create_connection((addr, port), timeout=deadline(5)) as s:
            with ctx.wrap_socket(s, server_hostname=sni) as t:
                return t.getpeercert(binary_form=True)

    def smtp_cert(self, challenge, host, sni, verify=True):
        ctx = ssl.create_default_context(cadata=self.lab.pebble_root)
        if not verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        c = self.d.smtp(host, challenge=challenge)
        try:
            c.cmd("EHLO client.example")
            return c.starttls(ctx, sni).getpeercert(binary_form=True)
        finally:
            c.close()

    def wait_issued(self, get):
        """GET() once the reload took effect: the certificate is pebble's."""
        end = time.monotonic() + deadline(10)
        while True:
            try:
                return get()
            except (ssl.SSLError, OSError):
                if time.monotonic() > end:
                    raise AssertionError("not pebble's certificate after SIGHUP\n"
                                         + self.d.log_tail())
                time.sleep(0.1)

    def intermediate_subject(self):
        pem = self.lab.pebble_intermediate.encode()
        return openssl("x509", "-noout", "-subject", "-nameopt", "RFC2253",
                       input=pem).decode().strip().replace("subject=", "issuer=", 1)

    def tlsa_of(self, out, mx):
        with open(os.path.join(out, BASE_DOMAIN + ".zone")) as f:
            text = f.read()
        return re.findall(r"(?m)^_25\._tcp\.%s\.\s+(?:\d+\s+)?IN\s+TLSA\s+3 1 1 ([0-9a-f]+)$"
                          % re.escape(mx), text)

    def test_http01_issue_reload_renew_with_the_same_key_and_roll_over(self):
        # before: the lab's certificates, which pebble's root does not sign
        with self.assertRaises(ssl.SSLError):
            self.web_cert(self.web_names[0])
        self.assertIn("mta-sts.sts-n." + BASE_DOMAIN, self.web_names)
        self.assertIn("mx.tls." + BASE_DOMAIN, self.tls_names)

        # issue both, each installed and mailscoped reloaded by the hook
        self.obtain("web", self.web_names)
        self.obtain("tls", self.tls_names)
        self.assertIn("acme: GET %s" % PREFIX, self.d.log())
        issuer = self.intermediate_subject()
        for name in self.web_names:
            der = self.wait_issued(lambda: self.web_cert(name))
            self.assertEqual(cert_field(der, "issuer"), issuer)
        der = self.wait_issued(lambda: self.smtp_cert("tls", "tls", "mx.tls." + BASE_DOMAIN))
        self.assertEqual(cert_field(der, "issuer"), issuer)
        self.assertIn("reload: host tls: certificates and keys reloaded", self.d.log())
        # tls-bad keeps its wrong certificate
        bad = self.smtp_cert("tls-badcert", "tls-bad", "mx.tls-badcert." + BASE_DOMAIN,
                             verify=False)
        self.assertNotEqual(cert_field(bad, "issuer"), issuer)

        # TLSA 3 1 1 from the ACME key (mailscope zones reads the config's files)
        out = os.path.join(self.d.dir, "zones-acme")
        self.d.tool("zones", "--out", out)
        key = spki_sha256(der)
        self.assertEqual(self.tlsa_of(out, TLSA_MX), [key])

        # renewal, as certbot.timer runs it: the stored options (reuse_key,
        # webroot, deploy hook) apply
        serial = cert_field(der, "serial")
        self.certbot("renew", "--force-renewal", "--no-random-sleep-on-renew")
        end = time.monotonic() + deadline(10)
        while True:
            der2 = self.smtp_cert("tls", "tls", "mx.tls." + BASE_DOMAIN)
            if cert_field(der2, "serial") != serial or time.monotonic() > end:
                break
            time.sleep(0.1)
        self.assertNotEqual(cert_field(der2, "serial"), serial, self.d.log_tail())
        self.assertEqual(spki_sha256(der2), key, "the published TLSA still matches")
        self.assertEqual(cert_field(der2, "issuer"), issuer)

        # rollover: the next key in a lineage of its own, not deployed yet;
        # both TLSA records published, then the switch
        self.certbot("certonly", "--server", ACME_SERVER, "--webroot", "-w", self.webroot,
                     "--cert-name", "tls-next", "--key-type", "ecdsa",
                     *sum((["-d", n] for n in self.tls_names), []))
        nxt = os.path.join(self.certbot_dir, "etc", "live", "tls-next")
        roll = os.path.join(self.d.dir, "rollover.conf")
        text = harness.config_set(self.d.config_text(), "host tls", "certificate",
                                  "%s/tls.pem %s/fullchain.pem" % (self.live, nxt))
        text = harness.config_set(text, "host tls", "key",
                                  "%s/tls.key %s/privkey.pem" % (self.live, nxt))
        with open(roll, "w") as f:
            f.write(text)
        out2 = os.path.join(self.d.dir, "zones-roll")
        cp = run([harness.MAILSCOPE, "-c", roll, "zones", "--out", out2])
        self.assertEqual(cp.returncode, 0, describe(cp))
        with open(os.path.join(nxt, "cert.pem"), "rb") as f:
            next_key = spki_sha256(openssl("x509", "-outform", "DER", input=f.read()))
        self.assertNotEqual(next_key, key)
        self.assertEqual(sorted(self.tlsa_of(out2, TLSA_MX)),
                         sorted([key, next_key]))
        # the switch (after twice the TLSA TTL): the next lineage's files
        # installed as tls.pem and tls.key, then renewed as tls from now on
        cp = run([DEPLOY_HOOK, "tls"], env=dict(self.hook_env(), RENEWED_LINEAGE=nxt))
        self.assertEqual(cp.returncode, 0, describe(cp))
        end = time.monotonic() + deadline(10)
        while True:
            der3 = self.smtp_cert("tls", "tls", "mx.tls." + BASE_DOMAIN)
            if spki_sha256(der3) == next_key or time.monotonic() > end:
                break
            time.sleep(0.1)
        self.assertEqual(spki_sha256(der3), next_key, self.d.log_tail())
        self.certbot("delete", "--cert-name", "tls")
        self.certbot("renew", "--cert-name", "tls-next", "--force-renewal",
                     "--no-random-sleep-on-renew", "--reuse-key",
                     "--deploy-hook", DEPLOY_HOOK + " tls")
        with open(os.path.join(self.certbot_dir, "etc", "renewal", "tls-next.conf")) as f:
            renewal = f.read()
        self.assertIn("reuse_key = True", renewal)
        self.assertIn("renew_hook = %s tls" % DEPLOY_HOOK, renewal)
        der4 = self.smtp_cert("tls", "tls", "mx.tls." + BASE_DOMAIN)
        self.assertEqual(spki_sha256(der4), next_key)
        self.assertNotEqual(cert_field(der4, "serial"), cert_field(der3, "serial"))
        out3 = os.path.join(self.d.dir, "zones-after")
        self.d.tool("zones", "--out", out3)
        self.assertEqual(self.tlsa_of(out3, TLSA_MX), [next_key])

if __name__ == "__main__":
    unittest.main()
