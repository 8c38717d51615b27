/*
 * Unit tests of the lockout budget (probes/lockout.h): the rules on a record with a clock of
 * our own, the AS-REQ pre-authentication test on hand-made DER, and the state file's round
 * trip and lock in a scratch directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../probes/lockout.h"
#include "unit.h"


static int alive_answer = 1;
static int
fake_alive(long pid)
{
	(void)pid;
	return alive_answer;
}

/* An AS-REQ with the given padata types (none when n is 0 and with_padata is 0). */
static size_t
as_req(unsigned char *out, const long *types, size_t n, int with_padata)
{
	unsigned char pa[256], body[300];
	size_t pl = 0, bl = 0, ol = 0;

	for (size_t i = 0; i < n; i++) {
		/* 30 L { a1 L { 02 01|02 type } a2 02 { 04 00 } } */
		unsigned char item[16];
		size_t il = 0;
		if (types[i] < 128) {
			unsigned char t[] = { 0xa1, 0x03, 0x02, 0x01, (unsigned char)types[i] };
			memcpy(item, t, sizeof t);
			il = sizeof t;
		} else {
			unsigned char t[] = { 0xa1, 0x04, 0x02, 0x02, (unsigned char)(types[i] >> 8),
			    (unsigned char)types[i] };
			memcpy(item, t, sizeof t);
			il = sizeof t;
		}
		item[il++] = 0xa2; item[il++] = 0x02; item[il++] = 0x04; item[il++] = 0x00;
		pa[pl++] = 0x30; pa[pl++] = (unsigned char)il;
		memcpy(pa + pl, item, il);
		pl += il;
	}
	/* pvno 5, msg-type 10 */
	const unsigned char head[] = { 0xa1, 0x03, 0x02, 0x01, 0x05, 0xa2, 0x03, 0x02, 0x01, 0x0a };
	memcpy(body, head, sizeof head);
	bl = sizeof head;
	if (with_padata) {
		body[bl++] = 0xa3; body[bl++] = (unsigned char)(pl + 2);
		body[bl++] = 0x30; body[bl++] = (unsigned char)pl;
		memcpy(body + bl, pa, pl);
		bl += pl;
	}
	const unsigned char req_body[] = { 0xa4, 0x02, 0x30, 0x00 };
	memcpy(body + bl, req_body, sizeof req_body);
	bl += sizeof req_body;
	out[ol++] = 0x6a; out[ol++] = (unsigned char)(bl + 2);
	out[ol++] = 0x30; out[ol++] = (unsigned char)bl;
	memcpy(out + ol, body, bl);
	return ol + bl;
}

static void
test_der(void)
{
	static const long ts[] = { 2 }, pac[] = { 128 }, both[] = { 128, 2 }, fast[] = { 136 },
	    chal[] = { 138 };
	/* one AS-REQ per padata list (cut: bytes taken off its end), and the verdict it earns */
	static const struct {
		const long *types;
		size_t n, cut;
		int with_padata, want;
		const char *name;
	} cases[] = {
		{ NULL, 0, 0, 0, 0, "der: an AS-REQ without padata proves nothing" },
		{ pac, 1, 0, 1, 0, "der: PA-PAC-REQUEST alone proves nothing" },
		{ ts, 1, 0, 1, 1, "der: PA-ENC-TIMESTAMP counts" },
		{ both, 2, 0, 1, 1, "der: PA-ENC-TIMESTAMP after PA-PAC-REQUEST counts" },
		{ fast, 1, 0, 1, 1, "der: FAST (opaque) counts" },
		{ chal, 1, 0, 1, 1, "der: an encrypted challenge counts" },
		{ ts, 1, 3, 1, 1, "der: a truncated request counts (safe side)" },
	};
	unsigned char m[512];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = as_req(m, cases[i].types, cases[i].n, cases[i].with_padata);

		check(lockout_as_req_has_preauth(m, n - cases[i].cut) == cases[i].want, cases[i].name);
	}
	check(lockout_as_req_has_preauth((const unsigned char *)"\x6c\x00", 2) == 1,
	    "der: not an AS-REQ counts (safe side)");
}

static void
test_budget(void)
{
	struct lk_table t;
	struct lk_budget b = { 2, 1800, 100, fake_alive };
	struct lk_record *r;
	time_t now = 1000000, until;

	memset(&t, 0, sizeof t);
	r = lk_find(&t, "krbmon@R", "aa", 1, now);
	check(r != NULL && t.n == 1, "budget: a record is made for a new identity");
	check(lk_verdict(r, &b, now, &until) == LOCKOUT_GO, "budget: fresh: go");
	lk_reserve(r, &b, now, now + 12);
	check(lk_verdict(r, &b, now, &until) == LOCKOUT_WAIT, "budget: one in flight: the next waits");
	lk_end(r, &b, now + 1, now, LOCKOUT_SUCCESS, KW_OK);
	check(r->n == 0 && lk_verdict(r, &b, now + 1, &until) == LOCKOUT_GO, "budget: a success releases it");

	lk_reserve(r, &b, now, now + 12);
	lk_end(r, &b, now + 1, now, LOCKOUT_NOT_JUDGED, KW_R_REFUSED);
	check(r->n == 0, "budget: refused: not counted");

	lk_reserve(r, &b, now, now + 12);
	lk_end(r, &b, now + 1, now, LOCKOUT_KEY_FAILED, KW_R_PREAUTH_FAILED);
	check(lk_verdict(r, &b, now + 2, &until) == LOCKOUT_HELD && until == now + 1 + 1800,
	    "budget: preauth_failed holds for the window");
	check(lk_counted(r) == 1, "budget: ... and counts one attempt");
	lk_normalize(r, &b, now + 1801);
	check(lk_verdict(r, &b, now + 1801, &until) == LOCKOUT_GO, "budget: after the window: go again");

	memset(&t, 0, sizeof t);
	r = lk_find(&t, "krbmon@R", "aa", 1, now);
	lk_reserve(r, &b, now, now + 12);
	lk_end(r, &b, now + 10, now, LOCKOUT_MAYBE, KW_R_TIMEOUT);
	check(lk_verdict(r, &b, now + 10, &until) == LOCKOUT_GO, "budget: one lost reply of 2: go");
	lk_reserve(r, &b, now + 20, now + 32);
	lk_end(r, &b, now + 30, now + 20, LOCKOUT_MAYBE, KW_R_TIMEOUT);
	check(lk_verdict(r, &b, now + 30, &until) == LOCKOUT_HELD && until == now + 1800,
	    "budget: two lost replies: spent until the first one leaves the window");
	lk_normalize(r, &b, now + 1800);
	check(lk_verdict(r, &b, now + 1800, &until) == LOCKOUT_GO && lk_counted(r) == 1,
	    "budget: the first one out of the window: one more");

	/* another process's pending attempt */
	memset(&t, 0, sizeof t);
	r = lk_find(&t, "krbmon@R", "aa", 1, now);
	r->attempts[0] = (struct lk_attempt){ now, 4242, now + 12 };
	r->n = 1;
	lk_normalize(r, &b, now + 1);
	check(lk_verdict(r, &b, now + 1, &until) == LOCKOUT_WAIT, "budget: krbwatch probe's attempt in flight: wait");
	alive_answer = 0;
	lk_normalize(r, &b, now + 1);
	check(r->attempts[0].pid == 0 && lk_counted(r) == 1, "budget: its process died: counted");
	alive_answer = 1;
	r->attempts[0] = (struct lk_attempt){ now, 4242, now + 12 };
	lk_normalize(r, &b, now + 13);
	check(lk_counted(r) == 1, "budget: past its expiry: counted");

	/* identities are apart, and the table forgets the quietest */
	memset(&t, 0, sizeof t);
	r = lk_find(&t, "krbmon@R", "aa", 1, now);
	r->held_until = now + 100;
	check(lk_find(&t, "krbmon@R", "bb", 0, now) == NULL, "budget: another keytab is another identity");
	for (int i = 0; i < LK_MAX_RECORDS + 2; i++) {
		char fp[8];
		snprintf(fp, sizeof fp, "k%d", i);
		lk_find(&t, "krbmon@R", fp, 1, now + 10 + i)->held_since = now + 10 + i;
	}
	check(t.n == LK_MAX_RECORDS, "budget: at most LK_MAX_RECORDS identities");
}

static void
test_store(void)
{
	char dir[200];
	struct lk_table t, u;
	int fd, fd2;

	if (unit_mkdtemp(dir, sizeof dir, "unit_lockout") == NULL) {
		check(0, "store: a scratch directory");
		return;
	}
	memset(&t, 0, sizeof t);
	struct lk_record *r = lk_find(&t, "krbmon@ONPREM.EXAMPLE.COM", "0123456789abcdef0123456789abcdef", 1, 5);
	r->held_until = 1805;
	r->held_since = 5;
	r->reason = KW_R_CLIENT_REVOKED;
	r->attempts[0] = (struct lk_attempt){ 5, 0, 17 };
	r->attempts[1] = (struct lk_attempt){ 6, 77, 18 };
	r->n = 2;
	check(lks_load(dir, &u) == 0 && u.n == 0, "store: no file yet: nothing recorded");
	check(lks_save(dir, &t) == 0, "store: saved");
	check(lks_changed(dir) == 0, "store: unchanged after our own save");
	check(lks_load(dir, &u) == 0 && u.n == 1 && u.rec[0].n == 2 && u.rec[0].held_until == 1805 &&
	    u.rec[0].reason == KW_R_CLIENT_REVOKED && u.rec[0].attempts[1].pid == 77 &&
	    strcmp(u.rec[0].fp, r->fp) == 0, "store: loaded back the same");
	fd = lks_lock(dir);
	fd2 = lks_lock(dir);
	check(fd >= 0 && fd2 == -2, "store: the lock is exclusive (a second taker is told busy)");
	lks_unlock(fd);
	fd2 = lks_lock(dir);
	check(fd2 >= 0, "store: free again once released");
	lks_unlock(fd2);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		check(0, "store: scratch directory removed");
}

int
main(void)
{
	test_der();
	test_budget();
	test_store();
	return failed;
}
