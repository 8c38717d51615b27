#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../lib/log.h"
#include "krb5_env.h"

static const char profile[] =
    "[libdefaults]\n"
    "\tdns_lookup_kdc = false\n"
    "\tdns_lookup_realm = false\n"
    "\tdns_canonicalize_hostname = false\n"
    "\trdns = false\n"
    "\tdefault_ccache_name = MEMORY:krbwatch-default\n"
    "\tkdc_timesync = 1\n"
    "\tforwardable = false\n"
    "\tnoaddresses = true\n";

const char *
krb5_env_profile(void)
{
	static char path[64];
	int fd;

	if (path[0] != '\0')
		return path;
	/* the descriptor stays open for the life of the process: the library re-reads the path */
	if ((fd = memfd_create("krbwatch-krb5.conf", MFD_CLOEXEC)) == -1) {
		log_err("memfd_create: %s", strerror(errno));
		return NULL;
	}
	if (write(fd, profile, sizeof profile - 1) != (ssize_t)(sizeof profile - 1)) {
		log_err("writing the krb5 profile: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	return path;
}

int
krb5_env_init(void)
{
	const char *path;

	if ((path = krb5_env_profile()) == NULL)
		return -1;
	if (setenv("KRB5_CONFIG", path, 1) == -1 ||
	    setenv("KRB5CCNAME", "MEMORY:krbwatch-default", 1) == -1 ||
	    unsetenv("KRB5_TRACE") == -1 || unsetenv("KRB5_KDC_PROFILE") == -1) {
		log_err("setenv: %s", strerror(errno));
		return -1;
	}
	return 0;
}
