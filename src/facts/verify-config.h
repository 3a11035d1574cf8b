/* What verify and reload-certs check against: what op25b applied (the journal) and what the
 * configuration says now (postconf, doveconf). Facts read from outside, before any check runs. */
#pragma once
#include "settings.h"
#include "verify.h"

/* What op25b applied, from the journal (the lock is released on return); 0 or journal_open()'s
 * negative errno. */
int verify_read_journal(const struct target *o, struct verify_config *vc);
/* What the configuration says now (postconf, doveconf); 0 or a negative errno, reported. */
int verify_read_config(const struct target *o, struct verify_config *vc);
/* KEY's value as written in POSTFIX_DIR/main.cf under ROOT (the last setting; no $name expansion,
 * no continuation lines), malloc'd; NULL when unset or unreadable. Without postconf, which waits
 * ~2 s for a main.cf written within the last seconds. */
char *main_cf_value(const char *root, const char *postfix_dir, const char *key);
