/* What the unit tests share: one TAP line per check, and the exit status they add up to. */
#ifndef KRBWATCH_UNIT_H
#define KRBWATCH_UNIT_H

#include <stdio.h>

static int failed;

static inline void
check(int cond, const char *what)
{
	printf("%s - %s\n", cond ? "ok" : "not ok", what);
	failed |= !cond;
}

#endif
