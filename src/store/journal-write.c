/* A transaction from begin to commit (journal.h): written as tx/N.tmp, renamed N.pending before
 * the first configuration file is touched, N once every file is written; dropped through N.tmp
 * again. Every step is fsync'ed before the next one depends on it. */
#include "journal-internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "settings.h"
#include "util.h"

/* The original of file I, orig.I in the transaction's directory DFD (DIR names it). */
static int write_copy(int dfd, const char *dir, size_t i, const char *data, size_t len)
{
	_cleanup_free_ char *p = strdup_printf("%s/orig.%zu", dir, i);
	if (!p)
		return -ENOMEM;
	_cleanup_close_ int fd = openat(dfd, p + strlen(dir) + 1, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return log_err(-errno, "%s: %m", p);
	int r = write_all(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	return r < 0 ? log_err(r, "%s: %s", p, strerror(-r)) : 0;
}

/* tx/TMPNAME, made and opened (TXDIR and TMP name tx/ and it in messages): *TXFD and *TMPFD. */
static int make_tx_dir(struct journal *j, const char *txdir, const char *tmp, int *txfd, int *tmpfd)
{
	const char *tmpname = strrchr(tmp, '/') + 1;
	if (mkdirat(j->dir_fd, "tx", 0700) < 0 && errno != EEXIST)
		return log_err(-errno, "%s: %m", txdir);
	*txfd = tx_fd(j);
	if (*txfd < 0)
		return log_err(*txfd, "%s: %s", txdir, strerror(-*txfd));
	if (mkdirat(*txfd, tmpname, 0700) < 0)
		return log_err(-errno, "%s: %m", tmp);
	*tmpfd = openat(*txfd, tmpname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*tmpfd < 0)
		return log_err(-errno, "%s: %m", tmp);
	return 0;
}

/* The "file" line of C (file K of the transaction), its edits, and its original's copy in TMPFD. */
static int write_file(FILE *f, int tmpfd, const char *tmp, size_t k, const struct conf_file *c)
{
	char oh[65] = "-", nh[65];
	if (c->existed)
		sha256_hex(c->old, c->old_len, oh);
	if (c->new)
		sha256_hex(c->new, c->new_len, nh);
	else
		memcpy(nh, oh, sizeof(nh));
	fprintf(f, "file existed=%d uid=%u gid=%u mode=%o secret=%d orig=%s new=%s lens=%s ", c->existed,
		(unsigned)(c->existed ? c->st.st_uid : 0), (unsigned)(c->existed ? c->st.st_gid : 0),
		(unsigned)(c->existed ? c->st.st_mode & 07777 : c->create_mode), c->secret, oh, nh,
		c->lens ? c->lens : "-");
	meta_put_value(f, c->path);
	fputc('\n', f);
	if (c->postmap_type)
		fprintf(f, "postmap %zu %s\n", k, c->postmap_type);
	for (size_t e = 0; e < c->n_edits; e++)
		meta_put_edit(f, k, &c->edits[e]);
	return c->existed ? write_copy(tmpfd, tmp, k, c->old, c->old_len) : 0;
}

/* The meta file of tx/N.tmp (TMPFD; META names it): MODE, the options, the STEPS, and every file
 * of S this run changes or needs as it is, with its original copied. */
static int write_meta(int tmpfd, const char *tmp, const char *meta, unsigned mode, const char *opts_hash,
		      const struct tx_steps *steps, const struct conf_set *s)
{
	_cleanup_fclose_ FILE *f = NULL;
	int r, fd = openat(tmpfd, "meta", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		r = log_err(-errno, "%s: %m", meta);
		if (fd >= 0)
			close(fd);
		return r;
	}
	fprintf(f, "op25b-journal 1\nmode %s\noptions %s\ntime %lld\nsteps restart=%d firewall=%d zone=%s\n",
		mode_name(mode), opts_hash, (long long)time(NULL), steps->restarted, steps->firewall,
		steps->zone ? steps->zone : "-");
	if (steps->origin)
		fprintf(f, "origin %s\n", steps->origin);
	size_t k = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct conf_file *c = s->files[i];
		/* A file this run needs as it is (claims only) is journaled too: its owners are known. */
		if (!c->new && !(c->existed && (c->claimed || (c->lens && c->n_edits))))
			continue;
		if ((r = write_file(f, tmpfd, tmp, k++, c)) < 0)
			return r;
	}
	if (fflush(f) != 0 || fsync(fileno(f)) < 0)
		return log_err(-errno, "%s: %m", meta);
	return 0;
}

int journal_begin(struct journal *j, unsigned mode, const char *opts_hash, const struct tx_steps *steps,
		  struct conf_set *s, struct tx **out)
{
	unsigned id = j->n ? j->txs[j->n - 1].id + 1 : 1;
	_cleanup_free_ char *txdir = strdup_printf("%s/tx", j->dir);
	_cleanup_free_ char *tmp = strdup_printf("%s/tx/%06u.tmp", j->dir, id);
	_cleanup_free_ char *pending = strdup_printf("%s/tx/%06u.pending", j->dir, id);
	_cleanup_free_ char *meta = strdup_printf("%s/meta", tmp ? tmp : "");
	_cleanup_close_ int txfd = -1, tmpfd = -1;
	int r;
	if (!txdir || !tmp || !pending || !meta)
		return -ENOMEM;
	if ((r = make_tx_dir(j, txdir, tmp, &txfd, &tmpfd)) < 0)
		return r;

	struct tx *nt = realloc(j->txs, (j->n + 1) * sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	j->txs = nt;
	struct tx *t = &nt[j->n++];
	*t = (struct tx){ .id = id, .mode = mode, .pending = true };
	snprintf(t->opts_hash, sizeof(t->opts_hash), "%s", opts_hash);

	if ((r = write_meta(tmpfd, tmp, meta, mode, opts_hash, steps, s)) < 0)
		return r;
	if (renameat(txfd, strrchr(tmp, '/') + 1, txfd, strrchr(pending, '/') + 1) < 0)
		return log_err(-errno, "%s: %m", pending);
	if (fsync(txfd) < 0)
		return log_err(-errno, "%s: %m", txdir);
	t->dir = TAKE_PTR(pending);
	/* Re-read what was written: the in-memory tx is exactly what a later run will see. */
	t->n = 0;
	_cleanup_free_ char *name = strdup_printf("%06u.pending", id);
	if (!name)
		return -ENOMEM;
	if ((r = tx_load(txfd, txdir, name, t, -1)) < 0)
		return r;
	*out = t;
	return 0;
}

int journal_note_firewall(struct journal *j, struct tx *t, const char *zone, const struct tx_fw *fw, size_t n)
{
	_cleanup_free_ char *meta = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	int r = meta_append(j, t, &meta, &f);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (!fw[i].layers)
			continue; /* already open: not op25b's to close */
		fprintf(f, "firewall %s %s %u\n", zone, fw[i].name, fw[i].layers);
		struct tx_fw *nf = realloc(t->fw, (t->n_fw + 1) * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		t->fw = nf;
		nf[t->n_fw] = (struct tx_fw){ .name = strdup(fw[i].name), .layers = fw[i].layers };
		if (!nf[t->n_fw++].name)
			return -ENOMEM;
	}
	if (!t->fw_zone && !(t->fw_zone = strdup(zone)))
		return -ENOMEM;
	if (fflush(f) != 0 || fsync(fileno(f)) < 0)
		return log_err(-errno, "%s: %m", meta);
	return 0;
}

int journal_note_state(struct journal *j, struct tx *t, const char *state_hash, time_t cert_not_after)
{
	_cleanup_free_ char *meta = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	int r = meta_append(j, t, &meta, &f);
	if (r < 0)
		return r;
	/* Not fsync'ed: it only lets a later no-change apply skip its work. Lost or cut short, the
	 * digest matches nothing and that apply does the work. */
	fprintf(f, "state %s %lld\n", state_hash, (long long)cert_not_after);
	if (fflush(f) != 0)
		return log_err(-errno, "%s: %m", meta);
	snprintf(t->state_hash, sizeof(t->state_hash), "%s", state_hash);
	t->cert_not_after = cert_not_after;
	return 0;
}

int journal_commit(struct journal *j, struct tx *t)
{
	_cleanup_free_ char *final = strndup(t->dir, strlen(t->dir) - strlen(".pending"));
	if (!final)
		return -ENOMEM;
	_cleanup_close_ int txfd = tx_fd(j);
	if (txfd < 0)
		return log_err(txfd, "%s: %s", t->dir, strerror(-txfd));
	if (renameat(txfd, tx_name(t), txfd, strrchr(final, '/') + 1) < 0)
		return log_err(-errno, "%s: %m", t->dir);
	int r = fsync(txfd) < 0 ? log_err(-errno, "%s: %m", final) : 0;
	free(t->dir);
	t->dir = TAKE_PTR(final);
	t->pending = false;
	return r;
}

/* Remove every file in tx/NAME (under TXFD; DIR names it), then the directory. */
static int remove_tx_dir(int txfd, const char *name, const char *dir)
{
	int r, dfd = openat(txfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		r = log_err(-errno, "%s: %m", dir);
		if (dfd >= 0)
			close(dfd);
		return r;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && unlinkat(dirfd(d), de->d_name, 0) < 0) {
			r = log_err(-errno, "%s/%s: %m", dir, de->d_name);
			closedir(d);
			return r;
		}
	closedir(d);
	if (unlinkat(txfd, name, AT_REMOVEDIR) < 0)
		return log_err(-errno, "%s: %m", dir);
	return 0;
}

int journal_drop(struct journal *j, struct tx *t)
{
	/* First rename it to N.tmp, which load_all() discards: a run that dies while the files are
	 * being removed (the meta first, say) must not leave a transaction that cannot be read. */
	const char *base = strrchr(t->dir, '/');
	_cleanup_free_ char *gone = base ? strdup_printf("%.*s/%06u.tmp", (int)(base - t->dir), t->dir, t->id) : NULL;
	if (!gone)
		return -ENOMEM;
	_cleanup_close_ int txfd = tx_fd(j);
	if (txfd < 0)
		return log_err(txfd, "%s: %s", t->dir, strerror(-txfd));
	if (renameat(txfd, tx_name(t), txfd, strrchr(gone, '/') + 1) < 0)
		return log_err(-errno, "%s: %m", t->dir);
	free(t->dir);
	t->dir = TAKE_PTR(gone);
	if (fsync(txfd) < 0)
		return log_err(-errno, "%s: %m", t->dir);
	int r = remove_tx_dir(txfd, tx_name(t), t->dir);
	if (r < 0)
		return r;
	r = fsync(txfd) < 0 ? -errno : 0;
	size_t idx = (size_t)(t - j->txs);
	tx_free(t);
	memmove(&j->txs[idx], &j->txs[idx + 1], (j->n - idx - 1) * sizeof(*j->txs));
	j->n--;
	return r;
}
