/* op25b revert: give back what was there. Newest transaction first; a file nobody touched since
 * op25b wrote it gets its original bytes back, a file edited since gets only op25b's own edits
 * undone (the later edits stay). */
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

static int revert_file(struct conf_set *s, const struct journal *j, const struct tx *t, size_t i, unsigned *seq)
{
	const struct tx_file *x = &t->files[i];
	struct conf_file *f;
	int r = file_state(s, x->path, &f);
	if (r < 0)
		return r;
	if (x->postmap_type && !f->postmap_type && !(f->postmap_type = strdup(x->postmap_type)))
		return -ENOMEM;
	f->secret |= x->secret;
	bool present = f->new != NULL;
	char h[65] = "-";
	if (present)
		sha256_hex(f->new, f->new_len, h);

	if (present && streq(h, x->new_hash)) {
		if (!x->existed) {
			drop_new(f);
			return 0;
		}
		char *orig;
		size_t len;
		if ((r = journal_original(j, t, i, &orig, &len)) < 0)
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
		log_warn("%s: changed since op25b wrote it; left as it is", x->path);
		return 0;
	}
	return undo_edits(s, f, x, (*seq)++);
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

static int revert(const struct request *o, struct report *rep)
{
	_cleanup_(journal_close) struct journal j = { .lock_fd = -1 };
	_cleanup_(conf_set_done) struct conf_set s = { .root = o->target.root, .postfix_dir = o->target.postfix_dir, .state_dir = o->target.state_dir };
	_cleanup_(fw_report_done) struct fw_report fw = { 0 };
	struct restart_report units = { 0 };
	unsigned modes = o->modes ? o->modes : MODE_ALL, seq = 0, done = 0;
	struct fw_ctx fwc;
	int r;

	request_fw_ctx(o, &fwc);

	if ((r = journal_open(&j, o->target.root, o->target.state_dir, false, o->target.timeout_sec)) < 0)
		return exit_status_of(r);

	for (size_t k = j.n; k-- > 0;) {
		const struct tx *t = &j.txs[k];
		if (!(t->mode & modes) && !t->pending)
			continue;
		for (size_t i = 0; i < t->n; i++)
			if ((r = check_managed(o, t, &t->files[i])) < 0 || (r = revert_file(&s, &j, t, i, &seq)) < 0)
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
	for (size_t k = j.n; k-- > 0;)
		if ((j.txs[k].mode & modes) || j.txs[k].pending) {
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
