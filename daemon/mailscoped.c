/*
 * mailscoped: options, config, binding, privilege drop, signals and the
 * event loop.  Main thread; the other threads are the store's writer, the
 * analysis workers and the web's worker.
 */
#include "build.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "analyze.h"
#include "catalog.h"
#include "cfgcheck.h"
#include "clock.h"
#include "config.h"
#include "dnsd.h"
#include "fileout.h"
#include "filelimit.h"
#include "listener.h"
#include "log.h"
#include "policy_http.h"
#include "resolver.h"
#include "retention.h"
#include "sdnotify.h"
#include "smtp.h"
#include "spfproc.h"
#include "store.h"
#include "web.h"

/* Reports stored unparsed that one start queues: their messages' bytes. */
#define UNPARSED_BYTES	(64UL * 1024 * 1024)
/* The byte the detached daemon sends its parent once it serves. */
#define READY_BYTE	'R'

struct daemon {
	struct config		*cfg;		/* owned */
	struct event_base	*base;		/* owned */
	struct smtp_server	*srv;		/* owned */
	struct listeners	*ls;		/* owned */
	struct dnsd		*dns;		/* owned; NULL without [dns] */
	struct policy_http	*web;		/* owned; NULL without [web] */
	struct web		*app;		/* owned; NULL without [web] */
	struct store		*store;		/* owned */
	struct analyzer		*an;		/* owned */
	struct retention	*ret;		/* owned: retention_days */
	struct event		*sigterm;	/* owned */
	struct event		*sigint;	/* owned */
	struct event		*sighup;	/* owned */
	struct event		*deadline;	/* owned: shutdown_deadline */
	struct event		*fatal;		/* owned: a thread's fatalx() */
	const char		*pidfile;	/* borrowed from main; or NULL */
	int			 ready_fd;	/* to the waiting parent, or -1 */
	uid_t			 uid;		/* of user; (uid_t)-1: no drop */
	gid_t			 gid;
	int			 stopping;
	atomic_int		 failed;	/* a thread's fatalx() */
};

static void
usage(void)
{
	fprintf(stderr, "usage: mailscoped -c FILE [-f] [-p PIDFILE] [-t] "
	    "[-v]\n");
	exit(2);
}

/* STATE to the service manager, if there is one (sdnotify.h). */
static void
notify(struct daemon *d, const char *state)
{
	char err[256];

	(void)d;
	if (sdnotify_send(state, err, sizeof(err)) == -1)
		log_warn("%s", err);
}

static void
all_sessions_done(void *arg)
{
	struct daemon *d = arg;

	log_info("shutdown: no session left");
	event_base_loopexit(d->base, NULL);
}

/*
 * The hard end of a shutdown: the loop stops; daemon_free() closes every
 * session ("shutdown"), flushes the store and the daemon exits.
 */
static void
stop_now(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	(void)fd;
	(void)what;
	log_info("shutdown: closing every session now");
	event_base_loopexit(d->base, NULL);
}

/* No longer accepting; sessions finish until shutdown_deadline. */
static void
shutdown_begin(struct daemon *d)
{
	struct timeval tv;

	d->stopping = 1;
	notify(d, "STOPPING=1");
	listener_stop(d->ls);
	dnsd_stop(d->dns);
	policy_http_stop(d->web);
	web_stop(d->app);
	clock_ms_to_tv(d->cfg->shutdown_deadline_ms, &tv);
	if ((d->deadline = evtimer_new(d->base, stop_now, d)) == NULL ||
	    evtimer_add(d->deadline, &tv) == -1)
		log_warn("shutdown: no deadline (out of memory)");
	smtp_server_shutdown(d->srv, all_sessions_done, d);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)what;
	if (d->stopping) {
		log_info("signal %d again", (int)sig);
		stop_now(-1, 0, d);
		return;
	}
	log_info("signal %d: no longer accepting, finishing sessions",
	    (int)sig);
	shutdown_begin(d);
}

/*
 * fatalx() on another thread (log.h), there: that thread ends, and this
 * has the loop shut down as for SIGTERM.  Thread-safe: evthread is on.
 */
static void
fatal_hook(void *arg)
{
	struct daemon *d = arg;

	atomic_store(&d->failed, 1);
	event_active(d->fatal, 0, 0);
}

static void
on_fatal(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	(void)fd;
	(void)what;
	if (d->stopping)
		return;
	log_warn("a thread failed: no longer accepting, finishing sessions, "
	    "then exit 1");
	shutdown_begin(d);
}

/* SIGHUP: the log anew, the certificates and keys again; never fatal. */
static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)sig;
	(void)what;
	notify(d, "RELOADING=1");
	if (log_reopen() == 0)
		log_info("SIGHUP: reopened the log, reloading certificates");
	else
		log_info("SIGHUP: reloading certificates");
	listener_reload(d->ls);
	policy_http_reload(d->web);
	notify(d, "READY=1");
}

/*
 * The user to drop to (d->uid, d->gid), looked up before anything is
 * created for it (the log file); (uid_t)-1 when not root or no user.
 */
static int
find_user(struct daemon *d)
{
	const char *user = d->cfg->user;
	struct passwd *pw;

	d->uid = (uid_t)-1;
	d->gid = (gid_t)-1;
	if (geteuid() != 0) {
		if (user != NULL)
			log_info("not root: keeping uid %d, ignoring user %s",
			    (int)getuid(), user);
		return 0;
	}
	if (user == NULL) {
		log_warn("running as root: set 'user' in [global]");
		return 0;
	}
	if ((pw = getpwnam(user)) == NULL) {
		log_warn("user %s: no such user", user);
		return -1;
	}
	d->uid = pw->pw_uid;
	d->gid = pw->pw_gid;
	return 0;
}

/* Runs as root only to bind (and write the pid file): then the user. */
static int
drop_privileges(const struct daemon *d)
{
	if (d->uid == (uid_t)-1)
		return 0;
	if (setgroups(1, &d->gid) == -1 ||
	    setresgid(d->gid, d->gid, d->gid) == -1 ||
	    setresuid(d->uid, d->uid, d->uid) == -1) {
		log_warn("dropping to %s: %s", d->cfg->user, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Background mode: the parent stays until the child serves, then exits
 * 0; when the child fails first (its reasons on stderr, which it still
 * shares), the parent exits 1.  Before any thread or database
 * connection exists: neither survives fork(); the event base is
 * re-initialised for the child.
 */
static int
detach(struct daemon *d)
{
	int p[2], status;
	ssize_t n;
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC) == -1) {
		log_warn("pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		log_warn("fork: %s", strerror(errno));
		return -1;
	}
	if (pid != 0) {
		(void)close(p[1]);
		do
			n = read(p[0], &c, 1);
		while (n == -1 && errno == EINTR);
		if (n == 1 && c == READY_BYTE)
			_exit(0);
		(void)waitpid(pid, &status, 0);
		fprintf(stderr, "mailscoped: not started (%s)\n",
		    WIFEXITED(status) ? "see the messages above" :
		    "the daemon was killed");
		_exit(1);
	}
	(void)close(p[0]);
	d->ready_fd = p[1];
	if (setsid() == -1 || chdir("/") == -1 ||
	    event_reinit(d->base) == -1) {
		log_warn("detaching: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Serving: the listeners are bound, the store is open, the threads run.
 * The service manager and the waiting parent are told; stdin, stdout and
 * stderr (after the parent has gone) lead nowhere or to the log file.
 */
static void
ready(struct daemon *d, int foreground)
{
	char c = READY_BYTE;
	int null;

	notify(d, "READY=1");
	log_set_echo(0);
	if (!foreground && (null = open("/dev/null", O_RDWR)) != -1) {
		(void)dup2(null, STDIN_FILENO);
		(void)dup2(null, STDOUT_FILENO);
		(void)dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			(void)close(null);
	}
	if (log_file_stderr() == -1)
		log_warn("log file on stderr: %s", strerror(errno));
	if (d->ready_fd != -1) {
		if (write(d->ready_fd, &c, 1) != 1)
			log_warn("telling the parent: %s", strerror(errno));
		(void)close(d->ready_fd);
		d->ready_fd = -1;
	}
}

/*
 * The analysis sends its DNS lookups (SPF, DKIM, DMARC, the client's
 * names) to a resolver; the loopback demo promises to stay on loopback,
 * so say at start when they leave the machine.
 */
static void
log_resolver(const struct config *cfg)
{
	char list[256];

	if (resolver_away(cfg, list, sizeof(list)) == 0)
		return;
	log_info("analysis lookups use %s (from %s), not loopback; set "
	    "resolver = off to stay on loopback",
	    cfg->resolver != NULL ? cfg->resolver : list,
	    cfg->resolver != NULL ? "resolver" : "/etc/resolv.conf");
}

/* store_tlsrpt_unparsed() hands a report to the analysis workers. */
static void
submit_unparsed(struct txn_rec *txn, void *arg)
{
	analyze_submit_tlsrpt(arg, txn);
}

/*
 * The challenges table: the catalogue with this config's addresses, so
 * that the rows of a database say what each challenge was when written.
 */
static int
write_challenges(struct daemon *d)
{
	struct challenge_rec *rows;
	size_t n;
	int rc;

	if ((rows = catalog_challenge_rows(d->cfg, &n)) == NULL) {
		log_warn("challenges: out of memory");
		return -1;
	}
	rc = store_challenges(d->store, rows, n);
	catalog_challenge_rows_free(rows, n);
	if (rc == -1)
		log_warn("cannot write the challenges table to %s",
		    d->cfg->database);
	return rc;
}

/*
 * After store_open() failed: SQLite says "unable to open" or "readonly";
 * the usual cause is a database (or its directory) created by root
 * before the first start.  Says whose it is.
 */
static void
db_hint(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && access(path, R_OK | W_OK) == -1)
		log_warn("%s: owned by uid %d, mode %04o, not readable and "
		    "writable by uid %d: chown it to the user (mailscoped -t "
		    "checks this)", path, (int)st.st_uid,
		    (unsigned)(st.st_mode & 07777), (int)geteuid());
}

static int
daemon_run(struct daemon *d, int foreground)
{
	char	 err[512];
	int64_t	 last_id;

	switch (filelimit_fit(d->cfg, 1, err, sizeof(err))) {
	case -1:
		log_warn("%s", err);
		return -1;
	case 1:
		log_info("%s", err);
		break;
	}
	if ((d->base = event_base_new()) == NULL ||
	    (d->srv = smtp_server_new(d->base, d->cfg)) == NULL) {
		log_warn("out of memory");
		return -1;
	}
	if ((d->ls = listener_open(d->base, d->cfg, d->srv, err,
	    sizeof(err))) == NULL) {
		log_warn("%s", err);
		return -1;
	}
	if (d->cfg->dns.present &&
	    (d->dns = dnsd_new(d->base, d->cfg, err, sizeof(err))) == NULL) {
		log_warn("%s", err);
		return -1;
	}
	if (d->cfg->web.present && (d->web = policy_http_new(d->base, d->cfg,
	    NULL, err, sizeof(err))) == NULL) {
		log_warn("%s", err);
		return -1;
	}
	if (d->cfg->web.present && (d->app = web_new(d->base, d->cfg, err,
	    sizeof(err))) == NULL) {
		log_warn("%s", err);
		return -1;
	}
	if (find_user(d) == -1)
		return -1;
	/* as root: the file is the user's, its directory may not be */
	if (d->cfg->log_file != NULL && log_file(d->cfg->log_file, d->uid,
	    d->gid, err, sizeof(err)) == -1) {
		log_warn("%s", err);
		return -1;
	}
	if (!foreground && detach(d) == -1)
		return -1;
	/* as root too: /run and its like are root's */
	if (d->pidfile != NULL) {
		char pid[32];
		int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());

		if (fileout_write_data(d->pidfile, 0644, pid, (size_t)n, err,
		    sizeof(err)) == -1) {
			log_warn("pid file %s", err);
			d->pidfile = NULL;
			return -1;
		}
	}
	if (drop_privileges(d) == -1)
		return -1;
	/* before the first thread: fatalx() there ends it alone */
	if ((d->fatal = event_new(d->base, -1, 0, on_fatal, d)) == NULL) {
		log_warn("out of memory");
		return -1;
	}
	log_set_fatal_hook(fatal_hook, d);
	if ((d->store = store_open(d->cfg->database, err, sizeof(err))) ==
	    NULL) {
		log_warn("%s", err);
		db_hint(d->cfg->database);
		return -1;
	}
	store_set_config(d->store, d->cfg);
	log_resolver(d->cfg);
	if (write_challenges(d) == -1)
		return -1;
	if ((d->an = analyze_new(d->cfg, d->store,
	    (int)d->cfg->analysis_workers)) == NULL) {
		log_warn("cannot start the analysis workers");
		return -1;
	}
	/*
	 * Reports stored before they could be parsed (schema 16) or whose
	 * analysis was skipped: half the queue at most (one at least), the
	 * rest at the next start.
	 */
	(void)store_tlsrpt_unparsed(d->store,
	    ((size_t)d->cfg->analysis_queue + 1) / 2,
	    UNPARSED_BYTES, submit_unparsed, d->an);
	/*
	 * Connection ids continue from the highest one stored; without it,
	 * new ids could repeat those that rows already name.
	 */
	if ((last_id = store_last_connection_id(d->store)) == -1) {
		log_warn("cannot read the highest connection id from %s: "
		    "not starting, as new ids could repeat stored ones",
		    d->cfg->database);
		return -1;
	}
	if (smtp_server_set_store(d->srv, d->store, d->an, last_id) == -1) {
		log_warn("cannot load the greylist from the store");
		return -1;
	}
	if (d->dns != NULL)
		dnsd_set_store(d->dns, d->store);
	policy_http_set_store(d->web, d->store);
	/* the web's worker: its own database connection, after daemon(3) */
	if (d->app != NULL && web_start(d->app, err, sizeof(err)) == -1) {
		log_warn("%s", err);
		return -1;
	}
	policy_http_set_web(d->web, d->app);
	if (store_writer_start(d->store, d->base, smtp_store_done, d->srv) ==
	    -1) {
		log_warn("cannot start the store writer");
		return -1;
	}
	if ((d->ret = retention_new(d->base, d->cfg, err, sizeof(err))) ==
	    NULL) {
		log_warn("%s", err);
		return -1;
	}
	d->sigterm = evsignal_new(d->base, SIGTERM, on_signal, d);
	d->sigint = evsignal_new(d->base, SIGINT, on_signal, d);
	d->sighup = evsignal_new(d->base, SIGHUP, on_hup, d);
	if (d->sigterm == NULL || d->sigint == NULL || d->sighup == NULL ||
	    evsignal_add(d->sigterm, NULL) == -1 ||
	    evsignal_add(d->sigint, NULL) == -1 ||
	    evsignal_add(d->sighup, NULL) == -1) {
		log_warn("cannot install signal handlers");
		return -1;
	}
	ready(d, foreground);
	log_info("mailscoped started: %zu hosts, database %s",
	    d->cfg->nhosts, d->cfg->database);
	event_base_dispatch(d->base);
	return 0;
}

static void
daemon_free(struct daemon *d)
{
	/* Sessions borrow from listeners; the store flushes what they sent. */
	smtp_server_free(d->srv);
	/* the analyzers finish what they have, queueing to the store */
	analyze_free(d->an);
	listener_free(d->ls);
	dnsd_free(d->dns);
	/* records the connections still open: before the store closes */
	policy_http_free(d->web);
	/* after the listener: its connections' requests are marked gone */
	web_free(d->app);
	retention_free(d->ret);
	store_close(d->store);
	/* every other thread has ended */
	log_set_fatal_hook(NULL, NULL);
	if (d->fatal != NULL)
		event_free(d->fatal);
	if (d->sigterm != NULL)
		event_free(d->sigterm);
	if (d->sigint != NULL)
		event_free(d->sigint);
	if (d->sighup != NULL)
		event_free(d->sighup);
	if (d->deadline != NULL)
		event_free(d->deadline);
	if (d->base != NULL)
		event_base_free(d->base);
	config_free(d->cfg);
}

int
main(int argc, char *argv[])
{
	struct daemon d;
	char cwd[PATH_MAX], pidpath[PATH_MAX + 64];
	const char *file = NULL;
	int ch, foreground = 0, check = 0, verbose = 0, rc;

	/* an SPF evaluator of the analysis workers (spfproc.h) */
	if (argc > 1 && strcmp(argv[1], "-S") == 0)
		return spfproc_main(argc, argv);
	memset(&d, 0, sizeof(d));
	d.ready_fd = -1;
	while ((ch = getopt(argc, argv, "c:fp:tv")) != -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'p':
			/* absolute: daemon(3) changes to / */
			if (optarg[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL &&
			    snprintf(pidpath, sizeof(pidpath), "%s/%s", cwd,
			    optarg) < (int)sizeof(pidpath))
				d.pidfile = pidpath;
			else
				d.pidfile = optarg;
			break;
		case 't':
			check = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (file == NULL || optind != argc)
		usage();

	if ((d.cfg = config_load(file, stderr)) == NULL)
		return 1;
	if (check) {
		rc = cfgcheck_run(d.cfg, stderr) == 0 ? 0 : 1;
		config_free(d.cfg);
		if (rc == 0)
			printf("mailscoped: configuration OK\n");
		return rc;
	}
	log_init("mailscoped", foreground, LOG_LVL_INFO + verbose);
	/* until it serves, whatever stops the start is on stderr too */
	log_set_echo(1);
	/* the database, its WAL and journal: ours alone (0600) */
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	/* until the event loop handles it: a reload, never the end */
	signal(SIGHUP, SIG_IGN);
	if (evthread_use_pthreads() == -1)
		fatalx("libevent without thread support");
	rc = daemon_run(&d, foreground) == 0 ? 0 : 1;
	daemon_free(&d);
	/* fails after the drop where the directory is root's: left there */
	if (d.pidfile != NULL)
		(void)unlink(d.pidfile);
	if (rc == 0 && atomic_load(&d.failed)) {
		log_warn("mailscoped stopped after a fatal error");
		rc = 1;
	} else if (rc == 0)
		log_info("mailscoped stopped");
	if (d.ready_fd != -1)
		(void)close(d.ready_fd);
	log_close();
	return rc;
}
