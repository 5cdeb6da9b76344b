/*
 * Until probe_smtp.c and probe_tls.c are in libms_probe.a, probe.c
 * (which the tests of the grade, formats and store link through
 * probe_result_new()) needs these two.  Weak, so that the real ones win
 * when the program holds them; DELETE this file (and its line in
 * Makefile.am, PROBE_FIXTURE) once they are merged: a weak definition
 * keeps the linker from taking probe_tls.o out of the library.
 */
#include "build.h"

#include <stdlib.h>
#include <string.h>

#include "probe.h"

__attribute__((weak)) int
probe_smtp(struct event_base *b, const struct probe_opts *o,
    struct probe_result *r)
{
	(void)b;
	(void)o;
	(void)r;
	abort();	/* the unit tests never run a probe */
}

/* What probe.h says of it: the fields of C freed. */
__attribute__((weak)) void
probe_cert_clear(struct probe_cert *c)
{
	free(c->subject);
	free(c->subject_cn);
	probe_strv_clear(&c->san);
	free(c->issuer);
	free(c->sha1);
	free(c->sha256);
	free(c->spki_sha256);
	free(c->key_type);
	free(c->curve);
	free(c->sig_alg);
	memset(c, 0, sizeof(*c));
}
