/* The status page at "/": for a person, per Region, each step green or red, why, and how old. */
#ifndef KRBWATCH_STATUS_PAGE_H
#define KRBWATCH_STATUS_PAGE_H

#include <stddef.h>

struct kwd;

/* Writes a malloc'd HTML page to *out and returns its length. */
size_t status_page_render(struct kwd *, char **out);

#endif
