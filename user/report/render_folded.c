// SPDX-License-Identifier: MIT
/*
 * Folded stacks, the input of flamegraph.pl, inferno and speedscope: one
 * line per site, its frames outermost first joined by ';', a space, then
 * one report_value of the site.  docs/report-format.md "Folded stacks".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* The label of one frame: function (file:line) and the safe form of it. */
#define LABEL_MAX (2 * SYM_NAME_MAX + 64)

struct line {
	char **labels; /* innermost first, as report__each_frame gives them */
	size_t n, cap;
	int err;
	char raw[LABEL_MAX];
	char safe[3 * LABEL_MAX]; /* each byte replaced takes 3 */
};

/*
 * ';' separates frames and a newline ends the line: neither may come from
 * a name.  Inlined frames carry flamegraph.pl's "_[i]" (drawn in their own
 * colour; other readers show it as it is).
 */
static void add_label(void *ctx, const struct sym_frame *f, bool is_site)
{
	struct line *l = ctx;
	char *copy;

	if (l->err)
		return;
	sym_frame__format(f, l->raw, sizeof(l->raw));
	report__safe_text(l->raw, ";", l->safe, sizeof(l->safe) - 4);
	if (f->inlined)
		strcat(l->safe, "_[i]");
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **v = realloc(l->labels, cap * sizeof(*v));

		if (!v) {
			l->err = -ENOMEM;
			return;
		}
		l->labels = v;
		l->cap = cap;
	}
	copy = strdup(l->safe);
	if (!copy) {
		l->err = -ENOMEM;
		return;
	}
	l->labels[l->n++] = copy;
}

static void line_clear(struct line *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->labels[i]);
	l->n = 0;
}

int report__write_folded(struct report *r, FILE *f, enum report_value v)
{
	struct line *l = calloc(1, sizeof(*l));
	int err = 0;

	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < r->nsites; i++) {
		uint64_t value = report_site__value(&r->sites[i], v);

		/* readers draw nothing for 0: the line would only take room */
		if (!value)
			continue;
		report__each_frame(r, r->sites[i].stack, add_label, l);
		if (l->err)
			break;
		if (!l->n)
			fputs("[no stack]", f);
		for (size_t j = l->n; j-- > 0;)
			fprintf(f, "%s%s", l->labels[j], j ? ";" : "");
		fprintf(f, " %" PRIu64 "\n", value);
		line_clear(l);
	}
	err = l->err;
	line_clear(l);
	free(l->labels);
	free(l);
	if (!err && ferror(f))
		err = -EIO;
	return err;
}
