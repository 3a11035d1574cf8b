/* op25b verify: check over the network what op25b applied, one line per check; exit 1 when any
 * check fails. */
#include <signal.h>

#include "report.h"
#include "util.h"
#include "verbs.h"
#include "verify-config.h"

#define DEFAULT_HOST "127.0.0.1"

static json_t *checks_json(const struct checks *c)
{
	static const char *const word[] = { "ok", "fail", "skip" };
	json_t *a = json_array();
	for (size_t i = 0; a && i < c->n; i++) {
		json_t *x = json_object();
		if (!x || js_push(a, x) < 0 || js_set_str(x, "check", c->v[i].id) < 0 ||
		    js_set_str(x, "status", word[c->v[i].status]) < 0 || js_set_str(x, "message", c->v[i].text) < 0 ||
		    (c->v[i].queue_id && js_set_str(x, "queue_id", c->v[i].queue_id) < 0)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static int verify(const struct request *o, struct report *rep)
{
	_cleanup_(verify_config_free) struct verify_config vc = { 0 };
	_cleanup_(checks_free) struct checks c = { .print = !o->json };
	const char *host = o->verify.host ? o->verify.host : DEFAULT_HOST;
	int r;

	/* A server that hangs up while TLS writes must give EPIPE, not kill the run. */
	signal(SIGPIPE, SIG_IGN);
	if ((r = verify_read_journal(&o->target, &vc)) < 0)
		return exit_status_of(r);
	if ((r = verify_read_config(&o->target, &vc)) < 0)
		return EXIT_FAIL;
	if (vc.interrupted)
		checks_add(&c, CHECK_FAIL, "journal", "an earlier op25b run was interrupted: run 'op25b revert' first");
	if (!vc.modes)
		checks_add(&c, CHECK_FAIL, "journal", "op25b has applied nothing here (no transaction in %s)", o->target.state_dir);
	if (vc.modes & MODE_SMTPS)
		verify_smtps(&o->target, host, &vc, &c);
	if (vc.modes & MODE_SUBMISSION)
		verify_submission(&o->target, host, &vc, &c);
	if (o->verify.send_test && vc.modes)
		verify_send_test(&o->target, &o->verify, host, &vc, &c);
	size_t failed = checks_failed(&c);
	report_str(rep, "host", host);
	report_modes(rep, "modes", vc.modes);
	report_set(rep, "checks", checks_json(&c));
	report_set(rep, "failed", json_integer((json_int_t)failed));
	report_bool(rep, "ok", failed == 0);
	if (!o->json && log_verbosity >= 0)
		printf("%s: %zu check%s, %zu failed\n", failed ? "FAILED" : "verified", c.n, c.n == 1 ? "" : "s", failed);
	return failed ? EXIT_FAIL : EXIT_DONE;
}

int verb_verify(const struct request *o)
{
	struct report rep;
	report_init(&rep, o, "verify");
	return report_end(&rep, verify(o, &rep));
}
