/* Facts, gathered once before planning: everything the plans need from outside the files they
 * edit (struct plan_facts, src/plan/plan-facts.h). apply's order: the files parsed and the facts
 * read here, then the plans (pure: they edit trees), then the files rendered. */
#pragma once
#include "offline.h"
#include "plan-facts.h"
#include "settings.h"

/* The relay's password, from --relay-password-file or standard input, into F (once: a second call
 * keeps what the first read). The fast path asks first when it needs it (src/cli/verb-apply.c).
 * -EINVAL with the reason printed. */
int facts_secret(const struct target *t, const struct relay_settings *o, struct plan_facts *f);

/* For MODES (one MODE_* bit): with HOOK (--domain), certbot's hook; Postfix's main.cf and
 * master.cf parsed into S, Dovecot's ssl facts for smtps, and for submission
 * the password (facts_secret()), the relay checked (relay_tls_check(): a probe unless
 * --mechanisms=LIST with secure), the mechanisms, the table type, the map parsed (first in S: it is
 * written and compiled before main.cf points at it); the SASL wiring's facts for both. Nothing is
 * written. 0, or a negative errno after a message saying what failed. */
int facts_gather(struct conf_set *s, const struct target *t, unsigned modes, const struct relay_settings *o,
		 bool hook, struct plan_facts *f);

/* Whether the run works on the running system or on files only: the one detector (offline_detect(),
 * src/system/offline.c), asked once per run, here. The restarts (restart_changed()) and the
 * firewall step (struct fw_ctx) get this answer, so that both say the same and skip together. */
void facts_offline(const struct target *t, struct offline *ret);

/* Free F; the password is wiped. */
void facts_done(struct plan_facts *f);
