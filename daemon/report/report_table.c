/*
 * What the three formats share: the rows of the challenge table that
 * closes the report (CHALLENGES.md: sent to, received, through which
 * host and when), the groups in use and times as ISO 8601 UTC.  Pure;
 * runs in the tool.
 */
#include "build.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"
#include "report.h"

/* 9999-12-31T23:59:59Z: the last time ISO 8601's four digits hold */
#define RP_TIME_LAST	253402300799.0

static const char *const outcome_names[] = {
	"delivered", "refused", "pending", "absent", "not_offered"
};

const char *
report_outcome_name(enum rp_outcome o)
{
	return outcome_names[o];
}

int
report_group_used(const struct rp_report *r, enum rp_group g)
{
	size_t i;

	for (i = 0; i < r->nverdicts; i++)
		if (r->verdicts[i].rule->group == g)
			return 1;
	return 0;
}

void
report_time(double t, char *buf, size_t len)
{
	buf[0] = '\0';
	if (t > 0 && t <= RP_TIME_LAST)
		clock_iso(t, buf, len);
}

int
report_row_delivery(const struct rp_row *row, const struct rp_delivery *d)
{
	return d->challenge != NULL && strcmp(d->challenge, row->ch->name) == 0;
}

/* The greylist keys RCPT lowercased (schema/002_greylist.sql). */
int
report_row_grey(const struct rp_row *row, const struct rp_grey *g)
{
	return g->rcpt != NULL && row->ch->address != NULL &&
	    strcasecmp(g->rcpt, row->ch->address) == 0;
}

int
report_row_refusal(const struct rp_row *row, const struct rp_conn *c)
{
	return report_conn_refuses(c, row->ch->name);
}

void
report_refusal_text(const struct rp_conn *c, char *buf, size_t len)
{
	const char *what, *arg = "";

	if (c->tls_alert_received != NULL) {
		what = "the client sent TLS alert ";
		arg = c->tls_alert_received;
	} else if (c->tls_alert_sent != NULL) {
		what = "TLS alert sent to the client: ";
		arg = c->tls_alert_sent;
	} else if (c->tls_error != NULL) {
		what = "TLS handshake failed: ";
		arg = c->tls_error;
	} else if (c->starttls && !c->tls_established)
		what = "TLS handshake not completed";
	else if (c->tls_established)
		what = "left after TLS without MAIL";
	else
		what = "left after EHLO without MAIL";
	/* cut to LEN: the formats take any bytes */
	if (snprintf(buf, len, "%s%s; attributed by %s", what, arg,
	    c->reason != NULL ? c->reason : "?") < 0)
		buf[0] = '\0';
}

void
report_via_text(const struct rp_delivery *d, char *buf, size_t len)
{
	if (snprintf(buf, len, "%s IPv%d%s", d->host != NULL ? d->host : "?",
	    d->family, d->mx == 2 ? " MX2" : "") < 0)
		buf[0] = '\0';
}

void
report_grey_text(const struct rp_row *row, char *buf, size_t len)
{
	int n;

	if (row->ngrey == 0)
		n = snprintf(buf, len, "%s", "");
	else if (row->grey_accepted == 0)
		n = snprintf(buf, len, "%zu deferred, no retry accepted",
		    row->ngrey);
	else
		n = snprintf(buf, len, "%zu attempts, accepted %.0f s after "
		    "the first", row->ngrey, row->grey_accepted -
		    row->grey_first);
	if (n < 0)
		buf[0] = '\0';
}

void
report_row(const struct rp_input *in, size_t i, struct rp_row *row)
{
	size_t k;

	memset(row, 0, sizeof(*row));
	row->ch = &in->challenges[i];
	row->outcome = report_outcome(in, row->ch->name, NULL);
	/* nothing can arrive where the zones publish no MX */
	if (!row->ch->offered && (row->outcome == RPO_PENDING ||
	    row->outcome == RPO_ABSENT))
		row->outcome = RPO_NOT_OFFERED;
	for (k = 0; k < in->ndeliveries; k++) {
		if (report_row_delivery(row, &in->deliveries[k]) &&
		    (row->first == NULL ||
		    in->deliveries[k].received < row->first->received))
			row->first = &in->deliveries[k];
	}
	for (k = 0; k < in->ngrey; k++) {
		const struct rp_grey *g = &in->grey[k];

		if (!report_row_grey(row, g))
			continue;
		row->ngrey++;
		if (row->grey_first == 0 || g->time < row->grey_first)
			row->grey_first = g->time;
		if (g->accepted && (row->grey_accepted == 0 ||
		    g->time < row->grey_accepted))
			row->grey_accepted = g->time;
	}
	for (k = 0; k < in->nconns; k++)
		if (report_row_refusal(row, &in->conns[k]))
			row->nrefusals++;
}
