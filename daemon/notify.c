#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "kwd.h"
#include "../lib/log.h"
#include "notify.h"

/* Only the first line of a status is sent: STATUS= is one line by definition. */
static void
send_status(const char *prefix, const char *status)
{
	char buf[1024];
	int n = snprintf(buf, sizeof buf, "%sSTATUS=%.*s", prefix,
	    (int)strcspn(status, "\n"), status);

	if (n < 0)
		return;
	if (sd_notify(0, buf) < 0)
		log_debug("sd_notify failed");
}

void
notify_ready(const char *status)
{
	send_status("READY=1\n", status);
}

void
notify_reloading(void)
{
	struct timespec ts;
	char buf[64];

	/* systemd 253+ wants MONOTONIC_USEC with RELOADING=1 to match the reload to our signal */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(buf, sizeof buf, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL);
	sd_notify(0, buf);
}

void
notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

void
notify_status(const char *status)
{
	send_status("", status);
}

static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	sd_notify(0, "WATCHDOG=1");
}

int
notify_watchdog_start(struct kwd *d)
{
	uint64_t usec = 0;
	struct timeval tv;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return 0;
	usec /= 2;
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	d->watchdog = event_new(d->base, -1, EV_PERSIST, watchdog_cb, d);
	if (d->watchdog == NULL || event_add(d->watchdog, &tv) == -1) {
		log_err("cannot arm the watchdog timer");
		return -1;
	}
	sd_notify(0, "WATCHDOG=1");
	log_info("watchdog: pinging systemd every %llu ms", (unsigned long long)usec / 1000);
	return 0;
}
