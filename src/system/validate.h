/* Postfix's and Dovecot's own parsers as the judges of what op25b is about to write. */
#pragma once
#include "conffile.h"

/* Postfix: the planned main.cf and master.cf, copied into a private directory (back-dated, so that
 * postconf does not wait ~2 s for a "too new" main.cf), must pass `postconf -n` and `postconf -M`
 * without warnings that the current files do not already cause. Runs before anything is written. */
int validate_postfix(const struct conf_set *s, const char *postfix_dir);

/* Dovecot: `doveconf -c DIR/dovecot.conf -n` on the written files (includes make a copy
 * impractical). Only on the running system (root "/"), where the certificate paths resolve, and only
 * when the installed Dovecot speaks the configuration's syntax (2.4 names need Dovecot 2.4). */
int validate_dovecot(const struct conf_set *s, const char *dovecot_dir);
