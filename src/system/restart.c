/* Restart policy on top of units.c. */
#include "restart.h"

#include "units.h"
#include "util.h"

static bool changed_under(const struct conf_set *s, const char *dir)
{
	size_t n = strlen(dir);
	for (size_t i = 0; i < s->n; i++) {
		const struct conf_file *f = s->files[i];
		if ((f->new || f->remove) && strncmp(f->path, dir, n) == 0 && f->path[n] == '/')
			return true;
	}
	return false;
}

int restart_changed(const struct target *o, bool no_restart, const struct conf_set *s, struct restart_report *rep)
{
	bool postfix = changed_under(s, o->postfix_dir), dovecot = changed_under(s, o->dovecot_dir);
	const char *why = NULL;
	int r;

	if (!postfix && !dovecot)
		return 0;
	const char *what = postfix && dovecot ? "Postfix and Dovecot" : postfix ? "Postfix" : "Dovecot";
	if (rep)
		*rep = (struct restart_report){ 0 };
	if (no_restart) {
		if (rep)
			rep->skipped = "--no-restart";
		log_info("not restarting (--no-restart): restart %s to use the new configuration", what);
		return 0;
	}
	if (units_offline(o->root, o->root_given, &why)) {
		if (rep)
			rep->skipped = why ? why : "offline";
		log_info("restarts skipped (%s): restart %s to use the new configuration", why ? why : "offline", what);
		return 0;
	}

	_cleanup_(sym_sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(units_names_freep) char **pf = NULL;
	const char *units[4] = { 0 };
	size_t n = 0;
	if ((r = units_bus_open(&bus)) < 0)
		return r;
	if (postfix) {
		if ((r = units_postfix_names_on(bus, &pf)) < 0)
			return r;
		for (size_t i = 0; pf[i] && n < 2; i++)
			units[n++] = pf[i];
	}
	if (dovecot)
		units[n++] = "dovecot.service";
	struct unit_result res[4];
	if ((r = units_restart(bus, units, o->timeout_sec, res)) < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		log_info("restarted %s (%s/%s, %.1f s)", units[i], res[i].active_state, res[i].sub_state,
			 (double)res[i].usec / 1e6);
		if (rep) {
			snprintf(rep->v[rep->n].unit, sizeof(rep->v[rep->n].unit), "%s", units[i]);
			rep->v[rep->n++].action = "restarted";
		}
	}
	return 0;
}
