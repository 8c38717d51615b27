/* /status.json: the status page's model for scripts (status_json.c; fields in krbwatch(8)). */
#ifndef KRBWATCH_STATUS_JSON_H
#define KRBWATCH_STATUS_JSON_H

#include <stddef.h>

struct kwd;
struct status_model;

/* Writes a malloc'd JSON object of the model to *out and returns its length. */
size_t status_json_write(const struct status_model *, char **out);
/* The running daemon's. */
size_t status_json_render(struct kwd *, char **out);

#endif
