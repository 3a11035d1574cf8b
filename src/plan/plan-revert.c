/* Revert's plan: give back what was there, and keep what the modes still applied need.
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
 *   stay.
 * A firewalld zone (a whole file, no lens: its content is the services of the modes applied) goes
 * the same two ways by service: the clean way adds to the original (or to the stock zone, when the
 * first transaction reverted created it) the services each staying transaction added; the other
 * way takes out of the current text the services the reverted transactions' modes open that were
 * not in the zone they were made on, but those a staying mode opens. */
#include "plan-revert.h"

#include "aug.h"
#include "firewall.h"
#include "plan.h"
#include "strv.h"
#include "util.h"

bool revert_takes(const struct tx *t, unsigned modes)
{
	return (t->mode & modes) || t->pending;
}

/* The file as the revert goes starts as it is on disk (what the verb read); each transaction's
 * undo is applied to it in memory. */
static int file_start(struct conf_file *f)
{
	f->secret = false;
	if (!f->existed)
		return 0;
	if (!(f->new = malloc(f->old_len + 1)))
		return -ENOMEM;
	memcpy(f->new, f->old, f->old_len + 1);
	f->new_len = f->old_len;
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

static void set_content(struct conf_file *f, char *data, size_t len)
{
	drop_new(f);
	f->new = data;
	f->new_len = len;
}

/* Owner and mode as they were before X, when the file has the ones op25b gave it: op25b keeps a
 * file's owner and mode, except the password map's (root:root 0600, plan-submission.c). An owner
 * or mode someone set since stays, as their edits do (an admin's chmod 640 main.cf). */
static void restore_owner(struct conf_file *f, const struct tx_file *x)
{
	bool map = x->postmap_type != NULL;
	uid_t uid = map ? 0 : x->uid;
	gid_t gid = map ? 0 : x->gid;
	mode_t mode = map ? 0600 : x->mode;
	if (f->st.st_uid != uid || f->st.st_gid != gid || (f->st.st_mode & 07777) != mode)
		return;
	f->st.st_uid = x->uid;
	f->st.st_gid = x->gid;
	f->st.st_mode = (f->st.st_mode & ~07777u) | x->mode;
}

/* X's edits undone on TEXT (F's, parsed with X's lens) into *OUT: the number of edits skipped
 * because someone changed them since, or an error. */
static int undo_text(struct conf_set *s, const struct conf_file *f, const struct tx_file *x, unsigned idx,
		     const char *text, char **out)
{
	char tree[48];
	snprintf(tree, sizeof(tree), "/op25b/undo/%u", idx);
	int r = conf_set_augeas(s);
	if (r < 0 || (r = aug_parse_text(s->aug, x->lens, text, tree, f->host_path)) < 0)
		return r;
	struct conf_file scratch = { .path = f->path };
	snprintf(scratch.tree, sizeof(scratch.tree), "%s", tree);
	int skipped = conf_undo(s, &scratch, x->edits, x->n_edits);
	if (skipped >= 0 && (r = aug_render_text(s->aug, x->lens, text, tree, f->host_path, out)) < 0)
		skipped = r;
	sym_aug_rm(s->aug, tree);
	return skipped;
}

/* Undo EDITS on the current text of F by parsing it with LENS. */
static int undo_edits(struct conf_set *s, struct conf_file *f, const struct tx_file *x, unsigned idx)
{
	char *text = NULL;
	int skipped = undo_text(s, f, x, idx, f->new, &text);
	if (skipped < 0)
		return skipped;
	log_info("%s: changed since op25b wrote it: undid op25b's %zu edit%s, kept the rest%s", f->path,
		 x->n_edits - (size_t)skipped, x->n_edits - (size_t)skipped == 1 ? "" : "s",
		 skipped ? " (some edits were changed by someone else and left)" : "");
	f->merged = true;
	set_content(f, text, strlen(text));
	return 0;
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
static int check_managed(const struct target *o, const struct tx *t, const struct tx_file *x)
{
	bool ok = (under(x->path, o->postfix_dir) || under(x->path, o->dovecot_dir) ||
		   under(x->path, "/etc/firewalld/zones") || (x->postmap_type && x->secret) ||
		   streq(x->path, CERTBOT_HOOK)) &&
		  !under(x->path, o->state_dir);
	if (ok)
		return 0;
	return log_err(-EINVAL, "%s/meta: %s: not in a directory op25b manages (--postfix-dir=%s, --dovecot-dir=%s, "
				"/etc/firewalld/zones, " CERTBOT_HOOK "); refusing to revert anything", t->dir, x->path, o->postfix_dir,
		       o->dovecot_dir);
}

int revert_check_managed(const struct journal *j, const struct target *t)
{
	for (size_t k = 0; k < j->n; k++)
		for (size_t i = 0; i < j->txs[k].n; i++) {
			int r = check_managed(t, &j->txs[k], &j->txs[k].files[i]);
			if (r < 0)
				return r;
		}
	return 0;
}

/* One transaction's record of a file: transaction K of the journal, its file I. */
struct link {
	const struct tx *t;
	size_t k, i;
};

static const struct tx_file *rec(const struct link *l)
{
	return &l->t->files[l->i];
}

/* What the plan works with while it goes. */
struct planner {
	struct conf_set *s;
	const struct journal *j;
	unsigned modes;
	const struct revert_originals *orig;
	unsigned seq;                 /* names the scratch trees */
};

static int original(const struct planner *p, const struct link *l, char **data, size_t *len)
{
	return p->orig->read(p->orig->userdata, l->t, l->i, data, len);
}

/* The file as the clean way rebuilds it: its text so far, and the owner and mode it has. */
struct rebuilt {
	char *text;
	size_t len;
	bool present;
	uid_t uid;
	gid_t gid;
	mode_t mode;
};

/* ---------------------------------------------------------------- firewalld zones */

static bool is_zone(const struct tx_file *x)
{
	return !x->lens && under(x->path, "/etc/firewalld/zones");
}

static const struct revert_zone_stock *zone_stock(const struct planner *p, const char *path)
{
	for (size_t i = 0; i < p->orig->n_stock; i++)
		if (streq(p->orig->stock[i].path, path))
			return &p->orig->stock[i];
	return NULL;
}

static bool has_name(char *const *v, const char *name)
{
	for (; v && *v; v++)
		if (streq(*v, name))
			return true;
	return false;
}

/* The services of a zone's text; an unreadable zone is -EBADMSG (the caller goes another way). */
static int zone_services(const char *text, size_t len, const char *what, char ***ret)
{
	int r = fw_zone_xml_services(text, len, what, ret);
	return r == -ENOMEM || r >= 0 ? r : -EBADMSG;
}

/* TEXT with NAMES added (or removed) into *OUT (a copy of TEXT when nothing changes). */
static int zone_edit(const char *text, size_t len, const char *what, bool add, const char *const *names, size_t n,
		     char **out, size_t *out_len)
{
	_cleanup_free_ bool *changed = calloc(n + 1, sizeof(*changed));
	if (!changed)
		return -ENOMEM;
	int r = fw_zone_xml_edit(text, len, what, add, names, n, changed, out, out_len);
	if (r < 0)
		return r == -ENOMEM ? r : -EBADMSG;
	if (!*out) {
		if (!(*out = strndup(text, len)))
			return -ENOMEM;
		*out_len = len;
	}
	return 0;
}

/* The clean way for staying zone transaction C[K] (made on what C[K-1] left, the file left as C[N-1]
 * made it): the services it added, put into B's text (the stock zone when B has no file yet). */
static int replay_zone(struct planner *p, struct conf_file *f, const struct link *c, size_t k, size_t n,
		       const struct rebuilt *b, char **next)
{
	const struct tx_file *x = rec(&c[k]);
	_cleanup_free_ char *before = NULL, *after = NULL;
	_cleanup_strv_free_ char **had = NULL, **has = NULL;
	size_t blen, alen, len;
	int r;
	if (!x->existed)
		return -EBADMSG;
	if ((r = original(p, &c[k], &before, &blen)) < 0)
		return r;
	if (k == n - 1)
		r = (after = strndup(f->new, f->new_len)) ? 0 : -ENOMEM, alen = f->new_len;
	else
		r = original(p, &c[k + 1], &after, &alen);
	if (r < 0 || (r = zone_services(before, blen, x->path, &had)) < 0 ||
	    (r = zone_services(after, alen, x->path, &has)) < 0)
		return r;
	size_t m = 0;
	for (char **s = has; *s; s++)
		m++;
	_cleanup_free_ const char **added = calloc(m + 1, sizeof(*added));
	if (!added)
		return -ENOMEM;
	m = 0;
	for (char **s = has; *s; s++)
		if (!has_name(had, *s))
			added[m++] = *s;
	const struct revert_zone_stock *stock = zone_stock(p, x->path);
	if (!b->present && !stock)
		return -EBADMSG; /* the zone op25b created, but no stock zone to make it from again */
	return zone_edit(b->present ? b->text : stock->data, b->present ? b->len : stock->len, x->path, true, added, m,
			 next, &len);
}

/* The services C[K]'s modes open (both names of the 587 one, firewall.c). */
static size_t mode_services(unsigned modes, const char *out[static 8])
{
	size_t n = fw_services_for_modes(modes, false, out);
	return n + fw_services_for_modes(modes & MODE_SUBMISSION, true, out + n);
}

/* The other way for zone transaction C[K]: out of F's current text go the services its modes open
 * that were not in the zone it was made on (the original, or the stock zone it created the file
 * from), but those a mode that stays opens. */
static int undo_zone(struct planner *p, struct conf_file *f, const struct link *c, size_t k)
{
	const struct tx_file *x = rec(&c[k]);
	_cleanup_free_ char *before = NULL, *text = NULL;
	_cleanup_strv_free_ char **had = NULL;
	const struct revert_zone_stock *stock = zone_stock(p, x->path);
	size_t blen = 0, len, n, m = 0;
	unsigned staying = 0;
	int r;
	for (size_t t = 0; t < p->j->n; t++)
		if (!revert_takes(&p->j->txs[t], p->modes))
			staying |= p->j->txs[t].mode;
	if (x->existed && (r = original(p, &c[k], &before, &blen)) < 0)
		return r;
	if ((x->existed || stock) &&
	    (r = zone_services(x->existed ? before : stock->data, x->existed ? blen : stock->len, x->path, &had)) < 0)
		return r == -EBADMSG ? 0 : r;
	const char *mine[8], *keep[8], *gone[8];
	size_t n_keep = mode_services(staying, keep);
	n = mode_services(c[k].t->mode, mine);
	for (size_t i = 0; i < n; i++) {
		bool kept = has_name(had, mine[i]);
		for (size_t j = 0; j < n_keep; j++)
			kept |= streq(keep[j], mine[i]);
		if (!kept)
			gone[m++] = mine[i];
	}
	if ((r = zone_edit(f->new, f->new_len, x->path, false, gone, m, &text, &len)) < 0)
		return r == -EBADMSG ? 0 : r;
	if (len == f->new_len && memcmp(text, f->new, len) == 0)
		return 0;
	log_info("%s: changed since op25b wrote it: closed op25b's services, kept the rest", f->path);
	f->merged = true;
	set_content(f, TAKE_PTR(text), len);
	return 0;
}

/* Edits from staying transactions of C own their nodes: X's edit at PATH is kept. */
static bool owned_by_staying(const struct planner *p, const struct link *c, size_t n, const char *path)
{
	for (size_t k = 0; k < n; k++)
		if (!revert_takes(c[k].t, p->modes))
			for (size_t e = 0; e < rec(&c[k])->n_edits; e++)
				if (streq(rec(&c[k])->edits[e].path, path))
					return true;
	return false;
}

/* X's own edits undone on the current text of F, but those on nodes a staying mode also owns. */
static int undo_own_edits(struct planner *p, struct conf_file *f, const struct link *c, size_t n, const struct tx_file *x)
{
	struct tx_file mine = *x;
	_cleanup_free_ struct edit *kept = calloc(x->n_edits + 1, sizeof(*kept));
	if (!kept)
		return -ENOMEM;
	mine.n_edits = 0;
	for (size_t e = 0; e < x->n_edits; e++)
		if (!owned_by_staying(p, c, n, x->edits[e].path))
			kept[mine.n_edits++] = x->edits[e];
	mine.edits = kept;
	return undo_edits(p->s, f, &mine, p->seq++);
}

/* The old way, for a file someone else changed since: undo C[K]'s own edits on the current text. */
static int revert_dirty(struct planner *p, struct conf_file *f, const struct link *c, size_t n, size_t k)
{
	const struct tx_file *x = rec(&c[k]);
	bool shared = false;
	for (size_t m = 0; m < n; m++)
		shared |= !revert_takes(c[m].t, p->modes);
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
		int r = original(p, &c[k], &orig, &len);
		if (r < 0)
			return r;
		restore_owner(f, x);
		set_content(f, orig, len);
		return 0;
	}
	if (present && x->existed && streq(h, x->orig_hash))
		return 0; /* already as it was (e.g. an interrupted run) */
	if (!present) {
		if (x->existed)
			log_warn("%s: removed since op25b changed it; not recreated", x->path);
		return 0;
	}
	if (is_zone(x))
		return undo_zone(p, f, c, k);
	if (!x->lens) {
		if (!shared)
			log_warn("%s: changed since op25b wrote it; left as it is", x->path);
		return 0;
	}
	return undo_own_edits(p, f, c, n, x);
}

struct rebases {
	struct revert_rebase *v;
	size_t n;
};

static void rebase_free(struct revert_rebase *b)
{
	free(b->orig);
	for (size_t e = 0; e < b->n_edits; e++)
		edit_free(&b->edits[e]);
	free(b->edits);
}

static void rebases_done(struct rebases *rb)
{
	for (size_t i = 0; i < rb->n; i++)
		rebase_free(&rb->v[i]);
	free(rb->v);
	*rb = (struct rebases){ 0 };
}

void revert_plan_done(struct revert_plan *p)
{
	struct rebases rb = { p->rebases, p->n_rebases };
	rebases_done(&rb);
	*p = (struct revert_plan){ 0 };
}

static struct revert_rebase *rebase_new(struct rebases *rb)
{
	struct revert_rebase *nv = realloc(rb->v, (rb->n + 1) * sizeof(*nv));
	if (!nv)
		return NULL;
	rb->v = nv;
	nv[rb->n] = (struct revert_rebase){ 0 };
	return &nv[rb->n++];
}

/* Replay X's edits and claims on TEXT (parsed with X's lens), as the planning made them: the
 * rebased edits go to R, the new text to *OUT. 0, or -EBADMSG when they no longer fit. */
static int replay(struct conf_set *s, const struct conf_file *f, const struct tx_file *x, const char *text,
		  unsigned idx, struct revert_rebase *rb, char **out)
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

/* The clean way applies when F is exactly as the newest of chain C left it and each transaction
 * from D on was made on what the one before left. */
static bool chain_intact(const struct conf_file *f, const struct link *c, size_t d, size_t n)
{
	char h[65];
	if (!f->new)
		return false;
	sha256_hex(f->new, f->new_len, h);
	if (!streq(h, rec(&c[n - 1])->new_hash))
		return false;
	for (size_t k = d + 1; k < n; k++)
		if (!rec(&c[k])->existed || !streq(rec(&c[k])->orig_hash, rec(&c[k - 1])->new_hash))
			return false;
	return true;
}

/* Replay staying transaction C[K] (the newest of N when K == N - 1) on B, recording its rebase in
 * RB. 0, -EBADMSG when its edits no longer fit (the caller goes the old way), or an error. */
/* The bytes staying transaction C[K] left in a whole file (the drop-in, the map) it wrote or needs:
 * the file as it is when K is the newest or left what is there now (the drop-in both modes write
 * alike), else the copy the next transaction kept of what it found. -EBADMSG when none is known
 * (the caller goes the old way). */
static int whole_after(struct planner *p, const struct conf_file *f, const struct link *c, size_t k, size_t n,
		       char **out)
{
	const struct tx_file *x = rec(&c[k]);
	char h[65] = "";
	if (f->new)
		sha256_hex(f->new, f->new_len, h);
	if (f->new && (k == n - 1 || streq(h, x->new_hash)))
		return (*out = strndup(f->new, f->new_len)) ? 0 : -ENOMEM;
	const struct tx_file *next = k + 1 < n ? rec(&c[k + 1]) : NULL;
	if (next && next->existed && streq(next->orig_hash, x->new_hash)) {
		size_t len;
		return original(p, &c[k + 1], out, &len);
	}
	return -EBADMSG;
}

static int replay_staying(struct planner *p, struct conf_file *f, const struct link *c, size_t k, size_t n,
			  struct rebuilt *b, struct revert_rebase *rb)
{
	const struct tx_file *x = rec(&c[k]);
	*rb = (struct revert_rebase){ .tx = c[k].k, .i = c[k].i, .existed = b->present, .uid = b->uid, .gid = b->gid,
				      .mode = b->mode };
	if (b->present) {
		if (!(rb->orig = malloc(b->len + 1)))
			return -ENOMEM;
		memcpy(rb->orig, b->text, b->len + 1);
		rb->orig_len = b->len;
	}
	char *next = NULL;
	int r;
	if (x->lens)
		r = replay(p->s, f, x, b->present ? b->text : "", p->seq++, rb, &next);
	else if (is_zone(x))
		r = replay_zone(p, f, c, k, n, b, &next);
	else
		r = whole_after(p, f, c, k, n, &next);
	if (r < 0)
		return r;
	free(b->text);
	b->text = next;
	b->len = strlen(next);
	sha256_hex(b->text, b->len, rb->new_hash);
	b->present = true;
	/* What it was made on now is the file: its owner and mode from here on. */
	b->uid = f->st.st_uid;
	b->gid = f->st.st_gid;
	b->mode = f->st.st_mode & 07777;
	return 0;
}

/* On B (the original under C[D]), replay the staying transactions after it, their rebases into MINE. */
static int rebuild(struct planner *p, struct conf_file *f, const struct link *c, size_t d, size_t n,
		   struct rebuilt *b, struct rebases *mine)
{
	int r;
	for (size_t k = d + 1; k < n; k++) {
		if (revert_takes(c[k].t, p->modes))
			continue;
		struct revert_rebase *rb = rebase_new(mine);
		if (!rb)
			return -ENOMEM;
		if ((r = replay_staying(p, f, c, k, n, b, rb)) < 0)
			return r;
	}
	return 0;
}

/* The clean case (see the top): 1 done, 0 when it does not apply (the caller does it the old way). */
static int revert_clean(struct planner *p, struct conf_file *f, const struct link *c, size_t n, struct rebases *out)
{
	size_t d = 0;
	while (d < n && !revert_takes(c[d].t, p->modes))
		d++;
	if (!chain_intact(f, c, d, n))
		return 0;
	const struct tx_file *base = rec(&c[d]);
	struct rebuilt b = { .present = base->existed, .uid = base->uid, .gid = base->gid, .mode = base->mode };
	_cleanup_(rebases_done) struct rebases mine = { 0 };
	int r = b.present ? original(p, &c[d], &b.text, &b.len) : 0;
	if (r < 0)
		return r;
	if ((r = rebuild(p, f, c, d, n, &b, &mine)) < 0) {
		free(b.text);
		return r == -EBADMSG ? 0 : r;
	}
	if (!b.present) {
		drop_new(f);
	} else {
		if (!mine.n)
			restore_owner(f, base);
		set_content(f, b.text, b.len);
	}
	/* Hand the rebases over. */
	struct revert_rebase *nv = realloc(out->v, (out->n + mine.n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	out->v = nv;
	if (mine.n)
		memcpy(out->v + out->n, mine.v, mine.n * sizeof(*nv));
	out->n += mine.n;
	mine.n = 0;
	return 1;
}

/* The first edit of X at PATH, or NULL. */
static const struct edit *edit_at(const struct tx_file *x, const char *path)
{
	for (size_t e = 0; e < x->n_edits; e++)
		if (streq(x->edits[e].path, path))
			return &x->edits[e];
	return NULL;
}

/* What was at PATH before the reverted transactions right under staying C[K] set it: the edit of
 * the oldest of them (none when a staying one set it in between, or none of them did). */
static const struct edit *before_reverted(const struct planner *p, const struct link *c, size_t k, const char *path)
{
	const struct edit *found = NULL;
	for (size_t m = k; m-- > 0;) {
		const struct edit *e = edit_at(rec(&c[m]), path);
		if (!e)
			continue;
		if (!revert_takes(c[m].t, p->modes))
			break;
		found = e;
	}
	return found;
}

/* The other way kept the nodes of reverted transactions that staying C[K] owns (undo_own_edits()),
 * but C[K] recorded them as it found them: with op25b's values. Its edits there get what was
 * before the reverted ones (the admin's value, or none), and it is rebased in the journal on F's
 * text as it is left with its own edits undone that way: its own revert later gives back the
 * admin's values, byte for byte when the file is not changed again. */
static int hand_down(struct planner *p, const struct conf_file *f, const struct link *c, size_t k,
		     struct rebases *out)
{
	const struct tx_file *x = rec(&c[k]);
	bool any = false;
	for (size_t e = 0; e < x->n_edits; e++)
		any |= before_reverted(p, c, k, x->edits[e].path) != NULL;
	if (!any || !x->lens || !x->existed || !f->new)
		return 0;
	struct revert_rebase *rb = rebase_new(out);
	if (!rb)
		return -ENOMEM;
	*rb = (struct revert_rebase){ .tx = c[k].k, .i = c[k].i, .existed = true, .uid = x->uid, .gid = x->gid,
				      .mode = x->mode };
	for (size_t e = 0; e < x->n_edits; e++) {
		const struct edit *ed = &x->edits[e], *below = before_reverted(p, c, k, ed->path);
		const struct edit *from = below ? below : ed;
		if (edit_append(&rb->edits, &rb->n_edits, ed->path, from->before_present, from->before,
				ed->after_present, ed->after) < 0)
			return -ENOMEM;
		rb->edits[rb->n_edits - 1].anchor_before = ed->anchor_before;
		if (ed->anchor && !(rb->edits[rb->n_edits - 1].anchor = strdup(ed->anchor)))
			return -ENOMEM;
	}
	struct tx_file handed = *x;
	handed.edits = rb->edits;
	handed.n_edits = rb->n_edits;
	int r = undo_text(p->s, f, &handed, p->seq++, f->new, &rb->orig);
	if (r < 0)
		return r;
	rb->orig_len = strlen(rb->orig);
	sha256_hex(f->new, f->new_len, rb->new_hash);
	return 0;
}

/* Revert F: the transactions that touched it, oldest first, go through one of the two ways. */
static int revert_file(struct planner *p, struct conf_file *f, struct rebases *rb)
{
	const struct journal *j = p->j;
	_cleanup_free_ struct link *c = calloc(j->n + 1, sizeof(*c));
	size_t n = 0;
	if (!c)
		return -ENOMEM;
	for (size_t k = 0; k < j->n; k++)
		for (size_t i = 0; i < j->txs[k].n; i++)
			if (streq(j->txs[k].files[i].path, f->path)) {
				c[n++] = (struct link){ &j->txs[k], k, i };
				break;
			}
	int r = file_start(f);
	if (r < 0)
		return r;
	for (size_t k = 0; k < n; k++) {
		if (rec(&c[k])->postmap_type && !f->postmap_type && !(f->postmap_type = strdup(rec(&c[k])->postmap_type)))
			return -ENOMEM;
		f->secret |= rec(&c[k])->secret;
	}
	r = revert_clean(p, f, c, n, rb);
	if (r != 0)
		return r < 0 ? r : 0;
	for (size_t k = n; r == 0 && k-- > 0;)
		if (revert_takes(c[k].t, p->modes))
			r = revert_dirty(p, f, c, n, k);
	for (size_t k = 0; r == 0 && k < n; k++)
		if (!revert_takes(c[k].t, p->modes))
			r = hand_down(p, f, c, k, rb);
	return r < 0 ? r : 0;
}

/* Turn the in-memory results into the write plan of txn_write(): changed content, or removal. */
static void finalize(struct conf_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct conf_file *f = s->files[i];
		bool same = f->existed && f->new && f->new_len == f->old_len && memcmp(f->new, f->old, f->old_len) == 0;
		if (!f->new && f->existed)
			f->remove = true;
		else if (same || (!f->new && !f->existed))
			drop_new(f);
	}
}

int plan_revert(struct conf_set *s, const struct journal *j, unsigned modes, const struct revert_originals *orig,
		struct revert_plan *out)
{
	struct planner p = { .s = s, .j = j, .modes = modes, .orig = orig };
	_cleanup_(rebases_done) struct rebases rb = { 0 };
	_cleanup_free_ bool *planned = calloc(s->n + 1, sizeof(*planned));
	unsigned done = 0;
	if (!planned)
		return -ENOMEM;
	/* Each file once, in the order the newest transactions name them. */
	for (size_t k = j->n; k-- > 0;) {
		const struct tx *t = &j->txs[k];
		if (!revert_takes(t, modes))
			continue;
		for (size_t i = 0; i < t->n; i++) {
			struct conf_file *f = conf_find(s, t->files[i].path);
			if (!f)
				return log_err(-ENOENT, "%s: not read before the revert was planned", t->files[i].path);
			size_t at = 0;
			while (s->files[at] != f)
				at++;
			if (planned[at])
				continue;
			planned[at] = true;
			int r = revert_file(&p, f, &rb);
			if (r < 0)
				return r;
		}
		done |= t->mode;
	}
	finalize(s);
	*out = (struct revert_plan){ .done = done, .rebases = TAKE_PTR(rb.v), .n_rebases = rb.n };
	rb.n = 0;
	return 0;
}

/* "applied by rpm, then by hand": who applied a mode (V, N as journal_origins() gives them), as
 * status says it, into BUF (cut at SIZE). */
static void who_applied(const char *const *v, size_t n, char *buf, size_t size)
{
	size_t len = (size_t)snprintf(buf, size, "applied");
	for (size_t i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s by %s", i ? ", then" : "", v[i] ? v[i] : "hand");
}

/* revert --origin=NAME (the package's %preun): of MODES, the ones NAME alone applied. Every other
 * applied mode stays, with one line each (on stderr, --quiet or not: whoever erases the package
 * learns what still runs): one applied by hand or by another origin (named as status names them),
 * or re-applied by hand on top of NAME's (then it is the admin's too), or one --mode (maybe
 * op25b.conf's mode) did not name. */
unsigned revert_modes_of_origin(const struct journal *j, unsigned modes, const char *origin)
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
		char who[256];
		if (only)
			snprintf(who, sizeof(who), "--mode names another mode");
		else if (also)
			snprintf(who, sizeof(who), "applied by hand too");
		else
			who_applied(v, n, who, sizeof(who));
		log_warn("%s: left applied: %s (revert it with 'op25b revert --mode=%s')", mode_name(m), who,
			 mode_name(m));
	}
	return keep;
}
