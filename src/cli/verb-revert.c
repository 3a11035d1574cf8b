/* op25b revert: give back what was there, and keep what the modes still applied need.
 *
 * Ownership: every transaction records, per file, the edits it made and the nodes it needed as it
 * found them (claims, conffile.h), so each node has an owner set. Reverting a mode works file by
 * file on the chain of transactions that touched the file, oldest first:
 * - when the file is exactly as the newest of them left it and each was made on what the one
 *   before left, the file starts again from the original under the first transaction reverted,
 *   and the edits and claims of every later transaction that stays are replayed on it; those
 *   transactions are rebased in the journal onto that original (so their own revert later gives
 *   the original bytes back, byte for byte);
 * - otherwise (edited since by someone else) only the reverted transactions' own edits are undone
 *   on the current text, except the nodes a staying transaction also owns, and the later edits
 *   stay. */
#include <dirent.h>

#include "aug.h"
#include "conffile.h"
#include "fwstep.h"
#include "journal.h"
#include "plan.h"
#include "postmap.h"
#include "report.h"
#include "restart.h"
#include "txn.h"
#include "rootfs.h"
#include "util.h"
#include "verbs.h"

/* The file as the revert goes: starts as it is on disk, then each transaction's undo is applied to
 * it in memory; only the final content is written. */
static int file_state(struct conf_set *s, const char *path, struct conf_file **out)
{
	struct conf_file *f = conf_find(s, path);
	if (f) {
		*out = f;
		return 0;
	}
	/* 0600 for files op25b created: the only such file with a secret is the password map. */
	int r = conf_open_raw(s, path, 0600, &f);
	if (r < 0)
		return r;
	f->secret = false;
	if (f->existed && !(f->new = malloc(f->old_len + 1)))
		return -ENOMEM;
	if (f->existed) {
		memcpy(f->new, f->old, f->old_len + 1);
		f->new_len = f->old_len;
	}
	*out = f;
	return 0;
}

/* Forget the content planned so far; it may be the password map: wiped, not just freed. */
static void drop_new(struct conf_file *f)
{
	if (f->new)
		explicit_bzero(f->new, f->new_len);
	free(f->new);
	f->new = NULL;
	f->new_len = 0;
}

static int set_content(struct conf_file *f, char *data, size_t len)
{
	drop_new(f);
	f->new = data;
	f->new_len = len;
	return 0;
}

/* Undo EDITS on the current text of F by parsing it with LENS. */
static int undo_edits(struct conf_set *s, struct conf_file *f, const struct tx_file *x, unsigned idx)
{
	char tree[48];
	snprintf(tree, sizeof(tree), "/op25b/undo/%u", idx);
	int r = conf_set_augeas(s);
	if (r < 0 || (r = aug_parse_text(s->aug, x->lens, f->new, tree, f->host_path)) < 0)
		return r;
	struct conf_file scratch = { .path = f->path };
	snprintf(scratch.tree, sizeof(scratch.tree), "%s", tree);
	int skipped = conf_undo(s, &scratch, x->edits, x->n_edits);
	if (skipped < 0)
		return skipped;
	char *text = NULL;
	if ((r = aug_render_text(s->aug, x->lens, f->new, tree, f->host_path, &text)) < 0)
		return r;
	sym_aug_rm(s->aug, tree);
	log_info("%s: changed since op25b wrote it: undid op25b's %zu edit%s, kept the rest%s", f->path,
		 x->n_edits - (size_t)skipped, x->n_edits - (size_t)skipped == 1 ? "" : "s",
		 skipped ? " (some edits were changed by someone else and left)" : "");
	f->merged = true;
	return set_content(f, text, strlen(text));
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

/* The journal names only files in the directories op25b manages: Postfix's and Dovecot's, the
 * firewalld zones, the certbot deploy hook of apply --domain, and the password map (a table source holding a secret, wherever --password-map
 * put it); never the state dir. Anything else is a journal that is not op25b's to trust. */
static int check_managed(const struct request *o, const struct tx *t, const struct tx_file *x)
{
	bool ok = (under(x->path, o->target.postfix_dir) || under(x->path, o->target.dovecot_dir) ||
		   under(x->path, "/etc/firewalld/zones") || (x->postmap_type && x->secret) ||
		   streq(x->path, CERTBOT_HOOK)) &&
		  !under(x->path, o->target.state_dir);
	if (ok)
		return 0;
	return log_err(-EINVAL, "%s/meta: %s: not in a directory op25b manages (--postfix-dir=%s, --dovecot-dir=%s, "
				"/etc/firewalld/zones, " CERTBOT_HOOK "); refusing to revert anything", t->dir, x->path, o->target.postfix_dir,
		       o->target.dovecot_dir);
}

/* One transaction's record of a file. */
struct link {
	struct tx *t;
	size_t i;
};

static const struct tx_file *rec(const struct link *l)
{
	return &l->t->files[l->i];
}

static bool reverted(const struct tx *t, unsigned modes)
{
	return (t->mode & modes) || t->pending;
}

/* Edits from staying transactions of C own their nodes: X's edit at PATH is kept. */
static bool owned_by_staying(const struct link *c, size_t n, unsigned modes, const char *path)
{
	for (size_t k = 0; k < n; k++)
		if (!reverted(c[k].t, modes))
			for (size_t e = 0; e < rec(&c[k])->n_edits; e++)
				if (streq(rec(&c[k])->edits[e].path, path))
					return true;
	return false;
}

/* The old way, for a file someone else changed since: undo X's own edits on the current text. */
static int revert_dirty(struct conf_set *s, const struct journal *j, const struct link *c, size_t n, size_t k,
			unsigned modes, unsigned *seq)
{
	const struct tx_file *x = rec(&c[k]);
	struct conf_file *f;
	int r = file_state(s, x->path, &f);
	if (r < 0)
		return r;
	if (x->postmap_type && !f->postmap_type && !(f->postmap_type = strdup(x->postmap_type)))
		return -ENOMEM;
	f->secret |= x->secret;
	bool shared = false;
	for (size_t m = 0; m < n; m++)
		shared |= !reverted(c[m].t, modes);
	bool present = f->new != NULL;
	char h[65] = "-";
	if (present)
		sha256_hex(f->new, f->new_len, h);

	if (present && streq(h, x->new_hash) && !shared) {
		if (!x->existed) {
			drop_new(f);
			return 0;
		}
		char *orig;
		size_t len;
		if ((r = journal_original(j, c[k].t, c[k].i, &orig, &len)) < 0)
			return r;
		/* Owner and mode as they were. */
		f->st.st_uid = x->uid;
		f->st.st_gid = x->gid;
		f->st.st_mode = (f->st.st_mode & ~07777u) | x->mode;
		return set_content(f, orig, len);
	}
	if (present && x->existed && streq(h, x->orig_hash))
		return 0; /* already as it was (e.g. an interrupted run) */
	if (!present) {
		if (x->existed)
			log_warn("%s: removed since op25b changed it; not recreated", x->path);
		return 0;
	}
	if (!x->lens) {
		if (!shared)
			log_warn("%s: changed since op25b wrote it; left as it is", x->path);
		return 0;
	}
	/* A node another staying mode also owns stays. */
	struct tx_file mine = *x;
	_cleanup_free_ struct edit *kept = calloc(x->n_edits + 1, sizeof(*kept));
	if (!kept)
		return -ENOMEM;
	mine.n_edits = 0;
	for (size_t e = 0; e < x->n_edits; e++)
		if (!owned_by_staying(c, n, modes, x->edits[e].path))
			kept[mine.n_edits++] = x->edits[e];
	mine.edits = kept;
	return undo_edits(s, f, &mine, (*seq)++);
}

/* What a revert writes into the journal for a staying transaction (journal_rebase). */
struct rebase {
	struct tx *t;
	size_t i;
	bool existed;
	uid_t uid;
	gid_t gid;
	mode_t mode;
	char *orig;
	size_t orig_len;
	char new_hash[65];
	struct edit *edits;
	size_t n_edits;
};

struct rebases {
	struct rebase *v;
	size_t n;
};

static void rebases_done(struct rebases *rb)
{
	for (size_t i = 0; i < rb->n; i++) {
		free(rb->v[i].orig);
		for (size_t e = 0; e < rb->v[i].n_edits; e++)
			edit_free(&rb->v[i].edits[e]);
		free(rb->v[i].edits);
	}
	free(rb->v);
	*rb = (struct rebases){ 0 };
}

/* Replay X's edits and claims on TEXT (parsed with X's lens), as the planning made them: the
 * rebased edits go to R, the new text to *OUT. 0, or -EBADMSG when they no longer fit. */
static int replay(struct conf_set *s, const struct conf_file *f, const struct tx_file *x, const char *text,
		  unsigned idx, struct rebase *rb, char **out)
{
	char tree[48];
	snprintf(tree, sizeof(tree), "/op25b/replay/%u", idx);
	int r = conf_set_augeas(s);
	if (r < 0 || (r = aug_parse_text(s->aug, x->lens, text, tree, f->host_path)) < 0)
		return r;
	struct conf_file scratch = { .path = f->path };
	snprintf(scratch.tree, sizeof(scratch.tree), "%s", tree);
	for (size_t e = 0; r == 0 && e < x->n_edits; e++) {
		const struct edit *ed = &x->edits[e];
		bool here = false, anchored = false;
		const char *v;
		if (ed->anchor && !ed->before_present && (r = conf_get(s, &scratch, ed->path, &here, &v)) == 0 && !here)
			r = conf_get(s, &scratch, ed->anchor, &anchored, &v);
		if (r < 0)
			break;
		/* A node inserted next to another goes there again when that one is there. */
		if (anchored)
			r = conf_insert(s, &scratch, ed->anchor, ed->anchor_before, ed->path);
		else
			r = ed->after_present ? conf_set(s, &scratch, ed->path, ed->after)
					      : conf_remove(s, &scratch, ed->path);
	}
	if (r == 0)
		r = aug_render_text(s->aug, x->lens, text, tree, f->host_path, out);
	sym_aug_rm(s->aug, tree);
	rb->edits = scratch.edits;
	rb->n_edits = scratch.n_edits;
	return r < 0 ? -EBADMSG : 0;
}

/* The clean case (see the top): 1 done, 0 when it does not apply (the caller does it the old way). */
static int revert_clean(struct conf_set *s, const struct journal *j, const struct link *c, size_t n,
			unsigned modes, unsigned *seq, struct rebases *out)
{
	size_t d = 0;
	while (d < n && !reverted(c[d].t, modes))
		d++;
	const struct tx_file *base = rec(&c[d]), *last = rec(&c[n - 1]);
	struct conf_file *f;
	int r = file_state(s, base->path, &f);
	if (r < 0)
		return r;
	char h[65];
	if (!f->new)
		return 0;
	sha256_hex(f->new, f->new_len, h);
	if (!streq(h, last->new_hash))
		return 0;
	for (size_t k = d + 1; k < n; k++)
		if (!rec(&c[k])->existed || !streq(rec(&c[k])->orig_hash, rec(&c[k - 1])->new_hash))
			return 0;

	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	bool present = base->existed;
	if (present && (r = journal_original(j, c[d].t, c[d].i, &text, &len)) < 0)
		return r;
	uid_t uid = base->uid;
	gid_t gid = base->gid;
	mode_t mode = base->mode;
	struct rebases mine = { 0 };
	for (size_t k = d + 1; k < n; k++) {
		const struct tx_file *x = rec(&c[k]);
		if (reverted(c[k].t, modes))
			continue;
		struct rebase *nv = realloc(mine.v, (mine.n + 1) * sizeof(*nv));
		if (!nv) {
			rebases_done(&mine);
			return -ENOMEM;
		}
		mine.v = nv;
		struct rebase *rb = &nv[mine.n++];
		*rb = (struct rebase){ .t = c[k].t, .i = c[k].i, .existed = present, .uid = uid, .gid = gid, .mode = mode };
		if (present && !(rb->orig = malloc(len + 1))) {
			rebases_done(&mine);
			return -ENOMEM;
		}
		if (present)
			memcpy(rb->orig, text, len + 1), rb->orig_len = len;
		char *next = NULL;
		if (x->lens) {
			r = replay(s, f, x, present ? text : "", (*seq)++, rb, &next);
		} else if (k == n - 1) {
			/* A whole file (the drop-in, the map) the newest transaction wrote or needs: as it is. */
			r = (next = strndup(f->new, f->new_len)) ? 0 : -ENOMEM;
		} else {
			r = -EBADMSG;
		}
		if (r < 0) {
			rebases_done(&mine);
			return r == -EBADMSG ? 0 : r;
		}
		free(text);
		text = next;
		len = strlen(next);
		sha256_hex(text, len, rb->new_hash);
		present = true;
		/* What it was made on now is the file: its owner and mode from here on. */
		uid = f->st.st_uid;
		gid = f->st.st_gid;
		mode = f->st.st_mode & 07777;
	}
	if (!present) {
		drop_new(f);
	} else {
		if (!mine.n) {
			/* Owner and mode as they were. */
			f->st.st_uid = base->uid;
			f->st.st_gid = base->gid;
			f->st.st_mode = (f->st.st_mode & ~07777u) | base->mode;
		}
		set_content(f, TAKE_PTR(text), len);
	}
	/* Hand the rebases over. */
	struct rebase *nv = realloc(out->v, (out->n + mine.n + 1) * sizeof(*nv));
	if (!nv) {
		rebases_done(&mine);
		return -ENOMEM;
	}
	out->v = nv;
	if (mine.n)
		memcpy(out->v + out->n, mine.v, mine.n * sizeof(*nv));
	out->n += mine.n;
	free(mine.v);
	return 1;
}

/* Revert PATH: the transactions that touched it, oldest first, go through one of the two ways. */
static int revert_path(struct conf_set *s, struct journal *j, const char *path, unsigned modes, unsigned *seq,
		       struct rebases *rb)
{
	_cleanup_free_ struct link *c = calloc(j->n + 1, sizeof(*c));
	size_t n = 0;
	if (!c)
		return -ENOMEM;
	for (size_t k = 0; k < j->n; k++)
		for (size_t i = 0; i < j->txs[k].n; i++)
			if (streq(j->txs[k].files[i].path, path)) {
				c[n++] = (struct link){ &j->txs[k], i };
				break;
			}
	struct conf_file *f;
	int r = file_state(s, path, &f);
	if (r < 0)
		return r;
	for (size_t k = 0; k < n; k++) {
		if (rec(&c[k])->postmap_type && !f->postmap_type && !(f->postmap_type = strdup(rec(&c[k])->postmap_type)))
			return -ENOMEM;
		f->secret |= rec(&c[k])->secret;
	}
	r = revert_clean(s, j, c, n, modes, seq, rb);
	for (size_t k = n; r == 0 && k-- > 0;)
		if (reverted(c[k].t, modes))
			r = revert_dirty(s, j, c, n, k, modes, seq);
	return r < 0 ? r : 0;
}

/* A run killed between creating its temporary file and renaming it over a file (atomic.c) leaves
 * ".NAME.op25b-XXXXXX" beside it, which may hold the password: revert removes those of its files. */
static void remove_stale_temps(const struct conf_set *s, const struct conf_file *f)
{
	_cleanup_free_ char *name = NULL, *dir = strdup(f->path);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	if (!slash)
		return;
	*slash = '\0';
	int dfd = root_open_parent(s->root, f->path, false, 0, &name);
	_cleanup_free_ char *prefix = name ? strdup_printf(".%s.op25b-", name) : NULL;
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!prefix || !d) {
		if (d)
			closedir(d);
		else if (dfd >= 0)
			close(dfd);
		return;
	}
	size_t n = strlen(prefix);
	struct dirent *de;
	while ((de = readdir(d)))
		if (strncmp(de->d_name, prefix, n) == 0 && strlen(de->d_name) == n + 6) {
			if (unlinkat(dirfd(d), de->d_name, 0) < 0)
				log_warn("%s/%s: left by an interrupted run; cannot remove it: %m", dir, de->d_name);
			else
				log_debug("removed %s/%s, left by an interrupted run", dir, de->d_name);
		}
	closedir(d);
}

/* Turn the in-memory results into the write plan of txn_write(): changed content, or removal. */
static void finalize(struct conf_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct conf_file *f = s->files[i];
		bool same = f->existed && f->new && f->new_len == f->old_len && memcmp(f->new, f->old, f->old_len) == 0;
		if (!f->new && f->existed) {
			f->remove = true;
		} else if (same || (!f->new && !f->existed)) {
			drop_new(f);
		}
	}
}

/* revert --origin=NAME (the package's %preun): of MODES, the ones NAME alone applied. Every other
 * applied mode stays, with one line each (on stderr, --quiet or not: whoever erases the package
 * learns what still runs): one applied by hand, or re-applied by hand on top of NAME's (then it is
 * the admin's too), or one --mode (maybe op25b.conf's mode) did not name. */
static unsigned modes_of_origin(const struct journal *j, unsigned modes, const char *origin)
{
	unsigned keep = 0;
	for (unsigned m = 1; m <= MODE_ALL; m <<= 1) {
		const char *v[8];
		size_t n = journal_origins(j, m, v, 8);
		bool only = n == 1 && v[0] && streq(v[0], origin), also = false;
		if (n == 0)
			continue;
		if (only && (modes & m)) {
			keep |= m;
			continue;
		}
		for (size_t i = 0; i < n; i++)
			also |= v[i] && streq(v[i], origin);
		log_warn("%s: left applied: %s (revert it with 'op25b revert --mode=%s')", mode_name(m),
			 only ? "--mode names another mode" : also ? "applied by hand too" : "applied by hand",
			 mode_name(m));
	}
	return keep;
}

static int revert(const struct request *o, struct report *rep)
{
	_cleanup_(journal_close) struct journal j = { .lock_fd = -1 };
	_cleanup_(conf_set_done) struct conf_set s = { .root = o->target.root, .postfix_dir = o->target.postfix_dir, .state_dir = o->target.state_dir };
	_cleanup_(fw_report_done) struct fw_report fw = { 0 };
	struct restart_report units = { 0 };
	_cleanup_(rebases_done) struct rebases rb = { 0 };
	unsigned modes = o->modes ? o->modes : MODE_ALL, seq = 0, done = 0;
	struct fw_ctx fwc;
	int r;

	request_fw_ctx(o, &fwc);

	if ((r = journal_open(&j, o->target.root, o->target.state_dir, false, o->target.timeout_sec)) < 0)
		return exit_status_of(r);
	if (o->origin)
		modes = modes_of_origin(&j, modes, o->origin);

	for (size_t k = 0; k < j.n; k++)
		for (size_t i = 0; i < j.txs[k].n; i++)
			if ((r = check_managed(o, &j.txs[k], &j.txs[k].files[i])) < 0)
				return exit_status_of(r);
	/* Each file once, in the order the newest transactions name them. */
	for (size_t k = j.n; k-- > 0;) {
		const struct tx *t = &j.txs[k];
		if (!reverted(t, modes))
			continue;
		for (size_t i = 0; i < t->n; i++)
			if (!conf_find(&s, t->files[i].path) &&
			    (r = revert_path(&s, &j, t->files[i].path, modes, &seq, &rb)) < 0)
				return exit_status_of(r);
		done |= t->mode;
	}
	if (!done) {
		log_info("nothing to revert");
		return EXIT_DONE;
	}
	finalize(&s);
	report_modes(rep, "modes", done);
	report_files(rep, &s, true);
	report_bool(rep, "changed", true);
	if (o->dry_run && o->json) {
		report_diff(rep, &s);
		return EXIT_DONE;
	}
	if (o->dry_run) {
		/* The diff shows the way back: from what is there now to what revert would write. */
		return txn_print_diff(&s) < 0 ? EXIT_FAIL : EXIT_DONE;
	}
	if ((r = txn_write(&s)) < 0) {
		report_bool(rep, "changed", false);
		return log_err(EXIT_FAIL, "revert failed; the files were left as they were");
	}
	for (size_t i = 0; i < s.n; i++) {
		struct conf_file *f = s.files[i];
		remove_stale_temps(&s, f);
		/* A table source op25b created is gone (maybe by an interrupted revert that did not get
		 * to its compiled table): the table goes too. */
		if (f->postmap_type && !f->existed && !f->new && (r = postmap_remove(s.root, f->postmap_type, f->path)) < 0)
			log_warn("%s: its compiled table could not be removed", f->path);
	}
	r = restart_changed(&o->target, o->no_restart, &s, NULL, &units);
	report_units(rep, &units);
	if (r < 0) {
		if (txn_rollback(&s) == 0) {
			report_bool(rep, "changed", false);
			restart_changed(&o->target, o->no_restart, &s, NULL, NULL);
			return log_err(EXIT_FAIL, "revert failed: a service did not come back; the files were put back as "
						  "they were before the revert");
		}
		return log_err(EXIT_FAIL, "revert failed and the files could not all be put back: see above");
	}
	/* The modes that stay now start from what is left of the original. */
	for (size_t i = 0; i < rb.n; i++) {
		struct rebase *b = &rb.v[i];
		if ((r = journal_rebase(&j, b->t, b->i, b->existed, b->uid, b->gid, b->mode, b->orig, b->orig_len,
					b->new_hash, b->edits, b->n_edits)) < 0)
			return log_err(EXIT_FAIL, "the files were reverted, but the journal could not be updated: "
						  "run 'op25b revert' again");
	}
	for (size_t k = j.n; k-- > 0;)
		if (reverted(&j.txs[k], modes)) {
			if (fw_step_close(&fwc, &j.txs[k], &fw) < 0)
				log_warn("the firewall services above are still open: close them with firewall-cmd");
			if ((r = journal_drop(&j, &j.txs[k])) < 0)
				return log_err(EXIT_FAIL, "the files were reverted, but the journal could not be cleared: "
							  "run 'op25b revert' again");
		}
	report_firewall(rep, &fw);
	for (size_t i = 0; i < s.n; i++)
		if (s.files[i]->new || s.files[i]->remove)
			log_info("%s %s", s.files[i]->remove ? "removed" : s.files[i]->merged ? "updated" : "restored",
				 s.files[i]->path);
	for (unsigned m = 1; m <= MODE_ALL; m <<= 1)
		if (done & m)
			log_info("%s: reverted", mode_name(m));
	if (!txn_has_changes(&s))
		log_info("the files already were as before");
	return EXIT_DONE;
}

int verb_revert(const struct request *o)
{
	struct report rep;
	report_init(&rep, o, "revert");
	report_modes(&rep, "modes", 0);
	report_set(&rep, "files", json_array());
	report_set(&rep, "units", json_array());
	return report_end(&rep, revert(o, &rep));
}
