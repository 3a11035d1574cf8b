/* temp + fsync + rename + fsync(dir): what aug_save does, plus the directory fsync and the check
 * for a concurrent edit that aug_save lacks (FINDINGS: it re-reads at save time). */
#include "atomic.h"

#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>

#include "util.h"

/* Does PATH hold exactly EXPECT (NULL: not exist)? */
static int still_holds(const char *path, const char *expect, size_t expect_len)
{
	_cleanup_free_ char *cur = NULL;
	size_t len;
	int r = read_file(path, true, &cur, &len);
	if (r == -ENOENT)
		return expect == NULL;
	if (r < 0)
		return r;
	bool same = expect && len == expect_len && memcmp(cur, expect, len) == 0;
	explicit_bzero(cur, len); /* it may be the password map */
	return same;
}

int atomic_replace(const char *path, const void *data, size_t len, const struct stat *owner_like, mode_t mode,
		   const char *expect, size_t expect_len)
{
	_cleanup_free_ char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	const char *base = basename(copy);
	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	_cleanup_free_ char *tmp = strdup_printf("%s/.%s.op25b-XXXXXX", slash ? dir : ".", base);
	if (!tmp)
		return -ENOMEM;

	_cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return log_err(-errno, "%s: cannot create a temporary file: %m", path);
	int r = write_all(fd, data, len);
	if (r < 0)
		goto fail;
	uid_t uid = owner_like ? owner_like->st_uid : 0;
	gid_t gid = owner_like ? owner_like->st_gid : 0;
	mode_t m = owner_like ? (owner_like->st_mode & 07777) : mode;
	if (fchown(fd, uid, gid) < 0 || fchmod(fd, m) < 0 || fsync(fd) < 0) {
		r = -errno;
		goto fail;
	}
	r = still_holds(path, expect, expect_len);
	if (r <= 0) {
		r = r < 0 ? r : -ESTALE;
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		r = -errno;
		goto fail;
	}
	if ((r = fsync_parent_dir(path)) < 0)
		return log_err(r, "%s: fsync of the directory: %s", path, strerror(-r));
	return 0;
fail:
	unlink(tmp);
	if (r == -ESTALE)
		return log_err(r, "%s: changed by someone else while op25b was working; not overwritten", path);
	return log_err(r, "%s: cannot write: %s", path, strerror(-r));
}

int atomic_remove(const char *path, const char *expect, size_t expect_len)
{
	int r = still_holds(path, expect, expect_len);
	if (r < 0)
		return log_err(r, "%s: %s", path, strerror(-r));
	if (r == 0)
		return log_err(-ESTALE, "%s: changed by someone else while op25b was working; not removed", path);
	if (unlink(path) < 0)
		return log_err(-errno, "%s: cannot remove: %m", path);
	return fsync_parent_dir(path);
}
