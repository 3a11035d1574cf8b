/* Making the services use the new files: restart the units whose files changed, over sd-bus, or
 * say why not (offline, --no-restart) and what still needs a restart. */
#pragma once
#include "conffile.h"
#include "options.h"

/* Restart Postfix when a file under the Postfix dir changed, Dovecot when one under the Dovecot dir
 * did. 0 when done or skipped; a negative errno when a unit did not come back (already reported). */
int restart_changed(const struct options *o, const struct conf_set *s);
