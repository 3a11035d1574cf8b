/* Every file op25b touches is reached beneath the root, as after chroot(ROOT): the root is opened as
 * a directory, and each path is resolved beneath it with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS) (Linux >= 5.6), or, where the kernel lacks openat2, by a walk of one
 * component at a time with O_NOFOLLOW that resolves each symlink itself, inside the root. A
 * symlink in the tree still works; one that points (absolutely, or with "..") above the root names
 * a file inside it, exactly as after chroot. Writes go through the directory fd that was resolved
 * so (root_open_parent()), so a directory swapped for a symlink meanwhile cannot redirect them.
 *
 * ROOT is the --root path (trusted like "/": the admin names it); PATH is a path on the target
 * system ("/etc/postfix/main.cf"). Functions return a negative errno; they print nothing. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* The errno of "exists, but is not a regular file" (a FIFO, socket or device; as systemd's
 * stat_verify_regular()). file_strerror() says so in words. */
#define ENOTREGULAR EBADFD

/* A path as op25b accepts it from an option, op25b.conf or the journal: absolute, no empty ("//"),
 * "." or ".." component, no trailing '/'. */
bool path_is_clean(const char *path);

/* strerror(-R), except that -ENOTREGULAR reads "not a regular file". */
const char *file_strerror(int r);

/* file_strerror(), and for -ENOENT on a dangling symlink, why: its target is looked up inside the
 * root (an absolute link to a file of the host is not followed out of it). */
const char *root_strerror(const char *root, const char *path, int r);

/* Open ROOT itself (O_PATH | O_DIRECTORY). */
int root_dir_open(const char *root);

/* Open PATH beneath ROOT_FD with FLAGS and MODE as openat(2) takes them (O_CLOEXEC is added).
 * O_NOFOLLOW: a last component that is a symlink gives -ELOOP. Returns the fd. */
int root_openat(int root_fd, const char *path, int flags, mode_t mode);
/* The same, ROOT opened for this call. */
int root_open(const char *root, const char *path, int flags, mode_t mode);

/* The directory that holds PATH (readable, O_DIRECTORY: it can be read, written and fsync'ed
 * through) and PATH's name in it (*NAME, malloc'd). With FOLLOW, a last component that is a
 * symlink is followed (inside the root), so that the directory is the one of the file itself.
 * MKDIR_MODE non-zero: missing directories on the way are created (the last with that mode,
 * the others 0755). */
int root_open_parent(const char *root, const char *path, bool follow, mode_t mkdir_mode, char **name);
/* The same beneath the root directory fd ROOT_FD. */
int root_open_parent_at(int root_fd, const char *path, bool follow, mode_t mkdir_mode, char **name);

/* mkdir -p PATH beneath ROOT (the last directory with MODE, the others 0755); returns its fd
 * (O_DIRECTORY, readable). */
int root_mkdir_p(const char *root, const char *path, mode_t mode);

/* Can PATH (absent) be created, its missing directories with it? 0; or the first directory on the
 * way that is in the way (*BLOCKER, malloc'd): -ENOTDIR (not a directory), -ENOENT (a symlink whose
 * target does not exist inside the root: mkdir would not follow it), another errno. */
int root_check_creatable(const char *root, const char *path, char **blocker);

/* stat PATH beneath ROOT (NOFOLLOW: of a last symlink itself). */
int root_stat(const char *root, const char *path, bool nofollow, struct stat *st);

/* Read a whole regular file of THIS system (no symlink following on the last component when
 * nofollow); under the root use root_read_file(). Sets *data (NUL-terminated, may contain NULs)
 * and *len. -ENOENT when missing, -ENOTREGULAR for a FIFO, socket or device. */
int read_file(const char *path, bool nofollow, char **data, size_t *len);

/* Read the whole regular file PATH beneath ROOT, never blocking on a FIFO or device (O_NONBLOCK,
 * checked with fstat before the first read): -EISDIR, -ENOTREGULAR, -ENOENT, -ELOOP (NOFOLLOW and
 * a symlink). *DATA is NUL-terminated (may hold NULs); ST (may be NULL) gets the open file's stat. */
int root_read_file(const char *root, const char *path, bool nofollow, char **data, size_t *len, struct stat *st);
/* The same beneath the root directory fd ROOT_FD (many files of one root: opened once). */
int root_read_file_at(int root_fd, const char *path, bool nofollow, char **data, size_t *len, struct stat *st);

/* Read the rest of FD (a regular file) whole, as root_read_file() does. */
int read_fd_all(int fd, size_t size_hint, char **data, size_t *len);

/* Check that FD is a regular file: -EISDIR, -ENOTREGULAR. ST (may be NULL) gets its stat. */
int fd_verify_regular(int fd, struct stat *st);

/* How a child process (postmap, postconf) is to name the directory DFD, resolved beneath ROOT from
 * DIR, when DFD is its fd CHILD_FD: "/proc/self/fd/CHILD_FD"; without /proc, ROOT/DIR if that is
 * the same directory right now. NULL (errno EXDEV) when it is not: the caller refuses to run. */
char *root_dir_arg(const char *root, const char *dir, int dfd, int child_fd);
