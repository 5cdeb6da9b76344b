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

/* S as a JSON string (null for NULL); NULL when out of memory. */
static json_t *
jstr(const char *s)
{
	json_t *j;
	size_t len;
	char *clean;

	if (s == NULL)
		return json_null();
	if ((clean = text_utf8(s, strlen(s), &len)) == NULL)
		return NULL;
	j = json_stringn(clean, len);
	free(clean);
	return j;
}

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
	put(o, "key", jstr(v->rule->key), err);
	put(o, "group", jstr(report_group_name(v->rule->group)), err);
	put(o, "title", jstr(v->rule->title), err);
	put(o, "state", jstr(report_state_name(v->state)), err);
	put(o, "summary", jstr(v->reason), err);
	put(o, "context", jstr(v->rule->context), err);
	put(o, "weight", json_integer(v->rule->weight), err);
	for (i = 0; i < v->nevidence; i++) {
		if ((e = object(err)) == NULL)
			break;
		put(e, "table", jstr(v->evidence[i].table), err);
		put(e, "id", json_integer(v->evidence[i].id), err);
		put(e, "time", jtime(v->evidence[i].time), err);
		put(e, "summary", jstr(v->evidence[i].summary), err);
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
	put(o, "host", jstr(d->host), err);
	put(o, "mx", json_integer(d->mx), err);
	put(o, "family", json_integer(d->family), err);
	put(o, "client_addr", jstr(d->client_addr), err);
	put(o, "tls_version", jstr(d->tls_version), err);
	put(o, "tls_cipher", jstr(d->tls_cipher), err);
	put(o, "mail_from", jstr(d->mail_from), err);
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
	put(o, "client_addr", jstr(g->client_addr), err);
	put(o, "mail_from", jstr(g->mail_from), err);
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
	put(o, "host", jstr(c->host), err);
	put(o, "family", json_integer(c->family), err);
	put(o, "client_addr", jstr(c->client_addr), err);
	put(o, "helo", jstr(c->helo), err);
	put(o, "reason", jstr(c->reason), err);
	put(o, "tls_alert_sent", jstr(c->tls_alert_sent), err);
	put(o, "tls_alert_received", jstr(c->tls_alert_received), err);
	put(o, "tls_error", jstr(c->tls_error), err);
	put(o, "summary", jstr(what), err);
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
	put(o, "name", jstr(row.ch->name), err);
	put(o, "address", jstr(row.ch->address), err);
	put(o, "host", jstr(row.ch->host), err);
	put(o, "host2", jstr(row.ch->host2), err);
	put(o, "meaning", jstr(row.ch->meaning), err);
	put(o, "delivered", json_boolean(row.outcome == RPO_DELIVERED), err);
	put(o, "outcome", jstr(report_outcome_name(row.outcome)), err);
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
	put(root, "id", jstr(in->test_id), &err);
	put(root, "base", jstr(in->base), &err);
	put(root, "created", jtime(in->created), &err);
	put(root, "generated", jtime(in->now), &err);
	put(root, "deadline", deadline != 0 ? jtime(deadline) : json_null(),
	    &err);
	put(root, "score", r->score >= 0 ? json_integer(r->score) :
	    json_null(), &err);
	put(root, "score_reason", jstr(r->score_reason), &err);
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
