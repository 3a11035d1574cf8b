/* op25b apply: parse → facts → plan → diff or validate → journal → write → validate → reload → firewall → commit.
 * Any failure after the first write puts every file back (and reloads again). */
#include "cert.h"
#include "certseen.h"
#include "conffile.h"
#include "facts.h"
#include "fastpath.h"
#include "fwstep.h"
#include "journal.h"
#include "plan.h"
#include "report.h"
#include "restart.h"
#include "txn.h"
#include "util.h"
#include "validate.h"
#include "verbs.h"

static void summarize(const struct conf_set *s, unsigned mode)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct conf_file *f = s->files[i];
		if (!f->new)
			continue;
		if (f->lens)
			log_info("%s: %s %s (%zu edit%s)", mode_name(mode), f->existed ? "changed" : "created", f->path,
				 conf_changes(f), conf_changes(f) == 1 ? "" : "s");
		else
			log_info("%s: %s %s", mode_name(mode), f->existed ? "rewrote" : "created", f->path);
	}
}

/* The services restarted with the certificate: what `op25b reload-certs` compares with later. */
static void note_certs_seen(const struct request *o, const struct tls_paths *tls, const struct restart_report *units)
{
	struct certs_seen seen;
	char h[65];
	if (!tls->cert || units->n == 0 || certs_seen_read(o->target.root, o->target.state_dir, &seen) < 0 ||
	    cert_pair_hash(o->target.root, tls->cert, tls->key, h) < 0)
		return;
	for (size_t i = 0; i < units->n; i++)
		memcpy(seen.hash[strncmp(units->v[i].unit, "dovecot", 7) == 0 ? SEEN_DOVECOT : SEEN_POSTFIX], h, 65);
	certs_seen_write(o->target.root, o->target.state_dir, &seen);
}

/* The newest committed transaction of MODE. */
static const struct tx *newest_of(const struct journal *j, unsigned mode)
{
	for (size_t k = j->n; k-- > 0;)
		if (j->txs[k].mode == mode && !j->txs[k].pending)
			return &j->txs[k];
	return NULL;
}

/* A file of T lies under DIR (its service needs the restart T did not do). */
static bool touches(const struct tx *t, const char *dir)
{
	size_t n = strlen(dir);
	for (size_t i = 0; t && i < t->n; i++)
		if (strncmp(t->files[i].path, dir, n) == 0 && t->files[i].path[n] == '/')
			return true;
	return false;
}

static bool changed_under(const struct conf_set *s, const char *dir)
{
	size_t n = strlen(dir);
	for (size_t i = 0; i < s->n; i++)
		if (s->files[i]->new && strncmp(s->files[i]->path, dir, n) == 0 && s->files[i]->path[n] == '/')
			return true;
	return false;
}

/* The fast path (src/store/fastpath.h): 1 when applying again would change nothing. The password
 * is read (once, into F) only when everything else holds; from stdin it is not (it can be read
 * once: the full run needs it). */
static int already_applied(const struct request *o, const struct tls_paths *tls, const char *oh,
			   const struct tx_steps *want, const struct journal *j, struct plan_facts *f, time_t *not_after)
{
	bool same = false;
	int r = fastpath_already_applied(&o->target, o->modes, &o->relay, tls, oh, want, j, not_after);
	if (r <= 0 || !(o->modes & MODE_SUBMISSION))
		return r;
	if (o->relay.password_file && ((r = facts_secret(&o->target, &o->relay, f)) < 0 ||
				       (r = fastpath_password_holds(&o->target, &o->relay, &f->relay.password, &same)) < 0))
		return r;
	if (!same)
		*not_after = 0;
	return same;
}

/* The files parsed, the facts gathered (src/facts/facts.h), then the mode's plan, which only edits
 * the trees. */
static int plan(struct conf_set *s, const struct request *o, const struct tls_paths *tls, struct plan_facts *f)
{
	int r;
	if (o->modes != MODE_SMTPS && o->modes != MODE_SUBMISSION)
		return log_err(-EINVAL, "--mode=%s: not available yet", mode_name(o->modes));
	if ((r = facts_gather(s, &o->target, o->modes, &o->relay, o->tls.domain, f)) < 0)
		return r;
	if (o->tls.domain && (r = plan_certbot_hook(s, &o->target, &f->hook)) < 0)
		return r;
	return o->modes == MODE_SMTPS ? plan_smtps(s, &o->target, tls, f) : plan_submission(s, &o->target, &o->relay, tls, f);
}

/* One apply run: what its phases share. */
struct run {
	const struct request *o;
	struct report *rep;
	struct tls_paths tls;
	struct journal j;
	struct conf_set s;
	struct plan_facts facts;
	struct fw_report fw;
	struct restart_report units;
	struct offline off;           /* asked once (facts_offline()): the restarts and the firewall's */
	struct fw_ctx fwc;
	struct tx_steps want;         /* what this run asks besides the files */
	const struct tx *prev;        /* the newest committed transaction of the mode */
	struct tx *t;                 /* this run's, once begun */
	bool files_change, fw_online, need_restart;
	time_t not_after;             /* the certificate's expiry */
	char oh[65];                  /* request_hash() */
};

static void run_done(struct run *r)
{
	fw_report_done(&r->fw);
	facts_done(&r->facts);
	conf_set_done(&r->s);
	journal_close(&r->j);
	tls_paths_free(&r->tls);
}

/* The lock, then whether there is anything to do (the fast path) and the certificate. *DONE when
 * the run ends here, with the status returned. */
static int start(struct run *r, bool *done)
{
	const struct request *o = r->o;
	int k;

	*done = true;
	if (tls_paths_from(&o->tls, &r->tls) < 0)
		return log_err(EXIT_FAIL, "out of memory");
	facts_offline(&o->target, &r->off);
	request_fw_ctx(o, &r->off, &r->fwc);
	request_hash(o, r->oh);
	/* The lock covers everything from the first read to the last write, on a first run too (it
	 * creates nothing: journal.c). A state dir that does not exist yet is made only when there is
	 * something to write: bad input creates nothing. */
	if ((k = journal_open(&r->j, o->target.root, o->target.state_dir, false, o->target.timeout_sec)) < 0)
		return exit_status_of(k);
	char cmd[64];
	if (r->j.intent.state != INTENT_NONE)
		return log_err(EXIT_FAIL, "%s: a revert was interrupted; run '%s' again first", r->j.dir,
			       interrupted_revert_command(&r->j, cmd, sizeof(cmd)));
	for (size_t i = 0; i < r->j.n; i++)
		if (r->j.txs[i].pending)
			return log_err(EXIT_FAIL, "%s: an earlier run was interrupted; run 'op25b revert' first",
				       r->j.txs[i].dir);
	r->want = (struct tx_steps){ .restarted = !o->no_restart, .firewall = !o->no_firewall, .zone = o->zone };
	if ((k = already_applied(o, &r->tls, r->oh, &r->want, &r->j, &r->facts, &r->not_after)) < 0)
		return exit_status_of(k);
	/* On the fast path the certificate's bytes are the ones checked before: parsing them again
	 * (OpenSSL's decoders, ~2 ms) could only find that the date has passed. */
	if (r->tls.cert && !(k > 0 && cert_still_valid(r->tls.cert, r->not_after)) &&
	    cert_check(o->target.root, r->tls.cert, r->tls.key, &r->not_after) < 0)
		return EXIT_USAGE;
	if (k > 0) {
		log_info("%s: already applied; nothing to change", mode_name(o->modes));
		return EXIT_DONE;
	}
	*done = false;
	return EXIT_DONE;
}

/* The plan, rendered, and the steps besides the files, reported. *DONE when nothing is to be
 * written (nothing changes, --dry-run), with the status returned. */
static int make_plan(struct run *r, bool *done)
{
	const struct request *o = r->o;
	int k;

	*done = true;
	if ((k = plan(&r->s, o, &r->tls, &r->facts)) < 0)
		return exit_status_of(k);
	for (size_t i = 0; i < r->s.n; i++)
		if ((k = conf_render(&r->s, r->s.files[i])) < 0)
			return exit_status_of(k);
	/* Steps besides the files: the newest transaction of this mode says what it left undone (an
	 * apply with --no-firewall, another --zone, --no-restart). */
	r->prev = newest_of(&r->j, o->modes);
	r->files_change = txn_has_changes(&r->s);
	bool need_fw = !o->no_firewall && !(r->prev && fastpath_firewall_covers(r->prev, &r->want));
	r->need_restart = !o->no_restart && r->prev && !r->prev->restarted;
	if ((r->files_change || need_fw) && (k = fw_step_plan(&r->fwc, o->modes, &r->s, &r->fw_online, &r->fw)) < 0)
		return exit_status_of(k);
	/* The firewall step may add a file (a zone edited offline): changes are counted again. */
	bool changes = txn_has_changes(&r->s) || r->fw_online || r->need_restart;
	report_files(r->rep, &r->s, false);
	report_bool(r->rep, "changed", changes);
	if (r->files_change || need_fw)
		report_firewall(r->rep, &r->fw);

	if (!changes) {
		log_info("%s: already applied; nothing to change", mode_name(o->modes));
		return EXIT_DONE;
	}
	if (o->dry_run && o->json) {
		report_diff(r->rep, &r->s);
		return EXIT_DONE;
	}
	if (o->dry_run)
		return txn_print_diff(&r->s) < 0 ? EXIT_FAIL : EXIT_DONE;
	*done = false;
	return EXIT_DONE;
}

/* Reloaded, the services must be seen serving the new certificate before this counts as done. */
static int reload(struct run *r)
{
	const struct request *o = r->o;
	struct serve_expect serve = { .cert = r->tls.cert, .smtps = (o->modes & MODE_SMTPS) != 0 };
	const char *pf = o->target.postfix_dir, *dc = o->target.dovecot_dir;
	int k = r->need_restart ? services_reload(&o->target, &r->off, o->no_restart, touches(r->prev, pf) || changed_under(&r->s, pf),
						  touches(r->prev, dc) || changed_under(&r->s, dc), false, &serve, &r->units)
				: restart_changed(&o->target, &r->off, o->no_restart, &r->s, &serve, &r->units);
	report_units(r->rep, &r->units);
	return k;
}

/* Judged, journaled, written, reloaded, the firewall opened, committed; put back on failure. */
static int carry_out(struct run *r)
{
	const struct request *o = r->o;
	struct tx_steps steps = {
		.restarted = !o->no_restart || (!r->files_change && (!r->prev || r->prev->restarted)),
		.firewall = !o->no_firewall || (r->prev && r->prev->firewall),
		.zone = !o->no_firewall ? o->zone : r->prev ? r->prev->zone : NULL,
		.origin = o->origin,
	};
	int k;

	/* Postfix judges the new files before any of them is written. */
	if (validate_postfix(&r->s, o->target.postfix_dir) < 0)
		return EXIT_FAIL;
	if ((k = journal_make_dir(&r->j)) < 0)
		return exit_status_of(k);
	if (journal_begin(&r->j, o->modes, r->oh, &steps, &r->s, &r->t) < 0)
		return EXIT_FAIL;
	if (txn_write(&r->s) < 0 || validate_dovecot(&r->s, o->target.dovecot_dir) < 0)
		goto rollback;
	if (reload(r) < 0)
		goto rollback_restart;
	if (r->fw_online && fw_step_open(&r->fwc, o->modes, &r->j, r->t, &r->fw) < 0)
		goto rollback_restart;
	report_firewall(r->rep, &r->fw);
	/* For the next run with the same options: nothing to do as long as this state holds. */
	char st[65];
	if (fastpath_state(&o->target, o->modes, &o->relay, &r->tls, st) == 0 &&
	    journal_note_state(&r->j, r->t, st, r->not_after) < 0)
		goto rollback_restart;
	if (journal_commit(&r->j, r->t) < 0)
		goto rollback_restart;
	note_certs_seen(o, &r->tls, &r->units);
	summarize(&r->s, o->modes);
	fw_step_router_hint(o->modes);
	return EXIT_DONE;

rollback_restart:
	report_bool(r->rep, "changed", false);
	if (txn_rollback(&r->s) == 0) {
		log_info("%s: the files were put back; reloading with them", mode_name(o->modes));
		restart_changed(&o->target, &r->off, o->no_restart, &r->s, NULL, NULL);
		fw_step_close(&r->fwc, r->t, NULL);
		journal_drop(&r->j, r->t);
	}
	return log_err(EXIT_FAIL, "%s: failed; the configuration was put back as it was", mode_name(o->modes));
rollback:
	report_bool(r->rep, "changed", false);
	if (txn_rollback(&r->s) == 0)
		journal_drop(&r->j, r->t);
	return log_err(EXIT_FAIL, "%s: failed; the configuration files were put back as they were",
		       mode_name(o->modes));
}

static int apply(const struct request *o, struct report *rep)
{
	_cleanup_(run_done) struct run r = {
		.o = o,
		.rep = rep,
		.j = { .lock_fd = -1 },
		.s = { .root = o->target.root, .postfix_dir = o->target.postfix_dir, .state_dir = o->target.state_dir },
	};
	bool done;
	int status = start(&r, &done);
	if (!done)
		status = make_plan(&r, &done);
	return done ? status : carry_out(&r);
}

int verb_apply(const struct request *o)
{
	struct report rep;
	report_init(&rep, o, "apply");
	report_modes(&rep, "modes", o->modes);
	/* Until the plan is made: nothing changes (the fast path, bad input). */
	report_set(&rep, "files", json_array());
	report_set(&rep, "units", json_array());
	report_router_ports(&rep, o->modes);
	return report_end(&rep, apply(o, &rep));
}
