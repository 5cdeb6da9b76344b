"""The zones of `mailscope zones` served as a real delegation would be:
a network namespace of the test's own, where NSD uses port 53 on
127.0.0.1 (base zone, bogus and insecure children) and ::1 (the *-dns6
children), and validating Unbounds on other ports in front of them, each
with do-ip6 yes or no.  Every process is stopped by PID.

lab = DnsLab("name", {5301: "yes"}); lab.start() ... lab.stop()
"""

import ctypes
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import harness
from harness import BASE_DOMAIN, MAILSCOPE, deadline, describe, run

CLONE_NEWNET = 0x40000000


def need(*programs):
    missing = [p for p in programs if shutil.which(p) is None]
    if missing:
        # contrib/install-deps installs them: missing is a failure, not a skip
        raise AssertionError("not installed: %s (contrib/install-deps)"
                             % " ".join(missing))


def zones_run(conf, out):
    cp = run([MAILSCOPE, "-c", conf, "zones", "--out", out])
    if cp.returncode != 0 or harness.sanitizer_report(cp.stderr):
        raise AssertionError("mailscope zones failed\n" + describe(cp))
    return cp


def make_zones(name):
    """(root, conf, out): a demo-config in a new directory, certificates
    from the harness's cache, and the output of `mailscope zones`."""
    harness.require_binaries()
    root = tempfile.mkdtemp(prefix="ms-zones-%s-" % name)
    demo = os.path.join(root, "demo")
    os.mkdir(demo)
    shutil.copytree(harness._cert_cache(), os.path.join(demo, "certs"))
    cp = run([MAILSCOPE, "demo-config", "--out", demo, "--base-port",
              str(harness.pick_base_port())])
    if cp.returncode != 0:
        shutil.rmtree(root, True)
        raise AssertionError("demo-config failed\n" + describe(cp))
    conf = os.path.join(demo, "mailscope.conf")
    out = os.path.join(root, "zones")
    zones_run(conf, out)
    return root, conf, out


def add_netns(name):
    """ip netns add NAME; the one allowed skip when that is refused."""
    cp = run(["ip", "netns", "add", name])
    if cp.returncode != 0:
        raise unittest.SkipTest("cannot create a network namespace: %s"
                                % cp.stderr.strip())


class DnsLab:
    """UNBOUNDS: {port: do-ip6 "yes" or "no"}.  After start(): root, conf,
    out (the zone files, trust-anchor.ds among them)."""

    def __init__(self, name, unbounds):
        self.ns = "ms%s%d" % (name[:8], os.getpid())
        self.name = name
        self.unbounds = unbounds
        self.procs = []
        self.root = None
        self._home = None       # our own network namespace, when entered
        self.unbound_extra = ""  # more server: lines for every Unbound

    def start(self):
        need("ip", "nsd", "unbound", "dig")
        add_netns(self.ns)
        try:
            cp = run(["ip", "-n", self.ns, "link", "set", "lo", "up"])
            assert cp.returncode == 0, describe(cp)
            self.root, self.conf, self.out = make_zones(self.name)
            for name, include in (("nsd", "nsd.conf"), ("nsd6", "nsd-dns6.conf")):
                self._start([name], "nsd", "-d", "-c", self._nsd_conf(name, include))
            for port, v6 in self.unbounds.items():
                self._start(["unbound%d" % port], "unbound", "-d", "-c",
                            self._unbound_conf(port, v6))
            for port in self.unbounds:
                self._wait_answer(port)
        except BaseException:
            self.stop()
            raise
        return self

    def enter(self):
        """Move this thread (and the processes it starts) into the
        namespace, where the Unbounds listen; stop() returns."""
        libc = ctypes.CDLL(None, use_errno=True)
        self._home = os.open("/proc/self/ns/net", os.O_RDONLY)
        fd = os.open("/run/netns/" + self.ns, os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns")
        finally:
            os.close(fd)

    def leave(self):
        if self._home is None:
            return
        libc = ctypes.CDLL(None, use_errno=True)
        libc.setns(self._home, CLONE_NEWNET)
        os.close(self._home)
        self._home = None

    def stop(self):
        self.leave()
        for p, log in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(deadline(5))
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            log.close()
        self.procs = []
        run(["ip", "netns", "delete", self.ns])
        if self.root is not None and not harness.KEEP_TMP:
            shutil.rmtree(self.root, True)

    def _start(self, name, *argv):
        log = open(os.path.join(self.root, name[0] + ".out"), "w")
        p = subprocess.Popen(["ip", "netns", "exec", self.ns] + list(argv),
                             stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
        self.procs.append((p, log))

    def _write_conf(self, name, filename, template, **values):
        """TEMPLATE formatted with VALUES and d (a new directory NAME under
        root), written there as FILENAME; returns its path."""
        d = os.path.join(self.root, name)
        os.mkdir(d)
        conf = os.path.join(d, filename)
        with open(conf, "w") as f:
            f.write(template.format(d=d, **values))
        return conf

    def _nsd_conf(self, name, include):
        return self._write_conf(
            name, "nsd.conf",
            'server:\n\tusername: ""\n\tchroot: ""\n\tdatabase: ""\n'
            '\tzonesdir: "{d}"\n\tzonelistfile: "{d}/zone.list"\n'
            '\txfrdfile: "{d}/xfrd.state"\n\txfrdir: "{d}"\n'
            '\tpidfile: "{d}/nsd.pid"\n\tlogfile: "{d}/nsd.log"\n'
            '\tport: 53\n\tserver-count: 1\n\tverbosity: 1\n'
            'remote-control:\n\tcontrol-enable: no\n'
            'include: "{inc}"\n',
            inc=os.path.join(self.out, include))

    def _unbound_conf(self, port, v6):
        return self._write_conf(
            "unbound%d" % port, "unbound.conf",
            'server:\n\tinterface: 127.0.0.1@{port}\n{extra}\tusername: ""\n'
            '\tchroot: ""\n\tdirectory: "{d}"\n\tpidfile: "{d}/unbound.pid"\n'
            '\tlogfile: "{d}/unbound.log"\n\tuse-syslog: no\n'
            '\tdo-daemonize: no\n\tnum-threads: 1\n\tdo-ip4: yes\n'
            '\tdo-ip6: {v6}\n\tdo-not-query-localhost: no\n'
            '\tmodule-config: "validator iterator"\n'
            '\ttrust-anchor-file: "{anchor}"\n'
            '\tlocal-zone: "test." nodefault\n'
            '\tval-log-level: 2\n\tverbosity: 1\n'
            'remote-control:\n\tcontrol-enable: no\n'
            'stub-zone:\n\tname: "{base}."\n\tstub-addr: 127.0.0.1\n',
            port=port, v6=v6, base=BASE_DOMAIN, extra=self.unbound_extra,
            anchor=os.path.join(self.out, "trust-anchor.ds"))

    def logs(self):
        out = []
        for dirpath, _, files in os.walk(self.root):
            for f in files:
                if f.endswith((".log", ".out")):
                    with open(os.path.join(dirpath, f), errors="replace") as fp:
                        out.append("--- %s\n%s" % (f, fp.read()[-3000:]))
        return "\n".join(out)

    def dig(self, port, name, rtype, *opts):
        """(status, flags, answer lines split, completed process)."""
        cp = run(["ip", "netns", "exec", self.ns, "dig", "+dnssec", "+tries=1",
                  "+time=%d" % max(1, int(deadline(5))), "-p", str(port),
                  "@127.0.0.1", name, rtype] + list(opts), timeout=30)
        status = re.search(r"status: (\w+)", cp.stdout)
        flags = re.search(r"^;; flags: ([^;]*);", cp.stdout, re.M)
        answer = [l.split() for l in cp.stdout.splitlines()
                  if l and not l.startswith(";") and len(l.split()) > 4]
        return (status.group(1) if status else None,
                flags.group(1).split() if flags else [], answer, cp)

    def _wait_answer(self, port):
        end = time.monotonic() + deadline(10)
        while True:
            status, _, _, cp = self.dig(port, "tls." + BASE_DOMAIN, "MX")
            if status == "NOERROR":
                return
            if time.monotonic() > end or any(p.poll() is not None for p, _ in self.procs):
                raise AssertionError("no answer from Unbound on %d\n%s\n%s"
                                     % (port, describe(cp), self.logs()))
            time.sleep(0.1)
