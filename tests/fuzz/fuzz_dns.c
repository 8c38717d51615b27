/*
 * libFuzzer target for the DNS result handling of net/dns_client.c: the input is a raw reply
 * as a resolver sends it, read as an SRV answer, an A answer and an AAAA answer, as the DNS and
 * KDC probes read them.  Seeds: tests/fuzz/dns/.
 */
#include <arpa/nameser.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <ares.h>

#include "../../net/dns_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int rrtypes[] = { ns_t_a, ns_t_aaaa };
	int alen = size > 65535 ? 65535 : (int)size;
	struct dns_srv *srv;
	struct dns_addr *addrs;
	size_t n;

	if (dns_parse_srv(data, alen, &srv, &n) == ARES_SUCCESS) {
		if (n == 0)
			abort();
		for (size_t i = 0; i < n; i++)
			if (srv[i].target == NULL ||
			    (i > 0 && srv[i].priority < srv[i - 1].priority))
				abort();
	} else if (srv != NULL || n != 0)
		abort();
	dns_srv_free(srv, n);
	for (size_t t = 0; t < sizeof rrtypes / sizeof rrtypes[0]; t++) {
		if (dns_parse_addrs(data, alen, rrtypes[t], &addrs, &n) == ARES_SUCCESS) {
			if (n == 0)
				abort();
			for (size_t i = 0; i < n; i++)
				if (addrs[i].family != (rrtypes[t] == ns_t_a ? AF_INET : AF_INET6))
					abort();
		} else if (addrs != NULL || n != 0)
			abort();
		free(addrs);
	}
	return 0;
}
