/* op25b status: which modes are applied, and whether each file still holds what op25b wrote. */

#include "firewall.h"
#include "journal.h"
#include "report.h"
#include "rootfs.h"
#include "verify-config.h"
#include "util.h"
#include "verbs.h"

enum file_state { FILE_AS_WRITTEN, FILE_CHANGED, FILE_MISSING };

/* As op25b left it: the bytes are the ones the newest transaction that touched the file wrote, and
 * every transaction from T's on was made on what the one before left (op25b's own later edits, by
 * the other mode, are not "changed since"). */
static enum file_state state_of(const char *root, const struct journal *j, const struct tx *t, const struct tx_file *x)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	char h[65];
	if (root_read_file(root, x->path, false, &data, &len, NULL) < 0)
		return FILE_MISSING;
	sha256_hex(data, len, h);
	if (x->secret)
		explicit_bzero(data, len);
	const struct tx_file *prev = x;
	for (size_t k = (size_t)(t - j->txs) + 1; k < j->n; k++)
		for (size_t i = 0; i < j->txs[k].n; i++)
			if (streq(j->txs[k].files[i].path, x->path)) {
				if (!streq(j->txs[k].files[i].orig_hash, prev->new_hash))
					return FILE_CHANGED;
				prev = &j->txs[k].files[i];
			}
	return streq(h, prev->new_hash) ? FILE_AS_WRITTEN : FILE_CHANGED;
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

/* The newest record of PATH among the committed transactions of MODE. */
static const struct tx_file *record_of(const struct journal *j, unsigned mode, const char *path, const struct tx **t)
{
	for (size_t k = j->n; k-- > 0;)
		for (size_t i = 0; j->txs[k].mode == mode && !j->txs[k].pending && i < j->txs[k].n; i++)
			if (streq(j->txs[k].files[i].path, path)) {
				*t = &j->txs[k];
				return &j->txs[k].files[i];
			}
	return NULL;
}

/* The other committed modes that own node REL of PATH too. */
static unsigned also_owned(const struct journal *j, unsigned mode, const char *path, const char *rel)
{
	unsigned m = 0;
	for (size_t k = 0; k < j->n; k++)
		for (size_t i = 0; j->txs[k].mode != mode && !j->txs[k].pending && i < j->txs[k].n; i++)
			if (streq(j->txs[k].files[i].path, path))
				for (size_t e = 0; e < j->txs[k].files[i].n_edits; e++)
					if (streq(j->txs[k].files[i].edits[e].path, rel))
						m |= j->txs[k].mode;
	return m;
}

/* The nodes of X that mode M owns (its edits and claims), each once; "(with MODE)" when another
 * applied mode owns it too. A file written whole is owned whole. Into OWNS (JSON), or printed. */
static int owned(const struct journal *j, unsigned m, const struct tx_file *x, json_t *owns)
{
	size_t n = 0;
	if (!x->lens) {
		if (owns)
			return js_push_str(owns, "(whole file)");
		printf("    owns the whole file\n");
		return 0;
	}
	for (size_t e = 0; e < x->n_edits; e++) {
		bool seen = false;
		for (size_t p = 0; p < e && !seen; p++)
			seen = streq(x->edits[p].path, x->edits[e].path);
		if (seen)
			continue;
		unsigned other = also_owned(j, m, x->path, x->edits[e].path);
		if (owns) {
			if (js_push_str(owns, x->edits[e].path) < 0)
				return -ENOMEM;
		} else {
			printf("%s%s", n ? ", " : "    owns: ", x->edits[e].path);
			if (other)
				printf(" (with %s)", mode_name(other));
		}
		n++;
	}
	if (!owns && n)
		putchar('\n');
	return 0;
}

/* Every file of every transaction of mode M, once (its newest record): its state and what M owns
 * in it. Into FILES (JSON), or printed. */
static int mode_files(const char *root, const struct journal *j, unsigned m, json_t *files)
{
	for (size_t k = 0; k < j->n; k++)
		for (size_t i = 0; j->txs[k].mode == m && !j->txs[k].pending && i < j->txs[k].n; i++) {
			const struct tx *rt = NULL;
			const struct tx_file *x = record_of(j, m, j->txs[k].files[i].path, &rt);
			if (x != &j->txs[k].files[i])
				continue;
			enum file_state st = state_of(root, j, rt, x);
			if (!files) {
				printf("  %s: %s\n", x->path, state_text[st]);
				owned(j, m, x, NULL);
				continue;
			}
			json_t *o = json_object(), *owns = json_array();
			if (!o || !owns || js_push(files, o) < 0 || js_set_str(o, "path", x->path) < 0 ||
			    js_set_str(o, "state", state_json[st]) < 0 || js_set(o, "owns", owns) < 0 ||
			    owned(j, m, x, owns) < 0)
				return -ENOMEM;
		}
	return 0;
}

/* The journal's copies of the originals a revert needs (each checked against its hash; the reason
 * is reported by journal_original()): the paths whose copy cannot be used, into DAMAGED (JSON) or
 * printed. Status is what an admin runs first: a revert that would refuse is said here. */
static size_t damaged_copies(const struct journal *j, json_t *damaged)
{
	size_t n = 0;
	for (size_t k = 0; k < j->n; k++)
		for (size_t i = 0; i < j->txs[k].n; i++) {
			const struct tx_file *x = &j->txs[k].files[i];
			char *data = NULL;
			size_t len = 0;
			if (!x->existed)
				continue;
			if (journal_original(j, &j->txs[k], i, &data, &len) == 0) {
				explicit_bzero(data, len); /* the map's original holds the password */
				free(data);
				continue;
			}
			n++;
			if (damaged)
				js_push_str(damaged, x->path);
			else
				printf("journal: %s: the copy of %s's original is missing or damaged: 'op25b revert' "
				       "will refuse until it is restored\n", j->txs[k].dir, x->path);
		}
	return n;
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

	unsigned applied = 0;
	bool interrupted = j.intent.state != INTENT_NONE;
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
		const char *by[8];
		size_t n_by = journal_origins(&j, m, by, 8);
		if (o->json) {
			json_t *x = json_object(), *files = json_array(), *origins = json_array();
			/* Who applied it, oldest first; null: by hand. */
			for (size_t i = 0; origins && i < n_by; i++)
				if (js_push_str(origins, by[i]) < 0)
					rep->enomem = true;
			if (js_set(x, "origins", origins) < 0)
				rep->enomem = true;
			if (!modes || !files || js_set(modes, mode_name(m), x) < 0 || js_set_bool(x, "applied", t) < 0 ||
			    js_set(x, "files", files) < 0 || mode_files(o->target.root, &j, m, files) < 0 ||
			    (level && js_set_str(x, "relay_tls", level) < 0))
				rep->enomem = true;
			continue;
		}
		printf("%s: %s\n", mode_name(m), t ? "applied" : "not applied");
		for (size_t i = 0; i < n_by; i++)
			printf("%s%s%s", i ? ", then " : "  applied ", by[i] ? "by " : "by hand", by[i] ? by[i] : "");
		if (n_by)
			putchar('\n');
		if (level)
			printf("  relay TLS: %s: %s\n", level, relay_tls_words(level));
		mode_files(o->target.root, &j, m, NULL);
	}
	report_bool(rep, "interrupted", interrupted);
	report_router_ports(rep, applied);
	if (o->json) {
		json_t *damaged = json_array();
		report_set(rep, "journal_damaged", damaged);
		if (damaged)
			damaged_copies(&j, damaged);
		return EXIT_DONE;
	}
	damaged_copies(&j, NULL);
	_cleanup_free_ char *ports = applied ? fw_router_hint(applied) : NULL;
	if (ports)
		printf("router: forward TCP %s to this host\n", ports);
	char cmd[64];
	if (j.intent.state != INTENT_NONE)
		printf("a revert was interrupted: run '%s' again to finish it\n", interrupted_revert_command(&j, cmd, sizeof(cmd)));
	else if (interrupted)
		printf("an earlier run was interrupted: run 'op25b revert' to put the files back\n");
	return EXIT_DONE;
}

int verb_status(const struct request *o)
{
	struct report rep;
	report_init(&rep, o, "status");
	return report_end(&rep, status(o, &rep));
}
