"""mailscope zones --check DIR: the earliest signature of each signed zone
file of an earlier run against the clock (exit 0; 1 with a warning within
7 days, an error once expired), and the weekly re-signing units of
contrib/ (docs/operator-acme.md).  No daemon runs: the tool alone.
"""

import os
import re
import shutil
import tempfile
import unittest

import harness
from harness import BASE_DOMAIN, SRCDIR, describe, run

SIGNED = [BASE_DOMAIN, "v4-bogus." + BASE_DOMAIN, "v4-dns6." + BASE_DOMAIN,
          "v6-bogus." + BASE_DOMAIN, "v6-dns6." + BASE_DOMAIN]


class ZonesCheck(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Daemon(cls.__name__)
        cls.addClassCleanup(cls.d.close)
        if "[zones]" not in cls.d.config_text():
            cls.d._edits.append(lambda t: t + "\n[zones]\n")
            cls.d._write(cls.d.config_text() + "\n[zones]\n")

    def sign(self, validity):
        """`mailscope zones --out` with VALIDITY; the output directory."""
        self.d.set_option("zones", "signature_validity", validity)
        out = tempfile.mkdtemp(prefix="zones-", dir=self.d.dir)
        self.d.tool("zones", "--out", out)
        return out

    def check(self, out):
        return self.d.tool("zones", "--check", out, check=False)

    def until(self, out, zone):
        """The date the signed file's header gives."""
        with open(os.path.join(out, zone + ".zone.signed")) as f:
            m = re.search(r"signatures valid until (\S+ \S+ UTC)", f.read())
        self.assertIsNotNone(m)
        return m.group(1)

    def test_three_weeks_is_ok(self):
        out = self.sign("21d")
        cp = self.check(out)
        self.assertEqual(cp.returncode, 0, describe(cp))
        self.assertEqual(cp.stderr, "", describe(cp))
        lines = cp.stdout.splitlines()
        self.assertEqual(len(lines), len(SIGNED), describe(cp))
        for z, line in zip(SIGNED, lines):
            # 21 days from the run, 20 once a second has passed
            self.assertRegex(line, r"^%s: signatures valid until %s \((20|21) days\)$"
                             % (re.escape(z), self.until(out, z)))

    def test_eight_days_is_ok_seven_is_not(self):
        cp = self.check(self.sign("8d"))
        self.assertEqual(cp.returncode, 0, describe(cp))
        cp = self.check(self.sign("7d"))
        self.assertEqual(cp.returncode, 1, describe(cp))

    def test_five_days_warns_for_every_zone(self):
        out = self.sign("5d")
        cp = self.check(out)
        self.assertEqual(cp.returncode, 1, describe(cp))
        self.assertEqual(cp.stdout, "", describe(cp))
        lines = cp.stderr.splitlines()
        self.assertEqual(len(lines), len(SIGNED), describe(cp))
        for z, line in zip(SIGNED, lines):
            self.assertRegex(line, r"^zones: warning: %s: signatures expire on %s, in [45] "
                             r"days \(%s\. SOA\)" % (re.escape(z), self.until(out, z), re.escape(z)))
            self.assertTrue(line.endswith("): re-sign (mailscope zones --out %s)" % out), line)

    def test_expired_zone_is_an_error_and_the_others_still_reported(self):
        out = self.sign("21d")
        path = os.path.join(out, "v4-bogus.%s.zone.signed" % BASE_DOMAIN)
        with open(path) as f:
            text = f.read()
        # one signature, of the A record of the MX, expired on New Year 2020
        text, n = re.subn(r"(?m)^(mx\.v4-bogus\.\S+\s+\d+\s+IN\s+RRSIG\s+A \d+ \d+ \d+ )\d{14}",
                          r"\g<1>20200101000000", text)
        self.assertEqual(n, 1)
        with open(path, "w") as f:
            f.write(text)
        cp = self.check(out)
        self.assertEqual(cp.returncode, 1, describe(cp))
        self.assertEqual(cp.stderr,
                         "zones: error: v4-bogus.%s: signatures expired on 2020-01-01 00:00 UTC "
                         "(mx.v4-bogus.%s. A): validators find the zone bogus; re-sign now "
                         "(mailscope zones --out %s)\n" % (BASE_DOMAIN, BASE_DOMAIN, out),
                         describe(cp))
        self.assertEqual(len(cp.stdout.splitlines()), len(SIGNED) - 1, describe(cp))
        # re-signing mends it
        self.d.tool("zones", "--out", out)
        self.assertEqual(self.check(out).returncode, 0)

    def test_a_directory_without_signed_zones_is_an_error(self):
        empty = tempfile.mkdtemp(dir=self.d.dir)
        cp = self.check(empty)
        self.assertEqual(cp.returncode, 1, describe(cp))
        self.assertIn("zones: error: %s: no signed zone file (*.zone.signed)" % empty, cp.stderr)
        cp = self.check(os.path.join(empty, "missing"))
        self.assertEqual(cp.returncode, 1, describe(cp))
        self.assertIn("No such file or directory", cp.stderr)

    def test_out_and_check_together_is_a_usage_error(self):
        cp = self.d.tool("zones", "--out", self.d.dir, "--check", self.d.dir, check=False)
        self.assertEqual(cp.returncode, 2, describe(cp))
        self.assertIn("zones --out DIR | --check DIR", cp.stderr)


class ResignUnits(unittest.TestCase):
    """contrib/mailscope-resign.{service.in,timer}, as make install
    substitutes them, accepted by systemd-analyze verify (offline)."""

    def test_units_verify(self):
        if shutil.which("systemd-analyze") is None:
            self.fail("systemd-analyze not installed (contrib/install-deps: systemd)")
        d = tempfile.mkdtemp(prefix="ms-resign-")
        self.addCleanup(shutil.rmtree, d, True)
        with open(os.path.join(SRCDIR, "contrib", "mailscope-resign.service.in")) as f:
            text = f.read()
        # the built tool where make install puts the installed one
        text = text.replace("@bindir@/mailscope", harness.MAILSCOPE)
        text = text.replace("@sysconfdir@", "/etc").replace("@localstatedir@", "/var")
        self.assertNotIn("@", text)
        self.assertIn("zones --out /var/lib/mailscope/zones\n", text)
        self.assertIn("zones --check /var/lib/mailscope/zones\n", text)
        with open(os.path.join(d, "mailscope-resign.service"), "w") as f:
            f.write(text)
        shutil.copy(os.path.join(SRCDIR, "contrib", "mailscope-resign.timer"), d)
        # Documentation=man:mailscope(1): the page of this tree
        os.makedirs(os.path.join(d, "man", "man1"))
        shutil.copy(os.path.join(SRCDIR, "docs", "mailscope.1"), os.path.join(d, "man", "man1"))
        cp = run(["systemd-analyze", "verify", os.path.join(d, "mailscope-resign.service"),
                  os.path.join(d, "mailscope-resign.timer")],
                 env=dict(os.environ, MANPATH=os.path.join(d, "man")))
        self.assertEqual(cp.returncode, 0, describe(cp))
        self.assertEqual(cp.stderr.strip(), "", describe(cp))
        cp = run(["systemd-analyze", "calendar", "Mon *-*-* 04:17:00"])
        self.assertEqual(cp.returncode, 0, describe(cp))


if __name__ == "__main__":
    unittest.main()
