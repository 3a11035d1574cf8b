/* Paths resolved beneath the root: openat2(RESOLVE_IN_ROOT), or a walk of our own where the kernel
 * has no openat2. The model is systemd's chase(): the same answers, without its many modes. */
#include "rootfs.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/syscall.h>

#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#else /* headers older than Linux 5.6; the kernel may still have it */
struct open_how {
	unsigned long long flags, mode, resolve;
};
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_IN_ROOT 0x10
#endif
#ifndef SYS_openat2
#define SYS_openat2 437 /* the same number on every architecture (asm-generic, since 5.6) */
#endif

#include "util.h"

#define MAX_FOLLOW 40 /* symlinks in one resolution, as the kernel's MAXSYMLINKS */
#define MAX_DEPTH 256 /* directories deep */

bool path_is_clean(const char *p)
{
	if (!p || p[0] != '/')
		return false;
	if (p[1] == '\0')
		return true;
	for (const char *c = p; *c;) {
		/* c points at a '/' */
		const char *n = c + 1, *e = strchrnul(n, '/');
		size_t l = (size_t)(e - n);
		if (l == 0 || (l == 1 && n[0] == '.') || (l == 2 && n[0] == '.' && n[1] == '.'))
			return false;
		c = e;
	}
	return true;
}

const char *file_strerror(int r)
{
	return r == -ENOTREGULAR ? "not a regular file" : strerror(r < 0 ? -r : r);
}

const char *root_strerror(const char *root, const char *path, int r)
{
	struct stat st;
	if (r == -ENOENT && root_stat(root, path, true, &st) == 0 && S_ISLNK(st.st_mode))
		return "a symlink whose target does not exist inside --root (symlinks resolve as after chroot)";
	return file_strerror(r);
}

int root_dir_open(const char *root)
{
	int fd = open(strempty(root) ? "/" : root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Tests only: OP25B_TEST_NO_OPENAT2=1 takes the walk, as on a kernel older than 5.6. Both ways
 * confine the path to the root; the walk costs a few more system calls. */
static bool openat2_disabled(void)
{
	const char *e = getenv("OP25B_TEST_NO_OPENAT2");
	return e && streq(e, "1");
}

static void close_stack(int *stack, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (stack[i] >= 0)
			close(stack[i]);
}

/* The walk: STACK[0] is the root, STACK[top] the directory reached; ".." pops (never above the
 * root), a symlink's target is put in front of what remains (an absolute one restarts at the
 * root). Each step opens one name with O_NOFOLLOW, so nothing is followed that we did not read. */
static int walk(int root_fd, const char *path, int flags, mode_t mode)
{
	int stack[MAX_DEPTH];
	size_t top = 0;
	unsigned follows = 0;
	_cleanup_free_ char *todo = strdup(path);
	if (!todo)
		return -ENOMEM;
	stack[0] = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (stack[0] < 0)
		return -errno;
	int r;
	char *p = todo;
	for (;;) {
		while (*p == '/')
			p++;
		if (*p == '\0') {
			/* The path named a directory (the root, or ended with '/'). */
			r = openat(stack[top], ".", (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC);
			r = r < 0 ? -errno : r;
			break;
		}
		char *end = strchrnul(p, '/');
		char *rest = end;
		while (*rest == '/')
			rest++;
		bool last = *rest == '\0';
		*end = '\0';
		if (streq(p, ".")) {
			p = rest;
			continue;
		}
		if (streq(p, "..")) {
			if (top > 0)
				close(stack[top--]);
			p = rest;
			continue;
		}
		int fd = openat(stack[top], p, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (fd < 0 && !(last && errno == ENOENT && (flags & O_CREAT))) {
			r = -errno;
			break;
		}
		if (fd >= 0 && fstat(fd, &st) < 0) {
			r = -errno;
			close(fd);
			break;
		}
		/* O_CREAT|O_EXCL never follows a last symlink (open(2)): EEXIST below, as openat2 says. */
		bool nofollow_last = (flags & O_NOFOLLOW) || ((flags & O_CREAT) && (flags & O_EXCL));
		if (fd >= 0 && S_ISLNK(st.st_mode) && !(last && nofollow_last)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);
			close(fd);
			if (n < 0) {
				r = -errno;
				break;
			}
			if (++follows > MAX_FOLLOW || n == 0) {
				r = n == 0 ? -ENOENT : -ELOOP;
				break;
			}
			target[n] = '\0';
			if (target[0] == '/') {
				close_stack(stack + 1, top);
				top = 0;
			}
			char *next = strdup_printf("%s/%s", target, rest);
			if (!next) {
				r = -ENOMEM;
				break;
			}
			free(todo);
			todo = next;
			p = todo;
			continue;
		}
		if (last) {
			if (fd >= 0)
				close(fd);
			/* O_NOFOLLOW: a symlink put there since the check above is not followed. */
			r = openat(stack[top], p, flags | O_NOFOLLOW | O_CLOEXEC, mode);
			r = r < 0 ? -errno : r;
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			close(fd);
			r = -ENOTDIR;
			break;
		}
		if (top + 1 >= MAX_DEPTH) {
			close(fd);
			r = -ENAMETOOLONG;
			break;
		}
		stack[++top] = fd;
		p = rest;
	}
	close_stack(stack, top + 1);
	return r;
}

int root_openat(int root_fd, const char *path, int flags, mode_t mode)
{
	if (!path || path[0] != '/')
		return -EINVAL;
	if (!openat2_disabled()) {
		struct open_how how = {
			.flags = (unsigned long long)(flags | O_CLOEXEC),
			.mode = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? mode : 0,
			.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
		};
		/* EAGAIN: a rename elsewhere in the tree raced the resolution of a ".."; try again. */
		for (int tries = 0; tries < 16; tries++) {
			long fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
			if (fd >= 0)
				return (int)fd;
			if (errno == EAGAIN)
				continue;
			if (errno != ENOSYS && errno != EPERM) /* EPERM: a seccomp filter that denies it */
				return -errno;
			break;
		}
	}
	return walk(root_fd, path, flags, mode);
}

int root_open(const char *root, const char *path, int flags, mode_t mode)
{
	_cleanup_close_ int rfd = root_dir_open(root);
	if (rfd < 0)
		return rfd;
	return root_openat(rfd, path, flags, mode);
}

/* "/a/b/c" -> "/a/b" and "c"; "/c" -> "/" and "c". */
static int split(const char *path, char **dir, char **base)
{
	const char *sl = strrchr(path, '/');
	if (!sl || !sl[1] || streq(sl + 1, ".") || streq(sl + 1, ".."))
		return -EINVAL;
	*dir = sl == path ? strdup("/") : strndup(path, (size_t)(sl - path));
	*base = strdup(sl + 1);
	if (!*dir || !*base) {
		free(*dir);
		free(*base);
		return -ENOMEM;
	}
	return 0;
}

static int mkdir_p_at(int rfd, const char *path, mode_t mode)
{
	int fd = root_openat(rfd, path, O_RDONLY | O_DIRECTORY, 0);
	if (fd != -ENOENT)
		return fd;
	_cleanup_free_ char *dir = NULL, *base = NULL;
	int r = split(path, &dir, &base);
	if (r < 0)
		return r;
	_cleanup_close_ int pfd = mkdir_p_at(rfd, dir, 0755);
	if (pfd < 0)
		return pfd;
	/* pfd is the parent as resolved: the new directory goes there, whatever links led to it. */
	if (mkdirat(pfd, base, mode) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	if (errno != ELOOP && errno != ENOTDIR)
		return -errno;
	/* A symlink there (EEXIST above): resolve it, inside the root. */
	return root_openat(rfd, path, O_RDONLY | O_DIRECTORY, 0);
}

int root_mkdir_p(const char *root, const char *path, mode_t mode)
{
	_cleanup_close_ int rfd = root_dir_open(root);
	if (rfd < 0)
		return rfd;
	return mkdir_p_at(rfd, path, mode);
}

int root_open_parent(const char *root, const char *path, bool follow, mode_t mkdir_mode, char **name)
{
	_cleanup_close_ int rfd = root_dir_open(root);
	if (rfd < 0)
		return rfd;
	return root_open_parent_at(rfd, path, follow, mkdir_mode, name);
}

int root_open_parent_at(int rfd, const char *path, bool follow, mode_t mkdir_mode, char **name)
{
	_cleanup_free_ char *cur = strdup(path);
	if (!cur)
		return -ENOMEM;
	for (unsigned follows = 0;; follows++) {
		_cleanup_free_ char *dir = NULL, *base = NULL;
		int r = split(cur, &dir, &base);
		if (r < 0)
			return r;
		int dfd = mkdir_mode ? mkdir_p_at(rfd, dir, mkdir_mode) : root_openat(rfd, dir, O_RDONLY | O_DIRECTORY, 0);
		if (dfd < 0)
			return dfd;
		struct stat st;
		if (!follow || fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(st.st_mode)) {
			*name = TAKE_PTR(base);
			return dfd;
		}
		/* The file is a symlink: the directory wanted is the one of its target. */
		char target[PATH_MAX];
		ssize_t n = readlinkat(dfd, base, target, sizeof(target) - 1);
		close(dfd);
		if (n < 0)
			return -errno;
		if (follows >= MAX_FOLLOW || n == 0)
			return n == 0 ? -ENOENT : -ELOOP;
		target[n] = '\0';
		char *next = target[0] == '/' ? strdup(target) : strdup_printf("%s/%s", streq(dir, "/") ? "" : dir, target);
		if (!next)
			return -ENOMEM;
		free(cur);
		cur = next;
	}
}

int root_stat(const char *root, const char *path, bool nofollow, struct stat *st)
{
	_cleanup_close_ int fd = root_open(root, path, O_PATH | (nofollow ? O_NOFOLLOW : 0), 0);
	if (fd < 0)
		return fd;
	return fstat(fd, st) < 0 ? -errno : 0;
}

int root_check_creatable(const char *root, const char *path, char **blocker)
{
	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	*blocker = NULL;
	for (;;) {
		char *sl = strrchr(dir, '/');
		if (!sl)
			return 0;
		if (sl == dir) /* the root itself */
			return 0;
		*sl = '\0';
		struct stat st;
		int r = root_stat(root, dir, false, &st);
		if (r == 0 && S_ISDIR(st.st_mode))
			return 0;
		if (r == 0 || (r != -ENOENT) || root_stat(root, dir, true, &st) == 0) {
			/* Not a directory, or a symlink to nothing (inside the root). */
			*blocker = strdup(dir);
			return r == 0 ? -ENOTDIR : r == -ENOENT ? -ENOENT : r;
		}
	}
}

int fd_verify_regular(int fd, struct stat *st)
{
	struct stat s;
	if (fstat(fd, &s) < 0)
		return -errno;
	if (st)
		*st = s;
	if (S_ISDIR(s.st_mode))
		return -EISDIR;
	if (!S_ISREG(s.st_mode))
		return -ENOTREGULAR;
	return 0;
}

int read_fd_all(int fd, size_t size_hint, char **data, size_t *len)
{
	size_t cap = size_hint + 1, n = 0;
	_cleanup_free_ char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (n + 1 >= cap) {
			/* Not realloc: the old buffer may hold a secret (the password map) and must be
			 * wiped, not handed back to the allocator as it is. */
			char *nb = malloc(cap * 2);
			if (!nb) {
				explicit_bzero(buf, n);
				return -ENOMEM;
			}
			memcpy(nb, buf, n);
			explicit_bzero(buf, n);
			free(buf);
			buf = nb;
			cap *= 2;
		}
		ssize_t k = read(fd, buf + n, cap - n - 1);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			explicit_bzero(buf, n);
			return -e;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	buf[n] = '\0';
	*data = TAKE_PTR(buf);
	*len = n;
	return 0;
}

int read_file(const char *path, bool nofollow, char **data, size_t *len)
{
	/* O_NONBLOCK: a FIFO must not hang us (it is refused below). */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0)
		return errno == ENXIO ? -ENOTREGULAR : -errno;
	struct stat st;
	int r = fd_verify_regular(fd, &st);
	if (r < 0)
		return r;
	return read_fd_all(fd, (size_t)st.st_size, data, len);
}

int root_read_file(const char *root, const char *path, bool nofollow, char **data, size_t *len, struct stat *st)
{
	_cleanup_close_ int rfd = root_dir_open(root);
	if (rfd < 0)
		return rfd;
	return root_read_file_at(rfd, path, nofollow, data, len, st);
}

int root_read_file_at(int root_fd, const char *path, bool nofollow, char **data, size_t *len, struct stat *st)
{
	/* O_NONBLOCK: opening a FIFO does not wait for a writer; fstat then refuses it. */
	_cleanup_close_ int fd = root_openat(root_fd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY | (nofollow ? O_NOFOLLOW : 0), 0);
	if (fd == -ENXIO) /* a socket (or a device without its driver): not a file to read */
		return -ENOTREGULAR;
	if (fd < 0)
		return fd;
	struct stat s;
	int r = fd_verify_regular(fd, &s);
	if (r < 0)
		return r;
	if (st)
		*st = s;
	return read_fd_all(fd, (size_t)s.st_size, data, len);
}

char *root_dir_arg(const char *root, const char *dir, int dfd, int child_fd)
{
	/* The child reaches exactly the directory resolved here through the fd it inherits. */
	if (access("/proc/self/fd", F_OK) == 0)
		return strdup_printf("/proc/self/fd/%d", child_fd);
	/* No /proc (an rpm --root scriptlet's chroot): the path, when it names that very directory
	 * now (a swap after this check is the one window left). */
	_cleanup_free_ char *host = path_under_root(root, dir);
	struct stat a, b;
	if (!host || stat(host, &a) < 0 || fstat(dfd, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		errno = host ? EXDEV : ENOMEM;
		return NULL;
	}
	return TAKE_PTR(host);
}
