#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../lib/clock.h"
#include "../lib/log.h"
#include "../lib/metrics.h"
#include "process_metrics.h"

/* One process, one registry: the families and what the refresh has already complained about. */
static struct {
	struct mfamily *cpu, *rss, *vsize, *open_fds, *max_fds, *start;
	int warned_stat, warned_fd, warned_limit;
} pm;

/*
 * utime, stime (clock ticks), vsize (bytes) and rss (pages) from /proc/self/stat.  The command
 * name (field 2) is in parentheses and may hold spaces and ')', so fields are counted from the
 * last ')'; the first field after it is field 3 (state).  -1 when it cannot be read or parsed.
 */
static int
read_stat(unsigned long long *utime, unsigned long long *stime, unsigned long long *vsize,
    long long *rss)
{
	char buf[2048], *p, *save = NULL;
	size_t n;
	FILE *fp;
	int field = 3;

	if ((fp = fopen("/proc/self/stat", "re")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	for (p = strtok_r(p + 1, " ", &save); p != NULL; p = strtok_r(NULL, " ", &save), field++) {
		if (field == 14)
			*utime = strtoull(p, NULL, 10);
		else if (field == 15)
			*stime = strtoull(p, NULL, 10);
		else if (field == 23)
			*vsize = strtoull(p, NULL, 10);
		else if (field == 24) {
			*rss = strtoll(p, NULL, 10);
			return 0;
		}
	}
	return -1;
}

/* The descriptors in /proc/self/fd, the directory's own descriptor not counted; -1 on error. */
static long
count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (dir == NULL)
		return -1;
	while ((e = readdir(dir)) != NULL)
		if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(dir))
			n++;
	closedir(dir);
	return n;
}

/* Each source that fails is said once, with why; its series keep their last value. */
static void
refresh(void *arg)
{
	unsigned long long utime, stime, vsize;
	long long rss;
	long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE), fds;
	struct rlimit rl;

	(void)arg;
	if (read_stat(&utime, &stime, &vsize, &rss) == 0 && ticks > 0 && page > 0) {
		mfamily_set(pm.cpu, NULL, (double)(utime + stime) / (double)ticks);
		mfamily_set(pm.vsize, NULL, (double)vsize);
		mfamily_set(pm.rss, NULL, (double)rss * (double)page);
	} else if (!pm.warned_stat) {
		pm.warned_stat = 1;
		log_warn("process metrics: cannot read /proc/self/stat (%s): no CPU and memory "
		    "series", errno ? strerror(errno) : "unexpected format");
	}
	if ((fds = count_fds()) >= 0)
		mfamily_set(pm.open_fds, NULL, (double)fds);
	else if (!pm.warned_fd) {
		pm.warned_fd = 1;
		log_warn("process metrics: cannot list /proc/self/fd (%s): no process_open_fds",
		    strerror(errno));
	}
	/* the soft limit, what client_golang reads from /proc/self/limits ("Max open files") */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		mfamily_set(pm.max_fds, NULL,
		    rl.rlim_cur == RLIM_INFINITY ? 1.8446744073709552e19 : (double)rl.rlim_cur);
	else if (!pm.warned_limit) {
		pm.warned_limit = 1;
		log_warn("process metrics: getrlimit(RLIMIT_NOFILE): %s: no process_max_fds",
		    strerror(errno));
	}
}

void
process_metrics_init(struct metrics *m)
{
	/* one table, alike by design: a row per family of client_golang's process collector */
	const struct mfamily_spec spec[] = {
		{ &pm.cpu, "process_cpu_seconds_total",
		    "Total user and system CPU time spent in seconds.", METRIC_COUNTER, 0, NULL },
		{ &pm.open_fds, "process_open_fds",
		    "Number of open file descriptors.", METRIC_GAUGE, 0, NULL },
		{ &pm.max_fds, "process_max_fds",
		    "Maximum number of open file descriptors.", METRIC_GAUGE, 0, NULL },
		{ &pm.vsize, "process_virtual_memory_bytes",
		    "Virtual memory size in bytes.", METRIC_GAUGE, 0, NULL },
		{ &pm.rss, "process_resident_memory_bytes",
		    "Resident memory size in bytes.", METRIC_GAUGE, 0, NULL },
		{ &pm.start, "process_start_time_seconds",
		    "Start time of the process since unix epoch in seconds.", METRIC_GAUGE, 0, NULL },
	};

	metrics_families(m, spec, sizeof spec / sizeof spec[0]);
	/*
	 * client_golang adds /proc/self/stat's starttime to the boot time of /proc/stat, which
	 * ProcSubset=pid hides; krbwatch registers its metrics as it starts, so now is the start.
	 */
	mfamily_set(pm.start, NULL, clock_seconds(CLOCK_REALTIME));
	pm.warned_stat = pm.warned_fd = pm.warned_limit = 0;
	metrics_on_render(m, refresh, NULL);
	refresh(NULL);
}
