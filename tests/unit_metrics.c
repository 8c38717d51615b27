/* Unit tests of the metrics registry: escaping, ordering, values, dropping series. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/metrics.h"
#include "unit.h"


/* A scrape-time hook: counts its calls into the counter it is given. */
static void
on_render(void *arg)
{
	mfamily_add(arg, NULL, 1);
}

static void
check_text(struct metrics *m, const char *want, const char *what)
{
	size_t len;
	const char *got = metrics_render(m, &len);

	check(strlen(want) == len && memcmp(got, want, len) == 0, what);
	if (strlen(want) != len || memcmp(got, want, len) != 0)
		printf("# got:\n%.*s# want:\n%s", (int)len, got, want);
}

int
main(void)
{
	static const char *const l2[] = { "aws_region", "kdc" };
	struct metrics *m = metrics_new();
	struct mfamily *g, *c, *e;
	char *esc;
	double v;

	esc = metrics_escape_label("a\\b\"c\nd");
	check(strcmp(esc, "a\\\\b\\\"c\\nd") == 0, "label values escape backslash, quote, newline");
	free(esc);

	check_text(m, "", "an empty registry renders nothing");
	g = metrics_family(m, "t_up", "Whether it is up.\nSecond line \\.", METRIC_GAUGE, 2, l2);
	c = metrics_family(m, "t_total", "A counter.", METRIC_COUNTER, 0, NULL);
	e = metrics_family(m, "t_empty", "Never set.", METRIC_GAUGE, 0, NULL);
	(void)e;
	check_text(m, "", "families without series render nothing");

	mfamily_set(g, (const char *[]){ "us-west-2", "b" }, 1);
	mfamily_set(g, (const char *[]){ "us-east-1", "z\"q" }, 0);
	mfamily_set(g, (const char *[]){ "us-east-1", "a" }, 0.25);
	mfamily_add(c, NULL, 2);
	mfamily_add(c, NULL, 3);
	check_text(m,
	    "# HELP t_up Whether it is up.\\nSecond line \\\\.\n"
	    "# TYPE t_up gauge\n"
	    "t_up{aws_region=\"us-east-1\",kdc=\"a\"} 0.25\n"
	    "t_up{aws_region=\"us-east-1\",kdc=\"z\\\"q\"} 0\n"
	    "t_up{aws_region=\"us-west-2\",kdc=\"b\"} 1\n"
	    "# HELP t_total A counter.\n"
	    "# TYPE t_total counter\n"
	    "t_total 5\n",
	    "series sorted by labels, families in registration order, HELP escaped");

	check(mfamily_get(g, (const char *[]){ "us-west-2", "b" }, &v) && v == 1, "get finds a series");
	check(!mfamily_get(g, (const char *[]){ "us-west-2", "x" }, &v), "get misses an absent series");

	mfamily_set(g, (const char *[]){ "us-west-2", "b" }, NAN);
	mfamily_set(g, (const char *[]){ "us-east-1", "a" }, INFINITY);
	mfamily_set(g, (const char *[]){ "us-east-1", "z\"q" }, 1796000000.125);
	check_text(m,
	    "# HELP t_up Whether it is up.\\nSecond line \\\\.\n"
	    "# TYPE t_up gauge\n"
	    "t_up{aws_region=\"us-east-1\",kdc=\"a\"} +Inf\n"
	    "t_up{aws_region=\"us-east-1\",kdc=\"z\\\"q\"} 1796000000.125\n"
	    "t_up{aws_region=\"us-west-2\",kdc=\"b\"} NaN\n"
	    "# HELP t_total A counter.\n"
	    "# TYPE t_total counter\n"
	    "t_total 5\n",
	    "NaN, +Inf and timestamps keep their precision; a change re-renders");

	metrics_drop_label_value(m, "aws_region", "us-east-1");
	check_text(m,
	    "# HELP t_up Whether it is up.\\nSecond line \\\\.\n"
	    "# TYPE t_up gauge\n"
	    "t_up{aws_region=\"us-west-2\",kdc=\"b\"} NaN\n"
	    "# HELP t_total A counter.\n"
	    "# TYPE t_total counter\n"
	    "t_total 5\n",
	    "dropping a Region's series leaves the others");

	/* many series stay sorted */
	for (int i = 999; i >= 0; i--) {
		char k[16];
		snprintf(k, sizeof k, "k%04d", i);
		mfamily_set(g, (const char *[]){ "r", k }, i);
	}
	int sorted = 1;
	for (int i = 0; i < 1000; i++) {
		char k[16];
		snprintf(k, sizeof k, "k%04d", i);
		sorted &= mfamily_get(g, (const char *[]){ "r", k }, &v) && v == i;
	}
	check(sorted, "1000 series inserted in reverse are all found");

	/* the scrape-time hook runs before the cache is used, so what it sets is in this rendering */
	{
		struct metrics *h = metrics_new();
		struct mfamily *calls = metrics_family(h, "t_renders_total", "Renders.",
		    METRIC_COUNTER, 0, NULL);
		size_t len;

		metrics_on_render(h, on_render, calls);
		check_text(h, "# HELP t_renders_total Renders.\n# TYPE t_renders_total counter\n"
		    "t_renders_total 1\n", "the render hook runs before the first rendering");
		check_text(h, "# HELP t_renders_total Renders.\n# TYPE t_renders_total counter\n"
		    "t_renders_total 2\n", "... and before every one: a cached text is not served stale");
		metrics_on_render(h, NULL, NULL);
		metrics_render(h, &len);
		check(mfamily_get(calls, NULL, &v) && v == 2, "a NULL hook is not called");
		metrics_free(h);
	}
	metrics_free(m);
	return failed;
}
