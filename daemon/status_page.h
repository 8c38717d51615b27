/*
 * The status page at "/", for a person (status_page.c): per Region its verdict, the matrix of
 * rows by hops, the recent past, and the words for every failing cell.
 */
#ifndef KRBWATCH_STATUS_PAGE_H
#define KRBWATCH_STATUS_PAGE_H

#include <stddef.h>

struct kwd;
struct status_model;

/* Writes a malloc'd HTML page of the model to *out and returns its length. */
size_t status_page_write(const struct status_model *, char **out);
/* The running daemon's page (its model built for the request). */
size_t status_page_render(struct kwd *, char **out);

#endif
