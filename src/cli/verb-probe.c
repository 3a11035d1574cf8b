/* `op25b probe HOST[:PORT] [--json] [--timeout=S]`: the ISP's banner, EHLO extensions and AUTH
 * mechanisms before and after STARTTLS, and its certificate. */
#include "hostport.h"
#include "probe.h"
#include "report.h"
#include "util.h"
#include "verbs.h"

/* The argument is echoed in messages only when that cannot break the message's line. */
static const char *printable_arg(const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c < 0x20 || *c >= 0x7f)
			return "HOST";
	return s;
}

static int probe(const struct request *o, struct report *rep)
{
	_cleanup_(probe_result_free) struct probe_result res = { 0 };
	struct hostport hp;
	const char *why;

	if (hostport_parse(o->args[0], PROBE_DEFAULT_PORT, &hp, &why) < 0)
		return log_err(EXIT_USAGE, "probe %s: %s", printable_arg(o->args[0]), why);

	int r = probe_run(hp.host, hp.port, o->target.timeout_sec, &res);
	/* --json prints an object also for a failed probe (its "error" says why), so that scripts
	 * always have one object to read; the text report is for completed probes only. */
	if (o->json)
		report_merge(rep, probe_result_json(&res));
	else if (r >= 0 && log_verbosity >= 0)
		probe_result_print(&res, stdout);
	if (fflush(stdout) != 0 || ferror(stdout))
		return log_err(EXIT_FAIL, "probe: cannot write the report: %m");
	return r < 0 ? EXIT_FAIL : EXIT_DONE;
}

int verb_probe(const struct request *o)
{
	struct report rep;
	report_init(&rep, o, "probe");
	return report_end(&rep, probe(o, &rep));
}
