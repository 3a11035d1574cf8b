/* op25b status: which modes are applied, and whether each file still holds what op25b wrote. */

#include "firewall.h"
#include "journal.h"
#include "report.h"
#include "rootfs.h"
#include "verify.h"
#include "util.h"
#include "verbs.h"

enum file_state { FILE_AS_WRITTEN, FILE_CHANGED, FILE_MISSING };

static enum file_state state_of(const char *root, const struct tx_file *x)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	char h[65];
	if (root_read_file(root, x->path, false, &data, &len, NULL) < 0)
		return FILE_MISSING;
	sha256_hex(data, len, h);
	if (x->secret)
		explicit_bzero(data, len);
	return streq(h, x->new_hash) ? FILE_AS_WRITTEN : FILE_CHANGED;
}

static const char *const state_text[] = { "as op25b wrote it", "changed since", "missing" };
static const char *const state_json[] = { "as-written", "changed", "missing" };

/* The newest transaction of a mode decides what its files should hold. */
static const struct tx *newest(const struct journal *j, unsigned mode)
{
	for (size_t k = j->n; k-- > 0;)
		if (j->txs[k].mode == mode && !j->txs[k].pending)
			return &j->txs[k];
	return NULL;
}

static json_t *files_json(const char *root, const struct tx *t)
{
	json_t *a = json_array();
	for (size_t i = 0; a && t && i < t->n; i++) {
		json_t *x = json_object();
		if (!x || js_push(a, x) < 0 || js_set_str(x, "path", t->files[i].path) < 0 ||
		    js_set_str(x, "state", state_json[state_of(root, &t->files[i])]) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* How the ISP relay is authenticated before it gets the password (--relay-tls). */
static const char *relay_tls_words(const char *level)
{
	if (streq(level, "secure") || streq(level, "verify"))
		return "its certificate must verify (CA and name)";
	if (streq(level, "fingerprint"))
		return "its public key is pinned";
	if (streq(level, "encrypt"))
		return "NOT authenticated: anyone in the middle can read the password";
	return "NOT authenticated, TLS not even required";
}

static int status(const struct request *o, struct report *rep)
{
	_cleanup_(journal_close) struct journal j = { .lock_fd = -1 };
	int r = journal_open(&j, o->target.root, o->target.state_dir, false, o->target.timeout_sec);
	if (r < 0)
		return exit_status_of(r);

	bool interrupted = false;
	unsigned applied = 0;
	for (size_t k = 0; k < j.n; k++)
		interrupted |= j.txs[k].pending;

	json_t *modes = json_object();
	report_set(rep, "modes", modes);
	for (unsigned m = 1; m <= MODE_ALL; m <<= 1) {
		const struct tx *t = newest(&j, m);
		if (t)
			applied |= m;
		_cleanup_free_ char *level = t && m == MODE_SUBMISSION ?
			main_cf_value(o->target.root, o->target.postfix_dir, "smtp_tls_security_level") : NULL;
		if (t && m == MODE_SUBMISSION && !level && !(level = strdup("none")))
			rep->enomem = true;
		if (o->json) {
			json_t *x = json_object();
			if (!modes || js_set(modes, mode_name(m), x) < 0 || js_set_bool(x, "applied", t) < 0 ||
			    js_set(x, "files", files_json(o->target.root, t)) < 0 || (level && js_set_str(x, "relay_tls", level) < 0))
				rep->enomem = true;
			continue;
		}
		printf("%s: %s\n", mode_name(m), t ? "applied" : "not applied");
		if (level)
			printf("  relay TLS: %s: %s\n", level, relay_tls_words(level));
		for (size_t i = 0; t && i < t->n; i++)
			printf("  %s: %s\n", t->files[i].path, state_text[state_of(o->target.root, &t->files[i])]);
	}
	report_bool(rep, "interrupted", interrupted);
	report_router_ports(rep, applied);
	if (o->json)
		return EXIT_DONE;
	_cleanup_free_ char *ports = applied ? fw_router_hint(applied) : NULL;
	if (ports)
		printf("router: forward TCP %s to this host\n", ports);
	if (interrupted)
		printf("an earlier run was interrupted: run 'op25b revert' to put the files back\n");
	return EXIT_DONE;
}

int verb_status(const struct request *o)
{
	struct report rep;
	report_init(&rep, o, "status");
	return report_end(&rep, status(o, &rep));
}
