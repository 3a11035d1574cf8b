/* After a reload: is the new configuration really served? A reload job's "done" only says that the
 * daemon was told (postfix reload, doveadm reload signal it); the daemon then re-reads its files on
 * its own, and a Dovecot that cannot read them keeps the old ones (job "done" all the same). So the
 * ports are asked, over loopback, until they present the configured certificate. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether something accepts a TCP connection on HOST:PORT right now (at most 1 s). */
bool serving_listens(const char *host, unsigned port);

/* One port to watch: HOST:PORT must present the certificate whose SHA-256 is WANT (lowercase hex)
 * at once (implicit TLS), and with SMTP also greet with 220 (then QUIT). */
struct serving_port {
	const char *host;
	unsigned port;
	bool smtp;
	const char *want;
	bool ok;              /* seen */
	uint64_t usec;        /* when (now_usec() clock) */
	char why[512];        /* else what was seen last: "presents another certificate (CN=...)", ... */
};

/* Look at every port of V again every 50 ms, all in the same rounds, until each was seen right or
 * DEADLINE (now_usec() clock) passed. 0 when all were seen, -ETIMEDOUT (see each ->why), -ENOMEM. */
int serving_wait(struct serving_port *v, size_t n, uint64_t deadline);
