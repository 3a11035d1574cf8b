/* HOST[:PORT] parsing and Postfix's [HOST]:PORT formatting. */
#include "hostport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Set the reason and return -EINVAL, so every check is one line. */
static int fail(const char **why, const char *reason)
{
	*why = reason;
	return -EINVAL;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_ldh(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
}

bool hostport_valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > HOSTPORT_NAME_MAX)
		return false;
	bool numeric = false;  /* the last label so far is all digits */
	for (const char *label = s; *label;) {
		size_t l = 0;
		while (label[l] && label[l] != '.')
			l++;
		if (l == 0 || l > 63 || label[0] == '-' || label[l - 1] == '-')
			return false;  /* also rejects "a..b" and a trailing dot */
		numeric = true;
		for (size_t i = 0; i < l; i++) {
			if (!is_ldh(label[i]))
				return false;
			numeric = numeric && is_digit(label[i]);
		}
		label += l;
		if (*label == '.' && *++label == '\0')
			return false;
	}
	/* RFC 3696 2: a top-level label is never all-numeric; "mail.123" is a typo. */
	return !numeric;
}

/* Classify and check HOST (brackets and tag already removed). */
static int check_host(const char *host, struct hostport *hp, const char **why)
{
	unsigned char addr[16];
	bool dotted_digits = true;

	if (!*host)
		return fail(why, "empty host");
	if (strlen(host) > HOSTPORT_NAME_MAX)
		return fail(why, "host name longer than 253 characters");
	for (const char *c = host; *c; c++)
		dotted_digits = dotted_digits && (is_digit(*c) || *c == '.');

	if (strchr(host, ':')) {
		if (inet_pton(AF_INET6, host, addr) != 1)
			return fail(why, "not a valid IPv6 address");
		hp->kind = HOSTPORT_IPV6;
	} else if (dotted_digits) {
		/* "10.1.1" or "999.1.1.1" is a typo, not a name to look up in the DNS. */
		if (inet_pton(AF_INET, host, addr) != 1)
			return fail(why, "not a valid IPv4 address");
		hp->kind = HOSTPORT_IPV4;
	} else {
		if (!hostport_valid_name(host))
			return fail(why, "not a valid host name (letters, digits, '-', '_' and '.')");
		hp->kind = HOSTPORT_NAME;
	}
	memcpy(hp->host, host, strlen(host) + 1);
	return 0;
}

static int parse_port(const char *s, unsigned *port, const char **why)
{
	size_t n = strlen(s);
	if (n == 0)
		return fail(why, "empty port after ':'");
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return fail(why, "port is not a number");
	unsigned long v = 0;
	for (size_t i = 0; i < n && v <= 65535; i++)  /* stops early: no overflow on "99999999999" */
		v = v * 10 + (unsigned long)(s[i] - '0');
	if (v < 1 || v > 65535)
		return fail(why, "port out of range 1..65535");
	*port = (unsigned)v;
	return 0;
}

/* "[HOST]", "[HOST]:PORT", "[ipv6:ADDR]:PORT". */
static int parse_bracketed(const char *s, struct hostport *hp, const char **why)
{
	char host[HOSTPORT_NAME_MAX + 1];
	const char *close = strchr(s, ']');
	if (!close)
		return fail(why, "missing ']'");
	size_t n = (size_t)(close - s - 1);
	if (n > HOSTPORT_NAME_MAX)
		return fail(why, "host name longer than 253 characters");
	memcpy(host, s + 1, n);
	host[n] = '\0';

	const char *h = host;
	/* RFC 5321 address literal tag; Postfix's SMTP server speaks it, so admins copy it. */
	if (strncasecmp(h, "ipv6:", 5) == 0) {
		h += 5;
		if (!strchr(h, ':'))
			return fail(why, "not a valid IPv6 address");
	}
	int r = check_host(h, hp, why);
	if (r < 0)
		return r;
	hp->bracketed = true;
	if (close[1] == '\0')
		return 0;
	if (close[1] != ':')
		return fail(why, "expected ':PORT' after ']'");
	hp->port_given = true;
	return parse_port(close + 2, &hp->port, why);
}

int hostport_parse(const char *s, unsigned default_port, struct hostport *hp, const char **why)
{
	*hp = (struct hostport){ .port = default_port };
	*why = NULL;
	if (!s || !*s)
		return fail(why, "empty host");
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c <= ' ' || *c == 0x7f)
			return fail(why, "whitespace or control characters in host");
		if (*c >= 0x80)
			return fail(why, "non-ASCII host: use its IDNA (xn--) form");
	}
	if (s[0] == '[')
		return parse_bracketed(s, hp, why);
	if (strchr(s, ']'))
		return fail(why, "unbalanced ']'");

	const char *colon = strchr(s, ':');
	if (colon && strchr(colon + 1, ':')) {
		/* Two or more colons: a bare IPv6 literal, which cannot carry a port ("::1:587" is an
		 * address), hence the bracket form for that. */
		if (check_host(s, hp, why) < 0)
			return fail(why, "not a valid IPv6 address (an IPv6 address with a port is written [ADDR]:PORT)");
		return 0;
	}
	if (!colon)
		return check_host(s, hp, why);

	char host[HOSTPORT_NAME_MAX + 1];
	size_t n = (size_t)(colon - s);
	if (n > HOSTPORT_NAME_MAX)
		return fail(why, "host name longer than 253 characters");
	memcpy(host, s, n);
	host[n] = '\0';
	int r = check_host(host, hp, why);
	if (r < 0)
		return r;
	hp->port_given = true;
	return parse_port(colon + 1, &hp->port, why);
}

int hostport_format(const struct hostport *hp, char *buf, size_t size)
{
	int n = snprintf(buf, size, "[%s]:%u", hp->host, hp->port);
	if (n < 0 || (size_t)n >= size)
		return -ENOBUFS;
	return 0;
}
