/* What a reload cannot do, and where to look after it: pure functions of the files' bytes (unit
 * tests: tests/unit/test_reload_policy.c). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "conffile.h"

/* Does F's change (old bytes to new, or its removal) touch a parameter the daemon reads only
 * when it starts, so that a reload would not apply it? Postfix main.cf: inet_interfaces,
 * inet_protocols; Dovecot (DOVECOT): base_dir. Out of memory answers true (a restart is safe). */
bool reload_restart_needed(const struct conf_file *f, bool dovecot);

/* The last "KEY = value" of TEXT (LEN bytes): Postfix's syntax (the key at the start of a line,
 * continuation lines starting with white space joined) or, with DOVECOT, Dovecot's (the key may
 * be indented). White space runs become one blank. Malloc'd; NULL when absent (*ABSENT set) or
 * out of memory. */
char *reload_conf_value(const char *text, size_t len, const char *key, bool dovecot, bool *absent);

/* The host to ask for 465 on this machine, from main.cf's inet_interfaces: "localhost" when
 * Postfix listens on loopback (unset, all, loopback-only, localhost, 127.x, ::1, or a $name),
 * else its first address (brackets removed). Malloc'd; NULL when out of memory. */
char *reload_smtps_host(const char *main_cf, size_t len);
