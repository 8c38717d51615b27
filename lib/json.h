/* JSON strings: the webhook bodies (alert.c) and `krbwatch probe --json` (probe_cmd.c). */
#ifndef KRBWATCH_JSON_H
#define KRBWATCH_JSON_H

#include <stdio.h>

struct evbuffer;

/*
 * Appends s as a JSON string: quote, backslash and control characters escaped, bytes that are
 * not well-formed UTF-8 (overlong forms and surrogates included) replaced by U+FFFD.
 */
void json_str(struct evbuffer *, const char *s);
/* The same string, written to fp. */
void json_fputs(FILE *fp, const char *s);
/* Appends "k":"v", preceded by a comma unless first. */
void json_kv(struct evbuffer *, int first, const char *k, const char *v);

#endif
