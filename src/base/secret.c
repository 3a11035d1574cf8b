/* Secrets, the signify/doas way: explicit checks, O_NOFOLLOW, explicit_bzero. */
#include "secret.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "rootfs.h"
#include "util.h"

void secret_wipe(struct secret *s)
{
	if (s->data) {
		explicit_bzero(s->data, SECRET_MAX + 2);
		munlock(s->data, SECRET_MAX + 2);
		free(s->data);
	}
	*s = (struct secret){ 0 };
}

/* Read at most SECRET_MAX+1 bytes from FD into a locked buffer (no swap), then check the content. */
static int read_secret(int fd, const char *what, struct secret *s)
{
	char *buf = calloc(1, SECRET_MAX + 2);
	if (!buf)
		return -ENOMEM;
	mlock(buf, SECRET_MAX + 2); /* best effort: it may fail without CAP_IPC_LOCK */
	s->data = buf;
	size_t len = 0;
	for (;;) {
		ssize_t k = read(fd, buf + len, SECRET_MAX + 1 - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int r = -errno;
			secret_wipe(s);
			return log_err(r, "%s: %s", what, strerror(-r));
		}
		if (k == 0)
			break;
		len += (size_t)k;
		if (len > SECRET_MAX) {
			secret_wipe(s);
			return log_err(-EINVAL, "%s: the password is longer than %d bytes", what, SECRET_MAX);
		}
	}
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	const char *why = NULL;
	if (len == 0)
		why = "the password is empty";
	else if (memchr(buf, '\0', len))
		why = "the password contains a NUL byte";
	else if (memchr(buf, '\n', len) || memchr(buf, '\r', len))
		why = "the password has more than one line";
	else if (buf[0] == ' ' || buf[0] == '\t' || buf[len - 1] == ' ' || buf[len - 1] == '\t')
		why = "the password begins or ends with a blank, which postmap would drop";
	else
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)buf[i] < 0x20 && buf[i] != '\t') {
				why = "the password contains a control character";
				break;
			}
	if (why) {
		secret_wipe(s);
		return log_err(-EINVAL, "%s: %s", what, why);
	}
	s->len = len;
	return 0;
}

int secret_from_file(const char *root, const char *file, struct secret *s)
{
	*s = (struct secret){ 0 };
	/* Beneath the root; the file itself, not a symlink to it; a FIFO does not block the open. */
	_cleanup_close_ int fd = root_open(root, file, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0);
	if (fd < 0) {
		if (fd == -ELOOP)
			return log_err(-EINVAL, "--relay-password-file=%s: is a symlink; give the file itself", file);
		if (fd == -ENXIO)
			return log_err(-EINVAL, "--relay-password-file=%s: not a regular file", file);
		return log_err(-EINVAL, "--relay-password-file=%s: %s", file, strerror(-fd));
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return log_err(-errno, "--relay-password-file=%s: %m", file);
	if (!S_ISREG(st.st_mode))
		return log_err(-EINVAL, "--relay-password-file=%s: not a regular file", file);
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return log_err(-EINVAL, "--relay-password-file=%s: owned by uid %u; it must be root's", file,
			       (unsigned)st.st_uid);
	if (st.st_mode & 077)
		return log_err(-EINVAL, "--relay-password-file=%s: mode %04o lets others read or change it; "
					"chmod 600 it", file, (unsigned)(st.st_mode & 07777));
	return read_secret(fd, file, s);
}

int secret_from_stdin(struct secret *s)
{
	*s = (struct secret){ 0 };
	return read_secret(STDIN_FILENO, "--relay-password-stdin", s);
}
