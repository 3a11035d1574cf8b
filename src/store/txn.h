/* Writing the planned files as one unit: all of them, or (after a failure) none of them. */
#pragma once
#include "conffile.h"

/* True when some file of S changes. */
bool txn_has_changes(const struct conf_set *s);

/* Write each changed file atomically (refusing any that changed since it was read); on the first
 * failure put back the ones already written and return the error. */
int txn_write(struct conf_set *s);

/* Put back every file txn_write() wrote (after a later step failed). */
int txn_rollback(struct conf_set *s);

/* A unified diff of every change (a/etc/... paths relative to the root); secrets are not shown. */
int txn_print_diff(const struct conf_set *s);
/* The same diff written to FD (--json puts it into its object). */
int txn_diff(const struct conf_set *s, int fd);
