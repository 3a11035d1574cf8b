/* Validation with postconf and doveconf. */
#include "validate.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "spawn.h"
#include "scratch.h"
#include "util.h"

static const struct conf_file *find_in(const struct conf_set *s, const char *dir, const char *name)
{
	for (size_t i = 0; i < s->n; i++) {
		const char *p = s->files[i]->path;
		size_t n = strlen(dir);
		if (strncmp(p, dir, n) == 0 && p[n] == '/' && streq(p + n + 1, name))
			return s->files[i];
	}
	return NULL;
}

static int put(const char *dir, const char *name, const char *data, size_t len)
{
	_cleanup_free_ char *p = strdup_printf("%s/%s", dir, name);
	if (!p)
		return -ENOMEM;
	_cleanup_close_ int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return log_err(-errno, "%s: %m", p);
	int r = write_all(fd, data, len);
	if (r < 0)
		return r;
	struct timespec ts[2] = { { .tv_sec = time(NULL) - 60 }, { .tv_sec = time(NULL) - 60 } };
	return futimens(fd, ts) < 0 ? -errno : 0;
}

/* postconf's warnings for DIR, with the directory and line numbers taken out so that the ones of the
 * old and the new files can be compared. One run does it: in its parameter mode postconf always
 * parses master.cf too and reports unused and undefined parameters of both files (what -M would
 * add is only the listing). Asking for one parameter keeps the output to the complaints, which
 * are the lines of postconf's own ("postconf: warning: ..."), never a value that happens to
 * contain "error" (master.cf has a service of that name). */
static int postconf_warnings(const char *dir, char **out, int *status, bool *cut)
{
	_cleanup_free_ char *n = NULL;
	char *argn[] = { "postconf", "-c", (char *)dir, "-n", "config_directory", NULL };
	int rn = spawn_run(argn, NULL, 0, &n);
	if (rn < 0)
		return rn;
	if (!n)
		return -ENOMEM;
	/* spawn_run() keeps the first 64 KiB: past that the complaints are cut, in an order of
	 * postconf's own that an added parameter changes, so the two runs cannot be compared. */
	*status = rn;
	*cut = strlen(n) >= 64 * 1024;
	size_t cap = strlen(n) + 64, len = 0;
	char *res = calloc(1, cap);
	if (!res)
		return -ENOMEM;
	for (const char *l = n; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] == '\n')) {
		size_t ll = strcspn(l, "\n");
		if (ll < 10 || memcmp(l, "postconf: ", 10) != 0)
			continue; /* output, not a complaint */
		/* A parameter set twice: Postfix takes the last one, and so does op25b (main_cf_set
		 * gives every copy the new value). Also the config_directory line fill() adds. */
		if (memmem(l, ll, ": overriding earlier entry: ", 28))
			continue;
		len += (size_t)snprintf(res + len, cap - len, "%.*s\n", (int)(ll - 10), l + 10);
	}
	if (rn != 0 && len == 0)
		len += (size_t)snprintf(res + len, cap - len, "postconf exited %d\n", rn);
	/* Normalise: "DIR/main.cf, line 12: " -> "main.cf: " */
	for (char *p; (p = strstr(res, dir));)
		memmove(p, p + strlen(dir) + 1, strlen(p + strlen(dir) + 1) + 1);
	for (char *p = res; (p = strstr(p, ", line "));) {
		char *e = p + 7;
		while (*e >= '0' && *e <= '9')
			e++;
		memmove(p, e, strlen(e) + 1);
	}
	*out = res;
	return 0;
}

/* The copies in DIR. main.cf's copy ends with "config_directory = DIR": a main.cf that names its
 * own directory (config_directory = /etc/postfix, which Postfix accepts) would otherwise make
 * postconf read the live master.cf instead of the copy. */
static int fill(const char *dir, const struct conf_file *main_cf, const struct conf_file *master_cf, bool new)
{
	int r = 0;
	const struct conf_file *fs[] = { main_cf, master_cf };
	const char *names[] = { "main.cf", "master.cf" };
	for (int i = 0; i < 2 && r == 0; i++) {
		const struct conf_file *f = fs[i];
		if (!f)
			continue;
		bool use_new = new && f->new;
		const char *data = use_new ? f->new : f->old;
		size_t len = use_new ? f->new_len : f->old_len;
		if (i == 0) {
			_cleanup_free_ char *text = strdup_printf("%.*s%sconfig_directory = %s\n", (int)len, data,
								  len && data[len - 1] != '\n' ? "\n" : "", dir);
			if (!text)
				return -ENOMEM;
			r = put(dir, names[i], text, strlen(text));
		} else {
			r = put(dir, names[i], data, len);
		}
	}
	return r;
}

int validate_postfix(const struct conf_set *s, const char *postfix_dir)
{
	const struct conf_file *main_cf = find_in(s, postfix_dir, "main.cf"), *master_cf = find_in(s, postfix_dir, "master.cf");
	if (!(main_cf && main_cf->new) && !(master_cf && master_cf->new))
		return 0;
	char dir[SCRATCH_MAX];
	int r = scratch_make("postconf", dir);
	if (r < 0)
		return r;
	_cleanup_free_ char *after = NULL, *before = NULL;
	int st_after = 0, st_before = 0;
	bool cut_after = false, cut_before = false;
	r = fill(dir, main_cf, master_cf, true);
	if (r == 0)
		r = postconf_warnings(dir, &after, &st_after, &cut_after);
	if (r == -ENOENT) {
		/* An image build on a host without Postfix: nothing to judge with. */
		log_info("postconf is not installed here: the new Postfix files were not validated");
		r = 0;
		after = strdup("");
		if (!after)
			r = -ENOMEM;
	}
	if (r == 0 && *after) {
		/* Only complaints the current files do not already cause count. */
		if ((r = fill(dir, main_cf, master_cf, false)) == 0)
			r = postconf_warnings(dir, &before, &st_before, &cut_before);
	}
	scratch_remove(dir);
	if (r < 0)
		return r;
	if (cut_after || cut_before) {
		/* Thousands of complaints (a main.cf full of parameters Postfix does not know): only a
		 * fatal error, which makes postconf fail, can still be told from the ones already there. */
		if (st_after != 0 && st_before == 0) {
			const char *fatal = strstr(after, "fatal: ");
			log_err(0, "%s: postconf: %.*s", postfix_dir, first_line_len(fatal ? fatal : after), fatal ? fatal : after);
			return log_err(-EBADMSG, "%s: Postfix would reject the new configuration; nothing was changed", postfix_dir);
		}
		log_warn("%s: postconf complains about more than op25b can compare (64 KiB); only its fatal errors "
			 "were checked", postfix_dir);
		return 0;
	}
	int bad = 0;
	for (const char *l = after; *l; l += strcspn(l, "\n") + 1) {
		size_t ll = strcspn(l, "\n");
		_cleanup_free_ char *line = strndup(l, ll);
		if (!line)
			return -ENOMEM;
		if (before && strstr(before, line))
			continue;
		log_err(0, "%s: postconf: %s", postfix_dir, line);
		bad++;
		if (!l[ll])
			break;
	}
	if (bad)
		return log_err(-EBADMSG, "%s: Postfix would reject the new configuration; nothing was changed", postfix_dir);
	log_debug("postconf accepts the new %s files", postfix_dir);
	return 0;
}

/* "2.3.19.1 (9b53102964)" -> 2, 3 */
static bool dovecot_speaks_24(void)
{
	_cleanup_free_ char *out = NULL;
	char *argv[] = { "dovecot", "--version", NULL };
	int maj = 0, min = 0;
	if (spawn_run(argv, NULL, 0, &out) != 0 || sscanf(out, "%d.%d", &maj, &min) != 2)
		return false;
	return maj > 2 || (maj == 2 && min >= 4);
}

int validate_dovecot(const struct conf_set *s, const char *dovecot_dir)
{
	bool changed = false, v24 = false;
	size_t n = strlen(dovecot_dir);
	for (size_t i = 0; i < s->n; i++) {
		const struct conf_file *f = s->files[i];
		if (strncmp(f->path, dovecot_dir, n) != 0 || f->path[n] != '/' || !f->new)
			continue;
		changed = true;
		v24 |= memmem(f->new, f->new_len, "ssl_server_", 11) != NULL;
	}
	if (!changed || !streq(s->root, "/"))
		return 0;
	if (v24 != dovecot_speaks_24()) {
		log_debug("doveconf not run: the installed Dovecot does not speak this configuration's version");
		return 0;
	}
	_cleanup_free_ char *conf = strdup_printf("%s/dovecot.conf", dovecot_dir), *out = NULL;
	if (!conf)
		return -ENOMEM;
	char *argv[] = { "doveconf", "-c", conf, "-n", NULL };
	int r = spawn_run(argv, NULL, 0, &out);
	if (r == -ENOENT)
		return 0;
	if (r != 0) {
		int len = first_line_len(out);
		return log_err(-EBADMSG, "%s: doveconf rejects the new configuration: %.*s", conf, len, out ? out : "");
	}
	return 0;
}
