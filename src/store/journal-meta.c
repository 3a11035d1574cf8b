/* The meta file of a transaction (journal-internal.h): one line per fact, "KEYWORD VALUE...",
 * read strictly: a line op25b did not write is a corrupted journal, never a guess. */
#include "journal-internal.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "rootfs.h"
#include "settings.h"
#include "util.h"

/* ---- values: %XX for bytes <= ' ', '%' and DEL ---- */

void meta_put_value(FILE *f, const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c <= ' ' || *c == '%' || *c == 0x7f)
			fprintf(f, "%%%02X", *c);
		else
			fputc(*c, f);
}

char *meta_dec(const char *s)
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
		meta_put_value(f, value);
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
	*value = meta_dec(tok + 1);
	return *value ? 0 : -EBADMSG;
}

void meta_put_edit(FILE *f, size_t i, const struct edit *e)
{
	fprintf(f, "edit %zu ", i);
	meta_put_value(f, e->path);
	state_put(f, e->before_present, e->before);
	state_put(f, e->after_present, e->after);
	if (e->anchor) {
		fprintf(f, " %s:", e->anchor_before ? "before" : "after");
		meta_put_value(f, e->anchor);
	}
	fputc('\n', f);
}

/* ---- reading: one parser per keyword ---- */

/* The line being read: its tokens after the keyword (strtok_r's SAVE), and where it is. */
struct meta_line {
	char *save;
	const char *meta;
	unsigned ln;
};

static char *next(struct meta_line *l)
{
	return strtok_r(NULL, " ", &l->save);
}

static int meta_error(const struct meta_line *l, const char *what)
{
	return log_err(-EBADMSG, "%s:%u: corrupted journal: %s (remove the state directory only if you "
				 "know the files are as you want them)", l->meta, l->ln, what);
}

static int parse_mode(struct tx *t, struct meta_line *l)
{
	const char *m = next(l);
	if (!m || mode_parse(m, &t->mode) < 0)
		return meta_error(l, "unknown mode");
	return 0;
}

static int parse_options(struct tx *t, struct meta_line *l)
{
	const char *h = next(l);
	snprintf(t->opts_hash, sizeof(t->opts_hash), "%s", h ? h : "");
	return 0;
}

static int parse_state(struct tx *t, struct meta_line *l)
{
	const char *h = next(l), *na = next(l);
	snprintf(t->state_hash, sizeof(t->state_hash), "%s", h ? h : "");
	/* Optional; anything odd reads as unknown, which only costs a fresh check. */
	char *end = NULL;
	long long v = na ? strtoll(na, &end, 10) : 0;
	t->cert_not_after = end && *end == '\0' && v > 0 ? (time_t)v : 0;
	return 0;
}

static int parse_steps(struct tx *t, struct meta_line *l)
{
	const char *rs = next(l), *fw = next(l);
	const char *zone = next(l);
	if (!zone || (!streq(rs, "restart=0") && !streq(rs, "restart=1")) ||
	    (!streq(fw, "firewall=0") && !streq(fw, "firewall=1")) || strncmp(zone, "zone=", 5) ||
	    !is_config_token(zone + 5))
		return meta_error(l, "bad steps line");
	t->restarted = rs[8] == '1';
	t->firewall = fw[9] == '1';
	free(t->zone);
	t->zone = NULL;
	if (!streq(zone + 5, "-") && !(t->zone = strdup(zone + 5)))
		return -ENOMEM;
	return 0;
}

static int parse_origin(struct tx *t, struct meta_line *l)
{
	const char *who = next(l);
	if (!who || !is_config_token(who) || next(l))
		return meta_error(l, "bad origin line");
	free(t->origin);
	if (!(t->origin = strdup(who)))
		return -ENOMEM;
	return 0;
}

/* What a file line and a rebase line both say: the file as it was before (existed, owner, mode)
 * and its hashes ("orig=H", "new=H", checked by the caller). */
static void set_start(struct tx_file *x, unsigned ex, unsigned uid, unsigned gid, unsigned mode, const char *orig,
		      const char *new)
{
	x->existed = ex;
	x->uid = uid;
	x->gid = gid;
	x->mode = mode;
	snprintf(x->orig_hash, sizeof(x->orig_hash), "%s", orig + 5);
	snprintf(x->new_hash, sizeof(x->new_hash), "%s", new + 4);
}

/* "file existed= uid= gid= mode= secret= orig= new= lens= PATH" */
static int parse_file(struct tx *t, struct meta_line *l)
{
	struct tx_file *nf = realloc(t->files, (t->n + 1) * sizeof(*nf));
	if (!nf)
		return -ENOMEM;
	t->files = nf;
	struct tx_file *x = &nf[t->n++];
	*x = (struct tx_file){ 0 };
	unsigned uid, gid, mode, ex, sec;
	char *tok[8];
	for (int i = 0; i < 8; i++)
		tok[i] = next(l);
	if (!tok[7] || sscanf(tok[0], "existed=%u", &ex) != 1 || sscanf(tok[1], "uid=%u", &uid) != 1 ||
	    sscanf(tok[2], "gid=%u", &gid) != 1 || sscanf(tok[3], "mode=%o", &mode) != 1 ||
	    sscanf(tok[4], "secret=%u", &sec) != 1 || strncmp(tok[5], "orig=", 5) ||
	    strncmp(tok[6], "new=", 4) || strncmp(tok[7], "lens=", 5))
		return meta_error(l, "bad file line");
	const char *path = next(l);
	if (!path || path[0] != '/')
		return meta_error(l, "bad file path");
	x->secret = sec;
	set_start(x, ex, uid, gid, mode, tok[5], tok[6]);
	x->path = meta_dec(path);
	x->lens = streq(tok[7] + 5, "-") ? NULL : strdup(tok[7] + 5);
	if (!x->path || (!x->lens && !streq(tok[7] + 5, "-")))
		return -ENOMEM;
	/* Files are written beneath the root (rootfs.h); "..", "." and "//" have no place in
	 * a path op25b recorded itself. */
	if (!path_is_clean(x->path))
		return meta_error(l, "bad file path (not a clean absolute path)");
	return 0;
}

/* "edit I PATH BEFORE AFTER [after:ANCHOR|before:ANCHOR]", for file I read before it. */
static int parse_edit(struct tx *t, struct meta_line *l)
{
	const char *idx = next(l), *p = next(l);
	const char *b = next(l), *a = next(l);
	char *end;
	unsigned long i = idx ? strtoul(idx, &end, 10) : 0;
	if (!a || *end || i >= t->n)
		return meta_error(l, "bad edit line");
	bool bp, ap;
	_cleanup_free_ char *bv = NULL, *av = NULL, *pd = meta_dec(p);
	if (!pd || state_get(b, &bp, &bv) < 0 || state_get(a, &ap, &av) < 0)
		return meta_error(l, "bad edit value");
	struct tx_file *x = &t->files[i];
	if (edit_append(&x->edits, &x->n_edits, pd, bp, bv, ap, av) < 0)
		return -ENOMEM;
	const char *an = next(l);
	if (an) {
		bool before = strncmp(an, "before:", 7) == 0;
		if (!before && strncmp(an, "after:", 6))
			return meta_error(l, "bad edit anchor");
		struct edit *e = &x->edits[x->n_edits - 1];
		e->anchor_before = before;
		if (!(e->anchor = meta_dec(an + (before ? 7 : 6))))
			return meta_error(l, "bad edit anchor");
	}
	return 0;
}

/* "rebase I existed= uid= gid= mode= orig= new= copy=": file I starts again from another
 * original (a revert took out a transaction under it); its edits follow. */
static int parse_rebase(struct tx *t, struct meta_line *l)
{
	char *tok[8];
	unsigned uid, gid, mode, ex;
	char *end;
	for (int i = 0; i < 8; i++)
		tok[i] = next(l);
	unsigned long i = tok[0] ? strtoul(tok[0], &end, 10) : 0;
	if (!tok[7] || *end || i >= t->n || sscanf(tok[1], "existed=%u", &ex) != 1 ||
	    sscanf(tok[2], "uid=%u", &uid) != 1 || sscanf(tok[3], "gid=%u", &gid) != 1 ||
	    sscanf(tok[4], "mode=%o", &mode) != 1 || strncmp(tok[5], "orig=", 5) ||
	    strncmp(tok[6], "new=", 4) || strncmp(tok[7], "copy=base.", 10) || strchr(tok[7] + 5, '/'))
		return meta_error(l, "bad rebase line");
	struct tx_file *x = &t->files[i];
	set_start(x, ex, uid, gid, mode, tok[5], tok[6]);
	free(x->copy);
	if (!(x->copy = strdup(tok[7] + 5)))
		return -ENOMEM;
	for (size_t k = 0; k < x->n_edits; k++)
		edit_free(&x->edits[k]);
	x->n_edits = 0;
	t->rebases++;
	return 0;
}

static int parse_postmap(struct tx *t, struct meta_line *l)
{
	const char *idx = next(l), *type = next(l);
	char *end;
	unsigned long i = idx ? strtoul(idx, &end, 10) : 0;
	if (!type || *end || i >= t->n || !is_config_token(type))
		return meta_error(l, "bad postmap line");
	free(t->files[i].postmap_type);
	if (!(t->files[i].postmap_type = strdup(type)))
		return -ENOMEM;
	return 0;
}

static int parse_firewall(struct tx *t, struct meta_line *l)
{
	const char *zone = next(l), *svc = next(l);
	const char *layers = next(l);
	unsigned n;
	if (!layers || sscanf(layers, "%u", &n) != 1 || !is_config_token(zone) || !is_config_token(svc))
		return meta_error(l, "bad firewall line");
	struct tx_fw *nf = realloc(t->fw, (t->n_fw + 1) * sizeof(*nf));
	if (!nf)
		return -ENOMEM;
	t->fw = nf;
	nf[t->n_fw] = (struct tx_fw){ .name = strdup(svc), .layers = n };
	if (!nf[t->n_fw++].name)
		return -ENOMEM;
	if (!t->fw_zone && !(t->fw_zone = strdup(zone)))
		return -ENOMEM;
	return 0;
}

static int parse_time(struct tx *t _unused_, struct meta_line *l _unused_)
{
	return 0; /* when it was written: for people reading the file */
}

static const struct {
	const char *keyword;
	int (*parse)(struct tx *t, struct meta_line *l);
} parsers[] = {
	{ "mode", parse_mode },       { "options", parse_options }, { "state", parse_state },
	{ "steps", parse_steps },     { "origin", parse_origin },   { "file", parse_file },
	{ "edit", parse_edit },       { "rebase", parse_rebase },   { "postmap", parse_postmap },
	{ "firewall", parse_firewall }, { "time", parse_time },
};

/* The meta file, opened read-only beneath TXFD: a regular file, never a FIFO or a link. */
static int meta_open(int txfd, const char *name, const char *meta, FILE **ret)
{
	_cleanup_close_ int tfd = openat(txfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int fd = tfd < 0 ? -1 : openat(tfd, "meta", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		return meta_error(&(struct meta_line){ .meta = meta }, "not a regular file");
	}
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!f) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return log_err(-e, "%s: %s", meta, strerror(e));
	}
	*ret = f;
	return 0;
}

int tx_load(int txfd, const char *dir, const char *name, struct tx *t, off_t limit)
{
	_cleanup_free_ char *meta = strdup_printf("%s/%s/meta", dir, name);
	if (!meta)
		return -ENOMEM;
	_cleanup_fclose_ FILE *f = NULL;
	int r = meta_open(txfd, name, meta, &f);
	if (r < 0)
		return r;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	struct meta_line l = { .meta = meta };
	/* LIMIT: the lines a pending revert intent added are not read (journal-intent.c). */
	while ((limit < 0 || ftello(f) < limit) && getline(&line, &cap, f) > 0) {
		l.ln++;
		line[strcspn(line, "\n")] = '\0';
		l.save = NULL;
		char *kw = strtok_r(line, " ", &l.save);
		if (!kw)
			continue;
		if (l.ln == 1) {
			if (!streq(kw, "op25b-journal") || !streq(next(&l), "1"))
				return meta_error(&l, "not an op25b journal of version 1");
			continue;
		}
		size_t i = 0;
		while (i < ELEMENTSOF(parsers) && !streq(kw, parsers[i].keyword))
			i++;
		if (i == ELEMENTSOF(parsers))
			return meta_error(&l, "unknown line");
		if ((r = parsers[i].parse(t, &l)) < 0)
			return r;
	}
	if (l.ln == 0 || t->mode == 0)
		return meta_error(&l, "incomplete");
	return 0;
}

int meta_append(const struct journal *j, const struct tx *t, char **meta, FILE **f)
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
