/* Restarting Postfix and Dovecot through systemd's D-Bus API (org.freedesktop.systemd1), the way
 * systemctl does it: match JobRemoved before queueing the jobs, wait for every job with a deadline,
 * then check the units' ActiveState. Every function returns 0 or a negative errno and has already
 * printed the cause (log_err) when it fails.
 *
 * Typical use, after the new files were written and validated:
 *
 *	const char *why;
 *	char reason[160];
 *	if (!units_offline(off, reason, sizeof(reason), &why)) {
 *		_cleanup_(sym_sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
 *		_cleanup_strv_free_ char **pf = NULL;
 *		struct unit_result res[3];
 *		if (units_bus_open(&bus) < 0 || units_postfix_names_on(bus, &pf) < 0 ||
 *		    units_restart(bus, (const char *const *)units, t->timeout_sec, res) < 0)
 *			-> roll back, then units_restart() again on the same bus
 *	} else
 *		log_info("not restarting: %s", why);
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "dlopen-systemd.h"
#include "offline.h"
#include "strv.h"

/* Default for units_restart() when timeout_sec is 0. */
#define UNITS_TIMEOUT_SEC_DEFAULT 90u

/* What a unit is asked to do. UNIT_RELOAD is systemd's ReloadUnit (the unit's ExecReload=:
 * `postfix reload`, `doveadm reload`): the daemons re-read their files and keep every open session.
 * A unit that is not running when a reload is asked is restarted instead (ReloadUnit would fail). */
enum unit_action { UNIT_RESTART, UNIT_RELOAD };
const char *unit_action_name(enum unit_action a); /* "restart", "reload" */

/* The outcome of restarting or reloading one unit. Plain arrays: nothing to free. */
struct unit_result {
	const char *unit;        /* points into the caller's units[] */
	enum unit_action action; /* what was done (a reload of a stopped unit becomes a restart) */
	char job[96];            /* job object path, "" when no job was queued */
	char job_result[16];     /* done, skipped, failed, dependency, timeout, canceled, ...;
	                          * "" when the call failed or the job did not finish in time */
	char active_state[16];   /* ActiveState after the job (active, failed, inactive, ...), "" unknown */
	char sub_state[32];      /* SubState (running, exited, failed, dead, ...) */
	char service_result[32]; /* Result of a .service (success, exit-code, ...), "" otherwise */
	bool ok;                 /* job done/skipped and the unit active */
	uint64_t usec;           /* from the restart call to the job's end (or the settled state) */
	char message[512];       /* "UNIT: job failed, unit failed (failed/failed, exit-code)"; "" when ok */
};

/* Whether restarts must be skipped, and why (*why: a short reason, may be NULL; one made up for
 * this run is written into BUF of SIZE bytes): OFF, the run's answer of offline_detect() (--root,
 * SYSTEMD_OFFLINE, a chroot; SYSTEMD_OFFLINE=0 forces online and skips the rest), then whether the
 * system was booted with systemd (sd_booted() <= 0: offline). */
bool units_offline(const struct offline *off, char *buf, size_t size, const char **why);

/* Connect to systemd. As root and without $DBUS_SYSTEM_BUS_ADDRESS, first systemd's private socket
 * (works without dbus-daemon, as systemctl does), else sd_bus_open_system() (which honours
 * $DBUS_SYSTEM_BUS_ADDRESS). Checks that the manager answers; no bus is an error with the reason. */
int units_bus_open(sd_bus **bus);

/* The Postfix unit(s) to restart, as a NULL-terminated, allocated list (strv.h):
 * {"postfix@-.service"} on Debian-style systems (the postfix@.service template is known to systemd:
 * there postfix.service is a /bin/true wrapper that reports "done" even when the instance failed),
 * else {"postfix.service"}. -ENOENT when systemd knows neither.
 * Asked over BUS. */
int units_postfix_names_on(sd_bus *bus, char ***out);

/* Restart UNITS (NULL-terminated; mode "replace") in parallel and wait, at most TIMEOUT_SEC in all
 * (0: UNITS_TIMEOUT_SEC_DEFAULT), for their jobs, then for a unit that is still activating to become
 * active or failed (at most 5 s, within the same deadline); each D-Bus call is bounded too (the
 * restart calls by the deadline, state reads by 5 s). RESULTS must have one entry per unit. Returns 0 when every unit is active after a done/skipped job; otherwise the negative errno of
 * the first failure (-EIO job failed or unit not active, -ETIMEDOUT no job result in time, -ENOENT no
 * such unit, ...), after logging each failed unit's message and its last journal lines.
 * Can be called again on the same bus (e.g. to restart after a rollback). A job still running at the
 * deadline is left queued: a later restart in "replace" mode replaces it. */
int units_restart(sd_bus *bus, const char *const *units, unsigned timeout_sec, struct unit_result *results);
/* The same with ACTIONS[i] for UNITS[i] (NULL: restart all): every job is queued first, then all
 * are waited for together (jobwait.h), so Postfix and Dovecot reload at the same time. A reload
 * job's "done" says only that the daemon was told: whether it serves the new files is for the
 * caller to check (restart.c does). */
int units_run(sd_bus *bus, const char *const *units, const enum unit_action *actions, unsigned timeout_sec,
	      struct unit_result *results);

/* The last N journal lines of UNIT in this boot (its own output and PID 1's messages about it), one
 * per line as "Mon DD HH:MM:SS ident[pid]: message", in *TEXT (allocated; "" when there is no
 * readable journal or no entries). Fails only with -ENOMEM. */
int units_last_journal_lines(const char *unit, unsigned n, char **text);
/* The same for the first N lines written at or after SINCE (CLOCK_REALTIME µs): what a daemon
 * said right after it was told to reload, before later complaints push it out of the last lines. */
int units_journal_lines_since(const char *unit, uint64_t since, unsigned n, char **text);
