/* Names of the modes (src/base/settings.h). */
#include "settings.h"

#include "util.h"

static const char *const mode_names[] = { "smtps", "submission" };

const char *mode_name(unsigned mode)
{
	for (unsigned i = 0; i < ELEMENTSOF(mode_names); i++)
		if (mode == 1u << i)
			return mode_names[i];
	return "?";
}

int mode_parse(const char *s, unsigned *mode)
{
	for (unsigned i = 0; i < ELEMENTSOF(mode_names); i++)
		if (streq(s, mode_names[i])) {
			*mode = 1u << i;
			return 0;
		}
	return -EINVAL;
}
