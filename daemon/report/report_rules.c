/*
 * The verdict rules of CHALLENGES.md ("Verdicts of the report"): one row
 * of rules[] per key, a function from the test's rows to a state, an
 * explanation and the rows it rests on.  Pure; docs/report.md says each
 * rule in words.
 */
#include "build.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "report.h"

static const char *const state_names[RP_NSTATES] = {
	"good", "note", "improve", "bad", "waiting", "not_measured"
};

static const struct {
	const char	*name;
	const char	*title;
} groups[RP_NGROUPS] = {
	{ "delivery", "Delivery" },
	{ "transport", "Transport security" },
	{ "dns", "DNS" },
	{ "auth", "Sender authentication" },
	{ "message", "Message" },
	{ "beyond", "Beyond" },
};

const char *
report_state_name(enum rp_state s)
{
	return state_names[s];
}

const char *
report_group_name(enum rp_group g)
{
	return groups[g].name;
}

const char *
report_group_title(enum rp_group g)
{
	return groups[g].title;
}

void
report_evidence(struct rp_verdict *v, const char *table, int64_t id,
    double time, const char *fmt, ...)
{
	struct rp_evidence *e;
	va_list ap;
	size_t cap;

	if (v->nevidence == v->evcap) {
		cap = v->evcap == 0 ? 4 : v->evcap * 2;
		e = reallocarray(v->evidence, cap, sizeof(*e));
		if (e == NULL)
			return;
		v->evidence = e;
		v->evcap = cap;
	}
	e = &v->evidence[v->nevidence++];
	e->table = table;
	e->id = id;
	e->time = time;
	va_start(ap, fmt);
	vsnprintf(e->summary, sizeof(e->summary), fmt, ap);
	va_end(ap);
}

/* Sets V's state and explanation. */
static void
verdict(struct rp_verdict *v, enum rp_state s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
verdict(struct rp_verdict *v, enum rp_state s, const char *fmt, ...)
{
	va_list ap;

	v->state = s;
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
}

double
report_deadline(const struct rp_input *in)
{
	double first = 0;
	size_t i;

	for (i = 0; i < in->nconns; i++)
		if (first == 0 || in->conns[i].started < first)
			first = in->conns[i].started;
	for (i = 0; i < in->ndeliveries; i++)
		if (first == 0 || in->deliveries[i].received < first)
			first = in->deliveries[i].received;
	if (first == 0)
		return 0;	/* nothing yet: no conclusion from absence */
	return first + in->wait;
}

/* The wait is over: absence is conclusive. */
static int
waited(const struct rp_input *in)
{
	double d = report_deadline(in);

	return d != 0 && in->now >= d;
}

int
report_conn_refuses(const struct rp_conn *c, const char *name)
{
	if (c->challenge == NULL || strcmp(c->challenge, name) != 0)
		return 0;
	if (c->ended == 0 || c->transactions > 0 || c->mail_commands > 0)
		return 0;
	if (c->tls_alert_sent != NULL || c->tls_alert_received != NULL ||
	    (c->starttls && !c->tls_established))
		return 1;
	if (c->tls_established)
		return 1;
	return c->helo != NULL && strcmp(c->host, "plain") == 0;
}

enum rp_outcome
report_outcome(const struct rp_input *in, const char *name, size_t *row)
{
	size_t i;

	for (i = 0; i < in->ndeliveries; i++)
		if (strcmp(in->deliveries[i].challenge, name) == 0) {
			if (row != NULL)
				*row = i;
			return RPO_DELIVERED;
		}
	for (i = 0; i < in->nconns; i++)
		if (report_conn_refuses(&in->conns[i], name)) {
			if (row != NULL)
				*row = i;
			return RPO_REFUSED;
		}
	return waited(in) ? RPO_ABSENT : RPO_PENDING;
}


/* Delivered, refused (or absent after the wait), or not yet known. */
#define DELIVERED(o)	((o) == RPO_DELIVERED)
#define NOT_DELIVERED(o) ((o) == RPO_REFUSED || (o) == RPO_ABSENT)
#define PENDING(o)	((o) == RPO_PENDING)

static void
ev_delivery(struct rp_verdict *v, const struct rp_delivery *d)
{
	report_evidence(v, "recipients", d->recipient_id, d->received,
	    "%s delivered through %s (MX %d) from %s over IPv%d, %s%s%s",
	    d->challenge, d->host, d->mx, d->client_addr, d->family,
	    d->tls_version != NULL ? d->tls_version : "no TLS",
	    d->tls_cipher != NULL ? " " : "",
	    d->tls_cipher != NULL ? d->tls_cipher : "");
}

static void
ev_conn(struct rp_verdict *v, const struct rp_conn *c, const char *what)
{
	report_evidence(v, "connections", c->id, c->started,
	    "%s: %s from %s over IPv%d (attributed by %s)",
	    c->challenge != NULL ? c->challenge : c->host, what,
	    c->client_addr, c->family, c->reason != NULL ? c->reason : "?");
}

/* A refusing connection: what it did and how it was tied to the test. */
static void
ev_refusal(struct rp_verdict *v, const struct rp_conn *c)
{
	char what[RP_SUMMARY_MAX];

	report_refusal_text(c, what, sizeof(what));
	report_evidence(v, "connections", c->id, c->started,
	    "%s: refused from %s over IPv%d: %s", c->challenge,
	    c->client_addr, c->family, what);
}

/*
 * The outcome of challenge NAME, its delivery, or every connection that
 * refused it, added to V's evidence.
 */
static enum rp_outcome
outcome(const struct rp_input *in, struct rp_verdict *v, const char *name)
{
	enum rp_outcome o;
	size_t row, i;

	o = report_outcome(in, name, &row);
	if (o == RPO_DELIVERED)
		ev_delivery(v, &in->deliveries[row]);
	else if (o == RPO_REFUSED)
		for (i = row; i < in->nconns; i++)
			if (report_conn_refuses(&in->conns[i], name))
				ev_refusal(v, &in->conns[i]);
	return o;
}

/*
 * The state for a rule whose control has no conclusion yet: waiting while
 * nothing is conclusive, else not measured.  0 if the control is
 * delivered and the rule goes on.
 */
static int
control(const struct rp_input *in, struct rp_verdict *v, const char *name)
{
	enum rp_outcome o = outcome(in, v, name);

	if (PENDING(o)) {
		verdict(v, RP_WAITING, "waiting for the control %s", name);
		return 1;
	}
	if (NOT_DELIVERED(o)) {
		verdict(v, RP_NOT_MEASURED, "the control %s was not delivered, "
		    "so the other challenges cannot be compared with it", name);
		return 1;
	}
	return 0;
}

/* Absence everywhere: waiting, or nothing of this kind arrived. */
static void
nothing(const struct rp_input *in, struct rp_verdict *v, const char *what)
{
	if (waited(in))
		verdict(v, RP_NOT_MEASURED, "%s", what);
	else
		verdict(v, RP_WAITING, "nothing conclusive yet");
}

static int
is_aaaa_only(const char *challenge)
{
	const struct catalog_challenge *ch = catalog_challenge(challenge);

	return ch != NULL && ch->family == MX_AAAA;
}

static int
is_dual(const char *challenge)
{
	const struct catalog_challenge *ch = catalog_challenge(challenge);

	return ch != NULL && ch->family == MX_DUAL;
}

/* ---- Delivery ---- */

static void
rule_ipv4(const struct rp_input *in, struct rp_verdict *v)
{
	size_t i;

	for (i = 0; i < in->ndeliveries; i++)
		if (in->deliveries[i].family == 4) {
			ev_delivery(v, &in->deliveries[i]);
			verdict(v, RP_GOOD, "delivers over IPv4");
			return;
		}
	if (in->ndeliveries > 0 && waited(in)) {
		ev_delivery(v, &in->deliveries[0]);
		verdict(v, RP_BAD, "delivered only over IPv6: an MX with only "
		    "an IPv4 address (v4) got nothing");
		return;
	}
	nothing(in, v, "nothing was delivered");
}

static void
rule_ipv6(const struct rp_input *in, struct rp_verdict *v)
{
	const struct rp_delivery *dual = NULL;
	enum rp_outcome o;
	size_t i;

	for (i = 0; i < in->ndeliveries; i++) {
		if (in->deliveries[i].family != 6)
			continue;
		if (is_aaaa_only(in->deliveries[i].challenge)) {
			ev_delivery(v, &in->deliveries[i]);
			verdict(v, RP_GOOD, "delivers over IPv6, also to an MX "
			    "with only an IPv6 address");
			return;
		}
		if (dual == NULL)
			dual = &in->deliveries[i];
	}
	o = outcome(in, v, "v6");
	if (dual != NULL) {
		ev_delivery(v, dual);
		if (PENDING(o))
			verdict(v, RP_WAITING, "delivered over IPv6 to a "
			    "dual-stack MX; waiting for v6 (IPv6-only MX)");
		else
			verdict(v, RP_NOTE, "delivers over IPv6 only where the "
			    "MX also has IPv4: v6, whose MX has only IPv6, got "
			    "nothing");
		return;
	}
	if (PENDING(o))
		verdict(v, RP_WAITING, "no delivery over IPv6 yet");
	else if (in->ndeliveries > 0)
		verdict(v, RP_IMPROVE, "does not deliver over IPv6");
	else
		nothing(in, v, "nothing was delivered");
}

/* A recipient's first deferral and the accepted retry that follows it. */
static void
rule_greylisting(const struct rp_input *in, struct rp_verdict *v)
{
	const struct rp_grey *first, *g;
	size_t i, j;
	int deferred = 0;

	for (i = 0; i < in->ngrey; i++) {
		first = &in->grey[i];
		if (first->accepted)
			continue;
		/* the first deferral of its recipient */
		for (j = 0; j < i; j++)
			if (strcmp(in->grey[j].rcpt, first->rcpt) == 0)
				break;
		if (j < i)
			continue;
		deferred = 1;
		for (j = i + 1; j < in->ngrey; j++) {
			g = &in->grey[j];
			if (!g->accepted || strcmp(g->rcpt, first->rcpt) != 0)
				continue;
			report_evidence(v, "greylist_attempts", first->id,
			    first->time, "%s deferred (451) for %s",
			    first->rcpt, first->client_addr);
			report_evidence(v, "greylist_attempts", g->id, g->time,
			    "%s accepted from %s", g->rcpt, g->client_addr);
			if (strcmp(g->client_addr, first->client_addr) == 0)
				verdict(v, RP_GOOD, "retried after %.0f s from "
				    "the same address", g->time - first->time);
			else
				verdict(v, RP_GOOD, "retried after %.0f s from "
				    "another address (%s, then %s)",
				    g->time - first->time, first->client_addr,
				    g->client_addr);
			return;
		}
	}
	if (!deferred) {
		nothing(in, v, "grey-v4 and grey-v6 got no attempt");
		return;
	}
	for (i = 0; i < in->ngrey; i++)
		report_evidence(v, "greylist_attempts", in->grey[i].id,
		    in->grey[i].time, "%s %s for %s", in->grey[i].rcpt,
		    in->grey[i].accepted ? "accepted" : "deferred (451)",
		    in->grey[i].client_addr);
	if (in->now >= in->grey[0].time + in->wait)
		verdict(v, RP_BAD, "deferred with 451 and never retried within "
		    "%.0f s: mail to greylisting servers is lost", in->wait);
	else
		verdict(v, RP_WAITING, "deferred with 451; waiting for the "
		    "retry");
}

/* ---- Transport security ---- */

static void
rule_plaintext(const struct rp_input *in, struct rp_verdict *v)
{
	enum rp_outcome o = outcome(in, v, "plaintext");

	if (DELIVERED(o))
		verdict(v, RP_NOTE, "sends in cleartext where no STARTTLS is "
		    "offered, as opportunistic TLS does (RFC 3207)");
	else if (NOT_DELIVERED(o))
		verdict(v, RP_GOOD, "never sends in cleartext: requires TLS "
		    "of every receiving server");
	else
		verdict(v, RP_WAITING, "waiting for plaintext");
}

/* The first delivery under TLS, or NULL. */
static const struct rp_delivery *
tls_delivery(const struct rp_input *in, const char *version)
{
	size_t i;

	for (i = 0; i < in->ndeliveries; i++)
		if (in->deliveries[i].tls && (version == NULL ||
		    (in->deliveries[i].tls_version != NULL &&
		    strcmp(in->deliveries[i].tls_version, version) == 0)))
			return &in->deliveries[i];
	return NULL;
}

static void
rule_starttls(const struct rp_input *in, struct rp_verdict *v)
{
	const struct rp_delivery *d = tls_delivery(in, NULL);
	enum rp_outcome o;

	if (d != NULL) {
		ev_delivery(v, d);
		verdict(v, RP_GOOD, "delivers over STARTTLS (%s)",
		    d->tls_version != NULL ? d->tls_version : "TLS");
		return;
	}
	o = outcome(in, v, "tls");
	if (PENDING(o))
		verdict(v, RP_WAITING, "no delivery under TLS yet");
	else if (in->ndeliveries > 0)
		verdict(v, RP_BAD, "delivers only in cleartext: tls, which "
		    "requires STARTTLS, got nothing");
	else
		nothing(in, v, "nothing was delivered");
}

static void
rule_tls13(const struct rp_input *in, struct rp_verdict *v)
{
	const struct rp_delivery *d = tls_delivery(in, "TLSv1.3");
	enum rp_outcome o;

	if (d != NULL) {
		ev_delivery(v, d);
		verdict(v, RP_GOOD, "delivers with TLS 1.3");
		return;
	}
	o = outcome(in, v, "tls13");
	if (PENDING(o))
		verdict(v, RP_WAITING, "waiting for tls13");
	else if ((d = tls_delivery(in, NULL)) != NULL) {
		ev_delivery(v, d);
		verdict(v, RP_IMPROVE, "no TLS 1.3: tls13 got nothing; the best "
		    "it did was %s", d->tls_version != NULL ? d->tls_version :
		    "TLS");
	} else
		verdict(v, RP_NOT_MEASURED, "no delivery under TLS to compare "
		    "with");
}

static void
rule_requires_tls13(const struct rp_input *in, struct rp_verdict *v)
{
	enum rp_outcome o;

	if (control(in, v, "tls13"))
		return;
	o = outcome(in, v, "tls12");
	if (DELIVERED(o))
		verdict(v, RP_GOOD, "uses TLS 1.3 and still delivers to servers "
		    "with TLS 1.2 or older");
	else if (NOT_DELIVERED(o))
		verdict(v, RP_NOTE, "requires TLS 1.3: tls12 got nothing, so "
		    "mail to servers without TLS 1.3 fails");
	else
		verdict(v, RP_WAITING, "waiting for tls12");
}

static void
rule_strong(const struct rp_input *in, struct rp_verdict *v)
{
	enum rp_outcome o;

	if (control(in, v, "tls"))
		return;
	o = outcome(in, v, "strong");
	if (DELIVERED(o))
		verdict(v, RP_GOOD, "negotiates a forward-secret AEAD suite "
		    "when that is all the server offers");
	else if (NOT_DELIVERED(o))
		verdict(v, RP_BAD, "strong, which offers only forward-secret "
		    "AEAD suites, got nothing");
	else
		verdict(v, RP_WAITING, "waiting for strong");
}

static void
rule_medium(const struct rp_input *in, struct rp_verdict *v)
{
	enum rp_outcome o;

	if (control(in, v, "tls"))
		return;
	o = outcome(in, v, "medium");
	if (DELIVERED(o))
		verdict(v, RP_GOOD, "still delivers to servers that offer only "
		    "medium suites (TLS 1.2, CBC)");
	else if (NOT_DELIVERED(o))
		verdict(v, RP_NOTE, "medium, which offers only CBC suites over "
		    "TLS 1.2, got nothing: mail to such servers fails");
	else
		verdict(v, RP_WAITING, "waiting for medium");
}

static void
rule_cert(const struct rp_input *in, struct rp_verdict *v)
{
	enum rp_outcome o;

	if (control(in, v, "tls"))
		return;
	o = outcome(in, v, "tls-badcert");
	if (DELIVERED(o))
		verdict(v, RP_NOTE, "accepts an expired certificate for another "
		    "name where no policy asks for more (opportunistic TLS, "
		    "RFC 7435)");
	else if (NOT_DELIVERED(o))
		verdict(v, RP_GOOD, "refused an invalid certificate "
		    "(tls-badcert) while tls got its mail");
	else
		verdict(v, RP_WAITING, "waiting for tls-badcert");
}

/*
 * DANE (RFC 7672), from three challenges on signed zones: tlsa-bad (TLSA
 * that does not match, invalid certificate), tlsa-ok-pkix-bad (TLSA that
 * matches, invalid certificate) and tls-badcert (no TLSA, invalid
 * certificate), which tells whether the sender refuses invalid
 * certificates anyway.  docs/report.md has the table.
 */
static void
rule_dane(const struct rp_input *in, struct rp_verdict *v)
{
	enum rp_outcome bad, ok, badcert;

	if (control(in, v, "tls"))
		return;
	bad = outcome(in, v, "tlsa-bad");
	if (DELIVERED(bad)) {
		verdict(v, RP_IMPROVE, "no DANE: delivered to tlsa-bad, whose "
		    "signed TLSA record does not match the certificate");
		return;
	}
	ok = outcome(in, v, "tlsa-ok-pkix-bad");
	badcert = outcome(in, v, "tls-badcert");
	if (PENDING(bad) || PENDING(ok) || PENDING(badcert)) {
		verdict(v, RP_WAITING, "waiting for tlsa-bad, tlsa-ok-pkix-bad "
		    "and tls-badcert");
		return;
	}
	if (DELIVERED(ok))
		verdict(v, RP_GOOD, "validates DANE: refused tlsa-bad (TLSA "
		    "mismatch) and delivered to tlsa-ok-pkix-bad (TLSA match, "
		    "invalid certificate)");
	else if (NOT_DELIVERED(badcert))
		verdict(v, RP_IMPROVE, "no DANE: it refuses invalid certificates "
		    "(tls-badcert), and tlsa-ok-pkix-bad, whose TLSA record "
		    "matches, got nothing either");
	else
		verdict(v, RP_NOTE, "contradictory: tlsa-bad was refused as DANE "
		    "requires, but tlsa-ok-pkix-bad, whose TLSA record matches, "
		    "got nothing although tls-badcert was delivered");
}

/*
 * Whether the sender validates DANE (rule_dane says good); if not, V
 * says why the rule has no answer and 0 is returned.
 */
static int
dane_sender(const struct rp_input *in, struct rp_verdict *v)
{
	struct rp_verdict scratch;

	memset(&scratch, 0, sizeof(scratch));
	rule_dane(in, &scratch);
	free(scratch.evidence);
	if (scratch.state == RP_WAITING)
		verdict(v, RP_WAITING, "waiting for the dane verdict");
	else if (scratch.state != RP_GOOD)
		verdict(v, RP_NOT_MEASURED, "only for senders that validate "
		    "DANE (see dane)");
	return scratch.state == RP_GOOD;
}

static void
rule_dane_dnssec(const struct rp_input *in, struct rp_verdict *v)
{
	enum rp_outcome valid, invalid, badcert;

	if (control(in, v, "tls"))
		return;
	valid = outcome(in, v, "tlsa-bad-insecure-pkix-ok");
	if (NOT_DELIVERED(valid)) {
		verdict(v, RP_BAD, "trusts TLSA records without DNSSEC: "
		    "tlsa-bad-insecure-pkix-ok (unsigned zone, valid "
		    "certificate) got nothing");
		return;
	}
	invalid = outcome(in, v, "tlsa-bad-insecure");
	badcert = outcome(in, v, "tls-badcert");
	if (PENDING(valid) || PENDING(invalid) || PENDING(badcert))
		verdict(v, RP_WAITING, "waiting for tlsa-bad-insecure-pkix-ok, "
		    "tlsa-bad-insecure and tls-badcert");
	else if (NOT_DELIVERED(invalid) && DELIVERED(badcert))
		verdict(v, RP_BAD, "trusts TLSA records without DNSSEC: "
		    "tlsa-bad-insecure got nothing though tls-badcert, with "
		    "the same certificate and no TLSA, was delivered");
	else
		verdict(v, RP_GOOD, "ignores TLSA records in unsigned zones, as "
		    "RFC 7672 requires");
}

static void
rule_dane_pkix(const struct rp_input *in, struct rp_verdict *v)
{
	enum rp_outcome o;

	if (!dane_sender(in, v))
		return;
	o = outcome(in, v, "tlsa-bad-pkix-ok");
	if (DELIVERED(o))
		verdict(v, RP_BAD, "delivered to tlsa-bad-pkix-ok: a valid "
		    "certificate outweighed a signed TLSA record that does not "
		    "match");
	else if (NOT_DELIVERED(o))
		verdict(v, RP_GOOD, "DANE takes precedence over PKIX: refused "
		    "a valid certificate that its TLSA record does not match");
	else
		verdict(v, RP_WAITING, "waiting for tlsa-bad-pkix-ok");
}

static void
rule_dane_mtasts(const struct rp_input *in, struct rp_verdict *v)
{
	enum rp_outcome stsok, bad_pkixbad, bad_pkixok;

	if (!dane_sender(in, v))
		return;
	stsok = outcome(in, v, "sts-ok-tlsa-bad");
	bad_pkixbad = outcome(in, v, "sts-bad-tlsa-ok-pkix-bad");
	bad_pkixok = outcome(in, v, "sts-bad-tlsa-ok");
	if (DELIVERED(stsok))
		verdict(v, RP_BAD, "delivered to sts-ok-tlsa-bad: MTA-STS was "
		    "applied where a signed TLSA record failed (RFC 8461 2)");
	else if (NOT_DELIVERED(bad_pkixbad) || NOT_DELIVERED(bad_pkixok))
		verdict(v, RP_BAD, "%s got nothing although its TLSA record "
		    "matches: MTA-STS was applied instead of DANE",
		    NOT_DELIVERED(bad_pkixbad) ? "sts-bad-tlsa-ok-pkix-bad" :
		    "sts-bad-tlsa-ok");
	else if (PENDING(stsok) || PENDING(bad_pkixbad) || PENDING(bad_pkixok))
		verdict(v, RP_WAITING, "waiting for the sts-*-tlsa-* "
		    "challenges");
	else
		verdict(v, RP_GOOD, "DANE takes precedence over MTA-STS");
}

/* The policy fetches of the test into V's evidence; how many got 200. */
static int
fetches(const struct rp_input *in, struct rp_verdict *v)
{
	size_t i;
	int ok = 0;

	for (i = 0; i < in->nfetches; i++) {
		const struct rp_fetch *f = &in->fetches[i];

		report_evidence(v, "policy_fetches", f->id, f->time,
		    "MTA-STS policy of %s fetched by %s: HTTP %d%s%s",
		    f->challenge != NULL ? f->challenge : "?", f->client_addr,
		    f->status, f->user_agent != NULL ? ", " : "",
		    f->user_agent != NULL ? f->user_agent : "");
		if (f->status == 200)
			ok++;
	}
	return ok;
}

/* Which MX of sts-2mx-NAME got the mail: 0 none, 1 tls-bad, 2 the other. */
static int
mx_of(const struct rp_input *in, struct rp_verdict *v, const char *name)
{
	size_t row;

	if (report_outcome(in, name, &row) != RPO_DELIVERED)
		return 0;
	ev_delivery(v, &in->deliveries[row]);
	return in->deliveries[row].mx;
}

/*
 * MTA-STS (RFC 8461): every sts-* domain publishes an enforce policy
 * that an invalid certificate or cleartext violates; tls-badcert, with
 * the same certificate and no policy, tells enforcement from a sender
 * that refuses invalid certificates anyway.
 */
static void
rule_mtasts(const struct rp_input *in, struct rp_verdict *v)
{
	enum rp_outcome crlf, lf, plain, badcert;
	int fetched, via_tls, via_plain;

	fetched = fetches(in, v);
	crlf = outcome(in, v, "sts-rn");
	if (DELIVERED(crlf)) {
		if (fetched)
			verdict(v, RP_BAD, "fetched the policy but delivered to "
			    "sts-rn over an invalid certificate: not enforced");
		else
			verdict(v, RP_IMPROVE, "no MTA-STS: delivered to sts-rn "
			    "(policy enforce) over an invalid certificate");
		return;
	}
	badcert = outcome(in, v, "tls-badcert");
	if (PENDING(crlf) || PENDING(badcert)) {
		verdict(v, RP_WAITING, "waiting for sts-rn and tls-badcert");
		return;
	}
	if (NOT_DELIVERED(badcert)) {
		if (fetched)
			verdict(v, RP_NOTE, "fetches MTA-STS policies; it refuses "
			    "invalid certificates anyway, so enforcement cannot "
			    "be told apart");
		else
			verdict(v, RP_NOT_MEASURED, "it refuses invalid "
			    "certificates anyway (tls-badcert), and fetched no "
			    "policy");
		return;
	}
	via_tls = mx_of(in, v, "sts-2mx-tls");
	via_plain = mx_of(in, v, "sts-2mx-plain");
	plain = outcome(in, v, "sts-plain");
	lf = outcome(in, v, "sts-n");
	if (DELIVERED(plain) || via_plain == 2)
		verdict(v, RP_BAD, "enforces the certificate but delivered in "
		    "cleartext to an enforce domain (%s)", DELIVERED(plain) ?
		    "sts-plain" : "sts-2mx-plain through plain");
	else if (via_tls == 1)
		verdict(v, RP_BAD, "delivered sts-2mx-tls through the MX with "
		    "the invalid certificate");
	else if (DELIVERED(lf))
		verdict(v, RP_NOTE, "enforces MTA-STS, but delivered to sts-n "
		    "over an invalid certificate: a policy with LF line ends "
		    "was not understood (RFC 8461 3.2 asks for CRLF)");
	else if (via_tls == 0 && PENDING(report_outcome(in, "sts-2mx-tls",
	    NULL)))
		verdict(v, RP_WAITING, "enforces MTA-STS; waiting for "
		    "sts-2mx-tls (fallback to the second MX)");
	else if (via_tls == 0)
		verdict(v, RP_IMPROVE, "enforces MTA-STS but does not fall back "
		    "to the second MX: sts-2mx-tls got nothing");
	else
		verdict(v, RP_GOOD, "enforces MTA-STS: refused sts-rn's invalid "
		    "certificate, fell back to sts-2mx-tls's valid MX%s",
		    fetched ? "" : " (no policy fetch tied to the test)");
}

/* TLS-RPT reports arrive once a day (RFC 8460 4.1): two days' grace. */
#define TLSRPT_GRACE	(2 * 86400.0)

static void
rule_tlsrpt(const struct rp_input *in, struct rp_verdict *v)
{
	const struct rp_tlsrpt *r;
	double deadline = report_deadline(in);
	size_t i;

	for (i = 0; i < in->ntlsrpt; i++) {
		r = &in->tlsrpt[i];
		report_evidence(v, "tlsrpt_reports", r->report_id, r->received,
		    "report %s from %s for %s (%s..%s): %lld successful, "
		    "%lld failed sessions; attributed by %s", r->status,
		    r->organization != NULL ? r->organization : "?",
		    r->policy_domain != NULL ? r->policy_domain : "?",
		    r->date_start != NULL ? r->date_start : "?",
		    r->date_end != NULL ? r->date_end : "?",
		    (long long)r->successful, (long long)r->failed,
		    r->attribution != NULL ? r->attribution : "?");
	}
	if (in->ntlsrpt > 0)
		verdict(v, RP_GOOD, "sends TLS-RPT reports (RFC 8460): %zu "
		    "policy row(s) received", in->ntlsrpt);
	else if (deadline == 0 || in->now < deadline + TLSRPT_GRACE)
		verdict(v, RP_WAITING, "reports come daily; waiting two days "
		    "after the wait");
	else
		verdict(v, RP_IMPROVE, "no TLS-RPT report arrived for the test");
}

/* ---- DNS ---- */

/*
 * The pair whose control (v4 or v6) was delivered, TEST's outcome in
 * *O; NULL if neither control was, *O then says whether that is final.
 */
static const char *
paired(const struct rp_input *in, struct rp_verdict *v, const char *v4test,
    const char *v6test, enum rp_outcome *o)
{
	enum rp_outcome c4 = report_outcome(in, "v4", NULL);
	enum rp_outcome c6 = report_outcome(in, "v6", NULL);

	if (DELIVERED(c4) || DELIVERED(c6)) {
		const char *ctl = DELIVERED(c4) ? "v4" : "v6";
		const char *test = DELIVERED(c4) ? v4test : v6test;

		outcome(in, v, ctl);
		*o = outcome(in, v, test);
		return test;
	}
	*o = PENDING(c4) || PENDING(c6) ? RPO_PENDING : RPO_ABSENT;
	return NULL;
}

static void
rule_resolver_ipv6(const struct rp_input *in, struct rp_verdict *v)
{
	const char *test;
	enum rp_outcome o;
	size_t i;

	for (i = 0; i < in->ndnsq; i++)
		if (in->dnsq[i].family == 6) {
			report_evidence(v, "dns_queries", in->dnsq[i].id,
			    in->dnsq[i].time, "query from %s over IPv6",
			    in->dnsq[i].client_addr);
			verdict(v, RP_GOOD, "its resolver queried the dns "
			    "challenge's name server over IPv6");
			return;
		}
	test = paired(in, v, "v4-dns6", "v6-dns6", &o);
	if (test == NULL) {
		if (PENDING(o))
			verdict(v, RP_WAITING, "waiting for v4 or v6");
		else
			verdict(v, RP_NOT_MEASURED, "neither control (v4, v6) "
			    "was delivered");
	} else if (DELIVERED(o))
		verdict(v, RP_GOOD, "its resolver reaches name servers that "
		    "have only IPv6 addresses (%s)", test);
	else if (NOT_DELIVERED(o))
		verdict(v, RP_IMPROVE, "%s, whose name servers have only IPv6 "
		    "addresses, got nothing: its resolver does not use IPv6",
		    test);
	else
		verdict(v, RP_WAITING, "waiting for %s", test);
}

static void
rule_resolver_dnssec(const struct rp_input *in, struct rp_verdict *v)
{
	const char *test;
	enum rp_outcome o;

	test = paired(in, v, "v4-bogus", "v6-bogus", &o);
	if (test == NULL) {
		if (PENDING(o))
			verdict(v, RP_WAITING, "waiting for v4 or v6");
		else
			verdict(v, RP_NOT_MEASURED, "neither control (v4, v6) "
			    "was delivered, so a delivery to a bogus zone proves "
			    "nothing");
	} else if (DELIVERED(o))
		verdict(v, RP_IMPROVE, "its resolver does not validate DNSSEC: "
		    "%s, whose signatures do not validate, got mail", test);
	else if (NOT_DELIVERED(o))
		verdict(v, RP_GOOD, "its resolver validates DNSSEC: %s, whose "
		    "signatures do not validate, got nothing", test);
	else
		verdict(v, RP_WAITING, "waiting for %s", test);
}

/*
 * Nothing analysed yet, or the analyses found nothing of the kind.  When
 * no message has results and an analysis ended in an error of ours
 * ("interrupted" by a crash, "skipped: ..."), the verdict says so.
 */
static void
unanalysed(const struct rp_input *in, struct rp_verdict *v,
    const char *what)
{
	const char *error = NULL;
	size_t i;

	for (i = 0; i < in->nmessages; i++) {
		if (!in->messages[i].finished) {
			verdict(v, RP_WAITING, "the analysis is still running");
			return;
		}
		if (in->messages[i].have_message)
			error = "";
		else if (error == NULL)
			error = in->messages[i].error;
	}
	if (in->nmessages == 0)
		nothing(in, v, "nothing was delivered");
	else if (error != NULL && *error != '\0')
		verdict(v, RP_NOT_MEASURED, "%s: the analysis ended without "
		    "results (%s)", what, error);
	else
		verdict(v, RP_NOT_MEASURED, "%s", what);
}

static void
rule_zones_dnssec(const struct rp_input *in, struct rp_verdict *v)
{
	enum rp_state worst = RP_GOOD;
	const struct rp_zone *z;
	size_t i;

	for (i = 0; i < in->nzones; i++) {
		z = &in->zones[i];
		report_evidence(v, "sender_zones", z->transaction_id, 0,
		    "%s %s (zone %s): %s%s%s", z->role, z->name,
		    z->zone != NULL ? z->zone : "?", z->dnssec,
		    z->dnssec_error != NULL ? ", " : "",
		    z->dnssec_error != NULL ? z->dnssec_error : "");
		if (strcmp(z->dnssec, "bogus") == 0)
			worst = RP_BAD;
		else if (strcmp(z->dnssec, "insecure") == 0 && worst != RP_BAD)
			worst = RP_IMPROVE;
		else if (strcmp(z->dnssec, "secure") != 0 && worst == RP_GOOD)
			worst = RP_NOTE;
	}
	if (in->nzones == 0)
		unanalysed(in, v, "no zone of the sender was examined");
	else if (worst == RP_GOOD)
		verdict(v, RP_GOOD, "every zone of the sender is DNSSEC-signed");
	else if (worst == RP_BAD)
		verdict(v, RP_BAD, "a zone of the sender does not validate "
		    "(bogus): validating receivers reject its mail");
	else if (worst == RP_IMPROVE)
		verdict(v, RP_IMPROVE, "a zone of the sender is not signed");
	else
		verdict(v, RP_NOTE, "the DNSSEC status of a zone could not be "
		    "determined");
}

static void
rule_zones_ipv6(const struct rp_input *in, struct rp_verdict *v)
{
	const struct rp_zone *z;
	int known = 0, missing = 0;
	size_t i;

	for (i = 0; i < in->nzones; i++) {
		z = &in->zones[i];
		if (z->ipv6_ns == -1)
			continue;
		known++;
		if (z->ipv6_ns == 0) {
			missing++;
			report_evidence(v, "sender_zones", z->transaction_id, 0,
			    "%s %s: a zone on its path has no name server "
			    "with an IPv6 address", z->role, z->name);
		}
	}
	if (known == 0)
		unanalysed(in, v, "the name servers of the sender's zones were "
		    "not examined");
	else if (missing > 0)
		verdict(v, RP_IMPROVE, "%d of the sender's names cannot be "
		    "resolved by an IPv6-only resolver", missing);
	else
		verdict(v, RP_GOOD, "every zone of the sender has a name server "
		    "with an IPv6 address");
}

/* The resolver(s) of the dns challenge: facts, not scored. */
static void
rule_resolver(const struct rp_input *in, struct rp_verdict *v)
{
	int v6 = 0, dobit = 0, minimised = 0, tcp = 0, edns = 0;
	size_t i;

	for (i = 0; i < in->ndnsq; i++) {
		const struct rp_dnsq *q = &in->dnsq[i];

		if (i < 8)
			report_evidence(v, "dns_queries", q->id, q->time,
			    "%s over IPv%d/%s: %s type %d%s%s", q->client_addr,
			    q->family, q->tcp ? "TCP" : "UDP",
			    q->qname != NULL ? q->qname : "?", q->qtype,
			    q->do_bit ? ", DO" : "",
			    q->minimised ? ", minimised" : "");
		v6 |= q->family == 6;
		dobit |= q->do_bit;
		minimised |= q->minimised;
		tcp |= q->tcp;
		edns |= q->edns;
	}
	if (in->ndnsq == 0) {
		if (PENDING(report_outcome(in, "dns", NULL)))
			verdict(v, RP_WAITING, "no query for the dns challenge "
			    "yet");
		else
			verdict(v, RP_NOT_MEASURED, "no resolver queried the "
			    "dns challenge's name server");
		return;
	}
	verdict(v, RP_NOTE, "%zu queries: IPv6 %s, EDNS %s, DO bit %s, QNAME "
	    "minimisation %s, TCP %s", in->ndnsq, v6 ? "yes" : "no",
	    edns ? "yes" : "no", dobit ? "yes" : "no",
	    minimised ? "yes" : "no", tcp ? "yes" : "no");
}

/* ---- Sender authentication ---- */

/* The first message whose analysis finished, or NULL. */
static const struct rp_message *
analysed(const struct rp_input *in)
{
	size_t i;

	for (i = 0; i < in->nmessages; i++)
		if (in->messages[i].finished)
			return &in->messages[i];
	return NULL;
}

static int
is(const char *s, const char *what)
{
	return s != NULL && strcmp(s, what) == 0;
}

static void
rule_spf(const struct rp_input *in, struct rp_verdict *v)
{
	const struct rp_message *m = analysed(in);
	const struct rp_spf *s, *mf = NULL;
	size_t i;

	for (i = 0; m != NULL && i < in->nspf; i++) {
		s = &in->spf[i];
		if (s->transaction_id != m->transaction_id)
			continue;
		report_evidence(v, "spf_results", s->transaction_id, 0,
		    "%s %s: %s, %d DNS lookups%s%s", s->identity,
		    s->domain != NULL ? s->domain : "(none)", s->result,
		    s->dns_lookups, s->error != NULL ? ", " : "",
		    s->error != NULL ? s->error : "");
		if (is(s->identity, "mailfrom"))
			mf = s;
	}
	if (mf == NULL)
		unanalysed(in, v, "no SPF result for MAIL FROM");
	else if (mf->dns_lookups > 10)
		verdict(v, RP_BAD, "the SPF record needs %d DNS lookups; RFC 7208 "
		    "4.6.4 allows 10", mf->dns_lookups);
	else if (is(mf->result, "pass"))
		verdict(v, RP_GOOD, "SPF passes for %s (%d DNS lookups)",
		    mf->domain != NULL ? mf->domain : "MAIL FROM",
		    mf->dns_lookups);
	else if (is(mf->result, "fail") || is(mf->result, "permerror"))
		verdict(v, RP_BAD, "SPF %s for %s", mf->result,
		    mf->domain != NULL ? mf->domain : "MAIL FROM");
	else if (is(mf->result, "temperror"))
		verdict(v, RP_NOTE, "SPF could not be checked (temperror)");
	else
		verdict(v, RP_IMPROVE, "SPF %s for %s: the sending address is "
		    "not authorized", mf->result,
		    mf->domain != NULL ? mf->domain : "MAIL FROM");
}

static void
rule_dkim(const struct rp_input *in, struct rp_verdict *v)
{
	const struct rp_message *m = analysed(in);
	const struct rp_dkim_sig *d, *weak = NULL;
	size_t i;

	for (i = 0; m != NULL && i < in->ndkim; i++) {
		d = &in->dkim[i];
		if (d->transaction_id != m->transaction_id)
			continue;
		report_evidence(v, "dkim_signatures", d->transaction_id, 0,
		    "d=%s s=%s %s %d bits: %s%s%s",
		    d->domain != NULL ? d->domain : "?",
		    d->selector != NULL ? d->selector : "?",
		    d->algorithm != NULL ? d->algorithm : "?", d->key_bits,
		    d->result, d->error != NULL ? ", " : "",
		    d->error != NULL ? d->error : "");
		if (is(d->result, "pass") && d->algorithm != NULL &&
		    strncmp(d->algorithm, "rsa-", 4) == 0 &&
		    d->key_bits >= 0 && d->key_bits < 2048)
			weak = d;
	}
	if (m == NULL || m->dkim_result == NULL)
		unanalysed(in, v, "no DKIM result");
	else if (is(m->dkim_result, "pass") && weak != NULL)
		verdict(v, weak->key_bits < 1024 ? RP_BAD : RP_IMPROVE,
		    "DKIM passes, with a %d-bit RSA key (RFC 8301: at least "
		    "1024, 2048 recommended)", weak->key_bits);
	else if (is(m->dkim_result, "pass"))
		verdict(v, RP_GOOD, "DKIM passes (%d signature(s))",
		    m->dkim_signatures);
	else if (is(m->dkim_result, "none"))
		verdict(v, RP_IMPROVE, "the message is not DKIM-signed");
	else if (is(m->dkim_result, "temperror"))
		verdict(v, RP_NOTE, "DKIM could not be checked (temperror)");
	else
		verdict(v, RP_BAD, "DKIM %s", m->dkim_result);
}

static void
rule_dmarc(const struct rp_input *in, struct rp_verdict *v)
{
	const struct rp_message *m = analysed(in);

	if (m == NULL || m->dmarc_result == NULL) {
		unanalysed(in, v, "no DMARC result");
		return;
	}
	report_evidence(v, "dmarc_results", m->transaction_id, 0,
	    "%s: %s, p=%s, policy %s, SPF aligned %d, DKIM aligned %d",
	    m->dmarc_domain != NULL ? m->dmarc_domain : "(no record)",
	    m->dmarc_result, m->dmarc_p != NULL ? m->dmarc_p : "-",
	    m->dmarc_policy != NULL ? m->dmarc_policy : "-",
	    m->dmarc_spf_aligned, m->dmarc_dkim_aligned);
	if (is(m->dmarc_result, "pass") && (is(m->dmarc_policy, "reject") ||
	    is(m->dmarc_policy, "quarantine")))
		verdict(v, RP_GOOD, "DMARC passes with policy %s",
		    m->dmarc_policy);
	else if (is(m->dmarc_result, "pass"))
		verdict(v, RP_IMPROVE, "DMARC passes, but policy %s only "
		    "monitors", m->dmarc_policy != NULL ? m->dmarc_policy :
		    "none");
	else if (is(m->dmarc_result, "none"))
		verdict(v, RP_IMPROVE, "the From domain publishes no DMARC "
		    "record");
	else if (is(m->dmarc_result, "temperror"))
		verdict(v, RP_NOTE, "DMARC could not be checked (temperror)");
	else
		verdict(v, RP_BAD, "DMARC %s: neither SPF nor DKIM passes for "
		    "an aligned domain", m->dmarc_result);
}

static void
rule_dmarc_reports(const struct rp_input *in, struct rp_verdict *v)
{
	const struct rp_message *m = analysed(in);
	const struct rp_dmarc_dest *d, *refused = NULL;
	int rua = 0;
	size_t i;

	if (m == NULL || m->dmarc_result == NULL) {
		unanalysed(in, v, "no DMARC result");
		return;
	}
	for (i = 0; i < in->ndests; i++) {
		d = &in->dests[i];
		if (d->transaction_id != m->transaction_id)
			continue;
		report_evidence(v, "dmarc_destinations", d->transaction_id, 0,
		    "%s %s: %s%s", d->tag, d->uri,
		    d->external == 1 ? "another domain, " : "",
		    d->authorized == 1 ? "authorized" : d->authorized == 0 ?
		    "not authorized" : "no authorization needed or known");
		rua += is(d->tag, "rua");
		if (d->external == 1 && d->authorized == 0)
			refused = d;
	}
	if (is(m->dmarc_result, "none"))
		verdict(v, RP_NOT_MEASURED, "no DMARC record");
	else if (refused != NULL)
		verdict(v, RP_BAD, "%s goes to another domain that has not "
		    "authorized it (RFC 7489 7.1): no reports reach it",
		    refused->uri);
	else if (rua > 0)
		verdict(v, RP_GOOD, "asks for aggregate reports (%d rua "
		    "address(es))", rua);
	else
		verdict(v, RP_IMPROVE, "the DMARC record asks for no aggregate "
		    "reports (rua)");
}

/* ---- Message ---- */

/* The findings named WHAT into V's evidence; how many. */
static int
findings(const struct rp_input *in, struct rp_verdict *v, const char *what)
{
	const struct rp_finding *f;
	size_t i;
	int n = 0;

	for (i = 0; i < in->nfindings; i++) {
		f = &in->findings[i];
		if (!is(f->finding, what))
			continue;
		report_evidence(v, "header_findings", f->id, 0, "%s: %s (%d)",
		    f->finding, f->field != NULL ? f->field : "?", f->count);
		n++;
	}
	return n;
}

static void
rule_dup_headers(const struct rp_input *in, struct rp_verdict *v)
{
	if (analysed(in) == NULL)
		unanalysed(in, v, "no message was analysed");
	else if (findings(in, v, "dup") > 0)
		verdict(v, RP_BAD, "a field that may appear once appears more "
		    "often (RFC 5322 3.6)");
	else
		verdict(v, RP_GOOD, "no duplicate single-instance header field");
}

static void
rule_missing_headers(const struct rp_input *in, struct rp_verdict *v)
{
	if (analysed(in) == NULL)
		unanalysed(in, v, "no message was analysed");
	else if (findings(in, v, "missing") > 0)
		verdict(v, RP_BAD, "a required header field (Date, From) is "
		    "missing (RFC 5322 3.6)");
	else if (findings(in, v, "missing_recommended") > 0)
		verdict(v, RP_IMPROVE, "a recommended header field "
		    "(Message-ID) is missing");
	else
		verdict(v, RP_GOOD, "every required and recommended header field "
		    "is there");
}

static void
rule_from_alignment(const struct rp_input *in, struct rp_verdict *v)
{
	const struct rp_message *m = analysed(in);

	if (m == NULL || !m->have_message || m->from_matches == -1) {
		unanalysed(in, v, "the From and MAIL FROM domains were not "
		    "compared");
		return;
	}
	report_evidence(v, "messages", m->transaction_id, 0,
	    "MAIL FROM domain %s, header From domain %s",
	    m->envelope_domain != NULL ? m->envelope_domain : "(none)",
	    m->from_domain != NULL ? m->from_domain : "(none)");
	if (m->from_matches == 1)
		verdict(v, RP_GOOD, "MAIL FROM and From have the same domain");
	else if (m->dmarc_spf_aligned == 1)
		verdict(v, RP_GOOD, "MAIL FROM and From share their "
		    "organizational domain (DMARC-aligned)");
	else
		verdict(v, RP_NOTE, "MAIL FROM and From are in different "
		    "domains: SPF cannot align for DMARC");
}

static void
rule_bare_lf(const struct rp_input *in, struct rp_verdict *v)
{
	const struct rp_delivery *d;
	size_t i;
	int found = 0;

	for (i = 0; i < in->ndeliveries; i++) {
		d = &in->deliveries[i];
		if (d->bare_lf == 0 && d->bare_cr == 0 && d->nul_bytes == 0)
			continue;
		report_evidence(v, "transactions", d->transaction_id,
		    d->received, "%s: %lld bare LF, %lld bare CR, %lld NUL",
		    d->challenge, (long long)d->bare_lf, (long long)d->bare_cr,
		    (long long)d->nul_bytes);
		found = 1;
	}
	if (found)
		verdict(v, RP_BAD, "sends bare LF, bare CR or NUL in the data "
		    "(RFC 5321 2.3.8): receivers that read them as line ends "
		    "are open to SMTP smuggling");
	else if (in->ndeliveries > 0)
		verdict(v, RP_GOOD, "every line ends in CRLF");
	else
		nothing(in, v, "nothing was delivered");
}

/* ---- Beyond: facts, not scored ---- */

/* The first connection with a ClientHello, or NULL. */
static const struct rp_conn *
hello(const struct rp_input *in)
{
	size_t i;

	for (i = 0; i < in->nconns; i++)
		if (in->conns[i].ch_versions != NULL ||
		    in->conns[i].ch_groups != NULL)
			return &in->conns[i];
	return NULL;
}

/* The number of comma-separated items in S. */
static int
items(const char *s)
{
	int n = 1;

	if (s == NULL || *s == '\0')
		return 0;
	while ((s = strchr(s, ',')) != NULL) {
		n++;
		s++;
	}
	return n;
}

static void
no_hello(const struct rp_input *in, struct rp_verdict *v)
{
	nothing(in, v, "no TLS handshake was seen");
}

static void
rule_fingerprint(const struct rp_input *in, struct rp_verdict *v)
{
	const struct rp_conn *c = hello(in);

	if (c == NULL) {
		no_hello(in, v);
		return;
	}
	ev_conn(v, c, "ClientHello");
	verdict(v, RP_NOTE, "offers versions %s, %d suites, groups %s%s%s",
	    c->ch_versions != NULL ? c->ch_versions : "?", items(c->ch_ciphers),
	    c->ch_groups != NULL ? c->ch_groups : "none",
	    c->ch_alpn != NULL ? ", ALPN " : "",
	    c->ch_alpn != NULL ? c->ch_alpn : "");
}

/* Hybrid post-quantum groups (IANA TLS Supported Groups). */
static const struct {
	const char	*code;
	const char	*name;
} pq_groups[] = {
	{ "4587", "SecP256r1MLKEM768" },
	{ "4588", "X25519MLKEM768" },
	{ "4589", "SecP384r1MLKEM1024" },
	{ "25497", "X25519Kyber768Draft00" },
};

/* Whether the comma-separated list LIST holds ITEM. */
static int
listed(const char *list, const char *item)
{
	size_t n = strlen(item);
	const char *p = list;

	while ((p = strstr(p, item)) != NULL) {
		if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

static void
rule_pq(const struct rp_input *in, struct rp_verdict *v)
{
	const struct rp_conn *c = hello(in);
	size_t i;

	if (c == NULL) {
		no_hello(in, v);
		return;
	}
	ev_conn(v, c, "ClientHello");
	for (i = 0; c->ch_groups != NULL &&
	    i < sizeof(pq_groups) / sizeof(pq_groups[0]); i++)
		if (listed(c->ch_groups, pq_groups[i].code)) {
			verdict(v, RP_GOOD, "offers post-quantum hybrid key "
			    "exchange (%s); negotiated %s", pq_groups[i].name,
			    c->tls_group != NULL ? c->tls_group : "none");
			return;
		}
	verdict(v, RP_NOTE, "offers no post-quantum key exchange; negotiated "
	    "%s", c->tls_group != NULL ? c->tls_group : "none");
}

static void
rule_sni(const struct rp_input *in, struct rp_verdict *v)
{
	const struct rp_conn *c = hello(in);
	size_t i;

	for (i = 0; i < in->nconns; i++)
		if (in->conns[i].tls_sni != NULL) {
			ev_conn(v, &in->conns[i], "SNI");
			verdict(v, RP_GOOD, "sends SNI (%s)", in->conns[i].tls_sni);
			return;
		}
	if (c == NULL)
		no_hello(in, v);
	else {
		ev_conn(v, c, "ClientHello without SNI");
		verdict(v, RP_NOTE, "sends no SNI");
	}
}

static void
rule_resumption(const struct rp_input *in, struct rp_verdict *v)
{
	size_t i;

	for (i = 0; i < in->nconns; i++)
		if (in->conns[i].tls_resumed == 1) {
			ev_conn(v, &in->conns[i], "resumed TLS session");
			verdict(v, RP_NOTE, "resumes TLS sessions");
			return;
		}
	if (hello(in) == NULL)
		no_hello(in, v);
	else
		verdict(v, RP_NOTE, "no resumed TLS session seen");
}

static void
rule_extensions(const struct rp_input *in, struct rp_verdict *v)
{
	size_t i;

	for (i = 0; i < in->nconns; i++)
		if (in->conns[i].extensions != NULL &&
		    in->conns[i].extensions[0] != '\0') {
			ev_conn(v, &in->conns[i], "ESMTP extensions");
			verdict(v, RP_NOTE, "uses %s", in->conns[i].extensions);
			return;
		}
	if (in->nconns == 0)
		nothing(in, v, "no connection was seen");
	else
		verdict(v, RP_NOTE, "uses no ESMTP extension");
}

static void
rule_ipv6_preference(const struct rp_input *in, struct rp_verdict *v)
{
	int n4 = 0, n6 = 0;
	size_t i;

	for (i = 0; i < in->ndeliveries; i++) {
		if (!is_dual(in->deliveries[i].challenge))
			continue;
		if (in->deliveries[i].family == 6)
			n6++;
		else
			n4++;
		if (n4 + n6 <= 4)
			ev_delivery(v, &in->deliveries[i]);
	}
	if (n4 + n6 == 0)
		nothing(in, v, "nothing was delivered to a dual-stack MX");
	else if (n4 == 0)
		verdict(v, RP_GOOD, "prefers IPv6 where the MX has both (%d of "
		    "%d)", n6, n6);
	else
		verdict(v, RP_NOTE, "used IPv6 for %d of %d deliveries to MX "
		    "hosts with both families", n6, n4 + n6);
}

static void
rule_reverse_dns(const struct rp_input *in, struct rp_verdict *v)
{
	const struct rp_message *m = analysed(in);

	if (m == NULL || m->ptr_status == NULL) {
		unanalysed(in, v, "the sending address's reverse DNS was not "
		    "examined");
		return;
	}
	report_evidence(v, "client_dns", m->transaction_id, 0,
	    "PTR %s (%s), forward-confirmed %s",
	    m->ptr != NULL ? m->ptr : "none", m->ptr_status,
	    m->fcrdns == 1 ? "yes" : m->fcrdns == 0 ? "no" : "unknown");
	if (m->fcrdns == 1)
		verdict(v, RP_GOOD, "the sending address has a PTR name that "
		    "resolves back to it (%s)", m->ptr);
	else if (m->fcrdns == 0 || m->ptr == NULL)
		verdict(v, RP_IMPROVE, "the sending address has no "
		    "forward-confirmed reverse DNS name");
	else
		verdict(v, RP_NOTE, "the reverse DNS check failed (%s)",
		    m->ptr_status);
}

/*
 * The shares of the published measurement (docs/report.md): Holzbauer,
 * Ullrich, Lindorfer, Fiebig, "Not that Simple: Email Delivery in the
 * 21st Century", USENIX ATC 2022.
 */
#define STUDY(share, what)	share " % of the mail providers studied " what \
	" (USENIX ATC 2022)"

static const struct rp_rule rules[] = {
	{ "ipv4", RPG_DELIVERY, "Delivers over IPv4", "deliveries",
	    10, NULL, rule_ipv4 },
	{ "ipv6", RPG_DELIVERY, "Delivers over IPv6",
	    "deliveries; v6 (IPv6-only MX)", 6,
	    STUDY("44.3", "deliver over IPv6"), rule_ipv6 },
	{ "greylisting", RPG_DELIVERY, "Retries after greylisting",
	    "greylist_attempts of grey-v4, grey-v6", 8, NULL,
	    rule_greylisting },
	{ "plaintext", RPG_TRANSPORT, "Cleartext where STARTTLS is missing",
	    "plaintext", 0, NULL, rule_plaintext },
	{ "starttls", RPG_TRANSPORT, "STARTTLS", "deliveries; tls", 15, NULL,
	    rule_starttls },
	{ "tls13", RPG_TRANSPORT, "TLS 1.3", "deliveries; tls13", 6, NULL,
	    rule_tls13 },
	{ "requires_tls13", RPG_TRANSPORT, "Still delivers without TLS 1.3",
	    "tls13, tls12", 1, NULL, rule_requires_tls13 },
	{ "strong_ciphers", RPG_TRANSPORT, "Strong suites", "tls, strong", 6,
	    NULL, rule_strong },
	{ "medium_ciphers", RPG_TRANSPORT, "Medium suites accepted",
	    "tls, medium", 1, NULL, rule_medium },
	{ "cert_validation", RPG_TRANSPORT, "Certificate validation",
	    "tls, tls-badcert", 2, STUDY("89.7", "accept invalid certificates"),
	    rule_cert },
	{ "dane", RPG_TRANSPORT, "DANE validation",
	    "tls, tlsa-bad, tlsa-ok-pkix-bad, tls-badcert", 6,
	    STUDY("31.7", "use TLSA (DANE)"), rule_dane },
	{ "dane_requires_dnssec", RPG_TRANSPORT, "DANE ignores unsigned TLSA",
	    "tls, tlsa-bad-insecure-pkix-ok, tlsa-bad-insecure, tls-badcert",
	    4, NULL, rule_dane_dnssec },
	{ "dane_over_pkix", RPG_TRANSPORT, "DANE over PKIX",
	    "dane; tlsa-bad-pkix-ok", 2, NULL, rule_dane_pkix },
	{ "dane_over_mtasts", RPG_TRANSPORT, "DANE over MTA-STS",
	    "dane; sts-ok-tlsa-bad, sts-bad-tlsa-ok-pkix-bad, sts-bad-tlsa-ok",
	    2, NULL, rule_dane_mtasts },
	{ "mtasts", RPG_TRANSPORT, "MTA-STS",
	    "policy_fetches; sts-rn, sts-n, sts-plain, sts-2mx-tls, "
	    "sts-2mx-plain, tls-badcert", 5, NULL, rule_mtasts },
	{ "tlsrpt", RPG_TRANSPORT, "TLS-RPT report received",
	    "tlsrpt_policies attributed to the test", 2, NULL, rule_tlsrpt },
	{ "resolver_ipv6", RPG_DNS, "Resolver uses IPv6",
	    "dns_queries; v4-dns6, v6-dns6 with v4, v6", 4,
	    STUDY("65.4", "resolve over IPv6"), rule_resolver_ipv6 },
	{ "resolver_dnssec", RPG_DNS, "Resolver validates DNSSEC",
	    "v4-bogus, v6-bogus with v4, v6", 8,
	    STUDY("41.5", "use DNSSEC-validating resolvers"),
	    rule_resolver_dnssec },
	{ "resolver_details", RPG_DNS, "Resolver details", "dns_queries", 0,
	    NULL, rule_resolver },
	{ "sender_zones_dnssec", RPG_DNS, "Sender's zones signed",
	    "sender_zones", 4, NULL, rule_zones_dnssec },
	{ "sender_zones_ipv6", RPG_DNS, "Sender's zones on IPv6 name servers",
	    "sender_zones", 2, NULL, rule_zones_ipv6 },
	{ "spf", RPG_AUTH, "SPF", "spf_results", 8, NULL, rule_spf },
	{ "dkim", RPG_AUTH, "DKIM", "dkim_results, dkim_signatures", 8, NULL,
	    rule_dkim },
	{ "dmarc", RPG_AUTH, "DMARC", "dmarc_results", 8, NULL, rule_dmarc },
	{ "dmarc_reports", RPG_AUTH, "DMARC report addresses",
	    "dmarc_destinations", 2, NULL, rule_dmarc_reports },
	{ "duplicate_headers", RPG_MESSAGE, "Duplicate header fields",
	    "header_findings", 3, NULL, rule_dup_headers },
	{ "missing_headers", RPG_MESSAGE, "Missing header fields",
	    "header_findings", 4, NULL, rule_missing_headers },
	{ "from_alignment", RPG_MESSAGE, "MAIL FROM and From domains",
	    "messages, dmarc_results", 2, NULL, rule_from_alignment },
	{ "bare_lf", RPG_MESSAGE, "Bare LF, bare CR", "transactions", 5, NULL,
	    rule_bare_lf },
	{ "tls_fingerprint", RPG_BEYOND, "TLS fingerprint", "connections", 0,
	    NULL, rule_fingerprint },
	{ "pq_kex", RPG_BEYOND, "Post-quantum key exchange", "connections", 0,
	    NULL, rule_pq },
	{ "sni", RPG_BEYOND, "SNI", "connections", 0, NULL, rule_sni },
	{ "resumption", RPG_BEYOND, "TLS session resumption", "connections",
	    0, NULL, rule_resumption },
	{ "extensions", RPG_BEYOND, "ESMTP extensions used", "connections", 0,
	    NULL, rule_extensions },
	{ "ipv6_preference", RPG_BEYOND, "IPv6 preference on dual-stack MX",
	    "deliveries", 0, NULL, rule_ipv6_preference },
	{ "reverse_dns", RPG_BEYOND, "Reverse DNS of the sending address",
	    "client_dns", 0, NULL, rule_reverse_dns },
};
#define NRULES	(sizeof(rules) / sizeof(rules[0]))

const struct rp_rule *
report_rules(size_t *n)
{
	*n = NRULES;
	return rules;
}

int
report_build(const struct rp_input *in, struct rp_report *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	out->in = in;
	if ((out->verdicts = calloc(NRULES, sizeof(*out->verdicts))) == NULL)
		return -1;
	out->nverdicts = NRULES;
	for (i = 0; i < NRULES; i++) {
		out->verdicts[i].rule = &rules[i];
		rules[i].fn(in, &out->verdicts[i]);
	}
	report_score(out);
	return 0;
}

void
report_free(struct rp_report *r)
{
	size_t i;

	for (i = 0; i < r->nverdicts; i++)
		free(r->verdicts[i].evidence);
	free(r->verdicts);
	memset(r, 0, sizeof(*r));
}
