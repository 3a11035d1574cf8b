/* SASL mechanism lists (mechlist.h). */
#include "mechlist.h"

#include <string.h>

size_t mech_list_next(const char **p, const char **name)
{
	while (**p == ',' || **p == ' ')
		(*p)++;
	size_t n = strcspn(*p, ", ");
	*name = *p;
	*p += n;
	return n;
}

bool mech_name_valid(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}
