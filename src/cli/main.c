/* op25b: make a mail server work behind an ISP that blocks outbound port 25. */
#include <locale.h>
#include <sys/stat.h>

#include "options.h"
#include "util.h"
#include "verbs.h"

static const struct {
	const char *name;
	int (*run)(const struct options *o);
} verb_table[] = {
	{ "apply", verb_apply },
	{ "revert", verb_revert },
	{ "status", verb_status },
	{ "probe", verb_probe },
	{ "verify", verb_verify },
};

int main(int argc, char **argv)
{
	struct options o = { 0 };
	bool exit_now;
	int r;

	setlocale(LC_CTYPE, "C");
	/* Files we create hold configuration and secrets: nothing group/world-writable by accident. */
	umask(022);

	r = options_parse(argc, argv, &o, &exit_now);
	if (r || exit_now) {
		options_free(&o);
		return r;
	}
	r = EXIT_USAGE;
	for (unsigned i = 0; i < ELEMENTSOF(verb_table); i++)
		if (streq(o.verb, verb_table[i].name))
			r = verb_table[i].run(&o);
	options_free(&o);
	return r;
}
