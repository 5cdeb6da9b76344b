/*
 * msbench: an SMTP load generator for mailscope's benchmarks, on
 * libevent and OpenSSL.  N sessions, M messages each, optional STARTTLS
 * (RFC 3207), pipelining (RFC 2920), connection reuse, a rate cap; or
 * implicit-TLS handshakes only; or idle connections held open.  Loopback
 * targets only.  Options, the run and its end; one thread.
 */
#include "build.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "msbench.h"

#define DEF_TIMEOUT_MS		30000
#define DEF_INFLIGHT		256
#define DEF_SIZE		2048
#define HEADER_ESTIMATE		230	/* the header send_message() writes */
#define BODY_LINE		76	/* characters of a body line */

static void
usage(void)
{
	fprintf(stderr,
"usage: msbench [options] ADDR:PORT      (ADDR in 127.0.0.0/8, or [::1])\n"
"  -c, --sessions N       concurrent sessions (1)\n"
"  -m, --messages N       messages per session (1); handshakes in --handshake\n"
"  -s, --size SPEC        bytes, or SIZE:WEIGHT,... (k = 1024) (2048)\n"
"  -f, --from ADDR        MAIL FROM (msbench@localhost)\n"
"  -t, --rcpt ADDR        RCPT TO, e.g. a test address of mailscope\n"
"      --ehlo NAME        (msbench.localhost)\n"
"      --no-pipelining    one command a write (default: RFC 2920 groups)\n"
"      --no-reuse         a new connection for every message\n"
"      --rate R           at most R messages (or handshakes) a second\n"
"      --starttls         STARTTLS before the transactions\n"
"      --tls-version V    1.2 or 1.3 (default: what both sides offer)\n"
"      --groups LIST      key exchange groups, e.g. X25519\n"
"      --ciphers LIST     TLS 1.2 cipher list, e.g. ECDHE-RSA-AES128-GCM-SHA256\n"
"      --ciphersuites L   TLS 1.3 suites\n"
"      --sigalgs LIST     e.g. ecdsa_secp256r1_sha256 (picks the ECDSA cert)\n"
"      --sni NAME         server name indication\n"
"      --resume           resume each session's TLS session\n"
"      --handshake        implicit TLS: connect, handshake, close (M per session)\n"
"      --idle             connect, greet, hold; print a ready line; close at\n"
"                         SIGTERM/SIGINT or after --hold seconds\n"
"      --idle-ehlo        idle: send EHLO before holding\n"
"      --hold S           idle: seconds to hold (0: until a signal)\n"
"      --source LIST      bind to these local addresses in turn:\n"
"                         A,B,... or 127.0.2.1-200 (the last octet's range)\n"
"      --inflight N       connections being set up at most (256)\n"
"      --timeout MS       every read and write (30000)\n"
"      --duration S       stop starting messages after S seconds; the rest\n"
"                         are unsent, and not an error\n"
"      --json PATH        the result as one JSON object (- for stdout)\n"
"      --label TEXT       a name for the run, in the result\n"
"  -v                     more output (-vv: every state change)\n"
"Exit: 0 every planned message (handshake, connection) ok, or with\n"
"--duration none refused or failed; 1 not; 2 usage.\n");
	exit(2);
}

double
msb_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what, const char *arg)
{
	fprintf(stderr, "msbench: %s%s%s\n", what, arg ? ": " : "",
	    arg ? arg : "");
	exit(2);
}

/*
 * ADDR (no port) as a loopback address: 127.0.0.0/8 or ::1, nothing else.
 * A benchmark aimed at another machine is a flood: refuse it here.
 */
static int
loopback_addr(const char *addr, in_port_t port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return -1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

static unsigned long
number(const char *s, unsigned long min, unsigned long max, const char *what)
{
	char		*end;
	unsigned long	 v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max ||
	    *s == '-')
		die(what, s);
	return v;
}

static void
parse_target(struct msb_options *o, const char *arg)
{
	char		 host[64];
	const char	*colon;
	size_t		 hl;
	unsigned long	 port;

	if (arg[0] == '[') {
		colon = strstr(arg, "]:");
		if (colon == NULL)
			die("target: [ADDR]:PORT", arg);
		hl = (size_t)(colon - arg - 1);
		if (hl >= sizeof(host))
			die("target", arg);
		memcpy(host, arg + 1, hl);
		colon++;
	} else {
		colon = strrchr(arg, ':');
		if (colon == NULL || (hl = (size_t)(colon - arg)) >= sizeof(host))
			die("target: ADDR:PORT", arg);
		memcpy(host, arg, hl);
	}
	host[hl] = '\0';
	port = number(colon + 1, 1, 65535, "target port");
	if (loopback_addr(host, (in_port_t)port, &o->target,
	    &o->target_len) == -1)
		die("refused: the target must be a loopback address "
		    "(127.0.0.0/8 or ::1)", arg);
	(void)snprintf(o->target_text, sizeof(o->target_text), "%s", arg);
}

static void
add_source(struct msb_options *o, const char *addr)
{
	if (o->nsources == MSB_SOURCES_MAX)
		die("too many --source addresses", addr);
	if (loopback_addr(addr, 0, &o->sources[o->nsources],
	    &o->source_lens[o->nsources]) == -1)
		die("--source: a loopback address", addr);
	o->nsources++;
}

/* A,B,... each an address or A.B.C.N-M (a range of the last octet). */
static void
parse_sources(struct msb_options *o, char *arg)
{
	char		*tok, *dash, *dot, addr[64];
	unsigned long	 lo, hi, i;

	for (tok = strtok(arg, ","); tok != NULL; tok = strtok(NULL, ",")) {
		dash = strchr(tok, '-');
		dot = strrchr(tok, '.');
		if (dash == NULL || dot == NULL || dot > dash) {
			add_source(o, tok);
			continue;
		}
		*dash = '\0';
		lo = number(dot + 1, 0, 255, "--source range");
		hi = number(dash + 1, lo, 255, "--source range");
		for (i = lo; i <= hi; i++) {
			(void)snprintf(addr, sizeof(addr), "%.*s.%lu",
			    (int)(dot - tok), tok, i);
			add_source(o, addr);
		}
	}
}

static size_t
parse_size(const char *s)
{
	char		*end;
	unsigned long	 v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *s == '-')
		die("--size", s);
	if (*end == 'k' || *end == 'K') {
		v *= 1024;
		end++;
	}
	if (*end != '\0' && *end != ':')
		die("--size", s);
	if (v < 512 || v > 64UL * 1024 * 1024)
		die("--size: from 512 bytes to 64 MiB", s);
	return v;
}

/* The body of SIZE: lines of printable text to fill it, none with '.'. */
static void
make_body(struct msb_size *z)
{
	size_t	len, i = 0, n, k;

	len = z->size > HEADER_ESTIMATE + 4 ? z->size - HEADER_ESTIMATE : 4;
	if ((z->body = malloc(len)) == NULL)
		die("out of memory", NULL);
	while (i < len - 2) {
		n = len - 2 - i;
		if (n > BODY_LINE + 2)
			n = BODY_LINE;
		for (k = 0; k < n; k++)
			z->body[i + k] = (char)('a' + (i + k * 7) % 26);
		i += n;
		if (i < len - 2) {
			z->body[i++] = '\r';
			z->body[i++] = '\n';
		}
	}
	z->body[len - 2] = '\r';
	z->body[len - 1] = '\n';
	z->body_len = len;
}

static void
parse_sizes(struct msb_options *o, char *arg)
{
	char		*tok, *colon;
	struct msb_size	*z;

	o->nsizes = 0;
	o->weight_total = 0;
	for (tok = strtok(arg, ","); tok != NULL; tok = strtok(NULL, ",")) {
		if (o->nsizes == MSB_SIZES_MAX)
			die("--size: too many sizes", tok);
		z = &o->sizes[o->nsizes++];
		z->size = parse_size(tok);
		colon = strchr(tok, ':');
		z->weight = colon ? (unsigned)number(colon + 1, 1, 1000000,
		    "--size weight") : 1;
		o->weight_total += z->weight;
	}
	if (o->nsizes == 0)
		die("--size", "empty");
}

static void
copy_arg(char *dst, size_t len, const char *src, const char *what)
{
	const char	*p;

	for (p = src; *p != '\0'; p++)
		if (!isgraph((unsigned char)*p))
			die(what, "only printable characters, no spaces");
	if ((size_t)snprintf(dst, len, "%s", src) >= len)
		die(what, "too long");
}

enum {
	OPT_EHLO = 256, OPT_NO_PIPELINING, OPT_NO_REUSE, OPT_RATE,
	OPT_STARTTLS, OPT_TLS_VERSION, OPT_GROUPS, OPT_CIPHERS,
	OPT_CIPHERSUITES, OPT_SIGALGS, OPT_SNI, OPT_RESUME, OPT_HANDSHAKE,
	OPT_IDLE, OPT_IDLE_EHLO, OPT_HOLD, OPT_SOURCE, OPT_INFLIGHT,
	OPT_TIMEOUT, OPT_JSON, OPT_LABEL, OPT_DURATION,
};

static const struct option long_options[] = {
	{ "sessions", required_argument, NULL, 'c' },
	{ "messages", required_argument, NULL, 'm' },
	{ "size", required_argument, NULL, 's' },
	{ "from", required_argument, NULL, 'f' },
	{ "rcpt", required_argument, NULL, 't' },
	{ "ehlo", required_argument, NULL, OPT_EHLO },
	{ "no-pipelining", no_argument, NULL, OPT_NO_PIPELINING },
	{ "no-reuse", no_argument, NULL, OPT_NO_REUSE },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "starttls", no_argument, NULL, OPT_STARTTLS },
	{ "tls-version", required_argument, NULL, OPT_TLS_VERSION },
	{ "groups", required_argument, NULL, OPT_GROUPS },
	{ "ciphers", required_argument, NULL, OPT_CIPHERS },
	{ "ciphersuites", required_argument, NULL, OPT_CIPHERSUITES },
	{ "sigalgs", required_argument, NULL, OPT_SIGALGS },
	{ "sni", required_argument, NULL, OPT_SNI },
	{ "resume", no_argument, NULL, OPT_RESUME },
	{ "handshake", no_argument, NULL, OPT_HANDSHAKE },
	{ "idle", no_argument, NULL, OPT_IDLE },
	{ "idle-ehlo", no_argument, NULL, OPT_IDLE_EHLO },
	{ "hold", required_argument, NULL, OPT_HOLD },
	{ "source", required_argument, NULL, OPT_SOURCE },
	{ "inflight", required_argument, NULL, OPT_INFLIGHT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "json", required_argument, NULL, OPT_JSON },
	{ "label", required_argument, NULL, OPT_LABEL },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ NULL, 0, NULL, 0 },
};

static void
parse_options(struct msb_options *o, int argc, char **argv)
{
	char	 def_size[] = "2048";
	char	*end;
	int	 ch, rcpt = 0;

	memset(o, 0, sizeof(*o));
	o->sessions = 1;
	o->messages = 1;
	o->pipelining = 1;
	o->reuse = 1;
	o->timeout_ms = DEF_TIMEOUT_MS;
	o->connect_inflight = DEF_INFLIGHT;
	copy_arg(o->from, sizeof(o->from), "msbench@localhost", "--from");
	copy_arg(o->ehlo, sizeof(o->ehlo), "msbench.localhost", "--ehlo");
	parse_sizes(o, def_size);
	while ((ch = getopt_long(argc, argv, "c:m:s:f:t:v", long_options,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->sessions = (unsigned)number(optarg, 1, 100000,
			    "--sessions");
			break;
		case 'm':
			o->messages = (unsigned)number(optarg, 1, 100000000,
			    "--messages");
			break;
		case 's':
			parse_sizes(o, optarg);
			break;
		case 'f':
			copy_arg(o->from, sizeof(o->from), optarg, "--from");
			break;
		case 't':
			copy_arg(o->rcpt, sizeof(o->rcpt), optarg, "--rcpt");
			rcpt = 1;
			break;
		case 'v':
			o->verbose++;
			break;
		case OPT_EHLO:
			copy_arg(o->ehlo, sizeof(o->ehlo), optarg, "--ehlo");
			break;
		case OPT_NO_PIPELINING:
			o->pipelining = 0;
			break;
		case OPT_NO_REUSE:
			o->reuse = 0;
			break;
		case OPT_RATE:
			errno = 0;
			o->rate = strtod(optarg, &end);
			if (errno != 0 || *end != '\0' || !(o->rate > 0))
				die("--rate", optarg);
			break;
		case OPT_STARTTLS:
			o->starttls = 1;
			break;
		case OPT_TLS_VERSION:
			if (strcmp(optarg, "1.2") == 0)
				o->tls_version = TLS1_2_VERSION;
			else if (strcmp(optarg, "1.3") == 0)
				o->tls_version = TLS1_3_VERSION;
			else
				die("--tls-version: 1.2 or 1.3", optarg);
			break;
		case OPT_GROUPS:
			o->groups = optarg;
			break;
		case OPT_CIPHERS:
			o->ciphers = optarg;
			break;
		case OPT_CIPHERSUITES:
			o->ciphersuites = optarg;
			break;
		case OPT_SIGALGS:
			o->sigalgs = optarg;
			break;
		case OPT_SNI:
			o->sni = optarg;
			break;
		case OPT_RESUME:
			o->resume = 1;
			break;
		case OPT_HANDSHAKE:
			o->mode = MSB_MODE_HANDSHAKE;
			break;
		case OPT_IDLE:
			o->mode = MSB_MODE_IDLE;
			break;
		case OPT_IDLE_EHLO:
			o->idle_ehlo = 1;
			break;
		case OPT_HOLD:
			o->hold_s = (unsigned)number(optarg, 0, 86400, "--hold");
			break;
		case OPT_SOURCE:
			parse_sources(o, optarg);
			break;
		case OPT_INFLIGHT:
			o->connect_inflight = (unsigned)number(optarg, 1,
			    100000, "--inflight");
			break;
		case OPT_TIMEOUT:
			o->timeout_ms = (unsigned)number(optarg, 1, 3600000,
			    "--timeout");
			break;
		case OPT_JSON:
			o->json = optarg;
			break;
		case OPT_LABEL:
			o->label = optarg;
			break;
		case OPT_DURATION:
			o->duration_s = (unsigned)number(optarg, 1, 86400,
			    "--duration");
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1)
		usage();
	parse_target(o, argv[optind]);
	if (o->mode == MSB_MODE_MAIL && !rcpt)
		die("--rcpt is required (a test address of mailscope, or any "
		    "address a sink takes)", NULL);
	if (o->mode == MSB_MODE_IDLE && o->starttls)
		die("--idle holds plaintext lines; no --starttls", NULL);
	if (o->mode == MSB_MODE_HANDSHAKE && o->starttls)
		die("--handshake is implicit TLS; no --starttls", NULL);
}

static SSL_CTX *
tls_context(const struct msb_options *o)
{
	SSL_CTX	*ctx;

	if (!o->starttls && o->mode != MSB_MODE_HANDSHAKE)
		return NULL;
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		die("SSL_CTX_new failed", NULL);
	/* a benchmark of the server's work: no verification on our side */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (o->tls_version != 0 &&
	    (!SSL_CTX_set_min_proto_version(ctx, o->tls_version) ||
	    !SSL_CTX_set_max_proto_version(ctx, o->tls_version)))
		die("--tls-version not supported", NULL);
	if (o->groups != NULL && !SSL_CTX_set1_groups_list(ctx, o->groups))
		die("--groups", o->groups);
	if (o->ciphers != NULL && !SSL_CTX_set_cipher_list(ctx, o->ciphers))
		die("--ciphers", o->ciphers);
	if (o->ciphersuites != NULL &&
	    !SSL_CTX_set_ciphersuites(ctx, o->ciphersuites))
		die("--ciphersuites", o->ciphersuites);
	if (o->sigalgs != NULL && !SSL_CTX_set1_sigalgs_list(ctx, o->sigalgs))
		die("--sigalgs", o->sigalgs);
	if (!o->resume)
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	msb_session_tls_setup(ctx);
	return ctx;
}

/* Up to the hard limit of open files: every session holds one. */
static void
raise_file_limit(const struct msb_options *o)
{
	struct rlimit	rl;
	rlim_t		want = (rlim_t)o->sessions + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < want)
		fprintf(stderr, "msbench: warning: %u sessions, but at most "
		    "%llu open files\n", o->sessions,
		    (unsigned long long)rl.rlim_cur);
}

static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct msb_run	*run = arg;

	(void)fd;
	(void)what;
	msb_run_kick(run);
}

/* Start sessions while fewer than --inflight are being set up. */
void
msb_run_kick(struct msb_run *run)
{
	const struct msb_options	*o = run->opt;

	while (run->started < o->sessions && !run->stopping &&
	    run->started - run->greeted < o->connect_inflight)
		msb_session_start(run->sessions[run->started++]);
}

static void
say_ready(struct msb_run *run)
{
	printf("{\"event\":\"ready\",\"held\":%llu,\"failed\":%llu,"
	    "\"seconds\":%.3f}\n", (unsigned long long)run->c.held,
	    (unsigned long long)(run->opt->sessions - run->c.held),
	    msb_now() - run->t_start);
	fflush(stdout);
	run->ready_said = 1;
}

/* A session's first connection settled: start more (from the loop). */
void
msb_run_progress(struct msb_run *run)
{
	run->greeted++;
	if (run->opt->mode == MSB_MODE_IDLE && !run->ready_said &&
	    run->greeted == run->opt->sessions)
		say_ready(run);
	if (run->started < run->opt->sessions)
		event_active(run->kick_ev, EV_TIMEOUT, 0);
}

void
msb_run_session_ended(struct msb_run *run)
{
	if (--run->active == 0) {
		run->t_end = msb_now();
		event_base_loopexit(run->base, NULL);
	}
}

/* Idle mode: close every held line (the loop ends when all are done). */
static void
close_all(struct msb_run *run)
{
	unsigned	i;

	run->stopping = 1;
	run->t_end = msb_now();
	for (i = 0; i < run->started; i++)
		msb_session_close(run->sessions[i]);
	/* never started: nothing to close, but they count as ended */
	for (; i < run->opt->sessions; i++)
		msb_run_session_ended(run);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct msb_run	*run = arg;

	(void)what;
	if (run->stopping) {
		/* the second signal: now */
		fprintf(stderr, "msbench: signal %d again, stopping now\n",
		    (int)sig);
		run->t_end = msb_now();
		event_base_loopbreak(run->base);
		return;
	}
	if (run->opt->mode == MSB_MODE_IDLE)
		close_all(run);
	else
		run->stopping = 1;	/* sessions end after their message */
}

/* --hold (idle) or --duration (mail, handshakes) is over. */
static void
hold_cb(evutil_socket_t fd, short what, void *arg)
{
	struct msb_run	*run = arg;

	(void)fd;
	(void)what;
	if (run->opt->mode == MSB_MODE_IDLE) {
		close_all(run);
		return;
	}
	/* sessions end after the message under way */
	run->timed_out = 1;
	run->stopping = 1;
}

static int
write_json(const struct msb_run *run)
{
	FILE	*fp;
	int	 r;

	if (run->opt->json == NULL)
		return 0;
	if (strcmp(run->opt->json, "-") == 0)
		return msb_stats_json(run, stdout);
	if ((fp = fopen(run->opt->json, "w")) == NULL) {
		perror(run->opt->json);
		return -1;
	}
	r = msb_stats_json(run, fp);
	if (fclose(fp) != 0)
		r = -1;
	return r;
}

int
main(int argc, char **argv)
{
	struct msb_options	 o;
	struct msb_run		 run;
	struct event		*sigint, *sigterm, *hold = NULL;
	struct timeval		 tv;
	unsigned		 i;
	int			 ok;

	parse_options(&o, argc, argv);
	for (i = 0; i < o.nsizes; i++)
		make_body(&o.sizes[i]);
	signal(SIGPIPE, SIG_IGN);
	raise_file_limit(&o);
	srandom((unsigned)getpid() ^ (unsigned)time(NULL));

	memset(&run, 0, sizeof(run));
	run.opt = &o;
	run.run_id = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();
	if ((run.base = event_base_new()) == NULL ||
	    (run.stats = msb_stats_new()) == NULL ||
	    (run.kick_ev = event_new(run.base, -1, 0, kick_cb, &run)) == NULL ||
	    (run.sessions = calloc(o.sessions, sizeof(*run.sessions))) == NULL)
		die("out of memory", NULL);
	run.ssl_ctx = tls_context(&o);
	for (i = 0; i < o.sessions; i++)
		if ((run.sessions[i] = msb_session_new(&run, i)) == NULL)
			die("out of memory", NULL);
	run.active = o.sessions;
	run.c.planned = o.mode == MSB_MODE_IDLE ? o.sessions :
	    (uint64_t)o.sessions * o.messages;
	sigint = evsignal_new(run.base, SIGINT, signal_cb, &run);
	sigterm = evsignal_new(run.base, SIGTERM, signal_cb, &run);
	if (sigint == NULL || sigterm == NULL || evsignal_add(sigint, NULL) ||
	    evsignal_add(sigterm, NULL))
		die("signals", NULL);
	if ((o.mode == MSB_MODE_IDLE && o.hold_s > 0) ||
	    (o.mode != MSB_MODE_IDLE && o.duration_s > 0)) {
		if ((hold = evtimer_new(run.base, hold_cb, &run)) == NULL)
			die("out of memory", NULL);
		tv.tv_sec = o.mode == MSB_MODE_IDLE ? o.hold_s : o.duration_s;
		tv.tv_usec = 0;
		evtimer_add(hold, &tv);
	}

	run.t_start = run.next_slot = msb_now();
	msb_run_kick(&run);
	event_base_dispatch(run.base);
	if (run.t_end == 0)
		run.t_end = msb_now();

	msb_stats_print(&run, stderr);
	if (write_json(&run) == -1)
		ok = 0;
	else if (o.mode == MSB_MODE_IDLE)
		ok = run.c.held == o.sessions && run.c.closed_early == 0;
	else if (run.timed_out)
		ok = run.c.ok > 0 && run.c.refused == 0 && run.c.failed == 0;
	else
		ok = run.c.ok == run.c.planned;

	for (i = 0; i < o.sessions; i++)
		msb_session_free(run.sessions[i]);
	free(run.sessions);
	if (hold != NULL)
		event_free(hold);
	event_free(sigint);
	event_free(sigterm);
	event_free(run.kick_ev);
	msb_stats_free(run.stats);
	SSL_CTX_free(run.ssl_ctx);
	event_base_free(run.base);
	for (i = 0; i < o.nsizes; i++)
		free(o.sizes[i].body);
	return ok ? 0 : 1;
}
