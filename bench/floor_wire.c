/*
 * The floor over the wire: what the TLS part of bench/floor.c costs a client when the handshake
 * really crosses the kernel to the lab's PostgreSQL, as every krbwatch login does.  floor.c runs
 * its handshake over a BIO pair in one process (no socket, no system call, no wakeup); here, in
 * a tight blocking loop, each iteration is
 *
 *   tcp   socket, connect, SSLRequest, the server's 'S', close: the connection alone
 *   tls   the same, then one TLS full handshake on the socket (the same context set-up as
 *         floor.c: the CA loaded once, the host name checked, P-256 offered first as the server
 *         wants), then close
 *
 * timed with the process's CPU (user + system: the kernel's network stack and the wakeups are
 * the point), so tls − tcp is the handshake's price on this kernel and tls − floor.c's tls_pg
 * what the socket adds to it.  Only PostgreSQL: a MariaDB counts handshakes broken off before
 * authentication against max_connect_errors and would block the lab's client address.
 *
 * floor_wire --ip IP --port P --host H --ca CA [--iters N]
 * Prints one JSON object: the median and spread of each part in microseconds over batches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define BATCHES 9

static const unsigned char ssl_request[8] = { 0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f };

static struct sockaddr_in server;
static const char *tls_host;
static SSL_CTX *cli_ctx;

/* the process's CPU, user and system: unlike floor.c's thread clock, the kernel's work counts */
static double
proc_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void
die(const char *what)
{
	fprintf(stderr, "floor_wire: %s failed\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

/* A connected socket whose SSLRequest the server has answered 'S'. */
static int
pg_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	char a;

	if (fd == -1 || connect(fd, (struct sockaddr *)&server, sizeof server) == -1)
		die("connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (write(fd, ssl_request, sizeof ssl_request) != (ssize_t)sizeof ssl_request ||
	    read(fd, &a, 1) != 1 || a != 'S')
		die("SSLRequest");
	return fd;
}

static void
tcp_one(void)
{
	close(pg_connect());
}

static void
tls_one(void)
{
	int fd = pg_connect();
	SSL *c = SSL_new(cli_ctx);

	if (c == NULL)
		die("SSL_new");
	SSL_set_tlsext_host_name(c, tls_host);
	if (SSL_set1_groups_list(c, "P-256:X25519") != 1)
		die("groups");
	X509_VERIFY_PARAM_set_hostflags(SSL_get0_param(c), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	X509_VERIFY_PARAM_set1_host(SSL_get0_param(c), tls_host, 0);
	SSL_set_fd(c, fd);
	if (SSL_connect(c) != 1 || SSL_get_verify_result(c) != X509_V_OK)
		die("the handshake");
	SSL_free(c);
	close(fd);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
part(const char *name, void (*one)(void), int iters, int last)
{
	double us[BATCHES];

	one();			/* warm: the first connection pays for what later ones reuse */
	for (int b = 0; b < BATCHES; b++) {
		double t = proc_cpu();

		for (int i = 0; i < iters; i++)
			one();
		us[b] = (proc_cpu() - t) * 1e6 / iters;
	}
	qsort(us, BATCHES, sizeof us[0], cmp_double);
	printf(" \"%s\": {\"median_us\": %.2f, \"min_us\": %.2f, \"max_us\": %.2f, \"n\": %d}%s\n",
	    name, us[BATCHES / 2], us[0], us[BATCHES - 1], iters * BATCHES, last ? "" : ",");
}

int
main(int argc, char **argv)
{
	const char *ip = NULL, *ca = NULL;
	int port = 5432, iters = 100;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--ip") == 0)
			ip = argv[i + 1];
		else if (strcmp(argv[i], "--port") == 0)
			port = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--host") == 0)
			tls_host = argv[i + 1];
		else if (strcmp(argv[i], "--ca") == 0)
			ca = argv[i + 1];
		else if (strcmp(argv[i], "--iters") == 0)
			iters = atoi(argv[i + 1]);
	}
	server.sin_family = AF_INET;
	server.sin_port = htons((unsigned short)port);
	if (ip == NULL || tls_host == NULL || ca == NULL || iters <= 0 ||
	    inet_pton(AF_INET, ip, &server.sin_addr) != 1) {
		fprintf(stderr, "usage: floor_wire --ip IP --port P --host H --ca CA [--iters N]\n");
		return 2;
	}
	if ((cli_ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_load_verify_locations(cli_ctx, ca, NULL) != 1)
		die("the client context");
	SSL_CTX_set_min_proto_version(cli_ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(cli_ctx, SSL_VERIFY_PEER, NULL);
	printf("{\n");
	part("tcp", tcp_one, iters, 0);
	part("tls", tls_one, iters, 1);
	printf("}\n");
	return 0;
}
