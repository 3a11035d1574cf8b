/* Dovecot's configuration as read before planning (see dovecot-facts.h). */
#include "dovecot-facts.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>

#include "rootfs.h"
#include "strv.h"
#include "util.h"

int dovecot_conf_read(struct conf_set *s, const struct target *o, struct dovecot_conf *c)
{
	if (c->read)
		return 0;
	_cleanup_free_ char *conf = strdup_printf("%s/dovecot.conf", o->dovecot_dir);
	_cleanup_free_ char *host = conf ? path_under_root(s->root, conf) : NULL;
	if (!host)
		return -ENOMEM;
	int r = root_read_file(s->root, conf, false, &c->text, &c->len, NULL);
	if (r < 0 && r != -ENOENT)
		return log_err(r, "%s: %s", host, root_strerror(s->root, conf, r));
	c->r = r;
	c->read = true;
	return 0;
}

void dovecot_conf_done(struct dovecot_conf *c)
{
	free(c->text);
	*c = (struct dovecot_conf){ 0 };
}

static void scan_main(const char *text, struct dovecot_ssl_facts *f)
{
	int depth = 0; /* of blocks: only top-level lines count ("local_name x { ssl_cert = ... }" does not) */
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		while (*l == ' ' || *l == '\t')
			l++;
		size_t n = strcspn(l, "\r\n");
		const char *hash = memchr(l, '#', n);
		size_t end = hash ? (size_t)(hash - l) : n;
		while (end > 0 && (l[end - 1] == ' ' || l[end - 1] == '\t'))
			end--;
		bool top = depth == 0;
		if (end > 0 && l[0] == '}')
			depth -= depth > 0;
		else if (end > 0 && l[end - 1] == '{' && !memchr(l, '=', end))
			depth++;
		if (!top)
			continue;
		if (strncmp(l, "dovecot_config_version", 22) == 0)
			f->v24 = true;
		if (strncmp(l, "!include", 8) == 0 && memmem(l, n, "conf.d/*.conf", 13))
			f->includes_confd = true;
		else if (f->includes_confd && strncmp(l, "ssl", 3) == 0 && strchr(" \t=_{", l[3]))
			f->ssl_after_include = true;
	}
}

/* 1 when PATH is a regular file, 0 when it does not exist; anything else there is an error. */
static int regular_file(const char *root, const char *path)
{
	struct stat st;
	int r = root_stat(root, path, false, &st);
	if (r < 0)
		return r == -ENOENT ? 0 : log_err(r, "%s: %s", path, strerror(-r));
	if (!S_ISREG(st.st_mode))
		return log_err(-EINVAL, "%s: not a regular file", path);
	return 1;
}

/* Does TEXT set the server certificate at its top level (ssl_cert, ssl_key, ssl_server_cert_file,
 * ssl_server_key_file, an "ssl_server {" block)? */
static bool sets_cert(const char *text)
{
	static const char *const names[] = { "ssl_cert", "ssl_key", "ssl_server_cert_file", "ssl_server_key_file",
					     "ssl_server" };
	int depth = 0;
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		l += strspn(l, " \t");
		size_t n = strcspn(l, "#\r\n");
		while (n > 0 && (l[n - 1] == ' ' || l[n - 1] == '\t'))
			n--;
		bool top = depth == 0;
		if (n > 0 && l[0] == '}')
			depth -= depth > 0;
		else if (n > 0 && l[n - 1] == '{' && !memchr(l, '=', n) && !(top && strncmp(l, "ssl_server", 10) == 0 && strchr(" \t{", l[10])))
			depth++;
		if (!top)
			continue;
		for (size_t i = 0; i < ELEMENTSOF(names); i++) {
			size_t k = strlen(names[i]);
			if (strncmp(l, names[i], k) == 0 && l[k] && strchr(" \t={", l[k]) &&
			    (streq(names[i], "ssl_server") ? memchr(l, '{', n) != NULL : memchr(l, '=', n) != NULL))
				return true;
		}
	}
	return false;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files PATTERN (an !include argument of FILE, on the target system) names, in the order
 * Dovecot reads them (sorted), into *V (NULL-terminated, malloc'd); a pattern in a directory name
 * or a directory that is not there gives none. */
static int expand_include(const char *root, const char *file, const char *pattern, char ***v)
{
	*v = NULL;
	const char *slash = strrchr(file, '/');
	_cleanup_free_ char *full = pattern[0] == '/' ? strdup(pattern)
						  : strdup_printf("%.*s/%s", (int)(slash ? slash - file : 0), file, pattern);
	if (!full)
		return -ENOMEM;
	char *base = strrchr(full, '/');
	const char *wild = strpbrk(full, "*?[");
	if (!base || base == full || (wild && wild < base))
		return 0;
	*base++ = '\0';
	int dfd = root_open(root, full, O_RDONLY | O_DIRECTORY, 0);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return 0;
	}
	char **names = NULL;
	size_t n = 0;
	int r = 0;
	for (struct dirent *e; n < 256 && (e = readdir(d));) {
		if (e->d_name[0] == '.' || fnmatch(base, e->d_name, FNM_PERIOD) != 0)
			continue;
		char **nv = realloc(names, (n + 2) * sizeof(*nv));
		if (!nv || !(nv[n] = strdup_printf("%s/%s", full, e->d_name))) {
			names = nv ? nv : names;
			r = -ENOMEM;
			break;
		}
		names = nv;
		names[++n] = NULL;
	}
	closedir(d);
	if (r < 0) {
		strv_free(names);
		return r;
	}
	if (names)
		qsort(names, n, sizeof(*names), cmp_names);
	*v = names;
	return 0;
}

/* After dovecot.conf includes conf.d, the last file read after 10-ssl.conf that sets the
 * certificate (one level: the files dovecot.conf itself includes). */
static int find_ssl_override(const char *root, const char *dovecot_dir, const char *text, char **out)
{
	_cleanup_free_ char *main_path = strdup_printf("%s/dovecot.conf", dovecot_dir);
	_cleanup_free_ char *ssl_path = strdup_printf("%s/conf.d/10-ssl.conf", dovecot_dir);
	bool after = false;
	int depth = 0;
	*out = NULL;
	if (!main_path || !ssl_path)
		return -ENOMEM;
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		l += strspn(l, " \t");
		size_t n = strcspn(l, "#\r\n");
		while (n > 0 && (l[n - 1] == ' ' || l[n - 1] == '\t'))
			n--;
		bool top = depth == 0;
		if (n > 0 && l[0] == '}')
			depth -= depth > 0;
		else if (n > 0 && l[n - 1] == '{' && !memchr(l, '=', n))
			depth++;
		if (!top || strncmp(l, "!include", 8) != 0)
			continue;
		const char *p = l + 8 + (strncmp(l + 8, "_try", 4) == 0 ? 4 : 0);
		if (*p != ' ' && *p != '\t')
			continue;
		p += strspn(p, " \t");
		_cleanup_free_ char *pat = strndup(p, strcspn(p, " \t\r\n\"#"));
		char **files = NULL;
		if (!pat || expand_include(root, main_path, pat, &files) < 0)
			return -ENOMEM;
		bool confd = memmem(l, n, "conf.d/*.conf", 13) != NULL;
		for (size_t i = 0; files && files[i]; i++) {
			if (confd && strcmp(files[i], ssl_path) <= 0)
				continue;
			if (!after && !confd)
				continue;
			_cleanup_free_ char *data = NULL;
			size_t len;
			/* Beneath the root, never blocking: what cannot be read is not Dovecot's either. */
			if (root_read_file(root, files[i], false, &data, &len, NULL) == 0 && sets_cert(data)) {
				free(*out);
				if (!(*out = strdup(files[i]))) {
					strv_free(files);
					return -ENOMEM;
				}
			}
		}
		strv_free(files);
		after |= confd;
	}
	return 0;
}

int dovecot_ssl_facts_gather(struct conf_set *s, const struct target *o, struct dovecot_conf *c,
			     struct dovecot_ssl_facts *f)
{
	_cleanup_free_ char *ssl_path = strdup_printf("%s/conf.d/10-ssl.conf", o->dovecot_dir);
	int r;
	if (!ssl_path)
		return -ENOMEM;
	if ((r = dovecot_conf_read(s, o, c)) < 0)
		return r;
	if (c->r == -ENOENT)
		return 0;
	f->found = true;
	scan_main(c->text, f);
	if ((r = regular_file(s->root, ssl_path)) < 0)
		return r;
	f->ssl_conf = r > 0;
	return f->includes_confd && f->ssl_conf ? find_ssl_override(s->root, o->dovecot_dir, c->text, &f->ssl_override) : 0;
}
