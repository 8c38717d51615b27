/* A clock's reading in seconds, for spans (CLOCK_MONOTONIC, a thread's CPU) and timestamps. */
#ifndef KRBWATCH_CLOCK_H
#define KRBWATCH_CLOCK_H

#include <time.h>

double clock_seconds(clockid_t);

#endif
