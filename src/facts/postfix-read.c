/* Postfix's configuration as read (see postfix-read.h). */
#include "postfix-read.h"

#include <assert.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "rootfs.h"
#include "spawn.h"
#include "postfix.h"
#include "util.h"

int postfix_open(struct conf_set *s, const char *postfix_dir, struct conf_file **main_cf, struct conf_file **master_cf)
{
	_cleanup_free_ char *host = path_under_root(s->root, postfix_dir);
	_cleanup_free_ char *mainp = strdup_printf("%s/main.cf", postfix_dir);
	_cleanup_free_ char *masterp = strdup_printf("%s/master.cf", postfix_dir);
	struct stat st;
	int r;
	if (!host || !mainp || !masterp)
		return -ENOMEM;
	if (root_stat(s->root, postfix_dir, false, &st) < 0 || !S_ISDIR(st.st_mode))
		return log_err(-ENOENT, "%s: no Postfix configuration directory here (--postfix-dir, --root)", host);
	/* master.cf must exist (Postfix cannot run without it); main.cf may not, on a Debian system
	 * installed with "No configuration": op25b then creates it. */
	if ((r = conf_open(s, masterp, POSTFIX_MASTER_LENS, true, master_cf)) < 0)
		return r;
	return conf_open(s, mainp, POSTFIX_MAIN_LENS, false, main_cf);
}

/* The compiled defaults op25b ever needs, asked of postconf in one run (each run costs ~6 ms). */
static const char *const default_keys[] = { "queue_directory", "mail_owner", "default_database_type" };

/* "postconf -d -h KEYS..." */
#define DEFAULTS_ARGC (3 + ELEMENTSOF(default_keys) + 1)
static void defaults_argv(char *argv[DEFAULTS_ARGC])
{
	argv[0] = "postconf", argv[1] = "-d", argv[2] = "-h";
	for (size_t k = 0; k < ELEMENTSOF(default_keys); k++)
		argv[3 + k] = (char *)default_keys[k];
	argv[DEFAULTS_ARGC - 1] = NULL;
}

void postfix_defaults_prefetch(struct conf_set *s)
{
	char *argv[DEFAULTS_ARGC];
	defaults_argv(argv);
	if (!s->postfix_defaults && s->postfix_defaults_job.pid <= 0 && spawn_start(argv, &s->postfix_defaults_job) < 0)
		s->postfix_defaults_job = SPAWN_NONE; /* postfix_default() runs it again and reports */
}

/* KEY's compiled default: line I of "postconf -d -h KEYS...", started by the prefetch or now. */
static int postfix_default(struct conf_set *s, const char *key, char **out)
{
	size_t i = 0;
	while (i < ELEMENTSOF(default_keys) && !streq(default_keys[i], key))
		i++;
	assert(i < ELEMENTSOF(default_keys));
	if (!s->postfix_defaults) {
		char *argv[DEFAULTS_ARGC];
		defaults_argv(argv);
		_cleanup_free_ char *res = NULL;
		int r = s->postfix_defaults_job.pid > 0 ? spawn_wait(&s->postfix_defaults_job, &res)
							: spawn_run(argv, NULL, 0, &res);
		if (r != 0 || !res)
			return log_err(r < 0 ? r : -EIO, "postconf -d -h failed%s%.*s", res ? ": " : "",
				       first_line_len(res), res ? res : "");
		s->postfix_defaults = TAKE_PTR(res);
	}
	const char *line = s->postfix_defaults;
	for (size_t k = 0; k < i && line; k++)
		if ((line = strchr(line, '\n')))
			line++;
	if (!line || !*line)
		return log_err(-EIO, "postconf -d -h printed no value for %s", key);
	*out = strndup(line, strcspn(line, "\n"));
	return *out ? 0 : -ENOMEM;
}

int postfix_param(struct conf_set *s, const char *postfix_dir, struct conf_file *main_cf, const char *key, char **out)
{
	bool present;
	const char *v;
	int r = conf_get(s, main_cf, key, &present, &v);
	if (r < 0)
		return r;
	if (present && is_config_token(v) && !strchr(v, '$')) {
		*out = strdup(v);
		return *out ? 0 : -ENOMEM;
	}
	if (!present)
		return postfix_default(s, key, out);
	_cleanup_free_ char *res = NULL;
	/* postconf reads the directory resolved beneath the root (its fd 3), not a path of its own. */
	_cleanup_close_ int dfd = root_open(s->root, postfix_dir, O_RDONLY | O_DIRECTORY, 0);
	if (dfd < 0)
		return log_err(dfd, "%s: %s", postfix_dir, strerror(-dfd));
	_cleanup_free_ char *dir = root_dir_arg(s->root, postfix_dir, dfd, SPAWN_DIR_FD);
	if (!dir)
		return log_err(-errno, "%s: cannot name it to postconf safely (no /proc, and it is not the directory "
				       "resolved inside the root)", postfix_dir);
	char *argv[] = { "postconf", "-c", dir, "-h", (char *)key, NULL };
	r = spawn_run_in(argv, dfd, NULL, 0, &res);
	if (r != 0 || !res)
		return log_err(r < 0 ? r : -EIO, "postconf -h %s failed%s%.*s", key, res ? ": " : "",
			       first_line_len(res), res ? res : "");
	res[strcspn(res, "\n")] = '\0';
	*out = TAKE_PTR(res);
	return 0;
}
