/* Command-line parsing: every option of the contract, checked before anything is read or written. */
#include "options.h"

#include <getopt.h>
#include <stdio.h>
#include <sys/stat.h>

#include "config.h"
#include "rootfs.h"
#include "util.h"

static const char *const mode_names[] = { "smtps", "submission" };

const char *mode_name(unsigned mode)
{
	for (unsigned i = 0; i < ELEMENTSOF(mode_names); i++)
		if (mode == 1u << i)
			return mode_names[i];
	return "?";
}

int mode_parse(const char *s, unsigned *mode)
{
	for (unsigned i = 0; i < ELEMENTSOF(mode_names); i++)
		if (streq(s, mode_names[i])) {
			*mode = 1u << i;
			return 0;
		}
	return -EINVAL;
}

void usage(FILE *f)
{
	fputs("Usage:\n"
	      "  op25b apply --mode=smtps (--domain=NAME | --cert=FILE --key=FILE) [OPTIONS]\n"
	      "  op25b apply --mode=submission --relayhost=HOST[:PORT] --relay-user=NAME\n"
	      "              (--relay-password-file=FILE | --relay-password-stdin)\n"
	      "              [--mechanisms=auto|LIST] [--password-map=PATH] [--cert/--key | --domain] [OPTIONS]\n"
	      "  op25b revert [--mode=MODE] [OPTIONS]   undo what op25b applied (all modes by default)\n"
	      "  op25b status [--json] [OPTIONS]        what is applied, and whether files still match\n"
	      "  op25b probe HOST[:PORT] [--json]       banner, EHLO, STARTTLS, AUTH before/after TLS\n"
	      "  op25b verify [--host=ADDR] [--json]    check over the network what was applied\n"
	      "  op25b verify --send-test=ADDR --user=NAME (--password-file=FILE | --password-stdin)\n"
	      "                                         also submit a test message on 587 and follow it\n"
	      "  op25b log [--json] [OPTIONS]           the runs that changed something, and their options\n"
	      "\n"
	      "Make a mail server work behind an ISP that blocks outbound port 25.\n"
	      "\n"
	      "Options:\n"
	      "  --mode=smtps|submission   what to apply (or revert)\n"
	      "  --domain=NAME             use /etc/letsencrypt/live/NAME/{fullchain,privkey}.pem\n"
	      "  --cert=FILE --key=FILE    TLS certificate chain and private key (PEM)\n"
	      "  --root=DIR                treat DIR as / for every file (no restarts, no D-Bus)\n"
	      "  --postfix-dir=DIR         Postfix configuration directory (default /etc/postfix)\n"
	      "  --dovecot-dir=DIR         Dovecot configuration directory (default /etc/dovecot)\n"
	      "  --state-dir=DIR           journal of what op25b changed (default /var/lib/op25b)\n"
	      "  --config=FILE             read options from FILE (key = value lines)\n"
	      "  -n, --dry-run             print the diff, write nothing\n"
	      "  --no-restart              do not restart services\n"
	      "  --no-firewall             do not open firewall services\n"
	      "  --zone=NAME               firewalld zone (default: the default zone)\n"
	      "  --host=ADDR               verify: the server to check (default 127.0.0.1)\n"
	      "  --send-test=ADDR          verify: send a test message to ADDR through 587\n"
	      "  --user=NAME               verify --send-test: the login of a mail user\n"
	      "  --password-file=FILE      verify --send-test: that user's password (a root-only file)\n"
	      "  --password-stdin          verify --send-test: read that password from standard input\n"
	      "  --timeout=SECONDS         limit for network and service operations (default 90)\n"
	      "  --json                    one JSON object on stdout (every verb; see op25b(8))\n"
	      "  -q, --quiet               print errors only\n"
	      "  -v, --verbose             print details\n"
	      "  -h, --help                show this help\n"
	      "  --version                 show the version\n"
	      "\n"
	      "Exit status: 0 done (changed or not), 1 failed (rolled back), 2 bad usage or input.\n",
	      f);
}

enum {
	OPT_MODE = 0x100, OPT_DOMAIN, OPT_CERT, OPT_KEY, OPT_ROOT, OPT_POSTFIX_DIR, OPT_DOVECOT_DIR,
	OPT_STATE_DIR, OPT_CONFIG, OPT_NO_RESTART, OPT_NO_FIREWALL, OPT_JSON, OPT_VERSION,
	OPT_RELAYHOST, OPT_RELAY_USER, OPT_RELAY_PASSWORD_FILE, OPT_RELAY_PASSWORD_STDIN,
	OPT_MECHANISMS, OPT_PASSWORD_MAP, OPT_ZONE, OPT_HOST, OPT_SEND_TEST, OPT_TIMEOUT,
	OPT_USER, OPT_PASSWORD_FILE, OPT_PASSWORD_STDIN,
};

static const struct option long_options[] = {
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "domain", required_argument, NULL, OPT_DOMAIN },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "postfix-dir", required_argument, NULL, OPT_POSTFIX_DIR },
	{ "dovecot-dir", required_argument, NULL, OPT_DOVECOT_DIR },
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "relayhost", required_argument, NULL, OPT_RELAYHOST },
	{ "relay-user", required_argument, NULL, OPT_RELAY_USER },
	{ "relay-password-file", required_argument, NULL, OPT_RELAY_PASSWORD_FILE },
	{ "relay-password-stdin", no_argument, NULL, OPT_RELAY_PASSWORD_STDIN },
	{ "mechanisms", required_argument, NULL, OPT_MECHANISMS },
	{ "password-map", required_argument, NULL, OPT_PASSWORD_MAP },
	{ "zone", required_argument, NULL, OPT_ZONE },
	{ "host", required_argument, NULL, OPT_HOST },
	{ "send-test", required_argument, NULL, OPT_SEND_TEST },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "user", required_argument, NULL, OPT_USER },
	{ "password-file", required_argument, NULL, OPT_PASSWORD_FILE },
	{ "password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "no-restart", no_argument, NULL, OPT_NO_RESTART },
	{ "no-firewall", no_argument, NULL, OPT_NO_FIREWALL },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ 0 }
};

static const char *const verbs[] = { "apply", "revert", "status", "probe", "verify", "log" };

/* Replace *slot with a copy of VALUE; a repeated option keeps the last value, as getopt users expect. */
static int set_str(char **slot, const char *value)
{
	char *c = strdup(value);
	if (!c)
		return log_err(EXIT_FAIL, "out of memory");
	free(*slot);
	*slot = c;
	return 0;
}

/* A path on the target system: absolute, no newline (it ends up in config lines). */
static int check_path(const char *opt, const char *v)
{
	if (v[0] != '/')
		return log_err(EXIT_USAGE, "--%s=%s: must be an absolute path", opt, v);
	if (!is_config_token(v))
		return log_err(EXIT_USAGE, "--%s: the path must not contain whitespace, control characters or '#'", opt);
	/* Resolved beneath --root (rootfs.h), where ".." could only mislead: refused, with "." and "//". */
	if (!path_is_clean(v))
		return log_err(EXIT_USAGE, "--%s=%s: a path must not contain '.' or '..' components, '//' or a "
					   "trailing '/'", opt, v);
	return 0;
}

static int check_domain(const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n > 253)
		return log_err(EXIT_USAGE, "--domain: must be a DNS name of 1 to 253 characters");
	if (!is_dns_name(v))
		return log_err(EXIT_USAGE, "--domain=%s: not a DNS name (letters, digits, '-' and '.')", v);
	return 0;
}

/* verify: --host is an address or a name; --send-test needs a plain address, a login and exactly one
 * way to get its password (never argv: the password itself is not an option). */
static int check_verify(const struct options *o)
{
	if (o->host && (!is_config_token(o->host) || strlen(o->host) > 253 || strpbrk(o->host, "[]/")))
		return log_err(EXIT_USAGE, "--host=%s: give a host name or an address", o->host);
	if (!o->send_test) {
		if (o->user || o->password_file || o->password_stdin)
			return log_err(EXIT_USAGE, "verify: --user and --password-* go with --send-test=ADDR");
		return 0;
	}
	const char *at = strrchr(o->send_test, '@');
	if (!is_config_token(o->send_test) || !at || at == o->send_test || !at[1] || strlen(o->send_test) > 254 ||
	    strpbrk(o->send_test, "<>()[],;:\\\""))
		return log_err(EXIT_USAGE, "--send-test=%s: give a plain mail address, user@domain", o->send_test);
	if (strempty(o->user) || !is_config_token(o->user) || strlen(o->user) > 255)
		return log_err(EXIT_USAGE, "verify --send-test: --user=NAME (the login of a mail user) is required");
	if (!o->password_file == !o->password_stdin)
		return log_err(EXIT_USAGE, "verify --send-test: give the user's password with exactly one of "
					   "--password-file=FILE or --password-stdin");
	if (o->password_file)
		return check_path("password-file", o->password_file);
	return 0;
}

static int finish(struct options *o)
{
	bool apply = streq(o->verb, "apply"), revert = streq(o->verb, "revert");
	int r;

	/* The file fills in what the command line left unset, before the defaults do. */
	if (o->config && (r = config_load(o->config, o)) < 0)
		return r == -ENOMEM ? EXIT_FAIL : EXIT_USAGE;

	if (o->timeout_sec == 0)
		o->timeout_sec = 90;
	if (!o->root && !(o->root = strdup("/")))
		return log_err(EXIT_FAIL, "out of memory");
	if (o->root[0] != '/')
		return log_err(EXIT_USAGE, "--root=%s: must be an absolute path", o->root);
	struct stat st;
	if (stat(o->root, &st) < 0)
		return log_err(EXIT_USAGE, "--root=%s: %m", o->root);
	if (!S_ISDIR(st.st_mode))
		return log_err(EXIT_USAGE, "--root=%s: not a directory", o->root);
	if (!o->postfix_dir && set_str(&o->postfix_dir, "/etc/postfix"))
		return EXIT_FAIL;
	if (!o->dovecot_dir && set_str(&o->dovecot_dir, "/etc/dovecot"))
		return EXIT_FAIL;
	if (!o->state_dir && set_str(&o->state_dir, "/var/lib/op25b"))
		return EXIT_FAIL;
	if ((r = check_path("postfix-dir", o->postfix_dir)) || (r = check_path("dovecot-dir", o->dovecot_dir)) ||
	    (r = check_path("state-dir", o->state_dir)))
		return r;

	if (apply && o->modes == 0)
		return log_err(EXIT_USAGE, "apply: --mode=smtps or --mode=submission is required");
	if (!apply && !revert && o->modes)
		return log_err(EXIT_USAGE, "%s: --mode is not an option of this verb", o->verb);

	bool tls_given = o->domain || o->cert || o->key;
	if (o->domain && (o->cert || o->key))
		return log_err(EXIT_USAGE, "--domain and --cert/--key are alternatives: give one or the other");
	if ((o->cert != NULL) != (o->key != NULL))
		return log_err(EXIT_USAGE, "--cert and --key go together");
	if (o->domain && (r = check_domain(o->domain)))
		return r;
	if (o->cert && ((r = check_path("cert", o->cert)) || (r = check_path("key", o->key))))
		return r;
	if ((o->relay_password_file && (r = check_path("relay-password-file", o->relay_password_file))) ||
	    (o->password_map && (r = check_path("password-map", o->password_map))))
		return r;
	if (tls_given && !apply)
		return log_err(EXIT_USAGE, "%s: --domain/--cert/--key are options of apply", o->verb);
	if (apply && o->modes == MODE_SMTPS && !tls_given)
		return log_err(EXIT_USAGE, "apply --mode=smtps: --domain=NAME or --cert=FILE --key=FILE is required");

	bool relay_given = o->relayhost || o->relay_user || o->relay_password_file ||
			   o->relay_password_stdin || o->mechanisms || o->password_map;
	if (relay_given && !(apply && o->modes == MODE_SUBMISSION))
		return log_err(EXIT_USAGE, "--relayhost, --relay-user, --relay-password-*, --mechanisms and "
					   "--password-map are options of apply --mode=submission");
	/* RFC 4616: a SASL authentication identity is at most 255 bytes. */
	if (o->relay_user && strlen(o->relay_user) > 255)
		return log_err(EXIT_USAGE, "--relay-user: longer than 255 bytes");

	bool verify_given = o->host || o->send_test || o->user || o->password_file || o->password_stdin;
	if (verify_given && !streq(o->verb, "verify"))
		return log_err(EXIT_USAGE, "%s: --host, --send-test, --user and --password-* are options of verify",
			       o->verb);
	if ((r = check_verify(o)))
		return r;
	if (streq(o->verb, "probe")) {
		if (o->nargs != 1)
			return log_err(EXIT_USAGE, "probe: exactly one HOST[:PORT] is required");
	} else if (o->nargs > 0) {
		return log_err(EXIT_USAGE, "%s: unexpected argument '%s'", o->verb, o->args[0]);
	}
	return 0;
}

int options_parse(int argc, char **argv, struct options *o, bool *exit_now)
{
	int r;
	*exit_now = false;

	/* --help/--version work with or without a verb. */
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (streq(argv[i], "-h") || streq(argv[i], "--help")) {
			usage(stdout);
			*exit_now = true;
			return 0;
		}
		if (streq(argv[i], "--version")) {
			printf("op25b %s\n", OP25B_VERSION);
			*exit_now = true;
			return 0;
		}
	}
	if (argc < 2 || argv[1][0] == '-') {
		usage(stderr);
		return log_err(EXIT_USAGE, "a verb is required: apply, revert, status, probe or verify");
	}
	for (unsigned i = 0; i < ELEMENTSOF(verbs); i++)
		if (streq(argv[1], verbs[i]))
			o->verb = verbs[i];
	if (!o->verb)
		return log_err(EXIT_USAGE, "unknown verb '%s' (try --help)", argv[1]);

	optind = 2;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":nqvh", long_options, NULL)) >= 0) {
		r = 0;
		switch (c) {
		case OPT_MODE:
			if (mode_parse(optarg, &o->modes) < 0)
				return log_err(EXIT_USAGE, "--mode=%s: unknown mode (smtps or submission)", optarg);
			break;
		case OPT_DOMAIN: r = set_str(&o->domain, optarg); break;
		case OPT_CERT: r = set_str(&o->cert, optarg); break;
		case OPT_KEY: r = set_str(&o->key, optarg); break;
		case OPT_ROOT: r = set_str(&o->root, optarg); o->root_given = true; break;
		case OPT_POSTFIX_DIR: r = set_str(&o->postfix_dir, optarg); break;
		case OPT_DOVECOT_DIR: r = set_str(&o->dovecot_dir, optarg); break;
		case OPT_STATE_DIR: r = set_str(&o->state_dir, optarg); break;
		case OPT_CONFIG: r = set_str(&o->config, optarg); break;
		case OPT_RELAYHOST: r = set_str(&o->relayhost, optarg); break;
		case OPT_RELAY_USER: r = set_str(&o->relay_user, optarg); break;
		case OPT_RELAY_PASSWORD_FILE: r = set_str(&o->relay_password_file, optarg); break;
		case OPT_RELAY_PASSWORD_STDIN: o->relay_password_stdin = true; break;
		case OPT_MECHANISMS: r = set_str(&o->mechanisms, optarg); break;
		case OPT_PASSWORD_MAP: r = set_str(&o->password_map, optarg); break;
		case OPT_ZONE: r = set_str(&o->zone, optarg); break;
		case OPT_HOST: r = set_str(&o->host, optarg); break;
		case OPT_SEND_TEST: r = set_str(&o->send_test, optarg); break;
		case OPT_USER: r = set_str(&o->user, optarg); break;
		case OPT_PASSWORD_FILE: r = set_str(&o->password_file, optarg); break;
		case OPT_PASSWORD_STDIN: o->password_stdin = true; break;
		case OPT_TIMEOUT: {
			char *end;
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || v == 0 || v > 3600)
				return log_err(EXIT_USAGE, "--timeout=%s: expected seconds from 1 to 3600", optarg);
			o->timeout_sec = (unsigned)v;
			break;
		}
		case 'n': o->dry_run = true; break;
		case OPT_NO_RESTART: o->no_restart = true; break;
		case OPT_NO_FIREWALL: o->no_firewall = true; break;
		case OPT_JSON: o->json = true; break;
		case 'q': log_verbosity = -1; break;
		case 'v': if (log_verbosity >= 0) log_verbosity++; break;
		case ':':
			return log_err(EXIT_USAGE, "option '%s' needs a value", argv[optind - 1]);
		case '?':
		default:
			return log_err(EXIT_USAGE, "unknown option '%s' (try --help)", argv[optind - 1]);
		}
		if (r)
			return r;
	}
	o->args = argv + optind;
	o->nargs = argc - optind;
	return finish(o);
}

void options_free(struct options *o)
{
	char **strs[] = { &o->root, &o->postfix_dir, &o->dovecot_dir, &o->state_dir, &o->config, &o->domain,
			  &o->cert, &o->key, &o->relayhost, &o->relay_user, &o->relay_password_file,
			  &o->mechanisms, &o->password_map, &o->zone, &o->host, &o->send_test, &o->user,
			  &o->password_file };
	for (unsigned i = 0; i < ELEMENTSOF(strs); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}
