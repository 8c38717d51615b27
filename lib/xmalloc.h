/* Allocation that cannot fail: running out of memory is a broken invariant for a daemon this small. */
#ifndef KRBWATCH_XMALLOC_H
#define KRBWATCH_XMALLOC_H

#include <stddef.h>
#include <stdlib.h>

void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xreallocarray(void *, size_t, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
int xasprintf(char **, const char *, ...) __attribute__((format(printf, 2, 3)));

/*
 * Frees what a struct owns in one statement: free_all(c->name, c->host, c) frees each pointer
 * in turn.  The list is read before the first free(), so the struct itself may come last.
 */
void free_n(void *const *, size_t);
#define free_all(...) free_n((void *const[]){ __VA_ARGS__ }, \
    sizeof((void *const[]){ __VA_ARGS__ }) / sizeof(void *))

/*
 * Frees an array of n structs, each first through elem_free(&a[i]) (what the element owns),
 * and leaves a NULL and n 0; free_ptrs is the same for an array of pointers, elem_free(a[i])
 * (free itself for strings).  a and n are named more than once: pass plain lvalues.
 */
#define free_array(a, n, elem_free) free_each_(a, n, elem_free, &)
#define free_ptrs(a, n, elem_free) free_each_(a, n, elem_free, )
#define free_each_(a, n, elem_free, addr) do {				\
	for (size_t free_i_ = 0; free_i_ < (n); free_i_++)		\
		elem_free(addr (a)[free_i_]);				\
	free(a);							\
	(a) = NULL;							\
	(n) = 0;							\
} while (0)

#endif
