/* --relay-tls: the relay checked before anything is written (relay-check.c). */
#pragma once
#include <stdbool.h>

#include "conffile.h"
#include "hostport.h"
#include "relay-tls.h"
#include "settings.h"

/* Check the relay HP as O->tls (--relay-tls) asks, with MAIN_CF as it is: secure needs a name and CAs (the
 * ones main.cf names, else the distribution's bundle under the root), and a certificate that
 * verifies with them (-EPERM after a message that says what failed and the two ways forward);
 * fingerprint learns the key to pin. The relay is probed when NEED_MECHS (--mechanisms=auto) or
 * for fingerprint; secure with a given list of mechanisms does not connect and says so. */
int relay_tls_check(struct conf_set *s, struct conf_file *main_cf, const struct target *tg,
		    const struct relay_settings *o, const struct hostport *hp, bool need_mechs, struct relay_tls *t);
