/* (base/: firewall.c writes with it too, and system/ is below store/.)
 * O_TMPFILE + linkat + renameat2(RENAME_EXCHANGE) + fsync(dir), all through directory fds resolved
 * beneath the root (rootfs.h). The model is systemd's open_tmpfile_linkable()/link_tmpfile(). */
#include "atomic.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/random.h>
#include <time.h>

#include "rootfs.h"
#include "util.h"

/* ".NAME.op25b-XXXXXX" or "sXXXXXXXXXXXX": a name nobody else picks. */
static int random_name(const char *base, char **out)
{
	static const char abc[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char rnd[12];
	char s[13];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -errno ? -errno : -EIO;
	for (size_t i = 0; i < sizeof(rnd); i++)
		s[i] = abc[rnd[i] % (sizeof(abc) - 1)];
	s[12] = '\0';
	*out = base ? strdup_printf(".%s.op25b-%.6s", base, s) : strdup_printf("s%s", s);
	return *out ? 0 : -ENOMEM;
}

/* Does NAME in DFD hold EXPECT (NULL: not exist)? 1, 0, or a negative errno. */
static int holds_at(int dfd, const char *name, const char *expect, size_t expect_len)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? expect == NULL : errno == ELOOP || errno == ENXIO ? 0 : -errno;
	struct stat st;
	int r = fd_verify_regular(fd, &st);
	if (r < 0)
		return r == -EISDIR || r == -ENOTREGULAR ? 0 : r;
	if (!expect || (size_t)st.st_size != expect_len)
		return 0;
	_cleanup_free_ char *cur = NULL;
	size_t len;
	if ((r = read_fd_all(fd, (size_t)st.st_size, &cur, &len)) < 0)
		return r;
	bool same = len == expect_len && memcmp(cur, expect, len) == 0;
	explicit_bzero(cur, len); /* it may be the password map */
	return same;
}

int file_holds(const char *root, const char *path, const char *data, size_t len)
{
	_cleanup_free_ char *name = NULL;
	_cleanup_close_ int dfd = root_open_parent(root, path, true, 0, &name);
	if (dfd == -ENOENT)
		return data == NULL;
	if (dfd < 0)
		return dfd;
	return holds_at(dfd, name, data, len);
}

/* An unnamed file in DFD; where the file system has no O_TMPFILE, a named one (*NAMED). */
static int open_tmp(int dfd, const char *base, char **named)
{
	*named = NULL;
	int fd = openat(dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return -errno;
	for (int tries = 0; tries < 16; tries++) {
		int r = random_name(base, named);
		if (r < 0)
			return r;
		fd = openat(dfd, *named, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			return fd;
		free(*named);
		*named = NULL;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/* Give the unnamed file FD the name NAME in DFD. */
static int link_tmp(int fd, int dfd, const char *name)
{
	if (linkat(fd, "", dfd, name, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != ENOENT && errno != EPERM) /* AT_EMPTY_PATH wants CAP_DAC_READ_SEARCH */
		return -errno;
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, proc, dfd, name, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
}

/* Link FD into the stage (STAGE_FD, else DFD; *SFD says which) under a new name (*SNAME). */
static int link_staged(int fd, int dfd, const char *base, int stage_fd, int *sfd, char **sname)
{
	for (int tries = 0; tries < 16; tries++) {
		*sfd = stage_fd >= 0 ? stage_fd : dfd;
		int r = random_name(*sfd == dfd ? base : NULL, sname);
		if (r < 0)
			return r;
		r = link_tmp(fd, *sfd, *sname);
		if (r == 0)
			return 0;
		free(*sname);
		*sname = NULL;
		if (r == -EXDEV && stage_fd >= 0) {
			stage_fd = -1; /* the state dir is on another file system: stage beside the file */
			continue;
		}
		if (r != -EEXIST)
			return r;
	}
	return -EEXIST;
}

static int write_content(int fd, const void *data, size_t len, const struct stat *owner_like, mode_t mode)
{
	int r = write_all(fd, data, len);
	if (r < 0)
		return r;
	uid_t uid = owner_like ? owner_like->st_uid : 0;
	gid_t gid = owner_like ? owner_like->st_gid : 0;
	mode_t m = owner_like ? (owner_like->st_mode & 07777) : mode;
	/* See atomic.h: dated 2 s back, so Postfix takes it at once. */
	struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = time(NULL) - 2 } };
	if (fchown(fd, uid, gid) < 0 || fchmod(fd, m) < 0 || futimens(fd, ts) < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

static int stale(const char *shown, const char *what)
{
	return log_err(-ESTALE, "%s: changed by someone else while op25b was working; not %s", shown, what);
}

/* A new file FD (named *TMPNAME in DFD, or unnamed): its name BASE appears with its whole content,
 * or not at all; -ESTALE when something took the name meanwhile. */
static int place_new(int fd, int dfd, const char *base, char **tmpname)
{
	int r;
	if (*tmpname)
		r = renameat2(dfd, *tmpname, dfd, base, RENAME_NOREPLACE) < 0 ? -errno : 0;
	else
		r = link_tmp(fd, dfd, base);
	if (r == -EEXIST)
		return -ESTALE;
	if (r < 0)
		return r;
	free(TAKE_PTR(*tmpname)); /* it is BASE now */
	return 0;
}

/* No RENAME_EXCHANGE on this file system: compare BASE with EXPECT, then rename the staged file
 * *SNAME (in SFD) over it; -ESTALE when BASE changed. */
static int replace_compared(int sfd, char **sname, int dfd, const char *base, const char *expect, size_t expect_len)
{
	int r = holds_at(dfd, base, expect, expect_len);
	if (r <= 0)
		return r < 0 ? r : -ESTALE;
	if (renameat(sfd, *sname, dfd, base) < 0)
		return -errno;
	free(TAKE_PTR(*sname));
	return 0;
}

int atomic_replace(const char *root, const char *path, const void *data, size_t len, const struct stat *owner_like,
		   mode_t mode, const char *expect, size_t expect_len, int stage_fd)
{
	_cleanup_free_ char *shown = path_under_root(root, path), *base = NULL, *tmpname = NULL, *sname = NULL;
	if (!shown)
		return -ENOMEM;
	_cleanup_close_ int dfd = root_open_parent(root, path, true, expect ? 0 : 0750, &base);
	if (dfd < 0)
		return log_err(dfd, "%s: %s", shown, file_strerror(dfd));
	_cleanup_close_ int fd = open_tmp(dfd, base, &tmpname);
	if (fd < 0)
		return log_err(fd, "%s: cannot create a temporary file: %s", shown, strerror(-fd));
	int r = write_content(fd, data, len, owner_like, mode), sfd = dfd;
	if (r < 0)
		goto fail;

	if (!expect) {
		if ((r = place_new(fd, dfd, base, &tmpname)) < 0)
			goto fail;
	} else {
		if (tmpname)
			sname = TAKE_PTR(tmpname);
		else if ((r = link_staged(fd, dfd, base, stage_fd, &sfd, &sname)) < 0)
			goto fail;
		if (renameat2(sfd, sname, dfd, base, RENAME_EXCHANGE) < 0) {
			r = -errno;
			if (r == -ENOENT) { /* removed meanwhile */
				r = -ESTALE;
				goto fail;
			}
			if (r != -EINVAL && r != -ENOSYS)
				goto fail;
			if ((r = replace_compared(sfd, &sname, dfd, base, expect, expect_len)) < 0)
				goto fail;
		} else {
			/* sname now holds what was in place: the bytes op25b read, or an edit since. */
			r = holds_at(sfd, sname, expect, expect_len);
			if (r <= 0) {
				if (renameat2(sfd, sname, dfd, base, RENAME_EXCHANGE) < 0) {
					int e = errno;
					return log_err(-e, "%s: changed by someone else while op25b was working, and "
							   "putting it back failed (%s): the file that was there is %s",
						       shown, strerror(e), sname);
				}
				r = r < 0 ? r : -ESTALE;
				goto fail;
			}
			if (unlinkat(sfd, sname, 0) < 0) {
				r = -errno;
				free(TAKE_PTR(sname));
				return log_err(r, "%s: written, but the old copy cannot be removed: %s", shown, strerror(-r));
			}
			free(TAKE_PTR(sname));
		}
	}
	if (fsync(dfd) < 0)
		return log_err(-errno, "%s: fsync of the directory: %m", shown);
	return 0;
fail:
	if (tmpname)
		unlinkat(dfd, tmpname, 0);
	if (sname)
		unlinkat(sfd, sname, 0);
	if (r == -ESTALE)
		return stale(shown, "overwritten");
	return log_err(r, "%s: cannot write: %s", shown, strerror(-r));
}

int atomic_remove(const char *root, const char *path, const char *expect, size_t expect_len, int stage_fd)
{
	_cleanup_free_ char *shown = path_under_root(root, path), *base = NULL, *sname = NULL;
	if (!shown)
		return -ENOMEM;
	_cleanup_close_ int dfd = root_open_parent(root, path, true, 0, &base);
	if (dfd == -ENOENT)
		return stale(shown, "removed");
	if (dfd < 0)
		return log_err(dfd, "%s: %s", shown, file_strerror(dfd));
	int r;
	if (stage_fd >= 0 && (r = random_name(NULL, &sname)) == 0 &&
	    renameat2(dfd, base, stage_fd, sname, RENAME_NOREPLACE) == 0) {
		/* Moved out of the way: what is compared is what went, and an edit is put back. */
		r = holds_at(stage_fd, sname, expect, expect_len);
		if (r <= 0) {
			if (renameat2(stage_fd, sname, dfd, base, RENAME_NOREPLACE) < 0)
				return log_err(-errno, "%s: changed by someone else while op25b was working; it could not "
						       "be put back (%m) and is in op25b's state directory as stage/%s",
					       shown, sname);
			return r < 0 ? log_err(r, "%s: %s", shown, strerror(-r)) : stale(shown, "removed");
		}
		if (unlinkat(stage_fd, sname, 0) < 0)
			return log_err(-errno, "%s: cannot remove: %m", shown);
	} else {
		if (sname && errno == ENOENT)
			return stale(shown, "removed");
		r = holds_at(dfd, base, expect, expect_len);
		if (r < 0)
			return log_err(r, "%s: %s", shown, strerror(-r));
		if (r == 0)
			return stale(shown, "removed");
		if (unlinkat(dfd, base, 0) < 0)
			return log_err(-errno, "%s: cannot remove: %m", shown);
	}
	if (fsync(dfd) < 0)
		return log_err(-errno, "%s: fsync of the directory: %m", shown);
	return 0;
}

int atomic_stage_open(const char *root, const char *state_dir)
{
	if (!state_dir)
		return -ENOENT;
	_cleanup_close_ int sd = root_open(root, state_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
	if (sd < 0)
		return sd;
	if (mkdirat(sd, "stage", 0700) < 0 && errno != EEXIST)
		return -errno;
	int fd = openat(sd, "stage", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return -errno;
	int r = fstat(fd, &st) < 0 ? -errno : st.st_uid != geteuid() || (st.st_mode & 077) ? -EPERM : 0;
	if (r < 0) {
		close(fd);
		return r;
	}
	/* What a killed run left: new files never put in place, old ones already replaced. */
	int dup_fd = dup(fd);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return fd;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && unlinkat(fd, de->d_name, 0) == 0)
			log_debug("removed stage/%s, left by an interrupted run", de->d_name);
	closedir(d);
	return fd;
}
