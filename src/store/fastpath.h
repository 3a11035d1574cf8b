/* The no-change fast path of apply (see fastpath.c). */
#pragma once
#include "journal.h"
#include "secret.h"
#include "settings.h"

/* Whether the steps besides the files as T left them (restarted, firewall opened in that zone) are
 * all that WANT asks for (restarted: a restart is asked; firewall: the firewall step, in zone;
 * --no-restart and --no-firewall ask for nothing). */
bool fastpath_steps_cover(const struct tx *t, const struct tx_steps *want);
/* The firewall part of it alone. */
bool fastpath_firewall_covers(const struct tx *t, const struct tx_steps *want);

/* A digest of everything the planning of O's mode reads (the Postfix and Dovecot directories, the
 * password map, the certificate and key), recorded with each transaction. -E2BIG for an
 * unreasonably big tree. */
int fastpath_state(const struct target *t, unsigned modes, const struct relay_settings *o, const struct tls_paths *tls,
		   char out[65]);

/* 1 when applying again would change nothing: the newest transaction of the mode has the same
 * options (OPTS_HASH: request_hash() of src/cli/request.h) and steps that cover WANT
 * (fastpath_steps_cover), every file still holds what op25b wrote, and nothing else changed; for
 * submission the caller then asks fastpath_password_holds() (the password is read only when
 * everything else holds, and once: src/facts/facts.h). Then *CERT_NOT_AFTER is the expiry of the
 * certificate as that transaction checked it (its bytes are the same; 0: unknown). 0 when that
 * cannot be shown, or a negative errno. */
int fastpath_already_applied(const struct target *t, unsigned modes, const struct relay_settings *o,
			     const struct tls_paths *tls, const char *opts_hash, const struct tx_steps *want,
			     const struct journal *j, time_t *cert_not_after);

/* Submission: the map holds PW for the relay already, as the planning would leave it
 * (relay_map_holds() of src/conf/relay-map.h: the same reading of its lines as the plan's). */
int fastpath_password_holds(const struct target *t, const struct relay_settings *o, const struct secret *pw,
			    bool *same);
