/* `krbwatch probe`: every probe once, now, with a readable trace (probe_cmd.c). */
#ifndef KRBWATCH_PROBE_CMD_H
#define KRBWATCH_PROBE_CMD_H

/* argv[0] is "probe".  Returns the exit code: 0 all passed, 1 a step failed, 2 usage/config. */
int probe_main(int argc, char **argv);

#endif
