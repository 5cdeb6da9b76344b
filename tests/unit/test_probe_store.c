/*
 * Unit tests of probe_store.c against a real SQLite file in a temporary
 * directory: the migrations applied (021 and v_probes), the rows of a
 * graded result read back, the stored JSON equal to probe_json()'s, a
 * probe without addresses in the view, and strings kept byte for byte.
 */
#include "build.h"

#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* cmocka needs these before it, in this order */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "probe.h"
#include "probe_fixture.h"

#define INJECT	"x'); DROP TABLE probes; --"

struct fixture {
	char	 dir[PATH_MAX / 2];
	char	 path[PATH_MAX];
	sqlite3	*db;		/* the test's own, to read */
};

static int
setup(void **state)
{
	struct fixture *f;
	const char *tmp;

	assert_non_null(f = calloc(1, sizeof(*f)));
	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(f->dir, sizeof(f->dir), "%s/test_probe_store.XXXXXX", tmp);
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/mailscope.db", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char p[PATH_MAX + 8];
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	size_t i;

	sqlite3_close(f->db);
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, sfx[i]);
		(void)unlink(p);
	}
	(void)rmdir(f->dir);
	free(f);
	return 0;
}

static void
db_open(struct fixture *f)
{
	if (f->db == NULL)
		assert_int_equal(sqlite3_open_v2(f->path, &f->db,
		    SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
}

/* The one integer SQL (with ?1 = ID) answers. */
static long long
q_int(struct fixture *f, const char *sql, int64_t id)
{
	sqlite3_stmt *st;
	long long v;

	db_open(f);
	if (sqlite3_prepare_v2(f->db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(f->db));
	assert_int_equal(sqlite3_bind_int64(st, 1, id), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -999 :
	    sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The one text SQL (with ?1 = ID) answers, malloc'd; NULL for NULL. */
static char *
q_text(struct fixture *f, const char *sql, int64_t id)
{
	sqlite3_stmt *st;
	const unsigned char *t;
	char *v = NULL;

	db_open(f);
	if (sqlite3_prepare_v2(f->db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(f->db));
	assert_int_equal(sqlite3_bind_int64(st, 1, id), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	if ((t = sqlite3_column_text(st, 0)) != NULL)
		assert_non_null(v = strdup((const char *)t));
	sqlite3_finalize(st);
	return v;
}

static void
assert_text(struct fixture *f, const char *sql, int64_t id,
    const char *want)
{
	char *v = q_text(f, sql, id);

	if (want == NULL)
		assert_null(v);
	else {
		assert_non_null(v);
		assert_string_equal(v, want);
	}
	free(v);
}

static char *
json_of(const struct probe_result *r)
{
	char *buf = NULL;
	size_t len;
	FILE *fp;

	assert_non_null(fp = open_memstream(&buf, &len));
	assert_int_equal(probe_json(fp, r), 0);
	assert_int_equal(fclose(fp), 0);
	return buf;
}

static void
stores_a_graded_probe_and_reads_it_back(void **state)
{
	struct fixture *f = *state;
	struct probe_result *r = pfx_good(2, 2);
	int64_t id;
	char *json, *stored;

	pfx_dane(r);
	r->mx[1].addrs[1].versions[PV_TLS10].accepted = PT_YES;
	pfx_set(&r->mx[1].addrs[1].banner, INJECT "\xff");
	assert_int_equal(probe_grade(r), 0);
	assert_int_equal(probe_store(f->path, r, &id), 0);
	assert_true(id > 0);

	assert_text(f, "SELECT domain FROM probes WHERE id = ?1", id,
	    "good.example");
	assert_text(f, "SELECT grade FROM probes WHERE id = ?1", id, r->grade);
	assert_int_equal(q_int(f, "SELECT score FROM probes WHERE id = ?1",
	    id), r->score);
	assert_int_equal(q_int(f, "SELECT dnssec FROM probes WHERE id = ?1",
	    id), 1);
	assert_text(f, "SELECT dmarc_policy FROM probes WHERE id = ?1", id,
	    "reject");
	json = json_of(r);
	stored = q_text(f, "SELECT result_json FROM probes WHERE id = ?1", id);
	assert_non_null(stored);
	assert_string_equal(stored, json);
	free(stored);
	free(json);

	assert_int_equal(q_int(f, "SELECT count(*) FROM probe_hosts WHERE "
	    "probe_id = ?1", id), 4);
	assert_text(f, "SELECT group_concat(addr, ' ') FROM (SELECT addr "
	    "FROM probe_hosts WHERE probe_id = ?1 ORDER BY id)", id,
	    "192.0.2.10 2001:db8::1:1 192.0.2.20 2001:db8::2:1");
	assert_text(f, "SELECT extensions FROM probe_hosts WHERE probe_id = ?1"
	    " AND addr = '192.0.2.10'", id,
	    "SIZE PIPELINING 8BITMIME CHUNKING STARTTLS ENHANCEDSTATUSCODES");
	assert_text(f, "SELECT tls_version || ' ' || tls_cipher || ' ' || "
	    "tls_group FROM probe_hosts WHERE probe_id = ?1 AND "
	    "addr = '192.0.2.20'", id,
	    "TLSv1.3 TLS_AES_256_GCM_SHA384 X25519");
	assert_text(f, "SELECT cert_cn FROM probe_hosts WHERE probe_id = ?1 "
	    "AND addr = '192.0.2.20'", id, "mx2.good.example");
	assert_int_equal(q_int(f, "SELECT cert_key_bits FROM probe_hosts "
	    "WHERE probe_id = ?1 AND addr = '192.0.2.20'", id), 2048);
	assert_int_equal(q_int(f, "SELECT count(*) FROM probe_hosts WHERE "
	    "probe_id = ?1 AND dane = 'match' AND chain_valid = 1 AND "
	    "name_match = 1 AND open_relay = 0 AND tls13 = 1 AND "
	    "reachable = 1 AND starttls = 1", id), 4);
	assert_int_equal(q_int(f, "SELECT tls10 FROM probe_hosts WHERE "
	    "probe_id = ?1 AND addr = '2001:db8::2:1'", id), 1);
	/* bound, not spliced: the bytes as they came */
	assert_text(f, "SELECT banner FROM probe_hosts WHERE probe_id = ?1 "
	    "AND addr = '2001:db8::2:1'", id, INJECT "\xff");

	assert_int_equal(q_int(f, "SELECT count(*) FROM probe_findings WHERE "
	    "probe_id = ?1", id), (long long)r->nfindings);
	assert_text(f, "SELECT severity || ' ' || mx || ' ' || addr FROM "
	    "probe_findings WHERE probe_id = ?1 AND key = 'tls10_accepted'",
	    id, "warn mx2.good.example 2001:db8::2:1");
	assert_text(f, "SELECT evidence FROM probe_findings WHERE probe_id = ?1"
	    " AND key = 'dane_match' AND addr = '192.0.2.10'", id,
	    "TLSA 3 1 1 bb0000\nWeb PKI: chain yes, name yes");

	/* the researchers' view: one row per address */
	assert_int_equal(q_int(f, "SELECT count(*) FROM v_probes WHERE "
	    "probe_id = ?1 AND domain = 'good.example' AND grade = 'A' AND "
	    "started = '2026-12-07 10:00:00'", id), 4);
	assert_int_equal(q_int(f, "SELECT max(findings_warn) FROM v_probes "
	    "WHERE probe_id = ?1", id), 1);
	probe_result_free(r);
}

static void
a_probe_without_addresses_is_one_row_of_the_view(void **state)
{
	struct fixture *f = *state;
	struct probe_result *r = pfx_good(0, 0);
	int64_t id1, id2;

	r->null_mx = 1;
	assert_int_equal(probe_grade(r), 0);
	assert_int_equal(probe_store(f->path, r, &id1), 0);
	r->error = pfx_str(INJECT);
	assert_int_equal(probe_grade(r), 0);
	assert_int_equal(probe_store(f->path, r, &id2), 0);
	assert_true(id2 > id1);
	assert_int_equal(q_int(f, "SELECT count(*) FROM v_probes WHERE "
	    "probe_id = ?1 AND host_id IS NULL AND grade IS NULL AND "
	    "null_mx = 1", id1), 1);
	assert_int_equal(q_int(f, "SELECT score FROM probes WHERE id = ?1",
	    id1), -999);
	assert_text(f, "SELECT key FROM probe_findings WHERE probe_id = ?1",
	    id1, "null_mx");
	assert_text(f, "SELECT error FROM probes WHERE id = ?1", id2, INJECT);
	assert_int_equal(q_int(f, "SELECT count(*) FROM probe_findings WHERE "
	    "probe_id = ?1", id2), 0);
	assert_int_equal(q_int(f, "SELECT count(*) FROM probes WHERE "
	    "id >= ?1", 0), 2);
	probe_result_free(r);
}

static void
a_database_that_cannot_be_opened_fails(void **state)
{
	struct fixture *f = *state;
	struct probe_result *r = pfx_good(1, 1);
	char bad[PATH_MAX + 16];
	int64_t id = 42;

	snprintf(bad, sizeof(bad), "%s/missing/dir.db", f->dir);
	assert_int_equal(probe_grade(r), 0);
	assert_int_equal(probe_store(bad, r, &id), -1);
	assert_int_equal(id, -1);
	probe_result_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    stores_a_graded_probe_and_reads_it_back, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    a_probe_without_addresses_is_one_row_of_the_view, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    a_database_that_cannot_be_opened_fails, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
