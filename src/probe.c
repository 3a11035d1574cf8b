/* The SMTP submission probe: a small, non-blocking client with one deadline for the whole run.
 *
 * Every wait goes through conn_wait(), which polls until the probe's deadline; the socket stays
 * non-blocking also under TLS (OpenSSL's WANT_READ/WANT_WRITE are turned into polls), so no read,
 * write or handshake can outlive the timeout. Replies are parsed by smtp_reply.c, which bounds
 * them in lines and bytes. Failures leave one message in conn.msg, printed once by probe_run(). */
#include "probe.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "hostport.h"
#include "util.h"

/* QUIT is a courtesy: never wait longer than this for its reply. */
#define QUIT_WAIT_MS 5000

#if OPENSSL_VERSION_NUMBER < 0x30000000L
#define SSL_get1_peer_certificate SSL_get_peer_certificate  /* same semantics, renamed in 3.0 */
#endif

struct conn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	uint64_t deadline;      /* CLOCK_MONOTONIC milliseconds */
	unsigned timeout_sec;
	const char *expect;     /* what we are waiting for, for messages: "the 220 greeting" */
	char msg[512];          /* the failure, when more is known than an errno */
	size_t len;             /* bytes received and not yet parsed */
	char buf[2 * SMTP_LINE_MAX];
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	/* CLOCK_MONOTONIC always exists on Linux; should it fail, every wait expires at once. */
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return UINT64_MAX;
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

_printf_(3, 4) static int conn_fail(struct conn *c, int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
	return r;
}

static void conn_done(struct conn *c)
{
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	closep(&c->fd);
}

/* Wait until FD is ready for EVENTS or DEADLINE passes (-ETIMEDOUT). */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = now_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		uint64_t left = deadline - now;
		struct pollfd p = { .fd = fd, .events = events };
		int k = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -ETIMEDOUT;
		/* POLLERR/POLLHUP: the read or write that follows reports the cause. */
		return 0;
	}
}

static int conn_wait(struct conn *c, short events)
{
	return wait_fd(c->fd, events, c->deadline);
}

/* ---- connecting ---- */

static void freeaddrinfop(struct addrinfo **ai)
{
	if (*ai)
		freeaddrinfo(*ai);
}

/* One non-blocking connect to AI, done by DEADLINE. Returns the socket or a negative errno. */
static int connect_one(const struct addrinfo *ai, uint64_t deadline)
{
	_cleanup_close_ int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
					ai->ai_protocol);
	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS)
			return -errno;
		int r = wait_fd(fd, POLLOUT, deadline);
		if (r < 0)
			return r;
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			return -errno;
		if (err)
			return -err;
	}
	return TAKE_FD(fd);
}

static int numeric_address(const struct addrinfo *ai, char **out)
{
	char buf[NI_MAXHOST];
	int g = getnameinfo(ai->ai_addr, ai->ai_addrlen, buf, sizeof(buf), NULL, 0, NI_NUMERICHOST);
	if (g != 0)
		return -EINVAL;
	return (*out = strdup(buf)) ? 0 : -ENOMEM;
}

/* Try each address of HOST in turn; each gets an equal share of the time left, so one address that
 * swallows SYNs (a firewalled IPv6 route, typically) does not use up the whole deadline. */
static int conn_connect(struct conn *c, const char *host, unsigned port, char **address)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV };
	_cleanup_(freeaddrinfop) struct addrinfo *res = NULL;
	char service[8];
	int r = -EHOSTUNREACH;

	c->expect = "the connection";
	snprintf(service, sizeof(service), "%u", port);
	int g = getaddrinfo(host, service, &hints, &res);
	if (g == EAI_SYSTEM)
		return conn_fail(c, -errno, "cannot resolve %s: %m", host);
	if (g != 0)
		return conn_fail(c, -EHOSTUNREACH, "cannot resolve %s: %s", host, gai_strerror(g));

	size_t n = 0;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
		n++;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next, n--) {
		uint64_t now = now_ms();
		if (now >= c->deadline)
			return -ETIMEDOUT;
		int fd = connect_one(ai, now + (c->deadline - now) / n);
		if (fd >= 0) {
			c->fd = fd;
			return numeric_address(ai, address);
		}
		r = fd;
		log_debug("connect to %s port %u: %s", host, port, strerror(-r));
	}
	/* A timeout is reported with the deadline by probe_fail(); anything else is said here. */
	return r == -ETIMEDOUT ? r : conn_fail(c, r, "cannot connect: %s", strerror(-r));
}

/* ---- TLS ---- */

/* The most useful OpenSSL error text: the reason ("wrong version number"), else the whole code. */
static void tls_error_text(char *buf, size_t size)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;
	if (reason)
		snprintf(buf, size, "%s", reason);
	else if (e)
		ERR_error_string_n(e, buf, size);
	else
		snprintf(buf, size, "unknown TLS error");
	ERR_clear_error();
}

/* After an SSL_* call returned RET <= 0: wait for what OpenSSL needs, or say why it failed. */
static int tls_retry(struct conn *c, int ret)
{
	char why[256];
	switch (SSL_get_error(c->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		return conn_wait(c, POLLIN);
	case SSL_ERROR_WANT_WRITE:
		return conn_wait(c, POLLOUT);
	case SSL_ERROR_ZERO_RETURN:
		return -ECONNRESET;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_last_error() == 0)
			return errno ? -errno : -ECONNRESET;
		__attribute__((fallthrough));
	default:
		tls_error_text(why, sizeof(why));
		if (!SSL_is_init_finished(c->ssl))
			return conn_fail(c, -EPROTO, "TLS handshake failed: %s", why);
		return conn_fail(c, -EPROTO, "TLS error while waiting for %s: %s", c->expect, why);
	}
}

/* Fill in name as one RFC 2253 line (non-ASCII escaped by OpenSSL, so it is safe to print). */
static char *x509_name_string(const X509_NAME *name)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *s = NULL;
	if (!bio)
		return NULL;
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
		long n = BIO_get_mem_data(bio, &data);
		s = strndup(n > 0 ? data : "", n > 0 ? (size_t)n : 0);
	}
	BIO_free(bio);
	return s;
}

static char *asn1_time_iso(const ASN1_TIME *t)
{
	struct tm tm;
	char buf[32];
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1 || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return strdup("?");
	return strdup(buf);
}

static int tls_collect(struct conn *c, struct probe_result *out)
{
	out->tls = true;
	out->tls_version = strdup(SSL_get_version(c->ssl));
	out->tls_cipher = strdup(SSL_get_cipher_name(c->ssl));

	long v = SSL_get_verify_result(c->ssl);
	X509 *cert = SSL_get1_peer_certificate(c->ssl);
	bool have_cert = cert != NULL;
	if (cert) {
		out->cert_subject = x509_name_string(X509_get_subject_name(cert));
		out->cert_issuer = x509_name_string(X509_get_issuer_name(cert));
		out->cert_not_after = asn1_time_iso(X509_get0_notAfter(cert));
		X509_free(cert);
	}
	out->verify_ok = have_cert && v == X509_V_OK;
	if (!out->verify_ok)
		out->verify_error = strdup(have_cert ? X509_verify_cert_error_string(v) : "no certificate presented");
	if (!out->tls_version || !out->tls_cipher || (have_cert && (!out->cert_subject || !out->cert_issuer ||
	    !out->cert_not_after)) || (!out->verify_ok && !out->verify_error))
		return -ENOMEM;
	return 0;
}

/* The verification is done but not enforced (SSL_VERIFY_NONE): the probe's job is to tell the
 * admin that the relay's certificate does not verify, not to refuse to look at the relay. */
static int tls_setup(struct conn *c, const char *host)
{
	unsigned char addr[16];
	bool is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;

	if (!(c->ctx = SSL_CTX_new(TLS_client_method())))
		return -ENOMEM;
	if (SSL_CTX_set_default_verify_paths(c->ctx) != 1)
		log_warn("cannot load the system CA store: certificates will not verify");
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
	if (!(c->ssl = SSL_new(c->ctx)) || SSL_set_fd(c->ssl, c->fd) != 1)
		return -ENOMEM;

	X509_VERIFY_PARAM *param = SSL_get0_param(c->ssl);
	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	/* SNI only for names (RFC 6066 3 forbids literal addresses); the check covers both. */
	if (is_ip)
		return X509_VERIFY_PARAM_set1_ip_asc(param, host) == 1 ? 0 : -ENOMEM;
	if (SSL_set_tlsext_host_name(c->ssl, host) != 1 || X509_VERIFY_PARAM_set1_host(param, host, 0) != 1)
		return -ENOMEM;
	return 0;
}

static int conn_start_tls(struct conn *c, const char *host, struct probe_result *out)
{
	c->expect = "the TLS handshake";
	int r = tls_setup(c, host);
	if (r < 0) {
		char why[256];
		tls_error_text(why, sizeof(why));
		return conn_fail(c, r, "cannot set up TLS: %s", why);
	}
	for (;;) {
		ERR_clear_error();
		errno = 0;
		int k = SSL_connect(c->ssl);
		if (k == 1)
			break;
		r = tls_retry(c, k);
		if (r < 0)
			return r;
	}
	log_debug("TLS established: %s %s", SSL_get_version(c->ssl), SSL_get_cipher_name(c->ssl));
	return tls_collect(c, out);
}

/* ---- reading and writing ---- */

/* Read more bytes into c->buf; -ECONNRESET when the server closed the connection. */
static int conn_fill(struct conn *c)
{
	size_t room = sizeof(c->buf) - c->len;
	if (room == 0)  /* cannot happen: smtp_reply_feed() refuses partial lines this long */
		return -EMSGSIZE;
	for (;;) {
		int r;
		if (c->ssl) {
			ERR_clear_error();
			errno = 0;
			int k = SSL_read(c->ssl, c->buf + c->len, room > INT_MAX ? INT_MAX : (int)room);
			if (k > 0) {
				c->len += (size_t)k;
				return 0;
			}
			r = tls_retry(c, k);
		} else {
			ssize_t k = recv(c->fd, c->buf + c->len, room, 0);
			if (k > 0) {
				c->len += (size_t)k;
				return 0;
			}
			if (k == 0)
				return -ECONNRESET;
			if (errno == EINTR)
				continue;
			r = errno == EAGAIN || errno == EWOULDBLOCK ? conn_wait(c, POLLIN) : -errno;
		}
		if (r < 0)
			return r;
	}
}

static int conn_write(struct conn *c, const char *s, size_t n)
{
	while (n > 0) {
		int r;
		if (c->ssl) {
			ERR_clear_error();
			errno = 0;
			int k = SSL_write(c->ssl, s, n > INT_MAX ? INT_MAX : (int)n);
			if (k > 0) {
				s += k;
				n -= (size_t)k;
				continue;
			}
			r = tls_retry(c, k);
		} else {
			/* MSG_NOSIGNAL: a server that closed early must give EPIPE, not kill us. */
			ssize_t k = send(c->fd, s, n, MSG_NOSIGNAL);
			if (k >= 0) {
				s += k;
				n -= (size_t)k;
				continue;
			}
			if (errno == EINTR)
				continue;
			r = errno == EAGAIN || errno == EWOULDBLOCK ? conn_wait(c, POLLOUT) : -errno;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* A short, printable rendering of what the server sent, for messages. */
static void snippet(const char *p, size_t n, char *out, size_t size)
{
	size_t o = 0, i;
	/* o + 8 < size: room for one "\xNN", the "..." and the NUL. */
	for (i = 0; i < n && i < 60 && p[i] != '\n' && p[i] != '\r' && o + 8 < size; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
			out[o++] = (char)ch;
		else
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", ch);
	}
	if (i < n && p[i] != '\n' && p[i] != '\r') {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

static int conn_read_reply(struct conn *c, struct smtp_reply *r)
{
	for (;;) {
		size_t used = 0;
		int k = smtp_reply_feed(r, c->buf, c->len, &used);
		if (k == -SMTP_EBADLINE) {
			char got[128];
			snippet(c->buf + used, c->len - used, got, sizeof(got));
			return conn_fail(c, k, "expected %s, got \"%s\" (not SMTP)", c->expect, got);
		}
		if (k < 0)
			return conn_fail(c, k, "%s while waiting for %s", smtp_reply_strerror(k), c->expect);
		if (used > 0) {
			c->len -= used;
			memmove(c->buf, c->buf + used, c->len);
		}
		if (k > 0)
			return 0;
		k = conn_fill(c);
		if (k < 0)
			return k;
	}
}

/* Send CMD and read the reply to it; EXPECT names the reply in messages. */
static int smtp_command(struct conn *c, const char *cmd, const char *expect, struct smtp_reply *reply)
{
	char line[600];
	int n = snprintf(line, sizeof(line), "%s\r\n", cmd);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -ENAMETOOLONG;
	log_debug("-> %s", cmd);
	c->expect = expect;
	int r = conn_write(c, line, (size_t)n);
	if (r < 0)
		return r;
	r = conn_read_reply(c, reply);
	if (r >= 0)
		log_debug("<- %d (%zu lines)", reply->code, reply->n_lines);
	return r;
}

/* ---- the dialogue ---- */

static char *join_lines(const struct smtp_reply *r)
{
	size_t n = 1;
	for (size_t i = 0; i < r->n_lines; i++)
		n += strlen(r->lines[i]) + 1;
	char *s = malloc(n), *p = s;
	if (!s)
		return NULL;
	for (size_t i = 0; i < r->n_lines; i++)
		p += sprintf(p, "%s%s", i ? "\n" : "", r->lines[i]);
	*p = '\0';
	return s;
}

static int read_greeting(struct conn *c, struct probe_result *out)
{
	_cleanup_(smtp_reply_free) struct smtp_reply reply = { 0 };
	c->expect = "the 220 greeting";
	int r = conn_read_reply(c, &reply);
	if (r < 0)
		return r;
	/* 554 instead of 220 is how a server refuses a client (RFC 5321 3.1). */
	if (reply.code != 220)
		return conn_fail(c, -ECONNREFUSED, "expected the 220 greeting, got: %d %s", reply.code,
				 reply.lines[0]);
	return (out->banner = join_lines(&reply)) ? 0 : -ENOMEM;
}

/* What to say after EHLO: the local host name when it is a plausible FQDN (strict servers reject
 * a bare "localhost"), else a name that is obviously nobody's (RFC 2606). */
static void ehlo_name(char *buf, size_t size)
{
	if (gethostname(buf, size) == 0 && memchr(buf, '\0', size) && strchr(buf, '.') &&
	    hostport_valid_name(buf))
		return;
	snprintf(buf, size, "op25b.invalid");
}

static int do_ehlo(struct conn *c, const char *name, struct smtp_ehlo *e, const char *expect)
{
	_cleanup_(smtp_reply_free) struct smtp_reply reply = { 0 };
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "EHLO %s", name);
	int r = smtp_command(c, cmd, expect, &reply);
	if (r < 0)
		return r;
	if (reply.code != 250)
		return conn_fail(c, -EPROTO, "EHLO refused: %d %s", reply.code, reply.lines[0]);
	r = smtp_ehlo_parse(&reply, e);
	return r < 0 ? conn_fail(c, r, "cannot parse the EHLO reply: %s", strerror(-r)) : 0;
}

/* STARTTLS: 1 when the server agreed (TLS to be started), 0 when it refused (recorded). */
static int do_starttls(struct conn *c, struct probe_result *out)
{
	_cleanup_(smtp_reply_free) struct smtp_reply reply = { 0 };
	int r = smtp_command(c, "STARTTLS", "the reply to STARTTLS", &reply);
	if (r < 0)
		return r;
	if (reply.code != 220) {
		out->starttls_refused = strdup_printf("%d %s", reply.code, reply.lines[0]);
		return out->starttls_refused ? 0 : -ENOMEM;
	}
	/* Anything already received was sent in clear and must not be read as if it came inside TLS
	 * (the client side of CVE-2011-0411, "STARTTLS response injection"). */
	if (c->len > 0)
		return conn_fail(c, -EPROTO, "the server sent %zu bytes after its 220 reply to STARTTLS "
				 "(response injection?)", c->len);
	return 1;
}

/* QUIT is polite, not needed: failures only show with --verbose, and it waits at most 5 s. */
static void do_quit(struct conn *c)
{
	_cleanup_(smtp_reply_free) struct smtp_reply reply = { 0 };
	uint64_t now = now_ms();
	if (now < c->deadline && c->deadline - now > QUIT_WAIT_MS)
		c->deadline = now + QUIT_WAIT_MS;
	int r = smtp_command(c, "QUIT", "the reply to QUIT", &reply);
	if (r < 0)
		log_debug("QUIT: %s", c->msg[0] ? c->msg : strerror(-r));
	if (c->ssl) {
		/* Send our close_notify; not waiting for the server's saves a round trip. */
		ERR_clear_error();
		if (SSL_shutdown(c->ssl) < 0)
			log_debug("TLS shutdown failed");
		ERR_clear_error();
	}
}

static int probe_dialogue(struct conn *c, const char *host, unsigned port, struct probe_result *out)
{
	char name[256];
	int r;

	ehlo_name(name, sizeof(name));
	if ((r = conn_connect(c, host, port, &out->address)) < 0)
		return r;
	log_debug("connected to %s port %u", out->address, port);
	if (out->implicit_tls && (r = conn_start_tls(c, host, out)) < 0)
		return r;
	if ((r = read_greeting(c, out)) < 0)
		return r;

	if (!out->implicit_tls) {
		if ((r = do_ehlo(c, name, &out->before, "the reply to EHLO")) < 0)
			return r;
		out->have_before = true;
		out->starttls_offered = out->before.starttls;
		if (out->starttls_offered) {
			if ((r = do_starttls(c, out)) < 0)
				return r;
			if (r > 0 && (r = conn_start_tls(c, host, out)) < 0)
				return r;
		}
	}
	if (out->tls) {
		if ((r = do_ehlo(c, name, &out->after, "the reply to EHLO after TLS")) < 0)
			return r;
		out->have_after = true;
	}
	out->auth_before_tls = out->have_before && out->before.n_mechs > 0;
	out->auth_only_after_tls = !out->auth_before_tls && out->have_after && out->after.n_mechs > 0;
	do_quit(c);
	return 0;
}

/* The one message of a failed probe: what conn_fail() recorded, or the errno in context. */
static int probe_fail(struct conn *c, struct probe_result *out, const char *peer, int r)
{
	const char *what = c->expect ? c->expect : "the server";
	if (c->msg[0])
		out->error = strdup_printf("%s: %s", peer, c->msg);
	else if (r == -ETIMEDOUT)
		out->error = strdup_printf("%s: timed out after %u s waiting for %s", peer, c->timeout_sec, what);
	else if (r == -ECONNRESET || r == -EPIPE)
		out->error = strdup_printf("%s: connection closed by the server while waiting for %s", peer, what);
	else
		out->error = strdup_printf("%s: %s while waiting for %s", peer, strerror(-r), what);
	return log_err(r, "probe %s", out->error ? out->error : peer);
}

int probe_run(const char *host, unsigned port, unsigned timeout_sec, struct probe_result *out)
{
	_cleanup_(conn_done) struct conn c = { .fd = -1, .timeout_sec = timeout_sec,
					       .deadline = now_ms() + timeout_sec * 1000ull };
	struct sigaction ignore = { .sa_handler = SIG_IGN }, old;
	char peer[HOSTPORT_FORMAT_MAX];

	*out = (struct probe_result){ .port = port, .implicit_tls = port == PROBE_IMPLICIT_TLS_PORT };
	snprintf(peer, sizeof(peer), "[%s]:%u", host, port);
	if (!(out->host = strdup(host)))
		return log_err(-ENOMEM, "probe %s: out of memory", peer);
	/* OpenSSL writes to the socket with write(): a server that hangs up must give EPIPE, not
	 * SIGPIPE. Restored afterwards, as the caller may be the apply verb. */
	if (sigaction(SIGPIPE, &ignore, &old) < 0)
		return log_err(-errno, "probe: cannot ignore SIGPIPE: %m");

	int r = probe_dialogue(&c, host, port, out);

	if (sigaction(SIGPIPE, &old, NULL) < 0)
		log_warn("probe: cannot restore SIGPIPE: %m");
	return r < 0 ? probe_fail(&c, out, peer, r) : 0;
}

void probe_result_free(struct probe_result *r)
{
	char **strs[] = { &r->host, &r->address, &r->banner, &r->starttls_refused, &r->tls_version,
			  &r->tls_cipher, &r->cert_subject, &r->cert_issuer, &r->cert_not_after,
			  &r->verify_error, &r->error };
	for (size_t i = 0; i < ELEMENTSOF(strs); i++)
		free(*strs[i]);
	smtp_ehlo_free(&r->before);
	smtp_ehlo_free(&r->after);
	*r = (struct probe_result){ 0 };
}

/* ---- output ---- */

/* Length of the valid UTF-8 sequence at S (1..4), or 0 when it is not one (overlong forms,
 * surrogates and values above U+10FFFF included). */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;
	uint32_t cp;
	if (s[0] < 0x80)
		return 1;
	else if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;  /* also stops at the terminating NUL */
		cp = cp << 6 | (s[i] & 0x3f);
	}
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void probe_json_string(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = utf8_len(p);
		if (n == 0) {
			fputs("\\ufffd", f);
			p++;
		} else if (n > 1) {
			fwrite(p, 1, n, f);
			p += n;
		} else {
			switch (*p) {
			case '"': fputs("\\\"", f); break;
			case '\\': fputs("\\\\", f); break;
			case '\n': fputs("\\n", f); break;
			case '\r': fputs("\\r", f); break;
			case '\t': fputs("\\t", f); break;
			default:
				if (*p < 0x20 || *p == 0x7f)
					fprintf(f, "\\u%04x", *p);
				else
					fputc(*p, f);
			}
			p++;
		}
	}
	fputc('"', f);
}

static void json_strv(FILE *f, char *const *v, size_t n)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc(',', f);
		probe_json_string(f, v[i]);
	}
	fputc(']', f);
}

static void json_ehlo(FILE *f, const char *key, bool have, const struct smtp_ehlo *e)
{
	fprintf(f, ",\"%s\":", key);
	if (!have) {
		fputs("null", f);
		return;
	}
	fputs("{\"server\":", f);
	probe_json_string(f, e->domain);
	fputs(",\"extensions\":", f);
	json_strv(f, e->ext, e->n_ext);
	fprintf(f, ",\"starttls\":%s,\"auth\":", e->starttls ? "true" : "false");
	json_strv(f, e->mechs, e->n_mechs);
	fputc('}', f);
}

static void json_field(FILE *f, const char *key, const char *value)
{
	fprintf(f, ",\"%s\":", key);
	probe_json_string(f, value);
}

static const char *json_bool(bool b) { return b ? "true" : "false"; }

static void print_json(const struct probe_result *r, FILE *f)
{
	fputs("{\"host\":", f);
	probe_json_string(f, r->host);
	fprintf(f, ",\"port\":%u", r->port);
	json_field(f, "address", r->address);
	fprintf(f, ",\"implicit_tls\":%s", json_bool(r->implicit_tls));
	json_field(f, "banner", r->banner);
	json_ehlo(f, "before_tls", r->have_before, &r->before);
	fprintf(f, ",\"starttls_offered\":%s", json_bool(r->starttls_offered));
	json_field(f, "starttls_refused", r->starttls_refused);
	if (r->tls) {
		fputs(",\"tls\":{\"version\":", f);
		probe_json_string(f, r->tls_version);
		json_field(f, "cipher", r->tls_cipher);
		json_field(f, "subject", r->cert_subject);
		json_field(f, "issuer", r->cert_issuer);
		json_field(f, "not_after", r->cert_not_after);
		fprintf(f, ",\"verified\":%s", json_bool(r->verify_ok));
		json_field(f, "verify", r->verify_ok ? "ok" : r->verify_error);
		fputc('}', f);
	} else {
		fputs(",\"tls\":null", f);
	}
	json_ehlo(f, "after_tls", r->have_after, &r->after);
	fprintf(f, ",\"auth_before_tls\":%s,\"auth_only_after_tls\":%s", json_bool(r->auth_before_tls),
		json_bool(r->auth_only_after_tls));
	json_field(f, "error", r->error);
	fputs("}\n", f);
}

static void text_list(FILE *f, const char *label, char *const *v, size_t n, const char *sep)
{
	fprintf(f, "  %-13s", label);
	if (n == 0)
		fputs(" (none)", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? sep : " ", v[i]);
	fputc('\n', f);
}

static void text_ehlo(FILE *f, const char *title, const struct smtp_ehlo *e)
{
	fprintf(f, "%-15s EHLO answered by %s\n", title, strempty(e->domain) ? "?" : e->domain);
	text_list(f, "extensions:", e->ext, e->n_ext, ", ");
	text_list(f, "AUTH:", e->mechs, e->n_mechs, " ");
}

static void text_verdict(const struct probe_result *r, FILE *f)
{
	const struct smtp_ehlo *e = r->have_after ? &r->after : &r->before;
	fprintf(f, "%-15s ", "AUTH:");
	if (r->auth_before_tls && r->tls)
		fputs("offered in clear too: unless the client insists on TLS, the password crosses the "
		      "network unencrypted (relay with smtp_tls_security_level = encrypt)\n", f);
	else if (r->auth_before_tls)
		fputs("offered in clear, and no TLS: the password would cross the network unencrypted\n", f);
	else if (r->auth_only_after_tls)
		fputs("offered only after TLS (good)\n", f);
	else
		fputs("not offered\n", f);
	if (e->n_mechs > 0)
		text_list(f, "mechanisms:", e->mechs, e->n_mechs, " ");
}

static void print_text(const struct probe_result *r, FILE *f)
{
	fprintf(f, "%-15s [%s]:%u (%s)%s\n", "Server:", r->host, r->port, r->address ? r->address : "?",
		r->implicit_tls ? ", implicit TLS" : "");
	/* Multi-line banners: continuation lines indented under the first. */
	fprintf(f, "%-15s 220 ", "Banner:");
	for (const char *p = r->banner ? r->banner : ""; *p; p++) {
		if (*p == '\n')
			fprintf(f, "\n%-15s 220 ", "");
		else
			fputc(*p, f);
	}
	fputc('\n', f);
	if (r->have_before)
		text_ehlo(f, "Before TLS:", &r->before);
	if (!r->implicit_tls)
		fprintf(f, "%-15s %s%s\n", "STARTTLS:", r->starttls_refused ? "refused: " :
			r->starttls_offered ? "offered" : "not offered (no TLS: passwords would cross in clear)",
			r->starttls_refused ? r->starttls_refused : "");
	if (r->tls) {
		fprintf(f, "%-15s %s, %s\n", "TLS:", r->tls_version, r->tls_cipher);
		fprintf(f, "  %-13s %s\n", "subject:", r->cert_subject ? r->cert_subject : "(none)");
		fprintf(f, "  %-13s %s\n", "issuer:", r->cert_issuer ? r->cert_issuer : "(none)");
		fprintf(f, "  %-13s %s\n", "not after:", r->cert_not_after ? r->cert_not_after : "(none)");
		fprintf(f, "  %-13s %s%s\n", "verify:", r->verify_ok ? "ok" : "FAILED: ",
			r->verify_ok ? "" : r->verify_error);
	}
	if (r->have_after)
		text_ehlo(f, "After TLS:", &r->after);
	text_verdict(r, f);
}

void probe_result_print(const struct probe_result *r, FILE *f, bool json)
{
	if (json)
		print_json(r, f);
	else
		print_text(r, f);
}
