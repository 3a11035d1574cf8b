/* A waiter for systemd jobs (see jobwait.h). */
#include "jobwait.h"

#include "bus.h"
#include "systemd-bus.h"
#include "util.h"

struct job {
	char *path;
	char result[16];
	uint64_t finished;
};

struct job_waiter {
	sd_bus *bus;
	sd_bus_slot *slot;
	struct job *jobs;
	size_t n, pending;
};

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error _unused_)
{
	struct job_waiter *w = userdata;
	const char *path, *unit, *result;
	uint32_t id;

	if (sym_sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0) {
		log_debug("ignoring a malformed JobRemoved signal");
		return 0;
	}
	for (size_t i = 0; i < w->n; i++) {
		struct job *j = &w->jobs[i];
		if (!j->result[0] && streq(j->path, path)) {
			snprintf(j->result, sizeof j->result, "%s", result);
			j->finished = now_usec();
			w->pending--;
			log_debug("%s: job %s %s", unit, path, result);
		}
	}
	return 0;
}

int job_waiter_new(sd_bus *bus, struct job_waiter **ret)
{
	_cleanup_(sym_sd_bus_error_freep) sd_bus_error err = SD_BUS_ERROR_NULL;
	int r;

	*ret = NULL;
	struct job_waiter *w = calloc(1, sizeof *w);
	if (!w)
		return log_err(-ENOMEM, "out of memory");
	w->bus = bus;
	/* On a direct connection (systemd's private socket) messages carry no sender: filter on it
	 * only on a real bus. */
	r = sym_sd_bus_match_signal(bus, &w->slot, sym_sd_bus_is_bus_client(bus) > 0 ? SD_DEST : NULL, SD_PATH,
				    SD_MANAGER, "JobRemoved", on_job_removed, w);
	if (r < 0) {
		job_waiter_free(w);
		return log_err(r, "cannot watch systemd's jobs: %s", strerror(-r));
	}
	/* systemd only emits Manager signals while a client is subscribed. */
	r = bus_call(bus, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", SD_CALL_TIMEOUT_USEC, 0, &err, NULL, NULL);
	if (r < 0 && !sym_sd_bus_error_has_name(&err, "org.freedesktop.systemd1.AlreadySubscribed")) {
		job_waiter_free(w);
		return log_err(r, "cannot subscribe to systemd's signals: %s", bus_error_text(&err, r));
	}
	*ret = w;
	return 0;
}

void job_waiter_free(struct job_waiter *w)
{
	if (!w)
		return;
	if (w->slot)
		sym_sd_bus_slot_unref(w->slot);
	for (size_t i = 0; i < w->n; i++)
		free(w->jobs[i].path);
	free(w->jobs);
	free(w);
}

int job_waiter_add(struct job_waiter *w, const char *path)
{
	struct job *v = reallocarray(w->jobs, w->n + 1, sizeof *v);
	if (!v)
		return log_err(-ENOMEM, "out of memory");
	w->jobs = v;
	v[w->n] = (struct job){ .path = strdup(path) };
	if (!v[w->n].path)
		return log_err(-ENOMEM, "out of memory");
	w->pending++;
	return (int)w->n++;
}

int job_waiter_wait(struct job_waiter *w, uint64_t deadline)
{
	int r;

	/* Signals that arrived while the jobs were being queued wait in the connection's queue:
	 * sd_bus_process() dispatches them before anything is read. */
	while (w->pending > 0) {
		r = sym_sd_bus_process(w->bus, NULL);
		if (r < 0)
			return log_err(r, "lost the connection to systemd while waiting for jobs: %s", strerror(-r));
		if (r > 0)
			continue;
		uint64_t now = now_usec();
		if (now >= deadline)
			return -ETIMEDOUT;
		r = sym_sd_bus_wait(w->bus, deadline - now);
		if (r < 0 && r != -EINTR)
			return log_err(r, "waiting for systemd's jobs: %s", strerror(-r));
	}
	return 0;
}

const char *job_waiter_result(const struct job_waiter *w, size_t i)
{
	return i < w->n ? w->jobs[i].result : "";
}

uint64_t job_waiter_finished(const struct job_waiter *w, size_t i)
{
	return i < w->n ? w->jobs[i].finished : 0;
}
