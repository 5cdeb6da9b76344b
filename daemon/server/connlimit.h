/*
 * Open connections counted in total and per client address, and the two
 * limits on them (max_connections, max_per_ip): the SMTP sessions, the DNS
 * TCP connections and the web connections each have one.  Event loop
 * thread.
 */
#ifndef MAILSCOPE_CONNLIMIT_H
#define MAILSCOPE_CONNLIMIT_H

struct connlimit;

/* No more than MAX_TOTAL connections, MAX_PER_ADDR from one address. */
struct connlimit *connlimit_new(unsigned max_total, unsigned max_per_addr);
void		 connlimit_free(struct connlimit *);

/*
 * Counts one more connection from ADDR, or from an address not known yet
 * (NULL: connlimit_add_addr() once it is).  0, or -1 out of memory
 * (nothing counted).
 */
int		 connlimit_add(struct connlimit *, const char *addr);
/* ADDR of a connection counted without one.  0, or -1 out of memory. */
int		 connlimit_add_addr(struct connlimit *, const char *addr);
/* A connection counted from ADDR (NULL: without one) is gone. */
void		 connlimit_remove(struct connlimit *, const char *addr);
unsigned	 connlimit_count(const struct connlimit *);

/*
 * For a connection already counted: have the other connections reached
 * max_total, or max_per_addr from its address ADDR?
 */
int		 connlimit_total_reached(const struct connlimit *);
int		 connlimit_addr_reached(const struct connlimit *,
		    const char *addr);

#endif /* MAILSCOPE_CONNLIMIT_H */
