"""Runs the integration tests and prints one line per test.

    runner.py [-j N] [NAME ...]

Without NAME every tests/integration/test_*.py module runs, up to N modules
at a time in child processes (default: MAILSCOPE_TEST_JOBS, else up to 4
by CPU count); NAME (test_smtp, test_smtp.Class, test_smtp.Class.test_x)
runs just that, in this process.  Failures print their traceback and the
log of the daemon the test used.  The last line is always
"integration: N passed, N failed, N skipped"; the exit status is 1 when
anything failed, 0 otherwise.  A class whose setUpClass fails or skips
counts every one of its tests as failed or skipped.
"""

import atexit
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True      # nothing written into the source tree

import harness  # noqa: E402

SUMMARY_RE = re.compile(r"^integration: (\d+) passed, (\d+) failed, (\d+) skipped$")
HOLDER_RE = re.compile(r"^(setUpClass|tearDownClass|setUpModule|tearDownModule) \((.+)\)$")


def short_id(test):
    return test.id()


class Result(unittest.TestResult):
    """Counts tests (not subtests) and prints as it goes."""

    def __init__(self, classes, out):
        super().__init__()
        self.classes = classes          # "module.Class" -> (class, number of tests)
        self.out = out
        self.passed = self.nfailed = self.nskipped = 0
        self._t0 = 0.0
        self._sub_failed = False
        self._counted = False

    def p(self, s=""):
        self.out.write(s + "\n")
        self.out.flush()

    def startTest(self, test):
        super().startTest(test)
        self._t0 = time.monotonic()
        self._sub_failed = False
        self._counted = False

    def _took(self):
        return "%.2fs" % (time.monotonic() - self._t0)

    def stopTest(self, test):
        super().stopTest(test)
        if not self._counted and self._sub_failed:
            self.nfailed += 1
            self.p("%s ... FAIL (subtests, %s)" % (short_id(test), self._took()))

    def addSuccess(self, test):
        super().addSuccess(test)
        if self._sub_failed:
            return
        self._counted = True
        self.passed += 1
        self.p("%s ... ok (%s)" % (short_id(test), self._took()))

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._counted = True
        self.passed += 1
        self.p("%s ... ok (expected failure)" % short_id(test))

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._counted = True
        self.nfailed += 1
        self.p("%s ... FAIL (unexpected success)" % short_id(test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        n, name = self._holder_count(test)
        if name is None:
            self._counted = True
            name = short_id(test)
        self.nskipped += n
        self.p("%s ... skipped%s: %s" % (name, " (%d tests)" % n if n > 1 else "", reason))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._fail(test, err, "FAIL")

    def addError(self, test, err):
        super().addError(test, err)
        self._fail(test, err, "ERROR")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._sub_failed = True
            self.p("%s ... FAIL" % subtest.id())
            self._details(test, err)

    def _holder_count(self, test):
        """For a class or module level error/skip: (tests it stands for, name)."""
        if not isinstance(test, unittest.case.TestCase) or \
                type(test).__name__ in ("_ErrorHolder",):
            m = HOLDER_RE.match(getattr(test, "description", "") or "")
            if m:
                what, name = m.groups()
                if what == "setUpClass" and name in self.classes:
                    return self.classes[name][1], test.description
                return 1, test.description
            return 1, str(test)
        return 1, None

    def _fail(self, test, err, kind):
        n, name = self._holder_count(test)
        if name is None:
            self._counted = True
            name = short_id(test)
            took = " (%s)" % self._took()
        else:
            took = ""
        self.nfailed += n
        self.p("%s ... %s%s%s" % (name, kind, " (%d tests)" % n if n > 1 else "", took))
        self._details(test, err)

    def _details(self, test, err):
        self.p("".join(traceback.format_exception(*err)).rstrip())
        daemons = []
        if isinstance(test, unittest.TestCase) and type(test).__name__ != "_ErrorHolder":
            daemons = harness.all_daemons(test)
        else:
            m = HOLDER_RE.match(getattr(test, "description", "") or "")
            if m and m.group(2) in self.classes:
                cls = self.classes[m.group(2)][0]
                daemons = [v for v in vars(cls).values() if isinstance(v, harness.Daemon)]
        text = str(err[1])
        for d in daemons:
            if "--- mailscoped log" in text and d.log_path in text:
                continue    # the message already carries it
            self.p(d.log_tail())
        self.p()


def iter_tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from iter_tests(t)
        else:
            yield t


def class_map(suite):
    out = {}
    for t in iter_tests(suite):
        cls = type(t)
        key = "%s.%s" % (cls.__module__, cls.__qualname__)
        c, n = out.get(key, (cls, 0))
        out[key] = (c, n + 1)
    return out


class LoadError(unittest.TestCase):
    """Stands for a module or name that could not be loaded: one failure."""

    def __init__(self, name, tb):
        super().__init__("test_load")
        self.name, self.tb = name, tb

    def id(self):
        return self.name

    def test_load(self):
        self.fail("cannot load %s:\n%s" % (self.name, self.tb))


def load(names):
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for n in names:
        try:
            suite.addTest(loader.loadTestsFromName(n))
        except Exception:
            suite.addTest(LoadError(n, traceback.format_exc()))
    return suite


def run_suite(suite, out=sys.stdout):
    result = Result(class_map(suite), out)
    suite.run(result)
    return result.passed, result.nfailed, result.nskipped


def modules():
    return sorted(f[:-3] for f in os.listdir(HERE)
                  if f.startswith("test_") and f.endswith(".py"))


_children = []


def _on_signal(signum, frame):
    """SIGTERM/SIGHUP: stop like ^C, so that atexit stops our children and
    daemons (unittest swallows SystemExit, not KeyboardInterrupt)."""
    raise KeyboardInterrupt("signal %d" % signum)


def _stop_children():
    for p in _children:
        if p.poll() is None:
            p.terminate()
    for p in _children:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run_children(mods, jobs):
    """Every module in a child process, JOBS at a time; output printed per
    module when it finishes."""
    passed = failed = skipped = 0
    pending = list(enumerate(mods))
    running = []
    while pending or running:
        while pending and len(running) < jobs:
            i, m = pending.pop(0)
            env = dict(os.environ, MAILSCOPE_RUNNER_CHILD="1",
                       MAILSCOPE_PORT_PART="%d/%d" % (i, len(mods)))
            out = tempfile.TemporaryFile()      # a pipe could fill up and block
            p = subprocess.Popen([sys.executable, "-B", os.path.abspath(__file__), m],
                                 stdout=out, stderr=subprocess.STDOUT, cwd=HERE, env=env)
            _children.append(p)
            running.append((m, p, out, time.monotonic()))
        time.sleep(0.05)
        for item in list(running):
            m, p, out, t0 = item
            if p.poll() is None:
                continue
            running.remove(item)
            out.seek(0)
            text = out.read().decode("utf-8", "replace")
            out.close()
            lines = text.rstrip("\n").splitlines()
            match = SUMMARY_RE.match(lines[-1]) if lines else None
            body = lines[:-1] if match else lines
            sys.stdout.write("".join(l + "\n" for l in body))
            if match:
                a, b, c = map(int, match.groups())
                passed, failed, skipped = passed + a, failed + b, skipped + c
                if p.returncode != 0 and b == 0:
                    failed += 1
                    print("%s ... FAIL (runner exited %d)" % (m, p.returncode))
            else:
                failed += 1
                print("%s ... FAIL (no summary; runner exited %s)" % (m, p.returncode))
            print("# %s: %s (%.1fs)" % (m, match.group(0)[13:] if match else "crashed",
                                        time.monotonic() - t0))
            sys.stdout.flush()
    return passed, failed, skipped


def main(argv):
    jobs = int(os.environ.get("MAILSCOPE_TEST_JOBS") or min(4, os.cpu_count() or 1))
    names = []
    i = 0
    while i < len(argv):
        if argv[i] == "-j":
            jobs = int(argv[i + 1])
            i += 2
            continue
        if argv[i].startswith("-j"):
            jobs = int(argv[i][2:])
        else:
            names.append(argv[i][:-3] if argv[i].endswith(".py") else argv[i])
        i += 1
    t0 = time.monotonic()
    child = os.environ.get("MAILSCOPE_RUNNER_CHILD") == "1"
    if not child:
        print("# integration tests: mailscoped %s, mailscope %s" % (harness.MAILSCOPED,
                                                                   harness.MAILSCOPE))
        sys.stdout.flush()
    if names:
        passed, failed, skipped = run_suite(load(names))
    elif jobs > 1:
        try:        # one set of keys for every child (see harness._cert_cache)
            harness.require_binaries()
            os.environ["MAILSCOPE_CERT_CACHE"] = os.path.dirname(harness._cert_cache())
        except (unittest.SkipTest, AssertionError, OSError, subprocess.SubprocessError):
            pass    # the children report it
        passed, failed, skipped = run_children(modules(), jobs)
    else:
        passed, failed, skipped = run_suite(load(modules()))
    if not child:
        print("# %.1fs" % (time.monotonic() - t0))
    print("integration: %d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    atexit.register(_stop_children)
    sys.exit(main(sys.argv[1:]))
