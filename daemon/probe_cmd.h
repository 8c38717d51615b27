/* `krbwatch probe`: every probe once, now, with a readable trace (probe_cmd.c). */
#ifndef KRBWATCH_PROBE_CMD_H
#define KRBWATCH_PROBE_CMD_H

#include <getopt.h>

/*
 * A getopt_long table of a command of krbwatch (main.c, probe_cmd.c): the options both
 * commands take (-c/--config FILE, -v/--verbose, -h/--help), first, then the command's own
 * rows, then the end.
 */
#define KW_OPTIONS(...) { \
	{ "config", required_argument, NULL, 'c' }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "help", no_argument, NULL, 'h' }, \
	__VA_ARGS__, \
	{ NULL, 0, NULL, 0 } \
}

/* argv[0] is "probe".  Returns the exit code: 0 all passed, 1 a step failed, 2 usage/config. */
int probe_main(int argc, char **argv);

#endif
