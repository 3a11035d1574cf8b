/* Making the services use the new files: reload the units whose files changed over sd-bus — or
 * restart them where a reload is not enough — then check that they serve what was configured; or
 * say why not (offline, --no-restart) and what still needs to be done.
 *
 * A reload keeps every open SMTP and IMAP session; a restart drops them. op25b's own edits (TLS
 * and SASL keys, relay settings, a master.cf service enabled or changed, Dovecot's ssl settings and
 * its auth listener) all take effect on a reload. A restart is needed only for parameters the
 * daemons read once at start (restart_needed() in restart.c lists them). */
#pragma once
#include <stdbool.h>

#include "conffile.h"
#include "offline.h"
#include "settings.h"

/* What the reloaded services must be seen to serve before the change counts as done. */
struct serve_expect {
	const char *cert;  /* target path of the certificate the TLS ports must present */
	bool smtps;        /* check them (what --mode=smtps configures): Postfix's 465 greets with SMTP
	                    * over implicit TLS presenting CERT, Dovecot's 993 presents CERT;
	                    * false: unit states only */
};

/* What was done, for --json (fleet's report): one entry per unit, or why nothing was. */
struct restart_report {
	size_t n;
	struct {
		char unit[64];
		const char *action;  /* "reloaded" | "restarted" */
		double sec;          /* from the call to the unit's job end */
	} v[4];
	const char *skipped;         /* why nothing was reloaded ("--no-restart", an offline reason), or NULL */
	char reason[160];            /* where an offline reason made up for this run is kept */
};

/* OFF: whether the run works on the running system, asked once per run (facts_offline(),
 * src/facts/facts.h), the answer the firewall step uses too. */

/* Reload (or restart) Postfix when a file under the Postfix dir changed, Dovecot when one under
 * the Dovecot dir did, both at once, and check them: the units active, and with EXPECT->smtps, 465
 * (when Postfix was reloaded) and 993 (when Dovecot was reloaded and 993 answered before)
 * presenting expect->cert. EXPECT NULL: unit states only (a revert, a rollback). 0 when done or skipped; a negative errno when a unit did not
 * come back or does not serve EXPECT (already reported): the caller rolls back and calls again.
 * A unit that a reload did not leave running (its reload failed, or the daemon died re-reading
 * its files) is restarted at once: the files on disk must run, whatever it costs the sessions. */
int restart_changed(const struct target *o, const struct offline *off, bool no_restart, const struct conf_set *s,
		    const struct serve_expect *expect, struct restart_report *rep /* may be NULL */);

/* The same for callers that know which services changed (op25b reload-certs): reload POSTFIX
 * and/or DOVECOT (restart them when RESTART) and check EXPECT as above. Honours NO_RESTART
 * (--no-restart) and the offline rules (then 0 with a notice). */
int services_reload(const struct target *o, const struct offline *off, bool no_restart, bool postfix, bool dovecot, bool restart,
		    const struct serve_expect *expect, struct restart_report *rep /* may be NULL */);
