/* The revert intent (journal.h): STATE/revert.tmp while it is written, revert.pending from before
 * a revert's first file write until every rebase line is written, revert.done until the
 * transactions it takes out are dropped. Its "meta" lists their modes and ids, the staying
 * transactions' meta sizes and the files; "before.I" holds file I's bytes from before the revert (which may be the
 * password map: 0600 in a 0700 directory, as the transactions' copies are). */
#include "journal-internal.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "rootfs.h"
#include "settings.h"
#include "util.h"

static const char *const intent_names[] = {
	[INTENT_PENDING] = "revert.pending",
	[INTENT_DONE] = "revert.done",
};

void intent_free(struct revert_intent *in)
{
	for (size_t i = 0; i < in->n_files; i++) {
		free(in->files[i].path);
		free(in->files[i].postmap_type);
	}
	free(in->files);
	free(in->drop);
	free(in->keep);
	*in = (struct revert_intent){ 0 };
}

off_t intent_meta_limit(const struct journal *j, unsigned id)
{
	if (j->intent.state != INTENT_PENDING)
		return -1;
	for (size_t i = 0; i < j->intent.n_keep; i++)
		if (j->intent.keep[i].id == id)
			return j->intent.keep[i].meta_size;
	return -1;
}

unsigned journal_intent_modes(const struct journal *j)
{
	return j->intent.state == INTENT_NONE ? 0 : j->intent.modes;
}

/* ---- reading ---- */

static const char *kv(const char *tok, const char *key)
{
	size_t n = strlen(key);
	return tok && strncmp(tok, key, n) == 0 ? tok + n : NULL;
}

static bool hash_ok(const char *h)
{
	return h && (streq(h, "-") || (strlen(h) == 64 && strspn(h, "0123456789abcdef") == 64));
}

static int push(void **v, size_t *n, size_t size)
{
	void *nv = realloc(*v, (*n + 1) * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	memset((char *)nv + *n * size, 0, size);
	(*n)++;
	return 0;
}

/* "file existed=E uid=U gid=G mode=M before=H after=H postmap=T PATH" */
static int parse_file(struct revert_intent *in, char **save)
{
	const char *t[8];
	for (size_t k = 0; k < ELEMENTSOF(t); k++)
		t[k] = strtok_r(NULL, " ", save);
	const char *e = kv(t[0], "existed="), *u = kv(t[1], "uid="), *g = kv(t[2], "gid="), *m = kv(t[3], "mode="),
		   *b = kv(t[4], "before="), *a = kv(t[5], "after="), *p = kv(t[6], "postmap=");
	if (!e || !u || !g || !m || !hash_ok(b) || !hash_ok(a) || !p || !t[7] || strtok_r(NULL, " ", save) ||
	    (!streq(e, "0") && !streq(e, "1")))
		return -EBADMSG;
	if (push((void **)&in->files, &in->n_files, sizeof(*in->files)) < 0)
		return -ENOMEM;
	struct intent_file *f = &in->files[in->n_files - 1];
	f->existed = streq(e, "1");
	f->uid = (uid_t)strtoul(u, NULL, 10);
	f->gid = (gid_t)strtoul(g, NULL, 10);
	f->mode = (mode_t)strtoul(m, NULL, 8) & 07777;
	snprintf(f->before, sizeof(f->before), "%s", b);
	snprintf(f->after, sizeof(f->after), "%s", a);
	f->path = meta_dec(t[7]);
	f->postmap_type = streq(p, "-") ? NULL : meta_dec(p);
	/* Never "..": the file is written beneath the root, and must be one the journal names. */
	if (!f->path || f->path[0] != '/' || !path_is_clean(f->path) || (!streq(p, "-") && !f->postmap_type))
		return -EBADMSG;
	return 0;
}

static int parse_line(struct revert_intent *in, char *line)
{
	char *save = NULL, *kw = strtok_r(line, " ", &save), *end;
	if (!kw)
		return 0;
	if (streq(kw, "file"))
		return parse_file(in, &save);
	char *a = strtok_r(NULL, " ", &save);
	unsigned m;
	if (streq(kw, "mode")) {
		if (!a || mode_parse(a, &m) < 0 || strtok_r(NULL, " ", &save))
			return -EBADMSG;
		in->modes |= m;
		return 0;
	}
	unsigned long id = a ? strtoul(a, &end, 10) : 0;
	if (!a || *end || id == 0 || id > UINT_MAX)
		return -EBADMSG;
	if (streq(kw, "drop")) {
		if (push((void **)&in->drop, &in->n_drop, sizeof(*in->drop)) < 0)
			return -ENOMEM;
		in->drop[in->n_drop - 1] = (unsigned)id;
		return 0;
	}
	char *sz = strtok_r(NULL, " ", &save);
	long long size = sz ? strtoll(sz, &end, 10) : -1;
	if (!streq(kw, "keep") || !sz || *end || size < 0)
		return -EBADMSG;
	if (push((void **)&in->keep, &in->n_keep, sizeof(*in->keep)) < 0)
		return -ENOMEM;
	in->keep[in->n_keep - 1] = (struct intent_keep){ (unsigned)id, (off_t)size };
	return 0;
}

/* The intent directory NAME's meta, read into J's intent (STATE names it in messages). */
static int read_meta(struct journal *j, const char *name, enum intent_state state)
{
	_cleanup_free_ char *meta = strdup_printf("%s/%s/meta", j->dir, name);
	if (!meta)
		return -ENOMEM;
	_cleanup_close_ int dfd = openat(j->dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int fd = dfd < 0 ? -1 : openat(dfd, "meta", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return log_err(-EBADMSG, "%s: corrupted journal: %m", meta);
	_cleanup_fclose_ FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return log_err(-errno, "%s: %m", meta);
	}
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	unsigned ln = 0;
	int r = 0;
	j->intent.state = state;
	while (r == 0 && getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		if (++ln == 1)
			r = streq(line, "op25b-revert 1") ? 0 : -EBADMSG;
		else
			r = parse_line(&j->intent, line);
	}
	if (r == 0 && ln == 0)
		r = -EBADMSG;
	if (r == -EBADMSG)
		return log_err(r, "%s:%u: corrupted journal: not as op25b writes it (remove the state directory only "
				  "if you know the files are as you want them)", meta, ln);
	return r;
}

int intent_load(struct journal *j)
{
	struct stat st;
	if (fstatat(j->dir_fd, "revert.tmp", &st, AT_SYMLINK_NOFOLLOW) == 0)
		journal_discard_dir(j->dir_fd, "revert.tmp"); /* never became pending: nothing was written */
	for (enum intent_state s = INTENT_PENDING; s <= INTENT_DONE; s++) {
		if (fstatat(j->dir_fd, intent_names[s], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				return log_err(-errno, "%s/%s: %m", j->dir, intent_names[s]);
			continue;
		}
		if (!S_ISDIR(st.st_mode))
			return log_err(-EBADMSG, "%s/%s: unexpected entry in the journal (not a directory)", j->dir,
				       intent_names[s]);
		return read_meta(j, intent_names[s], s);
	}
	return 0;
}

/* ---- writing ---- */

/* NAME in DFD (DIR/NAME in messages): DATA, fsync'ed, 0600. */
static int write_new(int dfd, const char *dir, const char *name, const char *data, size_t len)
{
	_cleanup_close_ int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	int r = fd < 0 ? -errno : write_all(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	return r < 0 ? log_err(r, "%s/%s: %s", dir, name, strerror(-r)) : 0;
}

static int meta_size(const struct journal *j, const struct tx *t, off_t *size)
{
	_cleanup_close_ int tfd = tx_dir_fd(j, t);
	struct stat st;
	if (tfd < 0)
		return log_err(tfd, "%s: %s", t->dir, strerror(-tfd));
	if (fstatat(tfd, "meta", &st, AT_SYMLINK_NOFOLLOW) < 0)
		return log_err(-errno, "%s/meta: %m", t->dir);
	*size = st.st_size;
	return 0;
}

static bool listed(const unsigned *v, size_t n, unsigned id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == id)
			return true;
	return false;
}

/* The meta text of an intent for S, taking out DROP: *TEXT (malloc'd). */
static int render(const struct journal *j, const struct conf_set *s, const unsigned *drop, size_t n_drop, char **text)
{
	size_t len = 0;
	_cleanup_fclose_ FILE *f = open_memstream(text, &len);
	if (!f)
		return -ENOMEM;
	fputs("op25b-revert 1\n", f);
	unsigned modes = 0;
	for (size_t k = 0; k < j->n; k++)
		if (listed(drop, n_drop, j->txs[k].id))
			modes |= j->txs[k].mode;
	for (unsigned m = 1; m <= MODE_ALL; m <<= 1)
		if (modes & m)
			fprintf(f, "mode %s\n", mode_name(m));
	for (size_t i = 0; i < n_drop; i++)
		fprintf(f, "drop %u\n", drop[i]);
	for (size_t k = 0; k < j->n; k++) {
		off_t size = 0;
		int r;
		if (listed(drop, n_drop, j->txs[k].id))
			continue;
		if ((r = meta_size(j, &j->txs[k], &size)) < 0)
			return r;
		fprintf(f, "keep %u %lld\n", j->txs[k].id, (long long)size);
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct conf_file *c = s->files[i];
		char bh[65] = "-", ah[65] = "-";
		struct stat st = { 0 };
		if (!c->new && !c->remove)
			continue;
		/* Its owner and mode now (c->st is what the revert writes). */
		int r = c->existed ? root_stat(s->root, c->path, false, &st) : 0;
		if (r < 0)
			return log_err(r, "%s: %s", c->host_path, strerror(-r));
		if (c->existed)
			sha256_hex(c->old, c->old_len, bh);
		if (!c->remove)
			sha256_hex(c->new, c->new_len, ah);
		fprintf(f, "file existed=%d uid=%u gid=%u mode=%o before=%s after=%s postmap=", c->existed,
			(unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)(st.st_mode & 07777), bh, ah);
		if (c->postmap_type)
			meta_put_value(f, c->postmap_type);
		else
			fputc('-', f);
		fputc(' ', f);
		meta_put_value(f, c->path);
		fputc('\n', f);
	}
	return fflush(f) == 0 ? 0 : -ENOMEM;
}

int journal_intent_begin(struct journal *j, const struct conf_set *s, const unsigned *drop, size_t n_drop)
{
	_cleanup_free_ char *text = NULL, *tmp = strdup_printf("%s/revert.tmp", j->dir);
	int r;
	if (!tmp)
		return -ENOMEM;
	if ((r = render(j, s, drop, n_drop, &text)) < 0)
		return r == -ENOMEM ? log_err(r, "out of memory") : r;
	if (mkdirat(j->dir_fd, "revert.tmp", 0700) < 0)
		return log_err(-errno, "%s: %m", tmp);
	_cleanup_close_ int dfd = openat(j->dir_fd, "revert.tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return log_err(-errno, "%s: %m", tmp);
	if ((r = write_new(dfd, tmp, "meta", text, strlen(text))) < 0)
		return r;
	for (size_t i = 0, k = 0; i < s->n; i++) {
		const struct conf_file *c = s->files[i];
		if (!c->new && !c->remove)
			continue;
		char name[32];
		snprintf(name, sizeof(name), "before.%zu", k++);
		if (c->existed && (r = write_new(dfd, tmp, name, c->old, c->old_len)) < 0)
			return r;
	}
	if (fsync(dfd) < 0)
		return log_err(-errno, "%s: %m", tmp);
	if (renameat(j->dir_fd, "revert.tmp", j->dir_fd, intent_names[INTENT_PENDING]) < 0 || fsync(j->dir_fd) < 0)
		return log_err(-errno, "%s/%s: %m", j->dir, intent_names[INTENT_PENDING]);
	j->intent.state = INTENT_PENDING;
	return 0;
}

int journal_intent_done(struct journal *j)
{
	if (renameat(j->dir_fd, intent_names[INTENT_PENDING], j->dir_fd, intent_names[INTENT_DONE]) < 0 ||
	    fsync(j->dir_fd) < 0)
		return log_err(-errno, "%s/%s: %m", j->dir, intent_names[INTENT_DONE]);
	j->intent.state = INTENT_DONE;
	return 0;
}

int journal_intent_end(struct journal *j)
{
	if (j->intent.state == INTENT_NONE)
		return 0;
	/* As a dropped transaction goes: through revert.tmp, which the next run discards. */
	if (renameat(j->dir_fd, intent_names[j->intent.state], j->dir_fd, "revert.tmp") < 0 || fsync(j->dir_fd) < 0)
		return log_err(-errno, "%s/%s: %m", j->dir, intent_names[j->intent.state]);
	intent_free(&j->intent);
	journal_discard_dir(j->dir_fd, "revert.tmp");
	return fsync(j->dir_fd) < 0 ? log_err(-errno, "%s: %m", j->dir) : 0;
}

int journal_intent_before(const struct journal *j, size_t i, char **data, size_t *len)
{
	char name[32];
	snprintf(name, sizeof(name), "before.%zu", i);
	_cleanup_free_ char *p = strdup_printf("%s/%s/%s", j->dir, intent_names[INTENT_PENDING], name);
	if (!p)
		return -ENOMEM;
	_cleanup_close_ int dfd = openat(j->dir_fd, intent_names[INTENT_PENDING], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int fd = dfd < 0 ? -1 : openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	int r = fd < 0 ? -errno : fd_verify_regular(fd, &st);
	if (r == 0)
		r = read_fd_all(fd, (size_t)st.st_size, data, len);
	if (r < 0)
		return log_err(-EBADMSG, "%s: corrupted journal: %s", p, strerror(-r));
	char h[65];
	sha256_hex(*data, *len, h);
	if (!streq(h, j->intent.files[i].before)) {
		explicit_bzero(*data, *len); /* it may be the map */
		free(*data);
		*data = NULL;
		return log_err(-EBADMSG, "%s: corrupted journal: the copy does not match its recorded hash", p);
	}
	return 0;
}

int journal_intent_cut(struct journal *j)
{
	for (size_t i = 0; i < j->intent.n_keep; i++) {
		const struct intent_keep *k = &j->intent.keep[i];
		const struct tx *t = NULL;
		for (size_t n = 0; n < j->n && !t; n++)
			if (j->txs[n].id == k->id)
				t = &j->txs[n];
		if (!t)
			continue;
		_cleanup_close_ int tfd = tx_dir_fd(j, t);
		_cleanup_close_ int fd = tfd < 0 ? -1 : openat(tfd, "meta", O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || ftruncate(fd, k->meta_size) < 0 || fsync(fd) < 0)
			return log_err(-errno, "%s/meta: %m", t->dir);
	}
	return 0;
}
