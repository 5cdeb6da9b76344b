/*
 * msbench's statistics: every latency kept (percentiles are exact, by
 * nearest rank), errors counted by stage and reply code, and the report
 * as text or as one JSON object.  Runs on the event loop thread.
 */
#include "build.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msbench.h"

#define CODE_SLOTS	602	/* -1 timeout, 0 connection, 1..600 a code */

/* Owns its latency array. */
struct msb_stats {
	double		*lat;		/* seconds; sorted by the report */
	size_t		 nlat;
	size_t		 cap;
	uint64_t	 errors[MSB_STAGE_COUNT][CODE_SLOTS];
};

static const char *const stage_names[] = {
	[MSB_STAGE_CONNECT] = "CONNECT",
	[MSB_STAGE_GREETING] = "GREETING",
	[MSB_STAGE_EHLO] = "EHLO",
	[MSB_STAGE_STARTTLS] = "STARTTLS",
	[MSB_STAGE_TLS] = "TLS",
	[MSB_STAGE_MAIL] = "MAIL",
	[MSB_STAGE_RCPT] = "RCPT",
	[MSB_STAGE_DATA] = "DATA",
	[MSB_STAGE_DOT] = "DOT",
};

static const char *const mode_names[] = {
	[MSB_MODE_MAIL] = "mail",
	[MSB_MODE_HANDSHAKE] = "handshake",
	[MSB_MODE_IDLE] = "idle",
};

struct msb_stats *
msb_stats_new(void)
{
	return calloc(1, sizeof(struct msb_stats));
}

void
msb_stats_free(struct msb_stats *st)
{
	if (st == NULL)
		return;
	free(st->lat);
	free(st);
}

int
msb_stats_latency(struct msb_stats *st, double seconds)
{
	double	*n;
	size_t	 cap;

	if (st->nlat == st->cap) {
		cap = st->cap ? st->cap * 2 : 4096;
		if ((n = reallocarray(st->lat, cap, sizeof(*n))) == NULL)
			return -1;
		st->lat = n;
		st->cap = cap;
	}
	st->lat[st->nlat++] = seconds;
	return 0;
}

/* CODE: a reply code, 0 for a connection error, -1 for a timeout. */
void
msb_stats_error(struct msb_stats *st, enum msb_stage stage, int code)
{
	if (code < -1 || code > 600)
		code = 0;
	st->errors[stage][code + 1]++;
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest value with at least P of them at or below. */
static double
percentile(const struct msb_stats *st, double p)
{
	size_t	rank;

	if (st->nlat == 0)
		return 0;
	rank = (size_t)ceil(p * (double)st->nlat);
	if (rank < 1)
		rank = 1;
	return st->lat[rank - 1];
}

static double
elapsed(const struct msb_run *run)
{
	return run->t_end > run->t_start ? run->t_end - run->t_start : 0;
}

static void
error_name(char *buf, size_t len, int stage, int slot)
{
	if (slot == 0)
		(void)snprintf(buf, len, "%s timeout", stage_names[stage]);
	else if (slot == 1)
		(void)snprintf(buf, len, "%s io", stage_names[stage]);
	else
		(void)snprintf(buf, len, "%s %d", stage_names[stage], slot - 1);
}

static void
sort_latencies(const struct msb_run *run)
{
	struct msb_stats	*st = run->stats;

	qsort(st->lat, st->nlat, sizeof(*st->lat), cmp_double);
}

void
msb_stats_print(const struct msb_run *run, FILE *fp)
{
	const struct msb_options	*o = run->opt;
	const struct msb_counts		*c = &run->c;
	const struct msb_stats		*st = run->stats;
	double				 t = elapsed(run);
	char				 name[64];
	int				 i, j, any = 0;

	sort_latencies(run);
	fprintf(fp, "msbench%s%s%s: %s, %s, %u sessions x %u, size",
	    o->label ? " [" : "", o->label ? o->label : "",
	    o->label ? "]" : "", o->target_text, mode_names[o->mode],
	    o->sessions, o->messages);
	for (i = 0; i < (int)o->nsizes; i++)
		fprintf(fp, "%s%zu", i ? "," : " ", o->sizes[i].size);
	fprintf(fp, ", pipelining %s, reuse %s, %s%s\n",
	    o->pipelining ? "on" : "off", o->reuse ? "on" : "off",
	    o->starttls ? "starttls" : o->mode == MSB_MODE_HANDSHAKE ?
	    "tls" : "plain", o->resume ? " (resumption)" : "");
	fprintf(fp, "  planned %llu: ok %llu, refused %llu, failed %llu, "
	    "unsent %llu\n", (unsigned long long)c->planned,
	    (unsigned long long)c->ok, (unsigned long long)c->refused,
	    (unsigned long long)c->failed, (unsigned long long)c->unsent);
	fprintf(fp, "  %.3f s, %.1f per s; connections %llu (failed %llu), "
	    "handshakes %llu (resumed %llu)\n", t,
	    t > 0 ? (double)c->ok / t : 0, (unsigned long long)c->connections,
	    (unsigned long long)c->connect_failed,
	    (unsigned long long)c->handshakes,
	    (unsigned long long)c->resumed);
	if (o->mode == MSB_MODE_IDLE)
		fprintf(fp, "  held %llu, closed early by the server %llu\n",
		    (unsigned long long)c->held,
		    (unsigned long long)c->closed_early);
	else
		fprintf(fp, "  latency (%s) ms: p50 %.3f p90 %.3f p99 %.3f "
		    "max %.3f\n", o->mode == MSB_MODE_MAIL ?
		    "end of data to 250" : "connect to handshake done",
		    percentile(st, 0.5) * 1e3, percentile(st, 0.9) * 1e3,
		    percentile(st, 0.99) * 1e3, percentile(st, 1.0) * 1e3);
	for (i = 0; i < MSB_STAGE_COUNT; i++)
		for (j = 0; j < CODE_SLOTS; j++) {
			if (st->errors[i][j] == 0)
				continue;
			error_name(name, sizeof(name), i, j);
			fprintf(fp, "%s%s x%llu", any++ ? ", " : "  errors: ",
			    name, (unsigned long long)st->errors[i][j]);
		}
	if (any)
		fputc('\n', fp);
}

/* S as a JSON string: our own option text, escaped all the same. */
static void
json_string(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; s != NULL && *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(fp, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(fp, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, fp);
	}
	fputc('"', fp);
}

static void
json_opt(FILE *fp, const char *key, const char *value)
{
	fprintf(fp, ",\"%s\":", key);
	if (value == NULL)
		fputs("null", fp);
	else
		json_string(fp, value);
}

int
msb_stats_json(const struct msb_run *run, FILE *fp)
{
	const struct msb_options	*o = run->opt;
	const struct msb_counts		*c = &run->c;
	const struct msb_stats		*st = run->stats;
	double				 t = elapsed(run);
	char				 name[64];
	int				 i, j, any = 0;

	sort_latencies(run);
	fputs("{\"tool\":\"msbench\"", fp);
	json_opt(fp, "label", o->label);
	json_opt(fp, "target", o->target_text);
	json_opt(fp, "mode", mode_names[o->mode]);
	fprintf(fp, ",\"sessions\":%u,\"messages_per_session\":%u,\"sizes\":[",
	    o->sessions, o->messages);
	for (i = 0; i < (int)o->nsizes; i++)
		fprintf(fp, "%s{\"size\":%zu,\"weight\":%u}", i ? "," : "",
		    o->sizes[i].size, o->sizes[i].weight);
	fprintf(fp, "],\"pipelining\":%s,\"reuse\":%s,\"starttls\":%s,"
	    "\"resume\":%s,\"rate\":%.3f",
	    o->pipelining ? "true" : "false", o->reuse ? "true" : "false",
	    o->starttls ? "true" : "false", o->resume ? "true" : "false",
	    o->rate);
	json_opt(fp, "tls_version", o->tls_version == TLS1_3_VERSION ? "1.3" :
	    o->tls_version == TLS1_2_VERSION ? "1.2" : NULL);
	json_opt(fp, "groups", o->groups);
	json_opt(fp, "ciphers", o->ciphers);
	json_opt(fp, "ciphersuites", o->ciphersuites);
	json_opt(fp, "sigalgs", o->sigalgs);
	fprintf(fp, ",\"elapsed_s\":%.6f,\"per_s\":%.3f,\"duration_s\":%u,"
	    "\"timed_out\":%s", t, t > 0 ? (double)c->ok / t : 0,
	    o->duration_s, run->timed_out ? "true" : "false");
	fprintf(fp, ",\"counts\":{\"planned\":%llu,\"ok\":%llu,"
	    "\"refused\":%llu,\"failed\":%llu,\"unsent\":%llu,"
	    "\"connections\":%llu,\"connect_failed\":%llu,"
	    "\"handshakes\":%llu,\"resumed\":%llu,\"held\":%llu,"
	    "\"closed_early\":%llu,\"bytes_out\":%llu}",
	    (unsigned long long)c->planned, (unsigned long long)c->ok,
	    (unsigned long long)c->refused, (unsigned long long)c->failed,
	    (unsigned long long)c->unsent, (unsigned long long)c->connections,
	    (unsigned long long)c->connect_failed,
	    (unsigned long long)c->handshakes, (unsigned long long)c->resumed,
	    (unsigned long long)c->held, (unsigned long long)c->closed_early,
	    (unsigned long long)c->bytes_out);
	fprintf(fp, ",\"latency_ms\":{\"n\":%zu,\"p50\":%.4f,\"p90\":%.4f,"
	    "\"p99\":%.4f,\"max\":%.4f}", st->nlat,
	    percentile(st, 0.5) * 1e3, percentile(st, 0.9) * 1e3,
	    percentile(st, 0.99) * 1e3, percentile(st, 1.0) * 1e3);
	fputs(",\"errors\":{", fp);
	for (i = 0; i < MSB_STAGE_COUNT; i++)
		for (j = 0; j < CODE_SLOTS; j++) {
			if (st->errors[i][j] == 0)
				continue;
			error_name(name, sizeof(name), i, j);
			fprintf(fp, "%s\"%s\":%llu", any++ ? "," : "", name,
			    (unsigned long long)st->errors[i][j]);
		}
	fputs("}}\n", fp);
	return fflush(fp) == 0 && !ferror(fp) ? 0 : -1;
}
