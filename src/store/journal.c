/* The journal's directory (journal.h): the lock of every op25b run on a root, the state directory
 * beneath it, and every transaction loaded from it. Strict about its directory, tolerant of
 * nothing: the transactions are read by journal-meta.c, written by journal-write.c. */
#include "journal-internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "rootfs.h"
#include "util.h"

/* ---- state directory ---- */

/* The state directory: a real directory, ours, 0700 (journal-internal.h says how the files in
 * it are reached). */
static int check_stat(const char *dir, const struct stat *st0)
{
	const struct stat st = *st0;
	if (S_ISLNK(st.st_mode))
		return log_err(-ELOOP, "%s: state directory is a symlink; refusing it", dir);
	if (!S_ISDIR(st.st_mode))
		return log_err(-ENOTDIR, "%s: state directory is not a directory", dir);
	if (st.st_uid != geteuid())
		return log_err(-EPERM, "%s: state directory is owned by uid %u, not by uid %u", dir,
			       (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & 077)
		return log_err(-EPERM, "%s: state directory has mode %04o; it must be 0700", dir,
			       (unsigned)(st.st_mode & 07777));
	return 0;
}

/* Open (with MAKE, create) the state dir beneath the root into j->dir_fd. -ENOENT, silently, when
 * it (or a directory on the way) does not exist and MAKE is false. */
static int open_state(struct journal *j, bool make)
{
	_cleanup_free_ char *name = NULL;
	_cleanup_close_ int pfd = root_open_parent_at(j->lock_fd, j->state_dir, false, make ? 0755 : 0, &name);
	struct stat st;
	if (pfd == -ENOENT && !make)
		return -ENOENT;
	if (pfd < 0)
		return log_err(pfd, "%s: cannot open its directory: %s", j->dir, strerror(-pfd));
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT || !make)
			return errno == ENOENT ? -ENOENT : log_err(-errno, "%s: %m", j->dir);
		if (mkdirat(pfd, name, 0700) < 0 && errno != EEXIST)
			return log_err(-errno, "%s: cannot create the state directory: %m", j->dir);
		if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return log_err(-errno, "%s: %m", j->dir);
	}
	int r = check_stat(j->dir, &st);
	if (r < 0)
		return r;
	j->dir_fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (j->dir_fd < 0)
		return log_err(-errno, "%s: %m", j->dir);
	/* What was opened is what was checked (not something swapped in between). */
	if (fstat(j->dir_fd, &st) < 0)
		return log_err(-errno, "%s: %m", j->dir);
	return check_stat(j->dir, &st);
}

int tx_fd(const struct journal *j)
{
	int fd = openat(j->dir_fd, "tx", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

const char *tx_name(const struct tx *t)
{
	const char *sl = strrchr(t->dir, '/');
	return sl ? sl + 1 : t->dir;
}

int tx_dir_fd(const struct journal *j, const struct tx *t)
{
	_cleanup_close_ int txfd = tx_fd(j);
	if (txfd < 0)
		return txfd;
	int fd = openat(txfd, tx_name(t), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

void tx_free(struct tx *t)
{
	for (size_t i = 0; i < t->n; i++) {
		struct tx_file *f = &t->files[i];
		free(f->path);
		free(f->lens);
		free(f->postmap_type);
		free(f->copy);
		for (size_t k = 0; k < f->n_edits; k++)
			edit_free(&f->edits[k]);
		free(f->edits);
	}
	free(t->files);
	free(t->dir);
	for (size_t i = 0; i < t->n_fw; i++)
		free(t->fw[i].name);
	free(t->fw);
	free(t->fw_zone);
	free(t->zone);
	free(t->origin);
}

void journal_close(struct journal *j)
{
	for (size_t i = 0; i < j->n; i++)
		tx_free(&j->txs[i]);
	free(j->txs);
	if (j->dir && j->dir_fd >= 0) /* dir_fd is meaningful once journal_open() set dir */
		close(j->dir_fd);
	free(j->dir);
	free(j->state_dir);
	intent_free(&j->intent);
	if (j->lock_fd >= 0)
		close(j->lock_fd); /* releases the flock */
	*j = (struct journal){ .lock_fd = -1, .dir_fd = -1 };
}

static int cmp_tx(const void *a, const void *b)
{
	const struct tx *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* tx/NAME never became pending (no config file was touched), or was being dropped (its files
 * are back as they were): nothing depends on it (nor on a revert.tmp). Best effort: what stays is
 * discarded next time. */
void journal_discard_dir(int txfd, const char *name)
{
	log_debug("discarding unfinished journal entry %s", name);
	int dfd = openat(txfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *dd = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;
	while (dd && (de = readdir(dd)))
		if (de->d_name[0] != '.')
			unlinkat(dirfd(dd), de->d_name, 0);
	if (dd)
		closedir(dd);
	else if (dfd >= 0)
		close(dfd);
	unlinkat(txfd, name, AT_REMOVEDIR);
}

static int load_all(struct journal *j)
{
	_cleanup_free_ char *txdir = strdup_printf("%s/tx", j->dir);
	if (!txdir)
		return -ENOMEM;
	/* Nothing in the journal is followed through a symlink: discarding an entry deletes files. */
	int fd = tx_fd(j);
	if (fd < 0)
		return fd == -ENOENT ? 0 : log_err(fd, "%s: %s", txdir, strerror(-fd));
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return log_err(-errno, "%s: %m", txdir);
	}
	struct dirent *de;
	int r = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		struct stat est;
		if (fstatat(dirfd(d), de->d_name, &est, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(est.st_mode)) {
			r = log_err(-EBADMSG, "%s/%s: unexpected entry in the journal (not a directory)", txdir, de->d_name);
			break;
		}
		char *end;
		unsigned long id = strtoul(de->d_name, &end, 10);
		if (streq(end, ".tmp")) {
			journal_discard_dir(dirfd(d), de->d_name);
			continue;
		}
		if (end == de->d_name || (*end && !streq(end, ".pending"))) {
			r = log_err(-EBADMSG, "%s/%s: unexpected entry in the journal", txdir, de->d_name);
			break;
		}
		struct tx *nt = realloc(j->txs, (j->n + 1) * sizeof(*nt));
		if (!nt) {
			r = -ENOMEM;
			break;
		}
		j->txs = nt;
		struct tx *t = &nt[j->n++];
		*t = (struct tx){ .id = (unsigned)id, .pending = *end != '\0', .restarted = true, .firewall = true };
		t->dir = strdup_printf("%s/%s", txdir, de->d_name);
		if (!t->dir) {
			r = -ENOMEM;
			break;
		}
		if ((r = tx_load(dirfd(d), txdir, de->d_name, t, intent_meta_limit(j, t->id))) < 0)
			break;
	}
	closedir(d);
	if (r == 0 && j->n > 1) /* qsort(NULL, 0, ...) is undefined (UBSan: nonnull) */
		qsort(j->txs, j->n, sizeof(*j->txs), cmp_tx);
	return r;
}

/* The lock of every op25b run on ROOT: flock(2) on the root directory itself. It exists before
 * anything else does (a first run needs nothing to be created to take it), it is the same inode
 * for every run on that root however --root is spelled, and it goes away with the process: a bad
 * input, a crash or a kill leaves nothing behind. Waits at most TIMEOUT seconds. */
static int lock_root(const char *root, unsigned timeout, int *out)
{
	_cleanup_close_ int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return log_err(-errno, "--root=%s: %m", root);
	for (unsigned waited = 0;; waited++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK)
			return log_err(-errno, "%s: flock: %m", root);
		if (waited == 0)
			log_info("waiting for another op25b run to finish (lock on %s)", root);
		if (waited >= timeout * 10)
			return log_err(-EBUSY, "%s: another op25b run holds the lock; try again later", root);
		usleep(100 * 1000);
	}
	*out = TAKE_FD(fd);
	return 0;
}

int journal_open(struct journal *j, const char *root, const char *state_dir, bool create, unsigned timeout)
{
	int r;
	*j = (struct journal){ .lock_fd = -1, .dir_fd = -1 };
	/* First the lock, then the first byte of anything: a run that waited reads what the one
	 * before it left. */
	if ((r = lock_root(root, timeout, &j->lock_fd)) < 0)
		return r;
	j->dir = path_under_root(root, state_dir);
	j->state_dir = strdup(state_dir);
	if (!j->dir || !j->state_dir)
		return -ENOMEM;
	r = open_state(j, false);
	if (r == -ENOENT && !create)
		return 0; /* an empty journal; journal_make_dir() when there is something to record */
	if (r == -ENOENT)
		return journal_make_dir(j);
	if (r < 0)
		return r;
	if ((r = intent_load(j)) < 0)
		return r;
	return load_all(j);
}

int journal_make_dir(struct journal *j)
{
	if (j->dir_fd >= 0)
		return 0;
	return open_state(j, true);
}

size_t journal_origins(const struct journal *j, unsigned mode, const char **v, size_t max)
{
	size_t n = 0;
	for (size_t k = 0; k < j->n; k++) {
		const struct tx *t = &j->txs[k];
		if (!(t->mode & mode) || t->pending)
			continue;
		bool seen = false;
		for (size_t i = 0; i < n && !seen; i++)
			seen = v[i] == t->origin || (v[i] && t->origin && streq(v[i], t->origin));
		if (!seen && n < max)
			v[n++] = t->origin;
	}
	return n;
}
