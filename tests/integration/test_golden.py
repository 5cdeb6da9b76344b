"""Golden transcripts (STYLE.md, Tests; as Postfix's smtpd_check tests):
tests/golden/NAME.in, the client's side of one SMTP session, is played
against the real daemon; the server's replies and the rows that matter
are compared with tests/golden/NAME.ref.  One test per .in file; the
format is in tests/golden/README.md.  GOLDEN_UPDATE=1 rewrites the .ref
files instead of comparing."""

import difflib
import glob
import hashlib
import os
import re
import shlex
import socket
import time
import unittest

import harness
from harness import HOST_CHALLENGE, HOSTS, mx_name

GOLDEN = os.path.join(harness.SRCDIR, "tests", "golden")
UPDATE = os.environ.get("GOLDEN_UPDATE") == "1"

# The rows that matter; ids, times, addresses and ports are left out.
CONNECTION_COLUMNS = [
    "host", "family", "helo_verb", "helo", "extensions", "starttls",
    "tls_established", "tls_version", "tls_sni", "pipelined_discarded",
    "improper_pipelining", "bare_cr_commands", "mail_commands",
    "transactions", "test_id", "commands", "end_reason",
]
TRANSACTION_COLUMNS = [
    "mail_from", "mail_params", "size", "body_sha256", "bare_lf", "bare_cr",
    "nul_bytes", "long_lines", "tls", "body_method", "chunks", "smtputf8",
    "requiretls", "ret", "envid",
]
RECIPIENT_COLUMNS = ["address", "challenge", "test_id", "rcpt_params", "notify",
                     "orcpt"]

MARKER_RE = re.compile(r"^<(PIPE|/PIPE|TLS|READ|EOF|CLOSE|PAUSE)(?:\s+(\S+))?>$")
BDAT_RE = re.compile(rb"^BDAT (\d{1,15})( LAST)?\r\n$", re.IGNORECASE)
PAUSE_SECONDS = 0.3
PLACEHOLDER_RE = re.compile(r"\{([a-z]+)(?::([^}]*))?\}")


class ScriptError(Exception):
    """A malformed .in file (FILE:LINE: message)."""


# --- the .in file ----------------------------------------------------------

class Line:
    """One client line: its text in the .in (echoed in the transcript) and
    whether its CRLF is sent (not when it ends with a lone backslash)."""

    def __init__(self, text, where):
        self.text = text
        self.where = where
        self.crlf = not _continued(text)


def _continued(text):
    """True when TEXT ends with a backslash that is not itself escaped."""
    n = len(text) - len(text.rstrip("\\"))
    return n % 2 == 1


class Script:
    """A parsed .in: host, family, options and steps.  A step is
    ("write", [Line], grouped), ("tls", sni), ("read",), ("eof",),
    ("pause",) or ("close",)."""

    def __init__(self, path):
        self.path = path
        self.host = "plain"
        self.family = 4
        self.options = []
        self.steps = []
        with open(path, encoding="utf-8") as f:
            text = f.read()
        group = None            # lines of an open <PIPE>
        pending = []            # continued lines waiting for their end
        for n, raw in enumerate(text.splitlines(), 1):
            where = "%s:%d" % (os.path.basename(path), n)
            if raw.startswith("#"):
                if pending:
                    raise ScriptError("%s: error: directive after a continued line" % where)
                self._directive(raw, where, bool(self.steps) or group is not None)
                continue
            m = MARKER_RE.match(raw)
            if m:
                kind, arg = m.group(1), m.group(2)
                if pending and kind != "/PIPE":
                    if group is None:
                        self.steps.append(("write", pending, False))
                    else:
                        group.extend(pending)
                    pending = []
                if kind == "PIPE":
                    if group is not None:
                        raise ScriptError("%s: error: <PIPE> inside <PIPE>" % where)
                    group = []
                elif kind == "/PIPE":
                    if group is None:
                        raise ScriptError("%s: error: </PIPE> without <PIPE>" % where)
                    group.extend(pending)
                    pending = []
                    if not group:
                        raise ScriptError("%s: error: empty <PIPE>" % where)
                    self.steps.append(("write", group, True))
                    group = None
                elif group is not None:
                    raise ScriptError("%s: error: <%s> inside <PIPE>" % (where, kind))
                elif kind == "TLS":
                    self.steps.append(("tls", arg))
                elif arg is not None:
                    raise ScriptError("%s: error: <%s> takes no argument" % (where, kind))
                else:
                    self.steps.append((kind.lower(),))
                continue
            line = Line(raw, where)
            pending.append(line)
            if line.crlf:
                if group is None:
                    self.steps.append(("write", pending, False))
                else:
                    group.extend(pending)
                pending = []
        if group is not None or pending:
            raise ScriptError("%s: error: unterminated %s at end of file"
                              % (os.path.basename(path),
                                 "<PIPE>" if group is not None else "continued line"))
        if not self.steps:
            raise ScriptError("%s: error: nothing to send" % os.path.basename(path))

    def _directive(self, raw, where, late):
        if raw == "#" or raw[1:2] in (" ", "\t"):
            return              # a comment
        try:
            words = shlex.split(raw[1:])
        except ValueError as e:
            raise ScriptError("%s: error: %s" % (where, e))
        name, args = words[0], words[1:]
        if late:
            raise ScriptError("%s: error: #%s after the first line sent" % (where, name))
        if name == "host" and len(args) == 1 and args[0] in HOSTS:
            self.host = args[0]
        elif name == "family" and args in (["4"], ["6"]):
            self.family = int(args[0])
        elif name == "option" and len(args) == 3:
            self.options.append(tuple(args))
        else:
            raise ScriptError("%s: error: at '%s': unknown directive or bad arguments"
                              "(#host HOST, #family 4|6, #option SECTION KEY VALUE)"
                              % (where, raw))


def expand(text, ctx, where):
    """The bytes of a line's TEXT: placeholders and backslash escapes
    expanded, a final lone backslash dropped (it only says: no CRLF)."""
    out = bytearray()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 == len(text):
                break           # the continuation mark
            nxt = text[i + 1]
            simple = {"\\": b"\\", "r": b"\r", "n": b"\n", "t": b"\t", "{": b"{"}
            if nxt in simple:
                out += simple[nxt]
                i += 2
                continue
            m = re.match(r"x([0-9A-Fa-f]{2})", text[i + 1:])
            if m:
                out.append(int(m.group(1), 16))
                i += 4
                continue
            raise ScriptError("%s: error: unknown escape \\%s" % (where, nxt))
        if ch == "{":
            m = PLACEHOLDER_RE.match(text, i)
            if not m:
                raise ScriptError("%s: error: at '%s': unterminated placeholder "
                                  "(\\{ is a brace)" % (where, text[i:i + 20]))
            out += placeholder(m.group(1), m.group(2), ctx, where)
            i = m.end()
            continue
        out += ch.encode("utf-8")
        i += 1
    return bytes(out)


def placeholder(name, arg, ctx, where):
    test, host = ctx["test"], ctx["host"]
    if name == "id" and arg is None:
        return test["id"].encode()
    if name == "rcpt" and (arg is None or arg in HOST_CHALLENGE):
        return test["addresses"][HOST_CHALLENGE[arg or host]].encode()
    if name == "addr" and arg in test["addresses"]:
        return test["addresses"][arg].encode()
    if name == "domain" and arg is None:
        return harness.BASE_DOMAIN.encode()
    if name == "rep" and arg is not None:
        m = re.match(r"^(\d+):(.*)$", arg)
        if m:
            return expand(m.group(2), ctx, where) * int(m.group(1))
    raise ScriptError("%s: error: unknown placeholder {%s%s}"
                      % (where, name, ":" + arg if arg is not None else ""))


# --- playing it ------------------------------------------------------------

class Session:
    """One connection playing a Script; builds the transcript lines."""

    def __init__(self, d, script, test):
        self.d = d
        self.script = script
        self.ctx = {"test": test, "host": script.host}
        self.out = []
        self.data = False           # after a 354, until the final dot
        self.message = []           # the mail data sent so far
        self.messages = []          # per message sent: its sha256
        self.bdat = None            # a BDAT chunk being sent: [left, last]
        self.chunks = []            # the BDAT chunks of this message so far
        self.closed = False
        self.c = d.smtp(script.host, family=script.family, greet=False)

    def s(self, text):
        self.out.append("S: " + text)

    def reply(self):
        """Read one reply into the transcript; None at EOF."""
        try:
            r = self.c.read_reply()
        except EOFError:
            if self.c.buf:
                self.s("<partial> %r" % self.c.buf)
            self.s("<EOF>")
            self.closed = True
            return None
        for line in r.raw:
            self.s(line)
        return r

    def play(self):
        self.reply()                    # the greeting
        tls_next = False
        for i, step in enumerate(self.script.steps):
            if self.closed:
                self.out.append("(%d more steps not played: the server closed)"
                                % (len(self.script.steps) - i))
                return self.out
            kind = step[0]
            if tls_next and kind != "tls":
                raise ScriptError("%s: error: the server answered 220 to STARTTLS: "
                                  "<TLS> must follow" % os.path.basename(self.script.path))
            tls_next = False
            if kind == "write":
                tls_next = self.write(step[1], step[2])
            elif kind == "tls":
                self.out.append("<TLS>" if step[1] is None else "<TLS %s>" % step[1])
                sni = step[1] or mx_name(HOST_CHALLENGE[self.script.host])
                self.c.handshake(self.d.tls_context(), sni)
            elif kind == "read":
                self.out.append("<READ>")
                self.reply()
            elif kind == "pause":
                # only to split octets across TCP reads, never to wait
                # for the server
                self.out.append("<PAUSE>")
                time.sleep(PAUSE_SECONDS)
            elif kind == "close":
                self.out.append("C: <CLOSE>")
                self.c.close()
                self.closed = True
            elif kind == "eof":
                self.out.append("<EOF>")
                self.rest()
        if not self.closed:
            self.rest()
        return self.out

    def write(self, lines, grouped):
        """Send LINES in one write; read the replies they call for.
        Returns True when a 220 to STARTTLS asks for the handshake."""
        payload = b"".join(expand(l.text, self.ctx, l.where) + (b"\r\n" if l.crlf else b"")
                           for l in lines)
        if grouped:
            self.out.append("<PIPE>")
        self.out.extend(("C: " + l.text).rstrip(" ") for l in lines)
        if grouped:
            self.out.append("</PIPE>")
        try:
            self.c.send(payload)
        except (BrokenPipeError, ConnectionResetError) as e:
            self.out.append("C: <write failed: %s>" % e.__class__.__name__)
        tls_wait = False
        for l in lines:
            raw = expand(l.text, self.ctx, l.where) + (b"\r\n" if l.crlf else b"")
            if tls_wait:
                continue        # RFC 3207 section 5: discarded, never answered
            if self.bdat is not None:
                if not self.chunk(raw, l.where):
                    return False
                continue
            if self.data:
                if l.crlf and raw == b".\r\n":
                    self.end_of_data()
                else:
                    self.message.append(raw)
                    continue
            elif not l.crlf:
                continue        # not a whole command yet
            m = BDAT_RE.match(raw)
            if m:
                # RFC 3030 2: the reply comes once the chunk is read
                self.bdat = [int(m.group(1)), m.group(2) is not None]
                if self.bdat[0] == 0 and not self.chunk(b"", l.where):
                    return False
                continue
            r = self.reply()
            if r is None:
                return False
            if r.code == 354:
                self.data = True
            elif r.code == 220:
                tls_wait = True
        return tls_wait

    def chunk(self, raw, where):
        """RAW, octets of the BDAT chunk being sent; at its end, its reply.
        A chunk ends where a line of the .in ends.  False at EOF."""
        left, last = self.bdat
        if len(raw) > left:
            raise ScriptError("%s: error: the BDAT chunk ends inside this line "
                              "(end the line there with a final \\)" % where)
        self.chunks.append(raw)
        self.bdat[0] -= len(raw)
        if self.bdat[0] > 0:
            return True
        self.bdat = None
        r = self.reply()
        if r is None:
            return False
        if r.code != 250:
            self.chunks = []      # RFC 3030 2: the transaction failed
        elif last:
            # RFC 3030: the message is the chunks as sent, nothing removed
            self.messages.append(hashlib.sha256(b"".join(self.chunks)).hexdigest())
            self.chunks = []
        return True

    def end_of_data(self):
        """The final dot: the hash of the message as the server must see it
        (RFC 5321 4.5.2: the leading dot of a line removed; only CRLF ends
        a line, 2.3.8: a dot after a bare LF is the sender's)."""
        data = b"".join(self.message)
        self.messages.append(hashlib.sha256(unstuff(data)).hexdigest())
        self.message = []
        self.data = False

    def rest(self):
        """Whatever the server still sends, up to its EOF."""
        self.c.settimeout(3)
        while True:
            while b"\n" in self.c.buf:
                line, _, self.c.buf = self.c.buf.partition(b"\n")
                self.s(line.rstrip(b"\r").decode("utf-8", "replace"))
            try:
                self.c._fill()
            except EOFError:
                break
            except (AssertionError, socket.timeout):
                self.s("<still open after %.0fs>" % harness.deadline(3))
                self.c.close()
                break
        if self.c.buf:
            self.s("<partial> %r" % self.c.buf)
        self.s("<EOF>")
        self.closed = True
        self.c.close()

    def rows(self):
        """The connection, transaction and recipient rows, column by column."""
        conn = self.d.connection(self.c)
        out = ["", "-- connection"]
        out += ["%s: %s" % (k, show(conn[k])) for k in CONNECTION_COLUMNS]
        txns = self.d.query("SELECT * FROM transactions WHERE connection_id = ? "
                            "ORDER BY id", (conn["id"],))
        for i, t in enumerate(txns, 1):
            out += ["", "-- transaction %d" % i]
            for k in TRANSACTION_COLUMNS:
                v = t[k]
                if k == "body_sha256":
                    v = self.message_hash(v)
                out.append("%s: %s" % (k, show(v)))
            rcpts = self.d.query("SELECT * FROM recipients WHERE transaction_id = ? "
                                 "ORDER BY id", (t["id"],))
            for j, r in enumerate(rcpts, 1):
                out += ["", "-- recipient %d.%d" % (i, j)]
                out += ["%s: %s" % (k, show(r[k])) for k in RECIPIENT_COLUMNS]
        return out


    def message_hash(self, v):
        """A stored body_sha256 as the message sent that it is the hash of,
        or as it is."""
        for i, h in enumerate(self.messages, 1):
            if v == h:
                return "{sha256 of message %d}" % i
        return v


def unstuff(data):
    """DATA without the leading dot of each line (lines end in CRLF)."""
    return b"\r\n".join(l[1:] if l.startswith(b".") else l
                         for l in data.split(b"\r\n"))


def show(v):
    """A column's value: NULL, "" for the empty string, else as it is."""
    if v is None:
        return "NULL"
    return '""' if v == "" else str(v)


def transcript(d, script):
    test = d.new_test()
    s = Session(d, script, test)
    try:
        lines = s.play() + s.rows()
    finally:
        s.c.close()
    text = "\n".join(lines) + "\n"
    return text.replace(test["id"], "{id}")


# --- one test per .in ------------------------------------------------------

class Golden(unittest.TestCase):
    """Daemons are shared by the transcripts with the same #option lines."""

    daemons = {}

    @classmethod
    def setUpClass(cls):
        cls.daemons = {}
        cls.addClassCleanup(cls._close_daemons)

    @classmethod
    def _close_daemons(cls):
        errors = []
        for d in cls.daemons.values():
            try:
                d.close()
            except harness.DaemonError as e:
                errors.append(str(e))
        if errors:
            raise harness.DaemonError("\n".join(errors))

    def daemon(self, options):
        key = tuple(options)
        if key not in self.daemons:
            d = harness.Daemon("golden", options=options)
            self.daemons[key] = d
            d.start()
        return self.daemons[key]

    def check(self, name):
        script = Script(os.path.join(GOLDEN, name + ".in"))
        self.d = self.daemon(script.options)        # the runner dumps its log
        got = transcript(self.d, script)
        ref_path = os.path.join(GOLDEN, name + ".ref")
        if UPDATE:
            with open(ref_path, "w", encoding="utf-8") as f:
                f.write(got)
            return
        try:
            with open(ref_path, encoding="utf-8") as f:
                want = f.read()
        except FileNotFoundError:
            self.fail("no %s.ref (GOLDEN_UPDATE=1 writes it); the transcript:\n%s"
                      % (name, got))
        if got != want:
            diff = difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                        "tests/golden/%s.ref" % name, "transcript")
            self.fail("%s.ref differs (GOLDEN_UPDATE=1 rewrites it):\n%s"
                      % (name, "".join(diff)))


def _test_for(name):
    def test(self):
        self.check(name)
    test.__name__ = "test_" + name
    return test


for _path in sorted(glob.glob(os.path.join(GOLDEN, "*.in"))):
    _name = os.path.basename(_path)[:-3]
    if not re.match(r"^[a-z0-9_]+$", _name):
        raise ScriptError("%s: error: name a transcript [a-z0-9_]+.in" % _path)
    setattr(Golden, "test_" + _name, _test_for(_name))


if __name__ == "__main__":
    unittest.main()
