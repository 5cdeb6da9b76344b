/*
 * The store's rows of one test as struct rp_input: a read-only connection
 * of its own (the daemon may be writing), one prepared SELECT per array
 * with the test ID bound as ?1, each answered from an index.  Runs in the
 * tool, single-threaded.
 */
#include "build.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "catalog.h"
#include "config.h"
#include "report.h"
#include "testid.h"

#define LOAD_BUSY_MS	5000	/* the daemon's writer may hold the lock */

/* The next column of a result row, and whether a copy ran out of memory. */
struct load_row {
	sqlite3_stmt	*st;
	int		 col;
	int		 oom;
};

/*
 * One SELECT and the function that appends its row to the input: 0, or
 * -1 when out of memory.  tests/integration/test_report.py reads this
 * table from the source and checks the plan of every entry on a real
 * store (no full scan of a table that grows with the mail): keep each
 * entry a name, string literals (and #defines of string literals) and
 * the function, with comments outside the entries.
 */
struct load_query {
	const char	*name;
	const char	*sql;
	int		(*row)(struct rp_input *, struct load_row *);
};

static int	load_test(struct rp_input *, struct load_row *);
static int	load_delivery(struct rp_input *, struct load_row *);
static int	load_conn(struct rp_input *, struct load_row *);
static int	load_grey(struct rp_input *, struct load_row *);
static int	load_fetch(struct rp_input *, struct load_row *);
static int	load_dnsq(struct rp_input *, struct load_row *);
static int	load_message(struct rp_input *, struct load_row *);
static int	load_spf(struct rp_input *, struct load_row *);
static int	load_dkim(struct rp_input *, struct load_row *);
static int	load_dest(struct rp_input *, struct load_row *);
static int	load_finding(struct rp_input *, struct load_row *);
static int	load_zone(struct rp_input *, struct load_row *);
static int	load_tlsrpt(struct rp_input *, struct load_row *);

/* The transactions of the test's deliveries (as "deliveries" selects). */
#define LOAD_TXNS \
	" IN (SELECT transaction_id FROM recipients WHERE test_id = ?1" \
	" AND wrong_host = 0 AND challenge IS NOT NULL)"

/* BEGIN load_queries (read by tests/integration/test_report.py) */
static const struct load_query load_queries[] = {
	{ "tests",
	    "SELECT created FROM tests WHERE id = ?1",
	    load_test },
	/* mx: as v_deliveries (schema/views.sql); 0 for neither host */
	{ "deliveries",
	    "SELECT r.id, t.id, c.id, r.challenge, r.address, t.received,"
	    " c.host, CASE WHEN c.host = ch.host THEN 1"
	    " WHEN c.host = ch.host2 THEN 2 ELSE 0 END,"
	    " c.family, c.client_addr, t.mail_from, t.tls, c.tls_version,"
	    " c.tls_cipher, c.tls_group, t.bare_lf, t.bare_cr, t.nul_bytes,"
	    " a.finished IS NOT NULL"
	    " FROM recipients r"
	    " JOIN transactions t ON t.id = r.transaction_id"
	    " JOIN connections c ON c.id = t.connection_id"
	    " LEFT JOIN challenges ch ON ch.name = r.challenge"
	    " LEFT JOIN analyses a ON a.transaction_id = t.id"
	    " WHERE r.test_id = ?1 AND r.wrong_host = 0"
	    " AND r.challenge IS NOT NULL"
	    " ORDER BY t.received, r.id",
	    load_delivery },
	/*
	 * The connections of the test.  connections.test_id is the test of
	 * the session's first RCPT (smtp.c), written when the connection
	 * closes, and never changed; the store's writer then decides the
	 * connection_attribution row (store.c ST_ATTR_INSERT: 'rcpt' for
	 * that test, else 'sni' for the test the SNI names, else 'none',
	 * revised to 'address' or 'ambiguous' by later evidence from the
	 * client network, ST_ATTR_EVAL).  So a connection is the test's when
	 * its attribution names the test, or, without an attribution row
	 * (closed before schema 14), when its RCPT did: reason 'rcpt', as in
	 * v_test_connections.  An ambiguous connection (candidates, no
	 * test) belongs to no single test and is left out: it proves
	 * nothing about this one.
	 */
	{ "conns",
	    "SELECT c.id, c.started, coalesce(c.ended, 0), c.host,"
	    " c.local_addr, c.client_addr, c.family, c.challenge,"
	    " c.challenges, coalesce(a.reason, 'rcpt'), c.helo, c.extensions,"
	    " c.starttls, c.tls_established, coalesce(c.tls_resumed, -1),"
	    " c.tls_version, c.tls_cipher, c.tls_group, c.tls_sni,"
	    " c.ch_versions, c.ch_ciphers, c.ch_groups, c.ch_alpn,"
	    " c.tls_alert_sent, c.tls_alert_received, c.tls_error,"
	    " c.mail_commands, c.transactions, c.end_reason"
	    " FROM connections c"
	    " LEFT JOIN connection_attribution a ON a.connection_id = c.id"
	    " WHERE c.id IN (SELECT connection_id FROM connection_attribution"
	    " WHERE test_id = ?1 UNION ALL"
	    " SELECT id FROM connections WHERE test_id = ?1)"
	    " AND coalesce(a.test_id, c.test_id) = ?1"
	    " ORDER BY c.started, c.id",
	    load_conn },
	{ "grey",
	    "SELECT id, connection_id, rcpt, mail_from, client_addr, time,"
	    " result = 'accepted'"
	    " FROM greylist_attempts WHERE test_id = ?1 ORDER BY time, id",
	    load_grey },
	/*
	 * The fetches v_policy_fetches gives this test, without its scan of
	 * every fetch: there a fetch belongs to the test of the connection
	 * with a test (connections.test_id) from the same client address
	 * that started nearest to it, within an hour either way, the lowest
	 * id on a tie.  Such a fetch lies within an hour of one of this
	 * test's own connections from that address, so the candidates are
	 * the fetches from each of those addresses between an hour before
	 * the first and an hour after the last (s, policy_fetches_client).
	 * For each, the nearest start at or before it (b) and at or after
	 * it (a) are two index look-ups (connections_client, ORDER BY ...
	 * LIMIT 1), made once per fetch (MATERIALIZED).  The view's min()
	 * reads every connection of the hour once per connection of the
	 * hour: 85 s for 200 fetches from an address with 2,000 connections
	 * in the hour, where this takes milliseconds.  Two starts within an
	 * hour of each other differ by a representable number (Sterbenz's
	 * lemma), so the distances compare exactly as in the view, and the
	 * connections at the nearest distance are those that started at b
	 * or at a.  The unary + keeps the planner off connections_test for
	 * IS NOT NULL.
	 */
	{ "fetches",
	    "WITH s (addr, lo, hi) AS (SELECT client_addr,"
	    " min(started) - 3600, max(started) + 3600"
	    " FROM connections WHERE test_id = ?1 GROUP BY client_addr),"
	    " n (id, b, a) AS MATERIALIZED (SELECT f.id,"
	    " (SELECT c.started FROM connections c"
	    " WHERE c.client_addr = f.client_addr AND +c.test_id IS NOT NULL"
	    " AND c.started BETWEEN f.time - 3600 AND f.time"
	    " ORDER BY c.started DESC LIMIT 1),"
	    " (SELECT c.started FROM connections c"
	    " WHERE c.client_addr = f.client_addr AND +c.test_id IS NOT NULL"
	    " AND c.started BETWEEN f.time AND f.time + 3600"
	    " ORDER BY c.started LIMIT 1)"
	    " FROM s JOIN policy_fetches f ON f.client_addr = s.addr"
	    " AND f.time BETWEEN s.lo AND s.hi)"
	    " SELECT f.id, f.time, f.client_addr, f.challenge, f.sni,"
	    " f.user_agent, coalesce(f.status, 0), f.error"
	    " FROM n JOIN policy_fetches f ON f.id = n.id"
	    " WHERE (SELECT c.test_id FROM connections c"
	    " WHERE c.client_addr = f.client_addr AND +c.test_id IS NOT NULL"
	    " AND c.started IN (n.b, n.a)"
	    " AND abs(c.started - f.time) = min(coalesce(f.time - n.b, 3601),"
	    " coalesce(n.a - f.time, 3601))"
	    " ORDER BY c.id LIMIT 1) = ?1"
	    " ORDER BY f.time, f.id",
	    load_fetch },
	{ "dnsq",
	    "SELECT id, time, client_addr, family, transport = 'tcp', qname,"
	    " coalesce(qtype, 0), edns, do_bit, minimised"
	    " FROM dns_queries WHERE test_id = ?1 ORDER BY time, id",
	    load_dnsq },
	{ "messages",
	    "SELECT t.id, a.finished IS NOT NULL, a.error,"
	    " m.transaction_id IS NOT NULL, m.from_domain, m.envelope_domain,"
	    " coalesce(m.from_matches_envelope, -1), m.message_id,"
	    " k.result, coalesce(k.signatures, 0), d.result, d.policy_domain,"
	    " d.p, d.policy, coalesce(d.pct, -1), d.rua,"
	    " coalesce(d.spf_aligned, -1), coalesce(d.dkim_aligned, -1),"
	    " n.ptr, n.ptr_status, coalesce(n.fcrdns, -1)"
	    " FROM transactions t"
	    " LEFT JOIN analyses a ON a.transaction_id = t.id"
	    " LEFT JOIN messages m ON m.transaction_id = t.id"
	    " LEFT JOIN dkim_results k ON k.transaction_id = t.id"
	    " LEFT JOIN dmarc_results d ON d.transaction_id = t.id"
	    " LEFT JOIN client_dns n ON n.transaction_id = t.id"
	    " WHERE t.id" LOAD_TXNS
	    " ORDER BY t.id",
	    load_message },
	{ "spf",
	    "SELECT transaction_id, identity, domain, result, dns_lookups,"
	    " void_lookups, error FROM spf_results"
	    " WHERE transaction_id" LOAD_TXNS
	    " ORDER BY transaction_id, identity",
	    load_spf },
	{ "dkim",
	    "SELECT transaction_id, position, domain, selector, algorithm,"
	    " coalesce(key_bits, -1), result, error, coalesce(aligned, -1)"
	    " FROM dkim_signatures WHERE transaction_id" LOAD_TXNS
	    " ORDER BY transaction_id, position",
	    load_dkim },
	{ "dests",
	    "SELECT transaction_id, tag, position, uri, domain,"
	    " coalesce(external, -1), coalesce(authorized, -1), status"
	    " FROM dmarc_destinations WHERE transaction_id" LOAD_TXNS
	    " ORDER BY transaction_id, tag, position",
	    load_dest },
	{ "findings",
	    "SELECT id, transaction_id, field, finding, coalesce(count, 0)"
	    " FROM header_findings WHERE transaction_id" LOAD_TXNS
	    " ORDER BY transaction_id, id",
	    load_finding },
	{ "zones",
	    "SELECT transaction_id, role, name, zone, dnssec, dnssec_error,"
	    " coalesce(ipv6_ns, -1)"
	    " FROM sender_zones WHERE transaction_id" LOAD_TXNS
	    " ORDER BY transaction_id, role, name",
	    load_zone },
	/* attributed by the TLS-RPT helper (schema/017): uniq or sender */
	{ "tlsrpt",
	    "SELECT r.id, i.id, i.received, r.status, r.organization,"
	    " r.date_start, r.date_end, p.policy_type, p.policy_domain,"
	    " p.successful, p.failed, p.attribution"
	    " FROM tlsrpt_policies p"
	    " JOIN tlsrpt_reports r ON r.id = p.tlsrpt_report_id"
	    " JOIN inbound_reports i ON i.id = r.inbound_report_id"
	    " WHERE p.test_id = ?1 ORDER BY i.received, p.id",
	    load_tlsrpt },
};
/* END load_queries */
#define LOAD_NQUERIES	(sizeof(load_queries) / sizeof(load_queries[0]))

/*
 * ARR (of N elements of SIZE bytes) with room for one more: its capacity
 * is 8, then doubles whenever N reaches a power of two.  NULL when out of
 * memory (ARR is left as it was).
 */
static void *
load_room(void *arr, size_t n, size_t size)
{
	if (n == 0)
		return reallocarray(NULL, 8, size);
	if (n >= 8 && (n & (n - 1)) == 0)
		return reallocarray(arr, n * 2, size);
	return arr;
}

/*
 * ROW: a new zeroed element at the end of ARR (N elements, counted at
 * once, so that report_input_free() frees what a half-filled row holds).
 * 0, or -1 when out of memory.
 */
#define LOAD_APPEND(arr, n, row)					\
	(((row) = load_room((arr), (n), sizeof(*(arr)))) == NULL ? -1 :	\
	    ((arr) = (row),						\
	    (row) = memset(&(arr)[(n)++], 0, sizeof(*(arr))), 0))

/* The next column as an owned string; NULL for SQL NULL (or no memory). */
static char *
col_text(struct load_row *r)
{
	const unsigned char *v;
	char *s;
	int i = r->col++, len;

	if (sqlite3_column_type(r->st, i) == SQLITE_NULL)
		return NULL;
	v = sqlite3_column_text(r->st, i);
	len = sqlite3_column_bytes(r->st, i);
	if (v == NULL || (s = malloc((size_t)len + 1)) == NULL) {
		r->oom = 1;
		return NULL;
	}
	memcpy(s, v, (size_t)len);
	s[len] = '\0';
	return s;
}

static int64_t
col_i64(struct load_row *r)
{
	return sqlite3_column_int64(r->st, r->col++);
}

static int
col_int(struct load_row *r)
{
	return sqlite3_column_int(r->st, r->col++);
}

static double
col_real(struct load_row *r)
{
	return sqlite3_column_double(r->st, r->col++);
}

/* The test's one row: it exists; when it was created. */
static int
load_test(struct rp_input *in, struct load_row *r)
{
	in->created = col_real(r);
	return 0;
}

static int
load_delivery(struct rp_input *in, struct load_row *r)
{
	struct rp_delivery *d;

	if (LOAD_APPEND(in->deliveries, in->ndeliveries, d) == -1)
		return -1;
	d->recipient_id = col_i64(r);
	d->transaction_id = col_i64(r);
	d->connection_id = col_i64(r);
	d->challenge = col_text(r);
	d->address = col_text(r);
	d->received = col_real(r);
	d->host = col_text(r);
	d->mx = col_int(r);
	d->family = col_int(r);
	d->client_addr = col_text(r);
	d->mail_from = col_text(r);
	d->tls = col_int(r);
	d->tls_version = col_text(r);
	d->tls_cipher = col_text(r);
	d->tls_group = col_text(r);
	d->bare_lf = col_i64(r);
	d->bare_cr = col_i64(r);
	d->nul_bytes = col_i64(r);
	d->analysed = col_int(r);
	return 0;
}

static int
load_conn(struct rp_input *in, struct load_row *r)
{
	struct rp_conn *c;

	if (LOAD_APPEND(in->conns, in->nconns, c) == -1)
		return -1;
	c->id = col_i64(r);
	c->started = col_real(r);
	c->ended = col_real(r);
	c->host = col_text(r);
	c->local_addr = col_text(r);
	c->client_addr = col_text(r);
	c->family = col_int(r);
	c->challenge = col_text(r);
	c->challenges = col_text(r);
	c->reason = col_text(r);
	c->helo = col_text(r);
	c->extensions = col_text(r);
	c->starttls = col_int(r);
	c->tls_established = col_int(r);
	c->tls_resumed = col_int(r);
	c->tls_version = col_text(r);
	c->tls_cipher = col_text(r);
	c->tls_group = col_text(r);
	c->tls_sni = col_text(r);
	c->ch_versions = col_text(r);
	c->ch_ciphers = col_text(r);
	c->ch_groups = col_text(r);
	c->ch_alpn = col_text(r);
	c->tls_alert_sent = col_text(r);
	c->tls_alert_received = col_text(r);
	c->tls_error = col_text(r);
	c->mail_commands = col_int(r);
	c->transactions = col_int(r);
	c->end_reason = col_text(r);
	return 0;
}

static int
load_grey(struct rp_input *in, struct load_row *r)
{
	struct rp_grey *g;

	if (LOAD_APPEND(in->grey, in->ngrey, g) == -1)
		return -1;
	g->id = col_i64(r);
	g->connection_id = col_i64(r);
	g->rcpt = col_text(r);
	g->mail_from = col_text(r);
	g->client_addr = col_text(r);
	g->time = col_real(r);
	g->accepted = col_int(r);
	return 0;
}

static int
load_fetch(struct rp_input *in, struct load_row *r)
{
	struct rp_fetch *f;

	if (LOAD_APPEND(in->fetches, in->nfetches, f) == -1)
		return -1;
	f->id = col_i64(r);
	f->time = col_real(r);
	f->client_addr = col_text(r);
	f->challenge = col_text(r);
	f->sni = col_text(r);
	f->user_agent = col_text(r);
	f->status = col_int(r);
	f->error = col_text(r);
	return 0;
}

static int
load_dnsq(struct rp_input *in, struct load_row *r)
{
	struct rp_dnsq *q;

	if (LOAD_APPEND(in->dnsq, in->ndnsq, q) == -1)
		return -1;
	q->id = col_i64(r);
	q->time = col_real(r);
	q->client_addr = col_text(r);
	q->family = col_int(r);
	q->tcp = col_int(r);
	q->qname = col_text(r);
	q->qtype = col_int(r);
	q->edns = col_int(r);
	q->do_bit = col_int(r);
	q->minimised = col_int(r);
	return 0;
}

static int
load_message(struct rp_input *in, struct load_row *r)
{
	struct rp_message *m;

	if (LOAD_APPEND(in->messages, in->nmessages, m) == -1)
		return -1;
	m->transaction_id = col_i64(r);
	m->finished = col_int(r);
	m->error = col_text(r);
	m->have_message = col_int(r);
	m->from_domain = col_text(r);
	m->envelope_domain = col_text(r);
	m->from_matches = col_int(r);
	m->message_id = col_text(r);
	m->dkim_result = col_text(r);
	m->dkim_signatures = col_int(r);
	m->dmarc_result = col_text(r);
	m->dmarc_domain = col_text(r);
	m->dmarc_p = col_text(r);
	m->dmarc_policy = col_text(r);
	m->dmarc_pct = col_int(r);
	m->dmarc_rua = col_text(r);
	m->dmarc_spf_aligned = col_int(r);
	m->dmarc_dkim_aligned = col_int(r);
	m->ptr = col_text(r);
	m->ptr_status = col_text(r);
	m->fcrdns = col_int(r);
	return 0;
}

static int
load_spf(struct rp_input *in, struct load_row *r)
{
	struct rp_spf *s;

	if (LOAD_APPEND(in->spf, in->nspf, s) == -1)
		return -1;
	s->transaction_id = col_i64(r);
	s->identity = col_text(r);
	s->domain = col_text(r);
	s->result = col_text(r);
	s->dns_lookups = col_int(r);
	s->void_lookups = col_int(r);
	s->error = col_text(r);
	return 0;
}

static int
load_dkim(struct rp_input *in, struct load_row *r)
{
	struct rp_dkim_sig *k;

	if (LOAD_APPEND(in->dkim, in->ndkim, k) == -1)
		return -1;
	k->transaction_id = col_i64(r);
	k->position = col_int(r);
	k->domain = col_text(r);
	k->selector = col_text(r);
	k->algorithm = col_text(r);
	k->key_bits = col_int(r);
	k->result = col_text(r);
	k->error = col_text(r);
	k->aligned = col_int(r);
	return 0;
}

static int
load_dest(struct rp_input *in, struct load_row *r)
{
	struct rp_dmarc_dest *d;

	if (LOAD_APPEND(in->dests, in->ndests, d) == -1)
		return -1;
	d->transaction_id = col_i64(r);
	d->tag = col_text(r);
	d->position = col_int(r);
	d->uri = col_text(r);
	d->domain = col_text(r);
	d->external = col_int(r);
	d->authorized = col_int(r);
	d->status = col_text(r);
	return 0;
}

static int
load_finding(struct rp_input *in, struct load_row *r)
{
	struct rp_finding *f;

	if (LOAD_APPEND(in->findings, in->nfindings, f) == -1)
		return -1;
	f->id = col_i64(r);
	f->transaction_id = col_i64(r);
	f->field = col_text(r);
	f->finding = col_text(r);
	f->count = col_int(r);
	return 0;
}

static int
load_zone(struct rp_input *in, struct load_row *r)
{
	struct rp_zone *z;

	if (LOAD_APPEND(in->zones, in->nzones, z) == -1)
		return -1;
	z->transaction_id = col_i64(r);
	z->role = col_text(r);
	z->name = col_text(r);
	z->zone = col_text(r);
	z->dnssec = col_text(r);
	z->dnssec_error = col_text(r);
	z->ipv6_ns = col_int(r);
	return 0;
}

static int
load_tlsrpt(struct rp_input *in, struct load_row *r)
{
	struct rp_tlsrpt *t;

	if (LOAD_APPEND(in->tlsrpt, in->ntlsrpt, t) == -1)
		return -1;
	t->report_id = col_i64(r);
	t->inbound_id = col_i64(r);
	t->received = col_real(r);
	t->status = col_text(r);
	t->organization = col_text(r);
	t->date_start = col_text(r);
	t->date_end = col_text(r);
	t->policy_type = col_text(r);
	t->policy_domain = col_text(r);
	t->successful = col_i64(r);
	t->failed = col_i64(r);
	t->attribution = col_text(r);
	return 0;
}

/* Every challenge of the catalogue, in its order, with the test's address. */
static int
load_challenges(const struct config *cfg, struct rp_input *in)
{
	const struct catalog_challenge *cat;
	struct rp_challenge *c;
	char buf[512], why[256];
	size_t i, n;

	cat = catalog_challenges(&n);
	if ((in->challenges = calloc(n, sizeof(*in->challenges))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		c = &in->challenges[in->nchallenges++];
		c->name = cat[i].name;
		c->host = cat[i].hosts[0];
		c->host2 = cat[i].hosts[1];
		c->meaning = cat[i].meaning;
		c->offered = !config_challenge_left_out(cfg, &cat[i], why,
		    sizeof(why));
		if (testid_address(cfg, &cat[i], in->test_id, buf,
		    sizeof(buf)) == -1 || (c->address = strdup(buf)) == NULL)
			return -1;
	}
	return 0;
}

/*
 * A statement that does not prepare because a table or a column is
 * missing: the store is older than this program (schema/NNN_*.sql), and
 * only mailscoped migrates it; the tool opens it read-only.
 */
static void
load_prepare_error(sqlite3 *db, const char *path, const char *what,
    char *err, size_t errlen)
{
	const char *msg = sqlite3_errmsg(db);

	if (strncmp(msg, "no such table", 13) == 0 ||
	    strncmp(msg, "no such column", 14) == 0)
		snprintf(err, errlen, "%s: the store predates this mailscope "
		    "(%s); start mailscoped once to migrate it", path, msg);
	else
		snprintf(err, errlen, "%s: %s: %s", path, what, msg);
}

int
report_load(const struct config *cfg, const char *id, double now,
    struct rp_input *in, char *err, size_t errlen)
{
	const struct load_query *q;
	struct load_row r;
	sqlite3 *db = NULL;
	sqlite3_stmt *st[LOAD_NQUERIES];
	size_t i, len = strlen(id);
	int rc = -1, src, found = 0;

	memset(in, 0, sizeof(*in));
	memset(st, 0, sizeof(st));
	if (len >= sizeof(in->test_id)) {
		snprintf(err, errlen, "not a test ID: %s", id);
		return -1;
	}
	/* stored in lowercase (testid_new); testid_valid() takes either */
	for (i = 0; i < len; i++)
		in->test_id[i] = (id[i] >= 'A' && id[i] <= 'Z') ?
		    (char)(id[i] - 'A' + 'a') : id[i];
	in->now = now;
	in->wait = (double)cfg->wait_ms / 1000.0;
	if ((in->base = strdup(cfg->base_domain)) == NULL ||
	    load_challenges(cfg, in) == -1) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}

	/* read-only: never creates or migrates (as mailscope export) */
	if (sqlite3_open_v2(cfg->database, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK || sqlite3_busy_timeout(db, LOAD_BUSY_MS) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", cfg->database, db != NULL ?
		    sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	/* every statement first: an old store fails before any row is read */
	for (i = 0; i < LOAD_NQUERIES; i++) {
		q = &load_queries[i];
		if (sqlite3_prepare_v2(db, q->sql, -1, &st[i], NULL) !=
		    SQLITE_OK) {
			load_prepare_error(db, cfg->database, q->name, err,
			    errlen);
			goto out;
		}
	}
	/* one read transaction: the arrays agree with each other */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", cfg->database,
		    sqlite3_errmsg(db));
		goto out;
	}
	for (i = 0; i < LOAD_NQUERIES; i++) {
		q = &load_queries[i];
		if (sqlite3_bind_text(st[i], 1, in->test_id, -1,
		    SQLITE_STATIC) != SQLITE_OK) {
			snprintf(err, errlen, "%s: %s: %s", cfg->database,
			    q->name, sqlite3_errmsg(db));
			goto out;
		}
		while ((src = sqlite3_step(st[i])) == SQLITE_ROW) {
			memset(&r, 0, sizeof(r));
			r.st = st[i];
			if (q->row(in, &r) == -1 || r.oom) {
				snprintf(err, errlen, "out of memory");
				goto out;
			}
			if (q->row == load_test)
				found = 1;
		}
		if (src != SQLITE_DONE) {
			snprintf(err, errlen, "%s: %s: %s", cfg->database,
			    q->name, sqlite3_errmsg(db));
			goto out;
		}
		if (q->row == load_test && !found) {
			snprintf(err, errlen, "no such test: %s", in->test_id);
			rc = 1;
			goto out;
		}
	}
	rc = 0;
 out:
	for (i = 0; i < LOAD_NQUERIES; i++)
		sqlite3_finalize(st[i]);
	sqlite3_close(db);	/* ends the read transaction */
	if (rc != 0)
		report_input_free(in);
	return rc;
}

void
report_input_free(struct rp_input *in)
{
	size_t i;

	if (in == NULL)
		return;
	for (i = 0; i < in->nchallenges; i++)
		free(in->challenges[i].address);
	free(in->challenges);
	for (i = 0; i < in->ndeliveries; i++) {
		struct rp_delivery *d = &in->deliveries[i];

		free(d->challenge);
		free(d->address);
		free(d->host);
		free(d->client_addr);
		free(d->mail_from);
		free(d->tls_version);
		free(d->tls_cipher);
		free(d->tls_group);
	}
	free(in->deliveries);
	for (i = 0; i < in->nconns; i++) {
		struct rp_conn *c = &in->conns[i];

		free(c->host);
		free(c->local_addr);
		free(c->client_addr);
		free(c->challenge);
		free(c->challenges);
		free(c->reason);
		free(c->helo);
		free(c->extensions);
		free(c->tls_version);
		free(c->tls_cipher);
		free(c->tls_group);
		free(c->tls_sni);
		free(c->ch_versions);
		free(c->ch_ciphers);
		free(c->ch_groups);
		free(c->ch_alpn);
		free(c->tls_alert_sent);
		free(c->tls_alert_received);
		free(c->tls_error);
		free(c->end_reason);
	}
	free(in->conns);
	for (i = 0; i < in->ngrey; i++) {
		free(in->grey[i].rcpt);
		free(in->grey[i].mail_from);
		free(in->grey[i].client_addr);
	}
	free(in->grey);
	for (i = 0; i < in->nfetches; i++) {
		free(in->fetches[i].client_addr);
		free(in->fetches[i].challenge);
		free(in->fetches[i].sni);
		free(in->fetches[i].user_agent);
		free(in->fetches[i].error);
	}
	free(in->fetches);
	for (i = 0; i < in->ndnsq; i++) {
		free(in->dnsq[i].client_addr);
		free(in->dnsq[i].qname);
	}
	free(in->dnsq);
	for (i = 0; i < in->nmessages; i++) {
		struct rp_message *m = &in->messages[i];

		free(m->error);
		free(m->from_domain);
		free(m->envelope_domain);
		free(m->message_id);
		free(m->dkim_result);
		free(m->dmarc_result);
		free(m->dmarc_domain);
		free(m->dmarc_p);
		free(m->dmarc_policy);
		free(m->dmarc_rua);
		free(m->ptr);
		free(m->ptr_status);
	}
	free(in->messages);
	for (i = 0; i < in->nspf; i++) {
		free(in->spf[i].identity);
		free(in->spf[i].domain);
		free(in->spf[i].result);
		free(in->spf[i].error);
	}
	free(in->spf);
	for (i = 0; i < in->ndkim; i++) {
		free(in->dkim[i].domain);
		free(in->dkim[i].selector);
		free(in->dkim[i].algorithm);
		free(in->dkim[i].result);
		free(in->dkim[i].error);
	}
	free(in->dkim);
	for (i = 0; i < in->ndests; i++) {
		free(in->dests[i].tag);
		free(in->dests[i].uri);
		free(in->dests[i].domain);
		free(in->dests[i].status);
	}
	free(in->dests);
	for (i = 0; i < in->nfindings; i++) {
		free(in->findings[i].field);
		free(in->findings[i].finding);
	}
	free(in->findings);
	for (i = 0; i < in->nzones; i++) {
		free(in->zones[i].role);
		free(in->zones[i].name);
		free(in->zones[i].zone);
		free(in->zones[i].dnssec);
		free(in->zones[i].dnssec_error);
	}
	free(in->zones);
	for (i = 0; i < in->ntlsrpt; i++) {
		struct rp_tlsrpt *t = &in->tlsrpt[i];

		free(t->status);
		free(t->organization);
		free(t->date_start);
		free(t->date_end);
		free(t->policy_type);
		free(t->policy_domain);
		free(t->attribution);
	}
	free(in->tlsrpt);
	free(in->base);
	memset(in, 0, sizeof(*in));
}
