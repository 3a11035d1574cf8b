/* The TLS certificate and key that smtps (and a secured submission) point Postfix and Dovecot at. */
#pragma once

#include <stdbool.h>
#include <time.h>

/* Check CERT and KEY (target-system paths) under ROOT: both readable PEM, the key matches the
 * first certificate, the certificate has not expired. Prints the subject and expiry and, when
 * NOT_AFTER is not NULL, stores the expiry there. Returns -EINVAL (a usage error: nothing was
 * touched) with the reason printed. */
int cert_check(const char *root, const char *cert, const char *key, time_t *not_after);

/* For a certificate and key whose bytes are those cert_check() passed before (the no-change fast
 * path proves that), only the clock can change the verdict: prints the expiry as cert_check()
 * does and returns true while NOT_AFTER (0: unknown) lies ahead; false means "check it again". */
bool cert_still_valid(const char *cert, time_t not_after);
