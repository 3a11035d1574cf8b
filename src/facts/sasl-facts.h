/* The SASL wiring's facts (struct sasl_facts of src/plan/plan-facts.h): Dovecot's configuration as
 * it is, and Postfix's queue directory and mail owner, read only when the wiring needs them. */
#pragma once
#include "conffile.h"
#include "dovecot-facts.h"
#include "plan-facts.h"
#include "settings.h"

/* Fill F for the wiring on MAIN_CF (parsed in S); DC: dovecot.conf, read here when needed. 0, or
 * a negative errno after a message (a dovecot.conf that cannot be read for another reason than
 * its absence, postconf failing). */
int sasl_facts_gather(struct conf_set *s, const struct target *o, struct conf_file *main_cf, struct dovecot_conf *dc,
		      struct sasl_facts *f);
void sasl_facts_done(struct sasl_facts *f);
