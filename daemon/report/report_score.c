/*
 * The score, 0-10, from the verdicts: the weighted mean of the scored
 * verdicts' values, then the caps.  docs/report.md states the rule; keep
 * the two in step.  Pure.
 */
#include "build.h"

#include <stdio.h>
#include <string.h>

#include "report.h"

/* What each state is worth; waiting and not measured do not count. */
static const double state_value[RP_NSTATES] = {
	[RP_GOOD] = 1.0,
	[RP_NOTE] = 0.75,
	[RP_IMPROVE] = 0.4,
	[RP_BAD] = 0.0,
	[RP_WAITING] = -1,
	[RP_NOT_MEASURED] = -1,
};

/* A cap: when verdict KEY is in state STATE (and ALSO, if set, too). */
static const struct {
	const char	*key;
	enum rp_state	 state;
	const char	*also;		/* a second key in a state <= improve */
	int		 max;
	const char	*why;
} caps[] = {
	{ "starttls", RP_BAD, NULL, 3, "no STARTTLS at all" },
	{ "greylisting", RP_BAD, NULL, 5, "no retry after greylisting" },
	{ "spf", RP_IMPROVE, "dkim", 5, "neither SPF nor DKIM passes" },
	{ "spf", RP_BAD, "dkim", 5, "neither SPF nor DKIM passes" },
	{ "bare_lf", RP_BAD, NULL, 7, "bare line ends in the data" },
};

static const struct rp_verdict *
find(const struct rp_report *r, const char *key)
{
	size_t i;

	for (i = 0; i < r->nverdicts; i++)
		if (strcmp(r->verdicts[i].rule->key, key) == 0)
			return &r->verdicts[i];
	return NULL;
}

/* Whether V is improve or bad: no pass. */
static int
failing(const struct rp_verdict *v)
{
	return v != NULL && (v->state == RP_IMPROVE || v->state == RP_BAD);
}

void
report_score(struct rp_report *r)
{
	const struct rp_verdict *v;
	double sum = 0, weights = 0;
	const char *capped = NULL;
	int waiting = 0, score, n;
	size_t i;

	for (i = 0; i < r->nverdicts; i++) {
		v = &r->verdicts[i];
		if (v->rule->weight == 0)
			continue;
		if (state_value[v->state] < 0) {
			waiting += v->state == RP_WAITING;
			continue;
		}
		sum += v->rule->weight * state_value[v->state];
		weights += v->rule->weight;
	}
	if (weights == 0) {
		r->score = -1;
		snprintf(r->score_reason, sizeof(r->score_reason),
		    "no score yet: nothing to judge");
		return;
	}
	score = (int)(10.0 * sum / weights + 0.5);	/* rounded: both >= 0 */
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		v = find(r, caps[i].key);
		if (v == NULL || v->state != caps[i].state || score <= caps[i].max)
			continue;
		if (caps[i].also != NULL && !failing(find(r, caps[i].also)))
			continue;
		score = caps[i].max;
		capped = caps[i].why;
	}
	r->score = score;
	n = snprintf(r->score_reason, sizeof(r->score_reason), "%s%s",
	    capped != NULL ? "capped: " : "the weighted mean of "
	    "the verdicts", capped != NULL ? capped : "");
	if (waiting > 0 && n > 0 && (size_t)n < sizeof(r->score_reason))
		snprintf(r->score_reason + n, sizeof(r->score_reason) - n,
		    "; provisional: %d verdict(s) still waiting", waiting);
}
