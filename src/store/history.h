/* op25b's history: one JSON object per line in STATE/history, appended after every apply, revert
 * and reload-certs that changed something or failed (time, verb, modes, options without secrets,
 * files, units, result). The transactions under STATE/tx are dropped by revert; this file is what
 * `op25b log` reads. It holds no secret: the records are made from the --json report. */
#pragma once
#include "json.h"

/* Append ENTRY as one line to ROOT/STATE_DIR/history (created 0600). The state directory must
 * exist already (nothing to record otherwise). 0, or a negative errno (printed as a warning). */
int history_append(const char *root, const char *state_dir, const json_t *entry);
/* Every entry, oldest first, as a JSON array in *OUT (empty when there is no history). A line that
 * does not parse is skipped with a warning naming FILE:LINE. */
int history_read(const char *root, const char *state_dir, json_t **out);
