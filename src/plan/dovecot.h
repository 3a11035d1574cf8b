/* Dovecot's ssl settings: 2.2/2.3 names (ssl_cert = <FILE) or 2.4 names (ssl_server_cert_file =
 * FILE, or ssl_server { cert_file = FILE }), edited where they take effect, with the project's
 * lens for every Dovecot file (lenses/op25b_dovecot.aug). */
#pragma once
#include "conffile.h"

#define DOVECOT_LENS "Op25b_Dovecot.lns"

/* Point Dovecot at CERT/KEY and turn ssl on (never lowering "required"). A missing Dovecot is
 * not an error: *found is false and nothing is planned. */
int dovecot_plan_ssl(struct conf_set *s, const char *dovecot_dir, const char *cert, const char *key, bool *found);
