#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "../conf/config.h"
#include "daemon.h"
#include "../lib/log.h"
#include "probe_cmd.h"
#include "reload_verdict.h"
#include "web.h"
#include "../net/krb5_env.h"

static const struct option longopts[] = KW_OPTIONS(
	{ "check-config", required_argument, NULL, 't' },
	{ "reload", required_argument, NULL, 'R' },
	{ "version", no_argument, NULL, 'V' }
);

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: krbwatch [-v] [-c FILE]\n"
	    "       krbwatch probe [-v] [-c FILE] [--region R] [--cluster C] [--json]\n"
	    "       krbwatch --check-config FILE\n"
	    "       krbwatch --reload PID\n"
	    "       krbwatch --version | --help\n"
	    "\n"
	    "Watches Kerberos authentication to database clusters, per AWS Region, hop by hop:\n"
	    "DNS, KDCs, TGT, cross-realm referral, service ticket and the database login.\n"
	    "Results are served as Prometheus metrics at http://LISTEN/metrics.\n"
	    "It never locks out its own account: at most identity.max_failed_attempts failed\n"
	    "pre-authentications per identity.lockout_window, kept in state_directory.\n"
	    "\n"
	    "  -c, --config FILE        the configuration (default " KW_DEFAULT_CONFIG ")\n"
	    "  -t, --check-config FILE  validate FILE, print every error as FILE:LINE:COL: ...,\n"
	    "                           exit 0 when it is valid, 1 when not\n"
	    "  --reload PID             send SIGHUP to the daemon PID and wait for its verdict:\n"
	    "                           exit 0 applied, 1 rejected (the unit's ExecReload=;\n"
	    "                           needs $RUNTIME_DIRECTORY, see krbwatch(8))\n"
	    "  -v, --verbose            also log debug messages\n"
	    "  -V, --version            print the version and exit\n"
	    "  -h, --help               print this help and exit\n"
	    "\n"
	    "krbwatch probe runs every probe once, now, prints each step and what a failure means,\n"
	    "and exits 0 only when every step passed (krbwatch probe --help).\n"
	    "\n"
	    "Signals: SIGHUP reloads the configuration (a bad file keeps the running one),\n"
	    "SIGTERM and SIGINT stop.  See krbwatch(8) and krbwatch.yml(5).\n");
}

/* The configuration, with its TLS certificate and key read once to see that they work. */
static struct kw_config *
load(const char *path)
{
	struct kw_errors errs = { 0 };
	struct kw_config *conf = config_load(path, &errs);
	struct web *web;

	if (conf != NULL) {
		if ((web = web_new(conf, &errs)) == NULL) {
			config_free(conf);
			conf = NULL;
		}
		web_free(web);
	}
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	errors_clear(&errs);
	return conf;
}

int
main(int argc, char **argv)
{
	const char *conf_path = KW_DEFAULT_CONFIG, *check = NULL, *reload_pid = NULL;
	struct kw_config *conf;
	int ch, verbose = 0;

	/*
	 * No core file, ever, and no ptrace by other processes of our uid: every mode of krbwatch
	 * (the daemon, probe, --check-config) may hold the keytab's keys, tickets, the bearer
	 * token, the TLS key or bcrypt hashes, and fatalx() and the watchdog end in SIGABRT.
	 * First thing, before any secret is read.  The unit adds LimitCORE=0.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		perror("krbwatch: prctl(PR_SET_DUMPABLE, 0)");
		return 1;
	}
	if (argc > 1 && strcmp(argv[1], "probe") == 0)
		return probe_main(argc - 1, argv + 1);
	while ((ch = getopt_long(argc, argv, "c:t:vVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 't':
			check = optarg;
			break;
		case 'R':
			reload_pid = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf("krbwatch %s\n", KRBWATCH_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "krbwatch: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (reload_pid != NULL)
		return verdict_reload_main(reload_pid);
	log_init(verbose);
	if (check != NULL) {
		if ((conf = load(check)) == NULL)
			return 1;
		printf("%s: OK\n", check);
		config_free(conf);
		return 0;
	}
	if ((conf = load(conf_path)) == NULL) {
		log_err("%s: not valid, not starting", conf_path);
		return 1;
	}
	if (krb5_env_init() == -1) {
		config_free(conf);
		return 1;
	}
	return daemon_run(conf_path, conf);
}
