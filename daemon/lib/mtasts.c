/*
 * MTA-STS policies of the catalogue, RFC 8461 3.2: "version: STSv1",
 * "mode: enforce", one "mx:" per MX host (or a name that matches none for
 * the mismatch challenges), "max_age".  Pure; any thread.
 */
#include "build.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "mtasts.h"

int
mtasts_has_policy(const struct catalog_challenge *ch)
{
	return (ch->flags & (CH_STS_LF | CH_STS_CRLF)) != 0;
}

int
mtasts_policy(const struct catalog_challenge *ch, const char *base,
    char *buf, size_t len)
{
	const char *eol = (ch->flags & CH_STS_LF) ? "\n" : "\r\n";
	char mx[256];
	size_t o = 0;
	int i, n;

	if (!mtasts_has_policy(ch))
		return -1;
#define ADD(...) do {							\
		n = snprintf(buf + o, len - o, __VA_ARGS__);		\
		if (n < 0 || (size_t)n >= len - o)			\
			return -1;					\
		o += (size_t)n;						\
	} while (0)
	ADD("version: STSv1%smode: enforce%s", eol, eol);
	if (ch->flags & CH_STS_MISMATCH)
		/* matches none of the challenge's MX hosts */
		ADD("mx: mx.mismatch.%s%s", base, eol);
	else
		for (i = 0; i < 2; i++)
			if (catalog_mx_name(ch, i, base, mx, sizeof(mx)) == 0)
				ADD("mx: %s%s", mx, eol);
	ADD("max_age: %d%s", MTASTS_MAX_AGE, eol);
#undef ADD
	return (int)o;
}

int
mtasts_policy_id(const struct catalog_challenge *ch, const char *base,
    char id[MTASTS_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	char buf[1024];
	int n, i;

	if ((n = mtasts_policy(ch, base, buf, sizeof(buf))) == -1 ||
	    EVP_Digest(buf, (size_t)n, md, &mdlen, EVP_sha256(), NULL) != 1)
		return -1;
	for (i = 0; i < MTASTS_ID_LEN / 2; i++) {
		id[2 * i] = hex[md[i] >> 4];
		id[2 * i + 1] = hex[md[i] & 0xf];
	}
	id[MTASTS_ID_LEN] = '\0';
	return 0;
}

const struct catalog_challenge *
mtasts_challenge_of(const char *name, const char *base)
{
	const struct catalog_challenge *chs;
	size_t i, n, len = strlen(name);
	char want[256];

	if (len > 0 && name[len - 1] == '.')
		len--;
	chs = catalog_challenges(&n);
	for (i = 0; i < n; i++) {
		if (!mtasts_has_policy(&chs[i]))
			continue;
		if (snprintf(want, sizeof(want), "mta-sts.%s.%s", chs[i].name,
		    base) >= (int)sizeof(want))
			continue;
		if (strlen(want) == len && strncasecmp(want, name, len) == 0)
			return &chs[i];
	}
	return NULL;
}
