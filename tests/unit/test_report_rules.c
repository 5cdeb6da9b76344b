/*
 * Unit tests of the verdict rules (report_rules.c) and the score
 * (report_score.c) over synthetic rows: every state of every rule, and
 * the tricky cases of the issue (a greylist retry from another address,
 * IPv6 only through the dual-stack host, a bogus zone delivered without
 * its control, DANE with contradicting controls).
 */
#include "build.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "catalog.h"
#include "report.h"

#define T0	1000.0		/* the first contact */
#define WAIT	3600.0
#define BEFORE	(T0 + 60)	/* a "now" before the wait is over */
#define AFTER	(T0 + WAIT + 1)	/* and after */
#define V4	"192.0.2.10"
#define V6	"2001:db8::10"

/* Grows array *P of *N elements by one zeroed element; returns it. */
static void *
grow(void *p, size_t *n, size_t size, void **out)
{
	char *q = realloc(p, (*n + 1) * size);

	assert_non_null(q);
	memset(q + *n * size, 0, size);
	*out = q + *n * size;
	(*n)++;
	return q;
}
#define ADD(in, arr, n, elem)						\
	((in)->arr = grow((in)->arr, &(in)->n, sizeof(*(in)->arr),	\
	    (void **)&(elem)))

static char *
dup(const char *s)
{
	char *d;

	if (s == NULL)
		return NULL;
	assert_non_null(d = strdup(s));
	return d;
}

static struct rp_input *
input(double now)
{
	struct rp_input *in = calloc(1, sizeof(*in));

	assert_non_null(in);
	strcpy(in->test_id, "aaaaaaaaaaaaaaaaaaaaaaaaaa");
	in->base = dup("example.net");
	in->created = T0 - 100;
	in->now = now;
	in->wait = WAIT;
	return in;
}

static int64_t next_id = 1;

/* A delivery to CHALLENGE over FAMILY, TLS version TLS (NULL: none). */
static struct rp_delivery *
deliver(struct rp_input *in, const char *challenge, int family,
    const char *tls)
{
	const struct catalog_challenge *ch = catalog_challenge(challenge);
	struct rp_delivery *d;

	assert_non_null(ch);
	ADD(in, deliveries, ndeliveries, d);
	d->recipient_id = next_id++;
	d->transaction_id = next_id++;
	d->connection_id = next_id++;
	d->challenge = dup(challenge);
	d->address = dup("measure+x@example.net");
	d->received = T0 + (double)in->ndeliveries;
	d->host = dup(ch->hosts[0]);
	d->mx = 1;
	d->family = family;
	d->client_addr = dup(family == 6 ? V6 : V4);
	d->mail_from = dup("a@sender.example");
	d->tls = tls != NULL;
	d->tls_version = dup(tls);
	d->tls_cipher = dup(tls != NULL ? "TLS_AES_256_GCM_SHA384" : NULL);
	d->analysed = 1;
	return d;
}

/* A connection to CHALLENGE's own address that ended without MAIL. */
static struct rp_conn *
connect_to(struct rp_input *in, const char *challenge, double started)
{
	const struct catalog_challenge *ch = catalog_challenge(challenge);
	struct rp_conn *c;

	assert_non_null(ch);
	ADD(in, conns, nconns, c);
	c->id = next_id++;
	c->started = started;
	c->ended = started + 1;
	c->host = dup(ch->hosts[0]);
	c->local_addr = dup("127.0.0.1:2525");
	c->client_addr = dup(V4);
	c->family = 4;
	c->challenge = dup(challenge);
	c->reason = dup("address");
	c->helo = dup("mx.sender.example");
	c->tls_resumed = -1;
	return c;
}

/* A refusal: STARTTLS, then the client's alert bad certificate. */
static void
refuse(struct rp_input *in, const char *challenge)
{
	struct rp_conn *c = connect_to(in, challenge, T0 + 5);

	c->starttls = 1;
	c->tls_alert_received = dup("bad certificate");
}

/* Any contact at T0 (the wait counts from it). */
static void
contact(struct rp_input *in)
{
	struct rp_conn *c = connect_to(in, "v4", T0);

	c->challenge[0] = '\0';	/* no challenge: proves nothing */
	c->ended = 0;
}

static void
grey(struct rp_input *in, const char *rcpt, const char *addr, double t,
    int accepted)
{
	struct rp_grey *g;

	ADD(in, grey, ngrey, g);
	g->id = next_id++;
	g->connection_id = next_id++;
	g->rcpt = dup(rcpt);
	g->mail_from = dup("a@sender.example");
	g->client_addr = dup(addr);
	g->time = t;
	g->accepted = accepted;
}

/* The analysis of delivery D, finished. */
static struct rp_message *
message(struct rp_input *in, const struct rp_delivery *d)
{
	struct rp_message *m;

	ADD(in, messages, nmessages, m);
	m->transaction_id = d->transaction_id;
	m->finished = 1;
	m->from_matches = -1;
	m->dmarc_pct = -1;
	m->dmarc_spf_aligned = -1;
	m->dmarc_dkim_aligned = -1;
	m->fcrdns = -1;
	return m;
}

/* The state of verdict KEY for IN; frees IN. */
static enum rp_state
state_of(struct rp_input *in, const char *key, char *reason, size_t len)
{
	struct rp_report r;
	enum rp_state s = RP_NSTATES;
	size_t i;

	assert_int_equal(report_build(in, &r), 0);
	for (i = 0; i < r.nverdicts; i++)
		if (strcmp(r.verdicts[i].rule->key, key) == 0) {
			s = r.verdicts[i].state;
			if (reason != NULL)
				snprintf(reason, len, "%s",
				    r.verdicts[i].reason);
		}
	report_free(&r);
	report_input_free(in);
	free(in);
	assert_int_not_equal(s, RP_NSTATES);
	return s;
}
#define STATE(in, key)	state_of((in), (key), NULL, 0)

static void
table_has_every_key_of_challenges_md(void **state)
{
	static const char *const keys[] = { "ipv4", "ipv6", "greylisting",
	    "plaintext", "starttls", "tls13", "requires_tls13",
	    "strong_ciphers", "medium_ciphers", "cert_validation", "dane",
	    "dane_requires_dnssec", "dane_over_pkix", "dane_over_mtasts",
	    "mtasts", "tlsrpt", "resolver_ipv6", "resolver_dnssec",
	    "sender_zones_dnssec", "sender_zones_ipv6", "spf", "dkim", "dmarc",
	    "dmarc_reports", "duplicate_headers", "missing_headers",
	    "from_alignment", "bare_lf" };
	const struct rp_rule *r;
	size_t i, j, n;

	(void)state;
	r = report_rules(&n);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		for (j = 0; j < n; j++)
			if (strcmp(r[j].key, keys[i]) == 0)
				break;
		if (j == n)
			fail_msg("no rule for %s", keys[i]);
		assert_true(r[j].weight > 0 || strcmp(keys[i], "plaintext") == 0);
	}
	for (j = 0; j < n; j++) {
		assert_non_null(r[j].title);
		assert_non_null(r[j].fn);
		if (r[j].group == RPG_BEYOND)
			assert_int_equal(r[j].weight, 0);
		for (i = j + 1; i < n; i++)
			assert_string_not_equal(r[j].key, r[i].key);
	}
}

static void
nothing_yet_is_waiting_everywhere(void **state)
{
	struct rp_input *in = input(T0 + 10 * WAIT);
	struct rp_report r;
	size_t i;

	(void)state;
	assert_int_equal(report_build(in, &r), 0);
	for (i = 0; i < r.nverdicts; i++)
		if (r.verdicts[i].state != RP_WAITING)
			fail_msg("%s is %s without any contact",
			    r.verdicts[i].rule->key,
			    report_state_name(r.verdicts[i].state));
	assert_int_equal(r.score, -1);
	report_free(&r);
	report_input_free(in);
	free(in);
}

static void
ipv4_states(void **state)
{
	struct rp_input *in;

	(void)state;
	in = input(BEFORE);
	deliver(in, "v4", 4, NULL);
	assert_int_equal(STATE(in, "ipv4"), RP_GOOD);
	in = input(BEFORE);
	deliver(in, "v6", 6, NULL);
	assert_int_equal(STATE(in, "ipv4"), RP_WAITING);
	in = input(AFTER);
	deliver(in, "v6", 6, NULL);
	assert_int_equal(STATE(in, "ipv4"), RP_BAD);
	in = input(AFTER);
	contact(in);
	assert_int_equal(STATE(in, "ipv4"), RP_NOT_MEASURED);
}

static void
ipv6_only_through_the_dual_stack_host(void **state)
{
	struct rp_input *in;
	char why[RP_REASON_MAX];

	(void)state;
	in = input(AFTER);
	deliver(in, "v6", 6, NULL);
	assert_int_equal(STATE(in, "ipv6"), RP_GOOD);
	/* IPv6 only to a dual-stack MX: v6 (AAAA only) got nothing */
	in = input(AFTER);
	deliver(in, "v4", 4, NULL);
	deliver(in, "tls", 6, "TLSv1.3");
	assert_int_equal(state_of(in, "ipv6", why, sizeof(why)), RP_NOTE);
	assert_non_null(strstr(why, "v6"));
	in = input(BEFORE);
	deliver(in, "tls", 6, "TLSv1.3");
	assert_int_equal(STATE(in, "ipv6"), RP_WAITING);
	in = input(AFTER);
	deliver(in, "v4", 4, NULL);
	assert_int_equal(STATE(in, "ipv6"), RP_IMPROVE);
	in = input(BEFORE);
	deliver(in, "v4", 4, NULL);
	assert_int_equal(STATE(in, "ipv6"), RP_WAITING);
}

static void
greylisting_retry_from_another_address(void **state)
{
	struct rp_input *in;
	char why[RP_REASON_MAX];

	(void)state;
	in = input(AFTER);
	grey(in, "measure+x@grey-v4.example.net", V4, T0, 0);
	grey(in, "measure+x@grey-v4.example.net", "192.0.2.77", T0 + 300, 1);
	assert_int_equal(state_of(in, "greylisting", why, sizeof(why)),
	    RP_GOOD);
	assert_non_null(strstr(why, "another address"));
	assert_non_null(strstr(why, "300 s"));
	in = input(AFTER);
	grey(in, "measure+x@grey-v4.example.net", V4, T0, 0);
	grey(in, "measure+x@grey-v4.example.net", V4, T0 + 400, 1);
	assert_int_equal(state_of(in, "greylisting", why, sizeof(why)),
	    RP_GOOD);
	assert_non_null(strstr(why, "same address"));
	in = input(AFTER);
	grey(in, "measure+x@grey-v4.example.net", V4, T0, 0);
	assert_int_equal(STATE(in, "greylisting"), RP_BAD);
	in = input(BEFORE);
	grey(in, "measure+x@grey-v4.example.net", V4, T0, 0);
	assert_int_equal(STATE(in, "greylisting"), RP_WAITING);
	in = input(AFTER);
	deliver(in, "v4", 4, NULL);
	assert_int_equal(STATE(in, "greylisting"), RP_NOT_MEASURED);
}

static void
plaintext_and_starttls(void **state)
{
	struct rp_input *in;
	struct rp_conn *c;

	(void)state;
	in = input(AFTER);
	deliver(in, "plaintext", 4, NULL);
	assert_int_equal(STATE(in, "plaintext"), RP_NOTE);
	/* a refusal proves it at once: EHLO on plain, then QUIT */
	in = input(BEFORE);
	connect_to(in, "plaintext", T0);
	assert_int_equal(STATE(in, "plaintext"), RP_GOOD);
	in = input(BEFORE);
	c = connect_to(in, "plaintext", T0);
	c->ended = 0;		/* still open: proves nothing yet */
	assert_int_equal(STATE(in, "plaintext"), RP_WAITING);

	in = input(BEFORE);
	deliver(in, "tls", 4, "TLSv1.2");
	assert_int_equal(STATE(in, "starttls"), RP_GOOD);
	in = input(AFTER);
	deliver(in, "plaintext", 4, NULL);
	assert_int_equal(STATE(in, "starttls"), RP_BAD);
	in = input(BEFORE);
	deliver(in, "plaintext", 4, NULL);
	assert_int_equal(STATE(in, "starttls"), RP_WAITING);
	in = input(AFTER);
	contact(in);
	assert_int_equal(STATE(in, "starttls"), RP_NOT_MEASURED);
}

static void
tls_versions(void **state)
{
	struct rp_input *in;

	(void)state;
	in = input(BEFORE);
	deliver(in, "tls", 4, "TLSv1.3");
	assert_int_equal(STATE(in, "tls13"), RP_GOOD);
	in = input(AFTER);
	deliver(in, "tls", 4, "TLSv1.2");
	assert_int_equal(STATE(in, "tls13"), RP_IMPROVE);
	in = input(BEFORE);
	deliver(in, "tls", 4, "TLSv1.2");
	assert_int_equal(STATE(in, "tls13"), RP_WAITING);
	in = input(AFTER);
	deliver(in, "plaintext", 4, NULL);
	assert_int_equal(STATE(in, "tls13"), RP_NOT_MEASURED);

	in = input(AFTER);
	deliver(in, "tls13", 4, "TLSv1.3");
	deliver(in, "tls12", 4, "TLSv1.2");
	assert_int_equal(STATE(in, "requires_tls13"), RP_GOOD);
	in = input(AFTER);
	deliver(in, "tls13", 4, "TLSv1.3");
	assert_int_equal(STATE(in, "requires_tls13"), RP_NOTE);
	in = input(BEFORE);
	deliver(in, "tls13", 4, "TLSv1.3");
	assert_int_equal(STATE(in, "requires_tls13"), RP_WAITING);
	in = input(AFTER);
	deliver(in, "tls12", 4, "TLSv1.2");
	assert_int_equal(STATE(in, "requires_tls13"), RP_NOT_MEASURED);
}

static void
cipher_strength(void **state)
{
	struct rp_input *in;

	(void)state;
	in = input(AFTER);
	deliver(in, "tls", 4, "TLSv1.3");
	deliver(in, "strong", 4, "TLSv1.3");
	deliver(in, "medium", 4, "TLSv1.2");
	assert_int_equal(STATE(in, "strong_ciphers"), RP_GOOD);
	in = input(AFTER);
	deliver(in, "tls", 4, "TLSv1.3");
	deliver(in, "medium", 4, "TLSv1.2");
	assert_int_equal(STATE(in, "medium_ciphers"), RP_GOOD);
	in = input(AFTER);
	deliver(in, "tls", 4, "TLSv1.3");
	assert_int_equal(STATE(in, "strong_ciphers"), RP_BAD);
	in = input(AFTER);
	deliver(in, "tls", 4, "TLSv1.3");
	refuse(in, "medium");
	assert_int_equal(STATE(in, "medium_ciphers"), RP_NOTE);
	in = input(BEFORE);
	deliver(in, "tls", 4, "TLSv1.3");
	assert_int_equal(STATE(in, "strong_ciphers"), RP_WAITING);
	in = input(AFTER);
	deliver(in, "strong", 4, "TLSv1.3");
	assert_int_equal(STATE(in, "strong_ciphers"), RP_NOT_MEASURED);
}

static void
certificate_validation(void **state)
{
	struct rp_input *in;

	(void)state;
	in = input(AFTER);
	deliver(in, "tls", 4, "TLSv1.3");
	deliver(in, "tls-badcert", 4, "TLSv1.3");
	assert_int_equal(STATE(in, "cert_validation"), RP_NOTE);
	/* the client's alert proves the refusal before the wait is over */
	in = input(BEFORE);
	deliver(in, "tls", 4, "TLSv1.3");
	refuse(in, "tls-badcert");
	assert_int_equal(STATE(in, "cert_validation"), RP_GOOD);
	in = input(BEFORE);
	deliver(in, "tls", 4, "TLSv1.3");
	assert_int_equal(STATE(in, "cert_validation"), RP_WAITING);
	in = input(AFTER);
	deliver(in, "tls-badcert", 4, "TLSv1.3");
	assert_int_equal(STATE(in, "cert_validation"), RP_NOT_MEASURED);
}

/* tls delivered; the DANE challenges as given (1 delivered, 0 refused). */
static struct rp_input *
dane_input(double now, int tlsa_bad, int tlsa_ok, int badcert)
{
	struct rp_input *in = input(now);

	deliver(in, "tls", 4, "TLSv1.3");
	if (tlsa_bad == 1)
		deliver(in, "tlsa-bad", 4, "TLSv1.3");
	else if (tlsa_bad == 0)
		refuse(in, "tlsa-bad");
	if (tlsa_ok == 1)
		deliver(in, "tlsa-ok-pkix-bad", 4, "TLSv1.3");
	else if (tlsa_ok == 0)
		refuse(in, "tlsa-ok-pkix-bad");
	if (badcert == 1)
		deliver(in, "tls-badcert", 4, "TLSv1.3");
	else if (badcert == 0)
		refuse(in, "tls-badcert");
	return in;
}

static void
dane_only_when_the_controls_agree(void **state)
{
	char why[RP_REASON_MAX];

	(void)state;
	/* an opportunistic DANE sender, and a PKIX-strict one */
	assert_int_equal(STATE(dane_input(BEFORE, 0, 1, 1), "dane"), RP_GOOD);
	assert_int_equal(STATE(dane_input(BEFORE, 0, 1, 0), "dane"), RP_GOOD);
	/* no DANE: the mismatching TLSA was ignored */
	assert_int_equal(STATE(dane_input(BEFORE, 1, 1, 1), "dane"),
	    RP_IMPROVE);
	/* PKIX-strict without DANE: both refused because of the cert */
	assert_int_equal(state_of(dane_input(BEFORE, 0, 0, 0), "dane", why,
	    sizeof(why)), RP_IMPROVE);
	assert_non_null(strstr(why, "tls-badcert"));
	/* tlsa-bad refused, but the matching TLSA refused too */
	assert_int_equal(state_of(dane_input(BEFORE, 0, 0, 1), "dane", why,
	    sizeof(why)), RP_NOTE);
	assert_non_null(strstr(why, "tlsa-ok-pkix-bad"));
	assert_int_equal(STATE(dane_input(BEFORE, 0, -1, 1), "dane"),
	    RP_WAITING);
	assert_int_equal(STATE(dane_input(AFTER, 0, -1, 1), "dane"),
	    RP_NOTE);
}

static void
dane_and_dnssec(void **state)
{
	struct rp_input *in;

	(void)state;
	in = dane_input(AFTER, -1, -1, 1);
	deliver(in, "tlsa-bad-insecure-pkix-ok", 4, "TLSv1.3");
	deliver(in, "tlsa-bad-insecure", 4, "TLSv1.3");
	assert_int_equal(STATE(in, "dane_requires_dnssec"), RP_GOOD);
	in = dane_input(BEFORE, -1, -1, 1);
	refuse(in, "tlsa-bad-insecure-pkix-ok");
	assert_int_equal(STATE(in, "dane_requires_dnssec"), RP_BAD);
	in = dane_input(AFTER, -1, -1, 1);
	deliver(in, "tlsa-bad-insecure-pkix-ok", 4, "TLSv1.3");
	refuse(in, "tlsa-bad-insecure");
	assert_int_equal(STATE(in, "dane_requires_dnssec"), RP_BAD);
	/* refusing invalid certificates explains tlsa-bad-insecure */
	in = dane_input(AFTER, -1, -1, 0);
	deliver(in, "tlsa-bad-insecure-pkix-ok", 4, "TLSv1.3");
	refuse(in, "tlsa-bad-insecure");
	assert_int_equal(STATE(in, "dane_requires_dnssec"), RP_GOOD);
	in = dane_input(BEFORE, -1, -1, 1);
	assert_int_equal(STATE(in, "dane_requires_dnssec"), RP_WAITING);
}

static void
dane_precedence(void **state)
{
	struct rp_input *in;

	(void)state;
	assert_int_equal(STATE(dane_input(AFTER, 1, 1, 1), "dane_over_pkix"),
	    RP_NOT_MEASURED);
	in = dane_input(AFTER, 0, 1, 1);
	refuse(in, "tlsa-bad-pkix-ok");
	assert_int_equal(STATE(in, "dane_over_pkix"), RP_GOOD);
	in = dane_input(AFTER, 0, 1, 1);
	deliver(in, "tlsa-bad-pkix-ok", 4, "TLSv1.3");
	assert_int_equal(STATE(in, "dane_over_pkix"), RP_BAD);
	in = dane_input(BEFORE, 0, 1, 1);
	assert_int_equal(STATE(in, "dane_over_pkix"), RP_WAITING);

	assert_int_equal(STATE(dane_input(AFTER, 1, 1, 1), "dane_over_mtasts"),
	    RP_NOT_MEASURED);
	in = dane_input(AFTER, 0, 1, 1);
	refuse(in, "sts-ok-tlsa-bad");
	deliver(in, "sts-bad-tlsa-ok-pkix-bad", 4, "TLSv1.3");
	deliver(in, "sts-bad-tlsa-ok", 4, "TLSv1.3");
	assert_int_equal(STATE(in, "dane_over_mtasts"), RP_GOOD);
	in = dane_input(AFTER, 0, 1, 1);
	deliver(in, "sts-ok-tlsa-bad", 4, "TLSv1.3");
	assert_int_equal(STATE(in, "dane_over_mtasts"), RP_BAD);
	in = dane_input(BEFORE, 0, 1, 1);
	refuse(in, "sts-bad-tlsa-ok");
	assert_int_equal(STATE(in, "dane_over_mtasts"), RP_BAD);
	in = dane_input(BEFORE, 0, 1, 1);
	assert_int_equal(STATE(in, "dane_over_mtasts"), RP_WAITING);
}

static void
mtasts_states(void **state)
{
	struct rp_input *in;
	struct rp_fetch *f;
	struct rp_delivery *d;

	(void)state;
	/* no MTA-STS: the enforce domain got mail over a bad certificate */
	in = input(BEFORE);
	deliver(in, "sts-rn", 4, "TLSv1.3");
	assert_int_equal(STATE(in, "mtasts"), RP_IMPROVE);
	/* fetched, still delivered */
	in = input(BEFORE);
	deliver(in, "sts-rn", 4, "TLSv1.3");
	ADD(in, fetches, nfetches, f);
	f->id = 1;
	f->time = T0;
	f->client_addr = dup(V4);
	f->challenge = dup("sts-rn");
	f->status = 200;
	assert_int_equal(STATE(in, "mtasts"), RP_BAD);
	/* enforced, with the fallback to the valid second MX */
	in = input(AFTER);
	deliver(in, "tls-badcert", 4, "TLSv1.3");
	refuse(in, "sts-rn");
	refuse(in, "sts-n");
	d = deliver(in, "sts-2mx-tls", 4, "TLSv1.3");
	d->mx = 2;
	assert_int_equal(STATE(in, "mtasts"), RP_GOOD);
	/* LF policies not understood */
	in = input(AFTER);
	deliver(in, "tls-badcert", 4, "TLSv1.3");
	refuse(in, "sts-rn");
	deliver(in, "sts-n", 4, "TLSv1.3");
	d = deliver(in, "sts-2mx-tls", 4, "TLSv1.3");
	d->mx = 2;
	assert_int_equal(STATE(in, "mtasts"), RP_NOTE);
	/* the broken MX of sts-2mx-tls took the mail */
	in = input(AFTER);
	deliver(in, "tls-badcert", 4, "TLSv1.3");
	refuse(in, "sts-rn");
	deliver(in, "sts-2mx-tls", 4, "TLSv1.3");
	assert_int_equal(STATE(in, "mtasts"), RP_BAD);
	/* cleartext to an enforce domain */
	in = input(AFTER);
	deliver(in, "tls-badcert", 4, "TLSv1.3");
	refuse(in, "sts-rn");
	deliver(in, "sts-plain", 4, NULL);
	assert_int_equal(STATE(in, "mtasts"), RP_BAD);
	/* no fallback */
	in = input(AFTER);
	deliver(in, "tls-badcert", 4, "TLSv1.3");
	refuse(in, "sts-rn");
	assert_int_equal(STATE(in, "mtasts"), RP_IMPROVE);
	/* it refuses bad certificates anyway */
	in = input(AFTER);
	refuse(in, "tls-badcert");
	refuse(in, "sts-rn");
	assert_int_equal(STATE(in, "mtasts"), RP_NOT_MEASURED);
	in = input(BEFORE);
	refuse(in, "sts-rn");
	assert_int_equal(STATE(in, "mtasts"), RP_WAITING);
}

static void
tlsrpt_states(void **state)
{
	struct rp_input *in;
	struct rp_tlsrpt *t;

	(void)state;
	in = input(BEFORE);
	contact(in);
	ADD(in, tlsrpt, ntlsrpt, t);
	t->report_id = 1;
	t->status = dup("ok");
	t->organization = dup("Example Org");
	t->policy_domain = dup("aaaaaaaaaaaaaaaaaaaaaaaaaa.uniq.example.net");
	t->attribution = dup("uniq");
	t->successful = 3;
	assert_int_equal(STATE(in, "tlsrpt"), RP_GOOD);
	in = input(AFTER);
	contact(in);
	assert_int_equal(STATE(in, "tlsrpt"), RP_WAITING);
	in = input(T0 + WAIT + 3 * 86400);
	contact(in);
	assert_int_equal(STATE(in, "tlsrpt"), RP_IMPROVE);
}

static void
dnssec_bogus_without_its_control_is_not_measured(void **state)
{
	struct rp_input *in;

	(void)state;
	in = input(AFTER);
	deliver(in, "v4-bogus", 4, NULL);
	assert_int_equal(STATE(in, "resolver_dnssec"), RP_NOT_MEASURED);
	in = input(AFTER);
	deliver(in, "v4", 4, NULL);
	deliver(in, "v4-bogus", 4, NULL);
	assert_int_equal(STATE(in, "resolver_dnssec"), RP_IMPROVE);
	in = input(AFTER);
	deliver(in, "v4", 4, NULL);
	assert_int_equal(STATE(in, "resolver_dnssec"), RP_GOOD);
	/* v4 failed, v6 is the control */
	in = input(AFTER);
	deliver(in, "v6", 6, NULL);
	deliver(in, "v4-bogus", 4, NULL);
	assert_int_equal(STATE(in, "resolver_dnssec"), RP_GOOD);
	in = input(BEFORE);
	deliver(in, "v4", 4, NULL);
	assert_int_equal(STATE(in, "resolver_dnssec"), RP_WAITING);
}

static void
resolver_ipv6_states(void **state)
{
	struct rp_input *in;
	struct rp_dnsq *q;

	(void)state;
	in = input(AFTER);
	deliver(in, "v4", 4, NULL);
	deliver(in, "v4-dns6", 4, NULL);
	assert_int_equal(STATE(in, "resolver_ipv6"), RP_GOOD);
	in = input(AFTER);
	deliver(in, "v4", 4, NULL);
	assert_int_equal(STATE(in, "resolver_ipv6"), RP_IMPROVE);
	in = input(AFTER);
	deliver(in, "v4-dns6", 4, NULL);
	assert_int_equal(STATE(in, "resolver_ipv6"), RP_NOT_MEASURED);
	in = input(BEFORE);
	deliver(in, "v4", 4, NULL);
	assert_int_equal(STATE(in, "resolver_ipv6"), RP_WAITING);
	/* a query over IPv6 proves it at once */
	in = input(BEFORE);
	contact(in);
	ADD(in, dnsq, ndnsq, q);
	q->id = 1;
	q->time = T0;
	q->client_addr = dup(V6);
	q->family = 6;
	q->qname = dup("x.dns.example.net");
	assert_int_equal(STATE(in, "resolver_ipv6"), RP_GOOD);
}

static void
sender_zones(void **state)
{
	static const struct {
		const char	*a, *b;
		int		 v6a, v6b;
		enum rp_state	 dnssec, ipv6;
	} cases[] = {
		{ "secure", "secure", 1, 1, RP_GOOD, RP_GOOD },
		{ "secure", "insecure", 1, 0, RP_IMPROVE, RP_IMPROVE },
		{ "bogus", "insecure", -1, -1, RP_BAD, RP_NOT_MEASURED },
		{ "secure", "indeterminate", 1, -1, RP_NOTE, RP_GOOD },
	};
	struct rp_input *in;
	struct rp_delivery *d;
	struct rp_zone *z;
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (k = 0; k < 2; k++) {
			in = input(AFTER);
			d = deliver(in, "v4", 4, NULL);
			message(in, d);
			ADD(in, zones, nzones, z);
			z->transaction_id = d->transaction_id;
			z->role = dup("mailfrom");
			z->name = dup("sender.example");
			z->dnssec = dup(cases[i].a);
			z->ipv6_ns = cases[i].v6a;
			ADD(in, zones, nzones, z);
			z->transaction_id = d->transaction_id;
			z->role = dup("dkim");
			z->name = dup("sel._domainkey.sender.example");
			z->dnssec = dup(cases[i].b);
			z->ipv6_ns = cases[i].v6b;
			assert_int_equal(STATE(in, k == 0 ?
			    "sender_zones_dnssec" : "sender_zones_ipv6"),
			    k == 0 ? cases[i].dnssec : cases[i].ipv6);
		}
	/* analysis still running */
	in = input(AFTER);
	message(in, deliver(in, "v4", 4, NULL))->finished = 0;
	assert_int_equal(STATE(in, "sender_zones_dnssec"), RP_WAITING);
}

/*
 * An analysis finished without results (a crash cut it off): the verdicts
 * that needed it say why; one message with results is enough to judge.
 */
static void
interrupted_analysis_is_named(void **state)
{
	struct rp_input *in;
	char why[RP_REASON_MAX];

	(void)state;
	in = input(AFTER);
	message(in, deliver(in, "v4", 4, NULL))->error = dup("interrupted");
	assert_int_equal(state_of(in, "spf", why, sizeof(why)),
	    RP_NOT_MEASURED);
	assert_string_equal(why, "no SPF result for MAIL FROM: the analysis "
	    "ended without results (interrupted)");
	in = input(AFTER);
	message(in, deliver(in, "v4", 4, NULL))->error = dup("interrupted");
	message(in, deliver(in, "v4", 4, NULL))->have_message = 1;
	assert_int_equal(state_of(in, "spf", why, sizeof(why)),
	    RP_NOT_MEASURED);
	assert_string_equal(why, "no SPF result for MAIL FROM");
}

/* A delivery with a finished analysis whose SPF (MAIL FROM) is RESULT. */
static struct rp_input *
spf_input(const char *result, int lookups)
{
	struct rp_input *in = input(AFTER);
	struct rp_delivery *d = deliver(in, "v4", 4, NULL);
	struct rp_spf *s;

	message(in, d);
	ADD(in, spf, nspf, s);
	s->transaction_id = d->transaction_id;
	s->identity = dup("mailfrom");
	s->domain = dup("sender.example");
	s->result = dup(result);
	s->dns_lookups = lookups;
	return in;
}

static void
spf_states(void **state)
{
	(void)state;
	assert_int_equal(STATE(spf_input("pass", 3), "spf"), RP_GOOD);
	assert_int_equal(STATE(spf_input("pass", 11), "spf"), RP_BAD);
	assert_int_equal(STATE(spf_input("fail", 1), "spf"), RP_BAD);
	assert_int_equal(STATE(spf_input("permerror", 1), "spf"), RP_BAD);
	assert_int_equal(STATE(spf_input("softfail", 1), "spf"), RP_IMPROVE);
	assert_int_equal(STATE(spf_input("none", 0), "spf"), RP_IMPROVE);
	assert_int_equal(STATE(spf_input("temperror", 1), "spf"), RP_NOTE);
}

static struct rp_input *
dkim_input(const char *result, const char *alg, int bits)
{
	struct rp_input *in = input(AFTER);
	struct rp_delivery *d = deliver(in, "v4", 4, NULL);
	struct rp_message *m = message(in, d);
	struct rp_dkim_sig *k;

	m->dkim_result = dup(result);
	if (alg == NULL)
		return in;
	m->dkim_signatures = 1;
	ADD(in, dkim, ndkim, k);
	k->transaction_id = d->transaction_id;
	k->domain = dup("sender.example");
	k->selector = dup("s1");
	k->algorithm = dup(alg);
	k->key_bits = bits;
	k->result = dup(result);
	k->aligned = 1;
	return in;
}

static void
dkim_states(void **state)
{
	(void)state;
	assert_int_equal(STATE(dkim_input("pass", "rsa-sha256", 2048), "dkim"),
	    RP_GOOD);
	assert_int_equal(STATE(dkim_input("pass", "ed25519-sha256", 256),
	    "dkim"), RP_GOOD);
	assert_int_equal(STATE(dkim_input("pass", "rsa-sha256", 1024), "dkim"),
	    RP_IMPROVE);
	assert_int_equal(STATE(dkim_input("pass", "rsa-sha256", 512), "dkim"),
	    RP_BAD);
	assert_int_equal(STATE(dkim_input("none", NULL, 0), "dkim"),
	    RP_IMPROVE);
	assert_int_equal(STATE(dkim_input("fail", "rsa-sha256", 2048), "dkim"),
	    RP_BAD);
	assert_int_equal(STATE(dkim_input("temperror", "rsa-sha256", -1),
	    "dkim"), RP_NOTE);
}

static struct rp_input *
dmarc_input(const char *result, const char *policy, const char *rua,
    int external, int authorized)
{
	struct rp_input *in = input(AFTER);
	struct rp_delivery *d = deliver(in, "v4", 4, NULL);
	struct rp_message *m = message(in, d);
	struct rp_dmarc_dest *x;

	m->dmarc_result = dup(result);
	m->dmarc_policy = dup(policy);
	m->dmarc_p = dup(policy);
	m->dmarc_domain = dup("sender.example");
	if (rua == NULL)
		return in;
	ADD(in, dests, ndests, x);
	x->transaction_id = d->transaction_id;
	x->tag = dup("rua");
	x->position = 1;
	x->uri = dup(rua);
	x->external = external;
	x->authorized = authorized;
	return in;
}

static void
dmarc_states(void **state)
{
	(void)state;
	assert_int_equal(STATE(dmarc_input("pass", "reject", NULL, 0, 0),
	    "dmarc"), RP_GOOD);
	assert_int_equal(STATE(dmarc_input("pass", "none", NULL, 0, 0),
	    "dmarc"), RP_IMPROVE);
	assert_int_equal(STATE(dmarc_input("none", NULL, NULL, 0, 0),
	    "dmarc"), RP_IMPROVE);
	assert_int_equal(STATE(dmarc_input("fail", "reject", NULL, 0, 0),
	    "dmarc"), RP_BAD);
	assert_int_equal(STATE(dmarc_input("temperror", NULL, NULL, 0, 0),
	    "dmarc"), RP_NOTE);

	assert_int_equal(STATE(dmarc_input("pass", "reject",
	    "mailto:d@sender.example", 0, -1), "dmarc_reports"), RP_GOOD);
	assert_int_equal(STATE(dmarc_input("pass", "reject",
	    "mailto:d@other.example", 1, 1), "dmarc_reports"), RP_GOOD);
	assert_int_equal(STATE(dmarc_input("pass", "reject",
	    "mailto:d@other.example", 1, 0), "dmarc_reports"), RP_BAD);
	assert_int_equal(STATE(dmarc_input("pass", "reject", NULL, 0, 0),
	    "dmarc_reports"), RP_IMPROVE);
	assert_int_equal(STATE(dmarc_input("none", NULL, NULL, 0, 0),
	    "dmarc_reports"), RP_NOT_MEASURED);
}

static void
message_checks(void **state)
{
	struct rp_input *in;
	struct rp_delivery *d;
	struct rp_message *m;
	struct rp_finding *f;
	const char *kinds[] = { NULL, "dup", "missing", "missing_recommended" };
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		in = input(AFTER);
		d = deliver(in, "v4", 4, NULL);
		message(in, d);
		if (kinds[i] != NULL) {
			ADD(in, findings, nfindings, f);
			f->id = 1;
			f->transaction_id = d->transaction_id;
			f->field = dup("date");
			f->finding = dup(kinds[i]);
			f->count = 2;
		}
		if (i < 2)
			assert_int_equal(STATE(in, "duplicate_headers"),
			    i == 0 ? RP_GOOD : RP_BAD);
		else
			assert_int_equal(STATE(in, "missing_headers"),
			    i == 2 ? RP_BAD : RP_IMPROVE);
	}
	in = input(AFTER);
	message(in, deliver(in, "v4", 4, NULL));
	assert_int_equal(STATE(in, "missing_headers"), RP_GOOD);

	for (i = 0; i < 3; i++) {
		in = input(AFTER);
		m = message(in, deliver(in, "v4", 4, NULL));
		m->have_message = 1;
		m->from_matches = i == 0;
		m->dmarc_spf_aligned = i == 1;
		assert_int_equal(STATE(in, "from_alignment"),
		    i < 2 ? RP_GOOD : RP_NOTE);
	}

	in = input(AFTER);
	deliver(in, "v4", 4, NULL);
	assert_int_equal(STATE(in, "bare_lf"), RP_GOOD);
	in = input(AFTER);
	deliver(in, "v4", 4, NULL)->bare_lf = 3;
	assert_int_equal(STATE(in, "bare_lf"), RP_BAD);
	in = input(AFTER);
	deliver(in, "v4", 4, NULL)->bare_cr = 1;
	assert_int_equal(STATE(in, "bare_lf"), RP_BAD);
}

static void
beyond_facts(void **state)
{
	struct rp_input *in;
	struct rp_conn *c;
	struct rp_message *m;
	char why[RP_REASON_MAX];

	(void)state;
	in = input(BEFORE);
	c = connect_to(in, "tls", T0);
	c->ch_versions = dup("0x0304,0x0303");
	c->ch_ciphers = dup("0x1301,0x1302,0xc02f");
	c->ch_groups = dup("14588,29,23");	/* not 4588 */
	c->tls_sni = dup("mx.tls.example.net");
	c->tls_resumed = 1;
	c->extensions = dup("PIPELINING,8BITMIME");
	assert_int_equal(state_of(in, "pq_kex", why, sizeof(why)), RP_NOTE);
	in = input(BEFORE);
	c = connect_to(in, "tls", T0);
	c->ch_groups = dup("29,4588,23");
	assert_int_equal(state_of(in, "pq_kex", why, sizeof(why)), RP_GOOD);
	assert_non_null(strstr(why, "X25519MLKEM768"));
	in = input(BEFORE);
	c = connect_to(in, "tls", T0);
	c->ch_versions = dup("0x0304");
	c->ch_ciphers = dup("0x1301,0x1302");
	assert_int_equal(state_of(in, "tls_fingerprint", why, sizeof(why)),
	    RP_NOTE);
	assert_non_null(strstr(why, "2 suites"));
	assert_int_equal(STATE(input(AFTER), "tls_fingerprint"), RP_WAITING);

	in = input(BEFORE);
	c = connect_to(in, "tls", T0);
	c->tls_sni = dup("mx.tls.example.net");
	c->tls_resumed = 1;
	c->extensions = dup("PIPELINING");
	assert_int_equal(STATE(in, "sni"), RP_GOOD);

	in = input(AFTER);
	deliver(in, "tls", 6, "TLSv1.3");
	deliver(in, "strong", 6, "TLSv1.3");
	assert_int_equal(STATE(in, "ipv6_preference"), RP_GOOD);
	in = input(AFTER);
	deliver(in, "tls", 6, "TLSv1.3");
	deliver(in, "strong", 4, "TLSv1.3");
	assert_int_equal(STATE(in, "ipv6_preference"), RP_NOTE);

	in = input(AFTER);
	m = message(in, deliver(in, "v4", 4, NULL));
	m->ptr = dup("mx.sender.example");
	m->ptr_status = dup("noerror");
	m->fcrdns = 1;
	assert_int_equal(STATE(in, "reverse_dns"), RP_GOOD);
	in = input(AFTER);
	m = message(in, deliver(in, "v4", 4, NULL));
	m->ptr_status = dup("nxdomain");
	m->fcrdns = 0;
	assert_int_equal(STATE(in, "reverse_dns"), RP_IMPROVE);
}

/* Every verdict of a report set to S, but starttls to ST and spf/dkim. */
static int
score_with(enum rp_state s, enum rp_state st, enum rp_state auth)
{
	struct rp_input *in = input(AFTER);
	struct rp_report r;
	size_t i;
	int score;

	assert_int_equal(report_build(in, &r), 0);
	for (i = 0; i < r.nverdicts; i++) {
		const char *k = r.verdicts[i].rule->key;

		r.verdicts[i].state = strcmp(k, "starttls") == 0 ? st :
		    strcmp(k, "spf") == 0 || strcmp(k, "dkim") == 0 ? auth : s;
	}
	report_score(&r);
	score = r.score;
	report_free(&r);
	report_input_free(in);
	free(in);
	return score;
}

static void
score_rule(void **state)
{
	(void)state;
	assert_int_equal(score_with(RP_GOOD, RP_GOOD, RP_GOOD), 10);
	assert_int_equal(score_with(RP_BAD, RP_BAD, RP_BAD), 0);
	/* no STARTTLS at all caps the score at 3 */
	assert_int_equal(score_with(RP_GOOD, RP_BAD, RP_GOOD), 3);
	/* neither SPF nor DKIM passes: at most 5 */
	assert_int_equal(score_with(RP_GOOD, RP_GOOD, RP_IMPROVE), 5);
	/* waiting and not measured count for nothing */
	assert_int_equal(score_with(RP_WAITING, RP_GOOD, RP_GOOD), 10);
	assert_int_equal(score_with(RP_NOT_MEASURED, RP_BAD, RP_NOT_MEASURED),
	    0);
	assert_int_equal(score_with(RP_NOT_MEASURED, RP_NOT_MEASURED,
	    RP_NOT_MEASURED), -1);
	/* notes weigh 0.75, improvements 0.4 */
	assert_int_equal(score_with(RP_NOTE, RP_NOTE, RP_NOTE), 8);
	/* (15 + 8 + 8 + 0.4 * 103) / 134 of the weights: 5.39 */
	assert_int_equal(score_with(RP_IMPROVE, RP_GOOD, RP_GOOD), 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_has_every_key_of_challenges_md),
		cmocka_unit_test(nothing_yet_is_waiting_everywhere),
		cmocka_unit_test(interrupted_analysis_is_named),
		cmocka_unit_test(ipv4_states),
		cmocka_unit_test(ipv6_only_through_the_dual_stack_host),
		cmocka_unit_test(greylisting_retry_from_another_address),
		cmocka_unit_test(plaintext_and_starttls),
		cmocka_unit_test(tls_versions),
		cmocka_unit_test(cipher_strength),
		cmocka_unit_test(certificate_validation),
		cmocka_unit_test(dane_only_when_the_controls_agree),
		cmocka_unit_test(dane_and_dnssec),
		cmocka_unit_test(dane_precedence),
		cmocka_unit_test(mtasts_states),
		cmocka_unit_test(tlsrpt_states),
		cmocka_unit_test(dnssec_bogus_without_its_control_is_not_measured),
		cmocka_unit_test(resolver_ipv6_states),
		cmocka_unit_test(sender_zones),
		cmocka_unit_test(spf_states),
		cmocka_unit_test(dkim_states),
		cmocka_unit_test(dmarc_states),
		cmocka_unit_test(message_checks),
		cmocka_unit_test(beyond_facts),
		cmocka_unit_test(score_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
