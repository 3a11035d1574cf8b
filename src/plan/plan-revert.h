/* Revert's plan (plan-revert.c): from the journal as read and the files as they are now, the
 * content each file gets back, the files that go away, and what the journal records for the
 * transactions that stay. Pure: it edits the conf_set in memory; the verb reads the journal and
 * the files before, and writes, reloads, closes the firewall and commits the journal after. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "conffile.h"
#include "journal.h"
#include "settings.h"

/* The original bytes of file I of T (what journal_original() reads), asked for only when the plan
 * needs them: a copy nobody needs is never read, so a damaged one only stops a revert that uses it.
 * Returns 0 or a negative errno with its message given. */
/* A firewalld zone op25b may have created from its stock copy, as the apply's firewall step does
 * (firewall-zone.c): PATH (/etc/firewalld/zones/NAME.xml) and the bytes of
 * /usr/lib/firewalld/zones/NAME.xml. A staying mode's services go into it when the transaction
 * that created the zone is reverted. */
struct revert_zone_stock {
	char *path;
	char *data;
	size_t len;
};

struct revert_originals {
	int (*read)(void *userdata, const struct tx *t, size_t i, char **data, size_t *len);
	void *userdata;
	const struct revert_zone_stock *stock; /* the stock zones, read before planning (zone-stock.h) */
	size_t n_stock;
};

/* What a revert writes into the journal for a transaction that stays (journal_rebase()): file I of
 * transaction TX (an index into the journal's txs) now starts from ORIG. */
struct revert_rebase {
	size_t tx, i;
	bool existed;
	uid_t uid;
	gid_t gid;
	mode_t mode;
	char *orig;
	size_t orig_len;
	char new_hash[65];
	struct edit *edits;
	size_t n_edits;
};

struct revert_plan {
	unsigned done;                /* the modes of the transactions it takes out (0: nothing to revert) */
	struct revert_rebase *rebases;
	size_t n_rebases;
};

void revert_plan_done(struct revert_plan *p);

/* Whether a revert of MODES takes T out (a pending transaction always goes). */
bool revert_takes(const struct tx *t, unsigned modes);

/* revert --origin=NAME: of MODES, the ones NAME alone applied; every other applied mode stays,
 * with one warning line each. */
unsigned revert_modes_of_origin(const struct journal *j, unsigned modes, const char *origin);

/* The journal names only files in the directories op25b manages; -EINVAL (message given) for
 * one that does not. Checked before any file it names is read. */
int revert_check_managed(const struct journal *j, const struct target *t);

/* Plan the revert of MODES. S holds, in the order the newest transactions name them, every file
 * a transaction taken out names, read as they are now (conf_open_raw(), mode 0600) and not yet
 * planned. Sets each file's new content (f->new), or f->remove for one that goes away, f->merged
 * for one only op25b's edits were undone in; fills OUT. 0 or a negative errno. */
int plan_revert(struct conf_set *s, const struct journal *j, unsigned modes, const struct revert_originals *orig,
		struct revert_plan *out);
