"""Bounded input: message size (RFC 1870), line length (RFC 5321
4.5.3.1), recipients per transaction, errors per session."""

import time
import unittest

import harness
from harness import DaemonTestCase, dot_stuff, make_message
from test_smtp import keywords

MAX_SIZE = 2048
LINE_MAX = 512          # incl. CRLF
MAX_RCPT = 3
MAX_ERRORS = 5


def padded_to(msg, size):
    """MSG with lines of x appended to its body so that the whole message
    is SIZE octets."""
    need = size - len(msg)
    assert need >= 3
    filler = b""
    while need > 0:
        n = min(need, 80)
        if need - n in (1, 2):          # keep every line at least "x\r\n"
            n -= 3
        filler += b"x" * (n - 2) + b"\r\n"
        need -= n
    out = msg + filler
    assert len(out) == size, (len(out), size)
    return out


class MessageLimits(DaemonTestCase):
    options = [
        ("global", "max_message_size", str(MAX_SIZE)),
        ("global", "line_max", str(LINE_MAX)),
        ("global", "max_recipients", str(MAX_RCPT)),
        ("global", "max_errors", str(MAX_ERRORS)),
    ]

    def setUp(self):
        self.t = self.new_test()
        self.to = self.d.address(self.t, "plain")

    def transactions(self, c):
        conn = self.d.connection(c)
        return conn, self.d.query("SELECT * FROM transactions WHERE connection_id = ?",
                                  (conn["id"],))

    def start_data(self, c):
        self.assertReply(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
        self.assertReply(c.cmd("RCPT TO:<%s>" % self.to), 250, "2.1.5")
        self.assertReply(c.cmd("DATA"), 354)

    def check_latched_line_error(self, data, end):
        """After DATA, the bytes DATA get no reply (the overlong line is
        latched); then END: 500 5.5.2 after the final dot, no
        transaction, and the session goes on."""
        with self.d.smtp("plain") as c:
            c.ehlo()
            self.start_data(c)
            c.send(data)
            c.settimeout(0.3)
            with self.assertRaises(AssertionError):
                c.read_reply()
            c.settimeout(5)
            c.send(end)
            self.assertReply(c.read_reply(), 500, "5.5.2")
            self.assertReply(c.cmd("NOOP"), 250, "2.0.0")
            c.quit()
        _, txns = self.transactions(c)
        self.assertEqual(txns, [])

    def fill_recipients(self, c):
        """EHLO, MAIL and MAX_RCPT accepted RCPTs on the open host; returns
        the test's addresses, one more than the limit."""
        rcpts = [self.d.address(self.t, challenge=ch) for ch in ("v4", "v6", "uniq", "dns")]
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
        for a in rcpts[:MAX_RCPT]:
            self.assertReply(c.cmd("RCPT TO:<%s>" % a), 250, "2.1.5")
        return rcpts

    def test_ehlo_advertises_size_limit(self):
        with self.d.smtp("plain") as c:
            self.assertEqual(keywords(c.ehlo()).get("SIZE"), [str(MAX_SIZE)])
            c.quit()

    def test_mail_size_parameter_over_limit(self):
        with self.d.smtp("plain") as c:
            c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<a@example.org> SIZE=%d" % (MAX_SIZE + 1)),
                             552, "5.3.4")
            self.assertReply(c.cmd("MAIL FROM:<a@example.org> SIZE=%d" % MAX_SIZE),
                             250, "2.1.0")
            c.quit()

    def test_message_at_limit_accepted(self):
        """RFC 1870: the size counts every octet incl. CRLFs, after
        unstuffing, without the final dot line."""
        msg = padded_to(make_message(self.to, body=b"..dot\r\n"), MAX_SIZE)
        with self.d.smtp("plain") as c:
            c.ehlo()
            self.assertReply(c.send_mail("a@example.org", [self.to], msg), 250, "2.0.0")
            c.quit()
        _, txns = self.transactions(c)
        self.assertEqual([t["size"] for t in txns], [MAX_SIZE])

    def test_message_over_limit_refused_after_final_dot(self):
        big = padded_to(make_message(self.to), MAX_SIZE + 1)
        small = make_message(self.to, subject="small")
        with self.d.smtp("plain") as c:
            c.ehlo()
            self.start_data(c)
            c.send(dot_stuff(big))
            self.assertReply(c.read_reply(), 552, "5.3.4")
            # the session goes on; the next transaction is fine
            self.assertReply(c.cmd("NOOP"), 250, "2.0.0")
            self.assertReply(c.send_mail("a@example.org", [self.to], small), 250, "2.0.0")
            c.quit()
        conn, txns = self.transactions(c)
        self.assertEqual([t["size"] for t in txns], [len(small)])
        self.assertEqual(conn["transactions"], 1)

    def test_much_larger_message_still_read_to_the_end(self):
        """Far over the limit: no early reply, no close; 552 after the dot."""
        body = (b"y" * 70 + b"\r\n") * 2000           # ~144 kB
        msg = make_message(self.to, body=body)
        with self.d.smtp("plain") as c:
            c.ehlo()
            self.start_data(c)
            c.send(dot_stuff(msg))
            self.assertReply(c.read_reply(), 552, "5.3.4")
            c.quit()
        _, txns = self.transactions(c)
        self.assertEqual(txns, [])

    def test_command_line_at_limit_accepted(self):
        line = b"NOOP " + b"a" * (LINE_MAX - 2 - 5)
        self.assertEqual(len(line) + 2, LINE_MAX)
        with self.d.smtp("plain") as c:
            c.ehlo()
            self.assertReply(c.cmd(line), 250, "2.0.0")
            c.quit()

    def test_overlong_command_line_refused_at_once(self):
        """Over the limit without a CRLF: 500 5.5.2 as soon as the limit is
        passed, not after waiting for the end of the line."""
        with self.d.smtp("plain") as c:
            c.ehlo()
            c.send(b"NOOP " + b"a" * (LINE_MAX + 100))
            t0 = time.monotonic()
            r = c.read_reply()
            self.assertReply(r, 500, "5.5.2")
            self.assertLess(time.monotonic() - t0, harness.deadline(3))
        conn = self.d.connection(c)
        self.assertIn(conn["end_reason"], ("line-too-long", "disconnect"))

    def test_command_line_one_over_limit_refused(self):
        line = b"NOOP " + b"a" * (LINE_MAX - 2 - 5 + 1)
        with self.d.smtp("plain") as c:
            c.ehlo()
            c.send(line + b"\r\n")
            self.assertReply(c.read_reply(), 500, "5.5.2")

    def test_overlong_data_line_latched_until_final_dot(self):
        body = b"short\r\n" + b"z" * (LINE_MAX + 50) + b"\r\nafter\r\n"
        msg = make_message(self.to, body=body)
        self.assertLess(len(msg), MAX_SIZE)
        self.check_latched_line_error(dot_stuff(msg)[:-3], b".\r\n")

    def test_dot_after_an_overlong_line_ended_by_bare_lf_is_content(self):
        """SMTP smuggling through a dropped line: "<long>\n.\r\n" must not
        end DATA (the dot follows a bare LF); only CRLF . CRLF does."""
        self.check_latched_line_error(b"z" * (LINE_MAX + 50) + b"\n.\r\nNOOP\r\n",
                                      b"\r\n.\r\n")

    def test_overlong_data_line_whose_crlf_is_split_across_reads(self):
        """The CR of a dropped line's CRLF ends one read, its LF begins the
        next: still a CRLF, so the final dot after it ends DATA (issue 15:
        the fuzz helper found the dot taken as content, no reply)."""
        msg = make_message(self.to, body=b"short\r\n")
        head = dot_stuff(msg)[:-3]
        self.check_latched_line_error(head + b"z" * (LINE_MAX + 50) + b"\r",
                                      b"\n.\r\n")

    def test_data_line_at_limit_accepted(self):
        body = b"w" * (LINE_MAX - 2) + b"\r\n"
        msg = make_message(self.to, body=body)
        with self.d.smtp("plain") as c:
            c.ehlo()
            self.assertReply(c.send_mail("a@example.org", [self.to], msg), 250, "2.0.0")
            c.quit()
        _, txns = self.transactions(c)
        self.assertEqual(len(txns), 1)

    def test_too_many_recipients(self):
        tid = self.t["id"]
        with self.d.smtp("open") as c:
            rcpts = self.fill_recipients(c)
            self.assertReply(c.cmd("RCPT TO:<%s>" % rcpts[MAX_RCPT]), 452, "4.5.3")
            self.assertReply(c.cmd("DATA"), 354)
            c.send(dot_stuff(make_message(rcpts[0])))
            self.assertReply(c.read_reply(), 250, "2.0.0")
            c.quit()
        conn = self.d.connection(c)
        rows = self.d.query("SELECT r.address, r.test_id FROM recipients r JOIN transactions t "
                            "ON t.id = r.transaction_id WHERE t.connection_id = ? ORDER BY r.id",
                            (conn["id"],))
        self.assertEqual(rows, [{"address": a, "test_id": tid} for a in rcpts[:MAX_RCPT]])

    def test_too_many_errors_closes_session(self):
        with self.d.smtp("plain") as c:
            c.ehlo()
            codes = []
            for _ in range(MAX_ERRORS + 2):
                try:
                    r = c.cmd("XYZZY")
                except (EOFError, BrokenPipeError, ConnectionResetError):
                    break
                codes.append((r.code, r.status))
                if r.code == 421:
                    break
            self.assertEqual(codes[-1], (421, "4.7.0"), codes)
            self.assertIn(codes.count((500, "5.5.1")), (MAX_ERRORS - 1, MAX_ERRORS), codes)
            c.expect_eof()
        conn = self.d.connection(c)
        self.assertEqual(conn["end_reason"], "errors")

    def test_the_last_error_an_unknown_test_ends_the_session_cleanly(self):
        """The refusal that reaches max_errors answers a RCPT that waited
        for the test's lookup (the session fuzz target's finding: the
        session was written to after that refusal had freed it): 550
        5.1.1, 421 4.7.0, the end, and the daemon serves on."""
        unknown = self.to.replace(self.t["id"], self.t["id"][::-1])
        with self.d.smtp("plain") as c:
            c.ehlo()
            for _ in range(MAX_ERRORS - 1):
                self.assertReply(c.cmd("XYZZY"), 500, "5.5.1")
            self.assertReply(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
            self.assertReply(c.cmd("RCPT TO:<%s>" % unknown), 550, "5.1.1")
            self.assertReply(c.read_reply(), 421, "4.7.0")
            c.expect_eof()
        self.assertEqual(self.d.connection(c)["end_reason"], "errors")
        with self.d.smtp("plain") as c:
            c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<a@example.org>"), 250, "2.1.0")
            self.assertReply(c.cmd("RCPT TO:<%s>" % self.to), 250, "2.1.5")
            c.quit()

    def test_temporary_refusals_count_toward_the_error_limit(self):
        """A client cannot be refused without end: 452s (and 451s) count
        like 5xx, so a pipelined flood of extra RCPTs ends with 421."""
        with self.d.smtp("open") as c:
            rcpts = self.fill_recipients(c)
            c.send(b"".join(b"RCPT TO:<%s>\r\n" % rcpts[MAX_RCPT].encode()
                            for _ in range(MAX_ERRORS + 5)))
            codes = []
            while True:
                try:
                    r = c.read_reply()
                except EOFError:
                    break
                codes.append((r.code, r.status))
                if r.code == 421:
                    break
            self.assertEqual(codes[-1], (421, "4.7.0"), codes)
            self.assertEqual(codes[:-1], [(452, "4.5.3")] * MAX_ERRORS, codes)
        conn = self.d.connection(c)
        self.assertEqual(conn["end_reason"], "errors")


if __name__ == "__main__":
    unittest.main()
