"""The ClientHello as recorded (RFC 8446 4.1.2, 4.2): hand-built hellos
sent after STARTTLS, so that every byte the daemon parses is ours --
groups it does not know (X25519MLKEM768, an unassigned codepoint), the
order of the suites, ALPN and SNI -- and hellos that fail: no shared
group, malformed extensions."""

import os
import struct
import unittest

from harness import DaemonTestCase, mx_name

# TLS codepoints used below (IANA TLS parameters registries, 2025).
TLS12, TLS13 = 0x0303, 0x0304
X25519 = 29                     # RFC 8446 4.2.7
X25519MLKEM768 = 0x11ec         # 4588, draft-ietf-tls-ecdhe-mlkem
UNKNOWN_GROUP = 0x1a2a          # 6698, unassigned
# not OpenSSL's default order, so that the recorded order is visibly ours
TLS13_SUITES = [0x1303, 0x1301, 0x1302]     # ChaCha20, AES-128-GCM, AES-256-GCM
TLS12_SUITES = [0xc02c, 0xc030, 0xc02b, 0xc02f]   # ECDHE-{ECDSA,RSA}-AES-GCM
SIGALGS = [0x0403, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0503, 0x0603]
ALPN = "smtp-test"

EXT_SERVER_NAME = 0
EXT_SUPPORTED_GROUPS = 10
EXT_SIGNATURE_ALGORITHMS = 13
EXT_ALPN = 16
EXT_SUPPORTED_VERSIONS = 43
EXT_PSK_MODES = 45
EXT_KEY_SHARE = 51

REC_ALERT, REC_HANDSHAKE = 21, 22
HS_SERVER_HELLO = 2
# RFC 8446 4.1.3: the random of a HelloRetryRequest
HRR_RANDOM = bytes.fromhex(
    "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
# RFC 8446 6.2
ALERT_NAMES = {40: "handshake_failure", 47: "illegal_parameter", 50: "decode_error",
               70: "protocol_version", 71: "insufficient_security", 80: "internal_error",
               109: "missing_extension"}


def u8(n):
    return struct.pack("!B", n)


def u16(n):
    return struct.pack("!H", n)


def vec8(b):
    return u8(len(b)) + b


def vec16(b):
    return u16(len(b)) + b


def ext(typ, body):
    return u16(typ) + vec16(body)


def groups_ext(groups):
    return ext(EXT_SUPPORTED_GROUPS, vec16(b"".join(u16(g) for g in groups)))


def sni_ext(name):
    # RFC 6066 3: server_name_list of (name_type host_name(0), HostName)
    return ext(EXT_SERVER_NAME, vec16(u8(0) + vec16(name.encode())))


def alpn_ext(protocols):
    # RFC 7301 3.1
    return ext(EXT_ALPN, vec16(b"".join(vec8(p.encode()) for p in protocols)))


def versions_ext(versions):
    return ext(EXT_SUPPORTED_VERSIONS, vec8(b"".join(u16(v) for v in versions)))


def sigalgs_ext(algs):
    return ext(EXT_SIGNATURE_ALGORITHMS, vec16(b"".join(u16(a) for a in algs)))


def key_share_ext(shares):
    # RFC 8446 4.2.8: client_shares of (group, key_exchange<1..2^16-1>)
    return ext(EXT_KEY_SHARE, vec16(b"".join(u16(g) + vec16(k) for g, k in shares)))


def psk_modes_ext():
    return ext(EXT_PSK_MODES, vec8(u8(1)))      # psk_dhe_ke


def client_hello(suites, extensions):
    """One TLS record holding a ClientHello with SUITES and the extension
    block EXTENSIONS (bytes, framed by the caller, so it may be broken)."""
    body = (u16(TLS12)                         # legacy_version
            + os.urandom(32)                   # random
            + vec8(os.urandom(32))             # legacy_session_id (compat mode)
            + vec16(b"".join(u16(s) for s in suites))
            + vec8(b"\x00")                    # legacy_compression_methods: null
            + vec16(extensions))
    hs = u8(1) + struct.pack("!I", len(body))[1:] + body
    return u8(REC_HANDSHAKE) + u16(0x0301) + vec16(hs)


def hex_list(codes):
    """As ch_ciphers / ch_versions hold them: '0x1302,0x1303'."""
    return ",".join("0x%04x" % c for c in codes)


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        try:
            chunk = sock.recv(n - len(data))
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


def read_record(sock):
    """(content type, fragment) of the next TLS record."""
    typ, ver, n = struct.unpack("!BHH", recv_exact(sock, 5))
    if ver >> 8 != 3:
        raise AssertionError("not a TLS record: type %d version 0x%04x" % (typ, ver))
    return typ, recv_exact(sock, n)


def parse_server_hello(msg):
    """A ServerHello handshake message -> {'random', 'suite', 'extensions'}."""
    if msg[0] != HS_SERVER_HELLO:
        raise AssertionError("first handshake message is type %d, not ServerHello"
                             % msg[0])
    n = int.from_bytes(msg[1:4], "big")
    b = msg[4:4 + n]
    random_ = b[2:34]
    sid_len = b[34]
    i = 35 + sid_len
    suite = struct.unpack("!H", b[i:i + 2])[0]
    i += 3                              # suite, legacy_compression_method
    ext_end = i + 2 + struct.unpack("!H", b[i:i + 2])[0]
    i += 2
    exts = {}
    while i < ext_end:
        typ, ln = struct.unpack("!HH", b[i:i + 4])
        exts[typ] = b[i + 4:i + 4 + ln]
        i += 4 + ln
    return {"random": random_, "suite": suite, "extensions": exts}


class ClientHelloRecorded(DaemonTestCase):

    def send_hello(self, hello, host="open"):
        """EHLO, STARTTLS, 220, then HELLO as raw bytes.  Returns the
        session (still open) with the socket as the TLS layer sees it."""
        c = self.d.smtp(host)
        c.ehlo()
        self.assertReply(c.cmd("STARTTLS"), 220, "2.0.0")
        self.assertEqual(c.buf, b"", "cleartext after the 220 to STARTTLS")
        c.send(hello)
        return c

    def read_server_hello(self, c):
        typ, frag = read_record(c.sock)
        if typ == REC_ALERT:
            self.fail("server answered the ClientHello with alert %s"
                      % ALERT_NAMES.get(frag[1], frag[1]))
        self.assertEqual(typ, REC_HANDSHAKE)
        return parse_server_hello(frag)

    def read_alert(self, c):
        """The server's answer must be a fatal alert; its name."""
        typ, frag = read_record(c.sock)
        self.assertEqual(typ, REC_ALERT, "expected an alert, got record type %d %r"
                         % (typ, frag[:16]))
        self.assertEqual(frag[0], 2, "alert not fatal: %r" % frag)
        return ALERT_NAMES.get(frag[1], str(frag[1]))

    def assertAlive(self):
        """A normal handshake still works: the daemon survived."""
        with self.d.smtp("open") as c:
            c.ehlo()
            c.starttls(self.d.tls_context(), mx_name("v4"))
            c.ehlo()
            c.quit()
        self.assertEqual(self.d.connection(c)["tls_established"], 1)

    def good_extensions(self, groups, shares, versions=(TLS13, TLS12)):
        return (sni_ext(mx_name("v4"))
                + groups_ext(groups)
                + sigalgs_ext(SIGALGS)
                + alpn_ext([ALPN])
                + versions_ext(versions)
                + psk_modes_ext()
                + key_share_ext(shares))

    def test_post_quantum_and_unknown_groups_recorded_as_offered(self):
        """supported_groups X25519MLKEM768, x25519, unassigned 0x1a2a:
        kept as numbers in the order offered; x25519 is negotiated."""
        groups = [X25519MLKEM768, X25519, UNKNOWN_GROUP]
        suites = TLS13_SUITES + TLS12_SUITES
        hello = client_hello(suites, self.good_extensions(groups, [(X25519, os.urandom(32))]))
        with self.send_hello(hello) as c:
            sh = self.read_server_hello(c)
        self.assertNotEqual(sh["random"], HRR_RANDOM, "HelloRetryRequest, not ServerHello")
        self.assertEqual(sh["extensions"].get(EXT_SUPPORTED_VERSIONS), u16(TLS13))
        self.assertEqual(sh["extensions"].get(EXT_KEY_SHARE, b"")[:2], u16(X25519))
        # docs/tls-profiles.md: the client's preference decides
        self.assertEqual(sh["suite"], TLS13_SUITES[0])
        conn = self.d.connection(c)
        expected = {
            "host": "open", "starttls": 1,
            "ch_groups": "4588,29,6698",      # decimal, unknown ones kept
            "ch_versions": "0x0304,0x0303",
            "ch_alpn": ALPN,
            "tls_sni": mx_name("v4"),
            "ch_ciphers": hex_list(suites),
            "ch_sigalgs": hex_list(SIGALGS),
            # we hung up after the ServerHello, without our Finished
            "tls_established": 0, "end_reason": "tls-failed",
            "tls_alert_received": None,
        }
        self.assertEqual({k: conn[k] for k in expected}, expected)

    def test_long_offer_lists_are_capped(self):
        """A ClientHello may offer thousands of suites and groups: the
        record keeps the first 256 and marks the rest with "...". """
        junk = list(range(0x7000, 0x7000 + 400))      # unassigned codepoints
        suites = TLS13_SUITES + junk
        groups = [X25519] + junk
        hello = client_hello(suites, self.good_extensions(groups, [(X25519, os.urandom(32))]))
        with self.send_hello(hello) as c:
            self.read_server_hello(c)
        conn = self.d.connection(c)
        self.assertEqual(conn["ch_ciphers"], hex_list(suites[:256]) + ",...")
        self.assertEqual(conn["ch_groups"],
                         ",".join(str(g) for g in groups[:256]) + ",...")

    def test_no_shared_group_fails_and_keeps_the_hello(self):
        """Only an unassigned group and no key share: the server cannot
        agree on a group (RFC 8446 4.2.8: handshake_failure), and the row
        still has what was offered and why it failed."""
        suites = TLS13_SUITES
        hello = client_hello(suites, self.good_extensions([UNKNOWN_GROUP], [],
                                                          versions=(TLS13,)))
        with self.send_hello(hello) as c:
            alert = self.read_alert(c)
            c.expect_eof()
        self.assertEqual(alert, "handshake_failure")
        conn = self.d.connection(c)
        expected = {
            "ch_groups": "6698", "ch_versions": "0x0304", "ch_alpn": ALPN,
            "ch_ciphers": hex_list(suites), "tls_sni": mx_name("v4"),
            "tls_established": 0, "end_reason": "tls-failed",
            "tls_alert_sent": "handshake_failure", "tls_alert_received": None,
        }
        self.assertEqual({k: conn[k] for k in expected}, expected)
        self.assertIn("key share", conn["tls_error"] or "",
                      "OpenSSL's reason not recorded: %r" % conn["tls_error"])
        self.assertNoTransaction(conn["id"])
        self.assertAlive()

    def check_malformed(self, extensions, alerts, groups_recorded):
        """The hello with the extension block EXTENSIONS is refused with
        one of ALERTS; the row holds what could be read and ends as
        tls-failed.  GROUPS_RECORDED: the acceptable ch_groups."""
        suites = TLS13_SUITES + TLS12_SUITES
        with self.send_hello(client_hello(suites, extensions)) as c:
            alert = self.read_alert(c)
            c.expect_eof()
        self.assertIn(alert, alerts)
        conn = self.d.connection(c)
        self.assertEqual((conn["starttls"], conn["tls_established"], conn["end_reason"],
                          conn["tls_alert_sent"]), (1, 0, "tls-failed", alert))
        self.assertTrue(conn["tls_error"], "OpenSSL's reason not recorded: %r" % conn)
        self.assertIn(conn["ch_groups"], groups_recorded)
        self.assertNoTransaction(conn["id"])
        self.assertAlive()
        return conn

    def test_truncated_supported_groups_list_recorded_and_refused(self):
        """supported_groups whose list length (8) runs past the extension
        (4 bytes of groups): everything else of the hello is recorded."""
        share = [(X25519, os.urandom(32))]
        bad_groups = ext(EXT_SUPPORTED_GROUPS, u16(8) + u16(X25519MLKEM768) + u16(X25519))
        exts = (sni_ext(mx_name("v4")) + bad_groups + sigalgs_ext(SIGALGS)
                + alpn_ext([ALPN]) + versions_ext([TLS13, TLS12]) + psk_modes_ext()
                + key_share_ext(share))
        conn = self.check_malformed(exts, ("decode_error",),
                                    (None, "", "4588,29"))
        # read before OpenSSL's own parse: the rest of the hello is there
        self.assertEqual((conn["ch_versions"], conn["ch_alpn"], conn["tls_sni"],
                          conn["ch_ciphers"], conn["ch_sigalgs"]),
                         ("0x0304,0x0303", ALPN, mx_name("v4"),
                          hex_list(TLS13_SUITES + TLS12_SUITES), hex_list(SIGALGS)))

    def test_odd_length_supported_groups_refused(self):
        """A group list of 5 bytes: half a codepoint at the end."""
        share = [(X25519, os.urandom(32))]
        bad_groups = ext(EXT_SUPPORTED_GROUPS, vec16(u16(X25519) + u16(23) + b"\x00"))
        exts = (sni_ext(mx_name("v4")) + bad_groups + sigalgs_ext(SIGALGS)
                + versions_ext([TLS13, TLS12]) + key_share_ext(share))
        self.check_malformed(exts, ("decode_error",), (None, "", "29,23"))

    def test_extension_overrunning_the_block_refused(self):
        """supported_groups whose own length runs past the extension
        block: OpenSSL refuses the framing before any extension is read,
        so only the failure can be recorded."""
        share = [(X25519, os.urandom(32))]
        exts = (sni_ext(mx_name("v4")) + versions_ext([TLS13, TLS12])
                + key_share_ext(share)
                + u16(EXT_SUPPORTED_GROUPS) + u16(40) + vec16(u16(X25519)))
        self.check_malformed(exts, ("decode_error",), (None, ""))


if __name__ == "__main__":
    unittest.main()
