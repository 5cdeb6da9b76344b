/*
 * The SPF evaluator: check_host() of RFC 7208 for the MAIL FROM (2.4) and
 * HELO (2.3) identities, evaluated by libspf2 through a DNS layer of our
 * own (an SPF_dns_server_t) that sends every lookup to the one resolver and
 * counts the terms and void lookups of 4.6.4.  Runs in the SPF evaluator
 * process (spfproc.c), and in the unit tests.
 */
#include "build.h"

#include <sys/socket.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <spf2/spf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dnsname.h"
#include "log.h"
#include "spf.h"
#include "text.h"

/* MX and PTR targets looked up per term (4.6.4, as libspf2's limits). */
#define MAX_PENDING	SPF_MAX_DNS_MX

static const char over_terms[] =
    "more than 10 DNS-querying terms (RFC 7208 4.6.4)";
static const char over_void[] = "more than 2 void lookups (RFC 7208 4.6.4)";

/*
 * The accounting of the check running (RFC 7208 4.6.4).  Terms are told
 * apart by what libspf2 asks: a record fetch after the first is include or
 * redirect; MX and PTR are the mx and ptr mechanisms (or the %{p} macro);
 * A and AAAA are a or exists, unless they resolve a target of the last MX
 * or PTR answer; TXT is exp=, fetched after the evaluation (6.2).  Owns
 * record, exp_text and exp_dom.
 */
struct check {
	unsigned	 fetches;	/* record fetches; the 1st: ours */
	unsigned	 terms;
	unsigned	 voids;
	const char	*over;		/* static: the limit exceeded */
	int		 exp;		/* evaluation over: no counting */
	char		*record;	/* the checked domain's record */
	char		*exp_text;	/* the exp= TXT record */
	char		*exp_dom;	/* its %{d} */
	/* the last lookup that failed, for the stored error */
	char		 dns_error[DNSNAME_MAX * 4 + 64];
	char		 pending[MAX_PENDING][DNSNAME_MAX + 2];
	size_t		 npending;
};

/* Owns the libspf2 server; the DNS layer lives here, its hook is us. */
struct spf {
	SPF_server_t		*server;	/* owned */
	SPF_dns_server_t	 dns;
	resolver_fn		 lookup;
	void			*arg;	/* borrowed */
	SPF_request_t		*req;	/* borrowed: the check's */
	struct check		 chk;
};

/* libspf2's results (spf_response.h) as stored: RFC 7208 2.6. */
static const struct {
	SPF_result_t	 result;
	const char	*name;
} results[] = {
	{ SPF_RESULT_NEUTRAL, "neutral" }, { SPF_RESULT_PASS, "pass" },
	{ SPF_RESULT_FAIL, "fail" }, { SPF_RESULT_SOFTFAIL, "softfail" },
	{ SPF_RESULT_NONE, "none" }, { SPF_RESULT_TEMPERROR, "temperror" },
	{ SPF_RESULT_PERMERROR, "permerror" },
};
#define NRESULTS	(sizeof(results) / sizeof(results[0]))

static const char *
result_name(SPF_result_t r)
{
	size_t i;

	for (i = 0; i < NRESULTS; i++)
		if (results[i].result == r)
			return results[i].name;
	/* SPF_RESULT_INVALID: libspf2 found no answer; nothing sound */
	return "permerror";
}

static const char *
type_name(ns_type t)
{
	switch (t) {
	case ns_t_a:
		return "A";
	case ns_t_aaaa:
		return "AAAA";
	case ns_t_mx:
		return "MX";
	case ns_t_ptr:
		return "PTR";
	case ns_t_txt:
		return "TXT";
	default:
		return "type";
	}
}

int
spf_domain_valid(const char *d)
{
	size_t n = strlen(d);

	if (n > 0 && d[n - 1] == '.')
		n--;
	return dnsname_labels(d, n) >= 2;
}

/* ---- the accounting ---- */

static void
check_reset(struct check *c)
{
	free(c->record);
	free(c->exp_text);
	free(c->exp_dom);
	memset(c, 0, sizeof(*c));
}

/* One more DNS-querying term: -1 when it is one too many. */
static int
count_term(struct check *c)
{
	if (c->over != NULL)
		return -1;
	if (++c->terms > SPF_MAX_TERMS) {
		c->over = over_terms;
		return -1;
	}
	/* a new term: the targets of the last one are done */
	c->npending = 0;
	return 0;
}

static void
count_void(struct check *c)
{
	if (++c->voids > SPF_MAX_VOID && c->over == NULL)
		c->over = over_void;
}

/* NAME is a target of the last MX or PTR answer: consumed, 1. */
static int
take_pending(struct check *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->npending; i++)
		if (c->pending[i][0] != '\0' &&
		    strcasecmp(c->pending[i], name) == 0) {
			c->pending[i][0] = '\0';
			return 1;
		}
	return 0;
}

static void
set_pending(struct check *c, const struct resolver_answer *a)
{
	size_t i;

	c->npending = 0;
	for (i = 0; i < a->n && c->npending < MAX_PENDING; i++)
		if (strlen(a->data[i]) < sizeof(c->pending[0]))
			memcpy(c->pending[c->npending++], a->data[i],
			    strlen(a->data[i]) + 1);
}

/* ---- the DNS layer ---- */

/*
 * RFC 7208 7.3: an expanded name longer than 253 characters loses labels
 * on the left until it fits (libspf2 1.2.10 queries it whole).  A suffix
 * of NAME.
 */
static const char *
truncated(const char *name)
{
	size_t n = strlen(name);
	const char *dot;

	if (n > 0 && name[n - 1] == '.')
		n--;
	while (n > DNSNAME_MAX && (dot = strchr(name, '.')) != NULL) {
		n -= (size_t)(dot + 1 - name);
		name = dot + 1;
	}
	return name;
}

/* RFC 7208 5: NXDOMAIN and "no data" are answers; any other failure,
 * a timeout included, is a temporary error. */
static SPF_dns_stat_t
herrno_of(const struct resolver_answer *a)
{
	switch (a->status) {
	case RESOLVER_ANSWER:
		if (a->rcode == RESOLVER_NOERROR)
			return a->n > 0 ? NETDB_SUCCESS : NO_DATA;
		if (a->rcode == RESOLVER_NXDOMAIN)
			return HOST_NOT_FOUND;
		return TRY_AGAIN;
	case RESOLVER_BADNAME:
		return HOST_NOT_FOUND;	/* a name that cannot exist */
	case RESOLVER_TIMEOUT:
	case RESOLVER_ERROR:
		break;
	}
	return TRY_AGAIN;
}

static void
note_failure(struct check *c, const char *name, ns_type type,
    const struct resolver_answer *a)
{
	char esc[DNSNAME_MAX * 4 + 1];

	log_escape(esc, sizeof(esc), name, strlen(name));
	(void)snprintf(c->dns_error, sizeof(c->dns_error), "%s %s: %s",
	    type_name(type), esc, resolver_status_name(a));
}

/* An answer for libspf2; it aborts on NULL, so running out is fatal. */
static SPF_dns_rr_t *
rr_new(SPF_dns_server_t *ds, const char *name, ns_type type,
    SPF_dns_stat_t herrno)
{
	SPF_dns_rr_t *rr;

	if ((rr = SPF_dns_rr_new_init(ds, name, type, 0, herrno)) == NULL)
		fatalx("spf: out of memory");
	return rr;
}

/* The answer's records as libspf2 keeps them (spf_dns_resolv.c). */
static void
rr_fill(SPF_dns_rr_t *rr, ns_type type, const struct resolver_answer *a)
{
	size_t i, len;
	int n = 0;

	for (i = 0; i < a->n; i++) {
		len = type == ns_t_a ? sizeof(struct in_addr) :
		    type == ns_t_aaaa ? sizeof(struct in6_addr) :
		    strlen(a->data[i]) + 1;
		if (SPF_dns_rr_buf_realloc(rr, n, len) != SPF_E_SUCCESS)
			fatalx("spf: out of memory");
		if (type == ns_t_a) {
			if (inet_pton(AF_INET, a->data[i], &rr->rr[n]->a) != 1)
				continue;
		} else if (type == ns_t_aaaa) {
			if (inet_pton(AF_INET6, a->data[i],
			    &rr->rr[n]->aaaa) != 1)
				continue;
		} else
			memcpy(rr->rr[n]->txt, a->data[i], len);
		n++;
	}
	rr->num_rr = n;
	if (n == 0 && rr->herrno == NETDB_SUCCESS)
		rr->herrno = NO_DATA;
}

/* Our lookup: sets *A, or a temporary error when out of memory. */
static void
query(struct spf *spf, const char *name, ns_type type,
    struct resolver_answer *a)
{
	name = truncated(name);
	if (spf->lookup(spf->arg, name, (uint16_t)type, a) == -1) {
		memset(a, 0, sizeof(*a));
		a->status = RESOLVER_ERROR;
	}
	if (herrno_of(a) == TRY_AGAIN)
		note_failure(&spf->chk, name, type, a);
}

static SPF_dns_rr_t *
layer_lookup(SPF_dns_server_t *ds, const char *name, ns_type type,
    int should_cache)
{
	struct spf *spf = ds->hook;
	struct check *c = &spf->chk;
	struct resolver_answer a;
	SPF_dns_rr_t *rr;
	int term = 0;

	(void)should_cache;
	switch (type) {
	case ns_t_txt:
		c->exp = 1;
		break;
	case ns_t_a:
	case ns_t_aaaa:
		term = !c->exp && !take_pending(c, name);
		break;
	case ns_t_mx:
	case ns_t_ptr:
		term = !c->exp;
		break;
	default:
		/* RFC 7208 3.1, 14.1: TXT only, never the SPF type (99) */
		return rr_new(ds, name, type, NO_DATA);
	}
	/* past a limit the result is permerror: no more lookups at all */
	if ((term && count_term(c) == -1) || c->over != NULL)
		return rr_new(ds, name, type, NO_DATA);
	query(spf, name, type, &a);
	if (term && resolver_answer_void(&a))
		count_void(c);
	/* RFC 7208 6.2: exactly one record, else as if there were no exp= */
	if (type == ns_t_txt && herrno_of(&a) == NETDB_SUCCESS && a.n == 1 &&
	    c->exp_text == NULL && spf->req != NULL &&
	    spf->req->cur_dom != NULL) {
		c->exp_text = strdup(a.data[0]);
		c->exp_dom = strdup(spf->req->cur_dom);
	}
	rr = rr_new(ds, name, type, herrno_of(&a));
	rr_fill(rr, type, &a);
	if (term && (type == ns_t_mx || type == ns_t_ptr))
		set_pending(c, &a);
	resolver_answer_clear(&a);
	return rr;
}

static SPF_errcode_t
fail(SPF_response_t *resp, SPF_result_t result, SPF_errcode_t err,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The end of a record fetch: RESULT, and ERR with its message. */
static SPF_errcode_t
fail(SPF_response_t *resp, SPF_result_t result, SPF_errcode_t err,
    const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	resp->result = result;
	resp->reason = SPF_REASON_FAILURE;
	resp->err = err;
	return SPF_response_add_error(resp, err, "%s", buf);
}

/* RFC 7208 4.5: "v=spf1" followed by a space or the end. */
static int
is_spf1(const char *txt)
{
	return strncasecmp(txt, "v=spf1", 6) == 0 &&
	    (txt[6] == ' ' || txt[6] == '\0');
}

/*
 * A record fetch (SPF_server_get_record()'s work, TXT only): the checked
 * domain's first, then every include and redirect (RFC 7208 4.4, 4.5).
 */
static SPF_errcode_t
layer_get_spf(SPF_server_t *server, SPF_request_t *req,
    SPF_response_t *resp, SPF_record_t **recp)
{
	struct spf *spf = server->resolver->hook;
	struct check *c = &spf->chk;
	const char *dom = truncated(req->cur_dom);
	struct resolver_answer a;
	char esc[DNSNAME_MAX * 4 + 1];
	size_t i, found = 0, idx = 0;
	SPF_errcode_t err;
	int top = c->fetches++ == 0;

	*recp = NULL;
	log_escape(esc, sizeof(esc), dom, strlen(dom));
	if ((!top && count_term(c) == -1) || c->over != NULL)
		return fail(resp, SPF_RESULT_PERMERROR, SPF_E_BIG_DNS, "%s",
		    c->over);
	query(spf, dom, ns_t_txt, &a);
	if (!top && resolver_answer_void(&a)) {
		count_void(c);
		if (c->over != NULL) {
			resolver_answer_clear(&a);
			return fail(resp, SPF_RESULT_PERMERROR, SPF_E_BIG_DNS,
			    "%s", c->over);
		}
	}
	switch (herrno_of(&a)) {
	case TRY_AGAIN:
		resolver_answer_clear(&a);
		return fail(resp, SPF_RESULT_TEMPERROR, SPF_E_DNS_ERROR, "%s",
		    c->dns_error);
	case NETDB_SUCCESS:
		break;
	default:
		err = fail(resp, SPF_RESULT_NONE, SPF_E_NOT_SPF,
		    "no SPF record at %s: %s", esc, resolver_status_name(&a));
		resolver_answer_clear(&a);
		return err;
	}
	for (i = 0; i < a.n; i++)
		if (is_spf1(a.data[i])) {
			found++;
			idx = i;
		}
	if (found != 1) {
		resolver_answer_clear(&a);
		if (found == 0)
			return fail(resp, SPF_RESULT_NONE, SPF_E_NOT_SPF,
			    "no SPF record at %s", esc);
		return fail(resp, SPF_RESULT_PERMERROR, SPF_E_MULTIPLE_RECORDS,
		    "%zu SPF records at %s (RFC 7208 4.5)", found, esc);
	}
	if (top && (c->record = strdup(a.data[idx])) == NULL) {
		resolver_answer_clear(&a);
		return fail(resp, SPF_RESULT_TEMPERROR, SPF_E_NO_MEMORY,
		    "out of memory");
	}
	err = SPF_record_compile(server, resp, recp, a.data[idx]);
	resolver_answer_clear(&a);
	if (err != SPF_E_SUCCESS) {
		/* RFC 7208 4.6: a syntax error is a permerror */
		resp->result = SPF_RESULT_PERMERROR;
		resp->reason = SPF_REASON_FAILURE;
		resp->err = err;
	}
	return err;
}

struct spf *
spf_new(resolver_fn lookup, void *arg, const char *rec_dom)
{
	struct spf *spf;

	if ((spf = calloc(1, sizeof(*spf))) == NULL)
		return NULL;
	spf->lookup = lookup;
	spf->arg = arg;
	/* destroy NULL: libspf2 never frees the layer, it is ours */
	spf->dns.lookup = layer_lookup;
	spf->dns.get_spf = layer_get_spf;
	spf->dns.name = "mailscope";
	spf->dns.hook = spf;
	if ((spf->server = SPF_server_new_dns(&spf->dns, 0)) == NULL ||
	    (rec_dom != NULL &&
	    SPF_server_set_rec_dom(spf->server, rec_dom) != SPF_E_SUCCESS)) {
		spf_free(spf);
		return NULL;
	}
	return spf;
}

void
spf_free(struct spf *spf)
{
	if (spf == NULL)
		return;
	if (spf->server != NULL)
		SPF_server_free(spf->server);
	check_reset(&spf->chk);
	free(spf);
}

/* ---- one check ---- */

/*
 * SPF_request_query_mailfrom() without its free pass for loopback
 * clients: RFC 7208 has no such exception, and lab clients are local.
 */
static SPF_response_t *
run(SPF_server_t *server, SPF_request_t *req)
{
	SPF_response_t *resp;
	SPF_record_t *rec = NULL;

	if ((resp = SPF_response_new(req)) == NULL)
		return NULL;
	req->cur_dom = req->use_helo ? req->helo_dom : req->env_from_dp;
	if (SPF_server_get_record(server, req, resp, &rec) != SPF_E_SUCCESS) {
		if (rec != NULL)
			SPF_record_free(rec);
		(void)SPF_i_done(resp, resp->result, resp->reason, resp->err);
		return resp;
	}
	resp->spf_record_exp = rec;
	(void)SPF_record_interpret(rec, req, resp, 0);
	SPF_record_free(rec);
	return resp;
}

/* The client address into REQ; IPv4-mapped IPv6 is IPv4.  0 or -1. */
static int
set_client(SPF_request_t *req, const char *addr)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, addr, &a4) == 1)
		return SPF_request_set_ipv4(req, a4) == SPF_E_SUCCESS ? 0 : -1;
	if (inet_pton(AF_INET6, addr, &a6) != 1)
		return -1;
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		memcpy(&a4, &a6.s6_addr[12], sizeof(a4));
		return SPF_request_set_ipv4(req, a4) == SPF_E_SUCCESS ? 0 : -1;
	}
	return SPF_request_set_ipv6(req, a6) == SPF_E_SUCCESS ? 0 : -1;
}

/* Why RESP is none, permerror or temperror. */
static const char *
why(SPF_response_t *resp, const struct check *c)
{
	SPF_error_t *e;
	int i;

	if (c->over != NULL)
		return c->over;
	if (SPF_response_result(resp) == SPF_RESULT_TEMPERROR &&
	    c->dns_error[0] != '\0')
		return c->dns_error;
	for (i = 0; i < SPF_response_messages(resp); i++) {
		e = SPF_response_message(resp, i);
		if (SPF_error_errorp(e) && SPF_error_message(e) != NULL)
			return SPF_error_message(e);
	}
	return SPF_strerror(SPF_response_errcode(resp));
}

/* Appends N bytes of S to the growing string *OUT.  0, or -1. */
static int
append(char **out, size_t *used, const char *s, size_t n)
{
	char *o;

	if ((o = realloc(*out, *used + n + 1)) == NULL)
		return -1;
	memcpy(o + *used, s, n);
	*used += n;
	o[*used] = '\0';
	*out = o;
	return 0;
}

/*
 * RFC 7208 6.2: the explanation, explain-string = *( macro-string / SP ),
 * expanded one macro-string at a time (libspf2 1.2.10 takes a space for
 * the end of its input), with the %{d} of the record that failed.  NULL
 * when there is none, or when it does not compile (then there is none).
 */
static char *
explain(struct spf *spf, SPF_request_t *req)
{
	struct check *c = &spf->chk;
	SPF_response_t *scratch;
	SPF_macro_t *m;
	const char *p = c->exp_text, *saved = req->cur_dom;
	char *word, *buf = NULL, *out = NULL;
	size_t buflen = 0, used = 0, n;
	SPF_errcode_t err = SPF_E_SUCCESS;

	if (p == NULL || (scratch = SPF_response_new(req)) == NULL)
		return NULL;
	req->cur_dom = c->exp_dom;
	if (append(&out, &used, "", 0) == -1)
		err = SPF_E_NO_MEMORY;
	while (err == SPF_E_SUCCESS && *p != '\0') {
		if ((n = strspn(p, " ")) > 0) {
			if (append(&out, &used, p, n) == -1)
				err = SPF_E_NO_MEMORY;
			p += n;
			continue;
		}
		n = strcspn(p, " ");
		if ((word = strndup(p, n)) == NULL) {
			err = SPF_E_NO_MEMORY;
			break;
		}
		m = NULL;
		err = SPF_record_compile_macro(spf->server, scratch, &m, word);
		free(word);
		/* spf_record.h: the macro's data follows its header */
		if (err == SPF_E_SUCCESS)
			err = SPF_record_expand_data(spf->server, req, scratch,
			    (SPF_data_t *)(void *)(m + 1), m->macro_len, &buf,
			    &buflen);
		free(m);
		if (err == SPF_E_SUCCESS &&
		    append(&out, &used, buf, strlen(buf)) == -1)
			err = SPF_E_NO_MEMORY;
		p += n;
	}
	req->cur_dom = saved;
	free(buf);
	SPF_response_free(scratch);
	if (err != SPF_E_SUCCESS) {
		free(out);
		return NULL;
	}
	return out;
}

static int
spf_result_fill(struct spf *spf, SPF_request_t *req, SPF_response_t *resp,
    struct spf_rec *out)
{
	const struct check *c = &spf->chk;
	SPF_result_t r = SPF_response_result(resp);
	const char *w;
	char *exp;
	int rc = 0;

	out->result = c->over != NULL ? "permerror" : result_name(r);
	out->dns_lookups = c->terms;
	out->void_lookups = c->voids;
	if (c->record != NULL && (out->record = text_escaped(c->record,
	    strlen(c->record), SPF_STORED_MAX, 0)) == NULL)
		return -1;
	/* the explanation goes with fail; libspf2's default is not theirs */
	if (c->over == NULL && r == SPF_RESULT_FAIL &&
	    (exp = explain(spf, req)) != NULL) {
		if (*exp != '\0' && (out->explanation = text_escaped(exp,
		    strlen(exp), SPF_STORED_MAX, 0)) == NULL)
			rc = -1;
		free(exp);
	}
	if (c->over != NULL || r == SPF_RESULT_NONE ||
	    r == SPF_RESULT_PERMERROR || r == SPF_RESULT_TEMPERROR ||
	    r == SPF_RESULT_INVALID) {
		w = why(resp, c);
		if ((out->error = text_escaped(w, strlen(w), SPF_STORED_MAX,
		    0)) == NULL)
			return -1;
	}
	return rc;
}

const char *
spf_identity_domain(enum spf_identity id, const char *helo,
    const char *mail_from)
{
	const char *at;

	if (id == SPF_HELO || mail_from == NULL || *mail_from == '\0')
		return helo;
	return (at = strrchr(mail_from, '@')) != NULL ? at + 1 : mail_from;
}

int
spf_check(struct spf *spf, enum spf_identity id, const char *client_addr,
    const char *helo, const char *mail_from, struct spf_rec *out)
{
	SPF_request_t *req;
	SPF_response_t *resp;
	const char *domain;
	char *postmaster = NULL;
	size_t n;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	domain = spf_identity_domain(id, helo, mail_from);
	out->checked = 1;
	/* until known; running out of memory is a temporary error */
	out->result = "temperror";
	if (domain != NULL && (out->domain = text_escaped(domain,
	    strlen(domain), SPF_STORED_MAX, 1)) == NULL)
		return -1;
	/* RFC 7208 4.3: nothing to look up is "none" */
	if (domain == NULL || !spf_domain_valid(domain)) {
		out->result = "none";
		out->error = strdup(domain == NULL ? "no HELO name" :
		    "not a multi-label domain name (RFC 7208 4.3)");
		return out->error == NULL ? -1 : 0;
	}
	if ((req = SPF_request_new(spf->server)) == NULL)
		return -1;
	if (set_client(req, client_addr) == -1) {
		/* an address we cannot parse is no check at all */
		SPF_request_free(req);
		out->checked = 0;
		return 0;
	}
	if (domain == helo) {
		n = strlen(domain) + sizeof("postmaster@");
		if ((postmaster = malloc(n)) == NULL)
			goto done;
		(void)snprintf(postmaster, n, "postmaster@%s", domain);
	}
	if ((helo != NULL &&
	    SPF_request_set_helo_dom(req, helo) != SPF_E_SUCCESS) ||
	    SPF_request_set_env_from(req, postmaster != NULL ? postmaster :
	    mail_from) != 0)
		goto done;
	req->use_helo = id == SPF_HELO;
	check_reset(&spf->chk);
	spf->req = req;
	if ((resp = run(spf->server, req)) != NULL) {
		rc = spf_result_fill(spf, req, resp, out);
		SPF_response_free(resp);
	}
	spf->req = NULL;
	check_reset(&spf->chk);
done:
	free(postmaster);
	SPF_request_free(req);
	return rc;
}
