/* Undoing a revert that was killed before it was done (journal.h: the revert intent). */
#pragma once
#include "journal.h"
#include "settings.h"

/* J holds a pending revert intent: every file that holds what that revert wrote gets its bytes
 * from before it back (a file changed since is left, and said so), the staying transactions lose
 * the lines it added, and the intent goes. J then is the journal from before that revert, and the
 * files match it: the revert can be planned again. A negative errno, the message given. */
int intent_undo(struct journal *j, const struct target *t);
