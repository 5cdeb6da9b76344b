/*
 * The web API's own JSON (docs/api.md): the created test, and the events
 * of a test as a list that a client polls with a cursor.  Sender text
 * reaches the JSON only through jansson, which escapes it.  Worker thread.
 *
 * The events are the rows report_load() read, sorted by time, kind and
 * row id; an event's seq is its position (1, 2, ...).  A row can join a
 * test after later ones (a connection attributed at RCPT or by address,
 * a policy fetch by client address), which moves the positions after it:
 * so the cursor is the number of events the client has, with a hash of
 * their identities.  When the hash no longer matches, the answer starts
 * again at seq 1 with "reset": true.  Nothing is missed, nothing repeated
 * without saying so.
 */
#include "build.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "catalog.h"
#include "report.h"
#include "testid.h"
#include "web_api.h"

#define CURSOR_COUNT_BITS	20	/* events counted by the cursor */
#define CURSOR_COUNT_MASK	((1ULL << CURSOR_COUNT_BITS) - 1)
#define CURSOR_HASH_MASK	0xffffffffULL	/* 52 bits: a JSON-safe number */
#define SUMMARY_MAX		RP_SUMMARY_MAX

/* The kinds, in the order events of one time are sorted in. */
enum ev_kind {
	EV_CONNECTION,
	EV_DELIVERY,
	EV_GREYLIST,
	EV_POLICY_FETCH,
	EV_DNS_QUERY,
	EV_TLSRPT
};

static const char *const kind_names[] = {
	"connection", "delivery", "greylist", "policy_fetch", "dns_query",
	"tlsrpt"
};

/* One event: a row of the input (borrowed). */
struct event {
	double		 time;
	enum ev_kind	 kind;
	int64_t		 id;
	size_t		 row;		/* index in its array of the input */
};

char *
web_api_created(const struct config *cfg, const char *id, size_t *len)
{
	json_t *root;
	char link[64], *out = NULL;

	if ((root = testid_json(cfg, id)) == NULL)
		return NULL;
	snprintf(link, sizeof(link), "/t/%s", id);
	if (json_object_set_new(root, "report", json_string(link)) == -1)
		goto out;
	snprintf(link, sizeof(link), "/api/tests/%s", id);
	if (json_object_set_new(root, "api", json_string(link)) == -1)
		goto out;
	if ((out = json_dumps(root, JSON_PRESERVE_ORDER | JSON_INDENT(2))) !=
	    NULL)
		*len = strlen(out);
 out:
	json_decref(root);
	return out;
}

static int
event_cmp(const void *a, const void *b)
{
	const struct event *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return 0;
}

/* Every row of IN as an event, sorted.  NULL out of memory (N 0: none). */
static struct event *
collect(const struct rp_input *in, size_t *n)
{
	struct event *ev;
	size_t i, k = 0, total;

	total = in->nconns + in->ndeliveries + in->ngrey + in->nfetches +
	    in->ndnsq + in->ntlsrpt;
	*n = 0;
	if ((ev = calloc(total + 1, sizeof(*ev))) == NULL)
		return NULL;
#define ADD(arr, cnt, kd, tfield, idfield)				\
	for (i = 0; i < in->cnt; i++)					\
		ev[k++] = (struct event){ in->arr[i].tfield, kd,	\
		    in->arr[i].idfield, i }
	ADD(conns, nconns, EV_CONNECTION, started, id);
	ADD(deliveries, ndeliveries, EV_DELIVERY, received, recipient_id);
	ADD(grey, ngrey, EV_GREYLIST, time, id);
	ADD(fetches, nfetches, EV_POLICY_FETCH, time, id);
	ADD(dnsq, ndnsq, EV_DNS_QUERY, time, id);
	ADD(tlsrpt, ntlsrpt, EV_TLSRPT, received, report_id);
#undef ADD
	qsort(ev, k, sizeof(*ev), event_cmp);
	*n = k;
	return ev;
}

/* FNV-1a over the identities of the first N events. */
static uint64_t
events_hash(const struct event *ev, size_t n)
{
	uint32_t h = 2166136261U;
	unsigned char b[9];
	size_t i, j;

	for (i = 0; i < n; i++) {
		b[0] = (unsigned char)ev[i].kind;
		for (j = 0; j < 8; j++)
			b[j + 1] = (unsigned char)((uint64_t)ev[i].id >> (8 * j));
		for (j = 0; j < sizeof(b); j++) {
			h ^= b[j];
			h *= 16777619U;
		}
	}
	return h & CURSOR_HASH_MASK;
}

/* The challenge and summary of E (raw: jansson escapes them). */
static const char *
describe(const struct rp_input *in, const struct event *e, char *sum,
    size_t len)
{
	const struct rp_conn *c;
	const struct rp_delivery *d;
	const struct rp_grey *g;
	const struct rp_fetch *f;
	const struct rp_dnsq *q;
	const struct rp_tlsrpt *t;
	char via[64];		/* "open IPv6 MX2" */

	switch (e->kind) {
	case EV_CONNECTION:
		c = &in->conns[e->row];
		snprintf(sum, len, "IPv%d connection from %s to host %s%s%s%s",
		    c->family, c->client_addr != NULL ? c->client_addr : "?",
		    c->host != NULL ? c->host : "?",
		    c->tls_version != NULL ? " over " : "",
		    c->tls_version != NULL ? c->tls_version : "",
		    c->ended == 0 ? " (open)" : "");
		return c->challenge;
	case EV_DELIVERY:
		d = &in->deliveries[e->row];
		report_via_text(d, via, sizeof(via));
		snprintf(sum, len, "delivered to %s via %s",
		    d->address != NULL ? d->address : "?", via);
		return d->challenge;
	case EV_GREYLIST:
		g = &in->grey[e->row];
		snprintf(sum, len, "%s RCPT %s from %s",
		    g->accepted ? "greylisting passed:" : "greylisted:",
		    g->rcpt != NULL ? g->rcpt : "?",
		    g->client_addr != NULL ? g->client_addr : "?");
		return NULL;
	case EV_POLICY_FETCH:
		f = &in->fetches[e->row];
		if (f->status != 0)
			snprintf(sum, len, "MTA-STS policy fetch from %s: "
			    "status %d", f->client_addr != NULL ?
			    f->client_addr : "?", f->status);
		else
			snprintf(sum, len, "MTA-STS connection from %s: %s",
			    f->client_addr != NULL ? f->client_addr : "?",
			    f->error != NULL ? f->error : "no request");
		return f->challenge;
	case EV_DNS_QUERY:
		q = &in->dnsq[e->row];
		snprintf(sum, len, "DNS query %s type %d over %s from %s",
		    q->qname != NULL ? q->qname : "?", q->qtype,
		    q->tcp ? "TCP" : "UDP",
		    q->client_addr != NULL ? q->client_addr : "?");
		return NULL;
	case EV_TLSRPT:
		t = &in->tlsrpt[e->row];
		snprintf(sum, len, "TLS-RPT report from %s: %lld successful, "
		    "%lld failed", t->organization != NULL ? t->organization :
		    "?", (long long)t->successful, (long long)t->failed);
		return NULL;
	}
	return NULL;
}

/*
 * Bytes outside printable ASCII as '?': a summary cut inside a UTF-8
 * sequence would be no JSON string (the report has the full text).
 */
static void
ascii_only(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

/* Event E (seq SEQ) appended to ARR.  0 or -1. */
static int
add_event(json_t *arr, const struct rp_input *in, const struct event *e,
    size_t seq)
{
	char when[RP_TIME_MAX], sum[SUMMARY_MAX];
	const char *ch;
	json_t *o;

	report_time(e->time, when, sizeof(when));
	ch = describe(in, e, sum, sizeof(sum));
	ascii_only(sum);
	if ((o = json_object()) == NULL)
		return -1;
	if (json_object_set_new(o, "seq", json_integer((json_int_t)seq)) ==
	    -1 ||
	    json_object_set_new(o, "time", json_string(when)) == -1 ||
	    json_object_set_new(o, "kind",
	    json_string(kind_names[e->kind])) == -1 ||
	    json_object_set_new(o, "challenge", ch != NULL ?
	    json_string(ch) : json_null()) == -1 ||
	    json_object_set_new(o, "summary", json_string(sum)) == -1 ||
	    json_array_append_new(arr, o) == -1) {
		json_decref(o);
		return -1;
	}
	return 0;
}

char *
web_api_events(const struct rp_input *in, uint64_t since, size_t *len)
{
	struct event *ev;
	json_t *root = NULL, *arr = NULL;
	size_t n, have, i, end;
	char *out = NULL;
	int reset = 0;

	if ((ev = collect(in, &n)) == NULL)
		return NULL;
	have = (size_t)(since & CURSOR_COUNT_MASK);
	if (have > n || events_hash(ev, have) != (since >> CURSOR_COUNT_BITS)) {
		reset = since != 0;
		have = 0;
	}
	end = n - have > WEB_API_EVENTS_MAX ? have + WEB_API_EVENTS_MAX : n;
	if ((root = json_object()) == NULL || (arr = json_array()) == NULL ||
	    json_object_set(root, "events", arr) == -1)
		goto out;
	for (i = have; i < end; i++)
		if (add_event(arr, in, &ev[i], i + 1) == -1)
			goto out;
	if (end > CURSOR_COUNT_MASK)
		end = CURSOR_COUNT_MASK;	/* beyond any real test */
	/* no event yet: 0, as a client starts */
	if (json_object_set_new(root, "next", json_integer(end == 0 ? 0 :
	    (json_int_t)(events_hash(ev, end) << CURSOR_COUNT_BITS | end))) ==
	    -1 ||
	    json_object_set_new(root, "reset", json_boolean(reset)) == -1)
		goto out;
	if ((out = json_dumps(root, JSON_PRESERVE_ORDER | JSON_INDENT(2))) !=
	    NULL)
		*len = strlen(out);
 out:
	json_decref(arr);
	json_decref(root);
	free(ev);
	return out;
}
