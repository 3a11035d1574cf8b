/* Dovecot's ssl settings: 2.2/2.3 names (ssl_cert = <FILE) or 2.4 names (ssl_server_cert_file =
 * FILE), edited where they live, or in a drop-in when that file uses 2.4's block syntax, which
 * Augeas' Dovecot lens cannot read. */
#pragma once
#include "conffile.h"

#define DOVECOT_LENS "Dovecot.lns"
#define DOVECOT_DROPIN "conf.d/99-op25b-ssl.conf"

/* Point Dovecot at CERT/KEY and turn ssl on (never lowering "required"). A missing Dovecot is
 * not an error: *found is false and nothing is planned. */
int dovecot_plan_ssl(struct conf_set *s, const char *dovecot_dir, const char *cert, const char *key, bool *found);
