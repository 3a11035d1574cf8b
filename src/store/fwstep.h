/* The firewall step of apply and revert, on top of firewall.c: offline zone XML goes through the
 * journal like every other file; services opened over D-Bus are recorded in the transaction. */
#pragma once
#include "conffile.h"
#include "journal.h"
#include "firewall.h"

/* What the firewall step did (apply: opened; revert: closed), for --json and the audit record. */
struct fw_report {
	const char *where;          /* "online", "offline", "absent", "skipped" (--no-firewall); NULL: not reached */
	char *zone;
	char *services[8];          /* the services op25b opened (closed) itself */
	size_t n;
};
void fw_report_done(struct fw_report *r);

/* Each function below fills REP when it is not NULL. */
/* At plan time: when the firewall is offline, add the zone XML with the services of MODES to S;
 * *online tells whether fw_step_open() has work to do after the files are written. */
int fw_step_plan(const struct fw_ctx *c, unsigned modes, struct conf_set *s, bool *online, struct fw_report *rep);
/* Online: open the services and record them in T. */
int fw_step_open(const struct fw_ctx *c, unsigned modes, struct journal *j, struct tx *t, struct fw_report *rep);
/* Online: close what T recorded. */
int fw_step_close(const struct fw_ctx *c, const struct tx *t, struct fw_report *rep);
/* "router: forward TCP ports 465, 993, 995 to this host" for MODES. */
void fw_step_router_hint(unsigned modes);
