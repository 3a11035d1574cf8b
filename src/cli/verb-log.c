/* op25b log: the runs that changed something (or failed trying), oldest first, from op25b's
 * history (history.h): time, verb, modes, result, files, units and the options (no secret). */
#include "history.h"
#include "report.h"
#include "util.h"
#include "verbs.h"

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "?";
}

static void print_entry(const json_t *e)
{
	const json_t *modes = json_object_get(e, "modes"), *units = json_object_get(e, "units");
	const json_t *files = json_object_get(e, "files"), *opts = json_object_get(e, "options");
	long long code = json_integer_value(json_object_get(e, "exit"));

	printf("%s %s", str(e, "time"), str(e, "verb"));
	for (size_t i = 0; i < json_array_size(modes); i++)
		printf("%s%s", i ? "," : " ", json_string_value(json_array_get(modes, i)));
	printf(": %s\n", code == 0 ? "ok" : "failed (rolled back)");
	for (size_t i = 0; i < json_array_size(files); i++)
		printf("  %s %s\n", str(json_array_get(files, i), "action"), str(json_array_get(files, i), "path"));
	for (size_t i = 0; i < json_array_size(units); i++)
		printf("  %s %s\n", str(json_array_get(units, i), "action"), str(json_array_get(units, i), "unit"));
	const char *key;
	const json_t *v;
	bool first = true;
	json_object_foreach((json_t *)opts, key, v) {
		printf("%s--%s", first ? "  options: " : " ", key);
		if (json_is_string(v))
			printf("=%s", json_string_value(v));
		else if (json_is_integer(v))
			printf("=%lld", json_integer_value(v));
		first = false;
	}
	if (!first)
		putchar('\n');
}

static int log_verb(const struct request *o, struct report *rep)
{
	_cleanup_json_ json_t *entries = NULL;
	int r = history_read(o->target.root, o->target.state_dir, &entries);
	if (r < 0)
		return exit_status_of(r);
	if (o->json) {
		report_set(rep, "entries", json_incref(entries));
		return EXIT_DONE;
	}
	if (json_array_size(entries) == 0)
		log_info("no run of op25b recorded in %s", o->target.state_dir);
	for (size_t i = 0; i < json_array_size(entries); i++)
		print_entry(json_array_get(entries, i));
	return EXIT_DONE;
}

int verb_log(const struct request *o)
{
	struct report rep;
	report_init(&rep, o, "log");
	return report_end(&rep, log_verb(o, &rep));
}
