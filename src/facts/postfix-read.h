/* Postfix's configuration as read before planning (src/facts/facts.c): main.cf and master.cf
 * parsed, and parameters as the running Postfix sees them (main.cf's own value when it needs no
 * expansion, else postconf's answer). */
#pragma once
#include "conffile.h"

/* Parse POSTFIX_DIR's master.cf (which must exist) and main.cf (created when missing) into S. */
int postfix_open(struct conf_set *s, const char *postfix_dir, struct conf_file **main_cf, struct conf_file **master_cf);

/* Start the postconf run postfix_param() may need for compiled defaults (~6 ms) in the background,
 * so that it overlaps with the parsing. Its answer is taken on first use, or it is stopped with S. */
void postfix_defaults_prefetch(struct conf_set *s);

/* A Postfix parameter's value: main.cf's own when it needs no expansion, else Postfix's answer
 * (postconf -c DIR -h when main.cf sets it with "$name" references; postconf -d -h, the compiled
 * default, when main.cf does not set it: -d never waits for a young main.cf; one run answers for
 * all the keys op25b reads, and S keeps the answer). */
int postfix_param(struct conf_set *s, const char *postfix_dir, struct conf_file *main_cf, const char *key, char **out);
