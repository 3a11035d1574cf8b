/* The command line of DESIGN.md, parsed into one struct (the program's only mutable global state
 * is log_verbosity, which mirrors --quiet/--verbose). */
#pragma once
#include <stdbool.h>
#include <stdio.h>

enum mode {
	MODE_SMTPS = 1u << 0,
	MODE_SUBMISSION = 1u << 1,
	MODE_ALL = MODE_SMTPS | MODE_SUBMISSION,
};

struct options {
	const char *verb;
	unsigned modes;              /* apply: exactly one; revert: 0 means all */
	char *root;                  /* "/" unless --root */
	char *postfix_dir;           /* absolute, on the target system (not prefixed by root) */
	char *dovecot_dir;
	char *state_dir;
	char *config;
	char *domain, *cert, *key;   /* cert/key on the target system */
	char *relayhost, *relay_user, *relay_password_file, *mechanisms, *password_map;
	bool relay_password_stdin;
	char *zone;
	char *host;                  /* verify --host */
	char *send_test;
	char *user, *password_file;  /* verify --send-test: the login on 587, its password */
	bool password_stdin;
	bool dry_run, no_restart, no_firewall, json;
	bool root_given;
	int json_fd;                 /* --json: where the object goes (stdout as it was; main.c) */
	unsigned timeout_sec;
	char **args;                 /* positional arguments after the verb (probe HOST[:PORT]) */
	int nargs;
};

const char *mode_name(unsigned mode);
int mode_parse(const char *s, unsigned *mode);

/* Parse argv. Returns 0, or EXIT_USAGE after printing the reason; *exit_now is set for --help/--version. */
int options_parse(int argc, char **argv, struct options *o, bool *exit_now);
void options_free(struct options *o);
void usage(FILE *f);
