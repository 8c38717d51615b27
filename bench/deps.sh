#!/bin/sh
# Bench-only Debian packages (not part of `make check`'s deps): the alternatives krbwatch is
# measured against, the load generator, heaptrack (4b's heap by part), gdb and libc6-dbg (the
# growth check reads malloc's live bytes through gdb), installed the way
# tests/deps.sh installs the rest.
set -eu
exec sh "$(dirname "$0")/../tests/deps.sh" prometheus-blackbox-exporter wrk heaptrack gdb libc6-dbg
