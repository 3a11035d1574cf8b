/* What Dovecot's configuration has, for the SASL wiring (src/plan/sasl.c): read before planning. */
#include "sasl-facts.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>

#include "dovecot-facts.h"
#include "postfix-read.h"
#include "rootfs.h"
#include "sasl.h"
#include "util.h"

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
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

/* main.cf names op25b's listener: is the drop-in there, else dovecot.conf and the queue directory
 * the listener in it would be under (claim_wiring() of src/plan/sasl.c). */
static int claim_facts(struct conf_set *s, const struct target *o, struct conf_file *main_cf, struct sasl_facts *f)
{
	_cleanup_free_ char *dropin = strdup_printf("%s/" SASL_DROPIN, o->dovecot_dir);
	_cleanup_free_ char *conf = strdup_printf("%s/dovecot.conf", o->dovecot_dir);
	struct stat st;
	if (!dropin || !conf)
		return -ENOMEM;
	f->dropin_regular = root_stat(s->root, dropin, true, &st) == 0 && S_ISREG(st.st_mode);
	if (f->dropin_regular)
		return 0;
	f->dovecot_conf_regular = root_stat(s->root, conf, false, &st) == 0 && S_ISREG(st.st_mode);
	if (!f->dovecot_conf_regular)
		return 0;
	return postfix_param(s, o->postfix_dir, main_cf, "queue_directory", &f->queue_directory);
}

int sasl_facts_gather(struct conf_set *s, const struct target *o, struct conf_file *main_cf, struct dovecot_conf *dc,
		      struct sasl_facts *f)
{
	bool names, ours;
	int r;
	if ((r = sasl_names_server(s, main_cf, &names, &ours)) < 0)
		return r;
	if (names)
		return ours ? claim_facts(s, o, main_cf, f) : 0;

	_cleanup_free_ char *confd = strdup_printf("%s/conf.d", o->dovecot_dir), *listener = NULL;
	if (!confd)
		return -ENOMEM;
	if ((r = dovecot_conf_read(s, o, dc)) < 0)
		return r;
	if ((f->dovecot_conf = dc->r) < 0)
		return 0;
	const char *text = dc->text;
	if ((r = postfix_param(s, o->postfix_dir, main_cf, "queue_directory", &f->queue_directory)) < 0 ||
	    (r = postfix_param(s, o->postfix_dir, main_cf, "mail_owner", &f->mail_owner)) < 0)
		return r;
	if (!(listener = strdup_printf("%s/" SASL_PATH, f->queue_directory)))
		return -ENOMEM;
	if ((r = listener_present(s->root, o->dovecot_dir, text, listener, &f->listener_found)) < 0)
		return r;
	f->includes_confd = includes_confd(text);
	f->confd_dir = dir_exists(s->root, confd);
	return 0;
}

void sasl_facts_done(struct sasl_facts *f)
{
	free(f->queue_directory);
	free(f->mail_owner);
	*f = (struct sasl_facts){ 0 };
}
