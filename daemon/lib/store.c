/*
 * The only code that touches SQLite: schema migrations, prepared statements
 * and the writer thread.  store_open() and the synchronous calls run on the
 * caller's thread; after store_writer_start() the writer thread owns the
 * database, and the event loop thread only queues jobs and gets results.
 */
#include "build.h"

#include <sys/queue.h>

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "netaddr.h"
#include "records.h"
#include "store.h"
#include "testid.h"

/* Generated from schema/ by schema/embed.sh as daemon/schema_sql.c. */
extern const char *const schema_migrations[];	/* migration 1 first */
extern const char schema_views[];
extern const char schema_views_sha256[];	/* of schema_views, hex */

#define STORE_BUSY_TIMEOUT_MS	5000
#define STORE_QUEUE_MAX		100000	/* queued DNS/web records */
#define STORE_BATCH_MAIL	1000	/* session records in one transaction */
#define STORE_BATCH_BULK	1000	/* DNS, web and analysis records */
#define STORE_TRIES		4	/* batches a record may fail in */
#define STORE_RETRY_MS		100	/* times its tries, before the next */
#define STORE_ATTR_WINDOW_S	86400.0	/* attribution_window default */
#define STORE_NET_MAX		64	/* netaddr_client_net() text */

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_CONN_OPEN,
	ST_CONN_CLOSE,
	ST_TXN,
	ST_RCPT,
	ST_REPORT,
	ST_TEST_CREATE,
	ST_TEST_EXISTS,
	ST_TEST_TXNS,
	ST_LAST_CONN,
	ST_GREY_UPSERT,
	ST_GREY_ATTEMPT,
	ST_REFUSAL,
	ST_GREY_LOAD,
	ST_CHALLENGES_CLEAR,
	ST_CHALLENGE,
	ST_FETCH,
	ST_DNSQ,
	ST_ANALYSIS_QUEUED,
	ST_ANALYSIS_DONE,
	ST_ANALYSIS_INTERRUPTED,
	ST_MESSAGE,
	ST_FINDING,
	ST_SPF,
	ST_CLIENT_DNS,
	ST_DKIM,
	ST_DKIM_SIG,
	ST_DMARC,
	ST_DMARC_DEST,
	ST_SENDER_ZONE,
	ST_TLSRPT,
	ST_TLSRPT_POLICY,
	ST_TLSRPT_FAILURE,
	ST_TLSRPT_SENDER,
	ST_TLSRPT_ATTR,
	ST_TLSRPT_UNPARSED,
	ST_ATTR_INSERT,
	ST_ATTR_CONN_EVIDENCE,
	ST_ATTR_EVIDENCE,
	ST_ATTR_SCOPE,
	ST_ATTR_EVAL,
	ST_ATTR_SET,
	ST_COUNT
};

/* Every statement the store runs after start-up; prepared once. */
static const char *const stmt_sql[ST_COUNT] = {
	/*
	 * IMMEDIATE takes the write lock at once, so a busy database shows
	 * here (after the busy timeout) and never halfway through a batch.
	 */
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT job",
	[ST_RELEASE] = "RELEASE job",
	[ST_ROLLBACK_TO] = "ROLLBACK TO job",
	[ST_CONN_OPEN] =
	    "INSERT INTO connections (id, host, local_addr, client_addr,"
	    " client_port, family, started, challenge, challenges, unrecorded)"
	    " VALUES (:id, :host, :local_addr, :client_addr, :client_port,"
	    " :family, :started, :challenge, :challenges, :unrecorded)",
	[ST_CONN_CLOSE] =
	    "UPDATE connections SET ended = :ended, helo_verb = :helo_verb,"
	    " helo = :helo, extensions = :extensions, starttls = :starttls,"
	    " pipelined_discarded = :pipelined_discarded,"
	    " improper_pipelining = :improper_pipelining,"
	    " bare_cr_commands = :bare_cr_commands,"
	    " transactions = :transactions, mail_commands = :mail_commands,"
	    " refusals = :refusals,"
	    " test_id = :test_id,"
	    " commands = :commands, end_reason = :end_reason,"
	    " tls_established = :tls_established,"
	    " tls_version = :tls_version, tls_cipher = :tls_cipher,"
	    " tls_group = :tls_group, tls_sni = :tls_sni,"
	    " tls_resumed = :tls_resumed, ch_versions = :ch_versions,"
	    " ch_ciphers = :ch_ciphers, ch_groups = :ch_groups,"
	    " ch_sigalgs = :ch_sigalgs, ch_alpn = :ch_alpn,"
	    " tls_alert_sent = :tls_alert_sent,"
	    " tls_alert_received = :tls_alert_received,"
	    " tls_error = :tls_error"
	    " WHERE id = :id",
	[ST_TXN] =
	    "INSERT INTO transactions (connection_id, received, mail_from,"
	    " mail_params, size, headers, body_sha256, bare_lf, bare_cr,"
	    " nul_bytes, long_lines, tls, body_method, chunks, smtputf8,"
	    " requiretls, ret, envid)"
	    " VALUES (:connection_id, :received, :mail_from, :mail_params,"
	    " :size, :headers, :body_sha256, :bare_lf, :bare_cr, :nul_bytes,"
	    " :long_lines, :tls, coalesce(:body_method, 'DATA'), :chunks,"
	    " :smtputf8, :requiretls, :ret, :envid)",
	[ST_RCPT] =
	    "INSERT INTO recipients (transaction_id, address, challenge,"
	    " test_id, rcpt_params, notify, orcpt, wrong_host)"
	    " VALUES (:transaction_id, :address, :challenge, :test_id,"
	    " :params, :notify, :orcpt, :wrong_host)",
	/* an empty message has no buffer: still a message, of 0 bytes */
	[ST_REPORT] =
	    "INSERT INTO inbound_reports (transaction_id, connection_id,"
	    " received, kind, rcpt, mail_from, size, sha256, message)"
	    " VALUES (:transaction_id, :connection_id, :received, :kind,"
	    " :rcpt, :mail_from, :size, :sha256, coalesce(:message, x''))",
	[ST_TEST_CREATE] =
	    "INSERT INTO tests (id, created) VALUES (:id, :created)",
	[ST_TEST_EXISTS] = "SELECT 1 FROM tests WHERE id = :id",
	[ST_TEST_TXNS] =
	    "SELECT count(DISTINCT transaction_id) FROM recipients"
	    " WHERE test_id = :id",
	/*
	 * Every column that holds a connection id: connections rows may be
	 * pruned (the sqlite3 shell does not enforce foreign keys) or never
	 * written (a failed insert), while rows naming their id remain.
	 */
	[ST_LAST_CONN] =
	    "SELECT max(coalesce((SELECT max(id) FROM connections), 0),"
	    " coalesce((SELECT max(connection_id) FROM transactions), 0),"
	    " coalesce((SELECT max(connection_id) FROM greylist_attempts),"
	    " 0),"
	    " coalesce((SELECT max(connection_id) FROM inbound_reports), 0),"
	    " coalesce((SELECT max(connection_id) FROM refusals), 0))",
	[ST_GREY_UPSERT] =
	    "INSERT INTO greylist (mail_from, rcpt, test_id, first_seen,"
	    " last_seen, attempts, passed)"
	    " VALUES (:mail_from, :rcpt, :test_id, :first_seen, :last_seen,"
	    " :attempts, :passed)"
	    " ON CONFLICT (mail_from, rcpt) DO UPDATE SET"
	    " test_id = excluded.test_id, first_seen = excluded.first_seen,"
	    " last_seen = excluded.last_seen, attempts = excluded.attempts,"
	    " passed = excluded.passed",
	[ST_GREY_ATTEMPT] =
	    "INSERT INTO greylist_attempts (connection_id, mail_from, rcpt,"
	    " test_id, client_addr, time, result)"
	    " VALUES (:connection_id, :mail_from, :rcpt, :test_id,"
	    " :client_addr, :time, :result)",
	[ST_REFUSAL] =
	    "INSERT INTO refusals (connection_id, time, command, reason,"
	    " reply, address, test_id)"
	    " VALUES (:connection_id, :time, :command, :reason, :reply,"
	    " :address, :test_id)",
	[ST_FETCH] =
	    "INSERT INTO policy_fetches (time, local_addr, client_addr,"
	    " client_port, family, tls_version, tls_cipher, sni, host, method,"
	    " path, user_agent, status, bytes, challenge, error)"
	    " VALUES (:time, :local_addr, :client_addr, :client_port, :family,"
	    " :tls_version, :tls_cipher, :sni, :host, :method, :path,"
	    " :user_agent, :status, :bytes, :challenge, :error)",
	[ST_DNSQ] =
	    "INSERT INTO dns_queries (time, local_addr, client_addr,"
	    " client_port, family, transport, qname, qtype, qclass, edns,"
	    " edns_size, do_bit, rcode, truncated, minimised, test_id,"
	    " challenge, error, rrl, unrecorded, rrl_dropped)"
	    " VALUES (:time, :local_addr, :client_addr, :client_port, :family,"
	    " :transport, :qname, :qtype, :qclass, :edns, :edns_size, :do_bit,"
	    " :rcode, :truncated, :minimised, :test_id, :challenge, :error,"
	    " :rrl, :unrecorded, :rrl_dropped)",
	[ST_ANALYSIS_QUEUED] =
	    "INSERT INTO analyses (transaction_id, queued)"
	    " VALUES (:transaction_id, :queued)",
	[ST_ANALYSIS_DONE] =
	    "UPDATE analyses SET finished = :finished, error = :error"
	    " WHERE transaction_id = :transaction_id",
	/* at the writer's start: pending since a process died */
	[ST_ANALYSIS_INTERRUPTED] =
	    "UPDATE analyses SET finished = :finished, error = 'interrupted'"
	    " WHERE finished IS NULL",
	[ST_MESSAGE] =
	    "INSERT INTO messages (transaction_id, header_count, header_from,"
	    " from_domain, envelope_domain, from_matches_envelope, message_id,"
	    " received_count, eight_bit, body_8bitmime)"
	    " VALUES (:transaction_id, :header_count, :header_from,"
	    " :from_domain, :envelope_domain, :from_matches_envelope,"
	    " :message_id, :received_count, :eight_bit, :body_8bitmime)",
	[ST_FINDING] =
	    "INSERT INTO header_findings (transaction_id, field, finding, count)"
	    " VALUES (:transaction_id, :field, :finding, :count)",
	[ST_SPF] =
	    "INSERT INTO spf_results (transaction_id, identity, domain, result,"
	    " explanation, record, dns_lookups, void_lookups, error)"
	    " VALUES (:transaction_id, :identity, :domain, :result,"
	    " :explanation, :record, :dns_lookups, :void_lookups, :error)",
	[ST_CLIENT_DNS] =
	    "INSERT INTO client_dns (transaction_id, ptr, ptr_status, fcrdns,"
	    " helo_resolves, helo_addrs, helo_status)"
	    " VALUES (:transaction_id, :ptr, :ptr_status, :fcrdns,"
	    " :helo_resolves, :helo_addrs, :helo_status)",
	[ST_DKIM] =
	    "INSERT INTO dkim_results (transaction_id, signatures, result,"
	    " error)"
	    " VALUES (:transaction_id, :signatures, :result, :error)",
	[ST_DKIM_SIG] =
	    "INSERT INTO dkim_signatures (transaction_id, position, domain,"
	    " selector, algorithm, key_bits, canon_header, canon_body,"
	    " body_length, result, error, aligned)"
	    " VALUES (:transaction_id, :position, :domain, :selector,"
	    " :algorithm, :key_bits, :canon_header, :canon_body,"
	    " :body_length, :result, :error, :aligned)",
	[ST_DMARC] =
	    "INSERT INTO dmarc_results (transaction_id, from_domain,"
	    " org_domain, policy_domain, record, result, error, p, sp, pct,"
	    " adkim, aspf, fo, rua, ruf, invalid_tags, spf_domain,"
	    " spf_result, spf_aligned, dkim_aligned, policy, disposition)"
	    " VALUES (:transaction_id, :from_domain, :org_domain,"
	    " :policy_domain, :record, :result, :error, :p, :sp, :pct,"
	    " :adkim, :aspf, :fo, :rua, :ruf, :invalid_tags, :spf_domain,"
	    " :spf_result, :spf_aligned, :dkim_aligned, :policy,"
	    " :disposition)",
	[ST_DMARC_DEST] =
	    "INSERT INTO dmarc_destinations (transaction_id, tag, position,"
	    " uri, domain, external, authorized, status)"
	    " VALUES (:transaction_id, :tag, :position, :uri, :domain,"
	    " :external, :authorized, :status)",
	[ST_SENDER_ZONE] =
	    "INSERT INTO sender_zones (transaction_id, role, name, zone,"
	    " dnssec, dnssec_error, ipv6_ns)"
	    " VALUES (:transaction_id, :role, :name, :zone, :dnssec,"
	    " :dnssec_error, :ipv6_ns)",
	/* no row without the inbound_reports row: job_tlsrpt() checks */
	[ST_TLSRPT] =
	    "INSERT INTO tlsrpt_reports (inbound_report_id, parsed_at, status,"
	    " error, organization, report_id, contact, date_start, date_end)"
	    " SELECT id, :finished, :status, :error, :organization,"
	    " :report_id, :contact, :date_start, :date_end"
	    " FROM inbound_reports WHERE transaction_id = :transaction_id",
	[ST_TLSRPT_POLICY] =
	    "INSERT INTO tlsrpt_policies (tlsrpt_report_id, policy_type,"
	    " policy_domain, policy_string, mx_host, successful, failed)"
	    " VALUES (:row, :policy_type, :policy_domain, :policy_string,"
	    " :mx_host, :successful, :failed)",
	[ST_TLSRPT_FAILURE] =
	    "INSERT INTO tlsrpt_failures (tlsrpt_policy_id, result_type,"
	    " sending_mta_ip, receiving_mx_hostname, receiving_ip,"
	    " failed_sessions, additional_information, failure_reason_code)"
	    " VALUES (:row, :result_type, :sending_mta_ip,"
	    " :receiving_mx_hostname, :receiving_ip, :failed_sessions,"
	    " :additional_information, :failure_reason_code)",
	/*
	 * The tests of a TLS-RPT policy's reporter (docs/researcher.md):
	 * evidence, or connections attributed, from the network of the
	 * connection that brought the report or of a failure detail's
	 * sending-mta-ip, in the report's date range.  A date that is not
	 * RFC 3339 (:start or :end NULL) is replaced by the report's
	 * arrival 2 days before or after: a report covers one UTC day
	 * (RFC 8460 4.1) and is mailed after it.
	 */
	[ST_TLSRPT_SENDER] =
	    "WITH span (lo, hi) AS ("
	    " SELECT coalesce(:start, received - 2 * 86400),"
	    " coalesce(:end, received + 2 * 86400)"
	    " FROM inbound_reports WHERE transaction_id = :transaction_id),"
	    " nets (net) AS ("
	    " SELECT client_net(c.client_addr) FROM inbound_reports i"
	    " JOIN connections c ON c.id = i.connection_id"
	    " WHERE i.transaction_id = :transaction_id"
	    " UNION SELECT client_net(sending_mta_ip) FROM tlsrpt_failures"
	    " WHERE tlsrpt_policy_id = :row),"
	    " found (test_id) AS ("
	    " SELECT e.test_id FROM attribution_evidence e, span"
	    " WHERE e.client_net IN (SELECT net FROM nets)"
	    " AND e.first_seen <= span.hi AND e.last_seen >= span.lo"
	    " UNION SELECT a.test_id FROM connection_attribution a, span"
	    " WHERE a.client_net IN (SELECT net FROM nets)"
	    " AND a.started BETWEEN span.lo AND span.hi)"
	    " SELECT count(*), group_concat(test_id, ' ') FROM ("
	    " SELECT test_id FROM found WHERE EXISTS"
	    " (SELECT 1 FROM tests t WHERE t.id = found.test_id)"
	    " ORDER BY test_id)",
	[ST_TLSRPT_ATTR] =
	    "UPDATE tlsrpt_policies SET test_id = :test_id,"
	    " attribution = :attribution, candidates = :candidates"
	    " WHERE id = :row",
	/*
	 * The reports without a tlsrpt_reports row, oldest first: those that
	 * start within :max_bytes of messages, at most :max, and how many
	 * wait in all.  Only those messages are read.
	 */
	[ST_TLSRPT_UNPARSED] =
	    "SELECT w.transaction_id, w.connection_id, i.message, w.waiting"
	    " FROM (SELECT id, transaction_id, connection_id, size,"
	    " sum(size) OVER (ORDER BY id) AS bytes,"
	    " count(*) OVER () AS waiting"
	    " FROM inbound_reports i WHERE kind = 'tlsrpt' AND NOT EXISTS"
	    " (SELECT 1 FROM tlsrpt_reports r WHERE r.inbound_report_id = i.id)"
	    ") w JOIN inbound_reports i ON i.id = w.id"
	    " WHERE w.bytes - w.size < :max_bytes ORDER BY w.id LIMIT :max",
	/*
	 * Attribution (docs/researcher.md): a closed connection's own
	 * decision, by recipient or SNI; else 'none' until ST_ATTR_EVAL.
	 */
	[ST_ATTR_INSERT] =
	    "INSERT OR REPLACE INTO connection_attribution (connection_id,"
	    " client_net, started, test_id, reason, decided_at)"
	    " VALUES (:id, :client_net, :started,"
	    " coalesce(:test_id, :sni_test_id),"
	    " CASE WHEN :test_id IS NOT NULL THEN 'rcpt'"
	    " WHEN :sni_test_id IS NOT NULL THEN 'sni' ELSE 'none' END,"
	    " :decided_at)",
	/* every test a closed connection named: its RCPTs, its SNI */
	[ST_ATTR_CONN_EVIDENCE] =
	    "INSERT INTO attribution_evidence (client_net, test_id,"
	    " first_seen, last_seen)"
	    " SELECT :client_net, test_id, min(t0), max(t1) FROM ("
	    " SELECT :test_id AS test_id, :started AS t0, :ended AS t1"
	    " UNION ALL SELECT :sni_test_id, :started, :ended"
	    " UNION ALL SELECT r.test_id, t.received, t.received"
	    " FROM transactions t"
	    " JOIN recipients r ON r.transaction_id = t.id"
	    " WHERE t.connection_id = :id"
	    " UNION ALL SELECT g.test_id, g.time, g.time"
	    " FROM greylist_attempts g WHERE g.connection_id = :id)"
	    " WHERE test_id IS NOT NULL GROUP BY test_id"
	    " ON CONFLICT (client_net, test_id) DO UPDATE SET"
	    " first_seen = min(first_seen, excluded.first_seen),"
	    " last_seen = max(last_seen, excluded.last_seen)",
	[ST_ATTR_EVIDENCE] =
	    "INSERT INTO attribution_evidence (client_net, test_id,"
	    " first_seen, last_seen)"
	    " VALUES (:client_net, :test_id, :time, :time)"
	    " ON CONFLICT (client_net, test_id) DO UPDATE SET"
	    " first_seen = min(first_seen, excluded.first_seen),"
	    " last_seen = max(last_seen, excluded.last_seen)",
	/*
	 * Before new evidence of a network for tests :scope_test and
	 * :scope_test2 is written: the earliest start of a connection whose
	 * decision it can change.  A test's window (ST_ATTR_EVAL) only
	 * grows at its end: for a test with evidence already, the
	 * connections after its window's end; else those since its
	 * creation.  NULL when neither test exists.
	 */
	[ST_ATTR_SCOPE] =
	    "SELECT min(coalesce((SELECT e.last_seen FROM attribution_evidence e"
	    " WHERE e.client_net = :client_net AND e.test_id = t.id) + :window,"
	    " t.created)) FROM tests t WHERE t.id IN (:scope_test, :scope_test2)",
	/*
	 * The undecided connections of a network whose decision changes:
	 * the tests with evidence from the network whose window (creation
	 * to last evidence + :window) holds the connection's start.  Only
	 * those that new evidence can change: the closing connection's own
	 * row, and those from :scope_from on (ST_ATTR_SCOPE; NULL: its own
	 * row alone), so that neither a flood of connections without
	 * evidence nor one that names the same test again and again costs
	 * more than its own rows, not the network's whole history.
	 */
	[ST_ATTR_EVAL] =
	    "SELECT connection_id, test_id, reason, candidates FROM ("
	    " SELECT a.connection_id,"
	    " CASE count(w.test_id) WHEN 1 THEN min(w.test_id) END AS test_id,"
	    " CASE count(w.test_id) WHEN 0 THEN 'none' WHEN 1 THEN 'address'"
	    " ELSE 'ambiguous' END AS reason,"
	    " group_concat(w.test_id, ' ') AS candidates,"
	    " a.reason AS was, a.candidates AS was_candidates"
	    " FROM connection_attribution a"
	    " LEFT JOIN (SELECT e.test_id, t.created, e.last_seen"
	    " FROM attribution_evidence e JOIN tests t ON t.id = e.test_id"
	    " WHERE e.client_net = :client_net ORDER BY e.test_id) w"
	    " ON a.started >= w.created AND a.started <= w.last_seen + :window"
	    " WHERE a.client_net = :client_net"
	    " AND a.reason IN ('none', 'address', 'ambiguous')"
	    " AND (a.connection_id = :scope_connection"
	    " OR a.started >= :scope_from)"
	    " GROUP BY a.connection_id)"
	    " WHERE reason IS NOT was OR candidates IS NOT was_candidates",
	[ST_ATTR_SET] =
	    "UPDATE connection_attribution SET test_id = :test_id,"
	    " reason = :reason, candidates = :candidates,"
	    " decided_at = :decided_at WHERE connection_id = :connection_id",
	[ST_GREY_LOAD] =
	    "SELECT mail_from, rcpt, test_id, first_seen, last_seen, attempts,"
	    " coalesce(passed, 0) FROM greylist",
	[ST_CHALLENGES_CLEAR] = "DELETE FROM challenges",
	[ST_CHALLENGE] =
	    "INSERT INTO challenges (name, host, host2, mx_family, dns,"
	    " addresses, addresses2, description)"
	    " VALUES (:name, :host, :host2, :mx_family, :dns, :addresses,"
	    " :addresses2, :description)",
};

/* The session's records first (mail), then the bulk ones. */
enum job_type {
	JOB_CONN_OPEN,
	JOB_CONN_CLOSE,
	JOB_TXN,
	JOB_REFUSAL,
	JOB_GREY,
	JOB_FETCH,
	JOB_DNSQ,
	JOB_ANALYSIS
};

/* A job of a session (mail), queued apart from the bulk records. */
#define JOB_MAIL(j)	((j)->type <= JOB_GREY)

/* What a job stores, for the log. */
static const char *const job_names[] = {
	[JOB_CONN_OPEN] = "connection",
	[JOB_CONN_CLOSE] = "connection end",
	[JOB_TXN] = "transaction",
	[JOB_REFUSAL] = "refusal",
	[JOB_GREY] = "greylist",
	[JOB_FETCH] = "web request",
	[JOB_DNSQ] = "DNS query",
	[JOB_ANALYSIS] = "analysis",
};

/*
 * One unit of work for the writer.  Owns its copy of the connection record
 * and the txn_rec.  A txn job, its txn freed, travels back to the event loop
 * as its own completion, so reporting a result never allocates.
 */
struct job {
	STAILQ_ENTRY(job)	 entry;
	enum job_type		 type;
	int64_t			 conn_id;
	struct conn_rec		 conn;	/* owned copy: conn jobs */
	struct txn_rec		*txn;	/* owned (txn jobs) */
	struct grey_entry	 grey;	/* owned copy: grey jobs */
	struct grey_attempt	 attempt;	/* owned copy: grey jobs */
	struct refusal_rec	 refusal;	/* owned copy: refusal jobs */
	struct fetch_rec	 fetch;	/* owned copy: fetch jobs */
	struct dnsq_rec		 dnsq;	/* owned copy: DNS query jobs */
	char			*dnsq_local;	/* owned: dnsq's addresses, */
	char			*dnsq_client;	/* which it borrows */
	struct analysis_rec	*analysis;	/* owned: analysis jobs */
	int			 ok;	/* set by the writer */
	int			 rc;	/* SQLite's code, when it failed */
	unsigned		 tries;	/* batches it failed in, counted */
};
STAILQ_HEAD(jobq, job);

/*
 * Owns the database handle, its statements, the queues and the completion
 * event (which lives on the daemon's base, borrowed).  mtx protects jobs,
 * njobs, bulk, nbulk, dropped, done and stopping, nothing else; db, stmt and
 * job_rc belong to the writer thread while it runs.
 */
struct store {
	sqlite3			*db;
	sqlite3_stmt		*stmt[ST_COUNT];
	int			 job_rc;	/* the failing statement's code */

	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;	/* jobs queued, or stopping */
	struct jobq		 jobs;	/* loop -> writer: sessions' records */
	size_t			 njobs;	/* in jobs */
	struct jobq		 bulk;	/* loop -> writer: DNS, web, analyses */
	size_t			 nbulk;	/* in bulk */
	unsigned long		 dropped;	/* DNS/web records, queue full */
	struct jobq		 done;	/* writer -> loop: results */
	int			 stopping;

	int			 running;	/* writer thread started */
	pthread_t		 writer;
	struct event		*done_ev;	/* owned */
	store_done_cb		 done_cb;
	double			 attr_window;	/* seconds after the last evidence */
	const struct config	*cfg;	/* borrowed: base domain, catalogue */
	void			*done_arg;
};

static void
store_seterr(char *err, size_t errlen, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "PATH: message"; a message cut to ERRLEN is still a message. */
static void
store_seterr(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (err == NULL || errlen == 0)
		return;
	n = snprintf(err, errlen, "%s: ", path);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
}

/* Runs constant schema text only: never anything built from input. */
static int
store_exec_const(sqlite3 *db, const char *sql, char *msg, size_t msglen)
{
	char	*emsg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &emsg) == SQLITE_OK)
		return 0;
	(void)snprintf(msg, msglen, "%s",
	    emsg != NULL ? emsg : sqlite3_errmsg(db));
	sqlite3_free(emsg);
	return -1;
}

/*
 * How a statement's parameters get their values: each record has a table
 * of columns (parameter name, C type, offset), and a statement is bound
 * from the tables of the records it stores, parameter by parameter.
 */
enum col_type {
	COL_TEXT,	/* char *, NULL as NULL */
	COL_CHARS,	/* char[], NUL-terminated */
	COL_BLOB,	/* char * with a size_t length at len_off */
	COL_INT,
	COL_UINT,
	COL_LLONG,
	COL_INT64,
	COL_SIZE,
	COL_DOUBLE
};

/* When a number is stored as NULL. */
enum col_null {
	COL_NEVER,
	COL_NEG,	/* negative: the analyzers' -1, "not known" */
	COL_NONPOS	/* zero or less: "none" */
};

struct col {
	const char	*param;		/* ":name" in the statement */
	enum col_type	 type;
	enum col_null	 null;
	size_t		 off;		/* in the record */
	size_t		 len_off;	/* COL_BLOB: of its length */
};

/* The parameter named as the field, or PARAM; NULL as COL_NULL says. */
#define COL(rec, type, field) \
	COL_AS(rec, type, field, ":" #field)
#define COL_AS(rec, type, field, param) \
	{ param, COL_##type, COL_NEVER, offsetof(struct rec, field), 0 }
#define COL_NULL(rec, type, null, field) \
	{ ":" #field, COL_##type, COL_##null, offsetof(struct rec, field), 0 }
/* A value of its own, not in a record: its address is the record. */
#define COL_VALUE(param, type) { param, COL_##type, COL_NEVER, 0, 0 }

/* A record and its columns. */
struct src {
	const struct col	*cols;
	size_t			 ncols;
	const void		*rec;
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define SRC(cols, rec)	{ (cols), NELEM(cols), (rec) }

/* Binds parameter I of S to column C of REC. */
static int
col_bind(sqlite3_stmt *s, int i, const struct col *c, const void *rec)
{
	const char	*p = (const char *)rec + c->off;
	const char	*t;
	int64_t		 v = 0;
	double		 d;
	size_t		 len;
	int		 iv;
	unsigned	 uv;
	long long	 llv;

	switch (c->type) {
	case COL_TEXT:
	case COL_BLOB:
		memcpy(&t, p, sizeof(t));
		if (t == NULL)
			return sqlite3_bind_null(s, i);
		/* The job outlives the step: no copy needed. */
		if (c->type == COL_TEXT)
			return sqlite3_bind_text(s, i, t, -1, SQLITE_STATIC);
		memcpy(&len, (const char *)rec + c->len_off, sizeof(len));
		return sqlite3_bind_blob64(s, i, t, len, SQLITE_STATIC);
	case COL_CHARS:
		return sqlite3_bind_text(s, i, p, -1, SQLITE_STATIC);
	case COL_DOUBLE:
		memcpy(&d, p, sizeof(d));
		if (c->null == COL_NONPOS && d <= 0)
			return sqlite3_bind_null(s, i);
		return sqlite3_bind_double(s, i, d);
	case COL_INT:
		memcpy(&iv, p, sizeof(iv));
		v = iv;
		break;
	case COL_UINT:
		memcpy(&uv, p, sizeof(uv));
		v = uv;
		break;
	case COL_LLONG:
		memcpy(&llv, p, sizeof(llv));
		v = llv;
		break;
	case COL_INT64:
		memcpy(&v, p, sizeof(v));
		break;
	case COL_SIZE:
		memcpy(&len, p, sizeof(len));
		v = (int64_t)len;
		break;
	}
	if ((c->null == COL_NEG && v < 0) || (c->null == COL_NONPOS && v <= 0))
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_int64(s, i, v);
}

/* The column named NAME of the first of SRCS that has one; NULL: none. */
static const struct col *
col_find(const struct src *srcs, size_t nsrcs, const char *name,
    const void **rec)
{
	size_t	 k, c;

	for (k = 0; k < nsrcs; k++)
		for (c = 0; c < srcs[k].ncols; c++)
			if (strcmp(srcs[k].cols[c].param, name) == 0) {
				*rec = srcs[k].rec;
				return &srcs[k].cols[c];
			}
	return NULL;
}

/*
 * Binds every parameter of S from SRCS, the first source first; a
 * parameter without a column is a bug.  SQLITE_OK or the first error.
 */
static int
stmt_bind(sqlite3_stmt *s, const struct src *srcs, size_t nsrcs)
{
	const struct col	*c;
	const char		*name;
	const void		*rec;
	int			 i, n, rc;

	n = sqlite3_bind_parameter_count(s);
	for (i = 1; i <= n; i++) {
		name = sqlite3_bind_parameter_name(s, i);
		if ((c = col_find(srcs, nsrcs, name, &rec)) == NULL)
			fatalx("store: no value for %s in: %s", name,
			    sqlite3_sql(s));
		if ((rc = col_bind(s, i, c, rec)) != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

/* Resets S and drops its bindings, ready for the next use. */
static void
stmt_reset(sqlite3_stmt *s)
{
	/* The error message stays on the handle until the next call. */
	(void)sqlite3_reset(s);
	(void)sqlite3_clear_bindings(s);
}

/*
 * Binds S from SRCS and steps it: SQLITE_DONE, SQLITE_ROW or the first
 * error.  The caller reads what it needs, then calls stmt_reset().
 */
static int
stmt_run(sqlite3_stmt *s, const struct src *srcs, size_t nsrcs)
{
	int	 rc;

	if ((rc = stmt_bind(s, srcs, nsrcs)) != SQLITE_OK)
		return rc;
	return sqlite3_step(s);
}

/* Runs statement ID, which has no parameters and returns no rows. */
static int
store_step(struct store *st, enum stmt_id id)
{
	int	 rc;

	rc = stmt_run(st->stmt[id], NULL, 0);
	stmt_reset(st->stmt[id]);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Version 0 is a database without migrations. */
static int
schema_version_get(sqlite3 *db, int *version)
{
	sqlite3_stmt	*s;
	int		 rc;

	if (sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_version",
	    -1, &s, NULL) != SQLITE_OK)
		return -1;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int
schema_version_set(sqlite3 *db, int version)
{
	sqlite3_stmt	*s;
	int		 rc;

	if (sqlite3_exec(db, "DELETE FROM schema_version", NULL, NULL,
	    NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db,
	    "INSERT INTO schema_version (version) VALUES (?1)", -1, &s,
	    NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_bind_int(s, 1, version);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * 1 when the database has every migration of this program and its views
 * (the SHA-256 of views.sql in schema_views), read in one statement
 * without a write lock; 0 otherwise, a table missing included.
 */
static int
schema_current(sqlite3 *db, int known)
{
	sqlite3_stmt	*s;
	int		 current = 0;

	if (sqlite3_prepare_v2(db, "SELECT (SELECT max(version) FROM"
	    " schema_version) = ?1 AND (SELECT sha256 FROM schema_views) = ?2",
	    -1, &s, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_bind_int(s, 1, known) == SQLITE_OK &&
	    sqlite3_bind_text(s, 2, schema_views_sha256, -1,
	    SQLITE_STATIC) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		current = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return current;
}

/*
 * Under the write lock of the last migration's transaction: the views
 * created again when views.sql is not the text they were made from, and
 * its SHA-256 kept in schema_views (a bookkeeping table, as
 * schema_version, made here rather than by a migration).
 */
static int
views_apply(sqlite3 *db, char *msg, size_t msglen)
{
	sqlite3_stmt	*s;
	int		 rc;

	if (store_exec_const(db, "CREATE TABLE IF NOT EXISTS schema_views"
	    " (sha256 TEXT NOT NULL)", msg, msglen) == -1)
		return -1;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM schema_views"
	    " WHERE sha256 = ?1", -1, &s, NULL) != SQLITE_OK)
		goto sqlerr;
	rc = sqlite3_bind_text(s, 1, schema_views_sha256, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		goto sqlerr;
	if (store_exec_const(db, schema_views, msg, msglen) == -1 ||
	    store_exec_const(db, "DELETE FROM schema_views", msg,
	    msglen) == -1)
		return -1;
	if (sqlite3_prepare_v2(db, "INSERT INTO schema_views (sha256)"
	    " VALUES (?1)", -1, &s, NULL) != SQLITE_OK)
		goto sqlerr;
	rc = sqlite3_bind_text(s, 1, schema_views_sha256, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc == SQLITE_DONE) {
		log_info("store: researcher views created (views.sql %.12s)",
		    schema_views_sha256);
		return 0;
	}
sqlerr:
	(void)snprintf(msg, msglen, "%s", sqlite3_errmsg(db));
	return -1;
}

/*
 * Applies every migration the database lacks, each in its own transaction,
 * and the views when they changed.  The version is read again under the
 * write lock, so two programs opening the same new database cannot both
 * apply a migration.  A database that is current is only read: the tool
 * and the web worker open it under a running daemon without taking the
 * write lock or changing its schema.
 */
static int
store_migrate(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	char	 msg[512];
	int	 known, version;

	for (known = 0; schema_migrations[known] != NULL; known++)
		;
	if (schema_current(db, known))
		return 0;
	if (store_exec_const(db, "CREATE TABLE IF NOT EXISTS schema_version"
	    " (version INTEGER NOT NULL)", msg, sizeof(msg)) == -1) {
		store_seterr(err, errlen, path, "%s", msg);
		return -1;
	}
	for (;;) {
		if (store_exec_const(db, "BEGIN IMMEDIATE", msg,
		    sizeof(msg)) == -1) {
			store_seterr(err, errlen, path, "%s", msg);
			return -1;
		}
		if (schema_version_get(db, &version) == -1) {
			store_seterr(err, errlen, path, "schema version: %s",
			    sqlite3_errmsg(db));
			goto rollback;
		}
		if (version > known) {
			store_seterr(err, errlen, path, "database schema "
			    "version %d is newer than this program (%d)",
			    version, known);
			goto rollback;
		}
		if (version == known)
			break;
		if (store_exec_const(db, schema_migrations[version], msg,
		    sizeof(msg)) == -1) {
			store_seterr(err, errlen, path, "migration %d: %s",
			    version + 1, msg);
			goto rollback;
		}
		if (schema_version_set(db, version + 1) == -1) {
			store_seterr(err, errlen, path, "schema version: %s",
			    sqlite3_errmsg(db));
			goto rollback;
		}
		if (store_exec_const(db, "COMMIT", msg, sizeof(msg)) == -1) {
			store_seterr(err, errlen, path, "migration %d: %s",
			    version + 1, msg);
			goto rollback;
		}
		log_info("store: %s: schema migrated to version %d", path,
		    version + 1);
	}
	/* in the transaction that found the version current */
	if (views_apply(db, msg, sizeof(msg)) == -1) {
		store_seterr(err, errlen, path, "views: %s", msg);
		goto rollback;
	}
	if (store_exec_const(db, "COMMIT", msg, sizeof(msg)) == -1) {
		store_seterr(err, errlen, path, "views: %s", msg);
		goto rollback;
	}
	return 0;

rollback:
	if (!sqlite3_get_autocommit(db))
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* Runs a PRAGMA that answers one row and returns its text in BUF. */
static int
store_pragma(sqlite3 *db, const char *sql, char *buf, size_t buflen)
{
	sqlite3_stmt		*s;
	const unsigned char	*v;
	int			 rc;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		v = sqlite3_column_text(s, 0);
		(void)snprintf(buf, buflen, "%s", v != NULL ? (const char *)v :
		    "");
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int
store_configure(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	char	 msg[512], val[32];

	if (sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS) != SQLITE_OK) {
		store_seterr(err, errlen, path, "%s", sqlite3_errmsg(db));
		return -1;
	}
	/*
	 * A new (empty) database lets purge give space back (purge.c): the
	 * mode holds only if set before journal_mode and the first table.
	 * An existing one is left as it is, without a write lock
	 * (docs/operator-data.md, "Space").
	 */
	if (store_pragma(db, "PRAGMA page_count", val, sizeof(val)) == -1) {
		store_seterr(err, errlen, path, "page_count: %s",
		    sqlite3_errmsg(db));
		return -1;
	}
	if (strcmp(val, "0") == 0 && store_exec_const(db,
	    "PRAGMA auto_vacuum=INCREMENTAL", msg, sizeof(msg)) == -1) {
		store_seterr(err, errlen, path, "%s", msg);
		return -1;
	}
	if (store_pragma(db, "PRAGMA journal_mode=WAL", val,
	    sizeof(val)) == -1) {
		store_seterr(err, errlen, path, "journal_mode: %s",
		    sqlite3_errmsg(db));
		return -1;
	}
	if (strcmp(val, "wal") != 0)
		log_warn("store: %s: journal_mode=%s, not wal", path, val);
	/*
	 * Acknowledged means durable: the commit that precedes a 250 must
	 * survive a power loss, so every commit syncs the WAL.
	 */
	if (store_exec_const(db, "PRAGMA synchronous=FULL", msg,
	    sizeof(msg)) == -1 ||
	    store_exec_const(db, "PRAGMA foreign_keys=ON", msg,
	    sizeof(msg)) == -1) {
		store_seterr(err, errlen, path, "%s", msg);
		return -1;
	}
	if (store_pragma(db, "PRAGMA foreign_keys", val, sizeof(val)) == -1 ||
	    strcmp(val, "1") != 0) {
		store_seterr(err, errlen, path,
		    "SQLite without foreign key support");
		return -1;
	}
	return 0;
}

/*
 * client_net(ADDR) for the writer's statements: netaddr_client_net(), so
 * that SQL groups addresses as the attribution of connections does; NULL
 * when ADDR is no address.
 */
static void
sql_client_net(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char	*addr = sqlite3_value_text(argv[0]);
	char			 net[STORE_NET_MAX];

	(void)argc;
	if (addr == NULL || netaddr_client_net((const char *)addr, net,
	    sizeof(net)) == -1)
		sqlite3_result_null(ctx);
	else
		sqlite3_result_text(ctx, net, -1, SQLITE_TRANSIENT);
}

struct store *
store_open(const char *path, char *err, size_t errlen)
{
	struct store	*st;
	int		 i, rc;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		store_seterr(err, errlen, path, "%s", strerror(errno));
		return NULL;
	}
	STAILQ_INIT(&st->jobs);
	STAILQ_INIT(&st->bulk);
	st->attr_window = STORE_ATTR_WINDOW_S;
	STAILQ_INIT(&st->done);
	if ((rc = pthread_mutex_init(&st->mtx, NULL)) != 0) {
		store_seterr(err, errlen, path, "%s", strerror(rc));
		free(st);
		return NULL;
	}
	if ((rc = pthread_cond_init(&st->cond, NULL)) != 0) {
		store_seterr(err, errlen, path, "%s", strerror(rc));
		pthread_mutex_destroy(&st->mtx);
		free(st);
		return NULL;
	}

	rc = sqlite3_open_v2(path, &st->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		store_seterr(err, errlen, path, "%s", st->db != NULL ?
		    sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		goto fail;
	}
	if (store_configure(st->db, path, err, errlen) == -1 ||
	    store_migrate(st->db, path, err, errlen) == -1)
		goto fail;
	/* this connection's only: views and triggers cannot call it */
	if (sqlite3_create_function(st->db, "client_net", 1, SQLITE_UTF8 |
	    SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL, sql_client_net,
	    NULL, NULL) != SQLITE_OK) {
		store_seterr(err, errlen, path, "client_net(): %s",
		    sqlite3_errmsg(st->db));
		goto fail;
	}
	for (i = 0; i < ST_COUNT; i++) {
		if (sqlite3_prepare_v3(st->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &st->stmt[i], NULL) !=
		    SQLITE_OK) {
			store_seterr(err, errlen, path, "%s: %s",
			    stmt_sql[i], sqlite3_errmsg(st->db));
			goto fail;
		}
	}
	return st;

fail:
	store_close(st);
	return NULL;
}

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	records_conn_clear(&j->conn);
	records_txn_free(j->txn);
	records_grey_clear(&j->grey);
	records_grey_attempt_clear(&j->attempt);
	records_refusal_clear(&j->refusal);
	records_fetch_clear(&j->fetch);
	records_dnsq_clear(&j->dnsq);
	free(j->dnsq_local);
	free(j->dnsq_client);
	records_analysis_free(j->analysis);
	free(j);
}

static void
jobq_free(struct jobq *q)
{
	struct job	*j;

	while ((j = STAILQ_FIRST(q)) != NULL) {
		STAILQ_REMOVE_HEAD(q, entry);
		job_free(j);
	}
}

/* The columns of each record, as its statements name them. */
static const struct col conn_cols[] = {
	COL(conn_rec, INT64, id),
	COL(conn_rec, TEXT, host),
	COL(conn_rec, TEXT, local_addr),
	COL(conn_rec, TEXT, challenge),
	COL(conn_rec, TEXT, challenges),
	COL(conn_rec, TEXT, client_addr),
	COL(conn_rec, INT, client_port),
	COL(conn_rec, INT, family),
	COL(conn_rec, DOUBLE, started),
	COL(conn_rec, DOUBLE, ended),
	COL(conn_rec, TEXT, helo_verb),
	COL(conn_rec, TEXT, helo),
	COL(conn_rec, TEXT, extensions),
	COL(conn_rec, INT, starttls),
	COL(conn_rec, INT, pipelined_discarded),
	COL(conn_rec, INT, improper_pipelining),
	COL(conn_rec, UINT, bare_cr_commands),
	COL(conn_rec, UINT, transactions),
	COL(conn_rec, UINT, mail_commands),
	COL(conn_rec, UINT, refusals),
	COL(conn_rec, UINT, unrecorded),
	COL(conn_rec, TEXT, test_id),
	COL(conn_rec, TEXT, sni_test_id),
	COL(conn_rec, TEXT, commands),
	COL(conn_rec, TEXT, end_reason),
	COL_AS(conn_rec, INT, tls.established, ":tls_established"),
	COL_AS(conn_rec, TEXT, tls.version, ":tls_version"),
	COL_AS(conn_rec, TEXT, tls.cipher, ":tls_cipher"),
	COL_AS(conn_rec, TEXT, tls.group, ":tls_group"),
	COL_AS(conn_rec, TEXT, tls.sni, ":tls_sni"),
	COL_AS(conn_rec, INT, tls.resumed, ":tls_resumed"),
	COL_AS(conn_rec, TEXT, tls.ch_versions, ":ch_versions"),
	COL_AS(conn_rec, TEXT, tls.ch_ciphers, ":ch_ciphers"),
	COL_AS(conn_rec, TEXT, tls.ch_groups, ":ch_groups"),
	COL_AS(conn_rec, TEXT, tls.ch_sigalgs, ":ch_sigalgs"),
	COL_AS(conn_rec, TEXT, tls.ch_alpn, ":ch_alpn"),
	COL_AS(conn_rec, TEXT, tls.alert_sent, ":tls_alert_sent"),
	COL_AS(conn_rec, TEXT, tls.alert_received, ":tls_alert_received"),
	COL_AS(conn_rec, TEXT, tls.error, ":tls_error"),
};

/* :transaction_id is the id the insert gave it. */
static const struct col txn_cols[] = {
	COL_AS(txn_rec, INT64, id, ":transaction_id"),
	COL_AS(txn_rec, INT64, conn_id, ":connection_id"),
	COL(txn_rec, DOUBLE, received),
	COL_AS(txn_rec, DOUBLE, received, ":queued"),
	COL(txn_rec, TEXT, mail_from),
	COL(txn_rec, TEXT, mail_params),
	COL(txn_rec, SIZE, size),
	{ ":headers", COL_BLOB, COL_NEVER, offsetof(struct txn_rec, headers),
	    offsetof(struct txn_rec, headers_len) },
	COL(txn_rec, CHARS, body_sha256),
	COL(txn_rec, UINT, bare_lf),
	COL(txn_rec, UINT, bare_cr),
	COL(txn_rec, UINT, nul_bytes),
	COL(txn_rec, UINT, long_lines),
	COL(txn_rec, INT, tls),
	COL(txn_rec, TEXT, body_method),
	COL(txn_rec, UINT, chunks),
	COL(txn_rec, INT, smtputf8),
	COL(txn_rec, INT, requiretls),
	COL(txn_rec, TEXT, ret),
	COL(txn_rec, TEXT, envid),
};

/* A report is its transaction's message, whole; with txn_cols. */
static const struct col report_cols[] = {
	COL_AS(txn_rec, TEXT, report_kind, ":kind"),
	COL_AS(txn_rec, TEXT, report_rcpt, ":rcpt"),
	COL_AS(txn_rec, CHARS, body_sha256, ":sha256"),
	{ ":message", COL_BLOB, COL_NEVER, offsetof(struct txn_rec, message),
	    offsetof(struct txn_rec, message_len) },
};

static const struct col rcpt_cols[] = {
	COL(rcpt_rec, TEXT, address),
	COL(rcpt_rec, TEXT, challenge),
	COL(rcpt_rec, TEXT, test_id),
	COL(rcpt_rec, TEXT, params),
	COL(rcpt_rec, TEXT, notify),
	COL(rcpt_rec, TEXT, orcpt),
	COL(rcpt_rec, INT, wrong_host),
};

static const struct col challenge_cols[] = {
	COL(challenge_rec, TEXT, name),
	COL(challenge_rec, TEXT, host),
	COL(challenge_rec, TEXT, host2),
	COL(challenge_rec, TEXT, mx_family),
	COL(challenge_rec, TEXT, dns),
	COL(challenge_rec, TEXT, addresses),
	COL(challenge_rec, TEXT, addresses2),
	COL(challenge_rec, TEXT, description),
};

static const struct col grey_cols[] = {
	COL(grey_entry, TEXT, mail_from),
	COL(grey_entry, TEXT, rcpt),
	COL(grey_entry, TEXT, test_id),
	COL(grey_entry, DOUBLE, first_seen),
	COL(grey_entry, DOUBLE, last_seen),
	COL(grey_entry, UINT, attempts),
	COL_NULL(grey_entry, DOUBLE, NONPOS, passed),
};

static const struct col grey_attempt_cols[] = {
	COL_AS(grey_attempt, INT64, conn_id, ":connection_id"),
	COL(grey_attempt, TEXT, client_addr),
	COL(grey_attempt, DOUBLE, time),
};

static const struct col refusal_cols[] = {
	COL_AS(refusal_rec, INT64, conn_id, ":connection_id"),
	COL(refusal_rec, DOUBLE, time),
	COL(refusal_rec, TEXT, command),
	COL(refusal_rec, TEXT, reason),
	COL(refusal_rec, TEXT, reply),
	COL(refusal_rec, TEXT, address),
	COL(refusal_rec, TEXT, test_id),
};

static const struct col fetch_cols[] = {
	COL(fetch_rec, DOUBLE, time),
	COL(fetch_rec, TEXT, local_addr),
	COL(fetch_rec, TEXT, client_addr),
	COL(fetch_rec, INT, client_port),
	COL(fetch_rec, INT, family),
	COL(fetch_rec, TEXT, tls_version),
	COL(fetch_rec, TEXT, tls_cipher),
	COL(fetch_rec, TEXT, sni),
	COL(fetch_rec, TEXT, host),
	COL(fetch_rec, TEXT, method),
	COL(fetch_rec, TEXT, path),
	COL(fetch_rec, TEXT, user_agent),
	COL_NULL(fetch_rec, INT, NONPOS, status),
	COL(fetch_rec, LLONG, bytes),
	COL(fetch_rec, TEXT, challenge),
	COL(fetch_rec, TEXT, error),
};

/* qtype, qclass and edns_size: -1 when unknown (job_dnsq()). */
static const struct col dnsq_cols[] = {
	COL(dnsq_rec, DOUBLE, time),
	COL(dnsq_rec, TEXT, local_addr),
	COL(dnsq_rec, TEXT, client_addr),
	COL(dnsq_rec, INT, client_port),
	COL(dnsq_rec, INT, family),
	COL(dnsq_rec, TEXT, transport),
	COL(dnsq_rec, TEXT, qname),
	COL_NULL(dnsq_rec, INT, NEG, qtype),
	COL_NULL(dnsq_rec, INT, NEG, qclass),
	COL(dnsq_rec, INT, edns),
	COL_NULL(dnsq_rec, INT, NEG, edns_size),
	COL(dnsq_rec, INT, do_bit),
	COL_NULL(dnsq_rec, INT, NEG, rcode),
	COL(dnsq_rec, INT, truncated),
	COL(dnsq_rec, INT, minimised),
	COL(dnsq_rec, TEXT, test_id),
	COL(dnsq_rec, TEXT, challenge),
	COL(dnsq_rec, TEXT, error),
	COL(dnsq_rec, TEXT, rrl),
	COL(dnsq_rec, UINT, unrecorded),
	COL(dnsq_rec, UINT, rrl_dropped),
};

/* The message row, the analysis row, and the key of every other row. */
static const struct col analysis_cols[] = {
	COL_AS(analysis_rec, INT64, txn_id, ":transaction_id"),
	COL(analysis_rec, DOUBLE, finished),
	COL_AS(analysis_rec, TEXT, skipped, ":error"),
	COL(analysis_rec, UINT, header_count),
	COL(analysis_rec, TEXT, header_from),
	COL(analysis_rec, TEXT, from_domain),
	COL(analysis_rec, TEXT, envelope_domain),
	COL_NULL(analysis_rec, INT, NEG, from_matches_envelope),
	COL(analysis_rec, TEXT, message_id),
	COL(analysis_rec, UINT, received_count),
	COL(analysis_rec, INT, eight_bit),
	COL(analysis_rec, INT, body_8bitmime),
};

static const struct col finding_cols[] = {
	COL(header_finding, TEXT, field),
	COL(header_finding, TEXT, finding),
	COL(header_finding, UINT, count),
};

static const struct col spf_cols[] = {
	COL(spf_rec, TEXT, domain),
	COL(spf_rec, TEXT, result),
	COL(spf_rec, TEXT, explanation),
	COL(spf_rec, TEXT, record),
	COL(spf_rec, UINT, dns_lookups),
	COL(spf_rec, UINT, void_lookups),
	COL(spf_rec, TEXT, error),
};

static const struct col clientdns_cols[] = {
	COL(clientdns_rec, TEXT, ptr),
	COL(clientdns_rec, TEXT, ptr_status),
	COL_NULL(clientdns_rec, INT, NEG, fcrdns),
	COL_NULL(clientdns_rec, INT, NEG, helo_resolves),
	COL(clientdns_rec, TEXT, helo_addrs),
	COL(clientdns_rec, TEXT, helo_status),
};

static const struct col dkim_cols[] = {
	COL_AS(dkim_rec, UINT, fields, ":signatures"),
	COL(dkim_rec, TEXT, result),
	COL(dkim_rec, TEXT, error),
};

static const struct col dkim_sig_cols[] = {
	COL(dkim_sig_rec, UINT, position),
	COL(dkim_sig_rec, TEXT, domain),
	COL(dkim_sig_rec, TEXT, selector),
	COL(dkim_sig_rec, TEXT, algorithm),
	COL_NULL(dkim_sig_rec, UINT, NONPOS, key_bits),
	COL(dkim_sig_rec, TEXT, canon_header),
	COL(dkim_sig_rec, TEXT, canon_body),
	COL_NULL(dkim_sig_rec, LLONG, NEG, body_length),
	COL(dkim_sig_rec, TEXT, result),
	COL(dkim_sig_rec, TEXT, error),
	COL_NULL(dkim_sig_rec, INT, NEG, aligned),
};

static const struct col dmarc_cols[] = {
	COL(dmarc_rec, TEXT, from_domain),
	COL(dmarc_rec, TEXT, org_domain),
	COL(dmarc_rec, TEXT, policy_domain),
	COL(dmarc_rec, TEXT, record),
	COL(dmarc_rec, TEXT, result),
	COL(dmarc_rec, TEXT, error),
	COL(dmarc_rec, TEXT, p),
	COL(dmarc_rec, TEXT, sp),
	COL_NULL(dmarc_rec, INT, NEG, pct),
	COL(dmarc_rec, TEXT, adkim),
	COL(dmarc_rec, TEXT, aspf),
	COL(dmarc_rec, TEXT, fo),
	COL(dmarc_rec, TEXT, rua),
	COL(dmarc_rec, TEXT, ruf),
	COL(dmarc_rec, TEXT, invalid_tags),
	COL(dmarc_rec, TEXT, spf_domain),
	COL(dmarc_rec, TEXT, spf_result),
	COL_NULL(dmarc_rec, INT, NEG, spf_aligned),
	COL_NULL(dmarc_rec, INT, NEG, dkim_aligned),
	COL(dmarc_rec, TEXT, policy),
	COL(dmarc_rec, TEXT, disposition),
};

static const struct col dmarc_dest_cols[] = {
	COL(dmarc_dest, TEXT, tag),
	COL(dmarc_dest, UINT, position),
	COL(dmarc_dest, TEXT, uri),
	COL(dmarc_dest, TEXT, domain),
	COL_NULL(dmarc_dest, INT, NEG, external),
	COL_NULL(dmarc_dest, INT, NEG, authorized),
	COL(dmarc_dest, TEXT, status),
};

static const struct col sender_zone_cols[] = {
	COL(sender_zone, TEXT, role),
	COL(sender_zone, TEXT, name),
	COL(sender_zone, TEXT, zone),
	COL(sender_zone, TEXT, dnssec),
	COL(sender_zone, TEXT, dnssec_error),
	COL_NULL(sender_zone, INT, NEG, ipv6_ns),
};

/* The report row first: its :error is not the analysis' */
static const struct col tlsrpt_cols[] = {
	COL(tlsrpt_rec, TEXT, status),
	COL(tlsrpt_rec, TEXT, error),
	COL(tlsrpt_rec, TEXT, organization),
	COL(tlsrpt_rec, TEXT, report_id),
	COL(tlsrpt_rec, TEXT, contact),
	COL(tlsrpt_rec, TEXT, date_start),
	COL(tlsrpt_rec, TEXT, date_end),
	COL_NULL(tlsrpt_rec, DOUBLE, NONPOS, start),
	COL_NULL(tlsrpt_rec, DOUBLE, NONPOS, end),
};

static const struct col tlsrpt_policy_cols[] = {
	COL(tlsrpt_policy, TEXT, policy_type),
	COL(tlsrpt_policy, TEXT, policy_domain),
	COL(tlsrpt_policy, TEXT, policy_string),
	COL(tlsrpt_policy, TEXT, mx_host),
	COL(tlsrpt_policy, LLONG, successful),
	COL(tlsrpt_policy, LLONG, failed),
};

/* One TLS-RPT policy's attribution; strings borrowed. */
struct tlsrpt_attr {
	const char	*test_id;
	const char	*attribution;	/* uniq sender ambiguous none */
	const char	*candidates;
};

static const struct col tlsrpt_attr_cols[] = {
	COL(tlsrpt_attr, TEXT, test_id),
	COL(tlsrpt_attr, TEXT, attribution),
	COL(tlsrpt_attr, TEXT, candidates),
};

static const struct col tlsrpt_failure_cols[] = {
	COL(tlsrpt_failure, TEXT, result_type),
	COL(tlsrpt_failure, TEXT, sending_mta_ip),
	COL(tlsrpt_failure, TEXT, receiving_mx_hostname),
	COL(tlsrpt_failure, TEXT, receiving_ip),
	COL(tlsrpt_failure, LLONG, failed_sessions),
	COL(tlsrpt_failure, TEXT, additional_information),
	COL(tlsrpt_failure, TEXT, failure_reason_code),
};

static const struct col identity_col[] = { COL_VALUE(":identity", TEXT) };
static const struct col row_col[] = { COL_VALUE(":row", INT64) };
static const struct col result_col[] = { COL_VALUE(":result", TEXT) };
static const struct col id_col[] = { COL_VALUE(":id", TEXT) };
static const struct col created_col[] = { COL_VALUE(":created", DOUBLE) };
static const struct col net_col[] = { COL_VALUE(":client_net", CHARS) };
static const struct col decided_col[] = {
	COL_VALUE(":decided_at", DOUBLE)
};
static const struct col window_col[] = { COL_VALUE(":window", DOUBLE) };
static const struct col max_col[] = { COL_VALUE(":max", SIZE) };
static const struct col max_bytes_col[] = { COL_VALUE(":max_bytes", SIZE) };
static const struct col finished_col[] = { COL_VALUE(":finished", DOUBLE) };

/* One decision of ST_ATTR_EVAL; strings borrowed from its row. */
struct attr_row {
	int64_t		 connection_id;
	const char	*test_id;
	const char	*reason;
	const char	*candidates;
};

/* What new evidence may change (ST_ATTR_EVAL): borrowed strings. */
struct attr_scope {
	int64_t		 connection;	/* 0: none */
	const char	*test;		/* the tests the evidence names */
	const char	*test2;
	double		 from;		/* ST_ATTR_SCOPE; 0: none */
};

static const struct col scope_tests_cols[] = {
	COL_AS(attr_scope, TEXT, test, ":scope_test"),
	COL_AS(attr_scope, TEXT, test2, ":scope_test2"),
};

static const struct col scope_cols[] = {
	COL_AS(attr_scope, INT64, connection, ":scope_connection"),
	{ ":scope_from", COL_DOUBLE, COL_NONPOS, offsetof(struct attr_scope,
	    from), 0 },
};

static const struct col attr_cols[] = {
	COL(attr_row, INT64, connection_id),
	COL(attr_row, TEXT, test_id),
	COL(attr_row, TEXT, reason),
	COL(attr_row, TEXT, candidates),
};

/*
 * Logs a failed statement of a job and keeps its code for store_batch();
 * both are read before the reset.
 */
static void
job_warn(struct store *st, const struct job *j, const char *what)
{
	st->job_rc = sqlite3_errcode(st->db);
	log_warn("c%" PRId64 ": store: %s failed: %s", j->conn_id, what,
	    sqlite3_errmsg(st->db));
}

/* Runs statement ID of job J from SRCS (no rows); 0, or -1 logged. */
static int
job_exec(struct store *st, const struct job *j, enum stmt_id id,
    const struct src *srcs, size_t nsrcs, const char *what)
{
	int	 rc;

	if ((rc = stmt_run(st->stmt[id], srcs, nsrcs)) != SQLITE_DONE)
		job_warn(st, j, what);
	stmt_reset(st->stmt[id]);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
job_conn_open(struct store *st, struct job *j)
{
	const struct src	 src[] = { SRC(conn_cols, &j->conn) };

	return job_exec(st, j, ST_CONN_OPEN, src, NELEM(src),
	    "connection insert");
}

static char	*job_strdup(const char *);

/* Column I of S's row as an owned copy, NULL for NULL. */
static char *
column_dup(sqlite3_stmt *s, int i)
{
	return job_strdup((const char *)sqlite3_column_text(s, i));
}

/*
 * SCOPE->from for evidence of network NET about to be written
 * (ST_ATTR_SCOPE); on failure 0, logged: the connection's own row alone.
 */
static void
attr_scope_from(struct store *st, const struct job *j, const char *net,
    struct attr_scope *scope)
{
	sqlite3_stmt		*s = st->stmt[ST_ATTR_SCOPE];
	const struct src	 src[] = { SRC(net_col, net),
				    SRC(window_col, &st->attr_window),
				    SRC(scope_tests_cols, scope) };
	int			 rc;

	scope->from = 0;
	if ((rc = stmt_run(s, src, NELEM(src))) == SQLITE_ROW)
		scope->from = sqlite3_column_double(s, 0);
	else if (rc != SQLITE_DONE)
		job_warn(st, j, "attribution scope");
	stmt_reset(s);
}

/*
 * Decides again the undecided connections of network NET whose decision
 * changed (ST_ATTR_EVAL), and logs each.  The rows are read whole before
 * any is updated: a table is not changed under a running SELECT of it.
 */
static void
attr_eval(struct store *st, const struct job *j, const char *net, double now,
    const struct attr_scope *scope)
{
	sqlite3_stmt		*s = st->stmt[ST_ATTR_EVAL];
	const struct src	 src[] = { SRC(net_col, net),
				    SRC(window_col, &st->attr_window),
				    SRC(scope_cols, scope) };
	struct attr_row		*rows = NULL, *r;
	size_t			 n = 0, cap = 0, i;
	int			 rc;

	for (rc = stmt_run(s, src, NELEM(src)); rc == SQLITE_ROW;
	    rc = sqlite3_step(s)) {
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((rows = reallocarray(rows, cap,
			    sizeof(*rows))) == NULL)
				fatalx("store: attribution: %s",
				    strerror(errno));
		}
		r = &rows[n++];
		r->connection_id = sqlite3_column_int64(s, 0);
		r->test_id = column_dup(s, 1);
		r->reason = column_dup(s, 2);
		r->candidates = column_dup(s, 3);
	}
	if (rc != SQLITE_DONE)
		job_warn(st, j, "attribution");
	stmt_reset(s);

	for (i = 0; i < n; i++) {
		const struct src set[] = { SRC(attr_cols, &rows[i]),
			SRC(decided_col, &now) };

		r = &rows[i];
		if (r->reason != NULL && job_exec(st, j, ST_ATTR_SET, set,
		    NELEM(set), "attribution update") == 0)
			log_info("c%" PRId64 ": attribution reason=%s "
			    "test=%s candidates=\"%s\" net=%s",
			    r->connection_id, r->reason,
			    r->test_id != NULL ? r->test_id : "-",
			    r->candidates != NULL ? r->candidates : "", net);
		free((char *)r->test_id);
		free((char *)r->reason);
		free((char *)r->candidates);
	}
	free(rows);
}

/*
 * A closed connection's attribution (docs/researcher.md): its own row,
 * the evidence it brings for its client network, and the undecided
 * connections of that network decided again.  It never fails the job:
 * the connection row matters more than its attribution.
 */
static void
job_attr_conn(struct store *st, const struct job *j)
{
	const struct conn_rec	*c = &j->conn;
	char			 net[STORE_NET_MAX];
	double			 now = clock_now();
	const struct src	 src[] = { SRC(conn_cols, c),
				    SRC(net_col, net), SRC(decided_col, &now) };
	struct attr_scope	 scope = { c->id, c->test_id, c->sni_test_id,
				    0 };

	if (netaddr_client_net(c->client_addr, net, sizeof(net)) == -1) {
		log_warn("c%" PRId64 ": store: attribution: no address: %s",
		    j->conn_id, c->client_addr);
		return;
	}
	if (job_exec(st, j, ST_ATTR_INSERT, src, NELEM(src),
	    "attribution insert") == -1)
		return;
	if (c->test_id != NULL || c->sni_test_id != NULL) {
		attr_scope_from(st, j, net, &scope);
		if (job_exec(st, j, ST_ATTR_CONN_EVIDENCE, src, NELEM(src),
		    "attribution evidence") == -1)
			return;
	}
	attr_eval(st, j, net, now, &scope);
}

/* A DNS query naming a test: evidence for its client's network. */
static void
job_attr_dnsq(struct store *st, const struct job *j)
{
	const struct dnsq_rec	*q = &j->dnsq;
	char			 net[STORE_NET_MAX];
	const struct src	 src[] = { SRC(dnsq_cols, q), SRC(net_col, net) };
	struct attr_scope	 scope = { 0, q->test_id, NULL, 0 };

	if (netaddr_client_net(q->client_addr, net, sizeof(net)) == -1)
		return;
	attr_scope_from(st, j, net, &scope);
	if (job_exec(st, j, ST_ATTR_EVIDENCE, src, NELEM(src),
	    "attribution evidence") == -1)
		return;
	attr_eval(st, j, net, clock_now(), &scope);
}

static int
job_conn_close(struct store *st, struct job *j)
{
	const struct src	 src[] = { SRC(conn_cols, &j->conn) };

	if (job_exec(st, j, ST_CONN_CLOSE, src, NELEM(src),
	    "connection update") == -1)
		return -1;
	/* Its open failed or never came: the rest of the record is lost. */
	if (sqlite3_changes(st->db) == 0) {
		log_warn("c%" PRId64 ": store: connection update failed: "
		    "no such connection", j->conn_id);
		return -1;
	}
	job_attr_conn(st, j);
	return 0;
}

static int
job_txn(struct store *st, struct job *j)
{
	struct txn_rec		*t = j->txn;
	const struct src	 txn[] = { SRC(txn_cols, t) };
	struct src		 rcpt[] = { SRC(rcpt_cols, NULL), SRC(txn_cols, t) };
	const struct src	 report[] = { SRC(report_cols, t),
				    SRC(txn_cols, t) };
	size_t			 i;

	if (job_exec(st, j, ST_TXN, txn, NELEM(txn),
	    "transaction insert") == -1)
		return -1;
	t->id = sqlite3_last_insert_rowid(st->db);
	for (i = 0; i < t->nrcpts; i++) {
		rcpt[0].rec = &t->rcpts[i];
		if (job_exec(st, j, ST_RCPT, rcpt, NELEM(rcpt),
		    "recipient insert") == -1)
			return -1;
	}
	/* in the same job: a report acknowledged is a report stored */
	if (t->report_kind != NULL && job_exec(st, j, ST_REPORT, report,
	    NELEM(report), "inbound report insert") == -1)
		return -1;
	/* analysed later: "pending" until the analysis job finishes it */
	return job_exec(st, j, ST_ANALYSIS_QUEUED, txn, NELEM(txn),
	    "analysis insert");
}

static int
job_grey(struct store *st, struct job *j)
{
	const char		*result;
	const struct src	 entry[] = { SRC(grey_cols, &j->grey) };
	const struct src	 attempt[] = {
		SRC(grey_attempt_cols, &j->attempt),
		SRC(result_col, &result),
		SRC(grey_cols, &j->grey),
	};

	result = j->attempt.accepted ? "accepted" : "deferred";
	if (job_exec(st, j, ST_GREY_UPSERT, entry, NELEM(entry),
	    "greylist update") == -1)
		return -1;
	return job_exec(st, j, ST_GREY_ATTEMPT, attempt, NELEM(attempt),
	    "greylist attempt insert");
}

static int
job_fetch(struct store *st, struct job *j)
{
	const struct src	 src[] = { SRC(fetch_cols, &j->fetch) };

	return job_exec(st, j, ST_FETCH, src, NELEM(src),
	    "policy fetch insert");
}

static int
job_dnsq(struct store *st, struct job *j)
{
	struct dnsq_rec		*q = &j->dnsq;
	const struct src	 src[] = { SRC(dnsq_cols, q) };

	/* no question read: type and class unknown */
	if (q->qname == NULL)
		q->qtype = q->qclass = -1;
	if (!q->edns)
		q->edns_size = -1;
	if (job_exec(st, j, ST_DNSQ, src, NELEM(src),
	    "DNS query insert") == -1)
		return -1;
	if (q->test_id != NULL)
		job_attr_dnsq(st, j);
	return 0;
}

/*
 * Runs statement ID for each of the N records at RECS (SIZE bytes apart),
 * with the analysis' columns after their own.
 */
static int
job_rows(struct store *st, struct job *j, enum stmt_id id,
    const struct col *cols, size_t ncols, const void *recs, size_t size,
    size_t n, const char *what)
{
	struct src	 src[] = { { cols, ncols, NULL },
			    SRC(analysis_cols, j->analysis) };
	size_t		 i;

	for (i = 0; i < n; i++) {
		src[0].rec = (const char *)recs + i * size;
		if (job_exec(st, j, id, src, NELEM(src), what) == -1)
			return -1;
	}
	return 0;
}

/* The row of one record, and the rows of an array of N. */
#define JOB_ROW(st, j, id, cols, rec, what) \
	job_rows((st), (j), (id), (cols), NELEM(cols), (rec), 0, 1, (what))
#define JOB_ROWS(st, j, id, cols, arr, n, what) \
	job_rows((st), (j), (id), (cols), NELEM(cols), (arr), \
	    sizeof(*(arr)), (n), (what))

static int
job_spf(struct store *st, struct job *j, const char *identity,
    const struct spf_rec *r)
{
	const struct src src[] = {
		SRC(spf_cols, r),
		SRC(identity_col, &identity),
		SRC(analysis_cols, j->analysis),
	};

	if (!r->checked)
		return 0;
	return job_exec(st, j, ST_SPF, src, NELEM(src), "SPF result insert");
}

/*
 * The test of policy P (row ROW) of report R (docs/researcher.md): the
 * one its policy domain names ('uniq'), else the tests its reporter has
 * evidence for if the domain is a challenge's ('sender', 'ambiguous'),
 * else 'none'.  It never fails the job: the report matters more than its
 * attribution, which stays NULL (logged) when a statement fails.
 */
static void
job_tlsrpt_attr(struct store *st, const struct job *j,
    const struct tlsrpt_rec *r, const struct tlsrpt_policy *p, int64_t row)
{
	sqlite3_stmt			*s;
	const struct catalog_challenge	*ch;
	struct tlsrpt_attr		 a = { NULL, "none", NULL };
	char				 id[TESTID_LEN + 1], *cands = NULL;
	const char			*idp = id;
	const struct src		 test[] = { SRC(id_col, &idp) };
	const struct src		 sender[] = { SRC(tlsrpt_cols, r),
					    SRC(row_col, &row),
					    SRC(analysis_cols, j->analysis) };
	const struct src		 set[] = { SRC(tlsrpt_attr_cols, &a),
					    SRC(row_col, &row) };
	int				 rc;

	if (st->cfg == NULL)
		fatalx("store: TLS-RPT attribution without store_set_config()");
	if (testid_from_name(st->cfg, p->policy_domain, id, &ch)) {
		s = st->stmt[ST_TEST_EXISTS];
		if ((rc = stmt_run(s, test, NELEM(test))) == SQLITE_ROW) {
			a.test_id = id;
			a.attribution = "uniq";
		}
		stmt_reset(s);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			job_warn(st, j, "TLS-RPT attribution");
			return;
		}
	}
	if (a.test_id == NULL &&
	    testid_challenge_of_name(st->cfg, p->policy_domain) != NULL) {
		s = st->stmt[ST_TLSRPT_SENDER];
		if ((rc = stmt_run(s, sender, NELEM(sender))) == SQLITE_ROW) {
			cands = column_dup(s, 1);
			if (sqlite3_column_int64(s, 0) == 1) {
				a.test_id = cands;
				a.attribution = "sender";
			} else if (cands != NULL) {
				a.attribution = "ambiguous";
				a.candidates = cands;
			}
		} else
			job_warn(st, j, "TLS-RPT attribution");
		stmt_reset(s);
		if (rc != SQLITE_ROW) {
			free(cands);
			return;
		}
	}
	if (job_exec(st, j, ST_TLSRPT_ATTR, set, NELEM(set),
	    "TLS-RPT attribution update") == 0)
		log_debug("c%" PRId64 ": tlsrpt policy=%" PRId64
		    " attribution=%s test=%s candidates=\"%s\"", j->conn_id,
		    row, a.attribution, a.test_id != NULL ? a.test_id : "-",
		    a.candidates != NULL ? a.candidates : "");
	free(cands);
}

/*
 * The TLS-RPT rows of a report message: the report, keyed by its
 * inbound_reports row, its policies, their failure details, and the
 * test of each policy.
 */
static int
job_tlsrpt(struct store *st, struct job *j)
{
	const struct tlsrpt_rec		*r = &j->analysis->tlsrpt;
	const struct tlsrpt_policy	*p;
	int64_t				 report_row, policy_row;
	struct src			 src[] = {
		SRC(tlsrpt_cols, r),
		SRC(row_col, &report_row),
		SRC(analysis_cols, j->analysis),
	};
	size_t				 i, k;

	if (!r->checked)
		return 0;
	if (job_exec(st, j, ST_TLSRPT, src, NELEM(src),
	    "TLS-RPT report insert") == -1)
		return -1;
	if (sqlite3_changes(st->db) == 0) {
		log_warn("c%" PRId64 ": store: TLS-RPT report of transaction "
		    "%" PRId64 " without its inbound_reports row: not stored",
		    j->conn_id, j->analysis->txn_id);
		return 0;
	}
	report_row = sqlite3_last_insert_rowid(st->db);
	for (i = 0; i < r->npolicies; i++) {
		p = &r->policies[i];
		src[0] = (struct src)SRC(tlsrpt_policy_cols, p);
		src[1].rec = &report_row;
		if (job_exec(st, j, ST_TLSRPT_POLICY, src, NELEM(src),
		    "TLS-RPT policy insert") == -1)
			return -1;
		policy_row = sqlite3_last_insert_rowid(st->db);
		src[1].rec = &policy_row;
		for (k = 0; k < p->nfailures; k++) {
			src[0] = (struct src)SRC(tlsrpt_failure_cols,
			    &p->failures[k]);
			if (job_exec(st, j, ST_TLSRPT_FAILURE, src,
			    NELEM(src), "TLS-RPT failure insert") == -1)
				return -1;
		}
		job_tlsrpt_attr(st, j, r, p, policy_row);
	}
	return 0;
}

/* The result rows of an analysis that was not skipped. */
static int
job_results(struct store *st, struct job *j)
{
	const struct analysis_rec	*a = j->analysis;
	const struct dkim_rec		*d = &a->dkim;
	const struct dmarc_rec		*m = &a->dmarc;
	const struct senderdns_rec	*z = &a->sender_zones;

	if (JOB_ROW(st, j, ST_MESSAGE, analysis_cols, a,
	    "message insert") == -1 ||
	    JOB_ROWS(st, j, ST_FINDING, finding_cols, a->findings,
	    a->nfindings, "finding insert") == -1 ||
	    job_spf(st, j, "mailfrom", &a->spf_mailfrom) == -1 ||
	    job_spf(st, j, "helo", &a->spf_helo) == -1)
		return -1;
	if (a->client.checked && JOB_ROW(st, j, ST_CLIENT_DNS, clientdns_cols,
	    &a->client, "client DNS insert") == -1)
		return -1;
	if (d->checked && (JOB_ROW(st, j, ST_DKIM, dkim_cols, d,
	    "DKIM result insert") == -1 ||
	    JOB_ROWS(st, j, ST_DKIM_SIG, dkim_sig_cols, d->sigs, d->nsigs,
	    "DKIM signature insert") == -1))
		return -1;
	if (m->checked && (JOB_ROW(st, j, ST_DMARC, dmarc_cols, m,
	    "DMARC result insert") == -1 ||
	    JOB_ROWS(st, j, ST_DMARC_DEST, dmarc_dest_cols, m->dests,
	    m->ndests, "DMARC destination insert") == -1))
		return -1;
	if (z->checked && JOB_ROWS(st, j, ST_SENDER_ZONE, sender_zone_cols,
	    z->zones, z->n, "sender zone insert") == -1)
		return -1;
	return job_tlsrpt(st, j);
}

static int
job_analysis(struct store *st, struct job *j)
{
	const struct src	 src[] = { SRC(analysis_cols, j->analysis) };

	/* a report parsed again: its analysis row is finished already */
	if (j->analysis->tlsrpt_only)
		return job_tlsrpt(st, j);
	if (j->analysis->skipped == NULL && job_results(st, j) == -1)
		return -1;
	return job_exec(st, j, ST_ANALYSIS_DONE, src, NELEM(src),
	    "analysis update");
}

static int
job_refusal(struct store *st, struct job *j)
{
	const struct src	 src[] = { SRC(refusal_cols, &j->refusal) };

	return job_exec(st, j, ST_REFUSAL, src, NELEM(src), "refusal insert");
}

static int
job_run(struct store *st, struct job *j)
{
	switch (j->type) {
	case JOB_CONN_OPEN:
		return job_conn_open(st, j);
	case JOB_CONN_CLOSE:
		return job_conn_close(st, j);
	case JOB_TXN:
		return job_txn(st, j);
	case JOB_REFUSAL:
		return job_refusal(st, j);
	case JOB_GREY:
		return job_grey(st, j);
	case JOB_FETCH:
		return job_fetch(st, j);
	case JOB_DNSQ:
		return job_dnsq(st, j);
	case JOB_ANALYSIS:
		return job_analysis(st, j);
	}
	fatalx("store: job type %d", (int)j->type);
}

/* A failure that may pass: busy, locked, a full or failing disk. */
static int
sqlite_transient(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_NOMEM:
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_PROTOCOL:
		return 1;
	}
	return 0;
}

/*
 * Whether failed job J is tried in a later batch.  Mail never is: its
 * session answers 451 and the sender tries again.  A record that only
 * shared a batch lost by CULPRIT's failure always is, uncounted, so that
 * one record that fails for ever cannot take others with it.  A record
 * whose own failure may pass (its batch lost for no known job, or a
 * transient SQLite error) is, until it failed STORE_TRIES times; then it
 * is dropped and logged.  Any other failure was logged by job_warn().
 */
static int
job_retry(struct job *j, int lost, const struct job *culprit)
{
	if (j->type == JOB_TXN)
		return 0;
	if (lost && culprit != NULL && culprit != j)
		return 1;
	if (!lost && !sqlite_transient(j->rc))
		return 0;
	if (++j->tries < STORE_TRIES)
		return 1;
	log_warn("c%" PRId64 ": store: %s record lost: failed in %d batches",
	    j->conn_id, job_names[j->type], STORE_TRIES);
	return 0;
}

/*
 * Group commit: every job of BATCH in one transaction, so one fsync makes
 * them all durable.  Each job runs inside its own savepoint: a failing job
 * is rolled back alone and the others still commit.  If the transaction
 * itself is lost (BEGIN or COMMIT fails, or SQLite rolls it back: a full
 * disk, an I/O error, a trigger's RAISE(ROLLBACK)), every job of the batch
 * has failed.  Failed jobs that job_retry() keeps are moved to RETRY, in
 * order; the milliseconds to wait before the next batch are returned.
 */
static unsigned
store_batch(struct store *st, struct jobq *batch, struct jobq *retry)
{
	struct jobq	 keep = STAILQ_HEAD_INITIALIZER(keep);
	struct job	*j, *culprit = NULL;
	size_t		 n = 0, nfailed = 0, nretry = 0;
	unsigned	 wait_ms = 0;
	int		 lost = 0;

	if (store_step(st, ST_BEGIN) == -1) {
		log_warn("store: begin failed: %s", sqlite3_errmsg(st->db));
		lost = 1;
	}
	STAILQ_FOREACH(j, batch, entry) {
		n++;
		j->ok = 0;
		j->rc = SQLITE_OK;
		if (lost)
			continue;
		if (store_step(st, ST_SAVEPOINT) == -1) {
			log_warn("store: savepoint failed: %s",
			    sqlite3_errmsg(st->db));
			lost = 1;
			continue;
		}
		st->job_rc = SQLITE_OK;
		if (job_run(st, j) == 0) {
			if (store_step(st, ST_RELEASE) == 0)
				j->ok = 1;
			else
				lost = 1;
			continue;
		}
		j->rc = st->job_rc;
		/* SQLite rolled the whole transaction back during J */
		if (sqlite3_get_autocommit(st->db)) {
			culprit = j;
			lost = 1;
		} else if (store_step(st, ST_ROLLBACK_TO) == -1 ||
		    store_step(st, ST_RELEASE) == -1)
			lost = 1;
	}
	if (!lost && store_step(st, ST_COMMIT) == -1) {
		log_warn("store: commit failed: %s", sqlite3_errmsg(st->db));
		lost = 1;
	}
	if (lost && !sqlite3_get_autocommit(st->db))
		(void)store_step(st, ST_ROLLBACK);

	while ((j = STAILQ_FIRST(batch)) != NULL) {
		STAILQ_REMOVE_HEAD(batch, entry);
		if (lost)
			j->ok = 0;
		if (!j->ok && job_retry(j, lost, culprit)) {
			if (STORE_RETRY_MS * j->tries > wait_ms)
				wait_ms = STORE_RETRY_MS * j->tries;
			STAILQ_INSERT_TAIL(retry, j, entry);
			nretry++;
			continue;
		}
		if (!j->ok)
			nfailed++;
		STAILQ_INSERT_TAIL(&keep, j, entry);
	}
	STAILQ_CONCAT(batch, &keep);
	if (lost)
		log_warn("store: batch of %zu jobs rolled back%s%s: %zu records "
		    "to be written again, %zu failed", n,
		    culprit != NULL ? " by a " : "",
		    culprit != NULL ? job_names[culprit->type] : "", nretry,
		    nfailed);
	log_debug("store: batch jobs=%zu failed=%zu retry=%zu", n, nfailed,
	    nretry);
	return wait_ms;
}

/*
 * Frees the jobs of BATCH and hands the txn results to the event loop.
 * Without a writer (store_close() flushing a queue nobody started) there
 * is nobody to tell and the results are dropped.
 */
static void
store_batch_report(struct store *st, struct jobq *batch)
{
	struct jobq	 results = STAILQ_HEAD_INITIALIZER(results);
	struct job	*j;

	while ((j = STAILQ_FIRST(batch)) != NULL) {
		STAILQ_REMOVE_HEAD(batch, entry);
		if (j->type != JOB_TXN || st->done_ev == NULL) {
			job_free(j);
			continue;
		}
		STAILQ_INSERT_TAIL(&results, j, entry);
	}
	if (STAILQ_EMPTY(&results))
		return;
	pthread_mutex_lock(&st->mtx);
	STAILQ_CONCAT(&st->done, &results);
	pthread_mutex_unlock(&st->mtx);
	/* Thread-safe: the daemon enabled evthread before the base existed. */
	event_active(st->done_ev, 0, 0);
}

/* Nothing queued. */
static int
store_idle(const struct store *st)
{
	return STAILQ_EMPTY(&st->jobs) && STAILQ_EMPTY(&st->bulk);
}

/* Moves up to MAX jobs from the head of FROM to the tail of TO; how many. */
static size_t
jobq_take(struct jobq *from, struct jobq *to, size_t max)
{
	struct job	*j;
	size_t		 n;

	for (n = 0; n < max && (j = STAILQ_FIRST(from)) != NULL; n++) {
		STAILQ_REMOVE_HEAD(from, entry);
		STAILQ_INSERT_TAIL(to, j, entry);
	}
	return n;
}

/*
 * The next batch: the sessions' records first, then a slice of the bulk
 * ones, so that mail never waits behind a flood of DNS queries, and no
 * transaction (nor the fsync that ends it) grows without bound.
 */
static void
store_take(struct store *st, struct jobq *batch)
{
	st->njobs -= jobq_take(&st->jobs, batch, STORE_BATCH_MAIL);
	st->nbulk -= jobq_take(&st->bulk, batch, STORE_BATCH_BULK);
}

/* The jobs of RETRY back at the head of their queues, in their order. */
static void
store_requeue(struct store *st, struct jobq *retry)
{
	struct jobq	 mail = STAILQ_HEAD_INITIALIZER(mail);
	struct jobq	 bulk = STAILQ_HEAD_INITIALIZER(bulk);
	struct job	*j;

	while ((j = STAILQ_FIRST(retry)) != NULL) {
		STAILQ_REMOVE_HEAD(retry, entry);
		if (JOB_MAIL(j)) {
			STAILQ_INSERT_TAIL(&mail, j, entry);
			st->njobs++;
		} else {
			STAILQ_INSERT_TAIL(&bulk, j, entry);
			st->nbulk++;
		}
	}
	STAILQ_CONCAT(&mail, &st->jobs);
	STAILQ_CONCAT(&st->jobs, &mail);
	STAILQ_CONCAT(&bulk, &st->bulk);
	STAILQ_CONCAT(&st->bulk, &bulk);
}

/* With mtx held: MS milliseconds, or until stopping. */
static void
store_wait(struct store *st, unsigned ms)
{
	struct timespec	 until;

	if (clock_gettime(CLOCK_REALTIME, &until) == -1)
		return;
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (!st->stopping &&
	    pthread_cond_timedwait(&st->cond, &st->mtx, &until) != ETIMEDOUT)
		;
}

/*
 * The writer thread: one batch after the other while jobs are queued,
 * until stopped.  After a batch with records to write again it waits
 * (STORE_RETRY_MS times their tries) for a busy or full disk to recover,
 * except when stopping.
 */
static void *
store_writer(void *arg)
{
	struct store	*st = arg;
	struct jobq	 batch = STAILQ_HEAD_INITIALIZER(batch);
	struct jobq	 retry = STAILQ_HEAD_INITIALIZER(retry);
	unsigned	 wait_ms = 0;

	pthread_mutex_lock(&st->mtx);
	for (;;) {
		while (store_idle(st) && !st->stopping)
			pthread_cond_wait(&st->cond, &st->mtx);
		/* Stopping still flushes whatever was queued before. */
		if (store_idle(st))
			break;
		if (wait_ms > 0)
			store_wait(st, wait_ms);
		store_take(st, &batch);
		pthread_mutex_unlock(&st->mtx);

		wait_ms = store_batch(st, &batch, &retry);
		store_batch_report(st, &batch);

		pthread_mutex_lock(&st->mtx);
		store_requeue(st, &retry);
	}
	pthread_mutex_unlock(&st->mtx);
	return NULL;
}

/* Event loop thread: delivers the results the writer queued. */
static void
store_done_event(evutil_socket_t fd, short what, void *arg)
{
	struct store	*st = arg;
	struct jobq	 results = STAILQ_HEAD_INITIALIZER(results);
	struct job	*j;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&st->mtx);
	STAILQ_CONCAT(&results, &st->done);
	pthread_mutex_unlock(&st->mtx);
	/* Unlocked: a callback may queue the next transaction. */
	while ((j = STAILQ_FIRST(&results)) != NULL) {
		STAILQ_REMOVE_HEAD(&results, entry);
		/* the transaction goes back with the result */
		st->done_cb(j->conn_id, j->ok, j->txn, st->done_arg);
		j->txn = NULL;
		job_free(j);
	}
}

/*
 * Only the daemon starts a writer, and one daemon uses a database: an
 * analysis still pending now was left by a process that died (kill -9,
 * power loss) and will never finish.  The message text it needed was
 * not kept, so it is finished as 'interrupted' rather than redone
 * (docs/design-notes.md).
 */
static int
store_analyses_interrupted(struct store *st)
{
	double			 now = clock_now();
	const struct src	 src[] = { SRC(finished_col, &now) };
	sqlite3_stmt		*s = st->stmt[ST_ANALYSIS_INTERRUPTED];
	int			 rc, n;

	rc = stmt_run(s, src, NELEM(src));
	if (rc != SQLITE_DONE)
		log_warn("store: pending analyses: %s", sqlite3_errmsg(st->db));
	stmt_reset(s);
	if (rc != SQLITE_DONE)
		return -1;
	if ((n = sqlite3_changes(st->db)) > 0)
		log_warn("store: %d analyses left pending by the last run "
		    "finished as 'interrupted'", n);
	return 0;
}

int
store_writer_start(struct store *st, struct event_base *base,
    store_done_cb done_cb, void *arg)
{
	sigset_t	 all, old;
	int		 rc;

	if (st->running)
		fatalx("store_writer_start: writer already running");
	if (store_analyses_interrupted(st) == -1)
		return -1;
	if ((st->done_ev = event_new(base, -1, 0, store_done_event,
	    st)) == NULL) {
		log_warn("store: event_new failed");
		return -1;
	}
	st->done_cb = done_cb;
	st->done_arg = arg;
	/* Signals are for the event loop thread, never for the writer. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&st->writer, NULL, store_writer, st);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0)
		(void)pthread_setname_np(st->writer, "ms-store");
	if (rc != 0) {
		log_warn("store: writer thread: %s", strerror(rc));
		event_free(st->done_ev);
		st->done_ev = NULL;
		return -1;
	}
	st->running = 1;
	return 0;
}

static void
store_enqueue(struct store *st, struct job *j)
{
	unsigned long	 dropped = 0;

	pthread_mutex_lock(&st->mtx);
	/*
	 * DNS queries and web requests come from anyone, faster than a disk
	 * may take them: above the bound they are counted, not queued.  Mail
	 * is never dropped (its sessions wait for the store anyway).
	 */
	if ((j->type == JOB_FETCH || j->type == JOB_DNSQ) &&
	    st->nbulk >= STORE_QUEUE_MAX) {
		dropped = ++st->dropped;
		pthread_mutex_unlock(&st->mtx);
		if (dropped == 1 || dropped % 10000 == 0)
			log_warn("store: queue full, %lu DNS/web records dropped "
			    "so far", dropped);
		job_free(j);
		return;
	}
	if (JOB_MAIL(j)) {
		STAILQ_INSERT_TAIL(&st->jobs, j, entry);
		st->njobs++;
	} else {
		STAILQ_INSERT_TAIL(&st->bulk, j, entry);
		st->nbulk++;
	}
	pthread_cond_signal(&st->cond);
	pthread_mutex_unlock(&st->mtx);
}

size_t
store_backlog(struct store *st)
{
	size_t	 n;

	pthread_mutex_lock(&st->mtx);
	n = st->njobs;
	pthread_mutex_unlock(&st->mtx);
	return n;
}

static void
store_conn_job(struct store *st, enum job_type type, const struct conn_rec *c)
{
	struct job	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    records_conn_copy(&j->conn, c) == -1)
		fatalx("store: connection record: %s", strerror(errno));
	j->type = type;
	j->conn_id = c->id;
	store_enqueue(st, j);
}

void
store_conn_open(struct store *st, const struct conn_rec *c)
{
	store_conn_job(st, JOB_CONN_OPEN, c);
}

void
store_conn_close(struct store *st, const struct conn_rec *c)
{
	store_conn_job(st, JOB_CONN_CLOSE, c);
}

void
store_greylist(struct store *st, const struct grey_entry *g,
    const struct grey_attempt *a)
{
	struct job	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    records_grey_copy(&j->grey, g) == -1 ||
	    records_grey_attempt_copy(&j->attempt, a) == -1)
		fatalx("store: greylist entry: %s", strerror(errno));
	j->type = JOB_GREY;
	j->conn_id = a->conn_id;
	store_enqueue(st, j);
}

void
store_refusal(struct store *st, const struct refusal_rec *r)
{
	struct job	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    records_refusal_copy(&j->refusal, r) == -1)
		fatalx("store: refusal: %s", strerror(errno));
	j->type = JOB_REFUSAL;
	j->conn_id = r->conn_id;
	store_enqueue(st, j);
}

/* A copy of S, NULL for NULL; running out of memory is fatal here. */
static char *
job_strdup(const char *s)
{
	char	*d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		fatalx("store: %s", strerror(errno));
	return d;
}

static struct job *
job_new(enum job_type type)
{
	struct job	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		fatalx("store: job: %s", strerror(errno));
	j->type = type;
	return j;
}

void
store_policy_fetch(struct store *st, const struct fetch_rec *f)
{
	struct job	*j = job_new(JOB_FETCH);

	if (records_fetch_copy(&j->fetch, f) == -1)
		fatalx("store: %s", strerror(errno));
	store_enqueue(st, j);
}

void
store_dns_query(struct store *st, const struct dnsq_rec *q)
{
	struct job	*j = job_new(JOB_DNSQ);

	if (records_dnsq_copy(&j->dnsq, q) == -1)
		fatalx("store: %s", strerror(errno));
	j->dnsq.local_addr = j->dnsq_local = job_strdup(q->local_addr);
	j->dnsq.client_addr = j->dnsq_client = job_strdup(q->client_addr);
	store_enqueue(st, j);
}

void
store_analysis(struct store *st, struct analysis_rec *a)
{
	struct job	*j = job_new(JOB_ANALYSIS);

	j->analysis = a;
	store_enqueue(st, j);
}

void
store_txn(struct store *st, struct txn_rec *txn)
{
	struct job	*j;

	/* Out of memory here would leave a session waiting for ever. */
	if ((j = calloc(1, sizeof(*j))) == NULL)
		fatalx("store: transaction: %s", strerror(errno));
	j->type = JOB_TXN;
	j->conn_id = txn->conn_id;
	j->txn = txn;
	store_enqueue(st, j);
}

static void
store_sync_only(const struct store *st, const char *fn)
{
	if (st->running)
		fatalx("%s: the writer thread owns the database", fn);
}

void
store_set_config(struct store *st, const struct config *cfg)
{
	store_sync_only(st, __func__);
	st->cfg = cfg;
	st->attr_window = (double)cfg->attribution_window_ms / 1000.0;
}

int
store_test_create(struct store *st, const char *id, double now)
{
	sqlite3_stmt		*s = st->stmt[ST_TEST_CREATE];
	const struct src	 src[] = { SRC(id_col, &id),
				    SRC(created_col, &now) };
	int			 rc;

	store_sync_only(st, __func__);
	if ((rc = stmt_run(s, src, NELEM(src))) != SQLITE_DONE)
		log_warn("store: test %s: %s", id, sqlite3_errmsg(st->db));
	stmt_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* 1 if the test exists, 0 if not, -1 on error. */
int
store_test_exists(struct store *st, const char *id)
{
	sqlite3_stmt		*s = st->stmt[ST_TEST_EXISTS];
	const struct src	 src[] = { SRC(id_col, &id) };
	int			 rc;

	store_sync_only(st, __func__);
	rc = stmt_run(s, src, NELEM(src));
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		log_warn("store: test %s: %s", id, sqlite3_errmsg(st->db));
	stmt_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_test_transactions(struct store *st, const char *id, unsigned *n)
{
	sqlite3_stmt		*s = st->stmt[ST_TEST_TXNS];
	const struct src	 src[] = { SRC(id_col, &id) };
	int			 rc;

	if ((rc = store_test_exists(st, id)) != 1)
		return rc;
	if ((rc = stmt_run(s, src, NELEM(src))) == SQLITE_ROW)
		*n = (unsigned)sqlite3_column_int64(s, 0);
	else
		log_warn("store: test %s: %s", id, sqlite3_errmsg(st->db));
	stmt_reset(s);
	return rc == SQLITE_ROW ? 1 : -1;
}

int
store_challenges(struct store *st, const struct challenge_rec *rows,
    size_t n)
{
	sqlite3_stmt	*s = st->stmt[ST_CHALLENGE];
	size_t		 i;
	int		 rc = SQLITE_DONE;

	store_sync_only(st, __func__);
	if (store_step(st, ST_BEGIN) == -1)
		goto fail;
	if (store_step(st, ST_CHALLENGES_CLEAR) == -1)
		goto rollback;
	for (i = 0; i < n && rc == SQLITE_DONE; i++) {
		const struct src src[] = { SRC(challenge_cols, &rows[i]) };

		rc = stmt_run(s, src, NELEM(src));
		stmt_reset(s);
	}
	if (rc != SQLITE_DONE || store_step(st, ST_COMMIT) == -1)
		goto rollback;
	return 0;

 rollback:
	log_warn("store: challenges: %s", sqlite3_errmsg(st->db));
	(void)store_step(st, ST_ROLLBACK);
	return -1;
 fail:
	log_warn("store: challenges: %s", sqlite3_errmsg(st->db));
	return -1;
}

int
store_greylist_load(struct store *st,
    void (*cb)(const struct grey_entry *, void *), void *arg)
{
	sqlite3_stmt		*s = st->stmt[ST_GREY_LOAD];
	struct grey_entry	 e;
	int			 rc;

	store_sync_only(st, __func__);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		e.mail_from = (char *)sqlite3_column_text(s, 0);
		e.rcpt = (char *)sqlite3_column_text(s, 1);
		e.test_id = (char *)sqlite3_column_text(s, 2);
		e.first_seen = sqlite3_column_double(s, 3);
		e.last_seen = sqlite3_column_double(s, 4);
		e.attempts = (unsigned)sqlite3_column_int64(s, 5);
		e.passed = sqlite3_column_double(s, 6);
		if (e.mail_from != NULL && e.rcpt != NULL)
			cb(&e, arg);
	}
	if (rc != SQLITE_DONE)
		log_warn("store: greylist load: %s", sqlite3_errmsg(st->db));
	(void)sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_tlsrpt_unparsed(struct store *st, size_t max, size_t max_bytes,
    void (*cb)(struct txn_rec *, void *), void *arg)
{
	sqlite3_stmt		*s = st->stmt[ST_TLSRPT_UNPARSED];
	const struct src	 src[] = { SRC(max_col, &max),
				    SRC(max_bytes_col, &max_bytes) };
	struct txn_rec		*t;
	int64_t			 waiting = 0;
	size_t			 n = 0, len;
	int			 rc;

	store_sync_only(st, __func__);
	for (rc = stmt_run(s, src, NELEM(src)); rc == SQLITE_ROW;
	    rc = sqlite3_step(s)) {
		len = (size_t)sqlite3_column_bytes(s, 2);
		if ((t = calloc(1, sizeof(*t))) == NULL ||
		    (len > 0 && (t->message = malloc(len)) == NULL))
			fatalx("store: unparsed reports: %s", strerror(errno));
		if (len > 0)
			memcpy(t->message, sqlite3_column_blob(s, 2), len);
		t->message_len = t->size = len;
		t->id = sqlite3_column_int64(s, 0);
		t->conn_id = sqlite3_column_int64(s, 1);
		t->report_kind = "tlsrpt";
		waiting = sqlite3_column_int64(s, 3);
		n++;
		cb(t, arg);
	}
	if (rc != SQLITE_DONE)
		log_warn("store: unparsed reports: %s", sqlite3_errmsg(st->db));
	stmt_reset(s);
	if (n > 0)
		log_info("store: %" PRId64 " TLS-RPT reports stored unparsed: "
		    "%zu queued for parsing now", waiting, n);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * The highest connection id stored in any table, 0 for none, -1 (logged)
 * when it cannot be read: a value that is not an integer counts as
 * unreadable, as reading it as 0 would let new ids repeat stored ones.
 */
int64_t
store_last_connection_id(struct store *st)
{
	sqlite3_stmt	*s = st->stmt[ST_LAST_CONN];
	int64_t		 id = -1;

	store_sync_only(st, __func__);
	if (sqlite3_step(s) != SQLITE_ROW)
		log_warn("store: last connection id: %s",
		    sqlite3_errmsg(st->db));
	else if (sqlite3_column_type(s, 0) != SQLITE_INTEGER)
		log_warn("store: last connection id: a stored connection id "
		    "is not an integer (connections.id, "
		    "transactions.connection_id, "
		    "greylist_attempts.connection_id)");
	else
		id = sqlite3_column_int64(s, 0);
	(void)sqlite3_reset(s);
	return id;
}

/*
 * On the thread that started the writer, after its event loop ended and
 * before the event base is freed.  Results not yet delivered are dropped.
 */
void
store_close(struct store *st)
{
	struct jobq	 batch = STAILQ_HEAD_INITIALIZER(batch);
	struct jobq	 retry = STAILQ_HEAD_INITIALIZER(retry);
	int		 i;

	if (st == NULL)
		return;
	if (st->running) {
		pthread_mutex_lock(&st->mtx);
		st->stopping = 1;
		pthread_cond_signal(&st->cond);
		pthread_mutex_unlock(&st->mtx);
		pthread_join(st->writer, NULL);
		st->running = 0;
	} else {
		/* Queued, never started: flush here, nobody to report to. */
		while (!store_idle(st)) {
			store_take(st, &batch);
			(void)store_batch(st, &batch, &retry);
			store_batch_report(st, &batch);
			store_requeue(st, &retry);
		}
	}
	if (st->done_ev != NULL)
		event_free(st->done_ev);
	jobq_free(&st->jobs);
	jobq_free(&st->bulk);
	jobq_free(&st->done);
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	/* Also checkpoints the WAL into the database file. */
	if (st->db != NULL && sqlite3_close(st->db) != SQLITE_OK)
		log_warn("store: close: %s", sqlite3_errmsg(st->db));
	pthread_cond_destroy(&st->cond);
	pthread_mutex_destroy(&st->mtx);
	free(st);
}
