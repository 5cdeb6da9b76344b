"""The layer rule of docs/hacking.md, as the build enforces it: each
layer's convenience library is compiled with an include path that holds
only the folders it may use, so a header of a higher layer does not
compile there, and every header of an allowed folder does."""

import os
import re
import subprocess
import tempfile
import shutil
import unittest

import harness
from harness import BUILDDIR, SRCDIR

# Layer -> (its folders, the Makefile variable of its include path, the
# layers it may include).  docs/hacking.md says the same in prose.
LAYERS = {
    "lib": (["daemon/lib"], "libms_lib_a_CPPFLAGS", ["lib"]),
    "analysis": (["daemon/analysis"], "libms_analysis_a_CPPFLAGS",
                 ["lib", "analysis"]),
    "report": (["daemon/report"], "libms_report_a_CPPFLAGS",
               ["lib", "report"]),
    "probe": (["daemon/probe"], "libms_probe_a_CPPFLAGS",
              ["lib", "analysis", "report", "probe"]),
    "server": (["daemon/server"], "libms_server_a_CPPFLAGS",
               ["lib", "analysis", "report", "probe", "server"]),
    "tool": (["daemon/tool", "zones", "certs"], "libms_tool_a_CPPFLAGS",
             ["lib", "analysis", "report", "probe", "tool"]),
}
# The two mains: the daemon is a server program, the tool is not.
MAINS = {"daemon/mailscoped.c": "mailscoped_CPPFLAGS",
         "daemon/mailscope.c": "mailscope_CPPFLAGS"}
SOURCE_DIRS = ["daemon", "zones", "certs"]
QUOTED_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def make_vars(names):
    """The values of Makefile variables NAMES in the configured build."""
    rules = "print-vars:\n" + "".join(
        "\t@echo '%s=$(%s)'\n" % (n, n) for n in names)
    cp = subprocess.run(["make", "-s", "-C", BUILDDIR, "-f", "Makefile",
                         "-f", "-", "print-vars"], input=rules, text=True,
                        capture_output=True, timeout=60)
    if cp.returncode != 0:
        raise AssertionError("make print-vars failed:\n" + cp.stderr)
    out = {}
    for line in cp.stdout.splitlines():
        k, _, v = line.partition("=")
        out[k] = v
    return out


def headers_of(folder):
    d = os.path.join(SRCDIR, folder)
    return sorted(f for f in os.listdir(d) if f.endswith(".h"))


class LayerRule(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_binaries()
        cls.vars = make_vars(["CC", "AM_CFLAGS", "DEP_CFLAGS"] +
                             [v for _, v, _ in LAYERS.values()] +
                             list(MAINS.values()))
        cls.tmp = tempfile.mkdtemp(prefix="mailscope-layers-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)

    def reaches(self, cppflags, folder, header):
        """Whether a file outside the tree that includes HEADER, compiled
        with the include path CPPFLAGS (in the build directory, where the
        Makefile's relative paths hold), gets FOLDER's HEADER: (yes or
        no, the compiler's words).  A library's header of the same name
        (opendkim's dkim.h) is not ours."""
        probe = os.path.join(self.tmp, "probe.c")
        with open(probe, "w") as f:
            f.write('#include "build.h"\n#include "%s"\n' % header)
        cmd = "%s %s %s %s -M %s" % (
            self.vars["CC"], cppflags, self.vars["AM_CFLAGS"],
            self.vars["DEP_CFLAGS"], probe)
        cp = subprocess.run(cmd, shell=True, cwd=BUILDDIR, text=True,
                            capture_output=True, timeout=60)
        if cp.returncode != 0:
            return False, cp.stderr
        ours = os.path.realpath(os.path.join(SRCDIR, folder, header))
        deps = {os.path.realpath(os.path.join(BUILDDIR, d))
                for d in cp.stdout.replace("\\\n", " ").split()[1:]}
        return ours in deps, cp.stdout

    def check_layer(self, flags, allowed):
        for layer, (folders, _, _) in LAYERS.items():
            for folder in folders:
                for h in headers_of(folder):
                    ok, out = self.reaches(flags, folder, h)
                    with self.subTest(header=folder + "/" + h):
                        if layer in allowed:
                            self.assertTrue(ok, "an allowed header is not "
                                            "reached:\n" + out)
                        else:
                            self.assertFalse(ok, "an upward include "
                                             "compiles:\n" + out)

    def test_each_layer_sees_only_what_it_may_include(self):
        for layer, (_, var, allowed) in LAYERS.items():
            with self.subTest(layer=layer):
                self.check_layer(self.vars[var], allowed)

    def test_the_daemon_is_a_server_program_and_the_tool_is_not(self):
        self.check_layer(self.vars["mailscoped_CPPFLAGS"],
                         LAYERS["server"][2])
        self.check_layer(self.vars["mailscope_CPPFLAGS"], LAYERS["tool"][2])

    def test_every_source_is_in_a_layer(self):
        known = {f for folders, _, _ in LAYERS.values() for f in folders}
        for top in SOURCE_DIRS:
            for dirpath, _, files in os.walk(os.path.join(SRCDIR, top)):
                rel = os.path.relpath(dirpath, SRCDIR)
                if not any(f.endswith((".c", ".h")) for f in files):
                    continue
                srcs = [f for f in files if f.endswith((".c", ".h"))]
                if rel == "daemon":
                    self.assertEqual(sorted(srcs), sorted(
                        os.path.basename(m) for m in MAINS))
                else:
                    self.assertIn(rel, known, "a folder of sources outside "
                                  "the layer table: " + ", ".join(srcs))

    def test_no_include_names_a_path(self):
        # "../server/smtp.h" would reach around the include path.
        for top in SOURCE_DIRS:
            for dirpath, _, files in os.walk(os.path.join(SRCDIR, top)):
                for f in files:
                    if not f.endswith((".c", ".h")):
                        continue
                    with open(os.path.join(dirpath, f)) as fh:
                        for inc in QUOTED_INCLUDE.findall(fh.read()):
                            with self.subTest(file=f, include=inc):
                                self.assertNotIn("/", inc)
