/* op25b apply: plan → diff or validate → journal → write → validate → reload → firewall → commit.
 * Any failure after the first write puts every file back (and reloads again). */
#include "cert.h"
#include "certseen.h"
#include "conffile.h"
#include "facts.h"
#include "fastpath.h"
#include "fwstep.h"
#include "journal.h"
#include "plan.h"
#include "postfix-read.h"
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
	/* Both modes read compiled defaults of Postfix: that postconf runs while the files are parsed. */
	postfix_defaults_prefetch(s);
	if (o->tls.domain && (r = plan_certbot_hook(s, &o->target)) < 0)
		return r;
	if ((r = facts_gather(s, &o->target, o->modes, &o->relay, f)) < 0)
		return r;
	return o->modes == MODE_SMTPS ? plan_smtps(s, &o->target, tls, f) : plan_submission(s, &o->target, &o->relay, tls, f);
}

static int apply(const struct request *o, struct report *rep)
{
	_cleanup_(tls_paths_free) struct tls_paths tls = { 0 };
	_cleanup_(journal_close) struct journal j = { .lock_fd = -1 };
	_cleanup_(conf_set_done) struct conf_set s = { .root = o->target.root, .postfix_dir = o->target.postfix_dir, .state_dir = o->target.state_dir };
	_cleanup_(facts_done) struct plan_facts facts = { 0 };
	_cleanup_(fw_report_done) struct fw_report fw = { 0 };
	struct restart_report units = { 0 };
	struct tx *t = NULL;
	bool fw_online = false;
	time_t not_after = 0;
	struct fw_ctx fwc;
	char oh[65];
	int r;

	if ((r = tls_paths_from(&o->tls, &tls)) < 0)
		return log_err(EXIT_FAIL, "out of memory");
	request_fw_ctx(o, &fwc);
	request_hash(o, oh);

	/* The lock covers everything from the first read to the last write, on a first run too (it
	 * creates nothing: journal.c). A state dir that does not exist yet is made only when there is
	 * something to write: bad input creates nothing. */
	if ((r = journal_open(&j, o->target.root, o->target.state_dir, false, o->target.timeout_sec)) < 0)
		return exit_status_of(r);
	for (size_t i = 0; i < j.n; i++)
		if (j.txs[i].pending)
			return log_err(EXIT_FAIL, "%s: an earlier run was interrupted; run 'op25b revert' first",
				       j.txs[i].dir);
	/* What this run asks besides the files: a later run asking no more has nothing to do. */
	struct tx_steps want = { .restarted = !o->no_restart, .firewall = !o->no_firewall, .zone = o->zone };
	if ((r = already_applied(o, &tls, oh, &want, &j, &facts, &not_after)) < 0)
		return exit_status_of(r);
	/* On the fast path the certificate's bytes are the ones checked before: parsing them again
	 * (OpenSSL's decoders, ~2 ms) could only find that the date has passed. */
	if (tls.cert && !(r > 0 && cert_still_valid(tls.cert, not_after)) &&
	    cert_check(o->target.root, tls.cert, tls.key, &not_after) < 0)
		return EXIT_USAGE;
	if (r > 0) {
		log_info("%s: already applied; nothing to change", mode_name(o->modes));
		return EXIT_DONE;
	}

	if ((r = plan(&s, o, &tls, &facts)) < 0)
		return exit_status_of(r);
	for (size_t i = 0; i < s.n; i++)
		if ((r = conf_render(&s, s.files[i])) < 0)
			return exit_status_of(r);
	/* Steps besides the files: the newest transaction of this mode says what it left undone (an
	 * apply with --no-firewall, another --zone, --no-restart). */
	const struct tx *prev = newest_of(&j, o->modes);
	bool files_change = txn_has_changes(&s);
	bool need_fw = !o->no_firewall && !(prev && fastpath_firewall_covers(prev, &want));
	bool need_restart = !o->no_restart && prev && !prev->restarted;
	if ((files_change || need_fw) && (r = fw_step_plan(&fwc, o->modes, &s, &fw_online, &fw)) < 0)
		return exit_status_of(r);
	struct tx_steps steps = {
		.restarted = !o->no_restart || (!files_change && (!prev || prev->restarted)),
		.firewall = !o->no_firewall || (prev && prev->firewall),
		.zone = !o->no_firewall ? o->zone : prev ? prev->zone : NULL,
		.origin = o->origin,
	};
	report_files(rep, &s, false);
	report_bool(rep, "changed", txn_has_changes(&s) || fw_online || need_restart);
	if (files_change || need_fw)
		report_firewall(rep, &fw);

	if (!txn_has_changes(&s) && !fw_online && !need_restart) {
		log_info("%s: already applied; nothing to change", mode_name(o->modes));
		return EXIT_DONE;
	}
	if (o->dry_run && o->json) {
		report_diff(rep, &s);
		return EXIT_DONE;
	}
	if (o->dry_run) {
		r = txn_print_diff(&s);
		return r < 0 ? EXIT_FAIL : EXIT_DONE;
	}
	/* Postfix judges the new files before any of them is written. */
	if (validate_postfix(&s, o->target.postfix_dir) < 0)
		return EXIT_FAIL;

	if ((r = journal_make_dir(&j)) < 0)
		return exit_status_of(r);
	if ((r = journal_begin(&j, o->modes, oh, &steps, &s, &t)) < 0)
		return EXIT_FAIL;
	if ((r = txn_write(&s)) < 0)
		goto rollback;
	if ((r = validate_dovecot(&s, o->target.dovecot_dir)) < 0)
		goto rollback;
	/* Reloaded, the services must be seen serving the new certificate before this counts as done. */
	struct serve_expect serve = { .cert = tls.cert, .smtps = (o->modes & MODE_SMTPS) != 0 };
	const char *pf = o->target.postfix_dir, *dc = o->target.dovecot_dir;
	r = need_restart ? services_reload(&o->target, o->no_restart, touches(prev, pf) || changed_under(&s, pf),
					   touches(prev, dc) || changed_under(&s, dc), false, &serve, &units)
			 : restart_changed(&o->target, o->no_restart, &s, &serve, &units);
	report_units(rep, &units);
	if (r < 0)
		goto rollback_restart;
	if (fw_online && (r = fw_step_open(&fwc, o->modes, &j, t, &fw)) < 0)
		goto rollback_restart;
	report_firewall(rep, &fw);
	/* For the next run with the same options: nothing to do as long as this state holds. */
	char st[65];
	if (fastpath_state(&o->target, o->modes, &o->relay, &tls, st) == 0 && (r = journal_note_state(&j, t, st, not_after)) < 0)
		goto rollback_restart;
	if ((r = journal_commit(&j, t)) < 0)
		goto rollback_restart;
	note_certs_seen(o, &tls, &units);
	summarize(&s, o->modes);
	fw_step_router_hint(o->modes);
	return EXIT_DONE;

rollback_restart:
	report_bool(rep, "changed", false);
	if (txn_rollback(&s) == 0) {
		log_info("%s: the files were put back; reloading with them", mode_name(o->modes));
		restart_changed(&o->target, o->no_restart, &s, NULL, NULL);
		fw_step_close(&fwc, t, NULL);
		journal_drop(&j, t);
	}
	return log_err(EXIT_FAIL, "%s: failed; the configuration was put back as it was", mode_name(o->modes));
rollback:
	report_bool(rep, "changed", false);
	if (txn_rollback(&s) == 0)
		journal_drop(&j, t);
	return log_err(EXIT_FAIL, "%s: failed; the configuration files were put back as they were",
		       mode_name(o->modes));
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
