/* One run's request: the command line and op25b.conf merged, checked once by one set of rules
 * (src/cli/request.c), from one option table (src/cli/option-table.h). The verbs get the request;
 * the modules below them get only the part they need (src/base/settings.h). The program's only
 * mutable global state is log_verbosity, which mirrors --quiet/--verbose. */
#pragma once
#include <stdbool.h>

#include "firewall.h"
#include "option-table.h"
#include "settings.h"

struct request {
	const char *verb;
	unsigned verb_bit;           /* V_* of src/cli/option-table.h */
	unsigned modes;              /* apply: exactly one; revert: 0 means all */
	struct target target;
	struct tls_settings tls;     /* apply */
	struct relay_settings relay; /* apply --mode=submission */
	struct verify_settings verify;
	char *zone;
	char *origin;                /* apply: who applies (journaled); revert: only the modes NAME applied */
	char *config;
	bool dry_run, no_restart, no_firewall, json;
	bool check;                  /* reload-certs --check */
	int json_fd;                 /* --json: where the object goes (stdout as it was; main.c) */
	char nofield;                /* the table's NOFIELD: options that set no member (-q, -h, ...) */
	char **args;                 /* positional arguments after the verb (probe HOST[:PORT]) */
	int nargs;
	bool given[N_OPTS];          /* set on the command line or by the file, not by a default */
};

/* Parse argv and the --config file into R and check the result. Returns 0, or an exit status
 * (EXIT_USAGE, EXIT_FAIL) after printing the reason; *exit_now is set for --help/--version. */
int request_parse(int argc, char **argv, struct request *r, bool *exit_now);
void request_free(struct request *r);

/* What identifies "the same mode with the same options" for apply's fast path: the mode and
 * every option the table marks HASH (those that shape the files), as 64 hex digits. */
void request_hash(const struct request *r, char out[65]);

/* Option ID as it was given (on the command line or in the file; a default the rules filled in
 * is not given): false when it was not; else *VALUE is its text, or NULL for a flag (given: on)
 * or a number (*NUM). */
bool request_option(const struct request *r, enum opt_id id, const char **value, unsigned *num);

/* The firewall step's part of the request (src/store/fwstep.h), with OFF, the run's answer to
 * whether it works on the running system (facts_offline()). */
void request_fw_ctx(const struct request *r, const struct offline *off, struct fw_ctx *c);
