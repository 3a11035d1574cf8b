/* Dovecot ssl edits. */
#include "dovecot.h"

#include "aug.h"
#include "dlopen-augeas.h"
#include "util.h"

/* The first node of F's tree matching EXPR (relative to the tree; malloc'd), or NULL. */
static int first_match(struct conf_set *s, struct conf_file *f, const char *expr, char **out)
{
	_cleanup_free_ char *q = strdup_printf("%s/%s", f->tree, expr);
	char **m = NULL;
	*out = NULL;
	if (!q)
		return -ENOMEM;
	int n = sym_aug_match(s->aug, q, &m);
	if (n < 0)
		return log_err(-EINVAL, "Augeas match %s failed", expr);
	if (n > 0 && !(*out = strdup(m[0] + strlen(f->tree) + 1)))
		n = -ENOMEM;
	for (int i = 0; i < (n > 0 ? n : 0); i++)
		free(m[i]);
	free(m);
	return n < 0 ? n : 0;
}

/* Set KEY to VALUE at the top level of F. A new setting goes right after its commented-out
 * default ("#ssl = yes") when the file has one; else before the first filter block (Dovecot 2.3
 * warns that a global setting after "local_name x {" or "protocol imap {" does not reach into
 * it); else last. */
static int set_near_default(struct conf_set *s, struct conf_file *f, const char *key, const char *value)
{
	bool present;
	const char *cur;
	int r = conf_get(s, f, key, &present, &cur);
	if (r < 0)
		return r;
	if (!present) {
		_cleanup_free_ char *expr = strdup_printf("#comment[. =~ regexp('%s[ \t]*=.*')][last()]", key);
		_cleanup_free_ char *at = NULL;
		bool before = false;
		if (!expr)
			return -ENOMEM;
		if ((r = first_match(s, f, expr, &at)) < 0)
			return r;
		if (!at) {
			if ((r = first_match(s, f, "*[label() =~ regexp('local|local_name|remote|protocol')][1]", &at)) < 0)
				return r;
			before = true;
		}
		if (at && (r = conf_insert(s, f, at, before, key)) < 0)
			return r;
	}
	return conf_set(s, f, key, value);
}

static int set_cert_key(struct conf_set *s, struct conf_file *f, bool v24, const char *cert, const char *key)
{
	int r;
	bool present;
	const char *v;
	if (v24) {
		/* 2.4 refuses the old names ("Unknown setting"): they go, journaled. */
		if ((r = conf_remove(s, f, "ssl_cert")) < 0 || (r = conf_remove(s, f, "ssl_key")) < 0)
			return r;
		/* "ssl_server { cert_file = ... }" and "ssl_server_cert_file = ..." are the same
		 * setting: the block is edited where it is, and flat names present get the same value. */
		if ((r = conf_get(s, f, "ssl_server[count(#name) = 0]", &present, &v)) < 0)
			return r;
		if (present) {
			if ((r = conf_set(s, f, "ssl_server[count(#name) = 0][last()]/cert_file", cert)) < 0 ||
			    (r = conf_set(s, f, "ssl_server[count(#name) = 0][last()]/key_file", key)) < 0)
				return r;
			if ((r = conf_get(s, f, "ssl_server_cert_file", &present, &v)) < 0 ||
			    (present && (r = conf_set(s, f, "ssl_server_cert_file", cert)) < 0))
				return r;
			if ((r = conf_get(s, f, "ssl_server_key_file", &present, &v)) < 0 ||
			    (present && (r = conf_set(s, f, "ssl_server_key_file", key)) < 0))
				return r;
			return 0;
		}
		if ((r = set_near_default(s, f, "ssl_server_cert_file", cert)) < 0)
			return r;
		return set_near_default(s, f, "ssl_server_key_file", key);
	}
	_cleanup_free_ char *c = strdup_printf("<%s", cert), *k = strdup_printf("<%s", key);
	if (!c || !k)
		return -ENOMEM;
	if ((r = set_near_default(s, f, "ssl_cert", c)) < 0)
		return r;
	return set_near_default(s, f, "ssl_key", k);
}

int dovecot_plan_ssl(struct conf_set *s, const char *dovecot_dir, const char *cert, const char *key,
		     const struct dovecot_ssl_facts *facts)
{
	_cleanup_free_ char *main_path = strdup_printf("%s/dovecot.conf", dovecot_dir);
	_cleanup_free_ char *ssl_path = strdup_printf("%s/conf.d/10-ssl.conf", dovecot_dir);
	_cleanup_free_ char *host_main = NULL;
	struct conf_file *f;
	int r;

	if (!main_path || !ssl_path || !(host_main = path_under_root(s->root, main_path)))
		return -ENOMEM;
	if (!facts->found) {
		log_info("Dovecot: no %s: IMAPS/POP3S not configured", host_main);
		return 0;
	}
	/* Where the settings take effect: dovecot.conf's own after its conf.d include win. */
	const char *target = facts->ssl_conf && !(facts->includes_confd && facts->ssl_after_include) ? ssl_path : main_path;
	if (facts->ssl_override) {
		/* A file read later (Debian's local.conf, a conf.d file after 10-ssl.conf) sets the
		 * certificate: an edit of 10-ssl.conf would not take effect. */
		target = facts->ssl_override;
		log_info("Dovecot: %s sets the certificate after 10-ssl.conf: edited there", target);
	} else if (facts->ssl_after_include)
		log_info("Dovecot: %s sets ssl after including conf.d: edited there", host_main);
	if ((r = conf_open(s, target, DOVECOT_LENS, true, &f)) < 0)
		return r;

	bool present;
	const char *ssl;
	if ((r = conf_get(s, f, "ssl", &present, &ssl)) < 0)
		return r;
	if (!present && target != ssl_path && facts->ssl_conf) {
		/* The file edited sets the certificate but not ssl: 10-ssl.conf's ssl counts. */
		struct conf_file *c;
		if ((r = conf_open(s, ssl_path, DOVECOT_LENS, true, &c)) < 0 || (r = conf_get(s, c, "ssl", &present, &ssl)) < 0)
			return r;
		if (!present)
			ssl = "yes"; /* Dovecot's default */
		present = true;
	}
	if (!present || !(streq(ssl, "required") || streq(ssl, "yes")))
		if ((r = set_near_default(s, f, "ssl", "yes")) < 0)
			return r;
	/* A 2.4 file is also recognised by its names. */
	bool v24 = facts->v24;
	if (!v24 && conf_get(s, f, "ssl_server_cert_file", &present, &ssl) == 0 && present)
		v24 = true;
	if (!v24 && conf_get(s, f, "ssl_server[count(#name) = 0]", &present, &ssl) == 0 && present)
		v24 = true;
	return set_cert_key(s, f, v24, cert, key);
}
