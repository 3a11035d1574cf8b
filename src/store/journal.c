/* Journal storage: strict about its directory, durable in its writes, tolerant of nothing. */
#include "journal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "atomic.h"
#include "settings.h"
#include "rootfs.h"
#include "rootfs.h"
#include "util.h"

/* ---- encoding of values in the meta file: %XX for bytes <= ' ', '%' and DEL ---- */

static int enc_put(FILE *f, const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c <= ' ' || *c == '%' || *c == 0x7f)
			fprintf(f, "%%%02X", *c);
		else
			fputc(*c, f);
	return 0;
}

static char *dec(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;
	if (!out)
		return NULL;
	for (; *s; s++) {
		if (*s == '%' && s[1] && s[2]) {
			char hex[3] = { s[1], s[2], 0 };
			char *end;
			long v = strtol(hex, &end, 16);
			if (*end || v <= 0) {
				free(out);
				return NULL;
			}
			*o++ = (char)v;
			s += 2;
		} else if (*s == '%') {
			free(out);
			return NULL;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return out;
}

/* Node state: "-" absent, "." present without value, "=VALUE" present. */
static void state_put(FILE *f, bool present, const char *value)
{
	fputc(' ', f);
	if (!present)
		fputc('-', f);
	else if (!value)
		fputc('.', f);
	else {
		fputc('=', f);
		enc_put(f, value);
	}
}

static int state_get(const char *tok, bool *present, char **value)
{
	*value = NULL;
	if (streq(tok, "-")) {
		*present = false;
		return 0;
	}
	*present = true;
	if (streq(tok, "."))
		return 0;
	if (tok[0] != '=')
		return -EBADMSG;
	*value = dec(tok + 1);
	return *value ? 0 : -EBADMSG;
}

/* "edit I PATH BEFORE AFTER [after:ANCHOR|before:ANCHOR]" */
static void edit_put(FILE *f, size_t i, const struct edit *e)
{
	fprintf(f, "edit %zu ", i);
	enc_put(f, e->path);
	state_put(f, e->before_present, e->before);
	state_put(f, e->after_present, e->after);
	if (e->anchor) {
		fprintf(f, " %s:", e->anchor_before ? "before" : "after");
		enc_put(f, e->anchor);
	}
	fputc('\n', f);
}

/* ---- state directory ---- */

/* Every journal file is reached through the state dir's fd (j->dir_fd), which was resolved
 * beneath the root (rootfs.h), and through tx/ and tx/N opened from it with O_NOFOLLOW; j->dir and
 * t->dir (ROOT/STATE...) only name them in messages. */
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

static int tx_fd(const struct journal *j)
{
	int fd = openat(j->dir_fd, "tx", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static const char *tx_name(const struct tx *t)
{
	const char *sl = strrchr(t->dir, '/');
	return sl ? sl + 1 : t->dir;
}

/* tx/N of T, opened. */
static int tx_dir_fd(const struct journal *j, const struct tx *t)
{
	_cleanup_close_ int txfd = tx_fd(j);
	if (txfd < 0)
		return txfd;
	int fd = openat(txfd, tx_name(t), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static void tx_free(struct tx *t)
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
	if (j->lock_fd >= 0)
		close(j->lock_fd); /* releases the flock */
	*j = (struct journal){ .lock_fd = -1, .dir_fd = -1 };
}

static int meta_error(const char *path, unsigned line, const char *what)
{
	return log_err(-EBADMSG, "%s:%u: corrupted journal: %s (remove the state directory only if you "
				 "know the files are as you want them)", path, line, what);
}

static int tx_load(int txfd, const char *dir, const char *name, struct tx *t)
{
	_cleanup_free_ char *meta = strdup_printf("%s/%s/meta", dir, name);
	if (!meta)
		return -ENOMEM;
	_cleanup_close_ int tfd = openat(txfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int fd = tfd < 0 ? -1 : openat(tfd, "meta", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		return meta_error(meta, 0, "not a regular file");
	}
	_cleanup_fclose_ FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!f) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return log_err(-e, "%s: %s", meta, strerror(e));
	}
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	unsigned ln = 0;
	while (getline(&line, &cap, f) > 0) {
		ln++;
		line[strcspn(line, "\n")] = '\0';
		char *save = NULL, *kw = strtok_r(line, " ", &save);
		if (!kw)
			continue;
		if (ln == 1) {
			if (!streq(kw, "op25b-journal") || !streq(strtok_r(NULL, " ", &save), "1"))
				return meta_error(meta, ln, "not an op25b journal of version 1");
		} else if (streq(kw, "mode")) {
			const char *m = strtok_r(NULL, " ", &save);
			if (!m || mode_parse(m, &t->mode) < 0)
				return meta_error(meta, ln, "unknown mode");
		} else if (streq(kw, "options")) {
			const char *h = strtok_r(NULL, " ", &save);
			snprintf(t->opts_hash, sizeof(t->opts_hash), "%s", h ? h : "");
		} else if (streq(kw, "state")) {
			const char *h = strtok_r(NULL, " ", &save), *na = strtok_r(NULL, " ", &save);
			snprintf(t->state_hash, sizeof(t->state_hash), "%s", h ? h : "");
			/* Optional; anything odd reads as unknown, which only costs a fresh check. */
			char *end = NULL;
			long long v = na ? strtoll(na, &end, 10) : 0;
			t->cert_not_after = end && *end == '\0' && v > 0 ? (time_t)v : 0;
		} else if (streq(kw, "steps")) {
			const char *rs = strtok_r(NULL, " ", &save), *fw = strtok_r(NULL, " ", &save);
			const char *zone = strtok_r(NULL, " ", &save);
			if (!zone || (!streq(rs, "restart=0") && !streq(rs, "restart=1")) ||
			    (!streq(fw, "firewall=0") && !streq(fw, "firewall=1")) || strncmp(zone, "zone=", 5) ||
			    !is_config_token(zone + 5))
				return meta_error(meta, ln, "bad steps line");
			t->restarted = rs[8] == '1';
			t->firewall = fw[9] == '1';
			free(t->zone);
			t->zone = NULL;
			if (!streq(zone + 5, "-") && !(t->zone = strdup(zone + 5)))
				return -ENOMEM;
		} else if (streq(kw, "origin")) {
			const char *who = strtok_r(NULL, " ", &save);
			if (!who || !is_config_token(who) || strtok_r(NULL, " ", &save))
				return meta_error(meta, ln, "bad origin line");
			free(t->origin);
			if (!(t->origin = strdup(who)))
				return -ENOMEM;
		} else if (streq(kw, "file")) {
			struct tx_file *nf = realloc(t->files, (t->n + 1) * sizeof(*nf));
			if (!nf)
				return -ENOMEM;
			t->files = nf;
			struct tx_file *x = &nf[t->n++];
			*x = (struct tx_file){ 0 };
			unsigned uid, gid, mode, ex, sec;
			char *tok[8];
			for (int i = 0; i < 8; i++)
				tok[i] = strtok_r(NULL, " ", &save);
			if (!tok[7] || sscanf(tok[0], "existed=%u", &ex) != 1 || sscanf(tok[1], "uid=%u", &uid) != 1 ||
			    sscanf(tok[2], "gid=%u", &gid) != 1 || sscanf(tok[3], "mode=%o", &mode) != 1 ||
			    sscanf(tok[4], "secret=%u", &sec) != 1 || strncmp(tok[5], "orig=", 5) ||
			    strncmp(tok[6], "new=", 4) || strncmp(tok[7], "lens=", 5))
				return meta_error(meta, ln, "bad file line");
			const char *path = strtok_r(NULL, " ", &save);
			if (!path || path[0] != '/')
				return meta_error(meta, ln, "bad file path");
			x->existed = ex;
			x->secret = sec;
			x->uid = uid;
			x->gid = gid;
			x->mode = mode;
			snprintf(x->orig_hash, sizeof(x->orig_hash), "%s", tok[5] + 5);
			snprintf(x->new_hash, sizeof(x->new_hash), "%s", tok[6] + 4);
			x->path = dec(path);
			x->lens = streq(tok[7] + 5, "-") ? NULL : strdup(tok[7] + 5);
			if (!x->path || (!x->lens && !streq(tok[7] + 5, "-")))
				return -ENOMEM;
			/* Files are written beneath the root (rootfs.h); "..", "." and "//" have no place in
			 * a path op25b recorded itself. */
			if (!path_is_clean(x->path))
				return meta_error(meta, ln, "bad file path (not a clean absolute path)");
		} else if (streq(kw, "edit")) {
			const char *idx = strtok_r(NULL, " ", &save), *p = strtok_r(NULL, " ", &save);
			const char *b = strtok_r(NULL, " ", &save), *a = strtok_r(NULL, " ", &save);
			char *end;
			unsigned long i = idx ? strtoul(idx, &end, 10) : 0;
			if (!a || *end || i >= t->n)
				return meta_error(meta, ln, "bad edit line");
			bool bp, ap;
			_cleanup_free_ char *bv = NULL, *av = NULL, *pd = dec(p);
			if (!pd || state_get(b, &bp, &bv) < 0 || state_get(a, &ap, &av) < 0)
				return meta_error(meta, ln, "bad edit value");
			struct tx_file *x = &t->files[i];
			if (edit_append(&x->edits, &x->n_edits, pd, bp, bv, ap, av) < 0)
				return -ENOMEM;
			const char *an = strtok_r(NULL, " ", &save);
			if (an) {
				bool before = strncmp(an, "before:", 7) == 0;
				if (!before && strncmp(an, "after:", 6))
					return meta_error(meta, ln, "bad edit anchor");
				struct edit *e = &x->edits[x->n_edits - 1];
				e->anchor_before = before;
				if (!(e->anchor = dec(an + (before ? 7 : 6))))
					return meta_error(meta, ln, "bad edit anchor");
			}
		} else if (streq(kw, "rebase")) {
			/* "rebase I existed= uid= gid= mode= orig= new= copy=": file I starts again from
			 * another original (a revert took out a transaction under it); its edits follow. */
			char *tok[8];
			unsigned uid, gid, mode, ex;
			char *end;
			for (int i = 0; i < 8; i++)
				tok[i] = strtok_r(NULL, " ", &save);
			unsigned long i = tok[0] ? strtoul(tok[0], &end, 10) : 0;
			if (!tok[7] || *end || i >= t->n || sscanf(tok[1], "existed=%u", &ex) != 1 ||
			    sscanf(tok[2], "uid=%u", &uid) != 1 || sscanf(tok[3], "gid=%u", &gid) != 1 ||
			    sscanf(tok[4], "mode=%o", &mode) != 1 || strncmp(tok[5], "orig=", 5) ||
			    strncmp(tok[6], "new=", 4) || strncmp(tok[7], "copy=base.", 10) || strchr(tok[7] + 5, '/'))
				return meta_error(meta, ln, "bad rebase line");
			struct tx_file *x = &t->files[i];
			x->existed = ex;
			x->uid = uid;
			x->gid = gid;
			x->mode = mode;
			snprintf(x->orig_hash, sizeof(x->orig_hash), "%s", tok[5] + 5);
			snprintf(x->new_hash, sizeof(x->new_hash), "%s", tok[6] + 4);
			free(x->copy);
			if (!(x->copy = strdup(tok[7] + 5)))
				return -ENOMEM;
			for (size_t k = 0; k < x->n_edits; k++)
				edit_free(&x->edits[k]);
			x->n_edits = 0;
			t->rebases++;
		} else if (streq(kw, "postmap")) {
			const char *idx = strtok_r(NULL, " ", &save), *type = strtok_r(NULL, " ", &save);
			char *end;
			unsigned long i = idx ? strtoul(idx, &end, 10) : 0;
			if (!type || *end || i >= t->n || !is_config_token(type))
				return meta_error(meta, ln, "bad postmap line");
			free(t->files[i].postmap_type);
			if (!(t->files[i].postmap_type = strdup(type)))
				return -ENOMEM;
		} else if (streq(kw, "firewall")) {
			const char *zone = strtok_r(NULL, " ", &save), *svc = strtok_r(NULL, " ", &save);
			const char *layers = strtok_r(NULL, " ", &save);
			unsigned l;
			if (!layers || sscanf(layers, "%u", &l) != 1 || !is_config_token(zone) || !is_config_token(svc))
				return meta_error(meta, ln, "bad firewall line");
			struct tx_fw *nf = realloc(t->fw, (t->n_fw + 1) * sizeof(*nf));
			if (!nf)
				return -ENOMEM;
			t->fw = nf;
			nf[t->n_fw] = (struct tx_fw){ .name = strdup(svc), .layers = l };
			if (!nf[t->n_fw++].name)
				return -ENOMEM;
			if (!t->fw_zone && !(t->fw_zone = strdup(zone)))
				return -ENOMEM;
		} else if (!streq(kw, "time")) {
			return meta_error(meta, ln, "unknown line");
		}
	}
	if (ln == 0 || t->mode == 0)
		return meta_error(meta, ln, "incomplete");
	return 0;
}

static int cmp_tx(const void *a, const void *b)
{
	const struct tx *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int load_all(struct journal *j)
{
	_cleanup_free_ char *txdir = strdup_printf("%s/tx", j->dir);
	if (!txdir)
		return -ENOMEM;
	/* Nothing in the journal is followed through a symlink: discarding an entry deletes files. */
	int fd = openat(j->dir_fd, "tx", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : log_err(-errno, "%s: %m", txdir);
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
			/* Never became pending (no config file was touched), or was being dropped (its
			 * files are back as they were): nothing depends on it. */
			log_debug("discarding unfinished journal entry %s", de->d_name);
			int dfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			DIR *dd = dfd >= 0 ? fdopendir(dfd) : NULL;
			struct dirent *e2;
			while (dd && (e2 = readdir(dd)))
				if (e2->d_name[0] != '.')
					unlinkat(dirfd(dd), e2->d_name, 0);
			if (dd)
				closedir(dd);
			else if (dfd >= 0)
				close(dfd);
			unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
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
		if (!t->dir || (r = tx_load(dirfd(d), txdir, de->d_name, t)) < 0)
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
	return load_all(j);
}

int journal_make_dir(struct journal *j)
{
	if (j->dir_fd >= 0)
		return 0;
	return open_state(j, true);
}

/* ---- writing a transaction ---- */

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

int journal_begin(struct journal *j, unsigned mode, const char *opts_hash, const struct tx_steps *steps,
		  struct conf_set *s, struct tx **out)
{
	unsigned id = j->n ? j->txs[j->n - 1].id + 1 : 1;
	_cleanup_free_ char *txdir = strdup_printf("%s/tx", j->dir);
	_cleanup_free_ char *tmp = strdup_printf("%s/tx/%06u.tmp", j->dir, id);
	_cleanup_free_ char *pending = strdup_printf("%s/tx/%06u.pending", j->dir, id);
	_cleanup_free_ char *meta = strdup_printf("%s/meta", tmp ? tmp : "");
	int r;
	if (!txdir || !tmp || !pending || !meta)
		return -ENOMEM;
	const char *tmpname = strrchr(tmp, '/') + 1, *pendname = strrchr(pending, '/') + 1;
	if (mkdirat(j->dir_fd, "tx", 0700) < 0 && errno != EEXIST)
		return log_err(-errno, "%s: %m", txdir);
	_cleanup_close_ int txfd = tx_fd(j);
	if (txfd < 0)
		return log_err(txfd, "%s: %s", txdir, strerror(-txfd));
	if (mkdirat(txfd, tmpname, 0700) < 0)
		return log_err(-errno, "%s: %m", tmp);
	_cleanup_close_ int tmpfd = openat(txfd, tmpname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tmpfd < 0)
		return log_err(-errno, "%s: %m", tmp);

	struct tx *nt = realloc(j->txs, (j->n + 1) * sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	j->txs = nt;
	struct tx *t = &nt[j->n++];
	*t = (struct tx){ .id = id, .mode = mode, .pending = true };
	snprintf(t->opts_hash, sizeof(t->opts_hash), "%s", opts_hash);

	_cleanup_fclose_ FILE *f = NULL;
	int fd = openat(tmpfd, "meta", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
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
		struct conf_file *c = s->files[i];
		/* A file this run needs as it is (claims only) is journaled too: its owners are known. */
		if (!c->new && !(c->existed && (c->claimed || (c->lens && c->n_edits))))
			continue;
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
		enc_put(f, c->path);
		fputc('\n', f);
		if (c->postmap_type)
			fprintf(f, "postmap %zu %s\n", k, c->postmap_type);
		for (size_t e = 0; e < c->n_edits; e++)
			edit_put(f, k, &c->edits[e]);
		if (c->existed && (r = write_copy(tmpfd, tmp, k, c->old, c->old_len)) < 0)
			return r;
		k++;
	}
	if (fflush(f) != 0 || fsync(fileno(f)) < 0)
		return log_err(-errno, "%s: %m", meta);
	if (renameat(txfd, tmpname, txfd, pendname) < 0)
		return log_err(-errno, "%s: %m", pending);
	if (fsync(txfd) < 0)
		return log_err(-errno, "%s: %m", txdir);
	t->dir = TAKE_PTR(pending);
	/* Re-read what was written: the in-memory tx is exactly what a later run will see. */
	t->n = 0;
	_cleanup_free_ char *name = strdup_printf("%06u.pending", id);
	if (!name)
		return -ENOMEM;
	if ((r = tx_load(txfd, txdir, name, t)) < 0)
		return r;
	*out = t;
	return 0;
}

/* The meta file of a pending transaction, opened to add lines to it. */
static int meta_append(const struct journal *j, const struct tx *t, char **meta, FILE **f)
{
	if (!(*meta = strdup_printf("%s/meta", t->dir)))
		return -ENOMEM;
	_cleanup_close_ int tfd = tx_dir_fd(j, t);
	int fd = tfd < 0 ? tfd : openat(tfd, "meta", O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return log_err(fd == -1 ? -errno : fd, "%s: %s", *meta, strerror(fd == -1 ? errno : -fd));
	if (!(*f = fdopen(fd, "a"))) {
		int e = errno;
		close(fd);
		return log_err(-e, "%s: %s", *meta, strerror(e));
	}
	return 0;
}

int journal_note_firewall(struct journal *j, struct tx *t, const char *zone, const struct tx_fw *fw, size_t n)
{
	(void)j;
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

int journal_rebase(struct journal *j, struct tx *t, size_t i, bool existed, uid_t uid, gid_t gid, mode_t mode,
		   const char *orig, size_t orig_len, const char *new_hash, const struct edit *edits, size_t n_edits)
{
	char name[48], oh[65] = "-";
	snprintf(name, sizeof(name), "base.%zu.%u", i, t->rebases + 1);
	_cleanup_free_ char *p = strdup_printf("%s/%s", t->dir, name);
	if (!p)
		return -ENOMEM;
	if (existed) {
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
		sha256_hex(orig, orig_len, oh);
	}
	_cleanup_free_ char *meta = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	int r = meta_append(j, t, &meta, &f);
	if (r < 0)
		return r;
	fprintf(f, "rebase %zu existed=%d uid=%u gid=%u mode=%o orig=%s new=%s copy=%s\n", i, existed, (unsigned)uid,
		(unsigned)gid, (unsigned)mode, oh, new_hash, name);
	for (size_t e = 0; e < n_edits; e++)
		edit_put(f, i, &edits[e]);
	if (fflush(f) != 0 || fsync(fileno(f)) < 0)
		return log_err(-errno, "%s: %m", meta);
	/* The in-memory transaction as a later run will read it. */
	struct tx_file *x = &t->files[i];
	x->existed = existed;
	x->uid = uid;
	x->gid = gid;
	x->mode = mode;
	snprintf(x->orig_hash, sizeof(x->orig_hash), "%s", oh);
	snprintf(x->new_hash, sizeof(x->new_hash), "%s", new_hash);
	free(x->copy);
	x->copy = strdup(name);
	for (size_t k = 0; k < x->n_edits; k++)
		edit_free(&x->edits[k]);
	x->n_edits = 0;
	t->rebases++;
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

int journal_note_state(struct journal *j, struct tx *t, const char *state_hash, time_t cert_not_after)
{
	(void)j;
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
	int r;
	if (fsync(txfd) < 0)
		return log_err(-errno, "%s: %m", t->dir);
	int dfd = openat(txfd, tx_name(t), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		r = log_err(-errno, "%s: %m", t->dir);
		if (dfd >= 0)
			close(dfd);
		return r;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && unlinkat(dirfd(d), de->d_name, 0) < 0) {
			r = log_err(-errno, "%s/%s: %m", t->dir, de->d_name);
			closedir(d);
			return r;
		}
	closedir(d);
	if (unlinkat(txfd, tx_name(t), AT_REMOVEDIR) < 0)
		return log_err(-errno, "%s: %m", t->dir);
	r = fsync(txfd) < 0 ? -errno : 0;
	size_t idx = (size_t)(t - j->txs);
	tx_free(t);
	memmove(&j->txs[idx], &j->txs[idx + 1], (j->n - idx - 1) * sizeof(*j->txs));
	j->n--;
	return r;
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
		free(*data);
		*data = NULL;
		return log_err(-EBADMSG, "%s: corrupted journal: the copy does not match its recorded hash", p);
	}
	return 0;
}
