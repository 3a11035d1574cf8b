/* String lists (strv.h). */
#include "strv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int strv_push_n(char ***v, size_t *n, const char *s, size_t len)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n + 1] = NULL;
	if (!(nv[*n] = strndup(s, len))) {
		nv[*n] = NULL;
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}
