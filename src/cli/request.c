/* The request: the command line, then --config's file under it, then the defaults, then the rules
 * between options, all before anything is read or written. Each value is checked by its option's
 * rule (src/cli/option-check.c) wherever it comes from. */
#include "request.h"

#include <getopt.h>
#include <stddef.h>
#include <sys/stat.h>

#include "config.h"
#include "option-check.h"
#include "util.h"
#include "verbs.h"

/* Where each option lands in struct request. */
#define NOFIELD nofield
static const size_t field_offset[N_OPTS] = {
#define OPTION_OFFSET(ID, NAME, SHORT, KIND, FIELD, ...) [OPT_##ID] = offsetof(struct request, FIELD),
	OPTION_TABLE(OPTION_OFFSET)
#undef OPTION_OFFSET
};

#define FIELD(r, id, type) ((type *)((char *)(r) + field_offset[id]))

/* Each FIELD has the type its KIND stores (store() and is_set() rely on it). */
#define OPTION_TYPE(ID, NAME, SHORT, KIND, FIELD, ...)                                                        \
	_Static_assert(_Generic(((struct request *)0)->FIELD,                                                 \
				bool: KIND == K_FLAG,                                                         \
				unsigned: KIND == K_MODE || KIND == K_TIMEOUT,                                \
				char: KIND == K_QUIET || KIND == K_VERBOSE || KIND == K_HELP || KIND == K_VERSION, \
				char *: KIND >= K_PATH && KIND != K_TIMEOUT),                                 \
		       "--" NAME ": the type of its field does not fit its kind");
OPTION_TABLE(OPTION_TYPE)
#undef OPTION_TYPE

static bool is_string_kind(enum opt_kind k)
{
	return !(k == K_FLAG || k == K_QUIET || k == K_VERBOSE || k == K_HELP || k == K_VERSION || k == K_MODE ||
		 k == K_TIMEOUT);
}

/* The whole help (VERB_BIT V_ALL), or one verb's: its usage and its options only. */
static void usage_for(FILE *f, unsigned verb_bit)
{
	fputs("Usage:\n", f);
	for (size_t i = 0; i < verb_count; i++)
		if (verb_bit == V_ALL || verb_table[i].bit == verb_bit)
			fputs(verb_table[i].usage, f);
	if (verb_bit == V_ALL)
		fputs("  op25b help [VERB]                      this help, or one verb's (also: op25b VERB --help)\n", f);
	fputs(verb_bit == V_ALL ? "\nMake a mail server work behind an ISP that blocks outbound port 25.\n\n"
				"Options:\n" : "\nOptions:\n", f);
	for (unsigned i = 0; i < N_OPTS; i++) {
		const struct opt_def *d = &opt_defs[i];
		char head[64], shortopt[5] = "";
		if (!(d->verbs & verb_bit))
			continue;
		if (d->short_name)
			snprintf(shortopt, sizeof(shortopt), "-%c, ", d->short_name);
		snprintf(head, sizeof(head), "%s--%s%s%s", shortopt, d->name, d->arg[0] ? "=" : "", d->arg);
		fprintf(f, "  %-28s %s\n", head, d->help);
	}
	fputs("\nExit status: 0 done (changed or not), 1 failed (rolled back), 2 bad usage or input.\n", f);
}

static void usage(FILE *f)
{
	usage_for(f, V_ALL);
}

static unsigned verb_bit_of(const char *name)
{
	const struct verb *v = verb_find(name);
	return v ? v->bit : 0;
}

/* "apply, revert, ... or reload-certs", in BUF. */
static const char *verb_names(char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < verb_count && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", i == 0 ? "" : i + 1 < verb_count ? ", " : " or ",
				      verb_table[i].name);
	return buf;
}

/* Where the verb is: the first argument that is neither an option nor the value of one (options
 * may come before the verb: `op25b --root=/mnt -q status`). ARGC when there is none. */
static int verb_index(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (streq(a, "--"))
			return i + 1 < argc ? i + 1 : argc;
		if (a[0] != '-' || !a[1])
			return i;
		if (a[1] != '-' || strchr(a, '='))
			continue; /* short options are flags; "--name=value" is one argument */
		for (unsigned k = 0; k < N_OPTS; k++)
			if (streq(a + 2, opt_defs[k].name) && opt_defs[k].arg[0]) {
				i++; /* "--root DIR": DIR is the option's */
				break;
			}
	}
	return argc;
}

/* Store VALUE (already checked) for option ID; the command line's repeated option keeps its
 * last value, as getopt users expect. */
static int store(struct request *r, enum opt_id id, const char *value)
{
	r->given[id] = true;
	switch (opt_defs[id].kind) {
	case K_FLAG:
		*FIELD(r, id, bool) = value ? opt_bool(value) == 1 : true;
		return 0;
	case K_QUIET:
		if (!value || opt_bool(value) == 1)
			log_verbosity = -1;
		return 0;
	case K_VERBOSE:
		if ((!value || opt_bool(value) == 1) && log_verbosity >= 0)
			log_verbosity++;
		return 0;
	case K_HELP:
	case K_VERSION:
		return 0;
	case K_MODE:
		return mode_parse(value, FIELD(r, id, unsigned));
	case K_TIMEOUT:
		*FIELD(r, id, unsigned) = opt_timeout(value);
		return 0;
	default: {
		char *c = strdup(value), **slot = FIELD(r, id, char *);
		if (!c)
			return log_err(-ENOMEM, "out of memory");
		free(*slot);
		*slot = c;
		return 0;
	}
	}
}

/* Is option ID set in R (from anywhere)? */
static bool is_set(const struct request *r, enum opt_id id)
{
	switch (opt_defs[id].kind) {
	case K_FLAG:
		return *FIELD(r, id, bool);
	case K_MODE:
	case K_TIMEOUT:
		return *FIELD(r, id, unsigned) != 0;
	case K_QUIET:
	case K_VERBOSE:
	case K_HELP:
	case K_VERSION:
		return false;
	default:
		return *FIELD(r, id, char *) != NULL;
	}
}

/* ---- the file under the command line ---- */

static void not_used(const char *path, const struct config_values *c, enum opt_id id, const char *why)
{
	if (c->value[id])
		log_debug("%s:%u: %s: not used (%s)", path, c->line[id], opt_defs[id].name, why);
}

/* Whether the file's value of ID is used by this request; WHY says why not. */
static bool file_key_applies(const struct request *r, bool cli_tls, enum opt_id id, const char **why)
{
	bool apply = streq(r->verb, "apply");
	switch (id) {
	case OPT_MODE: /* revert's mode is the command line's alone: the file's would narrow it */
		*why = "apply only";
		return apply;
	case OPT_DOMAIN:
	case OPT_CERT:
	case OPT_KEY:
		/* domain | cert+key: the command line's choice replaces the file's as a whole. */
		*why = !apply ? "apply only" : "--domain/--cert/--key given";
		return apply && !cli_tls;
	case OPT_RELAYHOST:
	case OPT_RELAY_USER:
	case OPT_MECHANISMS:
	case OPT_PASSWORD_MAP:
	case OPT_RELAY_PASSWORD_FILE:
		*why = "apply --mode=submission only";
		if (!(apply && r->modes == MODE_SUBMISSION))
			return false;
		*why = "--relay-password-stdin given";
		return id != OPT_RELAY_PASSWORD_FILE || !r->relay.password_stdin;
	default:
		*why = "not an option of this verb";
		return (opt_defs[id].verbs & r->verb_bit) != 0;
	}
}

static int merge(struct request *r, const char *path, struct config_values *c)
{
	int q = opt_bool(c->value[OPT_QUIET] ?: "no"), v = opt_bool(c->value[OPT_VERBOSE] ?: "no");
	bool cli_tls = r->tls.domain || r->tls.cert || r->tls.key;
	const char *why;
	int e;

	/* First, so that verbose = yes shows the rest. -q/-v on the command line moved log_verbosity
	 * away from 0 and win. */
	if (log_verbosity == 0)
		log_verbosity = q == 1 ? -1 : v == 1 ? 1 : 0;

	/* The mode first: whether the relay keys apply depends on it. */
	for (unsigned pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < N_OPTS; i++) {
			enum opt_id id = (enum opt_id)i;
			enum opt_kind k = opt_defs[id].kind;
			if ((pass == 0) != (id == OPT_MODE) || !c->value[id] || k == K_QUIET || k == K_VERBOSE)
				continue;
			if (!file_key_applies(r, cli_tls, id, &why)) {
				not_used(path, c, id, why);
				continue;
			}
			if (k == K_FLAG) { /* the command line can only say yes: "no" in the file never undoes it */
				if (opt_bool(c->value[id]) == 1)
					*FIELD(r, id, bool) = r->given[id] = true;
				continue;
			}
			if (is_set(r, id)) {
				log_debug("%s:%u: %s: the command line's value wins", path, c->line[id], opt_defs[id].name);
				continue;
			}
			log_debug("%s:%u: %s = %s", path, c->line[id], opt_defs[id].name, c->value[id]);
			if ((e = store(r, id, c->value[id])) < 0)
				return e;
		}
	return 0;
}

/* ---- the rules between options, once for the merged request ---- */

static int set_default(char **slot, const char *value)
{
	if (!*slot && !(*slot = strdup(value)))
		return log_err(-ENOMEM, "out of memory");
	return 0;
}

/* verify --send-test needs a login and exactly one way to get its password (never argv: the
 * password itself is not an option). */
static int check_verify(const struct request *r)
{
	const struct verify_settings *v = &r->verify;
	if (!v->send_test) {
		if (v->user || v->password_file || v->password_stdin)
			return log_err(-EINVAL, "verify: --user and --password-* go with --send-test=ADDR");
		return 0;
	}
	if (strempty(v->user))
		return log_err(-EINVAL, "verify --send-test: --user=NAME (the login of a mail user) is required");
	if (!v->password_file == !v->password_stdin)
		return log_err(-EINVAL, "verify --send-test: give the user's password with exactly one of "
					"--password-file=FILE or --password-stdin");
	return 0;
}

/* apply --mode=submission: the relay, its login and exactly one way to its password. */
static int check_relay(const struct request *r)
{
	const struct relay_settings *s = &r->relay;
	if (!s->host)
		return log_err(-EINVAL, "apply --mode=submission: --relayhost=HOST[:PORT] is required");
	if (strempty(s->user))
		return log_err(-EINVAL, "apply --mode=submission: --relay-user=NAME is required");
	if (!s->password_file == !s->password_stdin)
		return log_err(-EINVAL, "apply --mode=submission: give the password with exactly one of "
					"--relay-password-file=FILE or --relay-password-stdin");
	return 0;
}

static int validate(struct request *r, const bool on_cli[N_OPTS])
{
	struct target *t = &r->target;
	bool apply = r->verb_bit == V_APPLY, revert = r->verb_bit == V_REVERT;
	int e;

	if (t->timeout_sec == 0)
		t->timeout_sec = 90;
	if ((e = set_default(&t->root, "/")) < 0 || (e = set_default(&t->postfix_dir, "/etc/postfix")) < 0 ||
	    (e = set_default(&t->dovecot_dir, "/etc/dovecot")) < 0 ||
	    (e = set_default(&t->state_dir, "/var/lib/op25b")) < 0)
		return e;
	struct stat st;
	if (stat(t->root, &st) < 0)
		return log_err(-errno, "--root=%s: %m", t->root);
	if (!S_ISDIR(st.st_mode))
		return log_err(-ENOTDIR, "--root=%s: not a directory", t->root);

	if (apply && r->modes == 0)
		return log_err(-EINVAL, "apply: --mode=smtps or --mode=submission is required");
	if (!apply && !revert && r->modes)
		return log_err(-EINVAL, "%s: --mode is not an option of this verb", r->verb);

	const struct tls_settings *tls = &r->tls;
	bool tls_given = tls->domain || tls->cert || tls->key;
	if (tls->domain && (tls->cert || tls->key))
		return log_err(-EINVAL, "--domain and --cert/--key are alternatives: give one or the other");
	if ((tls->cert != NULL) != (tls->key != NULL))
		return log_err(-EINVAL, "--cert and --key go together");
	if (tls_given && !apply)
		return log_err(-EINVAL, "%s: --domain/--cert/--key are options of apply", r->verb);
	if (apply && r->modes == MODE_SMTPS && !tls_given)
		return log_err(-EINVAL, "apply --mode=smtps: --domain=NAME or --cert=FILE --key=FILE is required");

	const struct relay_settings *rs = &r->relay;
	bool relay_given = rs->host || rs->user || rs->password_file || rs->password_stdin || rs->mechanisms ||
			   rs->password_map || rs->tls;
	if (relay_given && !(apply && r->modes == MODE_SUBMISSION))
		return log_err(-EINVAL, "--relayhost, --relay-user, --relay-password-*, --relay-tls, --mechanisms and "
					"--password-map are options of apply --mode=submission");
	if (apply && r->modes == MODE_SUBMISSION && (e = check_relay(r)) < 0)
		return e;

	const struct verify_settings *v = &r->verify;
	bool verify_given = v->host || v->send_test || v->user || v->password_file || v->password_stdin;
	if (verify_given && r->verb_bit != V_VERIFY)
		return log_err(-EINVAL, "%s: --host, --send-test, --user and --password-* are options of verify",
			       r->verb);
	if ((e = check_verify(r)) < 0)
		return e;

	/* What the rules above did not name: an option the table does not give this verb. */
	for (unsigned i = 0; i < N_OPTS; i++)
		if (on_cli[i] && !(opt_defs[i].verbs & r->verb_bit))
			return log_err(-EINVAL, "%s: --%s is not an option of this verb", r->verb, opt_defs[i].name);

	if (r->verb_bit == V_PROBE) {
		if (r->nargs != 1)
			return log_err(-EINVAL, "probe: exactly one HOST[:PORT] is required");
	} else if (r->nargs > 0) {
		return log_err(-EINVAL, "%s: unexpected argument '%s'", r->verb, r->args[0]);
	}
	return 0;
}

/* ---- the command line ---- */

#define LONG_BASE 0x100

static void getopt_tables(struct option longs[N_OPTS + 1], char shorts[2 * N_OPTS + 2])
{
	size_t n = 0;
	shorts[n++] = ':';
	for (unsigned i = 0; i < N_OPTS; i++) {
		const struct opt_def *d = &opt_defs[i];
		longs[i] = (struct option){ d->name, opt_takes_value(i) ? required_argument : no_argument, NULL,
					    LONG_BASE + (int)i };
		if (d->short_name) {
			shorts[n++] = d->short_name;
			if (opt_takes_value(i))
				shorts[n++] = ':';
		}
	}
	longs[N_OPTS] = (struct option){ 0 };
	shorts[n] = '\0';
}

static int option_of(int c)
{
	if (c >= LONG_BASE && c < LONG_BASE + N_OPTS)
		return c - LONG_BASE;
	for (unsigned i = 0; i < N_OPTS; i++)
		if (opt_defs[i].short_name && opt_defs[i].short_name == c)
			return (int)i;
	return -1;
}

static int parse(int argc, char **argv, struct request *r, bool *exit_now)
{
	struct option longs[N_OPTS + 1];
	char shorts[2 * N_OPTS + 2];
	bool on_cli[N_OPTS] = { 0 };
	int e;

	/* The verb goes first, whatever came before it; `help [VERB]` is --help. */
	int vi = verb_index(argc, argv);
	if (vi < argc && streq(argv[vi], "help")) {
		unsigned bit = vi + 1 < argc ? verb_bit_of(argv[vi + 1]) : V_ALL;
		if (!bit)
			return log_err(-EINVAL, "help %s: no such verb (try op25b help)", argv[vi + 1]);
		usage_for(stdout, bit);
		*exit_now = true;
		return 0;
	}
	if (vi < argc && vi > 1) {
		char *verb = argv[vi];
		memmove(argv + 2, argv + 1, (size_t)(vi - 1) * sizeof(*argv));
		argv[1] = verb;
	}
	/* --help/--version work with or without a verb; with one, --help is that verb's. */
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (streq(argv[i], "-h") || streq(argv[i], "--help")) {
			unsigned bit = argc > 1 ? verb_bit_of(argv[1]) : 0;
			usage_for(stdout, bit ? bit : V_ALL);
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
		char names[160];
		return log_err(-EINVAL, "a verb is required: %s", verb_names(names, sizeof(names)));
	}
	const struct verb *v = verb_find(argv[1]);
	if (!v)
		return log_err(-EINVAL, "unknown verb '%s' (try --help)", argv[1]);
	r->verb = v->name;
	r->verb_bit = v->bit;

	getopt_tables(longs, shorts);
	optind = 2;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, shorts, longs, NULL)) >= 0) {
		if (c == ':')
			return log_err(-EINVAL, "option '%s' needs a value", argv[optind - 1]);
		int id = option_of(c);
		if (id < 0)
			return log_err(-EINVAL, "unknown option '%s' (try --help)", argv[optind - 1]);
		if (optarg && (e = opt_check((enum opt_id)id, optarg, &(struct opt_origin){ 0 })) < 0)
			return e;
		if ((e = store(r, (enum opt_id)id, optarg)) < 0)
			return e;
		on_cli[id] = true;
		if (id == OPT_ROOT)
			r->target.root_given = true;
	}
	r->args = argv + optind;
	r->nargs = argc - optind;

	/* The file fills in what the command line left unset, before the defaults do. */
	if (r->config) {
		_cleanup_(config_values_done) struct config_values cv = { 0 };
		if ((e = config_read(r->config, &cv)) < 0 || (e = merge(r, r->config, &cv)) < 0)
			return e;
	}
	return validate(r, on_cli);
}

int request_parse(int argc, char **argv, struct request *r, bool *exit_now)
{
	*exit_now = false;
	int e = parse(argc, argv, r, exit_now);
	return exit_status_of(e);
}

void request_free(struct request *r)
{
	for (unsigned i = 0; i < N_OPTS; i++)
		if (is_string_kind(opt_defs[i].kind)) {
			char **slot = FIELD(r, i, char *);
			free(*slot);
			*slot = NULL;
		}
}

void request_hash(const struct request *r, char out[65])
{
	_cleanup_free_ char *s = strdup(mode_name(r->modes));
	for (unsigned i = 0; s && i < N_OPTS; i++) {
		if (!opt_defs[i].hash || i == OPT_MODE)
			continue;
		const char *v = is_string_kind(opt_defs[i].kind) ? *FIELD(r, i, char *) : NULL;
		char *n = strdup_printf("%s\n%s", s, v ? v : "-");
		free(s);
		s = n;
	}
	sha256_hex(s ? s : "", s ? strlen(s) : 0, out);
}

bool request_option(const struct request *r, enum opt_id id, const char **value, unsigned *num)
{
	*value = NULL;
	*num = 0;
	if (!r->given[id] || !is_set(r, id))
		return false;
	switch (opt_defs[id].kind) {
	case K_FLAG:
		return true;
	case K_MODE:
	case K_TIMEOUT:
		*num = *FIELD(r, id, unsigned);
		return true;
	default:
		*value = *FIELD(r, id, char *);
		return true;
	}
}

void request_fw_ctx(const struct request *r, const struct offline *off, struct fw_ctx *c)
{
	*c = (struct fw_ctx){
		.root = r->target.root,
		.off = *off,
		.zone = r->zone,
		.dry_run = r->dry_run,
		.timeout_sec = r->target.timeout_sec,
		.no_firewall = r->no_firewall,
	};
}
