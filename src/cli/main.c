/* op25b: make a mail server work behind an ISP that blocks outbound port 25. */
#include <fcntl.h>
#include <locale.h>
#include <sys/stat.h>

#include "report.h"
#include "request.h"
#include "scratch.h"
#include "util.h"
#include "verbs.h"

/* Whether --json is on the command line (before "--"), read or not: reading may have stopped at
 * an earlier option. */
static bool json_asked(int argc, char **argv)
{
	for (int i = 1; i < argc && !streq(argv[i], "--"); i++)
		if (streq(argv[i], "--json"))
			return true;
	return false;
}

/* A usage error once the verb is known, with --json: the one object all the same (exit 2,
 * changed false; the reason is on stderr, as for every other error), so that a script reading
 * stdout always has an object. */
static int usage_error_json(struct request *o, int status)
{
	struct report rep;
	o->json = true;
	o->json_fd = STDOUT_FILENO;
	report_init(&rep, o, o->verb);
	return report_end(&rep, status);
}

int main(int argc, char **argv)
{
	struct request o = { 0 };
	bool exit_now;
	int r;

	setlocale(LC_CTYPE, "C");
	/* Files we create hold configuration and secrets: nothing group/world-writable by accident. */
	umask(022);

	r = request_parse(argc, argv, &o, &exit_now);
	if (r || exit_now) {
		if (r && o.verb && (o.json || json_asked(argc, argv)))
			r = usage_error_json(&o, r);
		request_free(&o);
		return r;
	}
	/* --json: stdout holds the one JSON object and nothing else; every text line (messages,
	 * diffs, what child processes print) goes to stderr. */
	if (o.json) {
		o.json_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
		if (o.json_fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
			request_free(&o);
			return log_err(EXIT_FAIL, "--json: %m");
		}
	}
	/* What a killed run left in /tmp goes now, not only when a later run needs a scratch dir. */
	scratch_clean_stale();
	r = verb_find(o.verb)->run(&o); /* request_parse() found it */
	if (o.json)
		close(o.json_fd);
	request_free(&o);
	return r;
}
