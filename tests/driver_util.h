/* What the login test drivers (login_main.c, login_pg_main.c) share: options and caches. */
#ifndef KRBWATCH_DRIVER_UTIL_H
#define KRBWATCH_DRIVER_UTIL_H

#include "../conf/config.h"

/* The value of option argv[*i] (advancing *i); exits 2 when it has none. */
char *opt(int argc, char **argv, int *i);
/* Copies every credential of src into dst (dst initialised for src's client when init). */
int copy_cache(const char *src, const char *dst, int init);
void destroy_cache(const char *name);
/* "disable", "require", "verify-ca", "verify-identity" -> *mode; -1 for anything else. */
int parse_tls(const char *m, enum kw_tls_mode *mode);

/* What both drivers take from their command line. */
struct driver_opts {
	struct kw_cluster *c;
	const char *ccfile, *spn, *fetch_file;
	unsigned timeout_ms, cancel_ms;
};

/*
 * An option both drivers take, argv[*i] (--host --port --user --expect-user --ca --spn
 * --ccache-file --fetch-file --timeout --cancel-after --tls): 1 taken, 0 not one of these, -1 a
 * bad value (said on stderr).
 */
int driver_opt(struct driver_opts *, int argc, char **argv, int *i);

/*
 * After the options: the usage check, logging, FILE's tickets into mem_ccache, fetch_file as a
 * "FILE:" name, the loop.  NULL (said on stderr) when any of it fails.
 */
struct event_base *driver_setup(struct driver_opts *, const char *argv0, const char *mem_ccache);

/* A driver's own option, argv[*i]: 1 taken, 0 not one of its own, -1 a bad value (said). */
typedef int (*driver_own_opt)(struct driver_opts *, int argc, char **argv, int *i);

struct login;
struct login_result;

/* One login's run, as both drivers watch it; the callbacks' arg. */
struct driver_run {
	struct kw_cluster c;
	struct driver_opts o;
	struct event_base *evb;
	struct login *login;
	const char *mem_ccache, *fetch_file;
	const char *cancelled;	/* the line printed when --cancel-after cancels the login */
	int fetch_now, fetch_never;	/* need_ticket answered from inside it, or never */
	int breaks;		/* the driver runs event_base_dispatch: done and cancel break it */
	int finished, exit_code, need_calls;
	struct event *cancel_ev;
};

/*
 * The run's cluster and options as both drivers default them for engine e: the engine's port
 * and default database, name and user krbmon, TLS verify-identity, a 5 s timeout.
 */
void driver_defaults(struct driver_run *, enum kw_engine e);
/* What done does once it printed the result: the login is over, the exit status its reason's. */
void driver_done(struct driver_run *, const struct login_result *);
/*
 * Every option (driver_opt's, then own's; anything else is unknown), driver_setup, then
 * login_start for the run's cluster with done and, when the run answers tickets (fetch_file or fetch_never),
 * need_ticket: copy fetch_file's tickets into the cache (from the loop, or at once with
 * fetch_now), then login_ticket_ready.  Then --cancel-after's timer.  0, or 2 (said on stderr)
 * when an option was wrong, the set-up failed, or login_start failed or called back inside itself.
 */
int driver_start(struct driver_run *, int argc, char **argv, driver_own_opt own,
    void (*done)(void *, const struct login_result *));
/* After the loop: the cancel timer goes; a run that did not finish exits 2 (said on stderr). */
void driver_loop_ended(struct driver_run *);
/* The loop and the MEMORY cache go; the run's exit status. */
int driver_end(struct driver_run *);

/* What a driver is: its engine, its own options, its done and its loop's contract. */
struct driver_kind {
	enum kw_engine engine;
	driver_own_opt own;
	void (*done)(void *, const struct login_result *);
	/* runs the loop until the login ended, then driver_loop_ended and the driver's checks */
	void (*wait)(struct driver_run *);
};
/* A driver's main: driver_defaults, driver_start, kind's wait, driver_end. */
int driver_main(struct driver_run *, const struct driver_kind *, int argc, char **argv);

#endif
