/* The TLS certificate and key that smtps (and a secured submission) point Postfix and Dovecot at. */
#pragma once

/* Check CERT and KEY (target-system paths) under ROOT: both readable PEM, the key matches the
 * first certificate, the certificate has not expired. Prints the subject and expiry. Returns
 * -EINVAL (a usage error: nothing was touched) with the reason printed. */
int cert_check(const char *root, const char *cert, const char *key);
