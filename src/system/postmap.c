/* postmap through spawn_run(). */
#include "postmap.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "rootfs.h"
#include "spawn.h"
#include "util.h"

/* The suffixes Postfix's table types write. */
static const char *const *suffixes(const char *type)
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

/* A directory with a copy of main.cf dated a minute ago. */
static int conf_copy(const char *root, const char *postfix_dir, char dir[static 32])
{
	_cleanup_free_ char *src = strdup_printf("%s/main.cf", postfix_dir), *data = NULL;
	size_t len = 0;
	if (!src)
		return -ENOMEM;
	int r = root_read_file(root, src, false, &data, &len, NULL);
	if (r < 0 && r != -ENOENT)
		return log_err(r, "%s: %s", src, file_strerror(r));
	strcpy(dir, "/tmp/op25b-postmap-XXXXXX");
	if (!mkdtemp(dir))
		return log_err(-errno, "mkdtemp: %m");
	_cleanup_free_ char *dst = strdup_printf("%s/main.cf", dir);
	if (!dst)
		return -ENOMEM;
	_cleanup_close_ int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return log_err(-errno, "%s: %m", dst);
	if ((r = write_all(fd, data ? data : "", len)) < 0)
		return r;
	struct timespec ts[2] = { { .tv_sec = time(NULL) - 60 }, { .tv_sec = time(NULL) - 60 } };
	return futimens(fd, ts) < 0 ? -errno : 0;
}

int postmap_run(const char *root, const char *postfix_dir, const char *type, const char *path)
{
	char dir[32];
	_cleanup_free_ char *name = NULL, *arg = NULL, *out = NULL, *copy = NULL;
	/* postmap is given the map's directory as resolved beneath the root (its fd 3), not a path
	 * it would resolve itself: the .db it writes lands beside the map, whatever was swapped. */
	_cleanup_close_ int dfd = root_open_parent(root, path, true, 0, &name);
	if (dfd < 0)
		return log_err(dfd, "%s: %s", path, file_strerror(dfd));
	if (!(arg = strdup_printf("%s:/proc/self/fd/%d/%s", type, SPAWN_DIR_FD, name)))
		return -ENOMEM;
	int r = conf_copy(root, postfix_dir, dir);
	if (r < 0)
		return r;
	char *argv[] = { "postmap", "-c", dir, arg, NULL };
	r = spawn_run_in(argv, dfd, NULL, 0, &out);
	if ((copy = strdup_printf("%s/main.cf", dir)))
		unlink(copy);
	rmdir(dir);
	if (r == -ENOENT)
		return log_err(r, "postmap is not installed: cannot compile %s:%s", type, path);
	if (r < 0)
		return r;
	if (r != 0)
		return log_err(-EIO, "postmap %s:%s failed: %.*s", type, path, first_line_len(out), out ? out : "");
	log_debug("postmap %s:%s", type, path);
	return 0;
}

int postmap_remove(const char *root, const char *type, const char *path)
{
	_cleanup_free_ char *name = NULL;
	_cleanup_close_ int dfd = root_open_parent(root, path, true, 0, &name);
	if (dfd == -ENOENT)
		return 0;
	if (dfd < 0)
		return log_err(dfd, "%s: %s", path, file_strerror(dfd));
	for (const char *const *s = suffixes(type); *s; s++) {
		_cleanup_free_ char *p = strdup_printf("%s%s", name, *s);
		if (!p)
			return -ENOMEM;
		if (unlinkat(dfd, p, 0) < 0 && errno != ENOENT)
			return log_err(-errno, "%s%s: %m", path, *s);
	}
	return 0;
}
