/*
 * The lockout budget's rules (lockout.h), pure: attempts reserved, counted and released, a
 * record held, and whether an AS-REQ carries pre-authentication.  No clock, no file, no
 * process state: lockout.c gives the time and the table, the unit tests drive it directly.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lockout.h"

/* ---- the budget, pure --------------------------------------------------------------------- */

static int
harmless_padata(long type)
{
	switch (type) {
	case 128:	/* PA-PAC-REQUEST */
	case 133:	/* PA-FX-COOKIE */
	case 149:	/* PA-REQ-ENC-PA-REP */
	case 150:	/* PA-AS-FRESHNESS */
		return 1;
	}
	return 0;	/* PA-ENC-TIMESTAMP (2), encrypted challenge (138), FAST (136), PKINIT, unknown */
}

size_t
lk_counted(const struct lk_record *r)
{
	size_t c = 0;

	for (size_t i = 0; i < r->n; i++)
		c += r->attempts[i].pid == 0;
	return c;
}

struct lk_record *
lk_find(struct lk_table *t, const char *principal, const char *fp, int create, time_t now)
{
	struct lk_record *r;
	size_t victim = 0;

	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->rec[i].principal, principal) == 0 && strcmp(t->rec[i].fp, fp) == 0)
			return &t->rec[i];
	if (!create)
		return NULL;
	if (t->n < LK_MAX_RECORDS) {
		victim = t->n++;
	} else {
		/* forget the identity that has been quiet longest (its window has passed, as a rule) */
		time_t oldest = now;
		for (size_t i = 0; i < t->n; i++) {
			time_t last = t->rec[i].held_since;
			for (size_t a = 0; a < t->rec[i].n; a++)
				if (t->rec[i].attempts[a].at > last)
					last = t->rec[i].attempts[a].at;
			if (last <= oldest) {
				oldest = last;
				victim = i;
			}
		}
	}
	r = &t->rec[victim];
	memset(r, 0, sizeof *r);
	snprintf(r->principal, sizeof r->principal, "%s", principal);
	snprintf(r->fp, sizeof r->fp, "%s", fp);
	return r;
}

void
lk_normalize(struct lk_record *r, const struct lk_budget *b, time_t now)
{
	size_t k = 0;

	for (size_t i = 0; i < r->n; i++) {
		struct lk_attempt a = r->attempts[i];

		/* a pending attempt whose process died or overran may have reached the KDC */
		if (a.pid != 0 && (a.expires <= now || (a.pid != b->self && !b->alive(a.pid))))
			a.pid = 0;
		if (a.pid == 0 && a.at + b->window <= now)
			continue;		/* out of the window: the KDC forgot it too */
		r->attempts[k++] = a;
	}
	r->n = k;
	if (r->held_until != 0 && r->held_until <= now)
		r->held_until = 0;
}

enum lockout_verdict
lk_verdict(const struct lk_record *r, const struct lk_budget *b, time_t now, time_t *until)
{
	time_t oldest = 0;
	size_t counted = 0;

	*until = 0;
	if (r->held_until > now) {
		*until = r->held_until;
		return LOCKOUT_HELD;
	}
	for (size_t i = 0; i < r->n; i++) {
		if (r->attempts[i].pid != 0) {
			*until = r->attempts[i].expires;
			return LOCKOUT_WAIT;
		}
		counted++;
		if (oldest == 0 || r->attempts[i].at < oldest)
			oldest = r->attempts[i].at;
	}
	if (counted >= b->max) {
		*until = oldest + b->window;
		return LOCKOUT_HELD;
	}
	return LOCKOUT_GO;
}

void
lk_reserve(struct lk_record *r, const struct lk_budget *b, time_t now, time_t expires)
{
	if (r->n == sizeof r->attempts / sizeof r->attempts[0])
		return;		/* cannot happen: lk_verdict said GO, so n < max <= LK_MAX_ATTEMPTS */
	r->attempts[r->n].at = now;
	r->attempts[r->n].pid = b->self;
	r->attempts[r->n].expires = expires;
	r->n++;
}

void
lk_end(struct lk_record *r, const struct lk_budget *b, time_t now, time_t reserved_at,
    enum lockout_outcome o, enum kw_reason reason)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->attempts[i].pid == b->self && r->attempts[i].at == reserved_at)
			break;
	switch (o) {
	case LOCKOUT_SUCCESS:
		/* the KDC resets its count on a good pre-authentication: so do we */
		r->n = 0;
		r->held_until = 0;
		r->reason = KW_OK;
		return;
	case LOCKOUT_NOT_JUDGED:
		if (i < r->n) {
			memmove(&r->attempts[i], &r->attempts[i + 1], (r->n - i - 1) * sizeof r->attempts[0]);
			r->n--;
		}
		return;
	case LOCKOUT_MAYBE:
		if (i < r->n)
			r->attempts[i].pid = 0;
		return;
	case LOCKOUT_KEY_FAILED:
		if (i < r->n)
			r->attempts[i].pid = 0;
		r->held_since = now;
		r->held_until = now + b->window;
		r->reason = reason;
		return;
	}
}

/* ---- DER: does the AS-REQ carry pre-authentication? -------------------------------------- */

/* One tag and length; *p moves to the contents.  -1 when it does not fit in [*p, end). */
static int
der_tl(const unsigned char **p, const unsigned char *end, unsigned *tag, size_t *len)
{
	const unsigned char *q = *p;
	size_t l = 0;

	if (end - q < 2)
		return -1;
	*tag = *q++;
	if (*q < 0x80) {
		l = *q++;
	} else {
		unsigned n = *q++ & 0x7f;
		if (n == 0 || n > 4 || (size_t)(end - q) < n)
			return -1;
		while (n-- > 0)
			l = l << 8 | *q++;
	}
	if ((size_t)(end - q) < l)
		return -1;
	*p = q;
	*len = l;
	return 0;
}

int
lockout_as_req_has_preauth(const unsigned char *msg, size_t len)
{
	const unsigned char *p = msg, *end = msg + len, *seq_end;
	unsigned tag;
	size_t l;

	/* AS-REQ ::= [APPLICATION 10] KDC-REQ; KDC-REQ ::= SEQUENCE { pvno [1], msg-type [2],
	   padata [3] SEQUENCE OF PA-DATA OPTIONAL, req-body [4] } */
	if (der_tl(&p, end, &tag, &l) == -1 || tag != 0x6a)
		return 1;
	end = p + l;
	if (der_tl(&p, end, &tag, &l) == -1 || tag != 0x30)
		return 1;
	seq_end = p + l;
	while (p < seq_end) {
		const unsigned char *f;
		if (der_tl(&p, seq_end, &tag, &l) == -1)
			return 1;
		f = p;
		p += l;
		if (tag != 0xa3)
			continue;
		/* padata: SEQUENCE OF PA-DATA ::= SEQUENCE { padata-type [1] Int32, padata-value [2] } */
		const unsigned char *pe = f + l;
		if (der_tl(&f, pe, &tag, &l) == -1 || tag != 0x30)
			return 1;
		pe = f + l;
		while (f < pe) {
			const unsigned char *item, *ie;
			long type = 0;
			if (der_tl(&f, pe, &tag, &l) == -1 || tag != 0x30)
				return 1;
			item = f;
			ie = f + l;
			f += l;
			if (der_tl(&item, ie, &tag, &l) == -1 || tag != 0xa1 ||
			    der_tl(&item, ie, &tag, &l) == -1 || tag != 0x02 || l == 0 || l > 4)
				return 1;
			type = (item[0] & 0x80) ? -1 : 0;
			for (size_t i = 0; i < l; i++)
				type = type * 256 + item[i];
			if (!harmless_padata(type))
				return 1;
		}
	}
	return 0;
}
