/* Reloading or restarting the changed units and checking that they serve the new files, on top of
 * units.h, serving.c and reload-policy.c (see restart.h). */
#include "restart.h"

#include <time.h>

#include "reload-policy.h"
#include "serving.h"
#include "tlsconn.h"
#include "units.h"
#include "util.h"

#define USEC_PER_SEC 1000000ull
/* How long reloaded daemons get to serve the new files: they re-read them in well under a second
 * (check_serving() logs how long each took; tests/t-reload.sh shows it); a port that still
 * presents the old certificate after this will not change its mind. */
#define SERVE_WAIT_USEC (10 * USEC_PER_SEC)
#define SERVE_JOURNAL_LINES 8u

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

static bool changed_under(const struct conf_set *s, const char *dir, bool *restart, bool dovecot)
{
	bool changed = false;
	for (size_t i = 0; i < s->n; i++) {
		const struct conf_file *f = s->files[i];
		if (!(f->new || f->remove) || !under(f->path, dir))
			continue;
		changed = true;
		if (f->lens && reload_restart_needed(f, dovecot))
			*restart = true;
	}
	return changed;
}

/* Where Postfix's 465 answers, from the new main.cf (reload_smtps_host()). Malloc'd. */
static char *smtps_host(const struct target *o, const struct conf_set *s)
{
	_cleanup_free_ char *main_cf = strdup_printf("%s/main.cf", o->postfix_dir);
	if (!main_cf)
		return NULL;
	for (size_t i = 0; s && i < s->n; i++) {
		const struct conf_file *f = s->files[i];
		if (!streq(f->path, main_cf))
			continue;
		if (f->new)
			return reload_smtps_host(f->new, f->new_len);
		return reload_smtps_host(f->old ? f->old : "", f->old ? f->old_len : 0);
	}
	return strdup("localhost");
}

static uint64_t realtime_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

static const char *what(bool postfix, bool dovecot)
{
	return postfix && dovecot ? "Postfix and Dovecot" : postfix ? "Postfix" : "Dovecot";
}

/* The daemon's own word on why (Dovecot logs a configuration it cannot read and keeps the old one):
 * its first lines since the reload, where the cause is, before what follows from it. */
static void show_journal(const char *unit, uint64_t since)
{
	_cleanup_free_ char *text = NULL;
	if (units_journal_lines_since(unit, since, SERVE_JOURNAL_LINES, &text) < 0 || strempty(text))
		return;
	log_err(-EIO, "  journal lines of %s since the reload:", unit);
	for (char *line = text, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		log_err(-EIO, "    %s", line);
	}
}

/* Wait for the reloaded services to present EXPECT->cert: 465 and 993 are looked at together. */
static int check_serving(const struct target *o, const struct serve_expect *expect, const char *host,
			 const char *pf_unit, bool dovecot993, uint64_t start, uint64_t since)
{
	_cleanup_free_ char *subject = NULL;
	struct serving_port v[2];
	char want[65];
	size_t n = 0;
	int r;

	if ((r = tls_cert_file_sha256(o->root, expect->cert, want, &subject)) < 0)
		return log_err(r, "%s: cannot read the certificate to compare: %s", expect->cert, strerror(-r));
	if (pf_unit)
		v[n++] = (struct serving_port){ .host = host, .port = 465, .smtp = true, .want = want };
	if (dovecot993)
		v[n++] = (struct serving_port){ .host = "localhost", .port = 993, .want = want };
	uint64_t wait = (uint64_t)(o->timeout_sec ? o->timeout_sec : UNITS_TIMEOUT_SEC_DEFAULT) * USEC_PER_SEC;
	r = serving_wait(v, n, now_usec() + (wait < SERVE_WAIT_USEC ? wait : SERVE_WAIT_USEC));
	if (r == -ENOMEM)
		return log_err(r, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const char *who = v[i].port == 465 ? "Postfix" : "Dovecot";
		if (v[i].ok)
			log_info("%u serves %s (%.1f s)", v[i].port, expect->cert, (double)(v[i].usec - start) / 1e6);
		else {
			log_err(-EIO, "%s was reloaded, but %s port %u does not serve %s: %s", who, v[i].host, v[i].port,
				expect->cert, v[i].why);
			show_journal(v[i].port == 465 ? pf_unit : "dovecot.service", since);
		}
	}
	return r < 0 ? -EIO : 0;
}

/* A unit the reload did not leave running (its reload failed, or the daemon died re-reading its
 * files: Postfix's master exits when a new service cannot bind) must run the files on disk: it is
 * restarted, and RES[i] becomes the restart's result. */
static void restart_failed_reloads(sd_bus *bus, const char *const *units, size_t n, unsigned timeout_sec,
				   struct unit_result *res)
{
	const char *again[4] = { 0 };
	struct unit_result res2[4];
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (!res[i].ok && res[i].action == UNIT_RELOAD)
			again[k++] = units[i];
	if (k == 0)
		return;
	log_info("restarting %s%s, whose reload failed", again[0], k > 1 ? " and the others" : "");
	/* Whatever it says, the reload's failure stands: the new files did not take on a reload. */
	(void)units_restart(bus, again, timeout_sec, res2);
	for (size_t i = 0, j = 0; i < n && j < k; i++)
		if (units[i] == again[j])
			res[i] = res2[j++];
}

static int run(const struct target *o, const struct offline *off, bool no_restart, bool postfix, bool pf_restart, bool dovecot, bool dv_restart,
	       const struct serve_expect *expect, const char *host, struct restart_report *rep)
{
	struct restart_report dummy;
	const char *why = NULL;
	int r;

	if (!rep)
		rep = &dummy;
	*rep = (struct restart_report){ 0 };
	if (!postfix && !dovecot)
		return 0;
	bool any_restart = (postfix && pf_restart) || (dovecot && dv_restart);
	if (no_restart) {
		log_info("not restarting (--no-restart): %s %s to use the new configuration",
			 any_restart ? "restart" : "reload", what(postfix, dovecot));
		rep->skipped = "--no-restart";
		return 0;
	}
	if (units_offline(off, rep->reason, sizeof(rep->reason), &why)) {
		log_info("restarts skipped (%s): %s %s to use the new configuration", why ? why : "offline",
			 any_restart ? "restart" : "reload", what(postfix, dovecot));
		rep->skipped = why ? why : "offline";
		return 0;
	}

	_cleanup_(sym_sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_strv_free_ char **pf = NULL;
	const char *units[4] = { 0 };
	enum unit_action act[4];
	size_t n = 0;
	if ((r = units_bus_open(&bus)) < 0)
		return r;
	if (postfix) {
		if ((r = units_postfix_names_on(bus, &pf)) < 0)
			return r;
		for (size_t i = 0; pf[i] && n < 2; i++) {
			act[n] = pf_restart ? UNIT_RESTART : UNIT_RELOAD;
			units[n++] = pf[i];
		}
	}
	if (dovecot) {
		act[n] = dv_restart ? UNIT_RESTART : UNIT_RELOAD;
		units[n++] = "dovecot.service";
	}
	/* Dovecot's 993 is checked only when it answered before: an admin may have turned the imaps
	 * listener off, and then its unit state is all there is to check. */
	bool check = expect && expect->smtps && expect->cert;
	bool dovecot993 = dovecot && check && serving_listens("localhost", 993);

	uint64_t start = now_usec(), since = realtime_usec();
	struct unit_result res[4];
	r = units_run(bus, units, act, o->timeout_sec, res);
	if (r < 0)
		restart_failed_reloads(bus, units, n, o->timeout_sec, res);
	for (size_t i = 0; i < n; i++) {
		snprintf(rep->v[i].unit, sizeof rep->v[i].unit, "%s", units[i]);
		rep->v[i].action = res[i].action == UNIT_RELOAD ? "reloaded" : "restarted";
		rep->v[i].sec = (double)res[i].usec / 1e6;
	}
	rep->n = n;
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		log_info("%s %s (%s/%s, %.1f s)", res[i].action == UNIT_RELOAD ? "reloaded" : "restarted", units[i],
			 res[i].active_state, res[i].sub_state, (double)res[i].usec / 1e6);
	if (check)
		return check_serving(o, expect, host, postfix ? units[0] : NULL, dovecot993, start, since);
	return 0;
}

int restart_changed(const struct target *o, const struct offline *off, bool no_restart, const struct conf_set *s,
		    const struct serve_expect *expect, struct restart_report *rep)
{
	bool pf_restart = false, dv_restart = false;
	bool postfix = changed_under(s, o->postfix_dir, &pf_restart, false);
	bool dovecot = changed_under(s, o->dovecot_dir, &dv_restart, true);
	_cleanup_free_ char *host = NULL;

	if (postfix && expect && expect->smtps && !(host = smtps_host(o, s)))
		return log_err(-ENOMEM, "out of memory");
	return run(o, off, no_restart, postfix, pf_restart, dovecot, dv_restart, expect, host, rep);
}

int services_reload(const struct target *o, const struct offline *off, bool no_restart, bool postfix, bool dovecot, bool restart,
		    const struct serve_expect *expect, struct restart_report *rep)
{
	_cleanup_free_ char *host = NULL;
	if (postfix && expect && expect->smtps && !(host = smtps_host(o, NULL)))
		return log_err(-ENOMEM, "out of memory");
	return run(o, off, no_restart, postfix, restart, dovecot, restart, expect, host, rep);
}
