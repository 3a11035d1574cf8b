/* smtps: implicit TLS on 465 for clients (Postfix), IMAPS/POP3S (Dovecot). */
#include "dlopen-augeas.h"
#include "dovecot.h"
#include "plan.h"
#include "postfix.h"
#include "sasl.h"
#include "util.h"

int tls_paths_from(const struct tls_settings *o, struct tls_paths *t)
{
	*t = (struct tls_paths){ 0 };
	if (o->domain) {
		t->cert = strdup_printf("/etc/letsencrypt/live/%s/fullchain.pem", o->domain);
		t->key = strdup_printf("/etc/letsencrypt/live/%s/privkey.pem", o->domain);
	} else if (o->cert) {
		t->cert = strdup(o->cert);
		t->key = strdup(o->key);
	} else {
		return 0;
	}
	return t->cert && t->key ? 0 : -ENOMEM;
}

void tls_paths_free(struct tls_paths *t)
{
	free(t->cert);
	free(t->key);
	*t = (struct tls_paths){ 0 };
}

/* Security levels that already offer (or require) TLS: never lowered to "may". */
static bool tls_level_sufficient(const char *v)
{
	static const char *const ok[] = { "may", "encrypt", "dane", "dane-only", "fingerprint", "verify", "secure" };
	for (size_t i = 0; v && i < ELEMENTSOF(ok); i++)
		if (streq(v, ok[i]))
			return true;
	return false;
}

/* smtpd_tls_chain_files (Postfix >= 3.4), when set, makes smtpd_tls_cert_file and _key_file
 * "legacy parameters" that Postfix ignores: then the chain files are what is in effect. */
static int uses_chain_files(struct conf_set *s, struct conf_file *m, bool *yes)
{
	bool present;
	const char *v;
	int r = conf_get(s, m, "smtpd_tls_chain_files", &present, &v);
	*yes = r == 0 && present && !strempty(v);
	return r;
}

int plan_tls_server(struct conf_set *s, struct conf_file *m, const struct tls_paths *tls)
{
	bool present, chain;
	const char *v;
	int r;

	if ((r = uses_chain_files(s, m, &chain)) < 0)
		return r;
	if (chain) {
		/* The key first, then its certificate chain (postconf(5)). */
		_cleanup_free_ char *files = strdup_printf("%s, %s", tls->key, tls->cert);
		if (!files)
			return -ENOMEM;
		if ((r = main_cf_set(s, m, "smtpd_tls_chain_files", files)) < 0)
			return r;
	} else if ((r = main_cf_set(s, m, "smtpd_tls_cert_file", tls->cert)) < 0 ||
		   (r = main_cf_set(s, m, "smtpd_tls_key_file", tls->key)) < 0) {
		return r;
	}
	/* An existing session cache is the admin's choice (and its table type the system's). */
	if ((r = conf_get(s, m, "smtpd_tls_session_cache_database", &present, &v)) < 0)
		return r;
	if (!present && (r = main_cf_set(s, m, "smtpd_tls_session_cache_database",
				      "btree:${data_directory}/smtpd_scache")) < 0)
		return r;
	/* smtpd_use_tls is obsolete (Postfix 3.9 warns it will go): smtpd_tls_security_level says it. */
	if ((r = conf_remove(s, m, "smtpd_use_tls")) < 0)
		return r;
	if ((r = conf_get(s, m, "smtpd_tls_security_level", &present, &v)) < 0)
		return r;
	if (!present || !tls_level_sufficient(v))
		if ((r = main_cf_set(s, m, "smtpd_tls_security_level", "may")) < 0)
			return r;
	return 0;
}

int plan_tls_stanza(struct conf_set *s, struct conf_file *m, const char *rel, const struct tls_paths *tls)
{
	/* The service's own "-o" certificate overrides win over main.cf's: they get the new files. */
	const char *keys[][2] = { { "smtpd_tls_cert_file", tls->cert }, { "smtpd_tls_key_file", tls->key },
				  { "smtpd_tls_chain_files", NULL } };
	_cleanup_free_ char *chain = strdup_printf("%s,%s", tls->key, tls->cert);
	if (!chain)
		return -ENOMEM;
	keys[2][1] = chain;
	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		_cleanup_free_ char *opt = strdup_printf("%s/%s[count(disabled) = 0]", rel, keys[i][0]);
		bool present;
		const char *v;
		int r;
		if (!opt)
			return -ENOMEM;
		if ((r = conf_get(s, m, opt, &present, &v)) < 0)
			return r;
		if (present && !strempty(v) && (r = conf_set(s, m, opt, keys[i][1])) < 0)
			return r;
	}
	return 0;
}

/* "postfix/NAME" for a service called NAME; "postfix/smtps" for one called by its port or bound to
 * a host ("465", "127.0.0.1:submissions"). */
static char *syslog_name_for(struct conf_set *s, struct conf_file *m, const char *rel)
{
	_cleanup_free_ char *abs = conf_node(m, rel);
	const char *label = NULL;
	if (!abs)
		return NULL;
	if (sym_aug_label(s->aug, abs, &label) != 1 || !label || strpbrk(label, ":[") || strspn(label, "0123456789") == strlen(label))
		label = "smtps";
	return strdup_printf("postfix/%s", label);
}

static int plan_master_cf(struct conf_set *s, struct conf_file *m, const struct tls_paths *tls)
{
	/* Postfix up to 3.6 ships "#smtps", 3.7+ upstream "#submissions"; both mean port 465, as do
	 * "465" and "HOST:465" (master_find). */
	static const char *const names[] = { "submissions", "smtps", NULL };
	static const char *const after[] = { "submission", "smtp", NULL };
	_cleanup_free_ char *rel = NULL, *syslog = NULL;
	int r;

	if ((r = master_find(s, m, names, &rel)) < 0)
		return r;
	if (!rel && (r = master_add(s, m, "smtps", after, &rel)) < 0)
		return r;
	if (!(syslog = syslog_name_for(s, m, rel)))
		return -ENOMEM;
	master_warn_host(s, m, rel, 465);
	const struct master_opt opts[] = {
		{ "syslog_name", syslog, true },
		{ "smtpd_tls_wrappermode", "yes", false },
		{ "smtpd_sasl_auth_enable", "yes", false },
		{ "smtpd_relay_restrictions", "permit_sasl_authenticated,reject", false },
	};
	if ((r = master_enable(s, m, rel, opts, ELEMENTSOF(opts))) < 0)
		return r;
	return plan_tls_stanza(s, m, rel, tls);
}

int plan_smtps(struct conf_set *s, const struct target *o, const struct tls_paths *tls, const struct plan_facts *f)
{
	int r;

	if ((r = plan_tls_server(s, f->main_cf, tls)) < 0 || (r = plan_master_cf(s, f->master_cf, tls)) < 0)
		return r;
	return dovecot_plan_ssl(s, o->dovecot_dir, tls->cert, tls->key, &f->dovecot) ?:
	       plan_sasl_wiring(s, o, f->main_cf, &f->sasl);
}
