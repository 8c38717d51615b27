/*
 * What a person and a script read of the running daemon: the status page at "/" and its model
 * as /status.json (daemon/status_*.c): per Region its verdict, the matrix of rows by hops, the
 * recent past, and the words for every failing cell.
 */
#ifndef KRBWATCH_STATUS_PAGE_H
#define KRBWATCH_STATUS_PAGE_H

#include <stddef.h>
#include <time.h>

struct kwd;

enum status_format { STATUS_HTML, STATUS_JSON, STATUS_FORMATS };

/* Writes a malloc'd page or JSON object to *out and returns its length. */
size_t status_render(struct kwd *, enum status_format, char **out);

/*
 * What a body was rendered from: the results the sink had taken, the reloads, and the second
 * (the page says "as of" and "N s ago" to the second, and the identity's hold counts down).
 */
struct status_key {
	unsigned long results, reloads;
	time_t second;
};

/* One format's body as last rendered: served again while its key holds. */
struct status_cache {
	char *body;
	size_t len;
	struct status_key key;
	int valid;
};

/*
 * The body for key: the cached one when it was rendered from the same key, else render(arg,
 * now, &body) made anew (the cache owns it).  Valid until the next call or status_cache_free.
 */
const char *status_cache_get(struct status_cache *, const struct status_key *,
    size_t (*render)(void *, time_t, char **), void *arg, size_t *len);
void status_cache_free(struct status_cache *);

/* The running daemon's page or JSON, rendered at most once per change of its key. */
const char *status_render_cached(struct kwd *, struct status_cache *, enum status_format,
    size_t *len);

#endif
