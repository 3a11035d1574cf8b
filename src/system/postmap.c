/* postmap through spawn_run(). */
#include "postmap.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "rootfs.h"
#include "spawn.h"
#include "scratch.h"
#include "util.h"

/* The suffixes Postfix's table types write. */
const char *const *postmap_suffixes(const char *type)
{
	static const char *const db[] = { ".db", NULL }, *const lmdb[] = { ".lmdb", NULL },
				 *const cdb[] = { ".cdb", NULL }, *const dbm[] = { ".dir", ".pag", NULL },
				 *const none[] = { NULL };
	if (streq(type, "hash") || streq(type, "btree"))
		return db;
	if (streq(type, "lmdb"))
		return lmdb;
	if (streq(type, "cdb"))
		return cdb;
	if (streq(type, "dbm") || streq(type, "sdbm"))
		return dbm;
	return none;
}

/* main.cf's last "myorigin = /FILE" (TEXT): FILE (malloc'd), or NULL when myorigin is no file name. */
static char *myorigin_file(const char *text)
{
	const char *value = NULL;
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, "myorigin", 8) != 0 || !strchr(" \t=", l[8]))
			continue;
		const char *v = l + 8 + strspn(l + 8, " \t");
		if (*v++ != '=')
			continue;
		value = v + strspn(v, " \t");
	}
	if (!value || *value != '/')
		return NULL;
	size_t n = strcspn(value, "\r\n");
	while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
		n--;
	return strndup(value, n);
}

/* Postfix (Debian's, Ubuntu's) reads "myorigin = /etc/mailname" as the name in that file, and
 * postmap reads it at start: a postmap run here for a --root would read the HOST's file (and
 * fail without one). The copy names the root's instead: "myorigin = NAME" appended (the last
 * one counts). A root without the file is refused as Postfix there would refuse it. */
static int myorigin_of_root(const char *root, const char *postfix_dir, const char *text, char **line)
{
	_cleanup_free_ char *file = myorigin_file(text), *name = NULL;
	size_t len;
	*line = NULL;
	if (!file)
		return 0;
	int r = root_read_file(root, file, false, &name, &len, NULL);
	if (r < 0)
		return log_err(r, "%s/main.cf: myorigin = %s: %s under %s (Postfix there reads the name from it)",
			       postfix_dir, file, file_strerror(r), root);
	name[strcspn(name, " \t\r\n")] = '\0';
	if (!*name)
		return log_err(-EINVAL, "%s/main.cf: myorigin = %s: that file is empty under %s", postfix_dir, file, root);
	*line = strdup_printf("\nmyorigin = %s\n", name);
	return *line ? 0 : -ENOMEM;
}

/* A directory with a copy of main.cf dated a minute ago. */
static int conf_copy(const char *root, const char *postfix_dir, char dir[static SCRATCH_MAX])
{
	_cleanup_free_ char *src = strdup_printf("%s/main.cf", postfix_dir), *data = NULL, *origin = NULL;
	size_t len = 0;
	if (!src)
		return -ENOMEM;
	int r = root_read_file(root, src, false, &data, &len, NULL);
	if (r < 0 && r != -ENOENT)
		return log_err(r, "%s: %s", src, file_strerror(r));
	if (data && !streq(root, "/") && (r = myorigin_of_root(root, postfix_dir, data, &origin)) < 0)
		return r;
	if ((r = scratch_make("postmap", dir)) < 0)
		return r;
	_cleanup_free_ char *dst = strdup_printf("%s/main.cf", dir);
	if (!dst) {
		scratch_remove(dir);
		return -ENOMEM;
	}
	_cleanup_close_ int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	struct timespec ts[2] = { { .tv_sec = time(NULL) - 60 }, { .tv_sec = time(NULL) - 60 } };
	if (fd < 0)
		r = log_err(-errno, "%s: %m", dst);
	else if ((r = write_all(fd, data ? data : "", len)) == 0 &&
		 (!origin || (r = write_all(fd, origin, strlen(origin))) == 0) && futimens(fd, ts) < 0)
		r = -errno;
	if (r < 0)
		scratch_remove(dir);
	return r;
}

/* postmap writes into an existing table in place, keeping its owner (and takes its mode from the
 * source only when it creates it): a table owned by a user would let that user read the password.
 * The table gets its source's owner and mode, through descriptors opened without following links. */
static int table_like_source(int dfd, const char *name, const char *path, const char *type)
{
	struct stat src;
	_cleanup_close_ int sfd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (sfd < 0 || fstat(sfd, &src) < 0)
		return log_err(-errno, "%s: %m", path);
	for (const char *const *s = postmap_suffixes(type); *s; s++) {
		_cleanup_free_ char *p = strdup_printf("%s%s", name, *s);
		if (!p)
			return -ENOMEM;
		_cleanup_close_ int fd = openat(dfd, p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		struct stat st;
		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd < 0 || fstat(fd, &st) < 0)
			return log_err(-errno, "%s%s: %m", path, *s);
		if (!S_ISREG(st.st_mode))
			return log_err(-EINVAL, "%s%s: not a regular file", path, *s);
		if ((st.st_uid != src.st_uid || st.st_gid != src.st_gid) && fchown(fd, src.st_uid, src.st_gid) < 0)
			return log_err(-errno, "%s%s: chown: %m", path, *s);
		if ((st.st_mode & 07777) != (src.st_mode & 07777) && fchmod(fd, src.st_mode & 07777) < 0)
			return log_err(-errno, "%s%s: chmod: %m", path, *s);
	}
	return 0;
}

int postmap_run(const char *root, const char *postfix_dir, const char *type, const char *path)
{
	char dir[SCRATCH_MAX];
	_cleanup_free_ char *name = NULL, *arg = NULL, *out = NULL;
	/* postmap is given the map's directory as resolved beneath the root (its fd 3), not a path
	 * it would resolve itself: the .db it writes lands beside the map, whatever was swapped. */
	_cleanup_close_ int dfd = root_open_parent(root, path, true, 0, &name);
	if (dfd < 0)
		return log_err(dfd, "%s: %s", path, file_strerror(dfd));
	_cleanup_free_ char *mapdir = strdup(path), *darg = NULL;
	char *sl = mapdir ? strrchr(mapdir, '/') : NULL;
	if (!sl)
		return -ENOMEM;
	if (sl == mapdir)
		sl[1] = '\0'; /* "/" */
	else
		*sl = '\0';
	if (!(darg = root_dir_arg(root, mapdir, dfd, SPAWN_DIR_FD)))
		return log_err(-errno, "%s: cannot name its directory to postmap safely (no /proc, and %s is not the "
				       "directory resolved inside the root)", path, mapdir);
	if (!(arg = strdup_printf("%s:%s/%s", type, darg, name)))
		return -ENOMEM;
	int r = conf_copy(root, postfix_dir, dir);
	if (r < 0)
		return r;
	/* -o: postmap run as root otherwise drops to the source's owner, who cannot write the table
	 * beside it in a root-owned directory (a map revert gives back to its user); the source is
	 * reached through the directory resolved beneath the root, and the table gets its owner. */
	char *argv[] = { "postmap", "-o", "-c", dir, arg, NULL };
	r = spawn_run_in(argv, dfd, NULL, 0, &out);
	scratch_remove(dir);
	if (r == -ENOENT)
		return log_err(r, "postmap is not installed: cannot compile %s:%s", type, path);
	if (r < 0)
		return r;
	if (r != 0) {
		/* The reason is postmap's fatal line; warnings may come before it. */
		const char *why = out ? strstr(out, "fatal: ") : NULL;
		why = why ? why : out;
		return log_err(-EIO, "postmap %s:%s failed: %.*s", type, path, first_line_len(why), why ? why : "");
	}
	log_debug("postmap %s:%s", type, path);
	return table_like_source(dfd, name, path, type);
}

int postmap_remove(const char *root, const char *type, const char *path)
{
	_cleanup_free_ char *name = NULL;
	_cleanup_close_ int dfd = root_open_parent(root, path, true, 0, &name);
	if (dfd == -ENOENT)
		return 0;
	if (dfd < 0)
		return log_err(dfd, "%s: %s", path, file_strerror(dfd));
	for (const char *const *s = postmap_suffixes(type); *s; s++) {
		_cleanup_free_ char *p = strdup_printf("%s%s", name, *s);
		if (!p)
			return -ENOMEM;
		if (unlinkat(dfd, p, 0) < 0 && errno != ENOENT)
			return log_err(-errno, "%s%s: %m", path, *s);
	}
	return 0;
}
