/* Making the services use the new files: restart the units whose files changed, over sd-bus, or
 * say why not (offline, --no-restart) and what still needs a restart. */
#pragma once
#include "conffile.h"
#include "settings.h"

/* What restart_changed() did, for --json and the audit record. */
struct restart_report {
	size_t n;
	struct {
		char unit[64];
		const char *action;      /* "restarted" (or "reloaded") */
	} v[4];
	const char *skipped;         /* files changed but nothing was restarted: why; NULL otherwise */
};

/* Restart Postfix when a file under the Postfix dir changed, Dovecot when one under the Dovecot dir
 * did (--no-restart: only say so). 0 when done or skipped; a negative errno when a unit did not come back (already reported).
 * REP (may be NULL) is filled with what was done. */
int restart_changed(const struct target *o, bool no_restart, const struct conf_set *s, struct restart_report *rep);
