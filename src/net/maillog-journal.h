/* The delivery status of a queue ID in the systemd journal (verify --send-test where Postfix logs
 * there and there is no mail log file). */
#pragma once
#include <stdint.h>
#include <time.h>

/* Look for QID's "to=<...> ... status=..." line among the mail entries from SINCE_USEC (realtime)
 * on, waiting for new ones until UNTIL. 1 with *LINE (from "to=<" on, malloc'd), 0 when none came
 * in time, -ENODATA when the journal holds no mail entry at all since then (nothing logs there),
 * or a negative errno when the journal cannot be read (no libsystemd, no journal). */
int maillog_journal_find(const char *qid, uint64_t since_usec, time_t until, char **line);
