/* op25b status: which modes are applied, and whether each file still holds what op25b wrote. */

#include "firewall.h"
#include "journal.h"
#include "util.h"
#include "verbs.h"

enum file_state { FILE_AS_WRITTEN, FILE_CHANGED, FILE_MISSING };

static enum file_state state_of(const char *root, const struct tx_file *x)
{
	_cleanup_free_ char *host = path_under_root(root, x->path), *data = NULL;
	size_t len;
	char h[65];
	if (!host || read_file(host, false, &data, &len) < 0)
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

static void json_str(const char *s)
{
	putchar('"');
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c == '"' || *c == '\\')
			printf("\\%c", *c);
		else if (*c < 0x20)
			printf("\\u%04x", *c);
		else
			putchar(*c);
	putchar('"');
}

int verb_status(const struct options *o)
{
	_cleanup_(journal_close) struct journal j = { .lock_fd = -1 };
	int r = journal_open(&j, o->root, o->state_dir, false, o->timeout_sec);
	if (r < 0)
		return r == -EBUSY || r == -ENOMEM ? EXIT_FAIL : EXIT_USAGE;

	bool interrupted = false;
	unsigned applied = 0;
	for (size_t k = 0; k < j.n; k++)
		interrupted |= j.txs[k].pending;

	if (o->json)
		printf("{\"interrupted\":%s,\"modes\":{", interrupted ? "true" : "false");
	for (unsigned m = 1, first = 1; m <= MODE_ALL; m <<= 1) {
		const struct tx *t = newest(&j, m);
		if (t)
			applied |= m;
		if (o->json) {
			printf("%s\"%s\":{\"applied\":%s,\"files\":[", first ? "" : ",", mode_name(m), t ? "true" : "false");
			first = 0;
		} else {
			printf("%s: %s\n", mode_name(m), t ? "applied" : "not applied");
		}
		for (size_t i = 0; t && i < t->n; i++) {
			enum file_state st = state_of(o->root, &t->files[i]);
			if (o->json) {
				printf("%s{\"path\":", i ? "," : "");
				json_str(t->files[i].path);
				printf(",\"state\":\"%s\"}", state_json[st]);
			} else {
				printf("  %s: %s\n", t->files[i].path, state_text[st]);
			}
		}
		if (o->json)
			printf("]}");
	}
	_cleanup_free_ char *ports = applied ? fw_router_hint(applied) : NULL;
	if (o->json) {
		printf("},\"router_ports\":[%s]}\n", ports ? ports : "");
	} else {
		if (ports)
			printf("router: forward TCP %s to this host\n", ports);
		if (interrupted)
			printf("an earlier run was interrupted: run 'op25b revert' to put the files back\n");
	}
	return EXIT_DONE;
}
