/*
 * libFuzzer target for the MySQL/MariaDB login state machine of probes/login_mysql.c (included,
 * to reach its static functions): a login is made by hand on a bufferevent pair instead of a
 * socket, the input is put in its read buffer as a server's bytes, and login_read_cb drives the
 * states (greeting, handshake response, AuthSwitchRequest, the SPN check, ERR/OK, the query)
 * as far as the bytes take it.  Nothing reaches a network: the ticket cache is an empty MEMORY
 * cache, so a good SPN ends in ST_TICKET, where need_ticket answers "no ticket".
 *
 * Input: one control byte, then the server's bytes.  Bit 0: mysql or mariadb; bit 1: spn: set
 * (to mysql/db.example.com@AWSMAD.KERBEROS.COM) or derived; bit 2: expect_user set.
 * Seeds: tests/fuzz/mysql_login/ (made by make_seeds.py).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <event2/bufferevent.h>

#include "../../probes/login_mysql.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fz_ended;	/* done() ran: the login frees itself right after */

static void
fz_done(void *arg, const struct login_result *r)
{
	(void)arg;
	(void)r;
	fz_ended = 1;
}

static void
fz_need_ticket(void *arg, struct login *l, const char *spn)
{
	(void)arg;
	(void)spn;
	login_mysql_ticket_ready(l, KW_R_PRINCIPAL_UNKNOWN);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct event_base *base;
	struct bufferevent *pair[2];
	struct login *l;
	uint8_t ctl;

	if (size < 1)
		return 0;
	if (base == NULL && (base = event_base_new()) == NULL)
		abort();
	ctl = data[0];
	data++;
	size--;

	l = xcalloc(1, sizeof *l);
	l->base = base;
	l->b.cb.done = fz_done;
	l->b.cb.need_ticket = fz_need_ticket;
	l->engine = (ctl & 1) ? KW_ENGINE_MARIADB : KW_ENGINE_MYSQL;
	l->name = xstrdup("fuzz");
	l->b.host = xstrdup("db.example.com");
	l->b.user = xstrdup("krbmon");
	l->b.expect_user = (ctl & 4) ? xstrdup("krbmon@%") : NULL;
	l->b.ccache = xstrdup("MEMORY:fuzz-mysql-login");
	xasprintf(&l->b.spn, "%s/db.example.com@AWSMAD.KERBEROS.COM",
	    l->engine == KW_ENGINE_MYSQL ? "mysql" : "mariadb");
	l->cfg_spn = (ctl & 2) ? xstrdup(l->b.spn) : NULL;
	l->port = 3306;
	l->tls_mode = KW_TLS_DISABLE;
	l->timeout_ms = 1000;
	l->plugin = l->engine == KW_ENGINE_MYSQL ? PLUGIN_MYSQL_KRB : PLUGIN_MARIADB_GSS;
	l->b.done_ev = event_new(base, -1, 0, done_cb, l);
	l->b.deadline = evtimer_new(base, deadline_cb, l);
	l->connect_timer = evtimer_new(base, connect_timer_cb, l);
	l->b.kick = event_new(base, -1, 0, kick_cb, l);
	if (bufferevent_pair_new(base, 0, pair) == -1)
		abort();
	l->b.bev = pair[0];
	bufferevent_setcb(l->b.bev, login_read_cb, NULL, login_event_cb, l);
	l->state = ST_GREETING;

	fz_ended = 0;
	evbuffer_add(bufferevent_get_input(l->b.bev), data, size);
	login_read_cb(l->b.bev, l);
	/* a ticket answer, then the end, are queued on the loop: run them (done_cb frees) */
	for (int i = 0; i < 3 && !fz_ended; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	if (!fz_ended)
		login_mysql_cancel(l);
	bufferevent_free(pair[1]);
	return 0;
}
