/* Restart units over systemd's D-Bus API and check their state (see units.h). */
#include "units.h"

#include <sys/stat.h>
#include <time.h>

#include "jobwait.h"
#include "offline.h"
#include "rootfs.h"
#include "util.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT "org.freedesktop.systemd1.Unit"
#define SD_SERVICE "org.freedesktop.systemd1.Service"
#define SD_UNIT_PREFIX "/org/freedesktop/systemd1/unit"
#define PRIVATE_ADDRESS "unix:path=/run/systemd/private"
#define DEFAULT_SYSTEM_ADDRESS "unix:path=/run/dbus/system_bus_socket"

#define USEC_PER_SEC 1000000ull
#define USEC_PER_MSEC 1000ull
/* One method call (Subscribe, property reads, LoadUnit) never waits longer than this. */
#define CALL_TIMEOUT_USEC (5 * USEC_PER_SEC)
/* How long a unit that is still activating after its job may take to become active or failed. */
#define SETTLE_USEC (5 * USEC_PER_SEC)
#define SETTLE_POLL_USEC (50 * USEC_PER_MSEC)
#define JOURNAL_LINES_ON_FAILURE 10u
#define JOURNAL_MESSAGE_MAX 400
/* How long a failure report waits for journald to have written PID 1's message about the job. */
#define JOURNAL_WAIT_USEC (1 * USEC_PER_SEC)

static const char *bus_error_text(const sd_bus_error *e, int r)
{
	return e && e->message ? e->message : strerror(-r);
}

/* ---- offline detection ---- */

bool units_offline(const char *root, bool root_given, const char **why)
{
	static char reason[160];
	struct offline off;
	const char *dummy;

	if (!why)
		why = &dummy;
	*why = NULL;
	offline_detect(root, root_given, &off);
	if (off.offline) {
		*why = off.why;
		return true;
	}
	if (off.forced_online)
		return false; /* whatever follows fails loudly if there is no systemd */

	/* Units need systemd itself, which the firewall does not. */
	if (dlopen_systemd() < 0) {
		*why = "libsystemd cannot be loaded";
		return true;
	}
	if (sym_sd_booted() <= 0) {
		_cleanup_free_ char *comm = NULL;
		size_t len = 0;
		if (read_file("/proc/1/comm", false, &comm, &len) >= 0) {
			comm[strcspn(comm, "\n")] = '\0';
			snprintf(reason, sizeof reason, "not booted with systemd (PID 1 is %.64s)", comm);
			*why = reason;
		} else
			*why = "not booted with systemd";
		return true;
	}
	return false;
}

/* ---- connection ---- */

static int get_string_property(sd_bus *bus, const char *path, const char *iface, const char *name,
			       uint64_t timeout, sd_bus_error *err, char *buf, size_t size)
{
	_cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	const char *s;
	int r;

	r = sym_sd_bus_message_new_method_call(bus, &m, SD_DEST, path, "org.freedesktop.DBus.Properties", "Get");
	if (r < 0)
		return r;
	r = sym_sd_bus_message_append(m, "ss", iface, name);
	if (r < 0)
		return r;
	r = sym_sd_bus_call(bus, m, timeout, err, &reply);
	if (r < 0)
		return r;
	r = sym_sd_bus_message_read(reply, "v", "s", &s);
	if (r < 0)
		return r;
	snprintf(buf, size, "%s", s);
	return 0;
}

static int check_manager(sd_bus *bus, sd_bus_error *err)
{
	char version[64];
	int r = get_string_property(bus, SD_PATH, SD_MANAGER, "Version", CALL_TIMEOUT_USEC, err, version,
				    sizeof version);
	if (r >= 0)
		log_debug("connected to systemd %s", version);
	return r;
}

/* What systemctl does as root: talk to PID 1 directly, no dbus-daemon needed. */
static int bus_open_private(sd_bus **ret)
{
	_cleanup_(sym_sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sym_sd_bus_error_freep) sd_bus_error err = SD_BUS_ERROR_NULL;
	int r;

	if (access("/run/systemd/private", F_OK) < 0)
		return -errno;
	r = sym_sd_bus_new(&bus);
	if (r < 0)
		return r;
	r = sym_sd_bus_set_address(bus, PRIVATE_ADDRESS);
	if (r < 0)
		return r;
	r = sym_sd_bus_start(bus);
	if (r < 0)
		return r;
	r = check_manager(bus, &err);
	if (r < 0) {
		log_debug("%s: %s", PRIVATE_ADDRESS, bus_error_text(&err, r));
		return r;
	}
	*ret = TAKE_PTR(bus);
	return 0;
}

int units_bus_open(sd_bus **ret)
{
	_cleanup_(sym_sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sym_sd_bus_error_freep) sd_bus_error err = SD_BUS_ERROR_NULL;
	const char *env = getenv("DBUS_SYSTEM_BUS_ADDRESS");
	const char *addr = strempty(env) ? DEFAULT_SYSTEM_ADDRESS : env;
	int r;

	*ret = NULL;
	if ((r = dlopen_systemd()) < 0)
		return r;
	if (strempty(env) && geteuid() == 0) {
		r = bus_open_private(&bus);
		if (r >= 0) {
			log_debug("using systemd's private socket");
			*ret = TAKE_PTR(bus);
			return 0;
		}
		log_debug("systemd's private socket: %s; trying the system bus", strerror(-r));
	}
	r = sym_sd_bus_open_system(&bus);
	if (r < 0)
		return log_err(r, "cannot connect to the system bus at %s: %s (is dbus running? SYSTEMD_OFFLINE=1 skips restarts)",
			       addr, strerror(-r));
	r = check_manager(bus, &err);
	if (r < 0)
		return log_err(r, "systemd does not answer on the system bus at %s: %s", addr, bus_error_text(&err, r));
	*ret = TAKE_PTR(bus);
	return 0;
}

/* ---- which Postfix units ---- */

/* LoadState of UNIT ("loaded", "not-found", "masked", ...), loading it if needed. */
static int unit_load_state(sd_bus *bus, const char *unit, char *buf, size_t size)
{
	_cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	_cleanup_(sym_sd_bus_error_freep) sd_bus_error err = SD_BUS_ERROR_NULL;
	const char *path;
	int r;

	r = sym_sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "LoadUnit");
	if (r >= 0)
		r = sym_sd_bus_message_append(m, "s", unit);
	if (r < 0)
		return log_err(r, "LoadUnit %s: %s", unit, strerror(-r));
	r = sym_sd_bus_call(bus, m, CALL_TIMEOUT_USEC, &err, &reply);
	if (r < 0)
		return log_err(r, "cannot load unit %s: %s", unit, bus_error_text(&err, r));
	r = sym_sd_bus_message_read(reply, "o", &path);
	if (r < 0)
		return log_err(r, "LoadUnit %s: bad reply: %s", unit, strerror(-r));
	r = get_string_property(bus, path, SD_UNIT, "LoadState", CALL_TIMEOUT_USEC, &err, buf, size);
	if (r < 0)
		return log_err(r, "cannot read LoadState of %s: %s", unit, bus_error_text(&err, r));
	return 0;
}

static int names_one(const char *name, char ***out)
{
	char **v = calloc(2, sizeof *v);
	if (!v || !(v[0] = strdup(name))) {
		free(v);
		return log_err(-ENOMEM, "out of memory");
	}
	*out = v;
	return 0;
}

/* Whether UNIT lists OTHER in its Conflicts= (false for a unit systemd does not know). */
static int unit_conflicts_with(sd_bus *bus, const char *unit, const char *other, bool *out)
{
	_cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL, *get = NULL, *val = NULL;
	_cleanup_(sym_sd_bus_error_freep) sd_bus_error err = SD_BUS_ERROR_NULL;
	const char *path, *name;
	int r;

	*out = false;
	r = sym_sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "LoadUnit");
	if (r >= 0)
		r = sym_sd_bus_message_append(m, "s", unit);
	if (r < 0)
		return log_err(r, "LoadUnit %s: %s", unit, strerror(-r));
	r = sym_sd_bus_call(bus, m, CALL_TIMEOUT_USEC, &err, &reply);
	if (r < 0)
		return log_err(r, "cannot load unit %s: %s", unit, bus_error_text(&err, r));
	r = sym_sd_bus_message_read(reply, "o", &path);
	if (r >= 0)
		r = sym_sd_bus_message_new_method_call(bus, &get, SD_DEST, path, "org.freedesktop.DBus.Properties", "Get");
	if (r >= 0)
		r = sym_sd_bus_message_append(get, "ss", SD_UNIT, "Conflicts");
	if (r < 0)
		return log_err(r, "Conflicts of %s: %s", unit, strerror(-r));
	r = sym_sd_bus_call(bus, get, CALL_TIMEOUT_USEC, &err, &val);
	if (r < 0)
		return log_err(r, "cannot read Conflicts of %s: %s", unit, bus_error_text(&err, r));
	r = sym_sd_bus_message_enter_container(val, 'v', "as");
	if (r >= 0)
		r = sym_sd_bus_message_enter_container(val, 'a', "s");
	while (r >= 0 && (r = sym_sd_bus_message_read(val, "s", &name)) > 0)
		if (streq(name, other))
			*out = true;
	if (r < 0)
		return log_err(r, "Conflicts of %s: bad reply: %s", unit, strerror(-r));
	return 0;
}

int units_postfix_names_on(sd_bus *bus, char ***out)
{
	char state[32];
	bool own_daemon;
	int r;

	*out = NULL;
	/* Debian 13: postfix.service runs the default instance itself and Conflicts= postfix@-.service,
	 * whose template would assert /etc/postfix-//main.cf. */
	r = unit_conflicts_with(bus, "postfix.service", "postfix@-.service", &own_daemon);
	if (r < 0)
		return r;
	log_debug("postfix.service conflicts with postfix@-.service: %s", own_daemon ? "yes" : "no");
	if (own_daemon)
		return names_one("postfix.service", out);
	/* Debian 11/12: postfix.service is a /bin/true wrapper; the daemon runs in the instance unit. */
	r = unit_load_state(bus, "postfix@-.service", state, sizeof state);
	if (r < 0)
		return r;
	log_debug("postfix@-.service: LoadState %s", state);
	if (streq(state, "loaded"))
		return names_one("postfix@-.service", out);
	r = unit_load_state(bus, "postfix.service", state, sizeof state);
	if (r < 0)
		return r;
	log_debug("postfix.service: LoadState %s", state);
	if (streq(state, "not-found"))
		return log_err(-ENOENT, "no Postfix unit: systemd knows neither postfix@-.service nor postfix.service");
	return names_one("postfix.service", out); /* masked etc.: the restart says so */
}

/* ---- restart and reload ---- */

static uint64_t remaining(uint64_t deadline)
{
	uint64_t now = now_usec();
	return deadline > now ? deadline - now : 1; /* 0 would mean "the default timeout" to sd-bus */
}

/* Queue RES->unit's job (RES->action); sets RES->job. */
static int queue_job(sd_bus *bus, struct unit_result *res, uint64_t deadline)
{
	const char *method = res->action == UNIT_RELOAD ? "ReloadUnit" : "RestartUnit";
	_cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	_cleanup_(sym_sd_bus_error_freep) sd_bus_error err = SD_BUS_ERROR_NULL;
	const char *path;
	int r;

	r = sym_sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER, method);
	if (r >= 0)
		r = sym_sd_bus_message_append(m, "ss", res->unit, "replace");
	if (r < 0) {
		snprintf(res->message, sizeof res->message, "%s: cannot build the %s call: %s", res->unit, method,
			 strerror(-r));
		return r;
	}
	r = sym_sd_bus_call(bus, m, remaining(deadline), &err, &reply);
	if (r < 0) {
		snprintf(res->message, sizeof res->message, "%s: %s refused: %s", res->unit, unit_action_name(res->action),
			 bus_error_text(&err, r));
		return r;
	}
	r = sym_sd_bus_message_read(reply, "o", &path);
	if (r < 0) {
		snprintf(res->message, sizeof res->message, "%s: bad %s reply: %s", res->unit, method, strerror(-r));
		return r;
	}
	if (strlen(path) >= sizeof res->job) {
		snprintf(res->message, sizeof res->message, "%s: job path too long: %s", res->unit, path);
		return -ENAMETOOLONG;
	}
	snprintf(res->job, sizeof res->job, "%s", path);
	log_debug("%s: queued %s", res->unit, path);
	return 0;
}

static int read_unit_state(sd_bus *bus, struct unit_result *res)
{
	_cleanup_(sym_sd_bus_error_freep) sd_bus_error err = SD_BUS_ERROR_NULL;
	_cleanup_free_ char *path = NULL;
	int r;

	r = sym_sd_bus_path_encode(SD_UNIT_PREFIX, res->unit, &path);
	if (r < 0)
		return r;
	r = get_string_property(bus, path, SD_UNIT, "ActiveState", CALL_TIMEOUT_USEC, &err, res->active_state,
				sizeof res->active_state);
	if (r >= 0)
		r = get_string_property(bus, path, SD_UNIT, "SubState", CALL_TIMEOUT_USEC, &err, res->sub_state,
					sizeof res->sub_state);
	if (r >= 0) {
		size_t l = strlen(res->unit);
		if (l > 8 && streq(res->unit + l - 8, ".service"))
			r = get_string_property(bus, path, SD_SERVICE, "Result", CALL_TIMEOUT_USEC, &err,
						res->service_result, sizeof res->service_result);
	}
	if (r < 0)
		log_debug("%s: cannot read its state: %s", res->unit, bus_error_text(&err, r));
	return r;
}

static bool state_transient(const char *active_state)
{
	return streq(active_state, "activating") || streq(active_state, "deactivating") ||
	       streq(active_state, "reloading") || streq(active_state, "refreshing");
}

static const char *job_phrase(const char *result, char *buf, size_t size)
{
	if (streq(result, "dependency"))
		return "job failed (a dependency failed)";
	if (streq(result, "timeout"))
		return "job timed out";
	snprintf(buf, size, "job %s", result);
	return buf;
}

static int job_errno(const char *result)
{
	if (streq(result, "timeout"))
		return -ETIME;
	if (streq(result, "canceled"))
		return -ECANCELED;
	return -EIO;
}

/* Fill in RES->ok and RES->message from the job result and the unit's state; returns 0 or -errno. */
static int judge(struct unit_result *res, unsigned timeout_sec, bool lost)
{
	char jb[48], state[96];
	const char *st = res->active_state[0] ? res->active_state : "state unknown";

	if (res->sub_state[0])
		snprintf(state, sizeof state, " (%s/%s%s%s)", res->active_state, res->sub_state,
			 res->service_result[0] && !streq(res->service_result, "success") ? ", " : "",
			 streq(res->service_result, "success") ? "" : res->service_result);
	else
		state[0] = '\0';

	if (!res->job_result[0] && lost) {
		snprintf(res->message, sizeof res->message, "%s: job %s: lost the connection to systemd, unit %s%s",
			 res->unit, res->job, st, state);
		return -ECONNRESET;
	}
	if (!res->job_result[0]) {
		snprintf(res->message, sizeof res->message, "%s: job %s did not finish within %u s, unit %s%s",
			 res->unit, res->job, timeout_sec, st, state);
		return -ETIMEDOUT;
	}
	bool job_ok = streq(res->job_result, "done") || streq(res->job_result, "skipped");
	res->ok = job_ok && streq(res->active_state, "active");
	if (res->ok)
		return 0;
	snprintf(res->message, sizeof res->message, "%s: %s, unit %s%s", res->unit,
		 job_phrase(res->job_result, jb, sizeof jb), st, state);
	return job_ok ? -EIO : job_errno(res->job_result);
}

static int journal_lines(const char *unit, unsigned n, uint64_t since, uint32_t job_id, const char *job_result,
			 const char *job_type, char **text);

static void report_failure(const struct unit_result *res, int r)
{
	_cleanup_free_ char *text = NULL;
	const char *id;
	uint32_t job_id = 0;

	log_err(r, "%s", res->message);
	if (!res->job[0])
		return; /* no job: systemd refused the call; its reason says it all */
	id = strrchr(res->job, '/');
	if (id)
		job_id = (uint32_t)strtoul(id + 1, NULL, 10);
	if (journal_lines(res->unit, JOURNAL_LINES_ON_FAILURE, 0, job_id, res->job_result,
			  res->action == UNIT_RELOAD ? "reload" : "start", &text) < 0 ||
	    strempty(text)) {
		log_err(r, "  (no journal lines; see journalctl -u %s)", res->unit);
		return;
	}
	log_err(r, "  last journal lines of %s:", res->unit);
	for (char *line = text, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		log_err(r, "    %s", line);
	}
}

const char *unit_action_name(enum unit_action a)
{
	return a == UNIT_RELOAD ? "reload" : "restart";
}

/* A reload asked of a unit that is not running becomes a restart (ReloadUnit would fail with
 * "not active"): the unit must run the new files either way. Sets RES->action. */
static void choose_action(sd_bus *bus, struct unit_result *res, enum unit_action wanted)
{
	res->action = wanted;
	if (wanted != UNIT_RELOAD)
		return;
	if (read_unit_state(bus, res) < 0 || !(streq(res->active_state, "active") || streq(res->active_state, "reloading"))) {
		log_debug("%s: %s, so restarted instead of reloaded", res->unit,
			  res->active_state[0] ? res->active_state : "state unknown");
		res->action = UNIT_RESTART;
	}
	/* The state after the job is what counts: forget this one. */
	res->active_state[0] = res->sub_state[0] = res->service_result[0] = '\0';
}

int units_restart(sd_bus *bus, const char *const *units, unsigned timeout_sec, struct unit_result *results)
{
	return units_run(bus, units, NULL, timeout_sec, results);
}

int units_run(sd_bus *bus, const char *const *units, const enum unit_action *actions, unsigned timeout_sec,
	      struct unit_result *results)
{
	size_t n = 0;
	int r, ret = 0;

	while (units && units[n])
		n++;
	if (n == 0)
		return 0;
	if (timeout_sec == 0)
		timeout_sec = UNITS_TIMEOUT_SEC_DEFAULT;
	uint64_t start = now_usec();
	uint64_t deadline = start + (uint64_t)timeout_sec * USEC_PER_SEC;
	_cleanup_free_ int *unit_r = calloc(n, sizeof *unit_r);
	_cleanup_free_ int *job_i = calloc(n, sizeof *job_i);
	if (!unit_r || !job_i)
		return log_err(-ENOMEM, "out of memory");

	for (size_t i = 0; i < n; i++) {
		memset(&results[i], 0, sizeof results[i]);
		results[i].unit = units[i];
		choose_action(bus, &results[i], actions ? actions[i] : UNIT_RESTART);
	}

	/* Every job is queued before any is waited for: Postfix and Dovecot reload at the same time. */
	_cleanup_(job_waiter_freep) struct job_waiter *w = NULL;
	if ((r = job_waiter_new(bus, &w)) < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		job_i[i] = -1;
		unit_r[i] = queue_job(bus, &results[i], deadline);
		if (unit_r[i] >= 0 && (job_i[i] = job_waiter_add(w, results[i].job)) < 0)
			return job_i[i];
	}
	r = job_waiter_wait(w, deadline);
	if (r < 0 && r != -ETIMEDOUT)
		ret = r;
	for (size_t i = 0; i < n; i++)
		if (job_i[i] >= 0 && job_waiter_result(w, (size_t)job_i[i])[0]) {
			snprintf(results[i].job_result, sizeof results[i].job_result, "%s",
				 job_waiter_result(w, (size_t)job_i[i]));
			results[i].usec = job_waiter_finished(w, (size_t)job_i[i]) - start;
		}

	/* Units whose job finished: read their state, giving activating ones a short, bounded while. */
	uint64_t settle_end = now_usec() + SETTLE_USEC;
	if (settle_end > deadline)
		settle_end = deadline;
	for (;;) {
		bool again = false;
		for (size_t i = 0; i < n; i++) {
			struct unit_result *res = &results[i];
			if (!res->job[0] || (res->active_state[0] && !state_transient(res->active_state)))
				continue;
			bool settling = res->active_state[0] != '\0';
			read_unit_state(bus, res);
			if (settling)
				res->usec = now_usec() - start;
			if (res->job_result[0] && state_transient(res->active_state))
				again = true;
		}
		if (!again || now_usec() + SETTLE_POLL_USEC > settle_end)
			break;
		sleep_usec(SETTLE_POLL_USEC);
	}

	for (size_t i = 0; i < n; i++) {
		struct unit_result *res = &results[i];
		if (unit_r[i] >= 0)
			unit_r[i] = judge(res, timeout_sec, ret < 0);
		if (!res->job_result[0] || res->usec == 0)
			res->usec = now_usec() - start;
		if (unit_r[i] < 0) {
			report_failure(res, unit_r[i]);
			if (ret >= 0)
				ret = unit_r[i];
		} else
			log_debug("%s: %s, %s/%s", res->unit, res->job_result, res->active_state, res->sub_state);
	}
	return ret;
}

/* ---- journal ---- */

static int journal_field(sd_journal *j, const char *field, const char **value, size_t *len)
{
	const void *data;
	size_t l, fl = strlen(field);
	int r = sym_sd_journal_get_data(j, field, &data, &l);
	if (r < 0)
		return r;
	if (l < fl + 1)
		return -EBADMSG;
	*value = (const char *)data + fl + 1;
	*len = l - fl - 1;
	return 0;
}

/* One entry as "Mon DD HH:MM:SS ident[pid]: message", control characters replaced. */
static char *journal_line(sd_journal *j)
{
	const char *ident = NULL, *pid = NULL, *msg = NULL;
	size_t ident_len = 0, pid_len = 0, msg_len = 0;
	char when[32] = "";
	uint64_t t;

	if (journal_field(j, "SYSLOG_IDENTIFIER", &ident, &ident_len) < 0)
		(void)journal_field(j, "_COMM", &ident, &ident_len);
	(void)journal_field(j, "_PID", &pid, &pid_len);
	(void)journal_field(j, "MESSAGE", &msg, &msg_len);
	if (sym_sd_journal_get_realtime_usec(j, &t) >= 0) {
		time_t sec = (time_t)(t / USEC_PER_SEC);
		struct tm tm;
		if (localtime_r(&sec, &tm))
			strftime(when, sizeof when, "%b %d %H:%M:%S", &tm);
	}
	if (msg_len > JOURNAL_MESSAGE_MAX)
		msg_len = JOURNAL_MESSAGE_MAX;
	char *line = strdup_printf("%s %.*s[%.*s]: %.*s", when, (int)(ident ? ident_len : 1), ident ? ident : "?",
				   (int)(pid ? pid_len : 1), pid ? pid : "?", (int)(msg ? msg_len : 0), msg ? msg : "");
	if (!line)
		return NULL;
	for (unsigned char *c = (unsigned char *)line; *c; c++)
		if ((*c < ' ' && *c != '\t') || *c == 0x7f)
			*c = '?';
	return line;
}

/* journald writes asynchronously: before reading, wait (bounded) until PID 1's message about the end
 * of job JOB_ID with JOB_RESULT is in the journal, so that the lines are the ones about this job. */
static void journal_wait_for_job(sd_journal *j, const char *unit, uint32_t job_id, const char *job_result,
				 const char *job_type, const char *m_boot)
{
	_cleanup_free_ char *m_unit = strdup_printf("UNIT=%s", unit), *m_id = strdup_printf("JOB_ID=%u", job_id),
			    *m_result = strdup_printf("JOB_RESULT=%s", job_result),
			    *m_type = strdup_printf("JOB_TYPE=%s", job_type ? job_type : "start");
	uint64_t end = now_usec() + JOURNAL_WAIT_USEC;
	int r;

	if (!m_unit || !m_id || !m_result || !m_type || !m_boot)
		return;
	/* No entry at all from this boot (no journald, or another machine's journal): nothing to wait for. */
	r = sym_sd_journal_add_match(j, m_boot, 0);
	if (r >= 0)
		r = sym_sd_journal_seek_tail(j);
	if (r >= 0)
		r = sym_sd_journal_previous(j);
	sym_sd_journal_flush_matches(j);
	if (r <= 0) {
		log_debug("journal: no entries from this boot");
		return;
	}
	r = sym_sd_journal_add_match(j, "_PID=1", 0);
	if (r >= 0)
		r = sym_sd_journal_add_match(j, m_unit, 0);
	if (r >= 0)
		r = sym_sd_journal_add_match(j, m_id, 0);
	if (r >= 0)
		r = sym_sd_journal_add_match(j, m_result, 0);
	if (r >= 0 && streq(job_result, "done")) /* not the stop half of a restart job */
		r = sym_sd_journal_add_match(j, m_type, 0);
	if (r >= 0)
		r = sym_sd_journal_add_match(j, m_boot, 0);
	if (r >= 0)
		r = sym_sd_journal_get_fd(j); /* watch before looking, so no write is missed */
	while (r >= 0) {
		r = sym_sd_journal_seek_tail(j);
		if (r >= 0)
			r = sym_sd_journal_previous(j);
		if (r != 0)
			break; /* found, or an error */
		uint64_t now = now_usec();
		if (now >= end) {
			log_debug("journal: no entry for job %u of %s yet", job_id, unit);
			break;
		}
		r = sym_sd_journal_wait(j, end - now);
	}
	sym_sd_journal_flush_matches(j);
}

static int journal_lines(const char *unit, unsigned n, uint64_t since, uint32_t job_id, const char *job_result,
			 const char *job_type, char **text)
{
	_cleanup_(sym_sd_journal_closep) sd_journal *j = NULL;
	_cleanup_free_ char *m_unit = NULL, *m_pid1_unit = NULL, *m_boot = NULL;
	sd_id128_t boot;
	int r;

	*text = strdup("");
	if (!*text)
		return log_err(-ENOMEM, "out of memory");
	if (n == 0 || dlopen_systemd() < 0)
		return 0;
	r = sym_sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
	if (r < 0) {
		log_debug("no journal to read: %s", strerror(-r));
		return 0;
	}
	m_unit = strdup_printf("_SYSTEMD_UNIT=%s", unit);
	m_pid1_unit = strdup_printf("UNIT=%s", unit);
	if (sym_sd_id128_get_boot(&boot) >= 0) {
		char s[SD_ID128_STRING_MAX];
		m_boot = strdup_printf("_BOOT_ID=%s", sym_sd_id128_to_string(boot, s));
		if (!m_boot)
			return log_err(-ENOMEM, "out of memory");
	}
	if (!m_unit || !m_pid1_unit)
		return log_err(-ENOMEM, "out of memory");
	if (job_id > 0 && !strempty(job_result))
		journal_wait_for_job(j, unit, job_id, job_result, job_type, m_boot);
	/* The unit's own output, or PID 1's messages about it (as journalctl -u does), in this boot. */
	r = sym_sd_journal_add_match(j, m_unit, 0);
	if (r >= 0 && m_boot)
		r = sym_sd_journal_add_match(j, m_boot, 0);
	if (r >= 0)
		r = sym_sd_journal_add_disjunction(j);
	/* PID 1's messages about the unit carry UNIT=, and so do those of the child it forked to
	 * start it ("Failed to execute /usr/sbin/...: No such file"): that child is often gone by the
	 * time journald reads its message, which then has no _SYSTEMD_UNIT. Both run as root: _UID is
	 * set by journald from the sender's credentials, whether the sender still exists or not. */
	if (r >= 0)
		r = sym_sd_journal_add_match(j, "_UID=0", 0);
	if (r >= 0)
		r = sym_sd_journal_add_match(j, m_pid1_unit, 0);
	if (r >= 0 && m_boot)
		r = sym_sd_journal_add_match(j, m_boot, 0);
	if (r >= 0)
		r = since ? sym_sd_journal_seek_realtime_usec(j, since) : sym_sd_journal_seek_tail(j);
	if (r < 0) {
		log_debug("journal: %s", strerror(-r));
		return 0;
	}

	char **lines = calloc(n, sizeof *lines);
	if (!lines)
		return log_err(-ENOMEM, "out of memory");
	unsigned got = 0;
	size_t total = 1;
	/* Collected newest first: backwards from the tail, or forwards from SINCE and then turned. */
	while (got < n && (r = since ? sym_sd_journal_next(j) : sym_sd_journal_previous(j)) > 0) {
		lines[got] = journal_line(j);
		if (!lines[got]) {
			r = -ENOMEM;
			break;
		}
		total += strlen(lines[got]) + 1;
		got++;
	}
	if (r < 0 && r != -ENOMEM)
		log_debug("journal: %s", strerror(-r));
	for (unsigned i = 0; since && i < got / 2; i++) {
		char *t = lines[i];
		lines[i] = lines[got - 1 - i];
		lines[got - 1 - i] = t;
	}
	char *out = r == -ENOMEM ? NULL : malloc(total);
	if (out) {
		char *p = out;
		for (unsigned i = got; i > 0; i--)
			p = stpcpy(stpcpy(p, lines[i - 1]), "\n");
		*p = '\0';
	}
	for (unsigned i = 0; i < got; i++)
		free(lines[i]);
	free(lines);
	if (!out)
		return log_err(-ENOMEM, "out of memory");
	free(*text);
	*text = out;
	return 0;
}

int units_last_journal_lines(const char *unit, unsigned n, char **text)
{
	return journal_lines(unit, n, 0, 0, NULL, NULL, text);
}

int units_journal_lines_since(const char *unit, uint64_t since, unsigned n, char **text)
{
	return journal_lines(unit, n, since ? since : 1, 0, NULL, NULL, text);
}
