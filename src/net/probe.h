/* `op25b probe`: what an admin does with `telnet isp 587` and `ehlo`, automated — connect, read
 * the banner, EHLO, STARTTLS, EHLO again, QUIT — and bounded by one deadline, so a hostile or
 * broken server costs at most timeout_sec. Also used by `apply --mode=submission
 * --mechanisms=auto` to learn which AUTH mechanisms the relay offers, and whether only after TLS. */
#pragma once
#include <stdbool.h>
#include <stdio.h>

#include "json.h"
#include "smtp_reply.h"

#define PROBE_DEFAULT_PORT 587       /* submission (RFC 6409) */
#define PROBE_IMPLICIT_TLS_PORT 465  /* submissions (RFC 8314): TLS before the banner */

struct probe_result {
	char *host;                 /* as probed: a name or an address, without brackets */
	unsigned port;
	char *address;              /* numeric address actually connected to */
	bool implicit_tls;          /* port 465 */

	char *banner;               /* 220 greeting text, lines joined by '\n' */
	bool have_before;           /* an EHLO in clear was done (never with implicit TLS) */
	struct smtp_ehlo before;
	bool starttls_offered;
	char *starttls_refused;     /* "454 4.7.0 TLS not available" when STARTTLS was refused */

	bool tls;                   /* a TLS session was established */
	char *tls_version, *tls_cipher;
	char *cert_subject, *cert_issuer;  /* RFC 2253 form; NULL when no certificate */
	char *cert_not_after;       /* ISO 8601 UTC, "2031-01-01T00:00:00Z" */
	bool verify_ok;             /* chain to the system CA store and host name both verified */
	char *verify_error;         /* X509_verify_cert_error_string() when !verify_ok */
	unsigned verify_errs;       /* TLSCONN_BAD_*: every problem found, for the relay check */
	char *verify_other;         /* the TLSCONN_BAD_OTHER reason */
	char *cert_names;           /* the names the certificate is for (subjectAltNames, else CN) */
	char *pubkey_sha256;        /* of its public key, "AB:CD:..." (what fingerprint pins) */
	bool have_after;            /* an EHLO inside TLS was done */
	struct smtp_ehlo after;

	bool auth_before_tls;       /* mechanisms offered in clear: a password may cross in clear */
	bool auth_only_after_tls;   /* mechanisms offered, and none of them in clear */
	char *error;                /* why the probe failed (also printed); NULL when it completed */
};

/* Probe HOST (a name or an address literal without brackets) on PORT; the whole probe, name
 * resolution aside, ends within TIMEOUT_SEC. Fills *OUT (also partly on failure, with
 * out->error set). Returns 0 when the probe completed, or a negative errno after printing a
 * message that names the server and what was expected. */
int probe_run(const char *host, unsigned port, unsigned timeout_sec, struct probe_result *out);
/* The same, the certificate checked against CA_FILE and/or CA_PATH instead of the system store:
 * the CAs Postfix will trust. CA_ROOT NULL: host paths, read by OpenSSL; else paths on the target
 * system, read beneath CA_ROOT (--root), and both NULL is OpenSSL's default store beneath it. */
int probe_run_ca(const char *host, unsigned port, unsigned timeout_sec, const char *ca_root, const char *ca_file,
		 const char *ca_path, struct probe_result *out);
void probe_result_free(struct probe_result *r);

/* The report for people. */
void probe_result_print(const struct probe_result *r, FILE *f);
/* The same as a JSON object (json.h: invalid UTF-8 from the server becomes U+FFFD); NULL when out
 * of memory. */
json_t *probe_result_json(const struct probe_result *r);
