#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "xmalloc.h"

struct mseries {
	char *key;		/* label values joined by \x01 (series_key), for ordering */
	char *labels;		/* rendered: {a="x",b="y"} or "" */
	double value;
};

struct mfamily {
	struct metrics *reg;
	char *name;
	char *help;
	enum metric_type type;
	size_t nlabels;
	char **labels;
	struct mseries *series;	/* sorted by key */
	size_t nseries, cap;
};

struct metrics {
	struct mfamily **fam;
	size_t nfam;
	char *text;		/* cached rendering, NULL when stale */
	size_t textlen;
	void (*on_render)(void *);
	void *on_render_arg;
};

struct metrics *
metrics_new(void)
{
	return xcalloc(1, sizeof(struct metrics));
}

static void
series_free(struct mseries *s)
{
	free_all(s->key, s->labels);
}

static void
family_free(struct mfamily *f)
{
	free_array(f->series, f->nseries, series_free);
	free_ptrs(f->labels, f->nlabels, free);
	free_all(f->name, f->help, f);
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	free_ptrs(m->fam, m->nfam, family_free);
	free_all(m->text, m);
}

static void
stale(struct metrics *m)
{
	free(m->text);
	m->text = NULL;
}

struct mfamily *
metrics_family(struct metrics *m, const char *name, const char *help, enum metric_type type,
    size_t nlabels, const char *const *labels)
{
	struct mfamily *f;

	for (size_t i = 0; i < m->nfam; i++)
		if (strcmp(m->fam[i]->name, name) == 0)
			fatalx("metric family %s registered twice", name);
	if (nlabels > METRICS_MAX_LABELS)
		fatalx("metric family %s has more than %d labels", name, METRICS_MAX_LABELS);
	f = xcalloc(1, sizeof *f);
	f->reg = m;
	f->name = xstrdup(name);
	f->help = xstrdup(help);
	f->type = type;
	f->nlabels = nlabels;
	f->labels = xcalloc(nlabels ? nlabels : 1, sizeof(char *));
	for (size_t i = 0; i < nlabels; i++)
		f->labels[i] = xstrdup(labels[i]);
	m->fam = xreallocarray(m->fam, m->nfam + 1, sizeof *m->fam);
	m->fam[m->nfam++] = f;
	stale(m);
	return f;
}

void
metrics_families(struct metrics *m, const struct mfamily_spec *spec, size_t n)
{
	for (size_t i = 0; i < n; i++)
		*spec[i].out = metrics_family(m, spec[i].name, spec[i].help, spec[i].type,
		    spec[i].nlabels, spec[i].labels);
}

char *
metrics_escape_label(const char *s)
{
	size_t n = 0;
	char *out, *p;

	for (const char *c = s; *c; c++)
		n += (*c == '\\' || *c == '"' || *c == '\n') ? 2 : 1;
	out = p = xmalloc(n + 1);
	for (const char *c = s; *c; c++) {
		if (*c == '\\' || *c == '"') {
			*p++ = '\\';
			*p++ = *c;
		} else if (*c == '\n') {
			*p++ = '\\';
			*p++ = 'n';
		} else
			*p++ = *c;
	}
	*p = '\0';
	return out;
}

/* The sort key keeps label order significant: values separated by \x01, which labels never hold. */
static char *
series_key(const struct mfamily *f, const char *const *values)
{
	size_t n = 1;
	char *k, *p;

	for (size_t i = 0; i < f->nlabels; i++)
		n += strlen(values[i]) + 1;
	k = p = xmalloc(n);
	for (size_t i = 0; i < f->nlabels; i++) {
		size_t l = strlen(values[i]);
		memcpy(p, values[i], l);
		p += l;
		*p++ = '\x01';
	}
	*p = '\0';
	return k;
}

static char *
series_labels(const struct mfamily *f, const char *const *values)
{
	char *out = NULL;
	size_t len = 0;
	FILE *fp;

	if (f->nlabels == 0)
		return xstrdup("");
	if ((fp = open_memstream(&out, &len)) == NULL)
		fatalx("open_memstream: out of memory");
	fputc('{', fp);
	for (size_t i = 0; i < f->nlabels; i++) {
		char *e = metrics_escape_label(values[i]);
		fprintf(fp, "%s%s=\"%s\"", i ? "," : "", f->labels[i], e);
		free(e);
	}
	fputc('}', fp);
	if (fclose(fp) != 0)
		fatalx("open_memstream: out of memory");
	return out;
}

/* Index of the series with key, or the insertion point with *found = 0. */
static size_t
series_find(const struct mfamily *f, const char *key, int *found)
{
	size_t lo = 0, hi = f->nseries;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(f->series[mid].key, key);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

static struct mseries *
series_get(struct mfamily *f, const char *const *values)
{
	char *key = series_key(f, values);
	int found;
	size_t i = series_find(f, key, &found);

	if (found) {
		free(key);
		return &f->series[i];
	}
	if (f->nseries == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		f->series = xreallocarray(f->series, f->cap, sizeof *f->series);
	}
	memmove(&f->series[i + 1], &f->series[i], (f->nseries - i) * sizeof *f->series);
	f->nseries++;
	f->series[i].key = key;
	f->series[i].labels = series_labels(f, values);
	f->series[i].value = 0;
	stale(f->reg);
	return &f->series[i];
}

void
mfamily_set(struct mfamily *f, const char *const *values, double v)
{
	struct mseries *s = series_get(f, values);

	if (s->value != v || isnan(v)) {
		s->value = v;
		stale(f->reg);
	}
}

void
mfamily_add(struct mfamily *f, const char *const *values, double v)
{
	struct mseries *s = series_get(f, values);

	s->value += v;
	stale(f->reg);
}

int
mfamily_get(struct mfamily *f, const char *const *values, double *v)
{
	char *key = series_key(f, values);
	int found;
	size_t i = series_find(f, key, &found);

	free(key);
	if (found)
		*v = f->series[i].value;
	return found;
}

/* The i-th label value of a series, from its key: length in *len. */
static const char *
key_value(const char *key, size_t i, size_t *len)
{
	const char *p = key;

	for (size_t k = 0; k < i; k++)
		p = strchr(p, '\x01') + 1;
	*len = strcspn(p, "\x01");
	return p;
}

void
mfamily_drop_match(struct mfamily *f, const char *const *values)
{
	size_t out = 0;

	for (size_t i = 0; i < f->nseries; i++) {
		struct mseries *s = &f->series[i];
		int drop = 1;

		for (size_t l = 0; l < f->nlabels && drop; l++) {
			size_t len;
			const char *v;

			if (values[l] == NULL)
				continue;
			v = key_value(s->key, l, &len);
			drop = strlen(values[l]) == len && strncmp(v, values[l], len) == 0;
		}
		if (drop) {
			free(s->key);
			free(s->labels);
		} else
			f->series[out++] = *s;
	}
	if (out != f->nseries) {
		f->nseries = out;
		stale(f->reg);
	}
}

void
mfamily_drop(struct mfamily *f, const char *label, const char *value)
{
	const char *values[METRICS_MAX_LABELS];
	size_t li;

	for (li = 0; li < f->nlabels; li++)
		values[li] = NULL;
	if (label != NULL) {
		for (li = 0; li < f->nlabels; li++)
			if (strcmp(f->labels[li], label) == 0)
				break;
		if (li == f->nlabels)
			fatalx("metric %s has no label %s", f->name, label);
		values[li] = value;
	}
	mfamily_drop_match(f, values);
}

void
metrics_drop_label_value(struct metrics *m, const char *label, const char *value)
{
	for (size_t i = 0; i < m->nfam; i++)
		for (size_t l = 0; l < m->fam[i]->nlabels; l++)
			if (strcmp(m->fam[i]->labels[l], label) == 0) {
				mfamily_drop(m->fam[i], label, value);
				break;
			}
}

static void
format_value(FILE *fp, double v)
{
	if (isnan(v))
		fputs("NaN", fp);
	else if (isinf(v))
		fputs(v > 0 ? "+Inf" : "-Inf", fp);
	else if (v == floor(v) && fabs(v) < 1e15)
		fprintf(fp, "%.0f", v);
	else
		fprintf(fp, "%.15g", v);
}

/* HELP text escapes only backslash and newline. */
static void
write_help(FILE *fp, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", fp);
		else if (*s == '\n')
			fputs("\\n", fp);
		else
			fputc(*s, fp);
	}
}

void
metrics_on_render(struct metrics *m, void (*fn)(void *), void *arg)
{
	m->on_render = fn;
	m->on_render_arg = arg;
}

const char *
metrics_render(struct metrics *m, size_t *len)
{
	FILE *fp;

	if (m->on_render != NULL)
		m->on_render(m->on_render_arg);
	if (m->text != NULL) {
		*len = m->textlen;
		return m->text;
	}
	if ((fp = open_memstream(&m->text, &m->textlen)) == NULL)
		fatalx("open_memstream: out of memory");
	for (size_t i = 0; i < m->nfam; i++) {
		struct mfamily *f = m->fam[i];

		if (f->nseries == 0)
			continue;
		fprintf(fp, "# HELP %s ", f->name);
		write_help(fp, f->help);
		fprintf(fp, "\n# TYPE %s %s\n", f->name, f->type == METRIC_COUNTER ? "counter" : "gauge");
		for (size_t j = 0; j < f->nseries; j++) {
			fprintf(fp, "%s%s ", f->name, f->series[j].labels);
			format_value(fp, f->series[j].value);
			fputc('\n', fp);
		}
	}
	if (fclose(fp) != 0)
		fatalx("open_memstream: out of memory");
	*len = m->textlen;
	return m->text;
}
