/*
 * The MySQL/MariaDB login from the HandshakeResponse on: the switch to the Kerberos plugin
 * (authentication_kerberos_client, auth_gssapi_client), the GSS exchange with the ticket the
 * chain fetched, the server's verdict, and SELECT CURRENT_USER().  The state machine around it
 * is login_mysql.c's; PROTOCOLS.md sections 1 and 2 give the wire facts.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "../lib/log.h"
#include "../lib/xmalloc.h"
#include "../net/gss_token.h"
#include "login_mysql_int.h"

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

size_t
myl_put_client_caps(const struct login *l, uint8_t *p)
{
	put_u32(p, l->caps);
	put_u32(p + 4, 16U << 20);	/* max packet */
	p[8] = 33;			/* utf8_general_ci */
	memset(p + 9, 0, 23);
	return 32;
}

void
myl_send_handshake_response(struct login *l)
{
	size_t ulen = strlen(l->b.user), plen = strlen(l->plugin), n;
	uint8_t *p = xmalloc(32 + ulen + 1 + 1 + plen + 1);

	n = myl_put_client_caps(l, p);
	memcpy(p + n, l->b.user, ulen + 1);
	n += ulen + 1;
	p[n++] = 0;			/* no auth-response: the server switches to its plugin */
	memcpy(p + n, l->plugin, plen + 1);
	n += plen + 1;
	myl_send_packet(l, p, n);
	free(p);
	myl_set_state(l, ST_AUTH);
}

static void
start_gss(struct login *l)
{
	struct gss_token_err err;
	void *tok;
	size_t toklen;
	int complete;

	l->gss_started = 1;
	if ((l->b.gss = gss_token_new(l->b.ccache, l->b.res.announced_spn, &err)) == NULL ||
	    gss_token_step(l->b.gss, NULL, 0, &tok, &toklen, &complete, &err) == -1) {
		myl_finish(l, err.reason, "GSS for %s: %s", l->b.res.announced_spn, err.text);
		return;
	}
	myl_send_packet(l, tok, toklen);
	gss_token_release(tok, toklen);
	myl_set_state(l, ST_GSS);
}

/* The ticket for the announced SPN is in the cache, or it is asked for. */
void
myl_ticket_then_gss(struct login *l)
{
	struct gss_token_err err;
	int have = gss_token_have_ticket(l->b.ccache, l->b.res.announced_spn, &err);

	if (have == -1) {
		myl_finish(l, err.reason == KW_OK ? KW_R_GSS : err.reason, "%s", err.text);
		return;
	}
	if (have == 1) {
		start_gss(l);
		return;
	}
	if (l->b.cb.need_ticket == NULL || l->ticket_asked) {
		myl_finish(l, KW_R_GSS, "no ticket for %s in %s%s", l->b.res.announced_spn, l->b.ccache,
		    l->ticket_asked ? " after need_ticket" : "");
		return;
	}
	l->ticket_asked = 1;
	myl_set_state(l, ST_TICKET);
	/* login_ticket_ready may come from inside this call: it only schedules the kick */
	l->b.cb.need_ticket(l->b.cb.arg, l, l->b.res.announced_spn);
}

/*
 * Whether the announced SPN is one we may ask a ticket for.  The server chooses the name, and
 * a ticket goes to whoever asks: a server that announced cifs/fileserver.<user realm> got
 * krbmon's ticket for that file server, to relay within the skew window.  So with spn: set,
 * only that name; without it, only <service>/<host> of the configured engine and host (case
 * aside: DNS names and AD's service names are not case-sensitive) in the realm the chain
 * derived (l->b.spn's, when it has one).  Decided before any ticket is asked for.
 */
static int
spn_acceptable(struct login *l, char *why, size_t whysz)
{
	const char *a = l->b.res.announced_spn, *svc = engine_row(l->engine)->service;
	const char *slash = strchr(a, '/'), *at = strrchr(a, '@');
	const char *want_at = l->b.spn != NULL ? strrchr(l->b.spn, '@') : NULL;
	size_t hl;

	if (l->cfg_spn != NULL) {
		if (strcmp(a, l->cfg_spn) == 0)
			return 1;
		my_why(why, whysz, "the server announces %.100s, spn: is %.100s", a, l->cfg_spn);
		return 0;
	}
	hl = strlen(l->b.host);
	if (slash == NULL || at == NULL || at < slash || (size_t)(slash - a) != strlen(svc) ||
	    strncasecmp(a, svc, strlen(svc)) != 0 || (size_t)(at - slash - 1) != hl ||
	    strncasecmp(slash + 1, l->b.host, hl) != 0 ||
	    (want_at != NULL && want_at[1] != '\0' && strcmp(at + 1, want_at + 1) != 0)) {
		my_why(why, whysz, "the server announces %.100s, not %s/%.60s@%.60s", a, svc,
		    l->b.host, want_at != NULL && want_at[1] != '\0' ? want_at + 1 : "REALM");
		return 0;
	}
	return 1;
}

/* The Kerberos plugin's first server packet: the SPN (and for MySQL the realm). */
static void
plugin_first_data(struct login *l, const uint8_t *p, size_t n)
{
	char why[160], mech[64];
	int r;

	if (strcmp(l->plugin, PLUGIN_MYSQL_KRB) == 0)
		r = my_parse_krb_info(p, n, l->b.res.announced_spn, sizeof l->b.res.announced_spn,
		    l->b.res.announced_realm, sizeof l->b.res.announced_realm, why, sizeof why);
	else
		r = my_parse_gssapi_info(p, n, l->b.res.announced_spn, sizeof l->b.res.announced_spn,
		    mech, sizeof mech, why, sizeof why);
	if (r == -1) {
		myl_finish(l, KW_R_PROTOCOL, "%s", why);
		return;
	}
	if (!spn_acceptable(l, why, sizeof why)) {
		myl_finish(l, KW_R_SPN_MISMATCH, "%s", why);
		return;
	}
	myl_ticket_then_gss(l);
}

/* An ERR packet during authentication: the server's words may name a Kerberos reason. */
static void
finish_auth_err(struct login *l, const struct my_err *e)
{
	static const char boiler[] = "Unspecified GSS failure.  Minor code may provide more "
	    "information.";
	char text[sizeof e->msg], *b;
	size_t i, j;

	/* GSSAPI's stock words leave no room in the detail for the reason that follows them */
	snprintf(text, sizeof text, "%s", e->msg);
	if ((b = strstr(text, boiler)) != NULL)
		memmove(b, b + sizeof boiler - 1, strlen(b + sizeof boiler - 1) + 1);
	for (i = j = 0; text[i] != '\0'; i++)
		if (text[i] != ' ' || (j > 0 && text[j - 1] != ' '))
			text[j++] = text[i];
	text[j] = '\0';
	l->b.res.server_error = (int)e->code;
	myl_finish(l, gss_token_server_text_reason(e->msg), "ERR %u%s%s: %s", e->code,
	    e->state[0] ? " " : "", e->state, text);
}

static void
send_query(struct login *l)
{
	static const char q[] = "\x03" "SELECT CURRENT_USER()";

	l->seq = 0;
	memset(&l->rs, 0, sizeof l->rs);
	l->rs.deprecate_eof = (l->caps & CLIENT_DEPRECATE_EOF) != 0;
	myl_send_packet(l, q, sizeof q - 1);
	myl_set_state(l, ST_QUERY);
}

void
myl_handle_auth(struct login *l, const uint8_t *p, size_t n)
{
	struct my_auth a;
	char why[128];
	struct gss_token_err err;
	void *tok;
	size_t toklen;
	int complete;

	if (my_parse_auth(p, n, &a, why, sizeof why) == MY_AUTH_BAD) {
		myl_finish(l, KW_R_PROTOCOL, "%s", why);
		return;
	}
	switch (a.kind) {
	case MY_AUTH_OK:
		if (!l->gss_started) {
			myl_finish(l, KW_R_PROTOCOL, "the server let %s in without a Kerberos exchange",
			    l->b.user);
			return;
		}
		/* an OK before the AP-REP: whoever answers never proved it holds the service key */
		if (!gss_token_complete(l->b.gss)) {
			myl_finish(l, KW_R_GSS, "the server said OK without authenticating itself "
			    "(no AP-REP for %s: mutual authentication)", l->b.res.announced_spn);
			return;
		}
		send_query(l);
		return;
	case MY_AUTH_ERR:
		finish_auth_err(l, &a.err);
		return;
	case MY_AUTH_SWITCH:
		if (l->switched || l->gss_started) {
			myl_finish(l, KW_R_PROTOCOL, "a second AuthSwitchRequest (to %s)", a.plugin);
			return;
		}
		l->switched = 1;
		if (strcmp(a.plugin, PLUGIN_MYSQL_KRB) == 0)
			l->plugin = PLUGIN_MYSQL_KRB;
		else if (strcmp(a.plugin, PLUGIN_MARIADB_GSS) == 0)
			l->plugin = PLUGIN_MARIADB_GSS;
		else {
			myl_finish(l, KW_R_ACCESS_DENIED, "the server asks for plugin %s: is %s a "
			    "Kerberos account?", a.plugin, l->b.user);
			return;
		}
		plugin_first_data(l, a.data, a.len);
		return;
	case MY_AUTH_DATA:
		if (!l->gss_started) {
			plugin_first_data(l, a.data, a.len);
			return;
		}
		if (a.len == 0) {
			myl_finish(l, KW_R_PROTOCOL, "an empty GSS token from the server");
			return;
		}
		if (gss_token_step(l->b.gss, a.data, a.len, &tok, &toklen, &complete, &err) == -1) {
			myl_finish(l, err.reason, "GSS for %s: %s", l->b.res.announced_spn, err.text);
			return;
		}
		if (toklen > 0)
			myl_send_packet(l, tok, toklen);
		gss_token_release(tok, toklen);
		return;
	case MY_AUTH_BAD:
		break;
	}
}

void
myl_handle_query(struct login *l, const uint8_t *p, size_t n)
{
	struct timeval tv;
	char why[128];
	int r = my_rs_feed(&l->rs, p, n, why, sizeof why);

	if (r == -1) {
		myl_finish(l, KW_R_PROTOCOL, "SELECT CURRENT_USER(): %s", why);
		return;
	}
	if (r == 0)
		return;
	if (l->rs.got_err) {
		l->b.res.server_error = (int)l->rs.err.code;
		myl_finish(l, KW_R_ACCESS_DENIED, "SELECT CURRENT_USER(): ERR %u: %s", l->rs.err.code,
		    l->rs.err.msg);
		return;
	}
	if (!l->rs.have_value || l->rs.is_null) {
		myl_finish(l, KW_R_PROTOCOL, "SELECT CURRENT_USER() returned %s",
		    l->rs.have_value ? "NULL" : "no row");
		return;
	}
	snprintf(l->b.res.current_user, sizeof l->b.res.current_user, "%s", l->rs.value);
	if (l->b.expect_user != NULL && strcmp(l->b.expect_user, l->rs.value) != 0) {
		l->final_reason = KW_R_WRONG_USER;
		snprintf(l->final_detail, sizeof l->final_detail, "CURRENT_USER() is %.110s, not %.110s",
		    l->rs.value, l->b.expect_user);
	} else {
		l->final_reason = KW_OK;
		snprintf(l->final_detail, sizeof l->final_detail, "logged in as %.100s with %.130s",
		    l->rs.value, l->b.res.announced_spn);
	}
	/*
	 * COM_QUIT.  The server closes the connection when it reads it, and that ends the login;
	 * a server that does not gets a short grace (a TLS filter's output may still be queued).
	 */
	l->seq = 0;
	myl_send_packet(l, "\x01", 1);
	myl_set_state(l, ST_QUIT);
	tv.tv_sec = 0;
	tv.tv_usec = MY_QUIT_GRACE_MS * 1000;
	event_add(l->connect_timer, &tv);
}
