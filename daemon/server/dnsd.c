/*
 * The UDP and TCP server of dns.<base> and of the zones of [dns] zones on
 * the event loop thread: their files read at the start, sockets, the TCP
 * framing, the limits per connection and per client address, the rate
 * limit of UDP answers per client /24 or /56 and in total, that of stored
 * rows per prefix, and every query logged and stored; the answers are
 * dns_answer.c's.
 * RFC 1035 4.2.1 (UDP), 4.2.2 (TCP), RFC 7766 (DNS over TCP).
 */
#include "build.h"

#include <sys/queue.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "catalog.h"
#include "clock.h"
#include "config.h"
#include "connlimit.h"
#include "dns_answer.h"
#include "dnsd.h"
#include "listener.h"
#include "log.h"
#include "netaddr.h"
#include "records.h"
#include "store.h"

#define DNSD_UDP_BATCH		64	/* datagrams per read event */
#define DNSD_TCP_TIMEOUT_MAX_MS	10000	/* idle TCP, RFC 7766 6.2.3 */
#define DNSD_TCP_QUERIES_MAX	1000	/* per connection */
/* answers queued on a connection before reading stops */
#define DNSD_TCP_OUT_MAX	(4 * (DNS_ANSWER_MSG_MAX + 2))
#define DNSD_MALFORMED_LOG_S	1.0	/* at most one line a second */
/*
 * The rate limit (NSD's RRL is the model): clients are followed by
 * prefix, /24 for IPv4 and /56 for IPv6 (one site), in a table of
 * DNSD_RRL_SLOTS; two prefixes on one slot share it, the newer wins.
 */
#define DNSD_RRL_SLOTS		16384
#define DNSD_RRL_V4_BYTES	3	/* /24 */
#define DNSD_RRL_V6_BYTES	7	/* /56 */
#define DNSD_RRL_LOG_S		1.0	/* at most one line a second */
#define DNSD_RRL_SUMMARY_S	1.0	/* a prefix silent this long: summary */

/* The explicit states of a TCP connection's framing (RFC 1035 4.2.2). */
enum tcp_state {
	TCP_LENGTH,	/* waiting for the two-byte length */
	TCP_MESSAGE,	/* waiting for the rest of a message */
	TCP_CLOSING,	/* answers queued, closing once they are sent */
	TCP_NSTATES
};

static const char *const tcp_state_names[TCP_NSTATES] = {
	"length", "message", "closing"
};

struct dnsd_udp {
	struct dnsd		*d;		/* borrowed: the owner */
	const struct listen_addr *la;		/* borrowed from the config */
	evutil_socket_t		 fd;		/* owned */
	struct event		*ev;		/* owned */
};

struct dnsd_tcpl {
	struct dnsd		*d;		/* borrowed: the owner */
	const struct listen_addr *la;		/* borrowed from the config */
	struct evconnlistener	*lev;		/* owned, owns its socket */
};

struct tcp_conn {
	TAILQ_ENTRY(tcp_conn)	 entry;
	struct dnsd		*d;		/* borrowed */
	const struct listen_addr *la;		/* borrowed from the config */
	struct bufferevent	*bev;		/* owned, owns the fd */
	enum tcp_state		 state;
	size_t			 msglen;	/* of the message being read */
	unsigned		 queries;
	int			 read_paused;	/* output was too long */
	unsigned long long	 id;
	struct sockaddr_storage	 ss;		/* the client */
	char			 client[INET6_ADDRSTRLEN];	/* its address */
	int			 port;
	int			 family;	/* 4 or 6 */
};

TAILQ_HEAD(tcp_conn_list, tcp_conn);

/*
 * One client prefix: token buckets of UDP answers ([dns] rrl_rate a
 * second) and of stored rows ([dns] record_rate), each holding one second
 * of its rate, and what it was not given.
 */
struct rrl_slot {
	uint8_t			 key[1 + DNSD_RRL_V6_BYTES];	/* 0: free */
	double			 answers;	/* tokens */
	double			 rows;		/* tokens */
	double			 last;		/* its last query */
	unsigned long		 limited;	/* answers over the rate */
	unsigned		 unrecorded;	/* queries since its last row */
	unsigned		 dropped;	/* of those, not answered */
	struct sockaddr_storage	 ss;		/* its last client */
	const struct listen_addr *la;		/* which it asked */
	int			 tcp;		/* how */
};

/* The server.  Owns the zone, sockets, connections and buffers. */
struct dnsd {
	struct event_base	*base;		/* borrowed */
	const struct config	*cfg;		/* borrowed */
	struct store		*store;		/* borrowed; NULL: not yet */
	struct dns_answer_zone	*zone;		/* owned */
	struct dnsd_udp		*udp;		/* owned array */
	size_t			 nudp;
	struct dnsd_tcpl	*tcpl;		/* owned array */
	size_t			 ntcpl;
	struct tcp_conn_list	 conns;
	struct connlimit	*limit;		/* owned: the connections */
	unsigned long long	 last_conn;
	struct timeval		 tcp_timeout;
	uint8_t			*inbuf;		/* owned, DNS_ANSWER_MSG_MAX */
	uint8_t			*outbuf;	/* owned, DNS_ANSWER_MSG_MAX */
	unsigned long		 malformed;	/* since the start */
	unsigned long		 malformed_unlogged;
	double			 malformed_logged;	/* last line's time */
	struct rrl_slot		*rrl;		/* owned: DNSD_RRL_SLOTS */
	uint32_t		 rrl_seed;	/* of the slots' hash */
	struct event		*rrl_timer;	/* owned: summaries */
	double			 rrl_total;	/* tokens: rrl_total a second */
	double			 rrl_total_last;	/* its last refill */
	unsigned long		 rrl_dropped, rrl_slipped, unrecorded;
	unsigned long		 rrl_dropped_unlogged, rrl_slipped_unlogged;
	unsigned long		 rrl_over_total;	/* limited by rrl_total */
	unsigned long		 rrl_over_total_unlogged;
	double			 rrl_logged;	/* last line's time */
	int			 stopping;
};

/* Logs and stores REC (then cleared); malformed packets rate-limited. */
static void
record(struct dnsd *d, struct dnsq_rec *rec)
{
	char qname[DNS_ANSWER_QNAME_MAX];
	double t = rec->time;

	if (rec->rcode < 0) {
		d->malformed++;
		d->malformed_unlogged++;
		if (t - d->malformed_logged >= DNSD_MALFORMED_LOG_S) {
			log_info("dns: dropped %lu malformed packet%s, the "
			    "last from %s port %d transport=%s error=\"%s\"",
			    d->malformed_unlogged,
			    d->malformed_unlogged == 1 ? "" : "s",
			    rec->client_addr, rec->client_port, rec->transport,
			    rec->error != NULL ? rec->error : "?");
			d->malformed_unlogged = 0;
			d->malformed_logged = t;
		}
	} else {
		/* a label may hold ' ' or '"': escaped, no forged field */
		if (rec->qname != NULL)
			log_field_escaped(qname, sizeof(qname), rec->qname);
		log_debug("dns: query from %s port %d transport=%s qname=%s "
		    "qtype=%d qclass=%d edns=%d do=%d rcode=%s tc=%d "
		    "minimised=%d", rec->client_addr, rec->client_port,
		    rec->transport, rec->qname != NULL ? qname : "-",
		    rec->qtype, rec->qclass, rec->edns, rec->do_bit,
		    dns_answer_rcode_name(rec->rcode), rec->truncated,
		    rec->minimised);
	}
	if (d->store != NULL)
		store_dns_query(d->store, rec);
	records_dnsq_clear(rec);
}

/* Fills REC's client fields from SS. */
static void
rec_client(struct dnsq_rec *rec, const struct listen_addr *la,
    const struct sockaddr_storage *ss, int tcp, char *client, size_t len)
{
	rec->local_addr = (char *)la->text;
	netaddr_text((const struct sockaddr *)ss, client, len,
	    &rec->client_port, &rec->family);
	rec->client_addr = client;
	rec->transport = tcp ? "tcp" : "udp";
}

/*
 * The summary row of slot E: its queries without a row of their own
 * since its last row, then none pending.
 */
static void
rrl_summary(struct dnsd *d, struct rrl_slot *e, double now)
{
	struct dnsq_rec rec;
	char client[INET6_ADDRSTRLEN];

	if (e->unrecorded == 0)
		return;
	memset(&rec, 0, sizeof(rec));
	rec.time = now;
	rec_client(&rec, e->la, &e->ss, e->tcp, client, sizeof(client));
	rec.rcode = -1;
	rec.rrl = "summary";
	rec.unrecorded = e->unrecorded;
	rec.rrl_dropped = e->dropped;
	if (d->store != NULL)
		store_dns_query(d->store, &rec);
	e->unrecorded = e->dropped = 0;
}

/*
 * The slot of SS's prefix, its buckets refilled to NOW.  A slot that
 * held another prefix has its summary written first.
 */
static struct rrl_slot *
rrl_slot(struct dnsd *d, const struct listen_addr *la,
    const struct sockaddr_storage *ss, int tcp, double now)
{
	uint8_t key[1 + DNSD_RRL_V6_BYTES];
	const uint8_t *a;
	struct rrl_slot *e;
	uint32_t h = d->rrl_seed;
	size_t i, n;
	double dt;

	memset(key, 0, sizeof(key));
	if (ss->ss_family == AF_INET6) {
		key[0] = 6;
		a = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
		n = DNSD_RRL_V6_BYTES;
	} else {
		key[0] = 4;
		a = (const uint8_t *)
		    &((const struct sockaddr_in *)ss)->sin_addr.s_addr;
		n = DNSD_RRL_V4_BYTES;
	}
	memcpy(key + 1, a, n);
	for (i = 0; i < sizeof(key); i++)	/* FNV-1a, seeded */
		h = (h ^ key[i]) * 16777619u;
	e = &d->rrl[h % DNSD_RRL_SLOTS];
	if (memcmp(e->key, key, sizeof(key)) != 0) {
		rrl_summary(d, e, now);
		memset(e, 0, sizeof(*e));
		memcpy(e->key, key, sizeof(key));
		e->answers = d->cfg->dns.rrl_rate;
		e->rows = d->cfg->dns.record_rate;
	} else {
		dt = now > e->last ? now - e->last : 0;
		e->answers += dt * d->cfg->dns.rrl_rate;
		if (e->answers > d->cfg->dns.rrl_rate)
			e->answers = d->cfg->dns.rrl_rate;
		e->rows += dt * d->cfg->dns.record_rate;
		if (e->rows > d->cfg->dns.record_rate)
			e->rows = d->cfg->dns.record_rate;
	}
	e->last = now;
	memcpy(&e->ss, ss, sizeof(e->ss));
	e->la = la;
	e->tcp = tcp;
	return e;
}

/*
 * One answer from the bucket of every prefix together ([dns] rrl_total a
 * second, holding one second's worth), refilled to NOW: a flood spread
 * over many prefixes, each within rrl_rate, is limited too.  0, or -1
 * when it is empty.
 */
static int
rrl_total_take(struct dnsd *d, double now)
{
	double rate = d->cfg->dns.rrl_total;

	if (now > d->rrl_total_last) {
		d->rrl_total += (now - d->rrl_total_last) * rate;
		if (d->rrl_total > rate)
			d->rrl_total = rate;
		d->rrl_total_last = now;
	}
	if (d->rrl_total < 1) {
		d->rrl_over_total++;
		d->rrl_over_total_unlogged++;
		return -1;
	}
	d->rrl_total -= 1;
	return 0;
}

/* One line a second at most on what the rate limit did. */
static void
rrl_log(struct dnsd *d, const char *client, double now)
{
	if (now - d->rrl_logged < DNSD_RRL_LOG_S ||
	    (d->rrl_dropped_unlogged == 0 && d->rrl_slipped_unlogged == 0))
		return;
	log_info("dns: rate limit: dropped %lu answers, slipped %lu (TC=1), "
	    "the last to %s; rrl_rate=%u rrl_slip=%u rrl_total=%u "
	    "over_total=%lu", d->rrl_dropped_unlogged, d->rrl_slipped_unlogged,
	    client, d->cfg->dns.rrl_rate, d->cfg->dns.rrl_slip,
	    d->cfg->dns.rrl_total, d->rrl_over_total_unlogged);
	d->rrl_dropped_unlogged = d->rrl_slipped_unlogged = 0;
	d->rrl_over_total_unlogged = 0;
	d->rrl_logged = now;
}

/*
 * Answers MSG (LEN bytes) from SS; the answer is in d->outbuf.  Over UDP,
 * beyond rrl_rate answers a second to its prefix, or rrl_total to all,
 * every rrl_slip-th of the prefix's limited queries is sent TC=1 (a
 * resolver retries over TCP) and the others are dropped unread.  Beyond
 * record_rate a second, queries are counted in the prefix's next row
 * instead of stored.
 */
static enum dns_answer_result
handle(struct dnsd *d, const struct listen_addr *la,
    const struct sockaddr_storage *ss, int tcp, const uint8_t *msg,
    size_t len, size_t *outlen)
{
	struct dnsq_rec rec;
	char client[INET6_ADDRSTRLEN];
	enum dns_answer_result res;
	struct rrl_slot *e;
	unsigned flags = tcp ? DNS_ANSWER_TCP : 0;

	memset(&rec, 0, sizeof(rec));
	rec.time = clock_now();
	rec_client(&rec, la, ss, tcp, client, sizeof(client));
	e = rrl_slot(d, la, ss, tcp, rec.time);
	/* the total is taken from only when the prefix may have its answer */
	if (!tcp && e->answers >= 1 && rrl_total_take(d, rec.time) == 0)
		e->answers -= 1;
	else if (!tcp && ++e->limited % d->cfg->dns.rrl_slip == 0)
		flags |= DNS_ANSWER_SLIP;
	else if (!tcp) {
		d->rrl_dropped++;
		d->rrl_dropped_unlogged++;
		d->unrecorded++;
		e->unrecorded++;
		e->dropped++;
		rrl_log(d, client, rec.time);
		*outlen = 0;
		return DNS_ANSWER_DROP;
	}
	*outlen = DNS_ANSWER_MSG_MAX;
	res = dns_answer_query(d->zone, msg, len, flags, d->outbuf, outlen,
	    &rec);
	/* a malformed packet is dropped all the same */
	if ((flags & DNS_ANSWER_SLIP) && res == DNS_ANSWER_SEND) {
		rec.rrl = "slip";
		d->rrl_slipped++;
		d->rrl_slipped_unlogged++;
	}
	rrl_log(d, client, rec.time);
	if (e->rows >= 1) {
		e->rows -= 1;
		rec.unrecorded = e->unrecorded;
		rec.rrl_dropped = e->dropped;
		e->unrecorded = e->dropped = 0;
		/* the addresses are borrowed: record() frees the rest */
		record(d, &rec);
	} else {
		/* counted, not logged: the next row or summary tells */
		if (rec.rcode < 0)
			d->malformed++;
		d->unrecorded++;
		e->unrecorded++;
		records_dnsq_clear(&rec);
	}
	return res;
}

/* Every second: the summary of each prefix that fell silent. */
static void
on_rrl_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dnsd *d = arg;
	double now = clock_now();
	size_t i;

	(void)fd;
	(void)what;
	for (i = 0; i < DNSD_RRL_SLOTS; i++)
		if (d->rrl[i].unrecorded > 0 &&
		    now - d->rrl[i].last >= DNSD_RRL_SUMMARY_S)
			rrl_summary(d, &d->rrl[i], now);
}

static void
on_udp(evutil_socket_t fd, short what, void *arg)
{
	struct dnsd_udp *u = arg;
	struct dnsd *d = u->d;
	struct sockaddr_storage ss;
	socklen_t sslen;
	ssize_t n;
	size_t outlen;
	int i;

	(void)what;
	for (i = 0; i < DNSD_UDP_BATCH && !d->stopping; i++) {
		sslen = sizeof(ss);
		n = recvfrom(fd, d->inbuf, DNS_ANSWER_MSG_MAX, 0,
		    (struct sockaddr *)&ss, &sslen);
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_debug("dns: udp %s: recvfrom: %s",
				    u->la->text, strerror(errno));
			return;
		}
		if (handle(d, u->la, &ss, 0, d->inbuf, (size_t)n, &outlen) !=
		    DNS_ANSWER_SEND)
			continue;
		/* UDP: an answer the kernel will not take now is lost */
		if (sendto(fd, d->outbuf, outlen, 0, (struct sockaddr *)&ss,
		    sslen) == -1)
			log_debug("dns: udp %s: sendto: %s", u->la->text,
			    strerror(errno));
	}
}

static void
tcp_enter(struct tcp_conn *c, enum tcp_state state)
{
	if (c->state != state)
		log_debug("dns t%llu: %s -> %s", c->id,
		    tcp_state_names[c->state], tcp_state_names[state]);
	c->state = state;
}

static void
tcp_free(struct tcp_conn *c, const char *reason)
{
	struct dnsd *d = c->d;

	log_debug("dns t%llu: close from %s port %d queries=%u reason=%s",
	    c->id, c->client, c->port, c->queries, reason);
	bufferevent_free(c->bev);
	TAILQ_REMOVE(&d->conns, c, entry);
	connlimit_remove(d->limit, c->client);
	free(c);
}

/* Closes C once its answers are sent. */
static void
tcp_close(struct tcp_conn *c, const char *reason)
{
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		tcp_free(c, reason);
		return;
	}
	bufferevent_disable(c->bev, EV_READ);
	tcp_enter(c, TCP_CLOSING);
}

/* A message that was never completed: stored as malformed. */
static void
tcp_incomplete(struct tcp_conn *c, const char *why)
{
	struct dnsq_rec rec;

	memset(&rec, 0, sizeof(rec));
	rec.time = clock_now();
	rec.local_addr = (char *)c->la->text;
	rec.client_addr = c->client;
	rec.client_port = c->port;
	rec.family = c->family;
	rec.transport = "tcp";
	rec.rcode = -1;
	rec.error = strdup(why);
	record(c->d, &rec);
}

/* The message of C in d->inbuf (LEN bytes): its answer queued.  0 or -1. */
static int
tcp_answer(struct tcp_conn *c, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	uint8_t hdr[2];
	size_t outlen;

	c->queries++;
	if (handle(c->d, c->la, &c->ss, 1, c->d->inbuf, len, &outlen) !=
	    DNS_ANSWER_SEND)
		return 0;
	/* RFC 1035 4.2.2: the length first, in network order */
	hdr[0] = (uint8_t)(outlen >> 8);
	hdr[1] = (uint8_t)(outlen & 0xff);
	if (evbuffer_add(out, hdr, 2) == -1 ||
	    evbuffer_add(out, c->d->outbuf, outlen) == -1)
		return -1;
	return 0;
}

/* Reads every complete message of the input (RFC 7766 6.2.1: several). */
static void
on_tcp_read(struct bufferevent *bev, void *arg)
{
	struct tcp_conn *c = arg;
	struct dnsd *d = c->d;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer *out = bufferevent_get_output(bev);
	uint8_t hdr[2];

	while (c->state != TCP_CLOSING && !c->read_paused) {
		switch (c->state) {
		case TCP_LENGTH:
			if (evbuffer_get_length(in) < 2)
				return;
			evbuffer_remove(in, hdr, 2);
			c->msglen = (size_t)hdr[0] << 8 | hdr[1];
			tcp_enter(c, TCP_MESSAGE);
			break;
		case TCP_MESSAGE:
			if (evbuffer_get_length(in) < c->msglen)
				return;
			if (evbuffer_remove(in, d->inbuf, c->msglen) !=
			    (int)c->msglen) {
				tcp_free(c, "read error");
				return;
			}
			tcp_enter(c, TCP_LENGTH);
			if (tcp_answer(c, c->msglen) == -1) {
				tcp_free(c, "out of memory");
				return;
			}
			if (c->queries >= DNSD_TCP_QUERIES_MAX) {
				tcp_close(c, "query limit");
				return;
			}
			/* a client that does not read its answers waits */
			if (evbuffer_get_length(out) > DNSD_TCP_OUT_MAX) {
				c->read_paused = 1;
				bufferevent_disable(bev, EV_READ);
			}
			break;
		case TCP_CLOSING:
		case TCP_NSTATES:
			return;
		}
	}
}

/* The output is empty. */
static void
on_tcp_write(struct bufferevent *bev, void *arg)
{
	struct tcp_conn *c = arg;

	if (c->state == TCP_CLOSING) {
		tcp_free(c, "closed");
		return;
	}
	if (c->read_paused && !c->d->stopping) {
		c->read_paused = 0;
		bufferevent_enable(bev, EV_READ);
		on_tcp_read(bev, c);
	}
}

static void
on_tcp_event(struct bufferevent *bev, short what, void *arg)
{
	struct tcp_conn *c = arg;
	const char *reason;
	size_t pending = evbuffer_get_length(bufferevent_get_input(bev));

	if (what & BEV_EVENT_TIMEOUT)
		reason = "timeout";
	else if (what & BEV_EVENT_EOF)
		reason = "eof";
	else
		reason = "error";
	if (c->state == TCP_MESSAGE || (c->state == TCP_LENGTH && pending > 0))
		tcp_incomplete(c, what & BEV_EVENT_TIMEOUT ?
		    "tcp: timeout within a message" :
		    "tcp: connection closed within a message");
	/* RFC 7766 6.2.4: a client may half-close after its queries */
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR))
		tcp_close(c, reason);
	else
		tcp_free(c, reason);
}

static void
on_tcp_accept(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct dnsd_tcpl *l = arg;
	struct dnsd *d = l->d;
	struct tcp_conn *c;
	const char *limit = NULL;
	unsigned max = 0;

	(void)lev;
	if (d->stopping) {
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("dns: tcp accept: out of memory");
		close(fd);
		return;
	}
	if (salen > 0 && (size_t)salen <= sizeof(c->ss))
		memcpy(&c->ss, sa, (size_t)salen);
	netaddr_text((const struct sockaddr *)&c->ss, c->client,
	    sizeof(c->client), &c->port, &c->family);
	if (connlimit_add(d->limit, c->client) == -1) {
		log_warn("dns: tcp accept: out of memory");
		free(c);
		close(fd);
		return;
	}
	/* as SMTP's: in total, then per client address (RFC 7766 6.2.2) */
	if (connlimit_total_reached(d->limit)) {
		limit = "max_connections";
		max = d->cfg->max_connections;
	} else if (connlimit_addr_reached(d->limit, c->client)) {
		limit = "max_per_ip";
		max = d->cfg->max_per_ip;
	}
	if (limit != NULL)
		log_info("dns: tcp connection from %s port %d refused: "
		    "%s (%u) reached", c->client, c->port, limit, max);
	else if ((c->bev = bufferevent_socket_new(d->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		log_warn("dns: tcp accept: out of memory");
	if (c->bev == NULL) {
		connlimit_remove(d->limit, c->client);
		free(c);
		close(fd);
		return;
	}
	c->d = d;
	c->la = l->la;
	c->id = ++d->last_conn;
	c->state = TCP_LENGTH;
	TAILQ_INSERT_TAIL(&d->conns, c, entry);
	log_debug("dns t%llu: tcp connect from %s port %d to %s", c->id,
	    c->client, c->port, l->la->text);
	/* input bounded by one message and its length */
	bufferevent_setwatermark(c->bev, EV_READ, 0, 2 + DNS_ANSWER_MSG_MAX);
	bufferevent_set_timeouts(c->bev, &d->tcp_timeout, &d->tcp_timeout);
	bufferevent_setcb(c->bev, on_tcp_read, on_tcp_write, on_tcp_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* The pause is over: every TCP listener still open accepts. */
static void
on_tcp_resume(evutil_socket_t fd, short what, void *arg)
{
	struct dnsd *d = arg;
	size_t i;

	(void)fd;
	(void)what;
	for (i = 0; i < d->ntcpl; i++)
		if (d->tcpl[i].lev != NULL)
			evconnlistener_enable(d->tcpl[i].lev);
}

/* EMFILE and friends: every TCP listener pauses (listener.h). */
static void
on_tcp_accept_error(struct evconnlistener *lev, void *arg)
{
	struct dnsd_tcpl *l = arg;
	struct dnsd *d = l->d;
	char where[sizeof(l->la->text) + 16];
	int e = EVUTIL_SOCKET_ERROR();
	size_t i;

	(void)lev;
	for (i = 0; i < d->ntcpl; i++)
		if (d->tcpl[i].lev != NULL)
			evconnlistener_disable(d->tcpl[i].lev);
	snprintf(where, sizeof(where), "dns tcp %s", l->la->text);
	listener_pause(d->base, where, e, on_tcp_resume, d);
}

/*
 * [dns] zones: the zone file of every challenge that mailscope zones
 * delegates to us (CH_ON_RESPONDER) and that the config serves (its
 * hosts are there, as zones.c decides).  Every problem is reported, one
 * line each, into ERR: "FILE:LINE: error: ...".  0 or -1.
 */
static int
load_zones(struct dnsd *d, const struct config *cfg, char *err,
    size_t errlen)
{
	const struct catalog_challenge *chs;
	char path[4096], why[2 * 4096 + 512];
	size_t i, j, n, o = 0;
	FILE *fp;
	int w, rc = 0, skip;

	err[0] = '\0';
	chs = catalog_challenges(&n);
	for (i = 0; i < n; i++) {
		if (!(chs[i].flags & CH_ON_RESPONDER))
			continue;
		for (j = 0, skip = 0; j < 2; j++)
			if (chs[i].hosts[j] != NULL &&
			    config_host(cfg, chs[i].hosts[j]) == NULL)
				skip = 1;
		if (skip)
			continue;
		/* as zones_write.c names them: .signed when signed */
		w = snprintf(path, sizeof(path), "%s/%s.%s.zone%s",
		    cfg->dns.zones, chs[i].name, cfg->base_domain,
		    (chs[i].flags & (CH_SIGNED | CH_BOGUS)) ? ".signed" : "");
		if (w < 0 || (size_t)w >= sizeof(path))
			snprintf(why, sizeof(why), "%s:%d: error: zones: path "
			    "too long", cfg->file, cfg->dns.zones_line);
		else if ((fp = fopen(path, "r")) == NULL)
			snprintf(why, sizeof(why), "%s:%d: error: zones: cannot "
			    "read %s: %s (mailscope zones --out %s writes it)",
			    cfg->file, cfg->dns.zones_line, path,
			    strerror(errno), cfg->dns.zones);
		else {
			w = dns_answer_zone_add(d->zone, fp, path, chs[i].name,
			    (chs[i].flags & CH_DNS6) != 0, why, sizeof(why));
			fclose(fp);
			if (w == 0) {
				log_info("dns: serving %s.%s from %s%s",
				    chs[i].name, cfg->base_domain, path,
				    (chs[i].flags & CH_DNS6) ?
				    " on IPv6 only" : "");
				continue;
			}
		}
		rc = -1;
		w = snprintf(err + o, errlen - o, "%s%s", o > 0 ? "\n" : "",
		    why);
		if (w > 0 && (size_t)w < errlen - o)
			o += (size_t)w;
	}
	return rc;
}

static int
udp_bind(struct dnsd *d, struct dnsd_udp *u, const struct listen_addr *la,
    char *err, size_t errlen)
{
	int on = 1;

	u->d = d;
	u->la = la;
	u->fd = socket(la->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (u->fd == -1 ||
	    (la->ss.ss_family == AF_INET6 && setsockopt(u->fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1) ||
	    bind(u->fd, (const struct sockaddr *)&la->ss, la->sslen) == -1) {
		snprintf(err, errlen, "[dns]: bind %s (udp): %s", la->text,
		    strerror(errno));
		return -1;
	}
	if ((u->ev = event_new(d->base, u->fd, EV_READ | EV_PERSIST, on_udp,
	    u)) == NULL || event_add(u->ev, NULL) == -1) {
		snprintf(err, errlen, "[dns]: %s: cannot add the event",
		    la->text);
		return -1;
	}
	return 0;
}

static int
tcp_bind(struct dnsd *d, struct dnsd_tcpl *l, const struct listen_addr *la,
    char *err, size_t errlen)
{
	char why[256];

	l->d = d;
	l->la = la;
	if ((l->lev = listener_bind(d->base, la, on_tcp_accept, l, why,
	    sizeof(why))) == NULL) {
		snprintf(err, errlen, "[dns] tcp: %s", why);
		return -1;
	}
	evconnlistener_set_error_cb(l->lev, on_tcp_accept_error);
	return 0;
}

struct dnsd *
dnsd_new(struct event_base *base, const struct config *cfg, char *err,
    size_t errlen)
{
	const struct dns_conf *dc = &cfg->dns;
	struct dnsd *d;
	struct timeval second = { 1, 0 };
	uint64_t ms;
	size_t i;

	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->inbuf = malloc(DNS_ANSWER_MSG_MAX)) == NULL ||
	    (d->outbuf = malloc(DNS_ANSWER_MSG_MAX)) == NULL ||
	    (d->limit = connlimit_new(cfg->max_connections,
	    cfg->max_per_ip)) == NULL ||
	    (d->udp = calloc(dc->nlisten + 1, sizeof(*d->udp))) == NULL ||
	    (d->tcpl = calloc(dc->nlisten + 1, sizeof(*d->tcpl))) == NULL ||
	    (d->rrl = calloc(DNSD_RRL_SLOTS, sizeof(*d->rrl))) == NULL ||
	    (d->rrl_timer = event_new(base, -1, EV_PERSIST, on_rrl_timer,
	    d)) == NULL || event_add(d->rrl_timer, &second) == -1) {
		snprintf(err, errlen, "out of memory");
		dnsd_free(d);
		return NULL;
	}
	/* a hash an attacker cannot aim at one slot; any seed works */
	if (getrandom(&d->rrl_seed, sizeof(d->rrl_seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(d->rrl_seed))
		d->rrl_seed = (uint32_t)clock_now();
	d->rrl_seed ^= 2166136261u;
	d->base = base;
	d->cfg = cfg;
	d->rrl_total = cfg->dns.rrl_total;	/* a second's burst, as a prefix */
	d->rrl_total_last = clock_now();
	TAILQ_INIT(&d->conns);
	ms = cfg->timeout_command_ms < DNSD_TCP_TIMEOUT_MAX_MS ?
	    cfg->timeout_command_ms : DNSD_TCP_TIMEOUT_MAX_MS;
	clock_ms_to_tv(ms, &d->tcp_timeout);
	if ((d->zone = dns_answer_zone_new(cfg, err, errlen)) == NULL ||
	    (cfg->dns.zones != NULL && load_zones(d, cfg, err, errlen) == -1)) {
		dnsd_free(d);
		return NULL;
	}
	if (config_host(cfg, "open") == NULL)
		log_warn("dns: no [host open]: mx-<id>.%s has no address",
		    dns_answer_zone_apex(d->zone));
	for (i = 0; i < dc->nlisten; i++) {
		d->udp[i].fd = -1;
		if (udp_bind(d, &d->udp[i], &dc->listen[i], err, errlen) ==
		    -1) {
			d->nudp = i + 1;	/* closes this one too */
			dnsd_free(d);
			return NULL;
		}
		d->nudp = i + 1;
		if (tcp_bind(d, &d->tcpl[i], &dc->listen[i], err, errlen) ==
		    -1) {
			dnsd_free(d);
			return NULL;
		}
		d->ntcpl = i + 1;
		log_info("dns: listening on %s (udp, tcp) for %s",
		    dc->listen[i].text, dns_answer_zone_apex(d->zone));
	}
	return d;
}

void
dnsd_set_store(struct dnsd *d, struct store *store)
{
	d->store = store;
}

void
dnsd_stop(struct dnsd *d)
{
	struct tcp_conn *c, *next;
	size_t i;

	if (d == NULL || d->stopping)
		return;
	d->stopping = 1;
	/* every prefix's count into the store before it closes */
	if (d->rrl_timer != NULL)
		event_del(d->rrl_timer);
	for (i = 0; d->rrl != NULL && i < DNSD_RRL_SLOTS; i++)
		rrl_summary(d, &d->rrl[i], clock_now());
	for (i = 0; i < d->nudp; i++) {
		if (d->udp[i].ev != NULL)
			event_free(d->udp[i].ev);
		d->udp[i].ev = NULL;
		if (d->udp[i].fd != -1)
			close(d->udp[i].fd);
		d->udp[i].fd = -1;
	}
	for (i = 0; i < d->ntcpl; i++) {
		if (d->tcpl[i].lev != NULL)
			evconnlistener_free(d->tcpl[i].lev);
		d->tcpl[i].lev = NULL;
	}
	for (c = TAILQ_FIRST(&d->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->state != TCP_CLOSING)
			tcp_close(c, "shutdown");
	}
}

void
dnsd_free(struct dnsd *d)
{
	struct tcp_conn *c;

	if (d == NULL)
		return;
	if (d->udp != NULL && d->tcpl != NULL)
		dnsd_stop(d);
	while ((c = TAILQ_FIRST(&d->conns)) != NULL)
		tcp_free(c, "shutdown");
	if (d->malformed > 0)
		log_info("dns: %lu malformed packets dropped in all",
		    d->malformed);
	if (d->rrl_dropped + d->rrl_slipped + d->unrecorded > 0)
		log_info("dns: rate limit: dropped %lu answers, slipped %lu "
		    "in all (%lu of them over rrl_total); %lu queries counted, "
		    "not stored one by one", d->rrl_dropped, d->rrl_slipped,
		    d->rrl_over_total, d->unrecorded);
	if (d->rrl_timer != NULL)
		event_free(d->rrl_timer);
	free(d->rrl);
	dns_answer_zone_free(d->zone);
	connlimit_free(d->limit);
	free(d->udp);
	free(d->tcpl);
	free(d->inbuf);
	free(d->outbuf);
	free(d);
}
