/* Dovecot's ssl settings: 2.2/2.3 names (ssl_cert = <FILE) or 2.4 names (ssl_server_cert_file =
 * FILE, or ssl_server { cert_file = FILE }), edited where they take effect, with the project's
 * lens for every Dovecot file (lenses/op25b_dovecot.aug). */
#pragma once
#include "conffile.h"
#include "plan-facts.h"

#define DOVECOT_LENS "Op25b_Dovecot.lns"

/* Point Dovecot at CERT/KEY and turn ssl on (never lowering "required"), in the file FACTS
 * (dovecot_ssl_facts_gather(), src/facts/dovecot-facts.c) say it takes effect. A missing Dovecot
 * is not an error: nothing is planned. */
int dovecot_plan_ssl(struct conf_set *s, const char *dovecot_dir, const char *cert, const char *key,
		     const struct dovecot_ssl_facts *facts);
