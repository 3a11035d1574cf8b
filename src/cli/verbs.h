/* The verbs: one file per verb (verb-*.c), as systemctl does; each returns an exit status of
 * util.h. verb_table is the one list of them: main.c runs the verb, request.c finds it, refuses
 * the options it does not take and prints its usage. */
#pragma once
#include <stddef.h>

struct request;

int verb_apply(const struct request *o);
int verb_revert(const struct request *o);
int verb_status(const struct request *o);
int verb_probe(const struct request *o);
int verb_verify(const struct request *o);
int verb_reload_certs(const struct request *o);
int verb_log(const struct request *o);

struct verb {
	const char *name;
	unsigned bit;                        /* V_* of option-table.h: the options it takes */
	int (*run)(const struct request *o);
	const char *usage;                   /* its lines of --help's "Usage:" */
};

/* In the order of --help. */
extern const struct verb verb_table[];
extern const size_t verb_count;

/* The verb called NAME, or NULL. */
const struct verb *verb_find(const char *name);
