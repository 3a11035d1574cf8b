/* --config=FILE: checked like doas checks doas.conf, parsed with the Op25b_Conf lens, merged under
 * the command line. */
#include "config.h"

#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>

#include "aug.h"
#include "rootfs.h"
#include "util.h"

#define CONFIG_MAX_SIZE (64u * 1024u)
#define CONFIG_TREE "/op25b/config"

enum kind { K_MODE, K_PATH, K_DOMAIN, K_WORD, K_LIST, K_BOOL, K_TIMEOUT };

enum key_id {
	KEY_MODE, KEY_DOMAIN, KEY_CERT, KEY_KEY,
	KEY_RELAYHOST, KEY_RELAY_USER, KEY_RELAY_PASSWORD_FILE, KEY_MECHANISMS, KEY_PASSWORD_MAP,
	KEY_ZONE, KEY_POSTFIX_DIR, KEY_DOVECOT_DIR, KEY_STATE_DIR,
	KEY_NO_RESTART, KEY_NO_FIREWALL, KEY_DRY_RUN, KEY_JSON, KEY_TIMEOUT, KEY_QUIET, KEY_VERBOSE,
	KEY_HOST, KEY_SEND_TEST,
	N_KEYS
};

/* Names as in the file, with '_'; a '-' in the file is read as '_' (the long option's spelling). */
static const struct {
	const char *name;
	enum kind kind;
} keys[N_KEYS] = {
	[KEY_MODE] = { "mode", K_MODE },
	[KEY_DOMAIN] = { "domain", K_DOMAIN },
	[KEY_CERT] = { "cert", K_PATH },
	[KEY_KEY] = { "key", K_PATH },
	[KEY_RELAYHOST] = { "relayhost", K_WORD },
	[KEY_RELAY_USER] = { "relay_user", K_WORD },
	[KEY_RELAY_PASSWORD_FILE] = { "relay_password_file", K_PATH },
	[KEY_MECHANISMS] = { "mechanisms", K_LIST },
	[KEY_PASSWORD_MAP] = { "password_map", K_PATH },
	[KEY_ZONE] = { "zone", K_WORD },
	[KEY_POSTFIX_DIR] = { "postfix_dir", K_PATH },
	[KEY_DOVECOT_DIR] = { "dovecot_dir", K_PATH },
	[KEY_STATE_DIR] = { "state_dir", K_PATH },
	[KEY_NO_RESTART] = { "no_restart", K_BOOL },
	[KEY_NO_FIREWALL] = { "no_firewall", K_BOOL },
	[KEY_DRY_RUN] = { "dry_run", K_BOOL },
	[KEY_JSON] = { "json", K_BOOL },
	[KEY_TIMEOUT] = { "timeout", K_TIMEOUT },
	[KEY_QUIET] = { "quiet", K_BOOL },
	[KEY_VERBOSE] = { "verbose", K_BOOL },
	[KEY_HOST] = { "host", K_WORD },
	[KEY_SEND_TEST] = { "send_test", K_WORD },
};

/* Options of the command line that have no place in the file. */
static const struct {
	const char *name, *why;
} refused[] = {
	{ "root", "'root' is not allowed in a configuration file; give --root=DIR on the command line" },
	{ "config", "'config' is not allowed in a configuration file (there are no includes)" },
	{ "relay_password_stdin", "'relay_password_stdin' is not allowed in a configuration file; "
				  "set relay_password_file = FILE" },
};

struct setting {
	char *value;   /* NULL when the key is absent */
	unsigned line; /* 0 when unknown */
};

struct ctx {
	const char *path;
	const char *text;
	struct setting s[N_KEYS];
};

static void ctx_done(struct ctx *c)
{
	for (unsigned i = 0; i < N_KEYS; i++)
		free(c->s[i].value);
}

/* "op25b: PATH:LINE: MESSAGE"; returns -EINVAL. */
_printf_(3, 4) static int bad(const struct ctx *c, unsigned line, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return log_err(-ENOMEM, "out of memory");
	if (line)
		return log_err(-EINVAL, "%s:%u: %s", c->path, line, msg);
	return log_err(-EINVAL, "%s: %s", c->path, msg);
}

/* Open without following a symlink, check owner and mode on the open descriptor (no race with a
 * rename), and read it whole. */
static int read_config(const char *path, char **out, size_t *out_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	if (fd < 0) {
		int e = errno;
		if (e == ELOOP && lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
			return log_err(-ELOOP, "%s: is a symbolic link; refusing it (name the file itself)", path);
		if (e == ENXIO) /* a socket */
			return log_err(-EBADF, "%s: not a regular file", path);
		return log_err(-e, "%s: cannot open the configuration file: %s", path, strerror(e));
	}
	if (fstat(fd, &st) < 0)
		return log_err(-errno, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return log_err(-EBADF, "%s: not a regular file", path);
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return log_err(-EPERM, "%s: owned by uid %u; refusing it (it must belong to %s)", path,
			       (unsigned)st.st_uid, geteuid() == 0 ? "root" : "root or to you");
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return log_err(-EPERM, "%s: writable by %s (mode %04o); refusing it (chmod go-w %s)", path,
			       st.st_mode & S_IWOTH ? "everyone" : "its group", (unsigned)(st.st_mode & 07777), path);
	if (st.st_size > (off_t)CONFIG_MAX_SIZE)
		return log_err(-EFBIG, "%s: too large for a configuration file (%lld bytes)", path,
			       (long long)st.st_size);

	/* +2: a missing final newline is added, and the terminating NUL. */
	_cleanup_free_ char *buf = malloc(CONFIG_MAX_SIZE + 2);
	size_t n = 0;
	if (!buf)
		return log_err(-ENOMEM, "out of memory");
	for (;;) {
		ssize_t k = read(fd, buf + n, CONFIG_MAX_SIZE + 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return log_err(-errno, "%s: cannot read: %s", path, strerror(errno));
		if (k == 0)
			break;
		n += (size_t)k;
		if (n > CONFIG_MAX_SIZE)
			return log_err(-EFBIG, "%s: too large for a configuration file", path);
	}
	if (memchr(buf, '\0', n))
		return log_err(-EBADMSG, "%s: contains a NUL byte; not a text file", path);
	if (n > 0 && buf[n - 1] != '\n')
		buf[n++] = '\n';
	buf[n] = '\0';
	*out = TAKE_PTR(buf);
	*out_len = n;
	return 0;
}

/* Line of NODE in the text, from Augeas' span information; 0 when not known. */
static unsigned line_of(augeas *a, const char *node, const char *text, size_t len)
{
	char *file = NULL;
	unsigned ls, le, vs, ve, start, end;
	if (sym_aug_span(a, node, &file, &ls, &le, &vs, &ve, &start, &end) < 0)
		return 0;
	free(file);
	unsigned line = 1;
	for (size_t i = 0; i < start && i < len; i++)
		line += text[i] == '\n';
	return line;
}

static bool is_list(const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return *v != '\0';
}

/* yes|no|true|false|on|off|1|0 → 1 or 0; -1 otherwise. */
static int parse_bool(const char *v)
{
	static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" };
	for (unsigned i = 0; i < ELEMENTSOF(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	}
	return -1;
}

static int parse_timeout(const char *v, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long t = strtoul(v, &end, 10);
	if (errno || *end || end == v || v[0] == '-' || v[0] == '+' || t == 0 || t > 3600)
		return -EINVAL;
	*out = (unsigned)t;
	return 0;
}

static int check_value(const struct ctx *c, enum key_id id, const char *v, unsigned line)
{
	const char *name = keys[id].name;
	unsigned mode, t;

	switch (keys[id].kind) {
	case K_MODE:
		if (mode_parse(v, &mode) < 0)
			return bad(c, line, "mode = %s: unknown mode (smtps or submission)", v);
		return 0;
	case K_PATH:
		if (v[0] != '/')
			return bad(c, line, "%s = %s: must be an absolute path", name, v);
		if (!is_config_token(v))
			return bad(c, line, "%s: the path must not contain blanks, control characters or '#'", name);
		if (!path_is_clean(v))
			return bad(c, line, "%s = %s: a path must not contain '.' or '..' components, '//' or a trailing '/'",
				   name, v);
		return 0;
	case K_DOMAIN:
		if (!is_dns_name(v))
			return bad(c, line, "domain = %s: not a DNS name (letters, digits, '-' and '.')", v);
		return 0;
	case K_WORD:
		if (!is_config_token(v))
			return bad(c, line, "%s: the value must be one word (no blanks or control characters)", name);
		return 0;
	case K_LIST:
		if (!is_list(v))
			return bad(c, line, "%s: the value must not contain control characters", name);
		return 0;
	case K_BOOL:
		if (parse_bool(v) < 0)
			return bad(c, line, "%s = %s: expected yes or no", name, v);
		return 0;
	case K_TIMEOUT:
		if (parse_timeout(v, &t) < 0)
			return bad(c, line, "timeout = %s: expected seconds from 1 to 3600", v);
		return 0;
	}
	return 0;
}

/* One "key = value" node of the tree into c->s[]. */
static int read_setting(struct ctx *c, const char *label, const char *value, unsigned line)
{
	_cleanup_free_ char *name = strdup(label);
	if (!name)
		return log_err(-ENOMEM, "out of memory");
	for (char *p = name; *p; p++)
		if (*p == '-')
			*p = '_';

	for (unsigned i = 0; i < ELEMENTSOF(refused); i++)
		if (streq(name, refused[i].name))
			return bad(c, line, "%s", refused[i].why);
	int id = -1;
	for (unsigned i = 0; i < N_KEYS; i++)
		if (streq(name, keys[i].name))
			id = (int)i;
	if (id < 0) {
		/* The value is never printed: it may be a password. */
		if (strstr(name, "pass"))
			return bad(c, line, "'%s': relay passwords do not belong in a configuration file; put the "
					    "password alone in a file of mode 0600 and set relay_password_file = FILE",
				   label);
		return bad(c, line, "unknown key '%s'", label);
	}
	if (c->s[id].value)
		return bad(c, line, "'%s' is already set on line %u", label, c->s[id].line);
	if (!value)
		return bad(c, line, "'%s' needs a value", label);
	int r = check_value(c, (enum key_id)id, value, line);
	if (r < 0)
		return r;
	if (!(c->s[id].value = strdup(value)))
		return log_err(-ENOMEM, "out of memory");
	c->s[id].line = line;
	return 0;
}

/* Settings that contradict each other within the file. */
static int check_file(const struct ctx *c)
{
	const struct setting *d = &c->s[KEY_DOMAIN], *ce = &c->s[KEY_CERT], *k = &c->s[KEY_KEY];
	if (d->value && (ce->value || k->value))
		return bad(c, d->line, "'domain' and 'cert'/'key' are alternatives: set one or the other");
	if (ce->value && !k->value)
		return bad(c, ce->line, "'cert' needs 'key' as well");
	if (k->value && !ce->value)
		return bad(c, k->line, "'key' needs 'cert' as well");
	if (c->s[KEY_QUIET].value && c->s[KEY_VERBOSE].value && parse_bool(c->s[KEY_QUIET].value) == 1 &&
	    parse_bool(c->s[KEY_VERBOSE].value) == 1)
		return bad(c, c->s[KEY_VERBOSE].line, "'quiet' and 'verbose' contradict each other");
	return 0;
}

static int parse(struct ctx *c, size_t len)
{
	_cleanup_(aug_closep) augeas *a = NULL;
	char **nodes = NULL;
	int r, n;

	if ((r = aug_open(&a)) < 0)
		return r;
	/* Span information (for line numbers) is switched on at load time; nothing is registered to
	 * load, so this reads no file. */
	if (sym_aug_set(a, "/augeas/span", "enable") < 0 || sym_aug_load(a) < 0)
		return log_err(-EIO, "%s: Augeas: %s", c->path, sym_aug_error_message(a));
	if ((r = aug_parse_text(a, "Op25b_Conf.lns", c->text, CONFIG_TREE, NULL)) < 0) {
		/* Augeas' own reason ("Iterated lens matched less than it should") helps nobody. */
		const char *line = NULL;
		if (sym_aug_error(a) != AUG_NOERROR)
			return log_err(-EBADMSG, "%s: Augeas: %s", c->path, sym_aug_error_message(a));
		sym_aug_get(a, "/augeas/text" CONFIG_TREE "/error/line", &line);
		return bad(c, line ? (unsigned)strtoul(line, NULL, 10) : 0,
			   "not a 'key = value' line, a comment or an empty line");
	}
	n = sym_aug_match(a, CONFIG_TREE "/*", &nodes);
	if (n < 0)
		return log_err(-EIO, "%s: Augeas: %s", c->path, sym_aug_error_message(a));
	r = 0;
	for (int i = 0; i < n; i++) {
		const char *label = NULL, *value = NULL;
		if (r == 0 && sym_aug_label(a, nodes[i], &label) == 1 && label && !streq(label, "#comment")) {
			sym_aug_get(a, nodes[i], &value);
			r = read_setting(c, label, value, line_of(a, nodes[i], c->text, len));
		}
		free(nodes[i]);
	}
	free(nodes);
	return r < 0 ? r : check_file(c);
}

/* Move the file's value of ID into *SLOT when the command line left it unset. */
static void take(struct ctx *c, enum key_id id, char **slot)
{
	if (!c->s[id].value)
		return;
	if (*slot) {
		log_debug("%s:%u: %s: the command line's value wins", c->path, c->s[id].line, keys[id].name);
		return;
	}
	log_debug("%s:%u: %s = %s", c->path, c->s[id].line, keys[id].name, c->s[id].value);
	*slot = TAKE_PTR(c->s[id].value);
}

static void take_bool(struct ctx *c, enum key_id id, bool *slot)
{
	if (c->s[id].value && parse_bool(c->s[id].value) == 1)
		*slot = true; /* the command line can only say yes: "no" in the file never undoes it */
}

static void not_used(const struct ctx *c, enum key_id id, const char *why)
{
	if (c->s[id].value)
		log_debug("%s:%u: %s: not used (%s)", c->path, c->s[id].line, keys[id].name, why);
}

static void merge(struct ctx *c, struct options *o)
{
	bool apply = streq(o->verb, "apply");

	/* First, so that verbose = yes shows the rest. -q/-v on the command line moved log_verbosity
	 * away from 0 and win. */
	if (log_verbosity == 0) {
		if (c->s[KEY_QUIET].value && parse_bool(c->s[KEY_QUIET].value) == 1)
			log_verbosity = -1;
		else if (c->s[KEY_VERBOSE].value && parse_bool(c->s[KEY_VERBOSE].value) == 1)
			log_verbosity = 1;
	}

	if (apply) {
		if (c->s[KEY_MODE].value && !o->modes)
			(void)mode_parse(c->s[KEY_MODE].value, &o->modes);
		/* domain | cert+key: the command line's choice replaces the file's as a whole. */
		if (o->domain || o->cert || o->key) {
			not_used(c, KEY_DOMAIN, "--domain/--cert/--key given");
			not_used(c, KEY_CERT, "--domain/--cert/--key given");
			not_used(c, KEY_KEY, "--domain/--cert/--key given");
		} else {
			take(c, KEY_DOMAIN, &o->domain);
			take(c, KEY_CERT, &o->cert);
			take(c, KEY_KEY, &o->key);
		}
	} else {
		for (enum key_id id = KEY_MODE; id <= KEY_KEY; id++)
			not_used(c, id, "apply only");
	}

	if (apply && o->modes == MODE_SUBMISSION) {
		take(c, KEY_RELAYHOST, &o->relayhost);
		take(c, KEY_RELAY_USER, &o->relay_user);
		if (o->relay_password_stdin)
			not_used(c, KEY_RELAY_PASSWORD_FILE, "--relay-password-stdin given");
		else
			take(c, KEY_RELAY_PASSWORD_FILE, &o->relay_password_file);
		take(c, KEY_MECHANISMS, &o->mechanisms);
		take(c, KEY_PASSWORD_MAP, &o->password_map);
	} else {
		for (enum key_id id = KEY_RELAYHOST; id <= KEY_PASSWORD_MAP; id++)
			not_used(c, id, "apply --mode=submission only");
	}

	if (streq(o->verb, "verify")) {
		take(c, KEY_HOST, &o->host);
		take(c, KEY_SEND_TEST, &o->send_test);
	} else {
		not_used(c, KEY_HOST, "verify only");
		not_used(c, KEY_SEND_TEST, "verify only");
	}

	take(c, KEY_ZONE, &o->zone);
	take(c, KEY_POSTFIX_DIR, &o->postfix_dir);
	take(c, KEY_DOVECOT_DIR, &o->dovecot_dir);
	take(c, KEY_STATE_DIR, &o->state_dir);
	take_bool(c, KEY_NO_RESTART, &o->no_restart);
	take_bool(c, KEY_NO_FIREWALL, &o->no_firewall);
	take_bool(c, KEY_DRY_RUN, &o->dry_run);
	take_bool(c, KEY_JSON, &o->json);
	if (c->s[KEY_TIMEOUT].value && o->timeout_sec == 0)
		(void)parse_timeout(c->s[KEY_TIMEOUT].value, &o->timeout_sec);
}

int config_load(const char *path, struct options *o)
{
	_cleanup_(ctx_done) struct ctx c = { .path = path };
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r;

	if ((r = read_config(path, &text, &len)) < 0)
		return r;
	c.text = text;
	if ((r = parse(&c, len)) < 0)
		return r;
	merge(&c, o);
	return 0;
}
