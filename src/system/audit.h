/* The audit record of a run that changed something (or failed trying): one structured entry in
 * the systemd journal, or a syslog line where there is no journal. Made from the --json report
 * (report.c), which holds no secret. */
#pragma once
#include "json.h"

/* MESSAGE_ID of op25b's records (`journalctl MESSAGE_ID=...`; man/op25b.8). */
#define OP25B_AUDIT_MESSAGE_ID "5b0c3e1a9f2d4c7e8a61d2f0b39e4a17"

/* Log REPORT (the object of report.c: verb, modes, files, units, firewall, exit) with fields
 * OP25B_VERB, OP25B_MODE, OP25B_FILE (one per file, "ACTION PATH"), OP25B_EDITS, OP25B_UNIT,
 * OP25B_FIREWALL, OP25B_RESULT, OP25B_VERSION. Never fails the run: a record that cannot be sent is
 * a warning. */
void audit_log(const json_t *report);
