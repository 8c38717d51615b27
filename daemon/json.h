/* JSON strings for the webhook bodies (alert.c). */
#ifndef KRBWATCH_JSON_H
#define KRBWATCH_JSON_H

struct evbuffer;

/*
 * Appends s as a JSON string: quote, backslash and control characters escaped, bytes that are
 * not well-formed UTF-8 (overlong forms and surrogates included) replaced by U+FFFD.
 */
void json_str(struct evbuffer *, const char *s);
/* Appends "k":"v", preceded by a comma unless first. */
void json_kv(struct evbuffer *, int first, const char *k, const char *v);

#endif
