/* op25b revert: read the journal and the files it names, plan the way back (plan-revert.c), show
 * it (--dry-run) or write it, restart what changed (the files put back when a service does not
 * come back), record what stays in the journal, close the firewall services op25b opened. */
#include <dirent.h>

#include "conffile.h"
#include "facts.h"
#include "fwstep.h"
#include "intent-undo.h"
#include "journal.h"
#include "plan-revert.h"
#include "postmap.h"
#include "report.h"
#include "restart.h"
#include "txn.h"
#include "zone-stock.h"
#include "rootfs.h"
#include "util.h"
#include "verbs.h"

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


/* Every file a transaction taken out names, as it is now, in the order the newest transactions
 * name them (the order the plan and the writes go in). */
static int read_files(struct conf_set *s, const struct journal *j, unsigned modes)
{
	for (size_t k = j->n; k-- > 0;) {
		const struct tx *t = &j->txs[k];
		if (!revert_takes(t, modes))
			continue;
		for (size_t i = 0; i < t->n; i++) {
			struct conf_file *f;
			/* 0600 for files op25b created: the only such file with a secret is the password map. */
			int r = conf_find(s, t->files[i].path) ? 0 : conf_open_raw(s, t->files[i].path, 0600, &f);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int read_original(void *userdata, const struct tx *t, size_t i, char **data, size_t *len)
{
	return journal_original(userdata, t, i, data, len);
}

/* Write the plan and restart what changed; a service that does not come back puts the files back.
 * A negative errno, the message given. */
static int write_files(const struct request *o, const struct offline *off, struct report *rep, struct journal *j,
		       struct conf_set *s)
{
	struct restart_report units = { 0 };
	int r;
	if ((r = txn_write(s)) < 0) {
		report_bool(rep, "changed", false);
		journal_intent_end(j); /* the files are as it found them (else the next revert checks) */
		return log_err(r, "revert failed; the files were left as they were");
	}
	for (size_t i = 0; i < s->n; i++) {
		struct conf_file *f = s->files[i];
		remove_stale_temps(s, f);
		/* A table source op25b created is gone (maybe by an interrupted revert that did not get
		 * to its compiled table): the table goes too. */
		if (f->postmap_type && !f->existed && !f->new && postmap_remove(s->root, f->postmap_type, f->path) < 0)
			log_warn("%s: its compiled table could not be removed", f->path);
	}
	r = restart_changed(&o->target, off, o->no_restart, s, NULL, &units);
	report_units(rep, &units);
	if (r >= 0)
		return 0;
	if (txn_rollback(s) == 0) {
		report_bool(rep, "changed", false);
		journal_intent_end(j);
		restart_changed(&o->target, off, o->no_restart, s, NULL, NULL);
		return log_err(r, "revert failed: a service did not come back; the files were put back as "
				  "they were before the revert");
	}
	return log_err(r, "revert failed and the files could not all be put back: see above");
}

/* The transactions DROP (newest first) close their firewall services and go; then the revert
 * intent, which listed them. */
static int take_out(const struct request *o, const struct offline *off, struct report *rep, struct journal *j,
		    const unsigned *drop, size_t n_drop)
{
	_cleanup_(fw_report_done) struct fw_report fw = { 0 };
	struct fw_ctx fwc;
	int r;
	request_fw_ctx(o, off, &fwc);
	for (size_t i = 0; i < n_drop; i++)
		for (size_t k = 0; k < j->n; k++)
			if (j->txs[k].id == drop[i]) {
				if (fw_step_close(&fwc, &j->txs[k], &fw) < 0)
					log_warn("the firewall services above are still open: close them with firewall-cmd");
				if ((r = journal_drop(j, &j->txs[k])) < 0)
					return log_err(r, "the files were reverted, but the journal could not be cleared: "
							  "run 'op25b revert' again");
				break;
			}
	report_firewall(rep, &fw);
	if ((r = journal_intent_end(j)) < 0)
		return log_err(r, "the files were reverted, but the journal could not be cleared: run 'op25b revert' again");
	return 0;
}

/* The journal after the files: the modes that stay now start from what is left of the original
 * (then the revert is done: a crash from here on only has transactions left to drop), the
 * transactions taken out go. */
static int record(const struct request *o, const struct offline *off, struct report *rep, struct journal *j,
		  const unsigned *drop, size_t n_drop, const struct revert_plan *plan)
{
	int r;
	for (size_t i = 0; i < plan->n_rebases; i++) {
		const struct revert_rebase *b = &plan->rebases[i];
		if ((r = journal_rebase(j, &j->txs[b->tx], b->i, b->existed, b->uid, b->gid, b->mode, b->orig,
					b->orig_len, b->new_hash, b->edits, b->n_edits)) < 0)
			return log_err(r, "the files were reverted, but the journal could not be updated: "
					  "run 'op25b revert' again");
	}
	if ((r = journal_intent_done(j)) < 0)
		return log_err(r, "the files were reverted, but the journal could not be updated: run 'op25b revert' again");
	return take_out(o, off, rep, j, drop, n_drop);
}

/* The transactions a revert of MODES takes out, newest first: *DROP (malloc'd). */
static int taken(const struct journal *j, unsigned modes, unsigned **drop, size_t *n)
{
	*n = 0;
	if (!(*drop = calloc(j->n + 1, sizeof(**drop))))
		return log_err(-ENOMEM, "out of memory");
	for (size_t k = j->n; k-- > 0;)
		if (revert_takes(&j->txs[k], modes))
			(*drop)[(*n)++] = j->txs[k].id;
	return 0;
}

static void say_done(const struct conf_set *s, unsigned done)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->files[i]->new || s->files[i]->remove)
			log_info("%s %s", s->files[i]->remove ? "removed" : s->files[i]->merged ? "updated" : "restored",
				 s->files[i]->path);
	for (unsigned m = 1; m <= MODE_ALL; m <<= 1)
		if (done & m)
			log_info("%s: reverted", mode_name(m));
	if (!txn_has_changes(s))
		log_info("the files already were as before");
}

/* The revert of MODES (those --origin leaves out already taken out) with the journal J open. */
static int revert_modes(const struct request *o, struct report *rep, struct journal *j, unsigned modes)
{
	_cleanup_(conf_set_done) struct conf_set s = { .root = o->target.root, .postfix_dir = o->target.postfix_dir, .state_dir = o->target.state_dir };
	_cleanup_(revert_plan_done) struct revert_plan plan = { 0 };
	_cleanup_(zone_stock_done) struct zone_stock zones = { 0 };
	int r;

	/* J was checked by revert() before any file it names was read. */
	if ((r = read_files(&s, j, modes)) < 0 ||
	    (r = zone_stock_read(o->target.root, j, &zones)) < 0)
		return exit_status_of(r);
	if ((r = plan_revert(&s, j, modes, &(struct revert_originals){ read_original, j, zones.v, zones.n }, &plan)) < 0)
		return exit_status_of(r);
	if (!plan.done) {
		log_info("nothing to revert");
		return EXIT_DONE;
	}
	report_modes(rep, "modes", plan.done);
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
	/* Whether it works on the running system: asked once, for the restarts and the firewall. */
	struct offline off;
	facts_offline(&o->target, &off);
	_cleanup_free_ unsigned *drop = NULL;
	size_t n_drop;
	/* The intent first: a revert killed from here on is undone by the next one (journal.h). */
	if (taken(j, modes, &drop, &n_drop) < 0 || journal_intent_begin(j, &s, drop, n_drop) < 0 ||
	    write_files(o, &off, rep, j, &s) < 0 || record(o, &off, rep, j, drop, n_drop, &plan) < 0)
		return EXIT_FAIL;
	say_done(&s, plan.done);
	return EXIT_DONE;
}

/* A revert killed before it was done: once it wrote every journal line, its transactions still
 * go; before that, its files are put back first and this revert is planned from there. A dry run
 * only says so. */
static int finish_interrupted(const struct request *o, struct report *rep, struct journal *j)
{
	if (j->intent.state == INTENT_NONE)
		return 0;
	if (o->dry_run) {
		log_warn("%s: a revert was interrupted; without --dry-run, op25b first %s", j->dir,
			 j->intent.state == INTENT_DONE ? "finishes it" : "puts back the files it wrote");
		return 0;
	}
	if (j->intent.state == INTENT_PENDING)
		return intent_undo(j, &o->target);
	struct offline off;
	facts_offline(&o->target, &off);
	int r = take_out(o, &off, rep, j, j->intent.drop, j->intent.n_drop);
	if (r == 0)
		log_info("an interrupted revert was finished first");
	return r;
}

static int revert(const struct request *o, struct report *rep)
{
	_cleanup_(journal_close) struct journal j = { .lock_fd = -1 };
	unsigned modes = o->modes ? o->modes : MODE_ALL;
	int r;

	if ((r = journal_open(&j, o->target.root, o->target.state_dir, false, o->target.timeout_sec)) < 0)
		return exit_status_of(r);
	/* The journal is checked before any file it names is touched, an interrupted revert's too. */
	if ((r = revert_check_managed(&j, &o->target)) < 0 || (r = finish_interrupted(o, rep, &j)) < 0)
		return exit_status_of(r);
	if (o->origin)
		modes = revert_modes_of_origin(&j, modes, o->origin);
	int status = revert_modes(o, rep, &j, modes);
	/* What stays applied: the journal holds what a run left (what a failed one put back too); a
	 * dry run's would go. --origin has named them on stderr already (revert_modes_of_origin). */
	report_left_applied(rep, &j, o->dry_run ? modes : 0, status == EXIT_DONE && !o->dry_run && !o->origin);
	return status;
}

int verb_revert(const struct request *o)
{
	struct report rep;
	report_init(&rep, o, "revert");
	report_modes(&rep, "modes", 0);
	report_set(&rep, "files", json_array());
	report_set(&rep, "units", json_array());
	report_set(&rep, "left_applied", json_null()); /* not known until the journal is read */
	return report_end(&rep, revert(o, &rep));
}
