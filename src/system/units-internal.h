/* Inside the units (units.c: reaching systemd and finding the units; units-run.c: restart and
 * reload jobs; units-journal.c: what the journal says about a unit). units.h is the interface. */
#pragma once
#include <stdint.h>

#include "units.h"

/* The last N journal lines of UNIT in this boot, or with SINCE (CLOCK_REALTIME µs, 0: none) the
 * first N at or after it, as units_last_journal_lines() gives them. With JOB_ID and JOB_RESULT
 * (a job that just ended; JOB_TYPE "start" or "reload"), first waits (bounded) until PID 1's
 * message about that job is in the journal, so that the lines are the ones about it. */
int unit_journal_lines(const char *unit, unsigned n, uint64_t since, uint32_t job_id, const char *job_result,
		       const char *job_type, char **text);
