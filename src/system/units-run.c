/* Restart and reload jobs (units.h): queue every job, wait for them together (jobwait.h), give a
 * unit still activating a short while, then judge each unit by its job and its state. */
#include "units-internal.h"

#include "bus.h"
#include "jobwait.h"
#include "systemd-bus.h"
#include "util.h"

/* How long a unit that is still activating after its job may take to become active or failed. */
#define SETTLE_USEC (5 * USEC_PER_SEC)
#define SETTLE_POLL_USEC (50 * USEC_PER_MSEC)
#define JOURNAL_LINES_ON_FAILURE 10u

const char *unit_action_name(enum unit_action a)
{
	return a == UNIT_RELOAD ? "reload" : "restart";
}

static uint64_t remaining(uint64_t deadline)
{
	uint64_t now = now_usec();
	return deadline > now ? deadline - now : 1; /* 0 would mean "the default timeout" to sd-bus */
}

/* Queue RES->unit's job (RES->action); sets RES->job. */
static int queue_job(sd_bus *bus, struct unit_result *res, uint64_t deadline)
{
	const char *method = res->action == UNIT_RELOAD ? "ReloadUnit" : "RestartUnit";
	_cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(sym_sd_bus_error_freep) sd_bus_error err = SD_BUS_ERROR_NULL;
	const char *path;
	int r;

	r = bus_call(bus, SD_DEST, SD_PATH, SD_MANAGER, method, remaining(deadline), 0, &err, &reply, "ss", res->unit,
		     "replace");
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
	r = bus_get_string(bus, SD_DEST, path, SD_UNIT, "ActiveState", SD_CALL_TIMEOUT_USEC, &err, res->active_state,
			   sizeof res->active_state);
	if (r >= 0)
		r = bus_get_string(bus, SD_DEST, path, SD_UNIT, "SubState", SD_CALL_TIMEOUT_USEC, &err, res->sub_state,
				   sizeof res->sub_state);
	if (r >= 0) {
		size_t l = strlen(res->unit);
		if (l > 8 && streq(res->unit + l - 8, ".service"))
			r = bus_get_string(bus, SD_DEST, path, SD_SERVICE, "Result", SD_CALL_TIMEOUT_USEC, &err,
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
	if (unit_journal_lines(res->unit, JOURNAL_LINES_ON_FAILURE, 0, job_id, res->job_result,
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

/* One units_run(): the units' results, and per unit the error of queueing its job (UNIT_R) and
 * its index in the waiter (JOB_I, -1 when no job was queued). */
struct run {
	sd_bus *bus;
	struct unit_result *results;
	size_t n;
	unsigned timeout_sec;
	uint64_t start, deadline;
	int *unit_r, *job_i;
};

/* Every job is queued before any is waited for: Postfix and Dovecot reload at the same time.
 * Returns 0, -ETIMEDOUT, the lost connection's error, or (before any wait) the waiter's. */
static int queue_and_wait(struct run *run, const enum unit_action *actions, bool *lost)
{
	_cleanup_(job_waiter_freep) struct job_waiter *w = NULL;
	int r;

	for (size_t i = 0; i < run->n; i++)
		choose_action(run->bus, &run->results[i], actions ? actions[i] : UNIT_RESTART);
	if ((r = job_waiter_new(run->bus, &w)) < 0)
		return r;
	for (size_t i = 0; i < run->n; i++) {
		run->unit_r[i] = queue_job(run->bus, &run->results[i], run->deadline);
		if (run->unit_r[i] >= 0 && (run->job_i[i] = job_waiter_add(w, run->results[i].job)) < 0)
			return run->job_i[i];
	}
	r = job_waiter_wait(w, run->deadline);
	*lost = r < 0 && r != -ETIMEDOUT;
	for (size_t i = 0; i < run->n; i++) {
		struct unit_result *res = &run->results[i];
		size_t k = (size_t)run->job_i[i];
		if (run->job_i[i] >= 0 && job_waiter_result(w, k)[0]) {
			snprintf(res->job_result, sizeof res->job_result, "%s", job_waiter_result(w, k));
			res->usec = job_waiter_finished(w, k) - run->start;
		}
	}
	return *lost ? r : 0;
}

/* Units whose job finished: read their state, giving activating ones a short, bounded while. */
static void settle(struct run *run)
{
	uint64_t settle_end = now_usec() + SETTLE_USEC;
	if (settle_end > run->deadline)
		settle_end = run->deadline;
	for (;;) {
		bool again = false;
		for (size_t i = 0; i < run->n; i++) {
			struct unit_result *res = &run->results[i];
			if (!res->job[0] || (res->active_state[0] && !state_transient(res->active_state)))
				continue;
			bool settling = res->active_state[0] != '\0';
			read_unit_state(run->bus, res);
			if (settling)
				res->usec = now_usec() - run->start;
			if (res->job_result[0] && state_transient(res->active_state))
				again = true;
		}
		if (!again || now_usec() + SETTLE_POLL_USEC > settle_end)
			break;
		sleep_usec(SETTLE_POLL_USEC);
	}
}

int units_restart(sd_bus *bus, const char *const *units, unsigned timeout_sec, struct unit_result *results)
{
	return units_run(bus, units, NULL, timeout_sec, results);
}

int units_run(sd_bus *bus, const char *const *units, const enum unit_action *actions, unsigned timeout_sec,
	      struct unit_result *results)
{
	struct run run = { .bus = bus, .results = results, .timeout_sec = timeout_sec };
	bool lost = false;
	int r, ret;

	while (units && units[run.n])
		run.n++;
	if (run.n == 0)
		return 0;
	if (run.timeout_sec == 0)
		run.timeout_sec = UNITS_TIMEOUT_SEC_DEFAULT;
	run.start = now_usec();
	run.deadline = run.start + (uint64_t)run.timeout_sec * USEC_PER_SEC;
	_cleanup_free_ int *unit_r = run.unit_r = calloc(run.n, sizeof *unit_r);
	_cleanup_free_ int *job_i = run.job_i = calloc(run.n, sizeof *job_i);
	if (!unit_r || !job_i)
		return log_err(-ENOMEM, "out of memory");
	for (size_t i = 0; i < run.n; i++) {
		memset(&results[i], 0, sizeof results[i]);
		results[i].unit = units[i];
		job_i[i] = -1;
	}

	r = queue_and_wait(&run, actions, &lost);
	if (r < 0 && !lost)
		return r; /* the waiter could not be set up, or ran out of memory */
	ret = r;
	settle(&run);
	for (size_t i = 0; i < run.n; i++) {
		struct unit_result *res = &results[i];
		if (unit_r[i] >= 0)
			unit_r[i] = judge(res, run.timeout_sec, lost);
		if (!res->job_result[0] || res->usec == 0)
			res->usec = now_usec() - run.start;
		if (unit_r[i] < 0) {
			report_failure(res, unit_r[i]);
			if (ret >= 0)
				ret = unit_r[i];
		} else
			log_debug("%s: %s, %s/%s", res->unit, res->job_result, res->active_state, res->sub_state);
	}
	return ret;
}
