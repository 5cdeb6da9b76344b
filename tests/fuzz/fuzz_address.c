/*
 * libFuzzer target of the recipient's way from RCPT TO to a test: the
 * path parser (smtp_parse_path), testid_classify() with the config of
 * demo-config (base measure.test, local part measure), and the host name
 * parsers testid_from_name() and testid_challenge_of_name().  The first
 * byte of an input chooses: even, the rest is the argument of RCPT TO;
 * odd, the rest is an address and a host name as is.  Beyond not
 * crashing: never a relay (only the base domain and names under it are
 * ours), a test ID is 26 lowercase base32 characters, an accepted test
 * address is exactly the one testid_address() writes for that ID and
 * challenge (any case, a final dot allowed), and a host name gives the ID
 * and challenge its labels hold.  Every input also builds the address of
 * every challenge for an ID made of its bytes and checks that it is found
 * again.  Built and run by tests/fuzz/run.
 */
#include "build.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog.h"
#include "smtp_parse.h"
#include "testid.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NAME_BUF	1024	/* an address or name of the input, cut */

static const struct config cfg = {
	.base_domain = "measure.test",
	.local_part = "measure",
};

/* WHAT is broken: a finding, the input kept as a crash. */
static void
broken(const char *what, const char *input)
{
	fprintf(stderr, "fuzz_address: %s: '%s'\n", what, input);
	abort();
}

static int
valid_id(const char *id)
{
	size_t i;

	for (i = 0; i < TESTID_LEN; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') ||
		    (id[i] >= '2' && id[i] <= '7')))
			return 0;
	return id[TESTID_LEN] == '\0';
}

/* Whether S[0..LEN) ends with ".<base>" or is <base>, any case. */
static int
ours(const char *s, size_t len)
{
	size_t blen = strlen(cfg.base_domain);

	if (len < blen || strncasecmp(s + len - blen, cfg.base_domain,
	    blen) != 0)
		return 0;
	return len == blen || s[len - blen - 1] == '.';
}

/* The length of NAME without one final dot. */
static size_t
without_dot(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && name[n - 1] == '.' ? n - 1 : n;
}

static void
check_classify(const char *addr)
{
	const struct catalog_challenge *ch = NULL;
	char id[TESTID_LEN + 1], want[NAME_BUF];
	enum testid_rcpt kind;
	const char *at, *dom;
	size_t dlen, llen;

	memset(id, 0, sizeof(id));
	kind = testid_classify(&cfg, addr, id, &ch);
	at = strrchr(addr, '@');
	if (at == NULL) {
		if (kind != (strcasecmp(addr, "postmaster") == 0 ?
		    RCPT_POSTMASTER : RCPT_FOREIGN))
			broken("address without a domain", addr);
		return;
	}
	dom = at + 1;
	dlen = without_dot(dom);
	llen = (size_t)(at - addr);
	switch (kind) {
	case RCPT_FOREIGN:
		return;
	case RCPT_TEST:
		if (!valid_id(id) || ch == NULL)
			broken("test ID or challenge", addr);
		if (testid_address(&cfg, ch, id, want, sizeof(want)) == -1 ||
		    strlen(want) != llen + 1 + dlen ||
		    strncasecmp(want, addr, llen + 1 + dlen) != 0)
			broken("test address not as testid_address writes it",
			    addr);
		break;
	case RCPT_REPORT:
		if (llen != strlen(CATALOG_TLSRPT_LOCAL) ||
		    strncasecmp(addr, CATALOG_TLSRPT_LOCAL, llen) != 0 ||
		    dlen != strlen(cfg.base_domain))
			broken("report address", addr);
		break;
	case RCPT_POSTMASTER:
		if (llen != 10 || strncasecmp(addr, "postmaster", 10) != 0)
			broken("postmaster address", addr);
		break;
	case RCPT_NO_USER:
		break;
	default:
		broken("classification out of range", addr);
	}
	/* never a relay: only the base domain and names under it are ours */
	if (!ours(dom, dlen))
		broken("a foreign domain accepted", addr);
}

/*
 * A host name: an ID and a per-test challenge only from the labels
 * "<id>.<C>.<base>" (or "mx-<id>" for a delegated C), the challenge of
 * the name its last label before the base.
 */
static void
check_name(const char *name)
{
	const struct catalog_challenge *ch = NULL, *of;
	const char *lab, *end;
	char id[TESTID_LEN + 1];
	size_t n = without_dot(name), clen, llen;
	size_t plen = strlen(CATALOG_TEST_MX_PREFIX);

	of = testid_challenge_of_name(&cfg, name);
	if (of != NULL) {
		/* "<C>.<base>" at the end, C a whole label */
		clen = strlen(of->name) + 1 + strlen(cfg.base_domain);
		if (n < clen || strncasecmp(name + n - clen, of->name,
		    strlen(of->name)) != 0 || !ours(name, n) ||
		    (n > clen && name[n - clen - 1] != '.'))
			broken("challenge not the name's label", name);
	}
	memset(id, 0, sizeof(id));
	if (!testid_from_name(&cfg, name, id, &ch))
		return;
	if (!valid_id(id) || ch == NULL || !(ch->flags & CH_PER_TEST))
		broken("test ID or challenge of a name", name);
	if (of != ch)
		broken("challenge_of_name differs from from_name", name);
	/* the label before "<C>.<base>": the ID, or mx-<id> if delegated */
	clen = strlen(ch->name) + 1 + strlen(cfg.base_domain);
	if (n < clen + 2 || name[n - clen - 1] != '.')
		broken("no label before the challenge", name);
	end = name + n - clen - 1;
	for (lab = end; lab > name && lab[-1] != '.'; lab--)
		;
	llen = (size_t)(end - lab);
	if (!(llen == TESTID_LEN && strncasecmp(lab, id, llen) == 0) &&
	    !((ch->flags & CH_DELEGATED) && llen == plen + TESTID_LEN &&
	    strncasecmp(lab, CATALOG_TEST_MX_PREFIX, plen) == 0 &&
	    strncasecmp(lab + plen, id, TESTID_LEN) == 0))
		broken("ID not the label before the challenge", name);
}

/* Every challenge's address for an ID of the input's bytes: found again. */
static void
check_roundtrip(const uint8_t *data, size_t size)
{
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	const struct catalog_challenge *chs, *ch;
	char id[TESTID_LEN + 1], got[TESTID_LEN + 1], addr[NAME_BUF];
	size_t i, n, len;

	for (i = 0; i < TESTID_LEN; i++)
		id[i] = b32[(i < size ? data[i] : i) & 31];
	id[TESTID_LEN] = '\0';
	chs = catalog_challenges(&n);
	for (i = 0; i < n; i++) {
		if (testid_address(&cfg, &chs[i], id, addr, sizeof(addr) - 1)
		    == -1)
			broken("testid_address", id);
		/* a final dot and upper case, as bits 1 and 2 of DATA[0] say */
		len = strlen(addr);
		if (size > 0 && data[0] & 2) {
			addr[len++] = '.';
			addr[len] = '\0';
		}
		if (size > 0 && data[0] & 4)
			for (len = 0; addr[len] != '\0'; len++)
				addr[len] = (char)toupper((unsigned char)
				    addr[len]);
		ch = NULL;
		if (testid_classify(&cfg, addr, got, &ch) != RCPT_TEST ||
		    ch != &chs[i] || strcmp(got, id) != 0)
			broken("a test address not found again", addr);
		if (!(chs[i].flags & CH_PER_TEST))
			continue;
		ch = NULL;
		if (!testid_from_name(&cfg, strchr(addr, '@') + 1, got, &ch) ||
		    ch != &chs[i] || strcmp(got, id) != 0)
			broken("a test's domain not found again", addr);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[NAME_BUF], mb[PATH_MAX_LEN + 1];
	const char *rest;
	size_t n;

	if (size == 0)
		return 0;
	n = size - 1 < sizeof(in) - 1 ? size - 1 : sizeof(in) - 1;
	memcpy(in, data + 1, n);
	in[n] = '\0';
	if (data[0] % 2 == 0) {
		if (smtp_parse_path(in, mb, sizeof(mb), &rest) == 0 &&
		    mb[0] != '\0')
			check_classify(mb);
	} else {
		check_classify(in);
		check_name(in);
	}
	check_roundtrip(data + 1, size - 1);
	return 0;
}
