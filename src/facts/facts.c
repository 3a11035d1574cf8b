/* Facts, gathered once before planning (see facts.h). */
#include "facts.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dovecot-facts.h"
#include "mechlist.h"
#include "plan.h"
#include "postfix-read.h"
#include "postmap.h"
#include "relay-check.h"
#include "relay-map.h"
#include "rootfs.h"
#include "sasl-facts.h"
#include "util.h"

/* Postfix's smtp_sasl_mechanism_filter ("plain, login") from LIST: --mechanisms as the request
 * checked it (src/cli/option-check.c), or the names the relay offered (src/net/smtp_reply.c keeps
 * only SASL names). */
static int mech_filter(const char *list, char **out)
{
	char *res = calloc(1, 2 * strlen(list) + 2), *w = res;
	const char *p = list, *name;
	size_t n;
	if (!res)
		return -ENOMEM;
	while ((n = mech_list_next(&p, &name)) > 0) {
		for (size_t i = 0; i < n; i++)
			*w++ = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
		*w++ = ',';
		*w++ = ' ';
	}
	if (w == res) {
		free(res);
		return log_err(-EINVAL, "no SASL mechanism to ask Postfix for");
	}
	w[-2] = '\0';
	*out = res;
	return 0;
}

/* Without the Cyrus SASL client plugins Postfix defers mail with "no mechanism available". */
static void warn_missing_plugins(const char *root, const char *mechs)
{
	static const char *const dirs[] = { "/usr/lib/x86_64-linux-gnu/sasl2", "/usr/lib/aarch64-linux-gnu/sasl2",
					    "/usr/lib64/sasl2", "/usr/lib/sasl2" };
	static const char *const map[][2] = { { "plain", "libplain.so" }, { "login", "liblogin.so" },
					      { "cram-md5", "libcrammd5.so" }, { "digest-md5", "libdigestmd5.so" },
					      { "scram-sha-1", "libscram.so" }, { "scram-sha-256", "libscram.so" },
					      { "ntlm", "libntlm.so" }, { "gssapi", "libgssapiv2.so" } };
	for (size_t i = 0; i < ELEMENTSOF(map); i++) {
		if (!strstr(mechs, map[i][0]))
			continue;
		for (size_t d = 0; d < ELEMENTSOF(dirs); d++) {
			_cleanup_free_ char *p = strdup_printf("%s/%s", dirs[d], map[i][1]);
			struct stat st;
			if (p && root_stat(root, p, false, &st) == 0)
				return; /* one usable mechanism is enough */
		}
	}
	log_warn("no Cyrus SASL client plugin for %s is installed: Postfix would defer relayed mail with "
		 "\"no mechanism available\" (Debian: apt-get install libsasl2-modules)", mechs);
}

/* The table type this Postfix uses (hash, lmdb, ...): a hard-coded "hash:" leaves mail stuck with
 * "unsupported dictionary type" where the default is another. */
static int table_type(struct conf_set *s, const char *postfix_dir, struct conf_file *main_cf, char **out)
{
	int r = postfix_param(s, postfix_dir, main_cf, "default_database_type", out);
	if (r < 0)
		return r;
	if (!is_config_token(*out))
		return log_err(-EIO, "postconf: odd default_database_type '%s'", *out);
	return 0;
}

/* The map PATH (MAP: its stat as read) and its compiled table under ROOT are root:root 0600. */
static bool closed(const char *root, const char *path, const struct stat *map, const char *type)
{
	struct stat st;
	if (map->st_uid != 0 || map->st_gid != 0 || (map->st_mode & 07777) != 0600)
		return false;
	for (const char *const *sfx = postmap_suffixes(type); *sfx; sfx++) {
		_cleanup_free_ char *db = strdup_printf("%s%s", path, *sfx);
		if (!db || (root_stat(root, db, true, &st) == 0 && (st.st_uid != 0 || st.st_gid != 0 || (st.st_mode & 077))))
			return false;
	}
	return true;
}

int facts_secret(const struct target *t, const struct relay_settings *o, struct plan_facts *f)
{
	if (f->relay.password.data)
		return 0;
	return o->password_file ? secret_from_file(t->root, o->password_file, &f->relay.password)
				: secret_from_stdin("--relay-password-stdin", "ISP relay password (not shown): ",
						    &f->relay.password);
}

/* The compiled map (PATH.db) is never written through a symlink to nothing (as conf_read refuses
 * for the map itself), and the secret's directory belongs to the user running op25b and is not
 * writable by group or others: another user could swap the map or its .db between op25b's write
 * and postmap's or Postfix's read. */
static int map_dir_safe(const char *root, const char *path, const char *type)
{
	for (const char *const *sfx = postmap_suffixes(type); *sfx; sfx++) {
		_cleanup_free_ char *db = strdup_printf("%s%s", path, *sfx), *host = NULL;
		struct stat st;
		if (!db)
			return -ENOMEM;
		if (root_stat(root, db, true, &st) == 0 && S_ISLNK(st.st_mode) && root_stat(root, db, false, &st) == -ENOENT)
			return log_err(-EINVAL, "%s: %s", (host = path_under_root(root, db)) ? host : db,
				       root_strerror(root, db, -ENOENT));
	}
	_cleanup_free_ char *name = NULL, *host = NULL;
	_cleanup_close_ int dfd = root_open_parent(root, path, true, 0, &name);
	struct stat st;
	if (dfd < 0 || fstat(dfd, &st) < 0)
		return 0; /* not there yet: op25b makes it (0750), or the write reports why not */
	if (st.st_uid == geteuid() && !(st.st_mode & (S_IWGRP | S_IWOTH)))
		return 0;
	return log_err(-EINVAL, "%s: the password map's directory is %s: another user could replace the map; "
				"use a directory owned by %s and not writable by others (--password-map)",
		       (host = path_under_root(root, path)) ? host : path,
		       st.st_uid != geteuid() ? "owned by another user" : "writable by group or others",
		       geteuid() == 0 ? "root" : "you");
}

/* The map, parsed raw (never through Augeas: it holds the password), first in S: it is written
 * and compiled before main.cf points at it. */
static int open_map(struct conf_set *s, const struct target *t, const struct relay_settings *o, struct relay_facts *rf)
{
	int r;
	if (!(rf->map_path = relay_map_path(t, o)))
		return -ENOMEM;
	if ((r = conf_open_raw(s, rf->map_path, 0600, &rf->map)) < 0 ||
	    (r = map_dir_safe(s->root, rf->map_path, rf->table_type)) < 0)
		return r;
	memmove(&s->files[1], &s->files[0], (s->n - 1) * sizeof(*s->files));
	s->files[0] = rf->map;
	rf->map_closed = closed(s->root, rf->map_path, &rf->map->st, rf->table_type);
	return 0;
}

/* Submission's facts, in the order the checks have always been made (the first failure is the
 * one reported). */
static int relay_gather(struct conf_set *s, const struct target *t, const struct relay_settings *o, struct plan_facts *f)
{
	struct relay_facts *rf = &f->relay;
	const char *why;
	int r;

	/* The request is checked (src/cli/request.c): the relay parses, the login and the password's
	 * source are there. */
	if (relay_key(o->host, &rf->hp, rf->key, &why) < 0)
		return log_err(-EINVAL, "--relayhost=%s: %s", o->host, why ? why : "too long");
	bool given = o->mechanisms && !streq(o->mechanisms, "auto");
	if (given && (r = mech_filter(o->mechanisms, &rf->mechanisms)) < 0)
		return r;
	if ((r = facts_secret(t, o, f)) < 0)
		return r;
	if ((r = postfix_open(s, t->postfix_dir, &f->main_cf, &f->master_cf)) < 0)
		return r;
	if ((r = relay_tls_check(s, f->main_cf, t, o, &rf->hp, !given, &rf->tls)) < 0)
		return r;
	if (!given && (r = mech_filter(rf->tls.offered, &rf->mechanisms)) < 0)
		return r;
	warn_missing_plugins(t->root, rf->mechanisms);
	if ((r = table_type(s, t->postfix_dir, f->main_cf, &rf->table_type)) < 0)
		return r;
	return open_map(s, t, o, rf);
}

/* --domain: certbot's hook directory, the hook parsed raw (first in S: where it has always been),
 * and the binary that runs now. */
static int hook_gather(struct conf_set *s, const struct target *t, struct hook_facts *f)
{
	/* certbot makes the directory when it is installed; without certbot there is nothing to hook. */
	_cleanup_close_ int dfd = root_open(t->root, CERTBOT_HOOK_DIR, O_RDONLY | O_DIRECTORY, 0);
	if (dfd < 0) {
		log_info("%s: not found (certbot not installed?): after a renewal run 'op25b reload-certs' "
			 "(op25b(8) shows acme.sh and systemd set-ups)", CERTBOT_HOOK_DIR);
		return 0;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return log_err(-errno, "/proc/self/exe: %m");
	exe[n] = '\0';
	if (!(f->exe = strdup(exe)))
		return -ENOMEM;
	return conf_open_raw(s, CERTBOT_HOOK, 0755, &f->file);
}

int facts_gather(struct conf_set *s, const struct target *t, unsigned modes, const struct relay_settings *o,
		 bool hook, struct plan_facts *f)
{
	/* dovecot.conf is read once, by the first that needs it. */
	_cleanup_(dovecot_conf_done) struct dovecot_conf dc = { 0 };
	int r;
	/* Postfix's compiled defaults: that postconf runs while the files are parsed. */
	postfix_defaults_prefetch(s);
	if (hook && (r = hook_gather(s, t, &f->hook)) < 0)
		return r;
	if (modes == MODE_SUBMISSION)
		r = relay_gather(s, t, o, f);
	else
		r = postfix_open(s, t->postfix_dir, &f->main_cf, &f->master_cf) ?:
		    dovecot_ssl_facts_gather(s, t, &dc, &f->dovecot);
	if (r < 0)
		return r;
	return sasl_facts_gather(s, t, f->main_cf, &dc, &f->sasl);
}

void facts_offline(const struct target *t, struct offline *ret)
{
	offline_detect(t->root, t->root_given, ret);
}

void facts_done(struct plan_facts *f)
{
	struct relay_facts *rf = &f->relay;
	secret_wipe(&rf->password);
	relay_tls_done(&rf->tls);
	free(rf->mechanisms);
	free(rf->table_type);
	free(rf->map_path);
	free(f->hook.exe);
	free(f->dovecot.ssl_override);
	sasl_facts_done(&f->sasl);
	*f = (struct plan_facts){ 0 };
}
