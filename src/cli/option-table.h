/* Every option of op25b, once. This list generates the getopt table, the keys of op25b.conf(5),
 * the Options part of --help and the fast path's identity of an apply (src/cli/request.c,
 * src/cli/config.c); tests/t-man.sh checks the man pages and the bash completion against it.
 *
 * OPTION(ID, NAME, SHORT, KIND, FIELD, VERBS, HASH, FILE, ARG, HELP)
 *   ID     the option's name in OPT_ID
 *   NAME   the long option; the file's key is NAME with '_' for '-'
 *   SHORT  its one-letter form, or 0
 *   KIND   how a value is read and checked, the same for the command line and the file
 *          (enum opt_kind in src/cli/option-check.h)
 *   FIELD  the member of struct request it sets, or NOFIELD
 *   VERBS  the verbs it is an option of (V_*): anything else is refused on the command line,
 *          and ignored in the file
 *   HASH   1: it shapes the files apply writes (a re-apply differing in it is not "the same")
 *   FILE   NULL: it may be a key of op25b.conf; "": it is no key; else why it is refused there
 *   ARG    its value in --help ("" for none)
 *   HELP   its line in --help
 *
 * To add an option: one line here (and a field in struct request when it needs one), then the
 * man page (man/op25b.8, and man/op25b.conf.5 when it is a key) and completion/op25b.bash;
 * tests/t-man.sh says what is missing. Rules between options go in validate() of src/cli/request.c.
 * One entry a line: tests/t-man.sh reads this file. */
#pragma once

#define V_APPLY (1u << 0)
#define V_REVERT (1u << 1)
#define V_STATUS (1u << 2)
#define V_PROBE (1u << 3)
#define V_VERIFY (1u << 4)
#define V_LOG (1u << 5)
#define V_RELOAD_CERTS (1u << 6)
#define V_ALL (V_APPLY | V_REVERT | V_STATUS | V_PROBE | V_VERIFY | V_LOG | V_RELOAD_CERTS)
#define V_LOCAL (V_APPLY | V_REVERT | V_STATUS | V_VERIFY | V_LOG | V_RELOAD_CERTS) /* all but probe: they work on a system */

#define OPTION_TABLE(OPTION) \
OPTION(MODE, "mode", 0, K_MODE, modes, V_APPLY | V_REVERT, 1, NULL, "smtps|submission", "what to apply (or revert)") \
OPTION(DOMAIN, "domain", 0, K_DOMAIN, tls.domain, V_APPLY, 1, NULL, "NAME", "use /etc/letsencrypt/live/NAME/{fullchain,privkey}.pem") \
OPTION(CERT, "cert", 0, K_PATH, tls.cert, V_APPLY, 1, NULL, "FILE", "TLS certificate chain (PEM), with --key") \
OPTION(KEY, "key", 0, K_PATH, tls.key, V_APPLY, 1, NULL, "FILE", "its private key (PEM)") \
OPTION(RELAYHOST, "relayhost", 0, K_RELAYHOST, relay.host, V_APPLY, 1, NULL, "HOST[:PORT]", "submission: the ISP's relay (port 587 by default)") \
OPTION(RELAY_USER, "relay-user", 0, K_RELAY_USER, relay.user, V_APPLY, 1, NULL, "NAME", "submission: the login at the relay") \
OPTION(RELAY_PASSWORD_FILE, "relay-password-file", 0, K_PATH, relay.password_file, V_APPLY, 0, NULL, "FILE", "submission: its password (a root-only file)") \
OPTION(RELAY_PASSWORD_STDIN, "relay-password-stdin", 0, K_FLAG, relay.password_stdin, V_APPLY, 0, "'relay_password_stdin' is not allowed in a configuration file; set relay_password_file = FILE", "", "submission: read that password from standard input") \
OPTION(RELAY_TLS, "relay-tls", 0, K_RELAY_TLS, relay.tls, V_APPLY, 1, NULL, "LEVEL", "submission: secure (its certificate verifies: default), fingerprint (pin its key) or encrypt") \
OPTION(MECHANISMS, "mechanisms", 0, K_MECHANISMS, relay.mechanisms, V_APPLY, 1, NULL, "auto|LIST", "submission: SASL mechanisms (default: ask the relay)") \
OPTION(PASSWORD_MAP, "password-map", 0, K_PATH, relay.password_map, V_APPLY, 1, NULL, "PATH", "submission: the password map (default POSTFIX-DIR/ispinfo)") \
OPTION(ROOT, "root", 0, K_ROOT, target.root, V_LOCAL, 0, "'root' is not allowed in a configuration file; give --root=DIR on the command line", "DIR", "treat DIR as / for every file (no restarts, no D-Bus)") \
OPTION(POSTFIX_DIR, "postfix-dir", 0, K_PATH, target.postfix_dir, V_LOCAL, 1, NULL, "DIR", "Postfix configuration directory (default /etc/postfix)") \
OPTION(DOVECOT_DIR, "dovecot-dir", 0, K_PATH, target.dovecot_dir, V_LOCAL, 1, NULL, "DIR", "Dovecot configuration directory (default /etc/dovecot)") \
OPTION(STATE_DIR, "state-dir", 0, K_PATH, target.state_dir, V_LOCAL, 0, NULL, "DIR", "journal of what op25b changed (default /var/lib/op25b)") \
OPTION(CONFIG, "config", 0, K_CONFIG, config, V_LOCAL, 0, "'config' is not allowed in a configuration file (there are no includes)", "FILE", "read options from FILE (key = value lines)") \
OPTION(DRY_RUN, "dry-run", 'n', K_FLAG, dry_run, V_LOCAL, 0, NULL, "", "print the diff, write nothing") \
OPTION(NO_RESTART, "no-restart", 0, K_FLAG, no_restart, V_LOCAL, 0, NULL, "", "do not restart services") \
OPTION(NO_FIREWALL, "no-firewall", 0, K_FLAG, no_firewall, V_LOCAL, 0, NULL, "", "do not open firewall services") \
OPTION(ZONE, "zone", 0, K_WORD, zone, V_APPLY | V_REVERT, 0, NULL, "NAME", "firewalld zone (default: the default zone)") \
OPTION(ORIGIN, "origin", 0, K_WORD, origin, V_APPLY | V_REVERT, 0, "'origin' is not allowed in a configuration file; the package's scripts give --origin=rpm", "NAME", "apply: record NAME as who applied; revert: only what NAME applied") \
OPTION(HOST, "host", 0, K_HOST, verify.host, V_VERIFY, 0, NULL, "ADDR", "verify: the server to check (default 127.0.0.1)") \
OPTION(SEND_TEST, "send-test", 0, K_ADDRESS, verify.send_test, V_VERIFY, 0, NULL, "ADDR", "verify: send a test message to ADDR through 587") \
OPTION(USER, "user", 0, K_USER, verify.user, V_VERIFY, 0, "", "NAME", "verify --send-test: the login of a mail user") \
OPTION(PASSWORD_FILE, "password-file", 0, K_PATH, verify.password_file, V_VERIFY, 0, "", "FILE", "verify --send-test: that user's password (a root-only file)") \
OPTION(PASSWORD_STDIN, "password-stdin", 0, K_FLAG, verify.password_stdin, V_VERIFY, 0, "", "", "verify --send-test: read that password from standard input") \
OPTION(CHECK, "check", 0, K_FLAG, check, V_RELOAD_CERTS, 0, "", "", "reload-certs: also reload a service whose port serves another certificate") \
OPTION(TIMEOUT, "timeout", 0, K_TIMEOUT, target.timeout_sec, V_ALL, 0, NULL, "SECONDS", "limit for network and service operations (default 90)") \
OPTION(JSON, "json", 0, K_FLAG, json, V_ALL, 0, NULL, "", "one JSON object on standard output (messages go to standard error)") \
OPTION(QUIET, "quiet", 'q', K_QUIET, NOFIELD, V_ALL, 0, NULL, "", "print errors only") \
OPTION(VERBOSE, "verbose", 'v', K_VERBOSE, NOFIELD, V_ALL, 0, NULL, "", "print details") \
OPTION(HELP, "help", 'h', K_HELP, NOFIELD, V_ALL, 0, "", "", "show this help") \
OPTION(VERSION, "version", 0, K_VERSION, NOFIELD, V_ALL, 0, "", "", "show the version")

enum opt_id {
#define OPTION_ID(ID, ...) OPT_##ID,
	OPTION_TABLE(OPTION_ID)
#undef OPTION_ID
	N_OPTS
};
