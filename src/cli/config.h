/* The configuration file (--config=FILE, op25b.conf(5)): the command line's options as
 * "key = value" lines, read with op25b's own Augeas lens Op25b_Conf. The keys come from the
 * option table (src/cli/option-table.h); request_parse() merges them under the command line. */
#pragma once
#include "option-table.h"

struct config_values {
	char *value[N_OPTS];   /* NULL when the key is absent; checked by opt_check() */
	unsigned line[N_OPTS]; /* 0 when unknown */
};

/* Read PATH into V.
 *
 * PATH is a path on this host, never under --root. Like doas, the file is refused when it is a
 * symbolic link (O_NOFOLLOW), not a regular file, group- or world-writable, or owned by anyone
 * but root or the effective user. Unknown keys, relay passwords, 'root', keys that contradict each
 * other and bad values are errors printed as "op25b: PATH:LINE: what is wrong".
 *
 * Returns 0; -ENOMEM; another negative errno for a file that cannot be used (exit 2). */
int config_read(const char *path, struct config_values *v);
void config_values_done(struct config_values *v);
