"""docs/lab-expected.json: what each lab sender must do with each
challenge and which verdicts that implies; the comparison with
`mailscope report --format json`, the matrix, and the tables of
docs/lab.md (`python3 tests/integration/labexpect.py --doc` rewrites
them; test_lab_doc checks they are current).

A cell is a string: the outcome (`delivered`, `refused`, `absent`),
for a delivery its TLS version (`TLSv1.3`, `TLSv1.2`, or `cleartext`),
`via HOST` when it arrived through the second MX's host, and `v4` or
`v6` when the family is fixed (an A-only or AAAA-only MX fixes it
implicitly).  `known` lists the cells and verdicts where the sender
contradicts the expectation, with the reason: they are compared against
the observed value written there (`"observed"`), so the test stays
honest both ways.
"""

import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.abspath(os.environ.get("top_srcdir") or os.path.join(HERE, "..", ".."))
EXPECTED = os.path.join(SRCDIR, "docs", "lab-expected.json")
DOC = os.path.join(SRCDIR, "docs", "lab.md")

sys.path.insert(0, HERE)
from harness import CHALLENGES, CHALLENGE_HOSTS, A_ONLY_CHALLENGES, \
    AAAA_ONLY_CHALLENGES  # noqa: E402

# facts of the report, not verdicts about the sender's behaviour in the lab
UNCOMPARED = {"tls_fingerprint", "pq_kex", "sni", "resumption", "extensions",
              "ipv6_preference", "reverse_dns", "resolver_details"}
# waits for daily reports beyond the waiting period
LATE = {"tlsrpt"}


def load():
    with open(EXPECTED) as f:
        return json.load(f)


def expected(name, doc=None):
    """{"challenges": {c: cell}, "verdicts": {key: state}, "known": {...}}
    of sender NAME, the defaults applied."""
    doc = doc or load()
    s = [x for x in doc["senders"] if x["name"] == name][0]
    out = {"challenges": dict(doc["defaults"]["challenges"]),
           "verdicts": dict(doc["defaults"]["verdicts"]), "known": s.get("known", {})}
    out["challenges"].update(s.get("challenges", {}))
    out["verdicts"].update(s.get("verdicts", {}))
    return out


def settled(rep):
    return (all(c["outcome"] != "pending" for c in rep["challenges"]) and
            all(v["state"] != "waiting" for v in rep["verdicts"] if v["key"] not in LATE))


def cell(ch):
    """The cell of a report's challenge (see the module's docstring)."""
    out = [ch["outcome"]]
    ds = ch["deliveries"]
    if ch["outcome"] == "delivered" and ds:
        tls = sorted({d["tls_version"] or "cleartext" for d in ds})
        out.append("+".join(tls))
        hosts = sorted({d["host"] for d in ds if d["host"] != ch["host"]})
        if hosts:
            out.append("via " + "+".join(hosts))
        fams = sorted({d["family"] for d in ds})
        out.append("+".join("v%s" % f for f in fams))
    return " ".join(out)


def lab_mx_family(challenge):
    return ("4" if challenge in A_ONLY_CHALLENGES else
            "6" if challenge in AAAA_ONLY_CHALLENGES else "any")


def _parse(c):
    words = c.split()
    out = {"outcome": words[0], "tls": None, "via": None, "family": None}
    i = 1
    while i < len(words):
        w = words[i]
        if w == "via":
            out["via"] = words[i + 1]
            i += 1
        elif re.fullmatch(r"v[46](\+v[46])?", w):
            out["family"] = w
        else:
            out["tls"] = w
        i += 1
    return out


def cell_matches(challenge, want, got):
    w, g = _parse(want), _parse(got)
    if w["outcome"] != g["outcome"]:
        return False
    if w["outcome"] != "delivered":
        return True
    fam = w["family"] or ("v4" if challenge in A_ONLY_CHALLENGES else
                          "v6" if challenge in AAAA_ONLY_CHALLENGES else None)
    return (w["tls"] == g["tls"] and w["via"] == g["via"] and
            (fam is None or fam == g["family"]))


def compare(exp, rep):
    """[(kind, name, want, got, known reason or None)] that differ; a
    known contradiction is compared with what it says was observed."""
    bad = []
    chs = {c["name"]: c for c in rep["challenges"]}
    for c in CHALLENGES:
        got = cell(chs[c]) if c in chs else "missing"
        want = exp["challenges"].get(c, "unspecified")
        k = exp["known"].get(c)
        if k is not None:
            if not cell_matches(c, k["observed"], got):
                bad.append(("challenge", c, k["observed"], got, k["reason"]))
        elif not cell_matches(c, want, got):
            bad.append(("challenge", c, want, got, None))
    states = {v["key"]: v["state"] for v in rep["verdicts"]}
    for key, state in sorted(states.items()):
        if key in UNCOMPARED or key in LATE:
            continue
        want = exp["verdicts"].get(key, "unspecified")
        k = exp["known"].get(key)
        if k is not None:
            if state != k["observed"]:
                bad.append(("verdict", key, k["observed"], state, k["reason"]))
        elif state != want:
            bad.append(("verdict", key, want, state, None))
    return bad


def explain(b, rep):
    kind, name, want, got, reason = b
    line = "%s %s: expected %s, got %s%s" % (kind, name, want, got,
                                             " (known: %s)" % reason if reason else "")
    if kind == "challenge":
        ch = [c for c in rep["challenges"] if c["name"] == name]
        ev = json.dumps({k: ch[0][k] for k in ("deliveries", "greylist", "refusals")},
                        indent=None) if ch else "no such challenge"
    else:
        v = [x for x in rep["verdicts"] if x["key"] == name][0]
        ev = "%s\n    evidence: %s" % (v.get("summary"), json.dumps(v.get("evidence")))
    return "  %s\n    %s" % (line, ev)


ABBREV = {"delivered": "D", "refused": "R", "absent": "-", "pending": "?",
          "TLSv1.3": "1.3", "TLSv1.2": "1.2", "cleartext": "clear"}


def short(c):
    return " ".join(ABBREV.get(w, w) for w in c.split())


def matrix(reports, results):
    """The printed matrix: challenges × senders (the cell observed, `!`
    when it differs from the expectation), then the verdicts."""
    names = list(reports)
    w = max(len(c) for c in CHALLENGES) + 1
    cw = 17
    lines = ["lab matrix (D delivered, R refused, - absent; ! differs from docs/lab.md)",
             " " * w + "".join(n[:cw - 1].ljust(cw) for n in names)]
    bad = {n: {(b[0], b[1]) for b in results[n]} for n in names}
    for c in CHALLENGES:
        row = c.ljust(w)
        for n in names:
            ch = [x for x in reports[n]["challenges"] if x["name"] == c]
            v = short(cell(ch[0])) if ch else "missing"
            row += (("!" if ("challenge", c) in bad[n] else "") + v)[:cw - 1].ljust(cw)
        lines.append(row)
    keys = [v["key"] for v in reports[names[0]]["verdicts"]]
    for k in keys:
        row = k.ljust(w)
        for n in names:
            st = [v["state"] for v in reports[n]["verdicts"] if v["key"] == k]
            v = st[0] if st else "missing"
            row += (("!" if ("verdict", k) in bad[n] else "") + v)[:cw - 1].ljust(cw)
        lines.append(row)
    return "\n".join(lines)


# -- docs/lab.md

BEGIN = "<!-- lab-expected: generated by tests/integration/labexpect.py --doc -->"
END = "<!-- end of lab-expected -->"


def render(doc=None):
    doc = doc or load()
    names = [s["name"] for s in doc["senders"]]
    exps = {n: expected(n, doc) for n in names}
    out = [BEGIN, "", "### Per challenge", "",
           "| challenge | MX host(s) | " + " | ".join("`%s`" % n for n in names) + " |",
           "| --- | --- |" + " --- |" * len(names)]
    for c in CHALLENGES:
        cells = []
        for n in names:
            k = exps[n]["known"].get(c)
            v = exps[n]["challenges"].get(c, "?")
            cells.append(v + (" (observed: %s ‡)" % k["observed"] if k else ""))
        out.append("| `%s` | %s | %s |" % (c, ", ".join(CHALLENGE_HOSTS[c]), " | ".join(cells)))
    keys = sorted({k for n in names for k in exps[n]["verdicts"]})
    out += ["", "### Verdicts", "",
            "| verdict | " + " | ".join("`%s`" % n for n in names) + " |",
            "| --- |" + " --- |" * len(names)]
    for key in keys:
        cells = []
        for n in names:
            k = exps[n]["known"].get(key)
            v = exps[n]["verdicts"].get(key, "?")
            cells.append(v + (" (observed: %s ‡)" % k["observed"] if k else ""))
        out.append("| `%s` | %s |" % (key, " | ".join(cells)))
    known = [(n, what, k) for n in names for what, k in sorted(exps[n]["known"].items())]
    if known:
        out += ["", "‡ Known contradictions (the test expects the observed value):", ""]
        for n, what, k in known:
            out.append("- `%s`, `%s`: %s" % (n, what, k["reason"]))
    out += ["", END]
    return "\n".join(out)


def doc_tables():
    """The generated part of docs/lab.md as it is now."""
    with open(DOC) as f:
        text = f.read()
    i, j = text.find(BEGIN), text.find(END)
    return text[i:j + len(END)] if i >= 0 and j >= 0 else None


def write_doc():
    with open(DOC) as f:
        text = f.read()
    i, j = text.find(BEGIN), text.find(END)
    assert i >= 0 and j >= 0, "docs/lab.md has no generated tables"
    with open(DOC, "w") as f:
        f.write(text[:i] + render() + text[j + len(END):])


if __name__ == "__main__":
    if sys.argv[1:] == ["--doc"]:
        write_doc()
    else:
        sys.exit("usage: labexpect.py --doc")
