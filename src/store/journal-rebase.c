/* Originals (journal.h): reading a file's original back, checked against its hash, and rebasing a
 * file on another original when a revert takes out a transaction under it (so that its owners
 * stay known: each transaction's edits are its claims on the file). */
#include "journal-internal.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "rootfs.h"
#include "util.h"

/* The new original of T's file, NAME in T's directory (P names it), written and fsync'ed. */
static int write_base(const struct journal *j, const struct tx *t, const char *name, const char *p,
		      const char *orig, size_t orig_len)
{
	_cleanup_close_ int tfd = tx_dir_fd(j, t);
	if (tfd < 0)
		return log_err(tfd, "%s: %s", t->dir, strerror(-tfd));
	/* A copy left by a revert that died before its meta line names nothing: replaced. */
	if (unlinkat(tfd, name, 0) < 0 && errno != ENOENT)
		return log_err(-errno, "%s: %m", p);
	_cleanup_close_ int fd = openat(tfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return log_err(-errno, "%s: %m", p);
	int r = write_all(fd, orig, orig_len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r < 0)
		return log_err(r, "%s: %s", p, strerror(-r));
	return 0;
}

/* File X starts again from the original copied to NAME, with EDITS: the in-memory transaction as a
 * later run reads it from the "rebase" line. */
static int rebase_file(struct tx_file *x, bool existed, uid_t uid, gid_t gid, mode_t mode, const char *orig_hash,
		       const char *new_hash, const char *name, const struct edit *edits, size_t n_edits)
{
	x->existed = existed;
	x->uid = uid;
	x->gid = gid;
	x->mode = mode;
	snprintf(x->orig_hash, sizeof(x->orig_hash), "%s", orig_hash);
	snprintf(x->new_hash, sizeof(x->new_hash), "%s", new_hash);
	free(x->copy);
	x->copy = strdup(name);
	for (size_t k = 0; k < x->n_edits; k++)
		edit_free(&x->edits[k]);
	x->n_edits = 0;
	for (size_t e = 0; e < n_edits; e++) {
		if (edit_append(&x->edits, &x->n_edits, edits[e].path, edits[e].before_present, edits[e].before,
				edits[e].after_present, edits[e].after) < 0)
			return -ENOMEM;
		x->edits[x->n_edits - 1].anchor_before = edits[e].anchor_before;
		if (edits[e].anchor && !(x->edits[x->n_edits - 1].anchor = strdup(edits[e].anchor)))
			return -ENOMEM;
	}
	return x->copy ? 0 : -ENOMEM;
}

int journal_rebase(struct journal *j, struct tx *t, size_t i, bool existed, uid_t uid, gid_t gid, mode_t mode,
		   const char *orig, size_t orig_len, const char *new_hash, const struct edit *edits, size_t n_edits)
{
	char name[48], oh[65] = "-";
	int r;
	snprintf(name, sizeof(name), "base.%zu.%u", i, t->rebases + 1);
	_cleanup_free_ char *p = strdup_printf("%s/%s", t->dir, name);
	if (!p)
		return -ENOMEM;
	if (existed) {
		if ((r = write_base(j, t, name, p, orig, orig_len)) < 0)
			return r;
		sha256_hex(orig, orig_len, oh);
	}
	_cleanup_free_ char *meta = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	if ((r = meta_append(j, t, &meta, &f)) < 0)
		return r;
	fprintf(f, "rebase %zu existed=%d uid=%u gid=%u mode=%o orig=%s new=%s copy=%s\n", i, existed, (unsigned)uid,
		(unsigned)gid, (unsigned)mode, oh, new_hash, name);
	for (size_t e = 0; e < n_edits; e++)
		meta_put_edit(f, i, &edits[e]);
	if (fflush(f) != 0 || fsync(fileno(f)) < 0)
		return log_err(-errno, "%s: %m", meta);
	t->rebases++;
	return rebase_file(&t->files[i], existed, uid, gid, mode, oh, new_hash, name, edits, n_edits);
}

int journal_original(const struct journal *j, const struct tx *t, size_t i, char **data, size_t *len)
{
	_cleanup_free_ char *p = t->files[i].copy ? strdup_printf("%s/%s", t->dir, t->files[i].copy)
						  : strdup_printf("%s/orig.%zu", t->dir, i);
	if (!p)
		return -ENOMEM;
	_cleanup_close_ int tfd = tx_dir_fd(j, t);
	if (tfd < 0)
		return log_err(tfd, "%s: %s", t->dir, strerror(-tfd));
	/* The copy itself, never a symlink, FIFO or device put in its place. */
	_cleanup_close_ int fd = openat(tfd, strrchr(p, '/') + 1, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	int r = fd < 0 ? -errno : fd_verify_regular(fd, &st);
	if (r == -ELOOP || r == -ENXIO || r == -EISDIR || r == -ENOTREGULAR)
		return log_err(-EBADMSG, "%s: corrupted journal: not a regular file", p);
	if (r == 0)
		r = read_fd_all(fd, (size_t)st.st_size, data, len);
	if (r < 0)
		return log_err(r, "%s: %s", p, strerror(-r));
	char h[65];
	sha256_hex(*data, *len, h);
	if (!streq(h, t->files[i].orig_hash)) {
		explicit_bzero(*data, *len); /* it may be the map's original */
		free(*data);
		*data = NULL;
		return log_err(-EBADMSG, "%s: corrupted journal: the copy does not match its recorded hash", p);
	}
	return 0;
}
