/* Waiting for systemd jobs, the way systemctl waits: watch JobRemoved and
 * Subscribe BEFORE any job is queued (a fast job's signal is otherwise lost), queue every job, then
 * dispatch signals until each queued job is removed or the deadline passes. Several jobs (Postfix
 * and Dovecot) run at the same time and are waited for together.
 *
 *	_cleanup_(job_waiter_freep) struct job_waiter *w = NULL;
 *	if (job_waiter_new(bus, &w) < 0) ...
 *	i = job_waiter_add(w, job_path_from_the_RestartUnit_reply);   (for each job)
 *	r = job_waiter_wait(w, deadline);    0, -ETIMEDOUT, or the connection's error
 *	job_waiter_result(w, i)              "done", "failed", ...; "" when still running
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "dlopen-systemd.h"

struct job_waiter;

/* Watch BUS for JobRemoved and subscribe to systemd's signals (a connection already subscribed,
 * e.g. by an earlier waiter, is fine). The waiter keeps no reference to BUS: free it first. */
int job_waiter_new(sd_bus *bus, struct job_waiter **ret);
void job_waiter_free(struct job_waiter *w);
static inline void job_waiter_freep(struct job_waiter **w) { job_waiter_free(*w); }

/* Track the job at object path PATH. Returns its index (0, 1, ...) or -ENOMEM. The same path
 * twice (systemd merged two requests into one job) is tracked twice and finishes for both. */
int job_waiter_add(struct job_waiter *w, const char *path);

/* Dispatch signals until every tracked job was removed or DEADLINE (now_usec() clock) passed.
 * 0 when all finished, -ETIMEDOUT when some did not, or the negative errno of a lost connection
 * (logged). Can be called again after more jobs were added. */
int job_waiter_wait(struct job_waiter *w, uint64_t deadline);

/* Job I's result as systemd reports it (done, skipped, failed, dependency, timeout, canceled, ...),
 * "" while it has not finished; and when it finished (now_usec() clock), 0 while it has not. */
const char *job_waiter_result(const struct job_waiter *w, size_t i);
uint64_t job_waiter_finished(const struct job_waiter *w, size_t i);
