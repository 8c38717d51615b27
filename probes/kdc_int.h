/*
 * The inside of the KDC probe, shared by its run (kdc.c) and its DNS side (kdc_dns.c) and by
 * nothing else.  An interface: types and prototypes only.
 */
#ifndef KRBWATCH_KDC_INT_H
#define KRBWATCH_KDC_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <krb5/krb5.h>

#include "../conf/config.h"
#include "../lib/reason.h"
#include "probe.h"

struct dns_client;
struct event;
struct kdc_req;

#define KDC_PORT 88
#define KPASSWD_PORT 464

enum t_state { T_RESOLVING, T_SENT, T_ENDED };

struct kdc_run;
struct lookup;

/* One KDC on one transport and port. */
struct target {
	struct kdc_run *run;
	enum t_state state;
	const char *realm;		/* the config's */
	char *host;			/* the kdc label: as configured, or an SRV target */
	uint16_t port;
	char port_l[8];
	int tcp, kpasswd;
	struct lookup *lk;		/* resolving host, while T_RESOLVING */
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct kdc_req *req;
	struct timespec sent;
	enum kw_reason reason;
	char why[128];			/* the words behind a failure */
	double rtt;
	int has_time;			/* the reply carried the KDC's time */
	double skew;			/* KDC time minus ours, seconds */
	int krb_error;			/* the KRB-ERROR code seen, -1 if none */
};

enum lk_kind { LK_SRV, LK_ADDR };

/* One DNS question, tried on the Region's resolvers in order while they fail to answer. */
struct lookup {
	struct kdc_run *run;
	enum lk_kind kind;
	char *name;
	int rrtype;
	size_t resolver;
	int done;
	/* LK_SRV */
	const struct kw_realm *realm;
	int tcp, kpasswd;
};

/*
 * What one run takes from DNS.  A resolver decides how many KDCs an SRV answer names: one that
 * named 2,400 made a run open a socket per target (1,023 of 1,024 descriptors), log thousands
 * of "Too many open files" lines, refuse scrapes and leave 4,800 krbwatch_kdc_up series.  An AD
 * site has a handful of DCs and a whole domain rarely more than a few dozen; past 16 per answer
 * (in priority order) the probe would learn nothing a Region's clients use, and 64 per run keeps
 * a run's sockets, and its series, a small fraction of the descriptors a process has.
 */
#define KDC_MAX_SRV_TARGETS	16	/* per SRV answer */
#define KDC_MAX_TARGETS		64	/* per run: endpoints probed, sockets open at once */

struct kdc_run {
	struct probe_job *job;
	krb5_context ctx;		/* builds AS-REQs, reads KRB-ERRORs; no network ever (kdc_msg.h) */
	struct target **t;
	size_t nt;
	struct lookup **lk;
	size_t nlk;
	struct dns_client **dc;		/* one per resolver of the Region, made on first use */
	size_t ndc;
	size_t pending;			/* targets not ended + lookups not done */
	int ending;			/* dns callbacks that run while clients are freed are ignored */
	struct event *finish;
	/* a realm whose KDCs could not even be found */
	enum kw_reason realm_reason;
	char realm_why[256];
	/* what the bounds left out, logged once per run with the count */
	size_t srv_dropped, targets_dropped, no_socket;
};

/* kdc.c */
void kdc_run_check_done(struct kdc_run *);
void kdc_target_add(struct kdc_run *, const char *realm, const char *host, uint16_t port, int tcp,
    int kpasswd);
void kdc_target_send(struct target *);
void kdc_target_end(struct target *, enum kw_reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* kdc_dns.c */
struct lookup *kdc_lookup_new(struct kdc_run *, enum lk_kind, const char *name, int rrtype);
void kdc_lookup_send(struct lookup *);
void kdc_lookup_end(struct lookup *);
void kdc_realm_fail(struct lookup *, enum kw_reason, const char *what);
void kdc_srv_discover(struct kdc_run *, const struct kw_realm *);

#endif
