/* Undoing an interrupted revert (intent-undo.h): its files are put back with the same rollback a
 * failed run uses (txn.c), which only replaces bytes it is told this run wrote. */
#include "intent-undo.h"

#include "txn.h"
#include "util.h"

/* F holds what the revert wrote: set it up as txn_rollback() expects a file it wrote, with the
 * bytes from before the revert (X, file I of the intent) as the ones to put back. */
static int as_written(const struct journal *j, size_t i, const struct intent_file *x, struct conf_file *f)
{
	f->new = TAKE_PTR(f->old);
	f->new_len = f->old_len;
	f->old_len = 0;
	f->existed = x->existed;
	f->remove = streq(x->after, "-");
	f->st.st_uid = x->uid;
	f->st.st_gid = x->gid;
	f->st.st_mode = S_IFREG | x->mode;
	f->written = true;
	if (x->postmap_type && !(f->postmap_type = strdup(x->postmap_type)))
		return -ENOMEM;
	return x->existed ? journal_intent_before(j, i, &f->old, &f->old_len) : 0;
}

/* Does a transaction of J name PATH? An intent only lists files its transactions name. */
static bool named(const struct journal *j, const char *path)
{
	for (size_t k = 0; k < j->n; k++)
		for (size_t i = 0; i < j->txs[k].n; i++)
			if (streq(j->txs[k].files[i].path, path))
				return true;
	return false;
}

int intent_undo(struct journal *j, const struct target *t)
{
	_cleanup_(conf_set_done) struct conf_set s = { .root = t->root, .postfix_dir = t->postfix_dir, .state_dir = t->state_dir };
	size_t back = 0;
	int r;
	for (size_t i = 0; i < j->intent.n_files; i++) {
		const struct intent_file *x = &j->intent.files[i];
		struct conf_file *f;
		char now[65] = "-";
		if (!named(j, x->path))
			return log_err(-EBADMSG, "%s/revert.pending: corrupted journal: %s is no file of its transactions",
				       j->dir, x->path);
		if ((r = conf_open_raw(&s, x->path, x->mode, &f)) < 0)
			return r;
		if (f->existed)
			sha256_hex(f->old, f->old_len, now);
		if (streq(now, x->before))
			continue; /* not written yet */
		if (!streq(now, x->after)) {
			log_warn("%s: changed since an interrupted revert wrote it; left as it is", f->host_path);
			continue;
		}
		if ((r = as_written(j, i, x, f)) < 0)
			return r;
		back++;
	}
	/* -ESTALE: a file changed between the check above and its rollback, and was left (said so). */
	if ((r = txn_rollback(&s)) < 0 && r != -ESTALE)
		return log_err(r, "the files of an interrupted revert could not all be put back: run 'op25b revert' again");
	if ((r = journal_intent_cut(j)) < 0 || (r = journal_intent_end(j)) < 0)
		return log_err(r, "the files of an interrupted revert are back, but the journal could not be "
				  "updated: run 'op25b revert' again");
	log_info("an interrupted revert was undone first (%zu file%s put back)", back, back == 1 ? "" : "s");
	return 0;
}
