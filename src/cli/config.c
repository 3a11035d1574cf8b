/* --config=FILE: checked like doas checks doas.conf, parsed with the Op25b_Conf lens; each value
 * checked by the option's own rule (src/cli/option-check.c). */
#include "config.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "aug.h"
#include "option-check.h"
#include "util.h"

#define CONFIG_MAX_SIZE (64u * 1024u)
#define CONFIG_TREE "/op25b/config"

struct ctx {
	const char *path;
	const char *text;
	struct config_values *v;
};

void config_values_done(struct config_values *v)
{
	for (unsigned i = 0; i < N_OPTS; i++) {
		free(v->value[i]);
		v->value[i] = NULL;
	}
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

/* The option whose file key is NAME ('_' between words), or -1. */
static int key_id(const char *name)
{
	for (unsigned i = 0; i < N_OPTS; i++) {
		const char *o = opt_defs[i].name, *k = name;
		while (*o && (*o == *k || (*o == '-' && *k == '_')))
			o++, k++;
		if (!*o && !*k)
			return (int)i;
	}
	return -1;
}

/* One "key = value" node of the tree into c->v. */
static int read_setting(struct ctx *c, const char *label, const char *value, unsigned line)
{
	_cleanup_free_ char *name = strdup(label);
	if (!name)
		return log_err(-ENOMEM, "out of memory");
	for (char *p = name; *p; p++)
		if (*p == '-')
			*p = '_';

	int id = key_id(name);
	if (id >= 0 && opt_defs[id].file && opt_defs[id].file[0])
		return bad(c, line, "%s", opt_defs[id].file);
	if (id < 0 || opt_defs[id].file) {
		/* The value is never printed: it may be a password. */
		if (strstr(name, "pass"))
			return bad(c, line, "'%s': relay passwords do not belong in a configuration file; put the "
					    "password alone in a file of mode 0600 and set relay_password_file = FILE",
				   label);
		return bad(c, line, "unknown key '%s'", label);
	}
	if (c->v->value[id])
		return bad(c, line, "'%s' is already set on line %u", label, c->v->line[id]);
	if (!value)
		return bad(c, line, "'%s' needs a value", label);
	int r = opt_check((enum opt_id)id, value, &(struct opt_origin){ c->path, line });
	if (r < 0)
		return r;
	if (!(c->v->value[id] = strdup(value)))
		return log_err(-ENOMEM, "out of memory");
	c->v->line[id] = line;
	return 0;
}

/* Settings that contradict each other within the file. */
static int check_file(const struct ctx *c)
{
	char *const *v = c->v->value;
	const unsigned *line = c->v->line;
	if (v[OPT_DOMAIN] && (v[OPT_CERT] || v[OPT_KEY]))
		return bad(c, line[OPT_DOMAIN], "'domain' and 'cert'/'key' are alternatives: set one or the other");
	if (v[OPT_CERT] && !v[OPT_KEY])
		return bad(c, line[OPT_CERT], "'cert' needs 'key' as well");
	if (v[OPT_KEY] && !v[OPT_CERT])
		return bad(c, line[OPT_KEY], "'key' needs 'cert' as well");
	if (v[OPT_QUIET] && v[OPT_VERBOSE] && opt_bool(v[OPT_QUIET]) == 1 && opt_bool(v[OPT_VERBOSE]) == 1)
		return bad(c, line[OPT_VERBOSE], "'quiet' and 'verbose' contradict each other");
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

int config_read(const char *path, struct config_values *v)
{
	struct ctx c = { .path = path, .v = v };
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r;

	if ((r = read_config(path, &text, &len)) < 0)
		return r;
	c.text = text;
	return parse(&c, len);
}
