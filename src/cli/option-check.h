/* What each option is (src/cli/option-table.h) and the one set of rules for its value, used for
 * the command line and for op25b.conf alike. Rules between options are request_validate()'s. */
#pragma once
#include <stdbool.h>

#include "option-table.h"

enum opt_kind {
	K_FLAG,       /* no value on the command line; yes/no in the file */
	K_QUIET,      /* a flag that sets log_verbosity */
	K_VERBOSE,
	K_HELP,       /* handled before anything else */
	K_VERSION,
	K_MODE,       /* smtps | submission */
	K_PATH,       /* absolute, one word without '#' (it ends up in configuration lines); from here on, a string */
	K_ROOT,       /* absolute */
	K_CONFIG,     /* a file on this host: any non-empty name */
	K_DOMAIN,     /* a DNS name (a directory name under /etc/letsencrypt/live) */
	K_WORD,       /* one word: no blanks, control characters or '#' */
	K_MECHANISMS, /* auto, or SASL mechanism names separated by commas or blanks (mechlist.h) */
	K_RELAYHOST,  /* HOST[:PORT] */
	K_RELAY_USER, /* a SASL login for the relay: one word without ':', at most 255 bytes, UTF-8 */
	K_RELAY_TLS,  /* secure | fingerprint | encrypt */
	K_HOST,       /* verify --host: a name or an address */
	K_ADDRESS,    /* a plain mail address, user@domain */
	K_USER,       /* verify --user: a login */
	K_TIMEOUT,    /* decimal digits only, 1..3600 seconds */
};

struct opt_def {
	const char *name;     /* long option */
	char short_name;      /* 0: none */
	enum opt_kind kind;
	unsigned verbs;       /* V_* */
	bool hash;            /* part of the fast path's identity of an apply */
	const char *file;     /* NULL: a key of op25b.conf; "": no key; else why it is refused there */
	const char *arg;      /* "" for a flag */
	const char *help;
};

extern const struct opt_def opt_defs[N_OPTS];

/* Where a value comes from, for messages: the command line (file NULL) or FILE:LINE. */
struct opt_origin {
	const char *file;
	unsigned line;
};

/* Takes a value at all (a flag takes none on the command line, yes/no in the file). */
bool opt_takes_value(enum opt_id id);

/* Check VALUE of option ID. 0, or -EINVAL after printing what is wrong ("op25b: --timeout=+5: ..."
 * or "op25b: FILE:LINE: timeout = +5: ..."), or -ENOMEM. */
int opt_check(enum opt_id id, const char *value, const struct opt_origin *from);

/* The parsed forms of values opt_check() accepted. */
unsigned opt_timeout(const char *value);
/* yes|no|true|false|on|off|1|0 (any case) → 1 or 0; -1 otherwise. */
int opt_bool(const char *value);
