/*
 * Blocks the C library keeps for itself (tests/e2e): the name service's
 * caches and result buffers behind getpwuid() and getgrgid(), and stdout's
 * buffer; beside them one block the program leaks.
 */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>

void *volatile keep;

int main(void)
{
	struct passwd *pw = getpwuid(0);
	struct group *gr = getgrgid(0);

	keep = malloc(77); /* @program_leak */
	printf("%s %s\n", pw ? pw->pw_name : "?", gr ? gr->gr_name : "?");
	return 0;
}
