/* SASL wiring: the recipe turns on smtpd_sasl_auth_enable for 465/587, which does nothing unless
 * Postfix knows who checks the passwords. When main.cf names no SASL server, Postfix is pointed at
 * Dovecot (smtpd_sasl_type = dovecot, smtpd_sasl_path = private/auth) and Dovecot gets the matching
 * auth listener in Postfix's queue directory. */
#pragma once
#include "conffile.h"
#include "plan-facts.h"
#include "settings.h"

#define SASL_DROPIN "conf.d/99-op25b-auth.conf"
#define SASL_PATH "private/auth"

/* Does MAIN_CF name a SASL server (smtpd_sasl_type or smtpd_sasl_path set: the admin's choice, or
 * an op25b mode's), and is it op25b's (smtpd_sasl_path = SASL_PATH)? The facts the wiring needs
 * depend on it (src/facts/sasl-facts.c). */
int sasl_names_server(struct conf_set *s, struct conf_file *main_cf, bool *names, bool *ours);

/* Plan the wiring on MAIN_CF (already opened in S) and, when needed, Dovecot's listener: in the
 * drop-in SASL_DROPIN when dovecot.conf includes every conf.d file, else in dovecot.conf itself (through
 * the Dovecot lens; the file may already be open in S). Nothing is planned when main.cf already
 * names a SASL server (the admin's choice); a warning, and nothing planned, when Dovecot is missing
 * or cannot be edited. F: what Dovecot's configuration has (facts_gather()). Returns 0 or a
 * negative errno (the cause printed). */
int plan_sasl_wiring(struct conf_set *s, const struct target *o, struct conf_file *main_cf, const struct sasl_facts *f);
