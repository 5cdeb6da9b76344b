/*
 * The DKIM analyzer: RFC 6376 verification of every DKIM-Signature field
 * by libopendkim, with the key records (3.6.2) fetched through the one
 * DNS layer, and the outcomes named as RFC 8601 2.7.1 does.  Analysis
 * worker threads, one struct dkim_verifier each.
 */
#include "build.h"

#include <sys/types.h>

#include <opendkim/dkim.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim.h"
#include "dnsname.h"
#include "text.h"

#define STORED_MAX	1024	/* bytes of a tag value or a reason kept */

/*
 * The key lookup callback, not libopendkim's DNS hooks: the hooks want a
 * reply in wire format, our resolver hands back each TXT record as its
 * strings concatenated (RFC 6376 3.6.2.2), which is what the callback
 * returns.  Owns the library handle.
 */
struct dkim_verifier {
	DKIM_LIB	*lib;		/* owned */
	resolver_fn	 lookup;
	void		*arg;		/* borrowed */
};

/* One key record fetched for the message being verified.  Owns text. */
struct key {
	char		 name[DNSNAME_MAX + 2];
	enum dkim_key	 status;
	char		*text;		/* the record chosen; KEY_FOUND */
	const char	*why;		/* static: the resolver's status */
};

/*
 * The message being verified, as the callbacks see it: the keys fetched,
 * and the syntax error (libopendkim's text) of each DKIM-Signature field,
 * in the order of the fields, which is libopendkim's signature order.
 * Owns the keys' text and the syntax strings.
 */
struct msg {
	struct dkim_verifier	*v;		/* borrowed */
	struct key		 keys[DKIM_MAX_VERIFIED];
	size_t			 nkeys;
	unsigned		 timeouts;
	char			*syntax[DKIM_MAX_STORED];
	unsigned		 nfields;	/* DKIM-Signature fields fed */
	int			 mapped;	/* siglist matches the fields */
	int			 verify;	/* 0: store, do not verify */
	int			 oom;
};

/* The results as dkim_summary() ranks them, the best first. */
static const char *const rank[] = {
	"pass", "policy", "fail", "temperror", "permerror", "neutral",
};
#define NRANK	(sizeof(rank) / sizeof(rank[0]))

/* A tag of SIG's DKIM-Signature field as libopendkim parsed it, or NULL. */
static const char *
tag(DKIM_SIGINFO *sig, const char *name)
{
	return (const char *)dkim_sig_gettagvalue(sig, 0,
	    (u_char *)(uintptr_t)name);
}

/* ---- classification ---- */

const char *
dkim_classify(unsigned flags, int bh, int error, enum dkim_key key,
    const char **reason)
{
	*reason = NULL;
	if ((flags & DKIM_SIGFLAG_PASSED) != 0 && bh == DKIM_SIGBH_MATCH &&
	    error == DKIM_SIGERROR_OK)
		return "pass";
	if ((flags & DKIM_SIGFLAG_IGNORE) != 0) {
		*reason = "not verified";
		return "neutral";
	}
	/* RFC 6376 6.1.2 step 3: TEMPFAIL (key unavailable) */
	if (key == DKIM_KEY_TEMP || error == DKIM_SIGERROR_KEYFAIL ||
	    error == DKIM_SIGERROR_MULTIREPLY) {
		*reason = "key unavailable (RFC 6376 6.1.2)";
		return "temperror";
	}
	if (key == DKIM_KEY_LONG) {
		*reason = "key record too long";
		return "permerror";
	}
	/* RFC 8301 3.2; RFC 8601 2.7.1: valid, but not acceptable */
	if (error == DKIM_SIGERROR_KEYTOOSMALL) {
		*reason = "key too small (RFC 8301 3.2)";
		return "policy";
	}
	if (error == DKIM_SIGERROR_BADSIG) {
		/* RFC 6376 6.1.3 */
		*reason = bh == DKIM_SIGBH_MISMATCH ?
		    "body hash did not verify (RFC 6376 6.1.3)" :
		    "signature did not verify (RFC 6376 6.1.3)";
		return "fail";
	}
	if (error == DKIM_SIGERROR_DNSSYNTAX) {
		/* RFC 6376 6.1.2 step 5: PERMFAIL (key syntax error) */
		*reason = "key syntax error (RFC 6376 6.1.2)";
		return "permerror";
	}
	if (error == DKIM_SIGERROR_NOKEY) {
		/* RFC 6376 6.1.2 step 3: PERMFAIL (no key for signature) */
		*reason = "no key for signature (RFC 6376 6.1.2)";
		return "permerror";
	}
	if (error != DKIM_SIGERROR_UNKNOWN && error != DKIM_SIGERROR_OK) {
		*reason = dkim_sig_geterrorstr(error);
		if (*reason == NULL)
			*reason = "signature error";
		return "permerror";
	}
	/* processed, no error, yet not a pass: a body hash never checked */
	if ((flags & DKIM_SIGFLAG_PROCESSED) != 0) {
		*reason = "signature did not verify (RFC 6376 6.1.3)";
		return "fail";
	}
	*reason = "not verified";
	return "neutral";
}

const char *
dkim_summary(const struct dkim_rec *r)
{
	size_t i, k, best = NRANK;

	for (i = 0; i < r->nsigs; i++)
		for (k = 0; k < best; k++)
			if (r->sigs[i].result != NULL &&
			    strcmp(r->sigs[i].result, rank[k]) == 0) {
				best = k;
				break;
			}
	if (best < NRANK)
		return rank[best];
	return r->nsigs > 0 ? "neutral" : "none";
}

/* ---- key lookups ---- */

/*
 * RFC 6376 3.6.2.2: several records may come back; the verifier chooses.
 * The first that parses as a key record, else the first.
 */
static const char *
choose(DKIM *dkim, const struct resolver_answer *a)
{
	u_char buf[DKIM_MAXHEADER];
	size_t i, n;

	for (i = 0; a->n > 1 && i < a->n; i++) {
		if ((n = strlen(a->data[i])) >= sizeof(buf))
			continue;
		memcpy(buf, a->data[i], n + 1);
		if (dkim_key_syntax(dkim, buf, n) == DKIM_STAT_OK)
			return a->data[i];
	}
	return a->data[0];
}

/* The key record at SEL._domainkey.DOM, fetched once per message. */
static struct key *
key_fetch(struct msg *m, DKIM *dkim, const char *sel, const char *dom)
{
	struct resolver_answer a;
	struct key *k;
	char name[DNSNAME_MAX + 2];
	size_t i;
	int n;

	n = snprintf(name, sizeof(name), "%s._domainkey.%s",
	    sel != NULL ? sel : "", dom != NULL ? dom : "");
	for (i = 0; n > 0 && (size_t)n < sizeof(name) && i < m->nkeys; i++)
		if (strcasecmp(m->keys[i].name, name) == 0)
			return &m->keys[i];
	/* at most one new name per signature verified: never full */
	if (m->nkeys == DKIM_MAX_VERIFIED)
		return NULL;
	k = &m->keys[m->nkeys++];
	memset(k, 0, sizeof(*k));
	if (n < 0 || (size_t)n >= sizeof(name) || sel == NULL || dom == NULL) {
		/* RFC 1035 2.3.4: a name this long cannot exist */
		k->status = DKIM_KEY_NONE;
		k->why = "badname";
		return k;
	}
	memcpy(k->name, name, (size_t)n + 1);
	if (m->timeouts >= DKIM_MAX_TIMEOUTS) {
		k->status = DKIM_KEY_TEMP;
		k->why = "not asked after earlier timeouts";
		return k;
	}
	if (m->v->lookup(m->v->arg, name, RESOLVER_TXT, &a) == -1) {
		m->oom = 1;
		k->status = DKIM_KEY_TEMP;
		k->why = "out of memory";
		return k;
	}
	k->why = resolver_status_name(&a);
	switch (a.status) {
	case RESOLVER_ANSWER:
		if (a.rcode == RESOLVER_NOERROR && a.n > 0) {
			k->status = DKIM_KEY_FOUND;
			if ((k->text = strdup(choose(dkim, &a))) == NULL) {
				m->oom = 1;
				k->status = DKIM_KEY_TEMP;
				k->why = "out of memory";
			}
		} else if (resolver_answer_void(&a))
			k->status = DKIM_KEY_NONE;
		else
			k->status = DKIM_KEY_TEMP;
		break;
	case RESOLVER_BADNAME:
		k->status = DKIM_KEY_NONE;
		break;
	case RESOLVER_TIMEOUT:
		m->timeouts++;
		k->status = DKIM_KEY_TEMP;
		break;
	case RESOLVER_ERROR:
		k->status = DKIM_KEY_TEMP;
		break;
	}
	resolver_answer_clear(&a);
	return k;
}

static DKIM_CBSTAT
key_lookup(DKIM *dkim, DKIM_SIGINFO *sig, u_char *buf, size_t buflen)
{
	struct msg *m = dkim_get_user_context(dkim);
	struct key *k;
	size_t n;

	k = key_fetch(m, dkim, (const char *)dkim_sig_getselector(sig),
	    (const char *)dkim_sig_getdomain(sig));
	if (k == NULL)
		return DKIM_CBSTAT_TRYAGAIN;
	switch (k->status) {
	case DKIM_KEY_FOUND:
		if ((n = strlen(k->text)) >= buflen) {
			k->status = DKIM_KEY_LONG;
			return DKIM_CBSTAT_ERROR;
		}
		memcpy(buf, k->text, n + 1);
		return DKIM_CBSTAT_CONTINUE;
	case DKIM_KEY_NONE:
		return DKIM_CBSTAT_NOTFOUND;
	case DKIM_KEY_LONG:
		return DKIM_CBSTAT_ERROR;
	default:
		return DKIM_CBSTAT_TRYAGAIN;
	}
}

/* The lookup SIG's key got, if we made one. */
static const struct key *
key_of(const struct msg *m, DKIM_SIGINFO *sig)
{
	const char *sel = (const char *)dkim_sig_getselector(sig);
	const char *dom = (const char *)dkim_sig_getdomain(sig);
	char name[DNSNAME_MAX + 2];
	size_t i;
	int n;

	if (sel == NULL || dom == NULL)
		return NULL;
	n = snprintf(name, sizeof(name), "%s._domainkey.%s", sel, dom);
	if (n < 0 || (size_t)n >= sizeof(name))
		return NULL;
	for (i = 0; i < m->nkeys; i++)
		if (strcasecmp(m->keys[i].name, name) == 0)
			return &m->keys[i];
	return NULL;
}

/*
 * Before any key is fetched: the signatures past DKIM_MAX_VERIFIED, and
 * those whose field has a syntax error, are not verified.
 */
static DKIM_CBSTAT
prescreen(DKIM *dkim, DKIM_SIGINFO **sigs, int nsigs)
{
	struct msg *m = dkim_get_user_context(dkim);
	int i;

	m->mapped = nsigs >= 0 && (unsigned)nsigs == m->nfields;
	for (i = 0; i < nsigs; i++)
		if (!m->verify || i >= DKIM_MAX_VERIFIED ||
		    (m->mapped && m->syntax[i] != NULL))
			dkim_sig_ignore(sigs[i]);
	return DKIM_CBSTAT_CONTINUE;
}

/* ---- the verifier ---- */

struct dkim_verifier *
dkim_verifier_new(resolver_fn lookup, void *arg)
{
	struct dkim_verifier *v;
	unsigned flags, bits = DKIM_MIN_KEY_BITS;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	v->lookup = lookup;
	v->arg = arg;
	if ((v->lib = dkim_init(NULL, NULL)) == NULL) {
		free(v);
		return NULL;
	}
	/*
	 * Every field gets a signature handle, syntax errors included; keys
	 * are fetched at the end of the message, where a failed lookup costs
	 * its signature only (at the end of the header, libopendkim gives up
	 * on the message when one lookup must be tried again).
	 */
	flags = DKIM_LIBFLAGS_BADSIGHANDLES | DKIM_LIBFLAGS_DELAYSIGPROC;
	if (dkim_options(v->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags,
	    sizeof(flags)) != DKIM_STAT_OK ||
	    dkim_options(v->lib, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &bits,
	    sizeof(bits)) != DKIM_STAT_OK ||
	    dkim_set_key_lookup(v->lib, key_lookup) != DKIM_STAT_OK ||
	    dkim_set_prescreen(v->lib, prescreen) != DKIM_STAT_OK) {
		dkim_verifier_free(v);
		return NULL;
	}
	return v;
}

void
dkim_verifier_free(struct dkim_verifier *v)
{
	if (v == NULL)
		return;
	if (v->lib != NULL)
		dkim_close(v->lib);
	free(v);
}

/* ---- one message ---- */

/*
 * The next header field of [*P, END), without its CRLF, as dkim_chunk()
 * splits them: a field ends at a CRLF not followed by SP or HTAB (RFC 5322
 * 2.2.3), the header section at an empty line.  0 at the end of the
 * section, *P then at the body.
 */
static int
next_field(const char **p, const char *end, const char **f, size_t *flen)
{
	const char *s = *p, *crlf;

	if (s >= end)
		return 0;
	if (end - s >= 2 && s[0] == '\r' && s[1] == '\n') {
		*p = s + 2;
		return 0;
	}
	/* a plain loop: a sanitizer's memmem() checks all of [q, end) */
	for (crlf = s; end - crlf >= 2; crlf++) {
		if (crlf[0] != '\r' || crlf[1] != '\n' ||
		    (end - crlf > 2 && (crlf[2] == ' ' || crlf[2] == '\t')))
			continue;
		*f = s;
		*flen = (size_t)(crlf - s);
		*p = crlf + 2;
		return 1;
	}
	*f = s;
	*flen = (size_t)(end - s);
	*p = end;
	return 1;
}

/*
 * 1 when F is a DKIM-Signature field that dkim_header() takes: a name of
 * printable ASCII (RFC 5322 2.2), trailing white space allowed, before
 * the colon at *VALUE.
 */
static int
is_signature(const char *f, size_t n, const char **value)
{
	static const char name[] = DKIM_SIGNHEADER;
	const char *colon;
	size_t i, len;

	if ((colon = memchr(f, ':', n)) == NULL)
		return 0;
	for (i = 0; f + i < colon; i++)
		if ((unsigned char)f[i] < 32 || (unsigned char)f[i] > 126 ||
		    f[i] == ';')
			return 0;
	for (len = (size_t)(colon - f); len > 0 && f[len - 1] == ' '; len--)
		;
	if (len != sizeof(name) - 1 || strncasecmp(f, name, len) != 0)
		return 0;
	*value = colon + 1;
	return 1;
}

/* libopendkim's syntax check of a signature field's VALUE; its error. */
static void
check_syntax(struct msg *m, DKIM *dkim, const char *value, size_t n)
{
	const char *err;
	u_char *copy;

	if (m->nfields >= DKIM_MAX_STORED)
		return;
	if ((copy = malloc(n + 1)) == NULL) {
		m->oom = 1;
		return;
	}
	memcpy(copy, value, n);
	copy[n] = '\0';
	if (dkim_sig_syntax(dkim, copy, n) != DKIM_STAT_OK) {
		err = dkim_geterror(dkim);
		if (err == NULL || *err == '\0')
			err = "syntax error";
		if ((m->syntax[m->nfields] = text_escaped(err, strlen(err),
		    STORED_MAX, 0)) == NULL)
			m->oom = 1;
	}
	free(copy);
}

/*
 * Feeds the header section to DKIM and counts the DKIM-Signature fields
 * into *NSIG; with more than DKIM_MAX_FIELDS fields, only the first
 * DKIM_MAX_STORED signature fields are fed (and none is verified).  The
 * body follows at *BODY.  -1 when libopendkim ran out of memory.
 */
static int
feed_header(struct msg *m, DKIM *dkim, const char *msg, size_t len,
    const char **body, unsigned *nsig)
{
	const char *p = msg, *end = msg + len, *f, *value;
	size_t flen, nfields = 0;
	int sig;
	DKIM_STAT st;

	*nsig = 0;
	while (next_field(&p, end, &f, &flen))
		if (++nfields, is_signature(f, flen, &value))
			(*nsig)++;
	*body = p;
	m->verify = nfields <= DKIM_MAX_FIELDS;
	for (p = msg; next_field(&p, end, &f, &flen);) {
		sig = is_signature(f, flen, &value);
		if (!m->verify && (!sig || m->nfields >= DKIM_MAX_STORED))
			continue;
		if (sig)
			check_syntax(m, dkim, value,
			    flen - (size_t)(value - f));
		/* a field libopendkim finds malformed is left out, as by
		 * dkim_chunk(); it never writes to the field */
		st = dkim_header(dkim, (u_char *)(uintptr_t)f, flen);
		if (st == DKIM_STAT_NORESOURCE || st == DKIM_STAT_INTERNAL)
			return -1;
		if (sig)
			m->nfields++;
	}
	return 0;
}

/*
 * RFC 6376 6.1.2 step 6: a key whose k= is not the a= key type is
 * PERMFAIL (inappropriate key algorithm); libopendkim does not check.
 * 1 when SIG's key record, if any, fits its algorithm.
 */
static int
key_fits(DKIM_SIGINFO *sig)
{
	const char *k, *a;
	size_t n;

	if ((k = (const char *)dkim_sig_gettagvalue(sig, 1,
	    (u_char *)(uintptr_t)"k")) == NULL || (a = tag(sig, "a")) == NULL)
		return 1;
	n = strlen(k);
	return strncasecmp(a, k, n) == 0 && a[n] == '-';
}

/* One signature row from SIG, the INDEX-th field. */
static int
sig_row(const struct msg *m, DKIM_SIGINFO *sig, size_t index,
    const char *failure, struct dkim_sig_rec *r)
{
	const struct key *k = key_of(m, sig);
	const char *c, *slash, *reason, *l;
	char buf[STORED_MAX + 512], *e;
	unsigned bits = 0, flags;
	dkim_alg_t alg;

	memset(r, 0, sizeof(*r));
	r->position = (unsigned)index + 1;
	r->aligned = -1;
	r->body_length = -1;
	r->result = "temperror";	/* until known: out of memory */
	if ((c = tag(sig, "d")) != NULL && (r->domain = text_escaped(c,
	    strlen(c), STORED_MAX, 1)) == NULL)
		return -1;
	if ((c = tag(sig, "s")) != NULL && (r->selector = text_escaped(c,
	    strlen(c), STORED_MAX, 0)) == NULL)
		return -1;
	if ((c = tag(sig, "a")) != NULL && (r->algorithm = text_escaped(c,
	    strlen(c), STORED_MAX, 1)) == NULL)
		return -1;
	/* RFC 6376 3.5 c=: "simple/simple" by default, a lone header part
	 * means a simple body */
	c = tag(sig, "c");
	slash = c != NULL ? strchr(c, '/') : NULL;
	r->canon_header = c == NULL ? strdup("simple") :
	    text_escaped(c, slash != NULL ? (size_t)(slash - c) : strlen(c),
	    STORED_MAX, 1);
	r->canon_body = slash == NULL ? strdup("simple") :
	    text_escaped(slash + 1, strlen(slash + 1), STORED_MAX, 1);
	if (r->canon_header == NULL || r->canon_body == NULL)
		return -1;
	if ((l = tag(sig, "l")) != NULL && *l != '\0' &&
	    strspn(l, "0123456789") == strlen(l) && strlen(l) <= 18)
		r->body_length = strtoll(l, NULL, 10);
	/* libopendkim has no size for an Ed25519 key: RFC 8463 3 says 256
	 * bits, when one was applied (the signature checked) */
	flags = dkim_sig_getflags(sig);
	if (dkim_sig_getsignalg(sig, &alg) == DKIM_STAT_OK &&
	    alg == DKIM_SIGN_ED25519SHA256)
		r->key_bits = (flags & DKIM_SIGFLAG_PROCESSED) != 0 &&
		    ((flags & DKIM_SIGFLAG_PASSED) != 0 ||
		    dkim_sig_geterror(sig) == DKIM_SIGERROR_BADSIG) ? 256 : 0;
	else if (dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK)
		r->key_bits = bits;

	if (m->mapped && index < DKIM_MAX_STORED && m->syntax[index] != NULL) {
		r->result = "permerror";
		(void)snprintf(buf, sizeof(buf), "signature syntax: %s",
		    m->syntax[index]);
	} else if (!m->verify) {
		r->result = "neutral";
		(void)snprintf(buf, sizeof(buf), "not verified: more than %d "
		    "header fields", DKIM_MAX_FIELDS);
	} else if (index >= DKIM_MAX_VERIFIED) {
		r->result = "neutral";
		(void)snprintf(buf, sizeof(buf), "not verified: more than %d "
		    "signatures", DKIM_MAX_VERIFIED);
	} else {
		r->result = dkim_classify(flags, dkim_sig_getbh(sig),
		    dkim_sig_geterror(sig),
		    k != NULL ? k->status : DKIM_KEY_UNKNOWN, &reason);
		if ((strcmp(r->result, "pass") == 0 ||
		    strcmp(r->result, "fail") == 0) && !key_fits(sig)) {
			r->result = "permerror";
			reason = "inappropriate key algorithm (RFC 6376 6.1.2)";
		}
		if (reason == NULL)
			return 0;
		/* the lookup behind a key error; what stopped libopendkim */
		if (k != NULL && k->status != DKIM_KEY_FOUND)
			(void)snprintf(buf, sizeof(buf), "%s: TXT %s: %s",
			    reason, k->name[0] != '\0' ? k->name : "(no name)",
			    k->why);
		else if (strcmp(r->result, "neutral") == 0 && failure != NULL)
			(void)snprintf(buf, sizeof(buf), "%s: %s", reason,
			    failure);
		else
			(void)snprintf(buf, sizeof(buf), "%s", reason);
	}
	if ((e = text_escaped(buf, strlen(buf), STORED_MAX, 0)) == NULL)
		return -1;
	r->error = e;
	return 0;
}

/*
 * Rows for fields that have no signature handle: libopendkim failed
 * before it made them (out of memory).
 */
static int
bare_rows(struct dkim_rec *out, unsigned from, unsigned n, const char *why)
{
	struct dkim_sig_rec *r;
	unsigned i;

	for (i = from; i < n && out->nsigs < DKIM_MAX_STORED; i++) {
		r = &out->sigs[out->nsigs];
		memset(r, 0, sizeof(*r));
		r->position = i + 1;
		r->aligned = -1;
		r->body_length = -1;
		r->result = "temperror";
		if ((r->error = text_escaped(why, strlen(why), STORED_MAX,
		    0)) == NULL)
			return -1;
		out->nsigs++;
	}
	return 0;
}

static void
msg_clear(struct msg *m)
{
	size_t i;

	for (i = 0; i < m->nkeys; i++)
		free(m->keys[i].text);
	for (i = 0; i < DKIM_MAX_STORED; i++)
		free(m->syntax[i]);
}

int
dkim_check(struct dkim_verifier *v, const char *msg, size_t len,
    struct dkim_rec *out)
{
	struct msg m;
	DKIM *dkim;
	DKIM_SIGINFO **sigs = NULL;
	DKIM_STAT st;
	const char *body, *failure = NULL;
	char buf[STORED_MAX];
	size_t i, nstore;
	int nsigs = 0, rc = 0;

	memset(out, 0, sizeof(*out));
	memset(&m, 0, sizeof(m));
	if (msg == NULL) {
		msg = "";
		len = 0;
	}
	m.v = v;
	out->checked = 1;
	out->result = "none";
	if ((dkim = dkim_verify(v->lib, (const u_char *)"mailscope", NULL,
	    &st)) == NULL)
		return -1;
	(void)dkim_set_user_context(dkim, &m);
	if (feed_header(&m, dkim, msg, len, &body, &out->fields) == -1)
		rc = -1;
	if (out->fields == 0)
		goto done;
	nstore = out->fields < DKIM_MAX_STORED ? out->fields :
	    DKIM_MAX_STORED;
	if ((out->sigs = calloc(nstore, sizeof(*out->sigs))) == NULL) {
		rc = -1;
		goto done;
	}
	if (rc == 0) {
		st = dkim_eoh(dkim);
		if (st == DKIM_STAT_OK) {
			if (body < msg + len &&
			    dkim_body(dkim, (u_char *)(uintptr_t)body,
			    (size_t)(msg + len - body)) != DKIM_STAT_OK)
				failure = dkim_geterror(dkim);
			/* per-signature outcomes are in the handles */
			(void)dkim_eom(dkim, NULL);
		} else if (st != DKIM_STAT_NOSIG)
			failure = dkim_geterror(dkim);
	}
	if (rc == 0 && dkim_getsiglist(dkim, &sigs, &nsigs) == DKIM_STAT_OK &&
	    sigs != NULL) {
		/* counted first: the store frees a row left half-filled */
		for (i = 0; i < (size_t)nsigs && i < nstore; i++) {
			out->nsigs++;
			if (sig_row(&m, sigs[i], i, failure,
			    &out->sigs[i]) == -1) {
				rc = -1;
				break;
			}
		}
	}
	if (out->nsigs < nstore) {
		(void)snprintf(buf, sizeof(buf), "not verified: %s",
		    rc == -1 || m.oom ? "out of memory" :
		    failure != NULL ? failure : "no signature handle");
		if (bare_rows(out, (unsigned)out->nsigs, (unsigned)nstore,
		    buf) == -1)
			rc = -1;
	}
	if (!m.verify) {
		(void)snprintf(buf, sizeof(buf), "more than %d header fields: "
		    "signatures not verified", DKIM_MAX_FIELDS);
		if ((out->error = strdup(buf)) == NULL)
			rc = -1;
	}
done:
	out->result = dkim_summary(out);
	dkim_free(dkim);
	if (m.oom)
		rc = -1;
	msg_clear(&m);
	return rc;
}
