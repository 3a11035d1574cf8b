/* verify's client connection: one deadline for every wait, OpenSSL's WANT_READ/WANT_WRITE turned
 * into polls, replies bounded by smtp_reply.c. */
#include "tlsconn.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <time.h>

#include "ca-store.h"
#include "rootfs.h"
#include "util.h"

#if OPENSSL_VERSION_NUMBER < 0x30000000L
#define SSL_get1_peer_certificate SSL_get_peer_certificate
#endif

static uint64_t now_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return UINT64_MAX;
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int tlsconn_fail(struct tlsconn *c, int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	c->err_is_errno = false;
	return r;
}

/* The message for an errno that carries no text of its own yet. */
static int fail_errno(struct tlsconn *c, int r)
{
	if (c->err[0])
		return r;
	if (r == -ETIMEDOUT)
		tlsconn_fail(c, r, "timed out after %u s waiting for %s", c->timeout_sec, c->expect);
	else if (r == -ECONNRESET || r == -EPIPE)
		tlsconn_fail(c, r, "connection closed by the server while waiting for %s", c->expect);
	else
		tlsconn_fail(c, r, "%s while waiting for %s", strerror(-r), c->expect);
	c->err_is_errno = true;
	return r;
}

void tlsconn_limit(struct tlsconn *c, unsigned ms)
{
	uint64_t now = now_ms();
	if (now < c->deadline && c->deadline - now > ms)
		c->deadline = now + ms;
}

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
		return k == 0 ? -ETIMEDOUT : 0;
	}
}

static void freeaddrinfop(struct addrinfo **ai)
{
	if (*ai)
		freeaddrinfo(*ai);
}

/* One non-blocking connect to AI, done by DEADLINE. Returns the socket or a negative errno. */
static int connect_one(const struct addrinfo *ai, uint64_t deadline)
{
	_cleanup_close_ int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS)
			return -errno;
		int r = wait_fd(fd, POLLOUT, deadline), err = 0;
		socklen_t len = sizeof(err);
		if (r < 0)
			return r;
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
	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, buf, sizeof(buf), NULL, 0, NI_NUMERICHOST) != 0)
		return -EINVAL;
	return (*out = strdup(buf)) ? 0 : -ENOMEM;
}

int tlsconn_connect(struct tlsconn *c, const char *host, unsigned port, unsigned timeout_sec, unsigned flags,
		    char **address)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	_cleanup_(freeaddrinfop) struct addrinfo *res = NULL;
	char service[8];
	int r = -EHOSTUNREACH;
	size_t n = 0;

	*c = (struct tlsconn)TLSCONN_INIT;
	c->flags = flags;
	c->timeout_sec = timeout_sec;
	c->deadline = now_ms() + timeout_sec * 1000ull;
	c->expect = "the connection";
	snprintf(service, sizeof(service), "%u", port);
	int g = getaddrinfo(host, service, &hints, &res);
	if (g != 0)
		return tlsconn_fail(c, g == EAI_SYSTEM && errno > 0 ? -errno : -EHOSTUNREACH, "cannot resolve %s: %s",
				    host, g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
		n++;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next, n--) {
		uint64_t now = now_ms(), deadline = c->deadline;
		if (flags & TLSCONN_SHARE_DEADLINE) {
			if (now >= c->deadline)
				return fail_errno(c, -ETIMEDOUT);
			deadline = now + (c->deadline - now) / n;
		}
		int fd = connect_one(ai, deadline);
		if (fd >= 0) {
			c->fd = fd;
			return address ? numeric_address(ai, address) : 0;
		}
		r = fd;
		if (flags & TLSCONN_SHARE_DEADLINE)
			log_debug("connect to %s port %u: %s", host, port, strerror(-r));
	}
	return r == -ETIMEDOUT ? fail_errno(c, r) : tlsconn_fail(c, r, "cannot connect: %s", strerror(-r));
}

int tlsconn_open(struct tlsconn *c, const char *host, unsigned port, unsigned timeout_sec)
{
	return tlsconn_connect(c, host, port, timeout_sec, 0, NULL);
}

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

static int tls_retry(struct tlsconn *c, int ret)
{
	char why[256];
	switch (SSL_get_error(c->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		return wait_fd(c->fd, POLLIN, c->deadline);
	case SSL_ERROR_WANT_WRITE:
		return wait_fd(c->fd, POLLOUT, c->deadline);
	case SSL_ERROR_ZERO_RETURN:
		return -ECONNRESET;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_last_error() == 0)
			return errno ? -errno : -ECONNRESET;
		__attribute__((fallthrough));
	default:
		tls_error_text(why, sizeof(why));
		if (!SSL_is_init_finished(c->ssl))
			return tlsconn_fail(c, -EPROTO, "TLS handshake failed: %s", why);
		return tlsconn_fail(c, -EPROTO, "TLS error while waiting for %s: %s", c->expect, why);
	}
}

static int setup_failed(struct tlsconn *c)
{
	char why[256] = "out of memory";
	if (c->flags & TLSCONN_CHECK_PEER)
		tls_error_text(why, sizeof(why));
	return tlsconn_fail(c, -ENOMEM, "cannot set up TLS: %s", why);
}

/* The name or address the certificate must match (checked, not enforced: SSL_VERIFY_NONE). */
static bool check_host(SSL *ssl, const char *host, bool is_ip)
{
	X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	return is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host) == 1 : X509_VERIFY_PARAM_set1_host(param, host, 0) == 1;
}

/* Every problem of the chain is recorded (the callback lets verification go on), so a self-signed
 * certificate for another name shows as both an unknown issuer and a name mismatch. */
static int record_verify_error(int ok, X509_STORE_CTX *x)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tlsconn *c = ssl ? SSL_get_app_data(ssl) : NULL;
	if (ok || !c)
		return 1;
	int e = X509_STORE_CTX_get_error(x);
	if (!c->verify_first[0])
		snprintf(c->verify_first, sizeof(c->verify_first), "%s", X509_verify_cert_error_string(e));
	switch (e) {
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		c->verify_errs |= TLSCONN_BAD_NAME;
		break;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		c->verify_errs |= TLSCONN_BAD_DATE;
		break;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_UNTRUSTED:
		c->verify_errs |= TLSCONN_BAD_ISSUER;
		break;
	default:
		if (!(c->verify_errs & TLSCONN_BAD_OTHER))
			snprintf(c->verify_other, sizeof(c->verify_other), "%s", X509_verify_cert_error_string(e));
		c->verify_errs |= TLSCONN_BAD_OTHER;
	}
	return 1;
}

/* The CAs to trust: the given file or directory, or the system store; beneath CA_ROOT when set,
 * where OpenSSL's loaders, which open host paths, are not used. Warns when they cannot be
 * loaded: certificates then do not verify. */
static void load_cas(struct tlsconn *c, SSL_CTX *ctx)
{
	const char *what = c->ca_file ? c->ca_file : c->ca_path ? c->ca_path : "the system store";
	if (c->ca_root) {
		int r = ca_store_load(SSL_CTX_get_cert_store(ctx), c->ca_root, c->ca_file, c->ca_path, NULL);
		if (r < 0)
			log_warn("cannot load the CAs of %s (beneath %s): %s: certificates will not verify", what,
				 c->ca_root, r == -EBADMSG ? "no certificate in it, or a damaged one"
				 : c->ca_file ? root_strerror(c->ca_root, c->ca_file, r) : file_strerror(r));
		return;
	}
	if ((!c->ca_file && !c->ca_path) ? SSL_CTX_set_default_verify_paths(ctx) == 1
					 : SSL_CTX_load_verify_locations(ctx, c->ca_file, c->ca_path) == 1)
		return;
	ERR_clear_error();
	log_warn("cannot load the CAs of %s: certificates will not verify", what);
}

int tlsconn_start_tls(struct tlsconn *c, const char *host)
{
	unsigned char addr[16];
	bool is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
	bool check = c->flags & TLSCONN_CHECK_PEER;
	c->expect = "the TLS handshake";
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!(c->ctx = ctx))
		return setup_failed(c);
	if (check)
		load_cas(c, ctx);
	/* Checked, not enforced: the caller decides what an unverified certificate means. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, check ? record_verify_error : NULL);
	SSL *ssl = SSL_new(ctx);
	c->verify_errs = 0;
	c->verify_other[0] = c->verify_first[0] = '\0';
	if (!(c->ssl = ssl) || SSL_set_fd(ssl, c->fd) != 1 || (!is_ip && SSL_set_tlsext_host_name(ssl, host) != 1) ||
	    (check && (!check_host(ssl, host, is_ip) || SSL_set_app_data(ssl, c) != 1)))
		return setup_failed(c);
	for (;;) {
		ERR_clear_error();
		errno = 0;
		int k = SSL_connect(ssl);
		if (k == 1)
			return 0;
		int r = tls_retry(c, k);
		if (r < 0)
			return fail_errno(c, r);
	}
}

/* NAME as one RFC 2253 line (non-ASCII escaped by OpenSSL, so it is safe to print). */
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

int tlsconn_info(const struct tlsconn *c, struct tlsconn_info *info)
{
	SSL *ssl = c->ssl;
	*info = (struct tlsconn_info){ 0 };
	if (!ssl)
		return -ENOTCONN;
	info->version = strdup(SSL_get_version(ssl));
	info->cipher = strdup(SSL_get_cipher_name(ssl));

	long v = SSL_get_verify_result(ssl);
	X509 *cert = SSL_get1_peer_certificate(ssl);
	bool have_cert = cert != NULL;
	if (cert) {
		info->subject = x509_name_string(X509_get_subject_name(cert));
		info->issuer = x509_name_string(X509_get_issuer_name(cert));
		info->not_after = asn1_time_iso(X509_get0_notAfter(cert));
		X509_free(cert);
	}
	info->verified = have_cert && v == X509_V_OK;
	if (!info->verified)
		info->verify_error = strdup(!have_cert ? "no certificate presented" : c->verify_first[0] ? c->verify_first :
					    X509_verify_cert_error_string(v));
	if (!info->version || !info->cipher || (have_cert && (!info->subject || !info->issuer || !info->not_after)) ||
	    (!info->verified && !info->verify_error))
		return -ENOMEM;
	return 0;
}

void tlsconn_info_free(struct tlsconn_info *info)
{
	free(info->version);
	free(info->cipher);
	free(info->subject);
	free(info->issuer);
	free(info->not_after);
	free(info->verify_error);
	*info = (struct tlsconn_info){ 0 };
}

static int x509_sha256(X509 *x, char out[65], char **subject)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	if (X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32)
		return -EIO;
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	if (!subject)
		return 0;
	*subject = x509_name_string(X509_get_subject_name(x));
	return *subject ? 0 : -ENOMEM;
}

int tlsconn_peer_pubkey_sha256(const struct tlsconn *c, char out[96])
{
	X509 *x = c->ssl ? SSL_get1_peer_certificate((SSL *)c->ssl) : NULL;
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	if (!x)
		return -ENOENT;
	int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	X509_free(x);
	bool ok = len > 0 && EVP_Digest(der, (size_t)len, md, &n, EVP_sha256(), NULL) == 1 && n == 32;
	OPENSSL_free(der);
	if (!ok)
		return -EIO;
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 3 * i, 4, "%02X%s", md[i], i + 1 < n ? ":" : "");
	return 0;
}

char *tlsconn_peer_names(const struct tlsconn *c)
{
	X509 *x = c->ssl ? SSL_get1_peer_certificate((SSL *)c->ssl) : NULL;
	if (!x)
		return NULL;
	BIO *bio = BIO_new(BIO_s_mem());
	GENERAL_NAMES *sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	char *data, *s = NULL;
	int k = 0;
	for (int i = 0; bio && sans && i < sk_GENERAL_NAME_num(sans); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
		char ip[INET6_ADDRSTRLEN];
		if (g->type == GEN_DNS) {
			BIO_printf(bio, "%s", k++ ? ", " : "");
			/* Printed escaped: the name came from the network. */
			ASN1_STRING_print_ex(bio, g->d.dNSName, ASN1_STRFLGS_RFC2253);
		} else if (g->type == GEN_IPADD && (g->d.iPAddress->length == 4 || g->d.iPAddress->length == 16) &&
			   inet_ntop(g->d.iPAddress->length == 4 ? AF_INET : AF_INET6, g->d.iPAddress->data, ip,
				     sizeof(ip))) {
			BIO_printf(bio, "%s%s", k++ ? ", " : "", ip);
		}
	}
	GENERAL_NAMES_free(sans);
	if (bio && k == 0) {
		char *subject = x509_name_string(X509_get_subject_name(x));
		if (subject)
			BIO_printf(bio, "%s", subject);
		free(subject);
	}
	if (bio) {
		long n = BIO_get_mem_data(bio, &data);
		s = strndup(n > 0 ? data : "", n > 0 ? (size_t)n : 0);
		BIO_free(bio);
	}
	X509_free(x);
	return s;
}

int tlsconn_peer_cert(const struct tlsconn *c, char sha256[65], char **subject)
{
	X509 *x = c->ssl ? SSL_get1_peer_certificate((SSL *)c->ssl) : NULL;
	if (!x)
		return -ENOENT;
	int r = x509_sha256(x, sha256, subject);
	X509_free(x);
	return r;
}

int tls_cert_file_sha256(const char *root, const char *path, char sha256[65], char **subject)
{
	/* Beneath the root, and never blocking (a FIFO is refused: rootfs.h). */
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r = root_read_file(root, path, false, &data, &len, NULL);
	if (r < 0)
		return r;
	BIO *b = len <= INT_MAX ? BIO_new_mem_buf(data, (int)len) : NULL;
	if (!b)
		return -ENOMEM;
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	ERR_clear_error();
	if (!x)
		return -EBADMSG;
	r = x509_sha256(x, sha256, subject);
	X509_free(x);
	return r;
}

static int fill(struct tlsconn *c)
{
	size_t room = sizeof(c->buf) - c->len;
	if (room == 0)
		return tlsconn_fail(c, -EMSGSIZE, "line too long while waiting for %s", c->expect);
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
				return fail_errno(c, -ECONNRESET);
			if (errno == EINTR)
				continue;
			r = errno == EAGAIN || errno == EWOULDBLOCK ? wait_fd(c->fd, POLLIN, c->deadline) : -errno;
		}
		if (r < 0)
			return fail_errno(c, r);
	}
}

int tlsconn_send(struct tlsconn *c, const char *s, size_t n)
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
			ssize_t k = send(c->fd, s, n, MSG_NOSIGNAL);
			if (k >= 0) {
				s += k;
				n -= (size_t)k;
				continue;
			}
			if (errno == EINTR)
				continue;
			r = errno == EAGAIN || errno == EWOULDBLOCK ? wait_fd(c->fd, POLLOUT, c->deadline) : -errno;
		}
		if (r < 0)
			return fail_errno(c, r);
	}
	return 0;
}

int tlsconn_read_line(struct tlsconn *c, char **line)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			size_t n = (size_t)(nl - c->buf);
			*line = strndup(c->buf, n > 0 && nl[-1] == '\r' ? n - 1 : n);
			c->len -= n + 1;
			memmove(c->buf, nl + 1, c->len);
			return *line ? 0 : -ENOMEM;
		}
		if (c->len > SMTP_LINE_MAX)
			return tlsconn_fail(c, -EMSGSIZE, "line longer than %d bytes while waiting for %s",
					    SMTP_LINE_MAX, c->expect);
		int r = fill(c);
		if (r < 0)
			return r;
	}
}

int tlsconn_read_reply(struct tlsconn *c, struct smtp_reply *reply)
{
	for (;;) {
		size_t used = 0;
		int k = smtp_reply_feed(reply, c->buf, c->len, &used);
		c->len -= used;
		memmove(c->buf, c->buf + used, c->len);
		if (k < 0)
			return tlsconn_fail(c, k, "%s while waiting for %s", smtp_reply_strerror(k), c->expect);
		if (k > 0)
			return 0;
		if ((k = fill(c)) < 0)
			return k;
	}
}

int tlsconn_command(struct tlsconn *c, const char *cmd, const char *shown, struct smtp_reply *reply)
{
	size_t n = strlen(cmd);
	_cleanup_free_ char *line = malloc(n + 3);
	if (!line)
		return -ENOMEM;
	memcpy(line, cmd, n);
	memcpy(line + n, "\r\n", 3);
	log_debug("-> %s", shown ? shown : cmd);
	c->expect = "the reply";
	int r = tlsconn_send(c, line, n + 2);
	explicit_bzero(line, n + 2);
	if (r < 0)
		return r;
	r = tlsconn_read_reply(c, reply);
	if (r >= 0)
		log_debug("<- %d %s", reply->code, reply->n_lines ? reply->lines[reply->n_lines - 1] : "");
	return r;
}

int tlsconn_shutdown(struct tlsconn *c)
{
	if (!c->ssl)
		return 0;
	ERR_clear_error();
	int k = SSL_shutdown(c->ssl);
	ERR_clear_error();
	return k < 0 ? -EPROTO : 0;
}

void tlsconn_abort(struct tlsconn *c)
{
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	closep(&c->fd);
	c->fd = -1;
	c->ssl = c->ctx = NULL;
}

void tlsconn_close(struct tlsconn *c)
{
	tlsconn_shutdown(c);
	tlsconn_abort(c);
}
