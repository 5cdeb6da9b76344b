/*
 * Test IDs: generation (128 random bits, RFC 4648 base32 in lowercase) and
 * the classification of recipient addresses against the catalogue.
 * Pure functions; any thread.
 */
#include "build.h"

#include <sys/random.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "catalog.h"
#include "testid.h"

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

int
testid_new(char id[TESTID_LEN + 1])
{
	unsigned char raw[16];
	unsigned int acc = 0, bits = 0;
	size_t i, o = 0;
	ssize_t n;

	do
		n = getrandom(raw, sizeof(raw), 0);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(raw))
		return -1;
	for (i = 0; i < sizeof(raw); i++) {
		acc = (acc << 8) | raw[i];
		bits += 8;
		while (bits >= 5) {
			id[o++] = b32[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	/* 128 = 25 * 5 + 3: the last symbol carries 3 bits, zero-padded. */
	id[o++] = b32[(acc << (5 - bits)) & 31];
	id[o] = '\0';
	return 0;
}

int
testid_valid(const char *s, size_t len)
{
	size_t i;
	char c;

	if (len != TESTID_LEN)
		return 0;
	for (i = 0; i < len; i++) {
		c = (char)tolower((unsigned char)s[i]);
		if (strchr(b32, c) == NULL || c == '\0')
			return 0;
	}
	return 1;
}

static void
copy_id(char id[TESTID_LEN + 1], const char *s)
{
	size_t i;

	for (i = 0; i < TESTID_LEN; i++)
		id[i] = (char)tolower((unsigned char)s[i]);
	id[TESTID_LEN] = '\0';
}

/* Case-insensitive equality of S[0..LEN) with the string T. */
static int
span_eq(const char *s, size_t len, const char *t)
{
	return strlen(t) == len && strncasecmp(s, t, len) == 0;
}

/* A challenge named exactly S[0..LEN), or NULL. */
static const struct catalog_challenge *
challenge_span(const char *s, size_t len)
{
	const struct catalog_challenge *chs;
	size_t i, n;

	chs = catalog_challenges(&n);
	for (i = 0; i < n; i++)
		if (span_eq(s, len, chs[i].name))
			return &chs[i];
	return NULL;
}

enum testid_rcpt
testid_classify(const struct config *cfg, const char *addr,
    char id[TESTID_LEN + 1], const struct catalog_challenge **ch)
{
	const struct catalog_challenge *c;
	const char *at, *dom, *dot, *lp = cfg->local_part;
	size_t llen, dlen, blen = strlen(cfg->base_domain), lplen = strlen(lp);

	at = strrchr(addr, '@');
	if (at == NULL)	/* RFC 5321 4.5.1: <Postmaster> without a domain */
		return strcasecmp(addr, "postmaster") == 0 ?
		    RCPT_POSTMASTER : RCPT_FOREIGN;
	llen = (size_t)(at - addr);
	dom = at + 1;
	dlen = strlen(dom);
	if (dlen > 0 && dom[dlen - 1] == '.')
		dlen--;

	if (span_eq(dom, dlen, cfg->base_domain)) {
		if (span_eq(addr, llen, "postmaster"))
			return RCPT_POSTMASTER;
		/*
		 * RFC 8460 3: every zone's rua=mailto:tlsrpt@<base>.  No
		 * dmarc@<base>: no zone publishes it (docs/researcher.md).
		 */
		if (span_eq(addr, llen, CATALOG_TLSRPT_LOCAL))
			return RCPT_REPORT;
		return RCPT_NO_USER;
	}
	if (dlen <= blen + 1 || dom[dlen - blen - 1] != '.' ||
	    strncasecmp(dom + dlen - blen, cfg->base_domain, blen) != 0)
		return RCPT_FOREIGN;
	dlen -= blen + 1;	/* DOM[0..DLEN) is what precedes .<base> */

	if ((c = challenge_span(dom, dlen)) != NULL &&
	    !(c->flags & CH_PER_TEST)) {
		if (span_eq(addr, llen, "postmaster"))
			return RCPT_POSTMASTER;
		/* measure+<id>@<challenge>.<base> */
		if (llen == lplen + 1 + TESTID_LEN &&
		    strncasecmp(addr, lp, lplen) == 0 && addr[lplen] == '+' &&
		    testid_valid(addr + lplen + 1, TESTID_LEN)) {
			copy_id(id, addr + lplen + 1);
			*ch = c;
			return RCPT_TEST;
		}
		return RCPT_NO_USER;
	}

	/* measure@<id>.<challenge>.<base> for per-test challenges */
	dot = memchr(dom, '.', dlen);
	if (dot == NULL || !testid_valid(dom, (size_t)(dot - dom)))
		return RCPT_FOREIGN;
	c = challenge_span(dot + 1, dlen - (size_t)(dot + 1 - dom));
	if (c == NULL || !(c->flags & CH_PER_TEST))
		return RCPT_FOREIGN;
	if (span_eq(addr, llen, "postmaster"))
		return RCPT_POSTMASTER;
	if (!span_eq(addr, llen, lp))
		return RCPT_NO_USER;
	copy_id(id, dom);
	*ch = c;
	return RCPT_TEST;
}

int
testid_address(const struct config *cfg, const struct catalog_challenge *ch,
    const char *id, char *buf, size_t len)
{
	int n;

	if (ch->flags & CH_PER_TEST)
		n = snprintf(buf, len, "%s@%s.%s.%s", cfg->local_part, id,
		    ch->name, cfg->base_domain);
	else
		n = snprintf(buf, len, "%s+%s@%s.%s", cfg->local_part, id,
		    ch->name, cfg->base_domain);
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

/*
 * For NAME under the base domain (any case, a final dot allowed): the
 * length of what precedes ".<base>", and in *LAB its last label.  0: not
 * under it.
 */
static size_t
under_base(const struct config *cfg, const char *name, const char **lab)
{
	size_t len = strlen(name), blen = strlen(cfg->base_domain);

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len <= blen + 1 || name[len - blen - 1] != '.' ||
	    strncasecmp(name + len - blen, cfg->base_domain, blen) != 0)
		return 0;
	len -= blen + 1;
	for (*lab = name + len; *lab > name && (*lab)[-1] != '.'; (*lab)--)
		;
	return len;
}

const struct catalog_challenge *
testid_challenge_of_name(const struct config *cfg, const char *name)
{
	const char *lab;
	size_t len;

	if ((len = under_base(cfg, name, &lab)) == 0)
		return NULL;
	return challenge_span(lab, len - (size_t)(lab - name));
}

int
testid_from_name(const struct config *cfg, const char *name,
    char id[TESTID_LEN + 1], const struct catalog_challenge **ch)
{
	const struct catalog_challenge *c;
	const char *lab, *dot;
	size_t len, plen;

	/* the last label before .<base> is the challenge, then the ID */
	if ((len = under_base(cfg, name, &lab)) == 0)
		return 0;
	c = challenge_span(lab, len - (size_t)(lab - name));
	if (c == NULL || !(c->flags & CH_PER_TEST) || lab - name < 2)
		return 0;
	dot = lab - 1;
	for (lab = dot; lab > name && lab[-1] != '.'; lab--)
		;
	plen = strlen(CATALOG_TEST_MX_PREFIX);
	/* the MX of a delegated challenge, mx-<id>.<C>.<base> (catalog.h) */
	if ((c->flags & CH_DELEGATED) && (size_t)(dot - lab) > plen &&
	    strncasecmp(lab, CATALOG_TEST_MX_PREFIX, plen) == 0 &&
	    testid_valid(lab + plen, (size_t)(dot - lab) - plen))
		lab += plen;
	else if (!testid_valid(lab, (size_t)(dot - lab)))
		return 0;
	copy_id(id, lab);
	*ch = c;
	return 1;
}

json_t *
testid_json(const struct config *cfg, const char *id)
{
	const struct catalog_challenge *chs;
	json_t *root, *addrs;
	char addr[512];		/* local part, ID, challenge, base */
	size_t i, n;

	root = json_object();
	addrs = json_object();
	if (root == NULL || addrs == NULL ||
	    json_object_set_new(root, "id", json_string(id)) == -1 ||
	    json_object_set(root, "addresses", addrs) == -1)
		goto fail;
	chs = catalog_challenges(&n);
	for (i = 0; i < n; i++)
		if (testid_address(cfg, &chs[i], id, addr, sizeof(addr)) == -1 ||
		    json_object_set_new(addrs, chs[i].name,
		    json_string(addr)) == -1)
			goto fail;
	json_decref(addrs);
	return root;
 fail:
	json_decref(addrs);
	json_decref(root);
	return NULL;
}
