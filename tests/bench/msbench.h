/*
 * msbench: the SMTP load generator of the benchmarks (tests/bench/).
 * What its three files share: the options, the run (event base, TLS
 * context, pacing, counters) and the entry points of the session and
 * statistics modules.  One thread: everything runs on the event loop.
 */
#ifndef MSBENCH_H
#define MSBENCH_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#define MSB_SIZES_MAX		16	/* sizes of a --size distribution */
#define MSB_SOURCES_MAX		1024	/* --source addresses */
#define MSB_ADDR_MAX		256	/* --from, --rcpt, --ehlo */

/* What a session does with its connections. */
enum msb_mode {
	MSB_MODE_MAIL,		/* SMTP transactions */
	MSB_MODE_HANDSHAKE,	/* implicit TLS: connect, handshake, close */
	MSB_MODE_IDLE,		/* greeting (and EHLO), then hold the line */
};

/* Where a message failed; the rows of the error table. */
enum msb_stage {
	MSB_STAGE_CONNECT,
	MSB_STAGE_GREETING,
	MSB_STAGE_EHLO,
	MSB_STAGE_STARTTLS,
	MSB_STAGE_TLS,
	MSB_STAGE_MAIL,
	MSB_STAGE_RCPT,
	MSB_STAGE_DATA,
	MSB_STAGE_DOT,
	MSB_STAGE_COUNT
};

/* One size of the message size distribution, with its weight. */
struct msb_size {
	size_t		 size;
	unsigned	 weight;
	char		*body;		/* owned: the body lines, CRLF */
	size_t		 body_len;
};

struct msb_options {
	struct sockaddr_storage	 target;
	socklen_t		 target_len;
	char			 target_text[64];
	struct sockaddr_storage	 sources[MSB_SOURCES_MAX];
	socklen_t		 source_lens[MSB_SOURCES_MAX];
	size_t			 nsources;
	enum msb_mode		 mode;
	unsigned		 sessions;
	unsigned		 messages;	/* per session */
	struct msb_size		 sizes[MSB_SIZES_MAX];
	size_t			 nsizes;
	unsigned		 weight_total;
	int			 pipelining;	/* when the server offers it */
	int			 reuse;		/* messages share a connection */
	int			 starttls;
	int			 resume;	/* TLS session resumption */
	int			 tls_version;	/* 0, TLS1_2_VERSION, ... */
	const char		*groups;	/* borrowed from argv */
	const char		*ciphers;	/* TLS 1.2 and below */
	const char		*ciphersuites;	/* TLS 1.3 */
	const char		*sigalgs;
	const char		*sni;
	double			 rate;		/* messages/s in all; 0: none */
	unsigned		 timeout_ms;
	unsigned		 hold_s;	/* idle: 0 = until a signal */
	unsigned		 duration_s;	/* 0: until every message is sent */
	int			 idle_ehlo;
	unsigned		 connect_inflight; /* connects under way, max */
	char			 from[MSB_ADDR_MAX];
	char			 rcpt[MSB_ADDR_MAX];
	char			 ehlo[MSB_ADDR_MAX];
	const char		*json;		/* a path, "-" for stdout */
	const char		*label;
	int			 verbose;
};

/* Counters: every planned message ends in exactly one of them. */
struct msb_counts {
	uint64_t	planned;
	uint64_t	ok;		/* 250 after the final dot */
	uint64_t	refused;	/* a 4xx/5xx reply ended it */
	uint64_t	failed;		/* the connection ended it */
	uint64_t	unsent;		/* its session gave up before it */
	uint64_t	connections;	/* connected */
	uint64_t	connect_failed;
	uint64_t	handshakes;
	uint64_t	resumed;
	uint64_t	closed_early;	/* idle: the server closed a held line */
	uint64_t	held;		/* idle: lines greeted and held */
	uint64_t	bytes_out;
};

struct msb_stats;
struct msb_session;

/* The run: owns the sessions, the TLS context and the statistics. */
struct msb_run {
	const struct msb_options *opt;		/* borrowed from main */
	struct event_base	*base;
	SSL_CTX			*ssl_ctx;	/* owned; NULL without TLS */
	struct msb_session	**sessions;	/* owned */
	unsigned		 active;	/* sessions not done */
	struct msb_counts	 c;
	struct msb_stats	*stats;		/* owned */
	double			 t_start;	/* monotonic seconds */
	double			 t_end;
	double			 next_slot;	/* --rate: next message start */
	unsigned		 inflight;	/* connects under way */
	size_t			 next_source;
	uint64_t		 run_id;	/* in every message's header */
	unsigned		 started;	/* sessions started so far */
	unsigned		 greeted;	/* first connection settled */
	int			 ready_said;	/* idle: the ready line */
	struct event		*kick_ev;	/* owned: start more sessions */
	int			 stopping;
	int			 timed_out;	/* --duration ended the run */
};

/* msbench.c */
void		 msb_run_kick(struct msb_run *);	/* start sessions */
void		 msb_run_progress(struct msb_run *);	/* one was greeted */
void		 msb_run_session_ended(struct msb_run *);
double		 msb_now(void);

/* msb_session.c */
struct msb_session *msb_session_new(struct msb_run *, unsigned);
void		 msb_session_start(struct msb_session *);
void		 msb_session_close(struct msb_session *);	/* idle: done */
void		 msb_session_free(struct msb_session *);
void		 msb_session_tls_setup(SSL_CTX *);

/* msb_stats.c */
struct msb_stats *msb_stats_new(void);
void		 msb_stats_free(struct msb_stats *);
int		 msb_stats_latency(struct msb_stats *, double);
void		 msb_stats_error(struct msb_stats *, enum msb_stage, int);
void		 msb_stats_print(const struct msb_run *, FILE *);
int		 msb_stats_json(const struct msb_run *, FILE *);

#endif /* MSBENCH_H */
