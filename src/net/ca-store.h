/* The CAs that vouch for a server (smtp_tls_CAfile, smtp_tls_CApath, or OpenSSL's default
 * locations) read beneath --root like every other file (src/base/rootfs.h), and handed to OpenSSL
 * from memory. OpenSSL's own loaders open paths on the host, where a symlink in the tree (Debian's
 * /etc/ssl/certs is full of them) leads out of it: the root would not be the source of the trust
 * anchors, and a tree could point them at a bundle that trusts a machine in the middle. */
#pragma once
#include <stddef.h>

typedef struct x509_store_st X509_STORE;

/* Add to STORE what SSL_CTX_load_verify_locations(CA_FILE, CA_PATH) adds, with those paths (on the
 * target system) resolved beneath ROOT, symlinks inside it as after chroot(ROOT):
 *   - every certificate and CRL of the PEM file CA_FILE; it must hold at least one, as OpenSSL
 *     requires, else nothing more is loaded (OpenSSL then skips CA_PATH too);
 *   - from the directory CA_PATH (or a ':'-separated list of them), the certificates OpenSSL's
 *     hashed lookup finds: files named HASH.N (c_rehash, update-ca-certificates), the ones whose
 *     subject hashes to HASH, N counted from 0 without a gap. A missing directory holds none.
 * Both NULL: OpenSSL's default locations ($SSL_CERT_FILE and $SSL_CERT_DIR, else the built-in
 * ones) beneath ROOT, as SSL_CTX_set_default_verify_paths() takes them on the host.
 * *N_CERTS (may be NULL) gets the number of certificates added. Returns 0 or a negative errno of
 * CA_FILE: unreadable (rootfs.h's), or -EBADMSG when it holds no certificate or a damaged PEM
 * block; -ENOMEM. Prints nothing. */
int ca_store_load(X509_STORE *store, const char *root, const char *ca_file, const char *ca_path, size_t *n_certs);
