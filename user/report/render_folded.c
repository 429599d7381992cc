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

/* The label of one frame, cut as it always was: function (file:line) and the safe form of it. */
#define LABEL_MAX (2 * REPORT_NAME_MAX + 64)

struct line {
	char raw[LABEL_MAX];
	char safe[3 * LABEL_MAX]; /* each byte replaced takes 3 */
};

/*
 * ';' separates frames and a newline ends the line: neither may come from
 * a name.  Inlined frames carry flamegraph.pl's "_[i]" (drawn in their own
 * colour; other readers show it as it is).
 */
static const char *label(struct line *l, const struct report_frame *f)
{
	snprintf(l->raw, sizeof(l->raw), "%s", f->label);
	report__safe_text(l->raw, ";", l->safe, sizeof(l->safe) - 4);
	if (f->inlined)
		strcat(l->safe, "_[i]");
	return l->safe;
}

int report__write_folded(const struct report *r, FILE *f, enum report_value v)
{
	struct line *l = malloc(sizeof(*l));

	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < r->nsites; i++) {
		uint64_t value = report_site__value(&r->sites[i], v);
		const struct report_stack *s = report__stack(r, r->sites[i].stack);
		uint32_t n = s ? s->nframes : 0;

		/* readers draw nothing for 0: the line would only take room */
		if (!value)
			continue;
		if (!n)
			fputs("[no stack]", f);
		/* outermost first */
		for (uint32_t j = n; j-- > 0;)
			fprintf(f, "%s%s", label(l, report__frame(r, s, j)), j ? ";" : "");
		fprintf(f, " %" PRIu64 "\n", value);
	}
	free(l);
	return ferror(f) ? -EIO : 0;
}
