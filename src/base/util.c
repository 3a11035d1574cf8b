/* Messages, paths, whole-file reads and durable writes. */
#include "util.h"

#include <openssl/evp.h>
#include <time.h>

int log_verbosity = 0;

static void vsay(FILE *f, const char *prefix, const char *fmt, va_list ap)
{
	if (prefix)
		fputs(prefix, f);
	vfprintf(f, fmt, ap);
	fputc('\n', f);
}

int log_err(int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(stderr, "op25b: ", fmt, ap);
	va_end(ap);
	return r;
}

void log_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(stderr, "op25b: warning: ", fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	if (log_verbosity < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsay(stdout, NULL, fmt, ap);
	va_end(ap);
	fflush(stdout);
}

void log_debug(const char *fmt, ...)
{
	if (log_verbosity < 1)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsay(stderr, "op25b: debug: ", fmt, ap);
	va_end(ap);
}

char *strdup_printf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

char *path_under_root(const char *root, const char *path)
{
	if (!root || streq(root, "/") || !*root)
		return strdup(path);
	size_t rl = strlen(root);
	while (rl > 1 && root[rl - 1] == '/')
		rl--;
	return strdup_printf("%.*s%s%s", (int)rl, root, path[0] == '/' ? "" : "/", path);
}

void sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned i = 0; i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t k = write(fd, p, len);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

bool is_dns_name(const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n > 253 || v[0] == '.' || v[0] == '-' || strstr(v, ".."))
		return false;
	for (const char *p = v; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '.'))
			return false;
	return true;
}

bool is_config_token(const char *s)
{
	if (strempty(s))
		return false;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c <= ' ' || *c == 0x7f || *c == '#')
			return false;
	return true;
}

uint64_t now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail with a valid clock id and pointer */
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void sleep_usec(uint64_t usec)
{
	struct timespec ts = { .tv_sec = (time_t)(usec / 1000000u), .tv_nsec = (long)(usec % 1000000u) * 1000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int exit_status_of(int r)
{
	if (r >= 0)
		return EXIT_DONE;
	return r == -ENOMEM || r == -EIO || r == -ENOSPC || r == -EBUSY || r == -ESTALE ? EXIT_FAIL : EXIT_USAGE;
}
