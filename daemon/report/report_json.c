/*
 * The report as JSON, the shape docs/report.schema.json fixes ("schema":
 * REPORT_SCHEMA; DESIGN.md names the first keys).  Every string passes
 * text_utf8(), so invalid bytes a sender sent become U+FFFD; the output
 * is ASCII.  Single-threaded; runs in the tool.
 */
#include "build.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "report.h"
#include "text.h"

/* T as ISO 8601 UTC, null for none. */
static json_t *
jtime(double t)
{
	char buf[RP_TIME_MAX];

	report_time(t, buf, sizeof(buf));
	return buf[0] != '\0' ? json_string(buf) : json_null();
}

/*
 * Sets KEY of O to V (taking V); a NULL V (out of memory) latches the
 * error in *ERR, which the caller checks once at the end.
 */
static void
put(json_t *o, const char *key, json_t *v, int *err)
{
	if (v == NULL || json_object_set_new(o, key, v) == -1)
		*err = 1;
}

/* A new object; NULL, with *ERR set, when out of memory. */
static json_t *
object(int *err)
{
	json_t *o;

	if ((o = json_object()) == NULL)
		*err = 1;
	return o;
}

static void
append(json_t *a, json_t *v, int *err)
{
	if (v == NULL || json_array_append_new(a, v) == -1)
		*err = 1;
}

static json_t *
verdict(const struct rp_verdict *v, int *err)
{
	json_t *o = json_object(), *ev = json_array(), *e;
	size_t i;

	if (o == NULL || ev == NULL) {
		json_decref(o);
		json_decref(ev);
		*err = 1;
		return NULL;
	}
	put(o, "key", text_json(v->rule->key), err);
	put(o, "group", text_json(report_group_name(v->rule->group)), err);
	put(o, "title", text_json(v->rule->title), err);
	put(o, "state", text_json(report_state_name(v->state)), err);
	put(o, "summary", text_json(v->reason), err);
	put(o, "context", text_json(v->rule->context), err);
	put(o, "weight", json_integer(v->rule->weight), err);
	for (i = 0; i < v->nevidence; i++) {
		if ((e = object(err)) == NULL)
			break;
		put(e, "table", text_json(v->evidence[i].table), err);
		put(e, "id", json_integer(v->evidence[i].id), err);
		put(e, "time", jtime(v->evidence[i].time), err);
		put(e, "summary", text_json(v->evidence[i].summary), err);
		append(ev, e, err);
	}
	put(o, "evidence", ev, err);
	return o;
}

static json_t *
delivery(const struct rp_delivery *d, int *err)
{
	json_t *o;

	if ((o = object(err)) == NULL)
		return NULL;
	put(o, "time", jtime(d->received), err);
	put(o, "host", text_json(d->host), err);
	put(o, "mx", json_integer(d->mx), err);
	put(o, "family", json_integer(d->family), err);
	put(o, "client_addr", text_json(d->client_addr), err);
	put(o, "tls_version", text_json(d->tls_version), err);
	put(o, "tls_cipher", text_json(d->tls_cipher), err);
	put(o, "mail_from", text_json(d->mail_from), err);
	return o;
}

static json_t *
grey(const struct rp_grey *g, int *err)
{
	json_t *o;

	if ((o = object(err)) == NULL)
		return NULL;
	put(o, "time", jtime(g->time), err);
	put(o, "connection", json_integer(g->connection_id), err);
	put(o, "client_addr", text_json(g->client_addr), err);
	put(o, "mail_from", text_json(g->mail_from), err);
	put(o, "accepted", json_boolean(g->accepted), err);
	return o;
}

static json_t *
refusal(const struct rp_conn *c, int *err)
{
	char what[RP_REASON_MAX];
	json_t *o;

	if ((o = object(err)) == NULL)
		return NULL;
	report_refusal_text(c, what, sizeof(what));
	put(o, "time", jtime(c->started), err);
	put(o, "connection", json_integer(c->id), err);
	put(o, "host", text_json(c->host), err);
	put(o, "family", json_integer(c->family), err);
	put(o, "client_addr", text_json(c->client_addr), err);
	put(o, "helo", text_json(c->helo), err);
	put(o, "reason", text_json(c->reason), err);
	put(o, "tls_alert_sent", text_json(c->tls_alert_sent), err);
	put(o, "tls_alert_received", text_json(c->tls_alert_received), err);
	put(o, "tls_error", text_json(c->tls_error), err);
	put(o, "summary", text_json(what), err);
	return o;
}

static json_t *
challenge(const struct rp_input *in, size_t i, int *err)
{
	struct rp_row row;
	json_t *o = json_object(), *dl = json_array(), *gl = json_array(),
	    *rf = json_array();
	size_t k;

	if (o == NULL || dl == NULL || gl == NULL || rf == NULL) {
		json_decref(o);
		json_decref(dl);
		json_decref(gl);
		json_decref(rf);
		*err = 1;
		return NULL;
	}
	report_row(in, i, &row);
	put(o, "name", text_json(row.ch->name), err);
	put(o, "address", text_json(row.ch->address), err);
	put(o, "host", text_json(row.ch->host), err);
	put(o, "host2", text_json(row.ch->host2), err);
	put(o, "meaning", text_json(row.ch->meaning), err);
	put(o, "delivered", json_boolean(row.outcome == RPO_DELIVERED), err);
	put(o, "outcome", text_json(report_outcome_name(row.outcome)), err);
	for (k = 0; k < in->ndeliveries; k++)
		if (report_row_delivery(&row, &in->deliveries[k]))
			append(dl, delivery(&in->deliveries[k], err), err);
	for (k = 0; k < in->ngrey; k++)
		if (report_row_grey(&row, &in->grey[k]))
			append(gl, grey(&in->grey[k], err), err);
	for (k = 0; k < in->nconns; k++)
		if (report_row_refusal(&row, &in->conns[k]))
			append(rf, refusal(&in->conns[k], err), err);
	put(o, "deliveries", dl, err);
	put(o, "greylist", gl, err);
	put(o, "refusals", rf, err);
	return o;
}

int
report_json(const struct rp_report *r, FILE *fp)
{
	const struct rp_input *in = r->in;
	json_t *root = json_object(), *vs = json_array(), *cs = json_array();
	double deadline = report_deadline(in);
	size_t i;
	int err = 0;

	if (root == NULL || vs == NULL || cs == NULL) {
		json_decref(root);
		json_decref(vs);
		json_decref(cs);
		return -1;
	}
	put(root, "schema", json_integer(REPORT_SCHEMA), &err);
	put(root, "id", text_json(in->test_id), &err);
	put(root, "base", text_json(in->base), &err);
	put(root, "created", jtime(in->created), &err);
	put(root, "generated", jtime(in->now), &err);
	put(root, "deadline", deadline != 0 ? jtime(deadline) : json_null(),
	    &err);
	put(root, "score", r->score >= 0 ? json_integer(r->score) :
	    json_null(), &err);
	put(root, "score_reason", text_json(r->score_reason), &err);
	for (i = 0; i < r->nverdicts; i++)
		append(vs, verdict(&r->verdicts[i], &err), &err);
	put(root, "verdicts", vs, &err);
	for (i = 0; i < in->nchallenges; i++)
		append(cs, challenge(in, i, &err), &err);
	put(root, "challenges", cs, &err);
	/* ASCII: a terminal shown the JSON sees no C1 control either */
	if (!err && (json_dumpf(root, fp, JSON_INDENT(2) |
	    JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII) == -1 ||
	    putc('\n', fp) == EOF))
		err = 1;
	json_decref(root);
	return err || fflush(fp) == EOF || ferror(fp) ? -1 : 0;
}
