/*
 * The configuration: what krbwatch watches, loaded from YAML and validated in full.
 *
 * config_load() reports every problem it finds, each as "FILE:LINE:COL: message", and returns
 * NULL if there was any.  A returned config is complete: defaults are filled in, every
 * reference (a Region's realm, a file) has been checked.  The config owns all its memory.
 */
#ifndef KRBWATCH_CONFIG_H
#define KRBWATCH_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define KW_DEFAULT_CONFIG "/etc/krbwatch/krbwatch.yml"
#define KW_DEFAULT_LISTEN "127.0.0.1:10088"
#define KW_DEFAULT_INTERVAL_MS 30000
#define KW_DEFAULT_TIMEOUT_MS 10000
#define KW_DEFAULT_AFTER_FAILURES 3
#define KW_DEFAULT_LOGIN_CONCURRENCY 4
#define KW_MAX_LOGIN_CONCURRENCY 64
#define KW_DEFAULT_HOOK_TIMEOUT_MS 5000
#define KW_DEFAULT_HOOK_RETRIES 5
#define KW_DEFAULT_HOOK_BACKOFF_MS 1000
#define KW_DEFAULT_HOOK_QUEUE 64
#define KW_MAX_HOOK_QUEUE 10000
#define KW_MAX_HOOK_RETRIES 100
#define KW_MAX_HOOK_HEADERS 32
#define KW_DEFAULT_MAX_FAILED_ATTEMPTS 2
#define KW_MAX_FAILED_ATTEMPTS 100      /* LK_MAX_ATTEMPTS */
#define KW_DEFAULT_LOCKOUT_WINDOW_MS (30ULL * 60 * 1000)
#define KW_MIN_LOCKOUT_WINDOW_MS (60ULL * 1000)

/* A host with an optional port, as written in the file ("10.0.0.1", "[::1]:88", "kdc1.example:88"). */
struct kw_addr {
	char *host;     /* without brackets */
	uint16_t port;  /* the default of its context when the file gave none */
	int line, col;  /* where it was written, for later messages */
};

/* A list of KDCs: given addresses, or "dns" (SRV records through the Region's resolvers). */
struct kw_kdcs {
	int from_dns;
	struct kw_addr *addrs;
	size_t n;
};

struct kw_realm {
	char *name;     /* ONPREM.EXAMPLE.COM */
	char *domain;   /* onprem.example.com */
	struct kw_kdcs kdcs; /* from_dns when the file says "dns" or gives nothing */
	int kdcs_given;
};

enum kw_engine { KW_ENGINE_MYSQL, KW_ENGINE_MARIADB, KW_ENGINE_POSTGRESQL };

enum kw_tls_mode {
	KW_TLS_DISABLE,         /* no TLS (lab or a socket that is already private) */
	KW_TLS_REQUIRE,         /* TLS, any certificate */
	KW_TLS_VERIFY_CA,       /* TLS, a certificate signed by ca */
	KW_TLS_VERIFY_IDENTITY, /* ... and naming host */
};

/* A host name the configuration gives, and where (for messages about it later). */
struct kw_name {
	char *name;
	int line, col;
};

/*
 * A cluster's endpoints (Aurora's writer "cluster" endpoint, reader endpoint, instance
 * endpoints).  The writer is the cluster's host.  The reader endpoint is resolved every run and
 * each address it gives is logged in to; the instance endpoints name those addresses.
 */
struct kw_endpoints {
	struct kw_name reader;          /* name NULL: the cluster has no reader endpoint */
	struct kw_name *instances;
	size_t ninstances;
};

struct kw_cluster {
	char *name;
	enum kw_engine engine;
	char *host;
	uint16_t port;          /* 3306 for mysql/mariadb, 5432 for postgresql unless given */
	char *user;
	char *expect_user;      /* NULL: not checked */
	char *spn;              /* NULL: announced by the server or derived */
	char *database;         /* postgresql: the database to connect to (default "postgres") */
	enum kw_tls_mode tls_mode;
	char *tls_ca;           /* NULL: the system's trust store */
	int line, col;
	struct kw_endpoints endpoints; /* all empty: the cluster is its host, as before */
	int host_line, host_col;       /* where host (or endpoints.writer) was written */
	/*
	 * Not from the file: a copy of a cluster made by a probe to log in to one address of an
	 * endpoint (a reader instance) while host stays the name for TLS and the SPN.  NULL:
	 * resolve host.
	 */
	const char *connect_addr;
};

/* One member of a global database: a cluster of some Region. */
struct kw_global_member {
	char *cluster;                  /* a cluster name */
	size_t region, index;           /* where it is: conf->regions[region].clusters[index] */
	/*
	 * The same, as pointers into the loaded configuration: they stay right in a copy of it
	 * whose regions are a subset (`krbwatch probe --region`), which shares the clusters.
	 */
	const struct kw_cluster *c;
	const char *region_name;
	int line, col;
};

/*
 * An Aurora Global Database: its global writer endpoint (a CNAME to the writer Region's
 * cluster endpoint) and its member clusters, at most one per Region.
 */
struct kw_global_db {
	char *name;
	struct kw_name endpoint;
	struct kw_global_member *members;
	size_t nmembers;
	int line, col;
};

/* One Region's view of one realm's KDCs. */
struct kw_region_kdcs {
	char *realm;            /* a key of the realms mapping */
	struct kw_kdcs kdcs;
};

struct kw_region {
	char *name;             /* us-east-1 */
	char *site;             /* AD site, default: name */
	struct kw_addr *resolvers; /* port default 53 */
	size_t nresolvers;
	struct kw_region_kdcs *kdcs; /* as written; realms not listed use the realm's own kdcs */
	size_t nkdcs;
	struct kw_cluster *clusters;
	size_t nclusters;
	int line, col;
};

/* An extra HTTP header of a webhook, checked at load: a token name and a value without CR/LF. */
struct kw_header {
	char *name;
	char *value;
};

struct kw_webhook {
	char *url;
	char *bearer_token_file; /* NULL: none */
	uint64_t timeout_ms;     /* of one attempt, connection included */
	unsigned max_retries;    /* attempts after the first; 0: never retried */
	uint64_t backoff_ms;     /* before the first retry, doubled after each */
	size_t queue;            /* notifications held, the one being sent included */
	struct kw_header *headers;
	size_t nheaders;
};

/* A file the configuration names, and where: TLS files are read later, and their errors point here. */
struct kw_file {
	char *path;             /* absolute */
	int line, col;
};

/* web.tls_server_config.client_auth_type, as the Prometheus exporter-toolkit names them. */
enum kw_client_auth {
	KW_CLIENT_NO_CERT,              /* NoClientCert */
	KW_CLIENT_REQUEST,              /* RequestClientCert: asked for, not checked */
	KW_CLIENT_REQUIRE_ANY,          /* RequireAnyClientCert: required, not checked */
	KW_CLIENT_VERIFY_IF_GIVEN,      /* VerifyClientCertIfGiven: checked against client_ca_file */
	KW_CLIENT_REQUIRE_AND_VERIFY,   /* RequireAndVerifyClientCert */
};

struct kw_web_user {
	char *name;
	char *hash;             /* bcrypt: $2y$, $2b$ or $2a$ */
};

/* The HTTP listener's TLS and basic authentication (exporter-toolkit's web-config.yml). */
struct kw_web {
	int tls;                /* tls_server_config given: HTTPS only */
	struct kw_file cert, key, client_ca; /* client_ca.path NULL when not given */
	enum kw_client_auth client_auth;
	int min_version;        /* 10, 11, 12 or 13 for TLS 1.0 ... 1.3; default 12 */
	struct kw_web_user *users; /* basic_auth_users; none: no authentication */
	size_t nusers;
};

struct kw_config {
	char *path;
	struct kw_addr listen;
	uint64_t interval_ms;
	uint64_t timeout_ms;
	unsigned login_concurrency;   /* logins at a time to one database host:port (login_gate.h) */
	char *principal;
	char *keytab;           /* resolved path (see config_keytab_path) */
	unsigned max_failed_attempts; /* AS exchanges with pre-authentication that may fail ... */
	uint64_t lockout_window_ms;   /* ... per this window (probes/lockout.h) */
	char *state_directory;  /* absolute; NULL: the lockout state is kept in memory only */
	struct kw_realm *realms;
	size_t nrealms;
	struct kw_region *regions;
	size_t nregions;
	unsigned after_failures;
	struct kw_webhook *webhooks;
	size_t nwebhooks;
	struct kw_web web;
	struct kw_global_db *globals;   /* global_databases */
	size_t nglobals;
};

/* Messages gathered while loading, in the order found. */
struct kw_errors {
	char **msg;
	size_t n;
};

struct kw_config *config_load(const char *path, struct kw_errors *errs);
/*
 * The same on text already in memory (the fuzz target's way in): name stands for the file in
 * messages and is where relative paths in it are resolved from.
 */
struct kw_config *config_load_buffer(const char *name, const void *text, size_t len,
    struct kw_errors *errs);
void config_free(struct kw_config *);
void errors_clear(struct kw_errors *);

/* The KDC list a Region uses for a realm: its own entry, else the realm's. */
const struct kw_kdcs *config_region_kdcs(const struct kw_config *, const struct kw_region *,
    const struct kw_realm *);
const struct kw_realm *config_realm(const struct kw_config *, const char *name);

/*
 * Reads and checks a bearer_token_file (see config_files.c): 0 with *token (wipe it, then
 * free), or -1 with why ("is empty ...", to follow the file's name).
 */
#define KW_MAX_TOKEN 4096
int config_read_token(const char *path, char **token, char *why, size_t whysz);

/* "30s" -> 30000. Returns -1 on a malformed duration. Exposed for tests. */
int config_parse_duration(const char *s, uint64_t *ms);
/* "host", "host:port", "[v6]:port", "v6". Returns -1 (with *why set) on a malformed address. */
int config_parse_addr(const char *s, uint16_t default_port, struct kw_addr *out, const char **why);

const char *engine_name(enum kw_engine);

/*
 * What the configuration and the chain know of an engine, one row per kw_engine (config.c's
 * table): a new engine is its enum value, a row here, its login file with its row in
 * probes/login.c, and its words in daemon/explain.c.
 */
struct kw_engine_row {
	const char *name;		/* the `engine:` value */
	uint16_t default_port;
	const char *default_database;	/* NULL: the engine takes no `database:` */
	const char *service;		/* the service part of the SPN a client asks for */
};
const struct kw_engine_row *engine_row(enum kw_engine);
/* The rows in enum order, and how many (the `engine:` values, for the loader's choice). */
extern const struct kw_engine_row kw_engines[];
extern const size_t kw_nengines;
/* The global database cluster c is a member of, NULL if none. */
const struct kw_global_db *config_global_of(const struct kw_config *, const struct kw_cluster *c);
const char *tls_mode_name(enum kw_tls_mode);

#endif
