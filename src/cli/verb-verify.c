/* op25b verify: check over the network what op25b applied, one line per check; exit 1 when any
 * check fails. */
#include <signal.h>

#include "probe.h"
#include "util.h"
#include "verbs.h"
#include "verify.h"

#define DEFAULT_HOST "127.0.0.1"

static void print_json(const char *host, const struct verify_config *vc, const struct checks *c)
{
	static const char *const word[] = { "ok", "fail", "skip" };
	fputs("{\"host\":", stdout);
	probe_json_string(stdout, host);
	fputs(",\"modes\":[", stdout);
	for (unsigned m = 1, first = 1; m <= MODE_ALL; m <<= 1)
		if (vc->modes & m) {
			printf("%s\"%s\"", first ? "" : ",", mode_name(m));
			first = 0;
		}
	fputs("],\"checks\":[", stdout);
	for (size_t i = 0; i < c->n; i++) {
		printf("%s{\"check\":", i ? "," : "");
		probe_json_string(stdout, c->v[i].id);
		printf(",\"status\":\"%s\",\"message\":", word[c->v[i].status]);
		probe_json_string(stdout, c->v[i].text);
		if (c->v[i].queue_id) {
			fputs(",\"queue_id\":", stdout);
			probe_json_string(stdout, c->v[i].queue_id);
		}
		putchar('}');
	}
	printf("],\"failed\":%zu,\"ok\":%s}\n", checks_failed(c), checks_failed(c) ? "false" : "true");
}

int verb_verify(const struct options *o)
{
	_cleanup_(verify_config_free) struct verify_config vc = { 0 };
	_cleanup_(checks_free) struct checks c = { .print = !o->json };
	const char *host = o->host ? o->host : DEFAULT_HOST;
	int r;

	/* A server that hangs up while TLS writes must give EPIPE, not kill the run. */
	signal(SIGPIPE, SIG_IGN);
	if ((r = verify_read_config(o, &vc)) != 0)
		return r;
	if (vc.interrupted)
		checks_add(&c, CHECK_FAIL, "journal", "an earlier op25b run was interrupted: run 'op25b revert' first");
	if (!vc.modes)
		checks_add(&c, CHECK_FAIL, "journal", "op25b has applied nothing here (no transaction in %s)", o->state_dir);
	if (vc.modes & MODE_SMTPS)
		verify_smtps(o, host, &vc, &c);
	if (vc.modes & MODE_SUBMISSION)
		verify_submission(o, host, &vc, &c);
	if (o->send_test && vc.modes)
		verify_send_test(o, host, &vc, &c);
	if (o->json)
		print_json(host, &vc, &c);
	size_t failed = checks_failed(&c);
	if (!o->json && log_verbosity >= 0)
		printf("%s: %zu check%s, %zu failed\n", failed ? "FAILED" : "verified", c.n, c.n == 1 ? "" : "s", failed);
	return failed ? EXIT_FAIL : EXIT_DONE;
}
