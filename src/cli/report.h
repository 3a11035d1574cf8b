/* The result of one run, as --json prints it (schema in man/op25b.8, version OP25B_JSON_SCHEMA):
 * each verb fills one report as it goes and prints it once, at its end, whatever the exit status.
 * Filling never fails the run: running out of memory is noticed once, when the report is printed. */
#pragma once
#include "conffile.h"
#include "fwstep.h"
#include "journal.h"
#include "json.h"
#include "request.h"
#include "restart.h"

struct report {
	json_t *o;                  /* the object; NULL after running out of memory */
	const struct request *opt;
	bool enomem;
};

/* {"op25b": version, "schema": N, "verb": VERB, "dry_run": ..., "changed": false} */
void report_init(struct report *r, const struct request *o, const char *verb);
/* "modes": the names of MODES, as a list. */
void report_modes(struct report *r, const char *key, unsigned modes);
/* "files": each file of S that changes, with its action and (apply) op25b's edits. REVERT names
 * the actions of a revert (restored, updated, removed). */
void report_files(struct report *r, const struct conf_set *s, bool revert);
/* "units" and "restart" (what was restarted, or why nothing was). */
void report_units(struct report *r, const struct restart_report *u);
/* "firewall": where, zone and the services opened (closed). */
void report_firewall(struct report *r, const struct fw_report *f);
/* "left_applied": each mode a committed transaction of J applied, but those of GONE, with who
 * applied it ("origins", oldest first; null: by hand); with SAY, one line each in the text output
 * too, "MODE: left applied (applied by rpm, then by hand)". */
void report_left_applied(struct report *r, const struct journal *j, unsigned gone, bool say);
/* "router_ports": the TCP ports the home router must forward for MODES. */
void report_router_ports(struct report *r, unsigned modes);
/* The command that finishes J's interrupted revert: "op25b revert --mode=smtps" or "op25b revert". */
const char *interrupted_revert_command(const struct journal *j, char *buf, size_t size);
/* "diff": the unified diff of S (--dry-run). */
void report_diff(struct report *r, const struct conf_set *s);
void report_set(struct report *r, const char *key, json_t *value);
void report_bool(struct report *r, const char *key, bool value);
void report_str(struct report *r, const char *key, const char *value);
/* Merge the members of OBJ (taken) into the report. */
void report_merge(struct report *r, json_t *obj);

/* Print the report (with --json), free it, and return the verb's exit status (EXIT_FAIL when
 * the report could not be made or written). */
int report_end(struct report *r, int exit_status);
