/*
 * Enough open files for what the config's limits allow (RLIMIT_NOFILE),
 * shared by the daemon's start and its check (-t), so both say the same.
 * Main thread.
 */
#include "build.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/time.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "filelimit.h"

static rlim_t
filelimit_need(const struct config *cfg)
{
	rlim_t need = FILELIMIT_RESERVE;
	size_t i;

	need += (rlim_t)cfg->max_connections * (1 + (cfg->web.present != 0) +
	    (cfg->dns.present != 0));
	for (i = 0; i < cfg->nhosts; i++)
		need += cfg->hosts[i].nlisten + cfg->hosts[i].nchlisten;
	need += cfg->web.nlisten + cfg->web.nhttp_listen +
	    2 * cfg->dns.nlisten;
	return need;
}

int
filelimit_fit(const struct config *cfg, int apply, char *msg, size_t msglen)
{
	struct rlimit rl;
	rlim_t need = filelimit_need(cfg);

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		(void)snprintf(msg, msglen, "getrlimit: %s", strerror(errno));
		return -1;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
		return 0;
	rl.rlim_cur = need;
	/* only root may raise the hard limit (CAP_SYS_RESOURCE) */
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need &&
	    geteuid() == 0)
		rl.rlim_max = need;
	/*
	 * A check raises them too (its process ends next): root without
	 * CAP_SYS_RESOURCE, in a container, cannot raise the hard limit.
	 */
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		(void)getrlimit(RLIMIT_NOFILE, &rl);
		(void)snprintf(msg, msglen, "open files: the limits need %llu, "
		    "the hard limit is %llu; lower max_connections or raise "
		    "the limit (ulimit -n, LimitNOFILE=)",
		    (unsigned long long)need,
		    (unsigned long long)rl.rlim_max);
		return -1;
	}
	(void)snprintf(msg, msglen, "open files: soft limit %s to %llu",
	    apply ? "raised" : "to be raised at the start",
	    (unsigned long long)need);
	return 1;
}
