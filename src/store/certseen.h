/* What certificate each service was last (re)started or reloaded with, as op25b saw it: the
 * SHA-256 of the certificate file's bytes followed by the key file's, in STATE/certs (one
 * "SERVICE HASH" line each). apply records it when it restarts the services with a certificate;
 * reload-certs compares it with the files now, reloads a service whose pair changed, and records
 * the new one. No secret: a hash of the key is kept, never the key. */
#pragma once
#include <stdbool.h>

enum { SEEN_POSTFIX, SEEN_DOVECOT, SEEN_N };

struct certs_seen {
	char hash[SEEN_N][65];      /* "" when unknown */
};

/* The hash of the pair CERT, KEY (paths on the target system) under ROOT into out[65]. -errno
 * (not printed) when either cannot be read. */
int cert_pair_hash(const char *root, const char *cert, const char *key, char out[65]);
/* Read ROOT/STATE_DIR/certs; a missing file leaves every hash "". */
int certs_seen_read(const char *root, const char *state_dir, struct certs_seen *seen);
/* Replace it (atomically, 0600). The state directory must exist. */
int certs_seen_write(const char *root, const char *state_dir, const struct certs_seen *seen);
