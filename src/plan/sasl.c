/* SASL wiring between Postfix's SMTP server and Dovecot's auth service. */
#include "sasl.h"

#include <dirent.h>
#include <fnmatch.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "dovecot.h"
#include "postfix.h"
#include "rootfs.h"
#include "util.h"

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

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

/* An active line (not a comment) of TEXT that names PATH as a whole word: some listener is already
 * there (any spelling of the block: "unix_listener PATH {" or a path setting). */
static bool names_path(const char *text, const char *path)
{
	size_t n = strlen(path);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		while (*l == ' ' || *l == '\t')
			l++;
		size_t len = strcspn(l, "\n");
		const char *hash = memchr(l, '#', len);
		if (hash)
			len = (size_t)(hash - l);
		for (const char *p = l; (p = memmem(p, len - (size_t)(p - l), path, n)); p++) {
			char before = p > l ? p[-1] : ' ', after = p + n < l + len ? p[n] : ' ';
			if (strchr(" \t\"=", before) && strchr(" \t\"{\r", after))
				return true;
			if ((size_t)(p + 1 - l) >= len)
				break;
		}
	}
	return false;
}

/* An active "!include" (or !include_try) of every conf.d file in dovecot.conf. */
static bool includes_confd(const char *text)
{
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		while (*l == ' ' || *l == '\t')
			l++;
		size_t n = strcspn(l, "\n");
		if (strncmp(l, "!include", 8) == 0 && memmem(l, n, "conf.d/*.conf", 13))
			return true;
	}
	return false;
}

/* Does a file that FILE (TEXT, on the target system) includes, directly or through other includes,
 * name PATH? Dovecot reads "!include PATTERN" and "!include_try PATTERN" anywhere (inside blocks
 * too), relative to the including file's directory, a '*' or '?' in the file name part. Bounded:
 * DEPTH levels, *BUDGET files in all. */
static int included_names_path(const char *root, const char *file, const char *text, const char *path, int depth,
			       int *budget, bool *found)
{
	for (const char *l = text; l && *l && !*found; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		while (*l == ' ' || *l == '\t')
			l++;
		if (strncmp(l, "!include", 8) != 0)
			continue;
		const char *p = l + 8 + (strncmp(l + 8, "_try", 4) == 0 ? 4 : 0);
		if (*p != ' ' && *p != '\t')
			continue;
		p += strspn(p, " \t");
		_cleanup_free_ char *pat = strndup(p, strcspn(p, " \t\r\n\"#"));
		if (!pat)
			return -ENOMEM;
		const char *slash = strrchr(file, '/');
		_cleanup_free_ char *full = pat[0] == '/' ? strdup(pat) : strdup_printf("%.*s/%s", (int)(slash ? slash - file : 0), file, pat);
		if (!full)
			return -ENOMEM;
		char *base = strrchr(full, '/');
		const char *wild = strpbrk(full, "*?[");
		if (!base || base == full || (wild && wild < base))
			continue; /* a pattern in a directory name: not expanded here */
		*base++ = '\0';
		int dfd = root_open(root, full, O_RDONLY | O_DIRECTORY, 0);
		_cleanup_(closedirp) DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
		if (!d) {
			if (dfd >= 0)
				close(dfd);
			continue;
		}
		for (struct dirent *e; !*found && *budget > 0 && (e = readdir(d));) {
			if (e->d_name[0] == '.' || fnmatch(base, e->d_name, FNM_PERIOD) != 0)
				continue;
			_cleanup_free_ char *child = strdup_printf("%s/%s", full, e->d_name), *data = NULL;
			size_t len;
			if (!child)
				return -ENOMEM;
			(*budget)--;
			/* Beneath the root, and never blocking: a FIFO among them is skipped. */
			if (root_read_file(root, child, false, &data, &len, NULL) != 0)
				continue;
			*found = names_path(data, path);
			int r = depth > 1 ? included_names_path(root, child, data, path, depth - 1, budget, found) : 0;
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Is a listener at PATH already configured in dovecot.conf (TEXT) or a file it includes? */
static int listener_present(const char *root, const char *dovecot_dir, const char *text, const char *path,
			    bool *found)
{
	_cleanup_free_ char *conf = strdup_printf("%s/dovecot.conf", dovecot_dir);
	int budget = 256;
	if (!conf)
		return -ENOMEM;
	*found = names_path(text, path);
	return *found ? 0 : included_names_path(root, conf, text, path, 4, &budget, found);
}

static bool dir_exists(const char *root, const char *path)
{
	struct stat st;
	return root_stat(root, path, false, &st) == 0 && S_ISDIR(st.st_mode);
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
static int claim_in_main(struct conf_set *s, const struct target *o, struct conf_file *main_cf)
{
	_cleanup_free_ char *conf = strdup_printf("%s/dovecot.conf", o->dovecot_dir), *queue = NULL;
	struct stat st;
	int r;
	if (!conf)
		return -ENOMEM;
	if (root_stat(s->root, conf, false, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if ((r = postfix_param(s, o->postfix_dir, main_cf, "queue_directory", &queue)) < 0)
		return r;
	/* The nodes plan_in_main() sets. */
	_cleanup_free_ char *l = strdup_printf("service[#name = 'auth'][last()]/unix_listener[#name = '%s/" SASL_PATH "']", queue);
	_cleanup_free_ char *ln = l ? strdup_printf("%s/#name", l) : NULL;
	if (!ln)
		return -ENOMEM;
	struct conf_file *f = conf_find(s, conf);
	if (!f && (r = conf_open_try(s, conf, DOVECOT_LENS, &f)) < 0)
		return r == -EBADMSG ? 0 : r;
	if (!f->lens)
		return 0;
	bool present;
	const char *v;
	if ((r = conf_get(s, f, l, &present, &v)) < 0 || !present)
		return r;
	static const char *const nodes[] = { "mode", "user", "group" };
	if ((r = conf_claim(s, f, "service[#name = 'auth']/#name")) < 0 || (r = conf_claim(s, f, ln)) < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(nodes); i++) {
		_cleanup_free_ char *p = strdup_printf("%s/%s", l, nodes[i]);
		if (!p)
			return -ENOMEM;
		if ((r = conf_claim(s, f, p)) < 0)
			return r;
	}
	return 0;
}

/* This mode needs the wiring main.cf names, also when another op25b mode made it: claimed (the
 * two main.cf settings and op25b's drop-in, or the listener in dovecot.conf), so that reverting
 * the other mode leaves it in place. */
static int claim_wiring(struct conf_set *s, const struct target *o, struct conf_file *main_cf)
{
	int r;
	if ((r = conf_claim(s, main_cf, "smtpd_sasl_type")) < 0 || (r = conf_claim(s, main_cf, "smtpd_sasl_path")) < 0)
		return r;
	_cleanup_free_ char *dropin = strdup_printf("%s/" SASL_DROPIN, o->dovecot_dir);
	struct stat st;
	if (!dropin)
		return -ENOMEM;
	if (root_stat(s->root, dropin, true, &st) < 0 || !S_ISREG(st.st_mode))
		return claim_in_main(s, o, main_cf);
	if (conf_find(s, dropin))
		return 0;
	struct conf_file *f;
	if ((r = conf_open_raw(s, dropin, 0644, &f)) < 0)
		return r;
	f->secret = false;
	f->claimed = f->existed;
	return 0;
}

int plan_sasl_wiring(struct conf_set *s, const struct target *o, struct conf_file *main_cf)
{
	bool has_type, has_path;
	const char *type, *spath;
	int r;

	if ((r = conf_get(s, main_cf, "smtpd_sasl_type", &has_type, &type)) < 0 ||
	    (r = conf_get(s, main_cf, "smtpd_sasl_path", &has_path, &spath)) < 0)
		return r;
	if (has_type || has_path) {
		log_debug("main.cf sets smtpd_sasl_type = %s, smtpd_sasl_path = %s: SASL wiring left as it is",
			  has_type && type ? type : "(default)", has_path && spath ? spath : "(default)");
		return has_path && spath && streq(spath, SASL_PATH) ? claim_wiring(s, o, main_cf) : 0;
	}

	_cleanup_free_ char *conf = strdup_printf("%s/dovecot.conf", o->dovecot_dir);
	_cleanup_free_ char *host = conf ? path_under_root(s->root, conf) : NULL, *text = NULL;
	size_t len;
	if (!host)
		return -ENOMEM;
	r = root_read_file(s->root, conf, false, &text, &len, NULL);
	if (r == -ENOENT) {
		log_warn("AUTH on 465/587 will not work: main.cf names no SASL server (smtpd_sasl_type) and "
			 "Dovecot is not installed (no %s); install Dovecot, or set up Cyrus SASL for smtpd", host);
		return 0;
	}
	if (r < 0)
		return log_err(r, "%s: %s", host, root_strerror(s->root, conf, r));

	_cleanup_free_ char *queue = NULL, *owner = NULL, *listener = NULL;
	_cleanup_free_ char *confd = strdup_printf("%s/conf.d", o->dovecot_dir);
	if (!confd)
		return -ENOMEM;
	if ((r = postfix_param(s, o->postfix_dir, main_cf, "queue_directory", &queue)) < 0 ||
	    (r = postfix_param(s, o->postfix_dir, main_cf, "mail_owner", &owner)) < 0)
		return r;
	/* Only plain words go into Dovecot's configuration. */
	if (!safe_path(queue) || !plain_word(owner)) {
		log_warn("AUTH on 465/587 will not work: op25b does not write queue_directory = %s, mail_owner = %s "
			 "into Dovecot's configuration; add Dovecot's auth listener for Postfix by hand and set "
			 "smtpd_sasl_type = dovecot, smtpd_sasl_path = " SASL_PATH " in main.cf", queue, owner);
		return 0;
	}
	if (!(listener = strdup_printf("%s/" SASL_PATH, queue)))
		return -ENOMEM;

	bool found;
	if ((r = listener_present(s->root, o->dovecot_dir, text, listener, &found)) < 0)
		return r;
	if (found) {
		log_debug("Dovecot already has a listener at %s", listener);
	} else if (includes_confd(text) && dir_exists(s->root, confd)) {
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
