/*
 * What a person and a script read of the running daemon: the status page at "/" and its model
 * as /status.json (daemon/status_*.c): per Region its verdict, the matrix of rows by hops, the
 * recent past, and the words for every failing cell.
 */
#ifndef KRBWATCH_STATUS_PAGE_H
#define KRBWATCH_STATUS_PAGE_H

#include <stddef.h>

struct kwd;

enum status_format { STATUS_HTML, STATUS_JSON };

/* Writes a malloc'd page or JSON object to *out and returns its length. */
size_t status_render(struct kwd *, enum status_format, char **out);

#endif
