/*
 * Analysis workers: a small pool of threads that take committed
 * transactions from a queue, run the analyzers and queue the results for
 * the store's writer.  The event loop only submits; nothing here blocks it.
 * Each worker has its own resolver and SPF evaluator process: ldns
 * objects may not be shared between threads, and libspf2 runs apart
 * (spfclient.h).  All the DNS work of a message ends by its deadline.
 */
#include "build.h"

#include <sys/queue.h>

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "clientdns.h"
#include "clock.h"
#include "dkim.h"
#include "dmarc.h"
#include "headers.h"
#include "log.h"
#include "resolver.h"
#include "senderdns.h"
#include "spfclient.h"
#include "store.h"
#include "tlsrpt.h"

#define ANALYZE_QUEUE_BYTES	(256UL * 1024 * 1024)	/* waiting messages */

struct work {
	STAILQ_ENTRY(work)	 entry;
	struct txn_rec		*txn;		/* owned */
	int			 tlsrpt_only;	/* analyze_submit_tlsrpt() */
};
STAILQ_HEAD(workq, work);

/* mtx protects queue and stopping; the rest is set before the threads. */
struct analyzer {
	const struct config	*cfg;		/* borrowed */
	struct store		*store;		/* borrowed */
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	struct workq		 queue;
	unsigned		 queued;	/* in queue */
	size_t			 queued_bytes;	/* their messages' sizes */
	int			 stopping;
	pthread_t		 threads[ANALYSIS_WORKERS_MAX];
	int			 nthreads;
};

/* What one worker thread owns.  All NULL with resolver = off. */
struct worker_dns {
	struct resolver	*res;	/* owned; NULL: lookups fail */
	struct spfclient *spf;	/* owned */
	struct dkim_verifier *dkim;	/* owned */
	struct dmarc	*dmarc;	/* owned */
	struct senderdns *zones;	/* owned */
};

static void
worker_dns_init(const struct config *cfg, struct worker_dns *wd)
{
	char err[256];

	memset(wd, 0, sizeof(*wd));
	if (resolver_disabled(cfg))
		return;
	if ((wd->res = resolver_new(cfg, err, sizeof(err))) == NULL)
		log_warn("analyze: no resolver (%s): DNS lookups fail", err);
	if ((wd->spf = spfclient_new(cfg)) == NULL)
		log_warn("analyze: SPF: out of memory");
	if ((wd->dkim = dkim_verifier_new(resolver_lookup, wd->res)) == NULL)
		log_warn("analyze: DKIM: cannot initialise libopendkim");
	if ((wd->dmarc = dmarc_new(resolver_lookup, wd->res)) == NULL)
		log_warn("analyze: DMARC: out of memory");
	if ((wd->zones = senderdns_new(wd->res, cfg->trust_anchor, err,
	    sizeof(err))) == NULL)
		log_warn("analyze: sender zones not checked: %s", err);
}

/*
 * The analyzers that ask the DNS: client, SPF of both identities, DKIM
 * (its keys), then DMARC, which takes the SPF and DKIM results, and the
 * sender's zones, all by the message's analysis_deadline: a lookup after
 * it fails at once as a timeout (resolver.h).
 */
static void
analyze_dns(const struct config *cfg, const struct worker_dns *wd,
    const struct txn_rec *txn, struct analysis_rec *rec)
{
	if (wd->spf == NULL || txn->client_addr == NULL)
		return;
	resolver_set_deadline(wd->res, cfg->analysis_deadline_ms);
	if (clientdns_analyze(resolver_lookup, wd->res, txn->client_addr,
	    txn->helo, &rec->client) == -1)
		log_warn("analyze: transaction %lld: client DNS: out of "
		    "memory", (long long)txn->id);
	if (spfclient_check(wd->spf, resolver_time_left(wd->res), SPF_MAILFROM,
	    txn->client_addr, txn->helo, txn->mail_from,
	    &rec->spf_mailfrom) == -1 ||
	    spfclient_check(wd->spf, resolver_time_left(wd->res), SPF_HELO,
	    txn->client_addr, txn->helo, txn->mail_from, &rec->spf_helo) == -1)
		log_warn("analyze: transaction %lld: SPF: out of memory",
		    (long long)txn->id);
	if (wd->dkim != NULL && dkim_check(wd->dkim, txn->message,
	    txn->message_len, &rec->dkim) == -1)
		log_warn("analyze: transaction %lld: DKIM: out of memory",
		    (long long)txn->id);
	/* RFC 7489: the header From domain (the header analyzer's) */
	if (wd->dmarc != NULL && dmarc_check(wd->dmarc, rec->from_domain,
	    &rec->spf_mailfrom, &rec->dkim, &rec->dmarc) == -1)
		log_warn("analyze: transaction %lld: DMARC: out of memory",
		    (long long)txn->id);
	if (wd->zones != NULL && senderdns_check(wd->zones,
	    rec->envelope_domain, rec->from_domain, &rec->dkim,
	    txn->client_addr, &rec->sender_zones) == -1)
		log_warn("analyze: transaction %lld: sender zones: out of "
		    "memory", (long long)txn->id);
	resolver_clear_deadline(wd->res);
	log_debug("c%lld: analysed transaction=%lld spf_mailfrom=%s "
	    "spf_helo=%s fcrdns=%d dkim=%s/%u dmarc=%s",
	    (long long)txn->conn_id, (long long)txn->id,
	    rec->spf_mailfrom.checked ? rec->spf_mailfrom.result : "-",
	    rec->spf_helo.checked ? rec->spf_helo.result : "-",
	    rec->client.fcrdns, rec->dkim.checked ? rec->dkim.result : "-",
	    rec->dkim.fields, rec->dmarc.checked ? rec->dmarc.result : "-");
}

static void
analyze_one(struct analyzer *an, const struct worker_dns *wd,
    struct txn_rec *txn, int tlsrpt_only)
{
	struct analysis_rec *rec;

	if ((rec = calloc(1, sizeof(*rec))) == NULL) {
		log_warn("analyze: transaction %lld: out of memory",
		    (long long)txn->id);
		return;
	}
	rec->txn_id = txn->id;
	rec->tlsrpt_only = tlsrpt_only;
	log_debug("c%lld: analysis of transaction=%lld begun",
	    (long long)txn->conn_id, (long long)txn->id);
	if (!tlsrpt_only && headers_analyze(txn, rec) == -1)
		log_warn("analyze: transaction %lld: headers: out of memory",
		    (long long)txn->id);
	/* RFC 8460: a report to tlsrpt@<base>, kept whole, is parsed */
	if (txn->report_kind != NULL && strcmp(txn->report_kind, "tlsrpt") ==
	    0 && tlsrpt_parse_message(txn->message, txn->message_len,
	    &rec->tlsrpt) == -1)
		log_warn("analyze: transaction %lld: TLS-RPT: out of memory",
		    (long long)txn->id);
	if (!tlsrpt_only)
		analyze_dns(an->cfg, wd, txn, rec);
	rec->finished = clock_now();
	store_analysis(an->store, rec);
}

static void *
worker(void *arg)
{
	struct analyzer *an = arg;
	struct worker_dns wd;
	struct work *w;

	worker_dns_init(an->cfg, &wd);
	for (;;) {
		pthread_mutex_lock(&an->mtx);
		while (STAILQ_EMPTY(&an->queue) && !an->stopping)
			pthread_cond_wait(&an->cond, &an->mtx);
		/* on stop, analyze_free() took what was still waiting */
		if ((w = STAILQ_FIRST(&an->queue)) == NULL) {
			pthread_mutex_unlock(&an->mtx);
			spfclient_free(wd.spf);
			dkim_verifier_free(wd.dkim);
			dmarc_free(wd.dmarc);
			senderdns_free(wd.zones);
			resolver_free(wd.res);
			return NULL;
		}
		STAILQ_REMOVE_HEAD(&an->queue, entry);
		an->queued--;
		an->queued_bytes -= w->txn->message_len;
		pthread_mutex_unlock(&an->mtx);
		analyze_one(an, &wd, w->txn, w->tlsrpt_only);
		records_txn_free(w->txn);
		free(w);
	}
}

struct analyzer *
analyze_new(const struct config *cfg, struct store *store, int nthreads)
{
	struct analyzer *an;
	sigset_t all, old;
	int i;

	if ((an = calloc(1, sizeof(*an))) == NULL)
		return NULL;
	an->cfg = cfg;
	an->store = store;
	pthread_mutex_init(&an->mtx, NULL);
	pthread_cond_init(&an->cond, NULL);
	STAILQ_INIT(&an->queue);
	/* signals stay with the event loop's thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < nthreads && i < ANALYSIS_WORKERS_MAX; i++) {
		if (pthread_create(&an->threads[i], NULL, worker, an) != 0)
			break;
		(void)pthread_setname_np(an->threads[i], "ms-analysis");
		an->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (an->nthreads == 0) {
		analyze_free(an);
		return NULL;
	}
	return an;
}

/*
 * The analyses row of TXN says why it has no results; TXN is freed.  A
 * report parsed again keeps the row it has: the next start finds it.
 */
static void
skip(struct analyzer *an, struct txn_rec *txn, int tlsrpt_only,
    const char *why)
{
	struct analysis_rec *rec;

	if (!tlsrpt_only && (rec = calloc(1, sizeof(*rec))) != NULL) {
		rec->txn_id = txn->id;
		rec->finished = clock_now();
		rec->skipped = why;
		store_analysis(an->store, rec);
	}
	log_warn("analyze: transaction %lld not %s: %s", (long long)txn->id,
	    tlsrpt_only ? "parsed again" : "analysed", why);
	records_txn_free(txn);
}

static void
submit(struct analyzer *an, struct txn_rec *txn, int tlsrpt_only)
{
	struct work *w;
	int full;

	pthread_mutex_lock(&an->mtx);
	/* each waiting message holds its whole text: bounded, in both ways */
	full = an->queued >= an->cfg->analysis_queue ||
	    an->queued_bytes + txn->message_len > ANALYZE_QUEUE_BYTES;
	pthread_mutex_unlock(&an->mtx);
	if (full) {
		skip(an, txn, tlsrpt_only, "skipped: analysis queue full");
		return;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		skip(an, txn, tlsrpt_only, "skipped: out of memory");
		return;
	}
	w->txn = txn;
	w->tlsrpt_only = tlsrpt_only;
	pthread_mutex_lock(&an->mtx);
	STAILQ_INSERT_TAIL(&an->queue, w, entry);
	an->queued++;
	an->queued_bytes += txn->message_len;
	pthread_cond_signal(&an->cond);
	pthread_mutex_unlock(&an->mtx);
}

void
analyze_submit(struct analyzer *an, struct txn_rec *txn)
{
	submit(an, txn, 0);
}

void
analyze_submit_tlsrpt(struct analyzer *an, struct txn_rec *txn)
{
	submit(an, txn, 1);
}

void
analyze_free(struct analyzer *an)
{
	struct workq left = STAILQ_HEAD_INITIALIZER(left);
	struct work *w;
	int i;

	if (an == NULL)
		return;
	/*
	 * Stopping: the messages being analysed finish; those still waiting
	 * could take long (DNS), so their rows say they were skipped.
	 */
	pthread_mutex_lock(&an->mtx);
	an->stopping = 1;
	STAILQ_CONCAT(&left, &an->queue);
	an->queued = 0;
	an->queued_bytes = 0;
	pthread_cond_broadcast(&an->cond);
	pthread_mutex_unlock(&an->mtx);
	while ((w = STAILQ_FIRST(&left)) != NULL) {
		STAILQ_REMOVE_HEAD(&left, entry);
		skip(an, w->txn, w->tlsrpt_only, "skipped: shutdown");
		free(w);
	}
	for (i = 0; i < an->nthreads; i++)
		pthread_join(an->threads[i], NULL);
	pthread_cond_destroy(&an->cond);
	pthread_mutex_destroy(&an->mtx);
	free(an);
}
