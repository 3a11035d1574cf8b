/* SASL wiring between Postfix's SMTP server and Dovecot's auth service. */
#include "sasl.h"

#include "dovecot.h"
#include "postfix.h"
#include "util.h"

/* A value that can go into Dovecot's configuration unquoted: no blanks, quotes, braces or '#'. */
static bool plain_word(const char *s)
{
	return is_config_token(s) && !strpbrk(s, "\"'{}\\$");
}

/* A listener path Dovecot reads unquoted: absolute, of the characters file names usually have. */
static bool safe_path(const char *s)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._+@-";
	return s[0] == '/' && strspn(s, ok) == strlen(s);
}

/* op25b's own drop-in, written whole from checked words (safe_path, plain_word); doveconf judges
 * it after the write. */
static int plan_dropin(struct conf_set *s, const char *path, const char *listener, const char *owner)
{
	char *text = strdup_printf("# Written by op25b (apply); 'op25b revert' removes it.\n"
				   "# Postfix's SMTP server asks Dovecot to check passwords (smtpd_sasl_type = dovecot).\n"
				   "service auth {\n"
				   "  unix_listener %s {\n"
				   "    mode = 0660\n"
				   "    user = %s\n"
				   "    group = %s\n"
				   "  }\n"
				   "}\n", listener, owner, owner);
	return text ? conf_open_whole(s, path, 0644, text) : -ENOMEM;
}

/* The listener inside dovecot.conf's (last) "service auth" block, made when missing. Every node is
 * a recorded edit, so revert takes out exactly what was added. False in *ok when the file cannot
 * be edited. */
static int plan_in_main(struct conf_set *s, const char *path, const char *listener, const char *owner, bool *ok)
{
	struct conf_file *f = conf_find(s, path);
	int r;
	*ok = false;
	if (!f) {
		r = conf_open_try(s, path, DOVECOT_LENS, &f);
		if (r == -EBADMSG)
			return 0;
		if (r < 0)
			return r;
	} else if (!f->lens) {
		return 0;
	}
	bool present;
	const char *v;
	/* A block's argument is its "#name" node (lenses/op25b_dovecot.aug). */
	if ((r = conf_get(s, f, "service[#name = 'auth']", &present, &v)) < 0)
		return r;
	if (!present && (r = conf_set(s, f, "service[#name = 'auth']/#name", "auth")) < 0)
		return r;
	_cleanup_free_ char *l = strdup_printf("service[#name = 'auth'][last()]/unix_listener[#name = '%s']", listener);
	_cleanup_free_ char *ln = l ? strdup_printf("%s/#name", l) : NULL;
	if (!ln)
		return -ENOMEM;
	if ((r = conf_set(s, f, ln, listener)) < 0)
		return r;
	const char *settings[][2] = { { "mode", "0660" }, { "user", owner }, { "group", owner } };
	for (size_t i = 0; i < ELEMENTSOF(settings); i++) {
		_cleanup_free_ char *p = strdup_printf("%s/%s", l, settings[i][0]);
		if (!p)
			return -ENOMEM;
		if ((r = conf_set(s, f, p, settings[i][1])) < 0)
			return r;
	}
	*ok = true;
	return 0;
}

/* The listener plan_in_main() adds to dovecot.conf, claimed node by node where it is there. */
static int claim_in_main(struct conf_set *s, const struct target *o, const struct sasl_facts *f)
{
	_cleanup_free_ char *conf = strdup_printf("%s/dovecot.conf", o->dovecot_dir);
	int r;
	if (!conf)
		return -ENOMEM;
	if (!f->dovecot_conf_regular)
		return 0;
	/* The nodes plan_in_main() sets. */
	_cleanup_free_ char *l = strdup_printf("service[#name = 'auth'][last()]/unix_listener[#name = '%s/" SASL_PATH "']",
					       f->queue_directory);
	_cleanup_free_ char *ln = l ? strdup_printf("%s/#name", l) : NULL;
	if (!ln)
		return -ENOMEM;
	struct conf_file *cf = conf_find(s, conf);
	if (!cf && (r = conf_open_try(s, conf, DOVECOT_LENS, &cf)) < 0)
		return r == -EBADMSG ? 0 : r;
	if (!cf->lens)
		return 0;
	bool present;
	const char *v;
	if ((r = conf_get(s, cf, l, &present, &v)) < 0 || !present)
		return r;
	static const char *const nodes[] = { "mode", "user", "group" };
	if ((r = conf_claim(s, cf, "service[#name = 'auth']/#name")) < 0 || (r = conf_claim(s, cf, ln)) < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(nodes); i++) {
		_cleanup_free_ char *p = strdup_printf("%s/%s", l, nodes[i]);
		if (!p)
			return -ENOMEM;
		if ((r = conf_claim(s, cf, p)) < 0)
			return r;
	}
	return 0;
}

/* This mode needs the wiring main.cf names, also when another op25b mode made it: claimed (the
 * two main.cf settings and op25b's drop-in, or the listener in dovecot.conf), so that reverting
 * the other mode leaves it in place. */
static int claim_wiring(struct conf_set *s, const struct target *o, struct conf_file *main_cf,
			const struct sasl_facts *f)
{
	int r;
	if ((r = conf_claim(s, main_cf, "smtpd_sasl_type")) < 0 || (r = conf_claim(s, main_cf, "smtpd_sasl_path")) < 0)
		return r;
	_cleanup_free_ char *dropin = strdup_printf("%s/" SASL_DROPIN, o->dovecot_dir);
	if (!dropin)
		return -ENOMEM;
	if (!f->dropin_regular)
		return claim_in_main(s, o, f);
	if (conf_find(s, dropin))
		return 0;
	struct conf_file *d;
	if ((r = conf_open_raw(s, dropin, 0644, &d)) < 0)
		return r;
	d->secret = false;
	d->claimed = d->existed;
	return 0;
}

static int names_server(struct conf_set *s, struct conf_file *main_cf, bool say, bool *names, bool *ours)
{
	bool has_type, has_path;
	const char *type, *spath;
	int r;

	if ((r = conf_get(s, main_cf, "smtpd_sasl_type", &has_type, &type)) < 0 ||
	    (r = conf_get(s, main_cf, "smtpd_sasl_path", &has_path, &spath)) < 0)
		return r;
	*names = has_type || has_path;
	*ours = has_path && spath && streq(spath, SASL_PATH);
	if (*names && say)
		log_debug("main.cf sets smtpd_sasl_type = %s, smtpd_sasl_path = %s: SASL wiring left as it is",
			  has_type && type ? type : "(default)", has_path && spath ? spath : "(default)");
	return 0;
}

int sasl_names_server(struct conf_set *s, struct conf_file *main_cf, bool *names, bool *ours)
{
	return names_server(s, main_cf, false, names, ours);
}

int plan_sasl_wiring(struct conf_set *s, const struct target *o, struct conf_file *main_cf, const struct sasl_facts *f)
{
	bool names, ours;
	int r;

	if ((r = names_server(s, main_cf, true, &names, &ours)) < 0)
		return r;
	if (names)
		return ours ? claim_wiring(s, o, main_cf, f) : 0;

	_cleanup_free_ char *conf = strdup_printf("%s/dovecot.conf", o->dovecot_dir);
	_cleanup_free_ char *host = conf ? path_under_root(s->root, conf) : NULL;
	if (!host)
		return -ENOMEM;
	if (f->dovecot_conf == -ENOENT) {
		log_warn("AUTH on 465/587 will not work: main.cf names no SASL server (smtpd_sasl_type) and "
			 "Dovecot is not installed (no %s); install Dovecot, or set up Cyrus SASL for smtpd", host);
		return 0;
	}
	const char *queue = f->queue_directory, *owner = f->mail_owner;
	/* Only plain words go into Dovecot's configuration. */
	if (!safe_path(queue) || !plain_word(owner)) {
		log_warn("AUTH on 465/587 will not work: op25b does not write queue_directory = %s, mail_owner = %s "
			 "into Dovecot's configuration; add Dovecot's auth listener for Postfix by hand and set "
			 "smtpd_sasl_type = dovecot, smtpd_sasl_path = " SASL_PATH " in main.cf", queue, owner);
		return 0;
	}
	_cleanup_free_ char *listener = strdup_printf("%s/" SASL_PATH, queue);
	if (!listener)
		return -ENOMEM;

	if (f->listener_found) {
		log_debug("Dovecot already has a listener at %s", listener);
	} else if (f->includes_confd && f->confd_dir) {
		_cleanup_free_ char *dropin = strdup_printf("%s/" SASL_DROPIN, o->dovecot_dir);
		if (!dropin)
			return -ENOMEM;
		if ((r = plan_dropin(s, dropin, listener, owner)) < 0)
			return r;
	} else {
		bool ok;
		if ((r = plan_in_main(s, conf, listener, owner, &ok)) < 0)
			return r;
		if (!ok) {
			log_warn("AUTH on 465/587 will not work: %s neither includes conf.d/*.conf nor can op25b "
				 "add the listener to it (Dovecot 2.4 block syntax?); add \"service auth { unix_listener %s { mode = "
				 "0660 user = %s group = %s } }\" and set smtpd_sasl_type = dovecot, smtpd_sasl_path = "
				 SASL_PATH " in main.cf", host, listener, owner, owner);
			return 0;
		}
	}
	if ((r = main_cf_set(s, main_cf, "smtpd_sasl_type", "dovecot")) < 0)
		return r;
	return main_cf_set(s, main_cf, "smtpd_sasl_path", SASL_PATH);
}
