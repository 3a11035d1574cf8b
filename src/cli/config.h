/* The configuration file (--config=FILE, op25b.conf(5)): the command line's options as
 * "key = value" lines, read with op25b's own Augeas lens Op25b_Conf. The command line wins. */
#pragma once
#include "options.h"

/* Read PATH and fill in every option of O that the command line left unset; called by
 * options_parse() after getopt and before the defaults are filled in.
 *
 * PATH is a path on this host, never under --root. Like doas, the file is refused when it is a
 * symbolic link (O_NOFOLLOW), not a regular file, group- or world-writable, or owned by anyone
 * but root or the effective user. Unknown keys, relay passwords, 'root' and bad values are errors
 * printed as "op25b: PATH:LINE: what is wrong".
 *
 * Keys that only mean something to apply (mode, domain, cert, key; relayhost, relay_user,
 * relay_password_file, mechanisms, password_map when the mode is submission) are checked for every
 * verb but used by apply only; host and send_test by verify only. The TLS keys (domain, cert, key)
 * go as a group: any of them on the command line and the file's are not used.
 *
 * Returns 0; -ENOMEM; another negative errno for a file that cannot be used (exit 2). */
int config_load(const char *path, struct options *o);
