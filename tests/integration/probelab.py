"""The targets of `mailscope probe` (test_probe, docs/probe.md): receiving
mail servers of known quality, each the MX of a domain of its own, behind
a real DNS hierarchy, in network namespaces of the test's own.

- core namespace: a bridge `br0` holding every service address: NSD
  (NSD4/NSD6) serving a signed fake root, `test.`, `probe.test`,
  `measure.test` (the project's own hosts) and `arpa.` (the PTRs), all
  signed with ldns-signzone; a validating Unbound (RESOLVER4/RESOLVER6);
  the targets on port 25 (TARGETS: private Postfix receivers, mailscoped's
  own hosts, a greylisting and hostile Python servers) and one HTTPS
  server (WEB4 and WEB6, 443) serving the MTA-STS policies;
- client namespace: where the probe runs, on CLIENT4/CLIENT6 (a veth into
  br0), routed to 192.0.2.0/24 and 2001:db8::/64 only.

The certificates come from a CA made here with openssl (ca.pem); the probe
trusts it, and the harness's CA of the mailscoped hosts, through
SSL_CERT_FILE=lab.cafile.  Nothing is routed anywhere else; every process
is stopped by its PID and both namespaces deleted, also when start()
fails.

EXPECTED is what the probe must find for each target (docs/probe.md quotes
it); test_probe asserts it.

`python3 probelab.py sts|hostile ...` are the Python servers the lab
starts in the core namespace (serve_sts, serve_hostile).
"""

import hashlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))

NSD4, NSD6 = "192.0.2.250", "2001:db8::250"
WEB4, WEB6 = "192.0.2.200", "2001:db8::200"
RESOLVER4, RESOLVER6 = "198.51.100.1", "2001:db8:1::1"
CLIENT4, CLIENT6 = "198.51.100.10", "2001:db8:1::10"
CLIENT_NAME = "probe.client.probe.test"
ZONE = "probe.test"
MEASURE = "measure.test"      # harness.BASE_DOMAIN: the mailscoped hosts' names
CA_CN = "mailscope probe lab CA"

# Every target: its domain, MX name, addresses (port 25), what serves it
# and its DNS.  kind: "postfix" (Receiver's variant), "mailscoped" (the
# harness daemon's host of that name, its listen moved to v4), "hostile"
# (serve_hostile's mode), "dns" (records only: a null MX).  cert: "ca"
# (the lab's CA), "self" (self-signed), "other" (a CA nobody trusts).
# ptr: PTR records forward-confirmed; tlsa: "match", "nomatch" or None;
# sts: the MTA-STS policy's mx: "match", "mismatch" or None.
TARGETS = {
    "good.probe.test": dict(mx="mx.good.probe.test", v4="192.0.2.10", v6="2001:db8::10",
                            kind="postfix", variant="good", ptr=True, tlsa="match",
                            sts="match", cert="ca"),
    "relay.probe.test": dict(mx="mx.relay.probe.test", v4="192.0.2.20", v6=None,
                             kind="postfix", variant="relay", ptr=True, tlsa=None,
                             sts=None, cert="ca"),
    "norcpt.probe.test": dict(mx="mx.norcpt.probe.test", v4="192.0.2.30", v6=None,
                              kind="postfix", variant="norcpt", ptr=True, tlsa=None,
                              sts=None, cert="ca"),
    "bad.probe.test": dict(mx="mx.bad.probe.test", v4="192.0.2.40", v6=None,
                           kind="postfix", variant="bad", ptr=False, tlsa="nomatch",
                           sts="mismatch", cert="self"),
    "wrongca.probe.test": dict(mx="mx.wrongca.probe.test", v4="192.0.2.45", v6=None,
                               kind="postfix", variant="wrongca", ptr=True, tlsa=None,
                               sts=None, cert="other"),
    "plain.probe.test": dict(mx="mx.plain.probe.test", v4="192.0.2.50", v6=None,
                             kind="postfix", variant="plain", ptr=True, tlsa=None,
                             sts=None, cert=None),
    # good's TLS, no DANE or MTA-STS, and SPF checked (policyd-spf): a
    # sender whose SPF fails for the client is refused at RCPT
    "spf.probe.test": dict(mx="mx.spf.probe.test", v4="192.0.2.35", v6=None,
                           kind="postfix", variant="spf", ptr=True, tlsa=None, sts=None,
                           cert="ca"),
    "tls13.measure.test": dict(mx="mx.tls13.measure.test", v4="192.0.2.61", v6=None,
                               kind="mailscoped", host="tls13", ptr=True, tlsa=None,
                               sts=None),
    "tls12.measure.test": dict(mx="mx.tls12.measure.test", v4="192.0.2.62", v6=None,
                               kind="mailscoped", host="tls12", ptr=True, tlsa=None,
                               sts=None),
    "strong.measure.test": dict(mx="mx.strong.measure.test", v4="192.0.2.64", v6=None,
                                kind="mailscoped", host="strong", ptr=True, tlsa=None,
                                sts=None),
    "medium.measure.test": dict(mx="mx.medium.measure.test", v4="192.0.2.65", v6=None,
                                kind="mailscoped", host="medium", ptr=True, tlsa=None,
                                sts=None),
    # expired, and issued for wrong-name.invalid
    "tls-badcert.measure.test": dict(mx="mx.tls-badcert.measure.test", v4="192.0.2.66",
                                     v6=None, kind="mailscoped", host="tls-bad", ptr=True,
                                     tlsa=None, sts=None),
    # a minimal greylisting server (serve_hostile's grey): 450 on the
    # first RCPT of every (client, sender, recipient) for an hour
    "grey.probe.test": dict(mx="mx.grey.probe.test", v4="192.0.2.75", v6=None,
                            kind="hostile", mode="grey", ptr=True, tlsa=None, sts=None,
                            cert="ca"),
    # RFC 7505: a domain that receives no mail
    "nullmx.probe.test": dict(mx=".", v4=None, v6=None, kind="dns", ptr=False, tlsa=None,
                              sts=None),
    "endless.probe.test": dict(mx="mx.endless.probe.test", v4="192.0.2.71", v6=None,
                               kind="hostile", mode="endless", ptr=True, tlsa=None,
                               sts=None),
    "slow.probe.test": dict(mx="mx.slow.probe.test", v4="192.0.2.72", v6=None,
                            kind="hostile", mode="slow", ptr=True, tlsa=None, sts=None),
    "garbage.probe.test": dict(mx="mx.garbage.probe.test", v4="192.0.2.73", v6=None,
                               kind="hostile", mode="garbage", ptr=True, tlsa=None,
                               sts=None),
    # a valid leaf and 30 more certificates (small): more than the probe keeps
    "longchain.probe.test": dict(mx="mx.longchain.probe.test", v4="192.0.2.76", v6=None,
                                 kind="hostile", mode="longchain", ptr=True, tlsa=None,
                                 sts=None, cert="ca"),
    "hugechain.probe.test": dict(mx="mx.hugechain.probe.test", v4="192.0.2.74", v6=None,
                                 kind="hostile", mode="hugechain", ptr=True, tlsa=None,
                                 sts=None, cert="ca"),
}

# What `mailscope probe DOMAIN` must report for each target, in the terms
# of docs/probe.md (finding keys, the grade's rule) and
# docs/probe.schema.json (facts):
#   grade, score  exactly (100 less each key's points, +5 bonuses, a
#                 critical finding: F and at most 39; None: no grade);
#   problems      exactly the keys of severity warn, bad or critical;
#   findings      keys that must be there (any severity); absent: keys
#                 that must not;
#   addr          facts of every probed address (struct probe_addr's
#                 names; a set: any of them); mx: facts of the MX host;
#   versions, weak  the handshakes tried one by one ("yes", "no",
#                 "unknown": not tried, its detail says why).
# Postfix's default TLS settings and mailscoped's "all" hosts: TLS 1.0 and
# 1.1 accepted, and static RSA key exchange.
OLD_TLS = ["tls10_accepted", "tls11_accepted", "weak_no_pfs"]
HOSTILE_ABSENT = ["open_relay", "cert_valid"]
# Debian's OpenSSL 3 has no EXPORT, RC4 or 3DES suites to offer
NO_WEAK = {"null": "no", "export": {"no", "unknown"}, "rc4": {"no", "unknown"},
           "3des": {"no", "unknown"}, "cbc_only": "no", "no_pfs": "no"}
EXPECTED = {
    # everything right, DANE and MTA-STS enforce: the top grade
    "good.probe.test": dict(
        grade="A+", score=100, problems=[],
        findings=["dane_match", "mta_sts_enforce", "cert_valid", "recipient_filtering",
                  "tls13_supported", "dmarc_enforced", "spf_not_checked"],
        absent=["weak_cbc_only", "spf_checked"],
        addr=dict(stop="done", fcrdns="yes", open_relay="no", recipient_filtering="yes",
                  greylisting="no", chain_valid="yes", name_match="yes", dane="match",
                  tls_version="TLSv1.3", spf_checked="no"),
        mx=dict(sts_match="yes"),
        versions={"TLSv1.0": "no", "TLSv1.1": "no", "TLSv1.2": "yes", "TLSv1.3": "yes"},
        weak=NO_WEAK),
    # critical: F whatever else
    "relay.probe.test": dict(
        grade="F", score=39, problems=["open_relay"] + OLD_TLS,
        findings=["cert_valid", "recipient_filtering"],
        addr=dict(stop="done", open_relay="yes", recipient_filtering="yes",
                  chain_valid="yes", name_match="yes")),
    "norcpt.probe.test": dict(
        grade="B", score=82, problems=["no_recipient_filtering"] + OLD_TLS,
        findings=["cert_valid"], absent=["recipient_filtering"],
        addr=dict(stop="done", open_relay="no", recipient_filtering="no")),
    "bad.probe.test": dict(
        grade="F", score=32,
        problems=["cert_self_signed", "dane_nomatch", "mta_sts_mismatch", "ptr_missing"]
        + OLD_TLS,
        absent=["cert_valid", "dane_match"],
        addr=dict(stop="done", chain_valid="no", dane="nomatch", open_relay="no",
                  name_match="yes"),
        mx=dict(sts_match="no")),
    # a certificate of a CA nobody trusts, naming another host
    "wrongca.probe.test": dict(
        grade="C", score=57,
        problems=["cert_chain_invalid", "cert_name_mismatch"] + OLD_TLS,
        absent=["cert_valid"],
        addr=dict(stop="done", chain_valid="no", name_match="no", open_relay="no")),
    "plain.probe.test": dict(
        grade="F", score=39, problems=["no_starttls", "starttls_missing"],
        addr=dict(stop="done", open_relay="no")),
    # everything right but neither MTA-STS nor DANE: A (100), not A+; the
    # sender of spf-deny.measure.test ("v=spf1 -all") refused at RCPT
    "spf.probe.test": dict(
        grade="A", score=100, problems=[],
        findings=["spf_checked", "recipient_filtering", "cert_valid", "tls13_supported",
                  "dmarc_enforced"],
        absent=["spf_not_checked", "mta_sts_enforce", "dane_match"],
        addr=dict(stop="done", open_relay="no", recipient_filtering="yes", greylisting="no",
                  chain_valid="yes", name_match="yes", tls_version="TLSv1.3",
                  mail_code=250, rcpt_postmaster=250, spf_checked="yes", spf_mail_code=250,
                  spf_rcpt_code=550),
        versions={"TLSv1.0": "no", "TLSv1.1": "no", "TLSv1.2": "yes", "TLSv1.3": "yes"}),
    # the project's own hosts (docs/tls-profiles.md)
    "tls13.measure.test": dict(
        grade="A", score=99, problems=[], findings=["tls13_supported", "cert_valid"],
        addr=dict(stop="done", tls_version="TLSv1.3", chain_valid="yes", name_match="yes"),
        versions={"TLSv1.0": "no", "TLSv1.1": "no", "TLSv1.2": "no", "TLSv1.3": "yes"}),
    "tls12.measure.test": dict(
        grade="A", score=86, problems=OLD_TLS, findings=["cert_valid"],
        absent=["tls13_supported"],
        addr=dict(stop="done", tls_version="TLSv1.2", chain_valid="yes", name_match="yes"),
        versions={"TLSv1.0": "yes", "TLSv1.1": "yes", "TLSv1.2": "yes", "TLSv1.3": "no"}),
    "strong.measure.test": dict(
        grade="A", score=99, problems=[], findings=["tls13_supported", "cert_valid"],
        addr=dict(stop="done", tls_version="TLSv1.3", chain_valid="yes", name_match="yes"),
        versions={"TLSv1.0": "no", "TLSv1.1": "no", "TLSv1.2": "yes", "TLSv1.3": "yes"},
        weak=NO_WEAK),
    "medium.measure.test": dict(
        grade="A", score=94, problems=["tls_cbc_negotiated"],
        findings=["weak_cbc_only", "cert_valid"],
        absent=["tls13_supported", "weak_no_pfs"],
        addr=dict(stop="done", tls_version="TLSv1.2", chain_valid="yes", name_match="yes"),
        versions={"TLSv1.0": "no", "TLSv1.1": "no", "TLSv1.2": "yes", "TLSv1.3": "no"},
        weak=dict(NO_WEAK, cbc_only="yes")),
    "tls-badcert.measure.test": dict(
        grade="F", score=36,
        problems=["cert_expired", "cert_chain_invalid", "cert_name_mismatch"] + OLD_TLS,
        absent=["cert_valid"],
        addr=dict(stop="done", chain_valid="no", name_match="no")),
    "grey.probe.test": dict(
        grade="A", score=99, problems=[], findings=["greylisting", "cert_valid"],
        addr=dict(stop="done", greylisting="yes", open_relay="no", chain_valid="yes",
                  name_match="yes")),
    # RFC 7505: no grade, one finding
    "nullmx.probe.test": dict(grade=None, score=None, problems=[], findings=["null_mx"],
                              null_mx=True),
    # hostile servers: the probe stops in bounded time and says where
    "endless.probe.test": dict(
        grade="F", score=39, problems=["no_starttls", "smtp_protocol_error"],
        absent=HOSTILE_ABSENT, addr=dict(stop="protocol")),
    "slow.probe.test": dict(
        grade="F", score=39, problems=["no_starttls", "smtp_timeout"],
        absent=HOSTILE_ABSENT, addr=dict(stop="timeout")),
    "garbage.probe.test": dict(
        grade="F", score=39, problems=["no_tls", "tls_handshake_failed", "postmaster_rejected"],
        absent=HOSTILE_ABSENT, addr=dict(stop="tls")),
    # the leaf validates; the 30 certificates after it are kept to 10
    "longchain.probe.test": dict(
        grade="A", score=97, problems=["postmaster_rejected"], findings=["cert_valid"],
        absent=["open_relay", "tls_handshake_failed"],
        addr=dict(stop="done", chain_valid="yes", name_match="yes")),
    "hugechain.probe.test": dict(
        grade="F", score=39, problems=["no_tls", "tls_handshake_failed", "postmaster_rejected"],
        absent=HOSTILE_ABSENT, addr=dict(stop="tls"),
        # the server accepts both: a chain the probe will not take says
        # nothing against the version
        versions={"TLSv1.2": "unknown", "TLSv1.3": "unknown"}),
}
GRADES = ["A+", "A", "B", "C", "D", "F"]

# ---- the Python servers (run in the core namespace as separate processes)

HOSTILE_NAME = "hostile.probe.test"
LINE_MAX = 4096
# what the formats must escape: markup, and a terminal's control sequence
HOSTILE_BANNER = b"<script>alert(1)</script> &amp; \x1b[2J"


def _readline(c, buf):
    """(line, rest) from socket C: one CRLF line of at most LINE_MAX bytes;
    (None, b"") at the end of the connection."""
    while b"\n" not in buf:
        if len(buf) > LINE_MAX:
            return None, b""
        data = c.recv(4096)
        if not data:
            return None, b""
        buf += data
    line, rest = buf.split(b"\n", 1)
    return line.rstrip(b"\r"), rest


GREY_DOMAIN = "grey.probe.test"
GREY_DELAY = 3600
GREY_KNOWN = ("postmaster", "abuse")


def _grey_rcpt(seen, client, mail_from, line):
    """The reply of the greylisting server to RCPT LINE: relay refused,
    unknown users refused, then 450 until the triplet is GREY_DELAY old."""
    addr = line.split(b":", 1)[-1].strip().strip(b"<>").lower()
    local, _, domain = addr.partition(b"@")
    if domain.decode(errors="replace") != GREY_DOMAIN:
        return b"554 5.7.1 <%s>: Relay access denied\r\n" % addr
    if local.decode(errors="replace") not in GREY_KNOWN:
        return b"550 5.1.1 <%s>: Recipient address rejected: User unknown\r\n" % addr
    first = seen.setdefault((client, mail_from, addr), time.time())
    if time.time() - first < GREY_DELAY:
        return b"450 4.2.0 <%s>: Recipient address rejected: Greylisted\r\n" % addr
    return b"250 2.1.5 Ok\r\n"


def _hostile_session(mode, c, ctx, seen):
    c.settimeout(60)
    if mode == "slow":
        # a banner that never ends, one byte a second
        while True:
            for b in b"220-%s is slow\r\n" % HOSTILE_NAME.encode():
                c.sendall(bytes([b]))
                time.sleep(1)
    c.sendall(b"220 %s ESMTP %s (%s)\r\n" % (HOSTILE_NAME.encode(), HOSTILE_BANNER,
                                             mode.encode()))
    buf = b""
    client = c.getpeername()[0]
    mail_from = b""
    while True:
        line, buf = _readline(c, buf)
        if line is None:
            return
        verb = line[:8].split(b" ")[0].upper()
        if verb == b"EHLO":
            if mode == "endless":
                block = b"".join(b"250-X-ENDLESS-%06d %s\r\n" % (i, b"x" * 40)
                                 for i in range(100))
                while True:
                    c.sendall(block)
            c.sendall(b"250-%s\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 STARTTLS\r\n"
                      % HOSTILE_NAME.encode())
        elif verb == b"HELO":
            c.sendall(b"250 %s\r\n" % HOSTILE_NAME.encode())
        elif verb == b"STARTTLS":
            c.sendall(b"220 2.0.0 Ready to start TLS\r\n")
            if mode == "garbage":
                c.sendall(b"220 this is not TLS at all\r\n" * 20 + os.urandom(8192))
                while c.recv(4096):
                    pass
                return
            if ctx is None:
                return
            c = ctx.wrap_socket(c, server_side=True)
            buf = b""
        elif verb == b"MAIL":
            mail_from = line.split(b":", 1)[-1].strip().lower()
            c.sendall(b"250 2.1.0 Ok\r\n")
        elif verb == b"RCPT" and mode == "grey":
            c.sendall(_grey_rcpt(seen, client, mail_from, line))
        elif verb == b"RCPT":
            c.sendall(b"550 5.1.1 No such user\r\n")
        elif verb in (b"RSET", b"NOOP"):
            c.sendall(b"250 2.0.0 Ok\r\n")
        elif verb == b"QUIT":
            c.sendall(b"221 2.0.0 Bye\r\n")
            return
        else:
            c.sendall(b"502 5.5.2 Error: command not recognized\r\n")


def serve_hostile(mode, addr, certfile=None, keyfile=None):
    """A hostile SMTP server of MODE on ADDR:25, a thread per connection,
    until killed: endless (an EHLO reply of endless 250- lines), slow (a
    banner one byte a second, forever), garbage (random bytes after
    STARTTLS's 220), hugechain and longchain (the certificate chain of
    CERTFILE: hundreds of kilobytes, or 31 certificates), grey (a
    greylisting server: _grey_rcpt)."""
    ctx = None
    if certfile:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        # fixed here, not left to the Python build's defaults: TLS 1.2 and
        # 1.3, forward secrecy only, CBC suites among them
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers("ECDHE+AESGCM:ECDHE+CHACHA20:ECDHE+AES:!aNULL")
        ctx.load_cert_chain(certfile, keyfile)
    srv = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, 25))
    srv.listen(64)
    print("listening", mode, addr, flush=True)
    seen = {}

    def session(c):
        try:
            _hostile_session(mode, c, ctx, seen)
        except (OSError, ssl.SSLError):
            pass
        finally:
            c.close()

    while True:
        c, _ = srv.accept()
        threading.Thread(target=session, args=(c,), daemon=True).start()


def serve_sts(addr, certfile, keyfile, policies):
    """HTTPS on ADDR:443: /.well-known/mta-sts.txt of the host named by
    the Host header, from POLICIES (a JSON file {host: policy text})."""
    import http.server
    with open(policies) as f:
        pol = json.load(f)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            host = (self.headers.get("Host") or "").split(":")[0].lower()
            body = pol.get(host)
            if self.path != "/.well-known/mta-sts.txt" or body is None:
                self.send_error(404)
                return
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, fmt, *args):
            sys.stderr.write("sts: " + (fmt % args) + "\n")

    class Server(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in addr else socket.AF_INET

    httpd = Server((addr, 443), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certfile, keyfile)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    print("listening sts", addr, flush=True)
    httpd.serve_forever()


def describe_target(t):
    """What serves a target, in a few words (the table's second column)."""
    kind = t["kind"]
    what = {"postfix": "Postfix, %s" % t.get("variant"),
            "mailscoped": "mailscoped, host %s" % t.get("host"),
            "hostile": "Python, %s" % t.get("mode"),
            "dns": "DNS only"}[kind]
    extra = []
    if t.get("variant") == "spf":
        extra.append("SPF checked by policyd-spf")
    if t.get("cert") == "self":
        extra.append("self-signed")
    elif t.get("cert") == "other":
        extra.append("untrusted CA")
    if t.get("tlsa"):
        extra.append("TLSA " + t["tlsa"])
    if t.get("sts"):
        extra.append("MTA-STS enforce, mx " + t["sts"])
    if kind != "dns" and not t.get("ptr"):
        extra.append("no PTR")
    if t.get("v6"):
        extra.append("IPv4 and IPv6")
    return what + ("; " + ", ".join(extra) if extra else "")


def markdown_table():
    """EXPECTED as the Markdown table docs/probe.md quotes
    (`python3 tests/integration/probelab.py table`)."""
    out = ["| domain | target | grade | score | warn, bad and critical findings |",
           "|--------|--------|-------|------:|-----------------------------------|"]
    for domain, want in EXPECTED.items():
        grade = want.get("grade", want.get("max_grade"))
        out.append("| `%s` | %s | %s | %s | %s |" % (
            domain, describe_target(TARGETS[domain]),
            "none" if grade is None else grade,
            "-" if want.get("score") is None else want["score"],
            ", ".join("`%s`" % k for k in sorted(want.get("problems", []))) or "-"))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] == ["table"]:
        sys.stdout.write(markdown_table())
    elif sys.argv[1] == "hostile":
        serve_hostile(*sys.argv[2:])
    elif sys.argv[1] == "sts":
        serve_sts(*sys.argv[2:])
    else:
        sys.exit("usage: probelab.py table | hostile MODE ADDR [CERT KEY] | "
                 "sts ADDR CERT KEY POLICIES")
    sys.exit(0)

# ---- the lab (imported by the tests only from here on)

import harness  # noqa: E402
from dnslab import DnsLab, add_netns, need  # noqa: E402
from harness import describe, run  # noqa: E402
from lab import _signzone, reverse_name  # noqa: E402
from mta import MASTER_CF, Postfix  # noqa: E402

# Postfix as a receiver: smtpd on the target's addresses, port 25; mail
# for the domain is relayed (never: the probe sends no DATA), the known
# recipients in DIR/etc/recipients.
RECEIVER_CF = """
inet_interfaces = {addrs}
inet_protocols = all
myhostname = {mx}
smtpd_banner = $myhostname ESMTP
mynetworks = {mynetworks}
relay_domains = {domain}
relay_recipient_maps = {rcpt_maps}
smtpd_relay_restrictions = {relay}
smtpd_client_restrictions =
smtpd_helo_required = no
disable_vrfy_command = yes
smtpd_tls_loglevel = 1
smtpd_tls_security_level = {tls}
"""
TLS_CF = """
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
"""
# the top grade's server: TLS 1.2 and 1.3 only, forward-secret AEAD only
STRICT_TLS_CF = """
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_ciphers = high
smtpd_tls_exclude_ciphers = aNULL, eNULL, kRSA, SHA1, SHA256, SHA384
"""
CLOSED_RELAY = "permit_mynetworks, reject_unauth_destination"
# SPF checked at RCPT by policyd-spf (postfix-policyd-spf-python), spawned
# per connection with the lab's config (SPF_CONF) instead of the system's
# /etc/postfix-policyd-spf-python; it resolves through the namespace's
# resolv.conf (/etc/netns/NAME, Unbound), as smtpd does.  After the relay
# restrictions: never an open relay.
SPF_CF = """
smtpd_recipient_restrictions = check_policy_service unix:private/policyd-spf
policyd-spf_time_limit = 3600
"""
SPF_MASTER_CF = ("policyd-spf unix  -       n       n       -       0       spawn\n"
                 "  user=nobody argv=/usr/bin/policyd-spf {conf}\n")
# the package's settings, with no debug logging and 10 s for an SPF check
# (RFC 7208's 20 s by default): reject a Fail of the MAIL FROM or HELO
# identity (TestOnly = 1 is "reject", 0 would only log); a sender without
# SPF (None: the probe's own, measure.test has none), a Neutral or a
# Softfail gets through
SPF_CONF = """\
debugLevel = 0
TestOnly = 1
HELO_reject = Fail
Mail_From_reject = Fail
PermError_reject = False
TempError_Defer = False
skip_addresses = 127.0.0.0/8,::ffff:127.0.0.0/104,::1
Lookup_Time = 10
"""
RECIPIENTS = ("postmaster", "abuse", "lab")


class Receiver(Postfix):
    """Postfix receiving on port 25 of ADDRS in namespace NS for DOMAIN,
    VARIANT: good (closed, recipient filtering, TLS 1.2+ with forward-
    secret AEAD suites only), relay (an open relay: the probe's network in
    mynetworks), norcpt (closed, any local part accepted), bad and
    wrongca (closed, recipient filtering; CERT is what is wrong), plain
    (no STARTTLS), spf (good's settings, and SPF checked at RCPT by
    policyd-spf: SPF_CF).  All but good and spf keep Postfix's default
    TLS settings."""

    def __init__(self, ns, d, domain, mx, addrs, variant, cert=None, key=None):
        rcpt_maps = "texthash:{d}/etc/recipients"
        mynetworks = "127.0.0.0/8 [::1]/128"
        relay = CLOSED_RELAY
        tls = "may"
        if variant == "relay":
            # Postfix insists on a reject_unauth_destination: the probe's
            # network in mynetworks makes it an open relay all the same
            mynetworks += " 198.51.100.0/24 [2001:db8:1::]/64"
        elif variant == "norcpt":
            rcpt_maps = ""
        elif variant == "plain":
            tls = "none"
        extra = RECEIVER_CF.format(
            addrs=", ".join("[%s]" % a if ":" in a else a for a in addrs), mx=mx,
            mynetworks=mynetworks, domain=domain, rcpt_maps=rcpt_maps, relay=relay,
            tls=tls)
        if tls != "none":
            extra += TLS_CF.format(cert=cert, key=key)
        if variant in ("good", "spf"):
            extra += STRICT_TLS_CF
        if variant == "spf":
            extra += SPF_CF
        super().__init__(ns, d, extra=extra, hostname=mx)   # {d}: Postfix's

        with open(os.path.join(self.etc, "master.cf"), "a") as f:
            f.write("smtp      inet  n       -       n       -       -       smtpd\n")
            if variant == "spf":
                conf = os.path.join(self.etc, "policyd-spf.conf")
                f.write(SPF_MASTER_CF.format(conf=conf))
                with open(conf, "w") as c:
                    c.write(SPF_CONF)
                os.chmod(conf, 0o644)   # read by policyd-spf as nobody
        with open(os.path.join(self.etc, "recipients"), "w") as f:
            f.writelines("%s@%s OK\n" % (r, domain) for r in RECIPIENTS)


def openssl(*argv, cwd=None):
    cp = run(["openssl"] + list(argv), cwd=cwd)
    assert cp.returncode == 0, describe(cp)
    return cp


class Certs:
    """The lab's CA and certificates, in directory D."""

    def __init__(self, d, cn=CA_CN):
        self.d = d
        os.makedirs(d)
        self.ca = os.path.join(d, "ca.pem")
        self.ca_key = os.path.join(d, "ca.key")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", self.ca_key, "-out", self.ca, "-days", "30",
                "-subj", "/CN=" + cn,
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def leaf(self, name, names, bits=2048):
        """(cert, key) of an RSA leaf for NAMES, signed by the CA."""
        key = os.path.join(self.d, name + ".key")
        csr = os.path.join(self.d, name + ".csr")
        cert = os.path.join(self.d, name + ".pem")
        ext = os.path.join(self.d, name + ".ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,"
                    "keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n"
                    % ",".join("DNS:" + n for n in names))
        openssl("req", "-new", "-newkey", "rsa:%d" % bits, "-nodes", "-keyout", key,
                "-out", csr, "-subj", "/CN=" + names[0])
        openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
                "-CAcreateserial", "-days", "30", "-extfile", ext, "-out", cert)
        os.chmod(key, 0o644)    # read by Postfix's smtpd
        return cert, key

    def self_signed(self, name, names):
        key = os.path.join(self.d, name + ".key")
        cert = os.path.join(self.d, name + ".pem")
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                "-out", cert, "-days", "30", "-subj", "/CN=" + names[0],
                "-addext", "subjectAltName=%s" % ",".join("DNS:" + n for n in names))
        os.chmod(key, 0o644)
        return cert, key

    def huge_chain(self, name, names, copies=10, sans=1500):
        """(chain file, key): a leaf for NAMES followed by COPIES of a
        certificate with SANS names (1500: about 40 kB each)."""
        cert, key = self.leaf(name, names)
        big = os.path.join(self.d, name + "-big.pem")
        cnf = os.path.join(self.d, name + "-big.cnf")
        with open(cnf, "w") as f:
            f.write("[req]\ndistinguished_name=dn\nx509_extensions=ext\nprompt=no\n"
                    "[dn]\nCN=big.%s\n[ext]\nbasicConstraints=critical,CA:TRUE\n"
                    "subjectAltName=@alt\n[alt]\n" % ZONE)
            f.writelines("DNS.%d=n%04d.big.%s\n" % (i + 1, i, ZONE) for i in range(sans))
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", os.path.join(self.d, name + "-big.key"), "-out", big,
                "-days", "30", "-config", cnf)
        chain = os.path.join(self.d, name + "-chain.pem")
        with open(cert) as f:
            text = f.read()
        with open(big) as f:
            text += f.read() * copies
        with open(chain, "w") as f:
            f.write(text)
        return chain, key


def spki_sha256(cert):
    """The SHA-256 of CERT's SubjectPublicKeyInfo, hex (TLSA 3 1 1)."""
    cp = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-pubkey"],
                        capture_output=True, timeout=30)
    assert cp.returncode == 0, cp.stderr
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"],
                         input=cp.stdout, capture_output=True, timeout=30)
    assert der.returncode == 0, der.stderr
    return hashlib.sha256(der.stdout).hexdigest()


def cert_der_sha256(cert):
    cp = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"],
                        capture_output=True, timeout=30)
    assert cp.returncode == 0, cp.stderr
    return hashlib.sha256(cp.stdout).hexdigest()


class ProbeLab(DnsLab):
    """The lab of the module docstring.  After start(): cafile (the CA
    bundle the probe trusts), conf (a demo config for the `mailscope`
    tool: its database receives the probes), certs, daemon (mailscoped,
    the tls13 and tls12 targets)."""

    def __init__(self, name="plab"):
        super().__init__(name, {})
        self.client_ns = self.ns + "c"
        self.root = tempfile.mkdtemp(prefix="ms-probelab-")
        os.chmod(self.root, 0o755)      # Postfix runs as its own user
        self.receivers = []
        self.daemon = None
        self.leaf = {}          # domain -> (cert, key)
        self._client_added = False

    @property
    def etc_netns(self):
        return os.path.join("/etc/netns", self.ns)

    # -- start and stop

    def start(self):
        need("ip", "nsd", "unbound", "dig", "ldns-keygen", "ldns-signzone", "ldns-key2ds",
             "openssl", "postfix", "policyd-spf")
        harness.require_binaries()
        add_netns(self.ns)
        try:
            add_netns(self.client_ns)
            self._client_added = True
            self._network()
            self._certs()
            self._dns_zones()
            self._start(["nsd"], "nsd", "-d", "-c", self._nsd_conf_lab())
            self._start(["unbound"], "unbound", "-d", "-c", self._unbound_lab())
            self._wait_answer()
            self._tool_conf()
            self._targets()
            self._wait_targets()
        except BaseException:
            self.stop(check=False)
            raise
        return self

    def stop(self, check=True):
        """Everything stopped, the namespaces deleted; with CHECK, then
        a mailscoped that did not exit 0 or left a sanitizer report is
        an error."""
        try:
            for r in self.receivers:
                try:
                    r.stop()
                except Exception:   # the others are stopped all the same
                    pass
            if self.daemon is not None:
                try:
                    if self.daemon.running:
                        self.daemon.stop(check=check)
                finally:
                    self.daemon.close()
                    self.daemon = None
        finally:
            self.leave()
            super().stop()      # the Python servers, NSD, Unbound; the core namespace
            if self._client_added:
                run(["ip", "netns", "delete", self.client_ns])
                self._client_added = False
            shutil.rmtree(self.etc_netns, True)

    # -- network

    def _ip(self, ns, *cmds):
        for c in cmds:
            cp = run(["ip", "-n", ns] + c)
            assert cp.returncode == 0, describe(cp)

    def service_addrs(self):
        addrs = {NSD4, NSD6, WEB4, WEB6}
        for t in TARGETS.values():
            addrs.update(a for a in (t["v4"], t["v6"]) if a)
        return addrs

    def _network(self):
        core = [["link", "set", "lo", "up"],
                ["link", "add", "br0", "type", "bridge"],
                ["link", "set", "br0", "up"],
                ["addr", "add", RESOLVER4 + "/24", "dev", "br0"],
                ["addr", "add", RESOLVER6 + "/64", "dev", "br0", "nodad"]]
        for a in sorted(self.service_addrs()):
            core.append(["addr", "add", a + ("/128" if ":" in a else "/32"), "dev", "br0"]
                        + (["nodad"] if ":" in a else []))
        core += [["link", "add", "vp0", "type", "veth", "peer", "name", "eth0",
                  "netns", self.client_ns],
                 ["link", "set", "vp0", "master", "br0"],
                 ["link", "set", "vp0", "up"]]
        self._ip(self.ns, *core)
        self._ip(self.client_ns, ["link", "set", "lo", "up"],
                 ["addr", "add", CLIENT4 + "/24", "dev", "eth0"],
                 ["addr", "add", CLIENT6 + "/64", "dev", "eth0", "nodad"],
                 ["link", "set", "eth0", "up"],
                 ["route", "add", "192.0.2.0/24", "via", RESOLVER4],
                 ["-6", "route", "add", "2001:db8::/64", "via", RESOLVER6])
        # Postfix's smtpd in the core looks the client's name up there
        os.makedirs(self.etc_netns, exist_ok=True)
        with open(os.path.join(self.etc_netns, "resolv.conf"), "w") as f:
            f.write("nameserver %s\noptions trust-ad\n" % RESOLVER4)

    # -- certificates

    def _certs(self):
        self.certs = Certs(os.path.join(self.root, "certs"))
        for domain, t in TARGETS.items():
            c = t.get("cert")
            if t.get("mode") == "hugechain":
                self.leaf[domain] = self.certs.huge_chain(domain, [t["mx"]])
            elif t.get("mode") == "longchain":
                self.leaf[domain] = self.certs.huge_chain(domain, [t["mx"]], copies=30,
                                                          sans=1)
            elif c == "ca":
                self.leaf[domain] = self.certs.leaf(domain, [t["mx"]])
            elif c == "other":
                # a CA of its own, trusted by nobody; a name that is not the MX's
                other = Certs(os.path.join(self.root, "certs-other"), "untrusted lab CA")
                self.leaf[domain] = other.leaf(domain, ["mail.elsewhere." + ZONE])
            elif c == "self":
                self.leaf[domain] = self.certs.self_signed(domain, [t["mx"]])
        self.sts_cert = self.certs.leaf(
            "mta-sts", ["mta-sts." + d for d, t in TARGETS.items() if t["sts"]])
        # the probe trusts the lab's CA and the harness's (mailscoped's hosts)
        self.cafile = os.path.join(self.root, "trusted.pem")
        with open(self.cafile, "w") as out:
            for ca in (self.certs.ca, os.path.join(harness._cert_cache(), "ca.pem")):
                with open(ca) as f:
                    out.write(f.read())

    # -- DNS

    def _zone_records(self, zone):
        """The records of TARGETS whose domain is under ZONE."""
        out = ""
        for domain, t in TARGETS.items():
            if not domain.endswith("." + zone):
                continue
            if t["kind"] == "dns":
                out += "%s. 3600 IN MX 0 .\n" % domain
                continue
            mx = t["mx"] + "."
            out += "%s. 3600 IN MX 10 %s\n" % (domain, mx)
            if t["v4"]:
                out += "%s 3600 IN A %s\n" % (mx, t["v4"])
            if t["v6"]:
                out += "%s 3600 IN AAAA %s\n" % (mx, t["v6"])
            if t["tlsa"]:
                data = (spki_sha256(self.leaf[domain][0]) if t["tlsa"] == "match"
                        else hashlib.sha256(domain.encode()).hexdigest())
                out += "_25._tcp.%s 3600 IN TLSA 3 1 1 %s\n" % (mx, data)
            if t["sts"]:
                out += ('_mta-sts.%s. 3600 IN TXT "v=STSv1; id=20261207T000000"\n'
                        "mta-sts.{d}. 3600 IN A {a4}\nmta-sts.{d}. 3600 IN AAAA {a6}\n"
                        % domain).format(d=domain, a4=WEB4, a6=WEB6)
            # every domain publishes SPF, DMARC and TLS-RPT: the grades
            # show what its server does
            out += ('{d}. 3600 IN TXT "v=spf1 mx -all"\n'
                    '_dmarc.{d}. 3600 IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@{d}"\n'
                    '_smtp._tls.{d}. 3600 IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@{d}"\n'
                    ).format(d=domain)
        return out

    def sts_policies(self):
        out = {}
        for domain, t in TARGETS.items():
            if t["sts"]:
                mx = t["mx"] if t["sts"] == "match" else "mx.elsewhere." + ZONE
                out["mta-sts." + domain] = ("version: STSv1\r\nmode: enforce\r\nmx: %s\r\n"
                                            "max_age: 86400\r\n" % mx)
        return out

    def _dns_zones(self):
        d = os.path.join(self.root, "dns")
        os.mkdir(d)
        soa = "{z} 3600 IN SOA ns.test. hostmaster.test. 1 3600 600 86400 60\n"
        ns = "ns.test. 3600 IN A %s\nns.test. 3600 IN AAAA %s\n" % (NSD4, NSD6)
        children = []
        # the probe's sender is at the tool's base_domain (measure.test),
        # its SPF check's at spf-deny.<base> (mailscope zones publishes it)
        for zone, extra in ((ZONE, "%s. 3600 IN A %s\n%s. 3600 IN AAAA %s\n" % (
                CLIENT_NAME, CLIENT4, CLIENT_NAME, CLIENT6)),
                            (MEASURE, 'spf-deny.%s. 3600 IN TXT "v=spf1 -all"\n' % MEASURE)):
            text = (soa.format(z=zone + ".") + "%s. 3600 IN NS ns.test.\n" % zone + extra
                    + self._zone_records(zone))
            signed, ds = _signzone(d, zone + ".", text)
            children.append((zone, signed, ds))
        test = soa.format(z="test.") + "test. 3600 IN NS ns.test.\n" + ns
        for zone, _, ds in children:
            test += "%s. 3600 IN NS ns.test.\n%s\n" % (zone, ds)
        test_signed, test_ds = _signzone(d, "test.", test)
        arpa = soa.format(z="arpa.") + "arpa. 3600 IN NS ns.test.\n"
        for a in (CLIENT4, CLIENT6):
            arpa += "%s 3600 IN PTR %s.\n" % (reverse_name(a), CLIENT_NAME)
        for t in TARGETS.values():
            if t["ptr"]:
                for a in (t["v4"], t["v6"]):
                    if a:
                        arpa += "%s 3600 IN PTR %s.\n" % (reverse_name(a), t["mx"])
        arpa_signed, arpa_ds = _signzone(d, "arpa.", arpa)
        root = (". 86400 IN SOA ns.root-lab. hostmaster.root-lab. 1 3600 600 86400 60\n"
                ". 86400 IN NS ns.root-lab.\n"
                "ns.root-lab. 86400 IN A %s\nns.root-lab. 86400 IN AAAA %s\n"
                "test. 86400 IN NS ns.test.\n" % (NSD4, NSD6) + ns + test_ds + "\n"
                + "arpa. 86400 IN NS ns.test.\n" + arpa_ds + "\n")
        root_signed, root_ds = _signzone(d, ".", root)
        self.root_anchor = os.path.join(d, "root.ds")
        with open(self.root_anchor, "w") as f:
            f.write(root_ds + "\n")
        self.root_hints = os.path.join(d, "root.hints")
        with open(self.root_hints, "w") as f:
            f.write(". 3600000 NS ns.root-lab.\nns.root-lab. 3600000 A %s\n"
                    "ns.root-lab. 3600000 AAAA %s\n" % (NSD4, NSD6))
        self.lab_zones = [(".", root_signed), ("test", test_signed), ("arpa", arpa_signed)]
        self.lab_zones += [(z, s) for z, s, _ in children]

    def _nsd_conf_lab(self):
        conf = self._write_conf(
            "nsd", "nsd.conf",
            'server:\n\tusername: ""\n\tchroot: ""\n\tdatabase: ""\n'
            '\tzonesdir: "{d}"\n\tzonelistfile: "{d}/zone.list"\n'
            '\txfrdfile: "{d}/xfrd.state"\n\txfrdir: "{d}"\n'
            '\tpidfile: "{d}/nsd.pid"\n\tlogfile: "{d}/nsd.log"\n'
            '\tip-address: {n4}\n\tip-address: {n6}\n'
            '\tport: 53\n\tserver-count: 1\n\tverbosity: 1\n'
            'remote-control:\n\tcontrol-enable: no\n', n4=NSD4, n6=NSD6)
        with open(conf, "a") as f:
            for name, path in self.lab_zones:
                f.write('zone:\n\tname: "%s"\n\tzonefile: "%s"\n' % (name, path))
        return conf

    def _unbound_lab(self):
        return self._write_conf(
            "unbound", "unbound.conf",
            'server:\n\tinterface: {r4}@53\n\tinterface: {r6}@53\n'
            '\taccess-control: 0.0.0.0/0 allow\n'
            '\taccess-control: ::/0 allow\n\tusername: ""\n'
            '\tchroot: ""\n\tdirectory: "{d}"\n\tpidfile: "{d}/unbound.pid"\n'
            '\tlogfile: "{d}/unbound.log"\n\tuse-syslog: no\n'
            '\tdo-daemonize: no\n\tnum-threads: 1\n\tdo-ip4: yes\n'
            '\tdo-ip6: yes\n\troot-hints: "{hints}"\n'
            '\tmodule-config: "validator iterator"\n'
            '\ttrust-anchor-file: "{anchor}"\n'
            '\tlocal-zone: "test." nodefault\n'
            # Unbound answers the documentation prefixes' reverse zones itself
            '\tlocal-zone: "2.0.192.in-addr.arpa." nodefault\n'
            '\tlocal-zone: "100.51.198.in-addr.arpa." nodefault\n'
            '\tlocal-zone: "8.b.d.0.1.0.0.2.ip6.arpa." nodefault\n'
            '\tval-log-level: 2\n\tverbosity: 1\n'
            'remote-control:\n\tcontrol-enable: no\n',
            r4=RESOLVER4, r6=RESOLVER6, hints=self.root_hints, anchor=self.root_anchor)

    def dig(self, name, rtype, *opts, server=RESOLVER4):
        """dig in the client namespace: (status, flags, answer rows, cp)."""
        import re
        cp = run(["ip", "netns", "exec", self.client_ns, "dig", "+dnssec", "+tries=1",
                  "+time=2", "@" + server, name, rtype] + list(opts), timeout=30)
        status = re.search(r"status: (\w+)", cp.stdout)
        flags = re.search(r"^;; flags: ([^;]*);", cp.stdout, re.M)
        answer = [l.split() for l in cp.stdout.splitlines()
                  if l and not l.startswith(";") and len(l.split()) > 4]
        return (status.group(1) if status else None,
                flags.group(1).split() if flags else [], answer, cp)

    def _wait_answer(self):
        end = time.monotonic() + harness.deadline(15)
        while True:
            status, _, _, cp = self.dig("good." + ZONE, "MX")
            if status == "NOERROR":
                return
            if time.monotonic() > end or any(p.poll() is not None for p, _ in self.procs):
                raise AssertionError("no answer from Unbound\n%s\n%s"
                                     % (describe(cp), self.logs()))
            time.sleep(0.1)

    # -- the targets

    def _tool_conf(self):
        """A demo config for `mailscope probe` (hostname, database)."""
        d = os.path.join(self.root, "tool")
        os.mkdir(d)
        shutil.copytree(harness._cert_cache(), os.path.join(d, "certs"))
        cp = run([harness.MAILSCOPE, "demo-config", "--out", d, "--base-port",
                  str(harness.pick_base_port())])
        assert cp.returncode == 0, describe(cp)
        self.conf = os.path.join(d, "mailscope.conf")
        self.database = os.path.join(d, "mailscope.db")

    def _targets(self):
        with open(os.path.join(self.root, "sts.json"), "w") as f:
            json.dump(self.sts_policies(), f)
        me = os.path.join(HERE, "probelab.py")
        for i, web in enumerate((WEB4, WEB6)):
            self._start(["sts%d" % i], sys.executable, "-B", me, "sts", web,
                        self.sts_cert[0], self.sts_cert[1],
                        os.path.join(self.root, "sts.json"))
        for domain, t in TARGETS.items():
            if t["kind"] == "hostile":
                cert = list(self.leaf.get(domain, ()))
                self._start(["hostile-" + t["mode"]], sys.executable, "-B", me, "hostile",
                            t["mode"], t["v4"], *cert)
            elif t["kind"] == "postfix":
                d = os.path.join(self.root, "postfix-" + t["variant"])
                os.mkdir(d)
                os.chmod(d, 0o755)
                cert, key = self.leaf.get(domain, (None, None))
                r = Receiver(self.ns, d, domain, t["mx"],
                             [a for a in (t["v4"], t["v6"]) if a], t["variant"], cert, key)
                self.receivers.append(r)
                r.start()
        # mailscoped: its tls13 and tls12 hosts on their targets' addresses
        self.daemon = harness.Daemon("probelab")
        for domain, t in TARGETS.items():
            if t["kind"] == "mailscoped":
                self.daemon.set_option("host " + t["host"], "listen", "%s:25" % t["v4"])
        self.enter()
        self.daemon.start()

    def _wait_targets(self):
        """Every target's port 25 (and 443) accepts from the client namespace."""
        pending = [(a, 25) for a in self.service_addrs() - {NSD4, NSD6, WEB4, WEB6}]
        pending += [(WEB4, 443), (WEB6, 443)]
        script = ("import socket,sys\nfor a in sys.argv[1:]:\n"
                  " h,p=a.rsplit(':',1)\n"
                  " try: socket.create_connection((h,int(p)),1).close()\n"
                  " except OSError: print(a)\n")
        end = time.monotonic() + harness.deadline(15)
        while pending:
            cp = self.client(sys.executable, "-c", script,
                             *["%s:%d" % (a, p) for a, p in pending])
            pending = [(a, int(p)) for a, p in (l.rsplit(":", 1)
                                                for l in cp.stdout.split())]
            if not pending:
                return
            if time.monotonic() > end:
                raise AssertionError("targets not listening: %s\n%s"
                                     % (pending, self.logs()))
            time.sleep(0.1)

    def client(self, *argv, timeout=60, env=None, input=None):
        """ARGV in the client namespace (where the probe runs)."""
        return run(["ip", "netns", "exec", self.client_ns] + list(argv), timeout=timeout,
                   env=env, input=input)

    def logs(self):
        out = [super().logs()]
        for r in self.receivers:
            out.append("--- %s\n%s" % (r.dir, r.log()[-3000:]))
        if self.daemon is not None:
            out.append(self.daemon.log_tail())
        return "\n".join(out)
