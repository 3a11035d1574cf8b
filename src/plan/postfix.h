/* Postfix's main.cf (key = value, the last one wins) and master.cf (services, read with the
 * project's own lens, where a commented-out service is a "disabled" entry). */
#pragma once
#include <stdbool.h>

#include "conffile.h"

#define POSTFIX_MAIN_LENS "Op25b_Postfix_Main.lns"
#define POSTFIX_MASTER_LENS "Op25b_Postfix_Master.lns"

/* A "-o name=value" option a service needs. KEEP_VALUE: an existing value (commented or not) is
 * the admin's or the distribution's choice and is kept (syslog_name). */
struct master_opt {
	const char *name;
	const char *value;
	bool keep_value;
};

/* Set main.cf KEY to VALUE: the effective (last) entry and any earlier duplicates, or append it. */
int main_cf_set(struct conf_set *s, struct conf_file *m, const char *key, const char *value);

/* Find the inet service for the ports NAMES stand for, by name, port number or host:port
 * ("submissions", "465", "127.0.0.1:smtps", "[::1]:465"), preferring an active one to a
 * commented-out one. *rel is its path in the tree ("smtps[1]"), NULL when there is none. */
int master_find(struct conf_set *s, struct conf_file *m, const char *const *names, char **rel);

/* Warn when the active service REL listens on one address only ("127.0.0.1:submissions"). */
void master_warn_host(struct conf_set *s, struct conf_file *m, const char *rel, unsigned port);

/* Enable service REL (remove its marker) and make OPTS active; other options stay as they are. */
int master_enable(struct conf_set *s, struct conf_file *m, const char *rel, const struct master_opt *opts, size_t n);

/* Add a new inet service NAME running smtpd after the entry AFTER_NAMES[0..] found first (or at the
 * end), with the chroot column of the smtp service; *rel gets its path. */
int master_add(struct conf_set *s, struct conf_file *m, const char *name, const char *const *after_names, char **rel);
