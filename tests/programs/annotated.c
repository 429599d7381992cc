/*
 * Every annotation macro on known blocks:
 *   config   200 bytes, MEMSCOPE_TRACK_VAR(config), leaked
 *   table    grows 64 -> 4096 with realloc, named "lookup table" of type
 *            "struct entry[]" before the realloc, leaked (the name follows)
 *   scratch  named through a pointer inside it (+10), freed
 *   stale    freed, then named: a use_after_free finding
 *   scopes   "load" wraps 3 x malloc(100); nested "parse" wraps 2 x malloc(50)
 *            of those... (see below); outside any scope: the rest
 */
#include <stdlib.h>

#include "memscope.h"

void *volatile sink[8];

__attribute__((noinline)) void load(void)
{
	MEMSCOPE_SCOPE_BEGIN("load");
	for (int i = 0; i < 3; i++)
		sink[i] = malloc(100);
	MEMSCOPE_SCOPE_BEGIN("parse");
	for (int i = 0; i < 2; i++)
		free(malloc(50));
	MEMSCOPE_SCOPE_END();
	MEMSCOPE_SCOPE_END();
}

int main(void)
{
	char *config = malloc(200);
	char *table = malloc(64);
	char *scratch = malloc(32);
	char *stale = malloc(16);

	MEMSCOPE_TRACK_VAR(config); /* @track_config */
	MEMSCOPE_TRACK_TYPED(table, "lookup table", "struct entry[]"); /* @track_table */
	table = realloc(table, 4096);
	MEMSCOPE_TRACK(scratch + 10, "scratch"); /* @track_scratch */
	free(scratch);
	free(stale);
	MEMSCOPE_TRACK(stale, "stale"); /* @track_stale */
	load();
	sink[4] = config;
	sink[5] = table;
	return 0;
}
