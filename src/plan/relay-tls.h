/* --relay-tls=secure|fingerprint|encrypt: how the ISP relay proves who it is before Postfix gives it
 * the password (smtp_tls_security_level and the keys that go with it), checked by op25b itself
 * before anything is written (relay_tls_check(), src/facts/relay-check.c). */
#pragma once
#include <stdbool.h>

#include "conffile.h"
#include "settings.h"

struct relay_tls {
	const char *level;        /* "secure", "fingerprint" or "encrypt" */
	char *ca_file, *ca_path;  /* secure: the CAs Postfix will trust (paths on the target system) */
	bool write_ca;            /* smtp_tls_CAfile is to be set (the distribution's bundle) */
	char *pin;                /* the relay's public key as probed, "AB:CD:..." (SHA-256) */
	char *offered;            /* NEED_MECHS: what the relay offers inside TLS, "PLAIN,LOGIN" */
};

/* The main.cf keys of T. */
int relay_tls_set(struct conf_set *s, struct conf_file *main_cf, const struct relay_tls *t);
void relay_tls_done(struct relay_tls *t);
