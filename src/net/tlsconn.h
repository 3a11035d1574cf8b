/* A small client connection for `op25b verify`: TCP, TLS (implicit or after STARTTLS), SMTP replies
 * and protocol lines, and the fingerprint of the certificate the server presented. Sockets are
 * non-blocking and every wait ends at one deadline, so a silent server costs at most the timeout.
 * Certificates are looked at, not enforced: verify compares them with the configured files. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smtp_reply.h"
#include "util.h"

struct tlsconn {
	int fd;
	void *ctx, *ssl;            /* SSL_CTX, SSL */
	uint64_t deadline;          /* CLOCK_MONOTONIC ms */
	unsigned timeout_sec;
	unsigned flags;             /* TLSCONN_* */
	const char *expect;         /* what is awaited, for messages */
	char err[384];              /* why the last call failed */
	bool err_is_errno;          /* err only restates the errno, in the context of expect */
	/* TLSCONN_CHECK_PEER: the CAs that vouch for the server (both NULL: the system store). Paths
	 * on the host, read by OpenSSL, when CA_ROOT is NULL; else paths on the target system read
	 * beneath CA_ROOT (ca-store.h), the system store too. Set after connecting, before
	 * tlsconn_start_tls(). */
	const char *ca_root, *ca_file, *ca_path;
	unsigned verify_errs;       /* TLSCONN_BAD_* seen while the chain was checked */
	char verify_other[96];      /* the first TLSCONN_BAD_OTHER reason */
	char verify_first[96];      /* the first problem found (OpenSSL keeps the last one) */
	size_t len;
	char buf[2 * SMTP_LINE_MAX];
};

#define TLSCONN_INIT { .fd = -1 }

enum {
	/* Each address of the host gets an equal share of the time left, so one that swallows SYNs
	 * (a firewalled IPv6 route, typically) does not use up the whole deadline; failed attempts
	 * are logged with --verbose. */
	TLSCONN_SHARE_DEADLINE = 1 << 0,
	/* Check the server certificate against the system CA store and the host name, without
	 * enforcing it (see tlsconn_info()); set-up failures give OpenSSL's reason. */
	TLSCONN_CHECK_PEER = 1 << 1,
};

/* What was wrong with the server certificate: every problem, not only the first. */
enum {
	TLSCONN_BAD_NAME = 1 << 0,    /* not for the host name (or address) connected to */
	TLSCONN_BAD_ISSUER = 1 << 1,  /* no chain to a trusted CA (self-signed, unknown issuer) */
	TLSCONN_BAD_DATE = 1 << 2,    /* expired, or not valid yet */
	TLSCONN_BAD_OTHER = 1 << 3,   /* anything else (verify_other says what) */
};

/* Connect to HOST (a name or an address) on PORT; the whole conversation must end within
 * TIMEOUT_SEC. Negative errno with c->err set on failure. */
int tlsconn_open(struct tlsconn *c, const char *host, unsigned port, unsigned timeout_sec);
/* The same with TLSCONN_* FLAGS; the numeric address connected to into *ADDRESS (malloc'd)
 * unless NULL (a failure to render it is a bare negative errno). */
int tlsconn_connect(struct tlsconn *c, const char *host, unsigned port, unsigned timeout_sec, unsigned flags,
		    char **address);
/* TLS handshake as a client (SNI for names). */
int tlsconn_start_tls(struct tlsconn *c, const char *host);

/* The established session: strings malloc'd, free with tlsconn_info_free(). */
struct tlsconn_info {
	char *version, *cipher;
	char *subject, *issuer;     /* RFC 2253 form; NULL when no certificate */
	char *not_after;            /* ISO 8601 UTC, "2031-01-01T00:00:00Z" */
	bool verified;              /* certificate presented, chain and host name verified */
	char *verify_error;         /* why not, when !verified */
};
/* Filled also partly on failure (-ENOMEM). Verification needs TLSCONN_CHECK_PEER. */
int tlsconn_info(const struct tlsconn *c, struct tlsconn_info *info);
void tlsconn_info_free(struct tlsconn_info *info);
/* SHA-256 of the server's public key (its DER SubjectPublicKeyInfo, what Postfix's
 * smtp_tls_fingerprint_cert_match compares) as uppercase hex pairs joined by colons. */
int tlsconn_peer_pubkey_sha256(const struct tlsconn *c, char out[96]);
/* The names the server certificate is for: its DNS and IP subjectAltNames, else its CN, joined by
 * ", " (malloc'd; NULL without a certificate or memory). */
char *tlsconn_peer_names(const struct tlsconn *c);
/* SHA-256 of the server certificate (DER, lowercase hex) and its subject (RFC 2253, malloc'd). */
int tlsconn_peer_cert(const struct tlsconn *c, char sha256[65], char **subject);

int tlsconn_send(struct tlsconn *c, const char *data, size_t n);
/* One line (without its CR LF) into *line (malloc'd), at most SMTP_LINE_MAX bytes. */
int tlsconn_read_line(struct tlsconn *c, char **line);
/* Read one complete SMTP reply. On failure, what came before the offending line is consumed:
 * c->buf starts with it. */
int tlsconn_read_reply(struct tlsconn *c, struct smtp_reply *reply);
/* Send CMD (CR LF added) and read the reply. SHOWN is what --verbose prints instead of CMD (for
 * AUTH), NULL to print CMD. */
int tlsconn_command(struct tlsconn *c, const char *cmd, const char *shown, struct smtp_reply *reply);

/* Record a failure: REASON into c->err; returns R. */
_printf_(3, 4) int tlsconn_fail(struct tlsconn *c, int r, const char *fmt, ...);
/* Shorten the time left to at most MS milliseconds. */
void tlsconn_limit(struct tlsconn *c, unsigned ms);

/* Send TLS close_notify (without waiting for the server's); -EPROTO when that failed. */
int tlsconn_shutdown(struct tlsconn *c);
/* Free everything without a word to the server. */
void tlsconn_abort(struct tlsconn *c);
/* tlsconn_shutdown(), then tlsconn_abort(). */
void tlsconn_close(struct tlsconn *c);

/* The first certificate of the PEM file PATH (a leaf before its chain, as in fullchain.pem):
 * SHA-256 of its DER form, and its subject. -errno, or -EBADMSG for a file with no certificate. */
int tls_cert_file_sha256(const char *root, const char *path, char sha256[65], char **subject);
