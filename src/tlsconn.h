/* A small client connection for `op25b verify`: TCP, TLS (implicit or after STARTTLS), SMTP replies
 * and protocol lines, and the fingerprint of the certificate the server presented. Sockets are
 * non-blocking and every wait ends at one deadline, so a silent server costs at most the timeout.
 * Certificates are looked at, not enforced: verify compares them with the configured files. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smtp_reply.h"

struct tlsconn {
	int fd;
	void *ctx, *ssl;            /* SSL_CTX, SSL */
	uint64_t deadline;          /* CLOCK_MONOTONIC ms */
	unsigned timeout_sec;
	const char *expect;         /* what is awaited, for messages */
	char err[384];              /* why the last call failed */
	size_t len;
	char buf[2 * SMTP_LINE_MAX];
};

#define TLSCONN_INIT { .fd = -1 }

/* Connect to HOST (a name or an address) on PORT; the whole conversation must end within
 * TIMEOUT_SEC. Negative errno with c->err set on failure. */
int tlsconn_open(struct tlsconn *c, const char *host, unsigned port, unsigned timeout_sec);
/* TLS handshake as a client (SNI for names). */
int tlsconn_start_tls(struct tlsconn *c, const char *host);
bool tlsconn_is_tls(const struct tlsconn *c);
/* SHA-256 of the server certificate (DER, lowercase hex) and its subject (RFC 2253, malloc'd). */
int tlsconn_peer_cert(const struct tlsconn *c, char sha256[65], char **subject);

int tlsconn_send(struct tlsconn *c, const char *data, size_t n);
/* One line (without its CR LF) into *line (malloc'd), at most SMTP_LINE_MAX bytes. */
int tlsconn_read_line(struct tlsconn *c, char **line);
/* Read one complete SMTP reply. */
int tlsconn_read_reply(struct tlsconn *c, struct smtp_reply *reply);
/* Send CMD (CR LF added) and read the reply. SHOWN is what --verbose prints instead of CMD (for
 * AUTH), NULL to print CMD. */
int tlsconn_command(struct tlsconn *c, const char *cmd, const char *shown, struct smtp_reply *reply);

void tlsconn_close(struct tlsconn *c);

/* The first certificate of the PEM file PATH (a leaf before its chain, as in fullchain.pem):
 * SHA-256 of its DER form, and its subject. -errno, or -EBADMSG for a file with no certificate. */
int tls_cert_file_sha256(const char *path, char sha256[65], char **subject);
