/* Dovecot ssl edits. */
#include "dovecot.h"

#include <sys/stat.h>

#include "aug.h"
#include "rootfs.h"
#include "util.h"

/* Facts read from dovecot.conf's lines without parsing it (2.4's syntax defeats the lens):
 * 2.4 requires "dovecot_config_version" as its first setting; the stock file includes conf.d. */
struct dovecot_facts {
	bool v24;
	bool includes_confd;
	bool ssl_after_include; /* dovecot.conf sets ssl_server* after including conf.d */
};

static void scan_main(const char *text, struct dovecot_facts *f)
{
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		while (*l == ' ' || *l == '\t')
			l++;
		size_t n = strcspn(l, "\n");
		if (strncmp(l, "dovecot_config_version", 22) == 0)
			f->v24 = true;
		if (strncmp(l, "!include", 8) == 0 && memmem(l, n, "conf.d/*.conf", 13))
			f->includes_confd = true;
		else if (f->includes_confd && strncmp(l, "ssl_server", 10) == 0)
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

static int set_cert_key(struct conf_set *s, struct conf_file *f, bool v24, const char *cert, const char *key)
{
	int r;
	if (v24) {
		/* 2.4 refuses the old names ("Unknown setting"): they go, journaled. */
		if ((r = conf_remove(s, f, "ssl_cert")) < 0 || (r = conf_remove(s, f, "ssl_key")) < 0)
			return r;
		if ((r = conf_set(s, f, "ssl_server_cert_file", cert)) < 0)
			return r;
		return conf_set(s, f, "ssl_server_key_file", key);
	}
	_cleanup_free_ char *c = strdup_printf("<%s", cert), *k = strdup_printf("<%s", key);
	if (!c || !k)
		return -ENOMEM;
	if ((r = conf_set(s, f, "ssl_cert", c)) < 0)
		return r;
	return conf_set(s, f, "ssl_key", k);
}

/* The drop-in is op25b's own file, written whole. Its text is checked with the Dovecot lens, so a
 * value can never break the syntax. (The stock lens also cannot start from an empty file.) */
static int plan_dropin(struct conf_set *s, const char *path, const char *cert, const char *key)
{
	_cleanup_free_ char *text = strdup_printf("# Written by op25b (apply --mode=smtps); 'op25b revert' removes it.\n"
						  "ssl_server_cert_file = %s\n"
						  "ssl_server_key_file = %s\n", cert, key);
	if (!text)
		return -ENOMEM;
	int r = conf_set_augeas(s);
	if (r < 0 || (r = aug_parse_text(s->aug, DOVECOT_LENS, text, "/op25b/dropin", path)) < 0)
		return r;
	sym_aug_rm(s->aug, "/op25b/dropin");
	return conf_open_whole(s, path, 0644, TAKE_PTR(text));
}

int dovecot_plan_ssl(struct conf_set *s, const char *dovecot_dir, const char *cert, const char *key, bool *found)
{
	_cleanup_free_ char *main_path = strdup_printf("%s/dovecot.conf", dovecot_dir);
	_cleanup_free_ char *ssl_path = strdup_printf("%s/conf.d/10-ssl.conf", dovecot_dir);
	_cleanup_free_ char *dropin = strdup_printf("%s/" DOVECOT_DROPIN, dovecot_dir);
	_cleanup_free_ char *host_main = NULL, *text = NULL;
	struct dovecot_facts facts = { 0 };
	struct conf_file *f;
	size_t len;
	int r;

	*found = false;
	if (!main_path || !ssl_path || !dropin || !(host_main = path_under_root(s->root, main_path)))
		return -ENOMEM;
	r = root_read_file(s->root, main_path, false, &text, &len, NULL);
	if (r == -ENOENT) {
		log_info("Dovecot: no %s: IMAPS/POP3S not configured", host_main);
		return 0;
	}
	if (r < 0)
		return log_err(r, "%s: %s", host_main, strerror(-r));
	*found = true;
	scan_main(text, &facts);

	if ((r = regular_file(s->root, ssl_path)) < 0)
		return r;
	const char *target = r ? ssl_path : main_path;
	r = conf_open_try(s, target, DOVECOT_LENS, &f);
	if (r == -EBADMSG && facts.v24 && facts.includes_confd) {
		/* 2.4 block syntax: leave the file alone and add a drop-in that the conf.d include picks
		 * up last. "ssl" itself is not written there: 2.4 defaults to yes, and the file we
		 * cannot read may say "required", which must not be lowered. */
		/* Later settings win in 2.4: a drop-in would lose against these. */
		if (facts.ssl_after_include)
			return log_err(-EINVAL, "%s: sets ssl_server after including conf.d, in 2.4 block syntax that "
						"op25b cannot edit: set cert_file = %s and key_file = %s there by hand",
				       host_main, cert, key);
		log_info("Dovecot: %s uses 2.4 block syntax; writing %s instead", target, dropin);
		return plan_dropin(s, dropin, cert, key);
	}
	if (r == -EBADMSG) /* parse again, this time saying where and why */
		return conf_open(s, target, DOVECOT_LENS, true, &f);
	if (r < 0)
		return r;

	bool present;
	const char *ssl;
	if ((r = conf_get(s, f, "ssl", &present, &ssl)) < 0)
		return r;
	if (!present || !(streq(ssl, "required") || streq(ssl, "yes")))
		if ((r = conf_set(s, f, "ssl", "yes")) < 0)
			return r;
	/* A 2.4 file that the lens can read (flat names) is recognised by its names too. */
	bool v24 = facts.v24;
	if (!v24 && conf_get(s, f, "ssl_server_cert_file", &present, &ssl) == 0 && present)
		v24 = true;
	return set_cert_key(s, f, v24, cert, key);
}
