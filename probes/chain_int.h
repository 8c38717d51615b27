/*
 * The inside of the chain probe (chain.c), shared by its three files and by nothing else:
 * krb_stepper.c carries one Kerberos exchange to the Region's KDCs, chain_branch.c walks one
 * cluster (referral path, service ticket, login), chain.c runs the whole and ends it.  An
 * interface: types and prototypes only.
 */
#ifndef KRBWATCH_CHAIN_INT_H
#define KRBWATCH_CHAIN_INT_H

#include <time.h>

#include <krb5/krb5.h>

#include "../net/kdc_locate.h"
#include "../net/kdc_transport.h"
#include "../net/krb5_reason.h"
#include "login.h"
#include "login_gate.h"
#include "probe.h"

struct event;

enum hop { HOP_TGT, HOP_REFERRAL, HOP_SERVICE_TICKET, HOP_LOGIN, HOP_COUNT };

struct hop_result {
	int ran;			/* 0: an earlier hop broke, so this one never ran */
	enum kw_reason reason;
	double duration;
	char detail[256];
	char enctype[48];	/* the ticket's enctype, "" if none */
	int kvno;		/* the ticket's key version, -1 if none */
};

struct chain;
struct stepper;
typedef void step_done_fn(struct stepper *, krb5_error_code, enum kw_reason, const char *detail);

/*
 * Drives one krb5_init_creds or krb5_tkt_creds context: each step hands back a request and a
 * realm; we send it to that realm's KDCs for this Region, failing over in order, and feed the
 * reply back.  `watch` sees each realm before its request goes out (the referral path stops there).
 */
struct stepper {
	struct chain *ch;
	krb5_init_creds_context icc;
	krb5_tkt_creds_context tcc;
	enum krb5_hop_kind kind;
	struct kdc_req *req;
	krb5_data out;			/* the request in flight (ours, freed after the reply) */
	char realm[256];
	int tcp;			/* the next send goes over TCP (RESPONSE_TOO_BIG) */
	size_t kdc_first;		/* where in the realm's list this request began */
	size_t kdc_tries;		/* KDCs that failed it so far */
	const struct kw_kdcs *kdcs;
	char kdc_used[64];		/* the KDC that answered last */
	char etext[128];		/* e-text of the last KRB-ERROR seen */
	int last_error;			/* its code, 0 if the last reply was not an error */
	int requests;			/* sent to the user realm, for the referral path */
	int parked;			/* waiting for its realm's KDCs to be looked up */
	char realms[192];		/* the realms asked, in order, for a referral loop's words */
	/*
	 * A pre-authenticated AS-REQ (lockout.h): it holds a reservation of the identity's budget
	 * and goes to one KDC only, once.
	 */
	int once;
	int reserved;
	int waiting;			/* for the budget: another exchange of the identity runs */
	int held;			/* the budget said no */
	struct event *budget_ev;
	char budget_why[256];
	step_done_fn *done;
	int (*watch)(struct stepper *, const char *realm);
	void *arg;
};

struct branch {
	struct chain *ch;
	const struct kw_cluster *c;
	char spn[256];
	struct stepper st;
	struct login_cache *lc;		/* its login's (chain_keep_ticket), NULL before its ticket */
	struct login *login;
	struct login_gate_wait gate;	/* its start paced, then its login's slot (login_gate.h) */
	struct timespec t0;
	struct hop_result referral_path, service, login_r;
	char announced_spn[256];	/* what the server announced in its login (login.h) */
	char announced_realm[128];
	int state;			/* BR_* */
	int ended;
	int extra;			/* chain_endpoints.c's: a reader address or a global endpoint */
};

enum { BR_REFERRAL_PATH, BR_SERVICE_TICKET, BR_LOGIN, BR_DONE };

struct chain {
	struct probe_job *job;
	krb5_context ctx;
	/*
	 * The run's MEMORY caches: cc, the exchanges', holds the TGT and the inter-realm TGT only;
	 * the logins' (lcs, chain_keep_ticket) hold them and the service tickets of up to 8
	 * branches each.  MIT searches a MEMORY cache from its start, copying each entry it passes,
	 * several times an exchange and twice a login: with a Region's service tickets in one
	 * cache each of those cost grew with its clusters (+110 to +230 us an exchange, +50 to +90
	 * us a login at 100 of them).  A cache per login would cost its GSS credential each time.
	 */
	krb5_ccache cc;
	char ccname[96];
	struct login_cache *lcs;		/* the newest first */
	unsigned nlc;
	krb5_principal me;
	krb5_keytab kt;
	krb5_get_init_creds_opt *opt;
	const char *user_realm, *db_realm;
	struct stepper st;
	struct timespec t0;
	struct hop_result hops[HOP_COUNT];	/* tgt and explicit referral; per branch for the rest */
	struct branch *br;
	size_t nbr, pending;
	int state;				/* CH_* */
	int held;				/* the TGT was held back by the lockout budget */
	struct event *finish;			/* ends the run from the loop, never from a callback chain */
	char dns_servers[512];			/* the Region's resolvers, for the logins' lookups */
	/*
	 * The KDC lists this run looked up ("dns" or host names, through the Region's resolvers),
	 * once per list, with the steppers that wait for them.
	 */
	struct located {
		struct chain *ch;
		const struct kw_kdcs *src;	/* the configured list */
		struct kw_kdcs kdcs;		/* numeric, in the order to try */
		struct kdc_locate *op;
		int done;
		enum kw_reason reason;
		char detail[256];
		struct stepper **waiting;
		size_t nwaiting;
	} loc[4];
	size_t nloc;
	/* per KDC list, the KDC that last answered: later requests of the run begin there */
	struct { const struct kw_kdcs *kdcs; size_t good; } pref[4];
	size_t npref;
	struct chain_endpoints *ep;		/* chain_endpoints.c: readers and global endpoints */
};

enum { CH_TGT, CH_REFERRAL, CH_BRANCHES };

/* chain.c; cell_of: a result's cell from a hop (chain_endpoints.c's rows too) */
struct hop_cell;
/*
 * A ticket of branch b's exchange into its login's cache (the TGTs and the tickets of b and up
 * to 7 other branches); 0, or the krb5 error.  chain_login_cache: that cache's name.
 */
struct branch;
krb5_error_code chain_keep_ticket(struct chain *, struct branch *b, krb5_creds *);
const char *chain_login_cache(const struct branch *);
void cell_of(struct hop_cell *, const struct hop_result *);
double chain_since(const struct timespec *);
void hop_set(struct hop_result *, enum kw_reason, double duration, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* krb_stepper.c */
void stepper_step(struct stepper *, krb5_data *in);
void stepper_cancel(struct stepper *);
int stepper_start_tgs(struct stepper *, krb5_principal server, krb5_flags options);
void ticket_info(krb5_context, const krb5_creds *, struct hop_result *);
void stepper_timeout(struct stepper *, struct hop_result *, const struct timespec *t0,
    const char *what);

/* chain_branch.c */
void branches_init(struct chain *);
void branches_start(struct chain *);
void branch_expire(struct branch *);
void branch_stop(struct branch *);	/* its login, gate and exchange, with the run */
/* A branch for cluster c (its SPN set), and its start at the service ticket (chain_endpoints.c). */
void branch_setup(struct chain *, struct branch *, const struct kw_cluster *c);
void branch_begin_service(struct branch *);
/* The SPN a client derives for engine and host: "mysql/HOST@REALM" (realm "" if none). */
void branch_spn_for(struct chain *, enum kw_engine, const char *host, char *buf, size_t len);

/*
 * chain_endpoints.c: the endpoints of a run.  The reader endpoints and global writer endpoints
 * are looked up (through the Region's resolvers) while the TGT is fetched; then one branch per
 * reader address and per global endpoint runs beside the clusters' branches, from the service
 * ticket on.  Their rows follow the clusters' (daemon/metrics_endpoints.c writes their series).
 */
void endpoints_start(struct chain *);
/* 1: the lookups still run, branches_start is called again when they end. */
int endpoints_wait(struct chain *);
size_t endpoints_branches(struct chain *);	/* makes the extra branches, returns how many */
/* step (branch_begin_service: starts them; branch_expire: the deadline) on each extra branch */
void endpoints_each(struct chain *, void (*step)(struct branch *));
/* Their rows (ROW_ENDPOINT, ROW_INSTANCE, ROW_GLOBAL) and `krbwatch probe` lines. */
struct probe_result;
void endpoints_finish(struct chain *, struct probe_result *);
void endpoints_free(struct chain *);

#endif
