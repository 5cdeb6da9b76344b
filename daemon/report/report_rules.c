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

/*
 * C, a connection to challenge NAME's own address, proves the sender
 * will not deliver there: it ended without a transaction, after a
 * failed or abandoned handshake, or after TLS without trying MAIL, or
 * (on a host without STARTTLS) after EHLO without trying MAIL.
 */
static int
conn_refuses(const struct rp_conn *c, const char *name)
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
		if (conn_refuses(&in->conns[i], name)) {
			if (row != NULL)
				*row = i;
			return RPO_REFUSED;
		}
	return waited(in) ? RPO_ABSENT : RPO_PENDING;
}

/* (placeholder while the rules are written) */
static void
rule_todo(const struct rp_input *in, struct rp_verdict *v)
{
	(void)in;
	verdict(v, RP_NOT_MEASURED, "not yet written");
}

static const struct rp_rule rules[] = {
	{ "ipv4", RPG_DELIVERY, "Delivers over IPv4", "deliveries", 10, NULL, rule_todo },
	{ "ipv6", RPG_DELIVERY, "Delivers over IPv6", "deliveries", 10, "44.3 % of mail providers deliver over IPv6", rule_todo },
	{ "greylisting", RPG_DELIVERY, "Retries after greylisting", "greylist_attempts", 10, NULL, rule_todo },
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
