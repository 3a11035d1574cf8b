/* The parts of a request (src/cli/request.h) that the layers below the verbs receive: plain data,
 * already validated by src/cli/request.c. Each module gets the part it needs, never the whole
 * request. */
#pragma once
#include <stdbool.h>

enum mode {
	MODE_SMTPS = 1u << 0,
	MODE_SUBMISSION = 1u << 1,
	MODE_ALL = MODE_SMTPS | MODE_SUBMISSION,
};

/* "smtps" or "submission" for one MODE_* bit; "?" otherwise. */
const char *mode_name(unsigned mode);
/* The MODE_* bit of a name; -EINVAL for an unknown one. */
int mode_parse(const char *s, unsigned *mode);

/* The system op25b works on, and how long it waits for it. */
struct target {
	char *root;            /* "/" unless --root */
	bool root_given;       /* --root: a tree, not the running system (no restarts, no D-Bus) */
	char *postfix_dir;     /* absolute, on the target system (not prefixed by root) */
	char *dovecot_dir;
	char *state_dir;
	unsigned timeout_sec;  /* limit for network and service operations */
};

/* --domain, or --cert and --key (paths on the target system). */
struct tls_settings {
	char *domain, *cert, *key;
};

/* The certificate and key a run uses, as paths on the target system (from --cert/--key or
 * --domain: tls_paths_from() of src/plan/plan.h). NULL when none was given. */
struct tls_paths {
	char *cert, *key;
};

/* apply --mode=submission: the ISP's relay and the login op25b gives it. */
struct relay_settings {
	char *host;            /* --relayhost=HOST[:PORT] */
	char *user;
	char *password_file;   /* exactly one of password_file and password_stdin */
	bool password_stdin;
	char *mechanisms;      /* NULL or "auto": ask the relay */
	char *tls;             /* --relay-tls: secure (also NULL), fingerprint or encrypt */
	char *password_map;    /* NULL: POSTFIX_DIR/ispinfo */
};

/* verify: the server to check and the optional test message. */
struct verify_settings {
	char *host;
	char *send_test;       /* NULL: no test message; else user, and one way to the password */
	char *user;
	char *password_file;
	bool password_stdin;
};
