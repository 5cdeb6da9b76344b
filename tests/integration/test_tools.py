"""The command line without a running daemon: demo-config, check-config,
mailscoped -t and new-test."""

import os
import re
import stat
import tempfile
import shutil
import time
import unittest

import harness
from harness import (BASE_DOMAIN, CHALLENGES, HOSTS, HOSTNAME, LOCAL_PART,
                     MAILSCOPE, MAILSCOPED, PER_TEST_CHALLENGES, TESTID_RE,
                     TLS_HOSTS, describe, run)


class DemoConfig(unittest.TestCase):
    """demo-config as the tests rely on it: layout, ports, certificates."""

    @classmethod
    def setUpClass(cls):
        harness.require_binaries()
        cls.dir = tempfile.mkdtemp(prefix="mailscope-demo-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.base = harness.pick_base_port()
        cp = run([MAILSCOPE, "demo-config", "--out", cls.dir, "--base-port", str(cls.base)])
        if cp.returncode != 0:
            raise AssertionError("demo-config failed\n" + describe(cp))
        cls.conf = os.path.join(cls.dir, "mailscope.conf")
        with open(cls.conf) as f:
            cls.text = f.read()
        cls.sections = harness.config_sections(cls.text)

    def section(self, name):
        for n, kv, _ in self.sections:
            if n == name:
                return kv
        self.fail("no section [%s] in\n%s" % (name, self.text))

    def test_sections_in_catalogue_order_with_consecutive_ports(self):
        names = [n for n, _, _ in self.sections]
        expected = ["global"] + ["host " + h for h in HOSTS] + ["web", "dns"]
        self.assertEqual(names, expected, self.text)
        for i, h in enumerate(HOSTS + ["web", "dns"]):
            sec = "host " + h if h in HOSTS else h
            listen = harness.parse_listen(self.section(sec)["listen"])
            p = self.base + i
            self.assertEqual(sorted(listen), [(4, "127.0.0.1", p), (6, "::1", p)],
                             "[%s] listen" % sec)

    def test_every_challenge_gets_addresses_of_its_own(self):
        """127.0.1.N (N: the challenge's place in the catalogue) on its
        host's port for an MX with A records; a port of its own on ::1 for
        one with AAAA records, after [dns], in host order, then catalogue
        order; every port within the NPORTS the harness reserves."""
        own = harness.config_challenge_listen(self.text)
        want, port6 = {}, self.base + len(HOSTS) + 2
        for i, h in enumerate(HOSTS):
            for n, c in enumerate(CHALLENGES, 1):
                if h not in harness.CHALLENGE_HOSTS[c]:
                    continue
                if c not in harness.AAAA_ONLY_CHALLENGES:
                    want[(c, h, 4)] = [("127.0.1.%d" % n, self.base + i)]
                if c not in harness.A_ONLY_CHALLENGES:
                    want[(c, h, 6)] = [("::1", port6)]
                    port6 += 1
        self.assertEqual(own, want, self.text)
        self.assertEqual(port6, self.base + harness.NPORTS)
        # every challenge has one; the catalogue hosts them all
        self.assertEqual(sorted(set(c for c, _, _ in own)), sorted(CHALLENGES))

    def test_global_names_and_database(self):
        g = self.section("global")
        self.assertEqual(g.get("base_domain"), BASE_DOMAIN)
        self.assertEqual(g.get("hostname"), HOSTNAME)
        self.assertEqual(os.path.realpath(harness.config_path(self.conf, g.get("database", ""))),
                         os.path.realpath(os.path.join(self.dir, "mailscope.db")))
        self.assertEqual(g.get("local_part", LOCAL_PART), LOCAL_PART)

    def test_host_tls_policies(self):
        want = {"plain": "off", "open": "optional", "grey": "optional",
                "tls": "required", "tls-bad": "required", "tls13": "required",
                "tls12": "required", "strong": "required", "medium": "required"}
        for h, pol in want.items():
            with self.subTest(host=h):
                # starttls may be left out for "off"
                self.assertEqual(self.section("host " + h).get("starttls", "off"), pol)
        self.assertEqual(self.section("host tls13").get("protocols"), "TLSv1.3")
        self.assertEqual(self.section("host tls12").get("protocols"), "TLSv1-TLSv1.2")
        self.assertEqual(self.section("host grey").get("greylist_delay"), "5s")

    def test_certificates_for_every_tls_host(self):
        certs = os.path.join(self.dir, "certs")
        self.assertTrue(os.path.isfile(os.path.join(certs, "ca.pem")))
        for h in TLS_HOSTS:
            for kind, alg in (("rsa", "rsaEncryption"), ("ecdsa", "id-ecPublicKey")):
                with self.subTest(host=h, kind=kind):
                    pem = os.path.join(certs, "%s.%s.pem" % (h, kind))
                    key = os.path.join(certs, "%s.%s.key" % (h, kind))
                    self.assertTrue(os.path.isfile(pem), pem)
                    self.assertTrue(os.path.isfile(key), key)
                    self.assertEqual(stat.S_IMODE(os.stat(key).st_mode) & 0o077, 0,
                                     "%s readable by others" % key)
                    cp = run(["openssl", "x509", "-noout", "-text", "-in", pem])
                    self.assertEqual(cp.returncode, 0, describe(cp))
                    self.assertIn(alg, cp.stdout)
                    expired = run(["openssl", "x509", "-noout", "-checkend", "0", "-in", pem])
                    if h == "tls-bad":
                        self.assertNotEqual(expired.returncode, 0, "tls-bad certificate not expired")
                        self.assertIn("wrong-name.invalid", cp.stdout)
                    else:
                        self.assertEqual(expired.returncode, 0, "%s certificate expired" % h)
                        v = run(["openssl", "verify", "-CAfile",
                                 os.path.join(certs, "ca.pem"), pem])
                        self.assertEqual(v.returncode, 0, describe(v))

    def test_check_config_accepts_demo_config(self):
        for argv in ([MAILSCOPE, "-c", self.conf, "check-config"],
                     [MAILSCOPED, "-t", "-c", self.conf]):
            with self.subTest(argv=argv[0]):
                cp = run(argv)
                self.assertEqual(cp.returncode, 0, describe(cp))
                self.assertNotIn("error:", cp.stderr)


class BrokenConfig(harness.ConfigCase):
    """Every config error is reported as FILE:LINE: error: ..., exit 1."""

    def write_broken(self):
        lines = self.d.config_text().splitlines()
        start = [i for i, l in enumerate(lines) if l.strip() == "[global]"][0]
        end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")),
                   len(lines))
        dup_key = next(l.split("=")[0].strip() for l in lines[start + 1:end]
                       if "=" in l and not l.lstrip().startswith((";", "#")))
        dup_line = "%s = duplicate.invalid" % dup_key
        # after every other [global] line, so the duplicate is the second one
        lines[end:end] = ["no_such_key = 1", "max_per_ip = lots", dup_line]
        lines += ["[no-such-section]", "foo = bar"]
        path = os.path.join(self.d.dir, "broken.conf")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        num = {l: i + 1 for i, l in enumerate(lines)}
        expect = {
            "unknown key": [num["no_such_key = 1"]],
            "bad number": [num["max_per_ip = lots"]],
            "duplicate key": [num[dup_line]],
            "unknown section": [num["[no-such-section]"], num["foo = bar"]],
        }
        return path, expect

    def check(self, argv, path, expect):
        cp = run(argv)
        self.assertEqual(cp.returncode, 1, describe(cp))
        got = set()
        for line in cp.stderr.splitlines():
            m = re.match(r"^(.*):(\d+): error: (.+)$", line)
            if m:
                self.assertEqual(m.group(1), path, "error names another file: %s" % line)
                got.add(int(m.group(2)))
        for what, acceptable in expect.items():
            self.assertTrue(got & set(acceptable),
                            "no FILE:LINE error for %s (line %s)\n%s"
                            % (what, acceptable, describe(cp)))

    def test_mailscoped_t_reports_every_error_with_file_and_line(self):
        path, expect = self.write_broken()
        self.check([MAILSCOPED, "-t", "-c", path], path, expect)

    def test_check_config_reports_every_error_with_file_and_line(self):
        path, expect = self.write_broken()
        self.check([MAILSCOPE, "-c", path, "check-config"], path, expect)

    def test_mailscoped_refuses_to_start_with_broken_config(self):
        path, _ = self.write_broken()
        cp = run([MAILSCOPED, "-c", path, "-f"], timeout=15)
        self.assertNotEqual(cp.returncode, 0, describe(cp))
        self.assertRegex(cp.stderr, re.escape(path) + r":\d+: error: ")


class NewTest(harness.ConfigCase):
    """new-test: the ID, the address of every challenge, the tests row."""

    def test_json_has_id_and_every_challenge_address(self):
        t0 = time.time()
        t = self.d.new_test()
        t1 = time.time()
        self.assertEqual(set(t), {"id", "addresses"}, t)
        tid = t["id"]
        self.assertRegex(tid, TESTID_RE)
        addrs = t["addresses"]
        missing = set(CHALLENGES) - set(addrs)
        self.assertEqual(missing, set(), "challenges without an address")
        for ch in CHALLENGES:
            if ch in PER_TEST_CHALLENGES:
                want = "%s@%s.%s.%s" % (LOCAL_PART, tid, ch, BASE_DOMAIN)
            else:
                want = "%s+%s@%s.%s" % (LOCAL_PART, tid, ch, BASE_DOMAIN)
            self.assertEqual(addrs[ch], want, ch)
        row = self.d.query_one("SELECT * FROM tests WHERE id = ?", (tid,))
        self.assertGreaterEqual(row["created"], t0 - 2)
        self.assertLessEqual(row["created"], t1 + 2)

    def test_ids_are_unique(self):
        ids = {self.d.new_test()["id"] for _ in range(5)}
        self.assertEqual(len(ids), 5)
        rows = self.d.query("SELECT id FROM tests WHERE id IN (%s)" % ",".join("?" * 5),
                            tuple(ids))
        self.assertEqual(len(rows), 5)

    def test_text_output_names_the_new_test(self):
        before = {r["id"] for r in self.d.query("SELECT id FROM tests")} \
            if os.path.exists(self.d.db_path) else set()
        cp = self.d.tool("new-test")
        new = {r["id"] for r in self.d.query("SELECT id FROM tests")} - before
        self.assertEqual(len(new), 1, describe(cp))
        tid = new.pop()
        self.assertIn(tid, cp.stdout)
        self.assertIn("%s+%s@tls.%s" % (LOCAL_PART, tid, BASE_DOMAIN), cp.stdout)


if __name__ == "__main__":
    unittest.main()
