/* HOST, HOST:PORT, [HOST]:PORT, [v6]:PORT and bare IPv6 literals: what an admin types for
 * `op25b probe` and --relayhost, checked before anything touches the network or a config file
 * (the host ends up in main.cf and in the password map, so no whitespace, no control bytes). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#define HOSTPORT_NAME_MAX 253                      /* RFC 1035 name length, dots included */
#define HOSTPORT_FORMAT_MAX (HOSTPORT_NAME_MAX + 9) /* "[" HOST "]:" 5 digits NUL */

enum hostport_kind {
	HOSTPORT_NAME,
	HOSTPORT_IPV4,
	HOSTPORT_IPV6,
};

struct hostport {
	char host[HOSTPORT_NAME_MAX + 1]; /* name or address, without brackets or "ipv6:" tag */
	unsigned port;                    /* 1..65535 */
	enum hostport_kind kind;
	bool bracketed;                   /* written "[HOST]": Postfix then skips the MX lookup */
	bool port_given;
};

/* Parse S; a missing port is DEFAULT_PORT. Returns 0, or -EINVAL with *why set to a static phrase
 * that completes "HOST:PORT: ..." ("port out of range 1..65535"). Accepted: "name", "name:587",
 * "[name]:587", "192.0.2.1:587", "[2001:db8::1]:587", "[ipv6:2001:db8::1]:587", "2001:db8::1". */
int hostport_parse(const char *s, unsigned default_port, struct hostport *hp, const char **why);

/* Postfix's "[HOST]:PORT" (relayhost, password map key; IPv6 as "[2001:db8::1]:587", which
 * Postfix's host_port() accepts) into BUF of SIZE bytes. Returns 0 or -ENOBUFS. */
int hostport_format(const struct hostport *hp, char *buf, size_t size);

/* A DNS host name: labels of 1..63 letters, digits, '-' or '_' (not starting or ending with '-'),
 * 1..253 bytes, the last label not all-numeric (that would be a mistyped address). */
bool hostport_valid_name(const char *s);
