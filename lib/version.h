/* krbwatch's version: the packages (Makefile, tests/t_systemd.sh) read it from here. */
#ifndef KRBWATCH_VERSION_H
#define KRBWATCH_VERSION_H

#define KRBWATCH_VERSION "0.1.0"

#endif
