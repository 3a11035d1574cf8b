/* Dovecot's configuration as read before planning (see dovecot-facts.h). */
#include "dovecot-facts.h"

#include <sys/stat.h>

#include "rootfs.h"
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
	return 0;
}
