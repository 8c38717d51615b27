#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int log_journal;		/* stderr is a journald stream */
static int log_verbose;
static enum log_level log_max = LOG_L_DEBUG;	/* log_quiet() lowers it */

static const char *const level_names[] = {
	[LOG_L_ERR] = "error", [LOG_L_WARN] = "warning", [LOG_L_NOTICE] = "notice",
	[LOG_L_INFO] = "info", [LOG_L_DEBUG] = "debug",
};

/*
 * JOURNAL_STREAM is "DEV:INO" of the stream journald gave us; it is inherited by children
 * whose stderr may be something else, so compare it with what stderr really is.
 */
static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* Only errors from now on: `krbwatch probe` prints its own report, not the daemon's story. */
void
log_quiet(void)
{
	log_max = LOG_L_ERR;
}

void
log_init(int verbose)
{
	log_journal = stderr_is_journal();
	log_verbose = verbose;
}

void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char line[2048];
	int saved = errno;

	if ((level == LOG_L_DEBUG && !log_verbose) || level > log_max)
		return;
	vsnprintf(line, sizeof line, fmt, ap);
	if (log_journal) {
		fprintf(stderr, "<%d>%s\n", (int)level, line);
	} else {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(stderr, "%s krbwatch[%ld]: %s: %s\n", when, (long)getpid(),
		    level_names[level], line);
	}
	errno = saved;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_L_ERR, fmt, ap);
	va_end(ap);
	abort();
}
