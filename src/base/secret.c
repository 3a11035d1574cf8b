/* Secrets, the signify/doas way: explicit checks, O_NOFOLLOW, explicit_bzero. */
#include "secret.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>

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

int secret_no_core(void)
{
	/* Not dumpable: no core file, and no ptrace or /proc/PID/mem access by anyone without
	 * CAP_SYS_PTRACE. RLIMIT_CORE 0 as well, for a core_pattern pipe that ignores the flag. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return log_err(-errno, "prctl(PR_SET_DUMPABLE): %m");
	if (setrlimit(RLIMIT_CORE, &(struct rlimit){ 0, 0 }) < 0)
		return log_err(-errno, "setrlimit(RLIMIT_CORE): %m");
	return 0;
}

/* The UTF-8 sequence at S (at most N bytes): its length when it is valid text, 0 when it is not
 * valid UTF-8 (overlong forms, surrogates, > U+10FFFF included), -1 for a control character (C0,
 * DEL, C1). */
static int text_char(const unsigned char *s, size_t n)
{
	size_t k;
	uint32_t cp;
	if (s[0] < 0x80)
		return s[0] < 0x20 || s[0] == 0x7f ? -1 : 1;
	if ((s[0] & 0xe0) == 0xc0)
		k = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		k = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		k = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (k > n)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (cp < min[k] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return cp <= 0x9f ? -1 : (int)k;
}

const char *secret_text_problem(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		int k = text_char((const unsigned char *)s + i, n - i);
		if (k < 0)
			return "a control character";
		if (k == 0)
			return "bytes that are not valid UTF-8";
		i += (size_t)k;
	}
	return NULL;
}

/* From a terminal: a prompt, echo off, one line. Ctrl-C and the like are held back (blocked, and
 * watched through a signalfd) while the echo is off, so that the terminal is always given back
 * with its echo; the signal then takes its usual course. 1 when the line ended the input. */
static int read_tty_line(int fd, const char *prompt, char *buf, size_t room, size_t *len)
{
	struct termios old, quiet;
	sigset_t mask, saved;
	int r = 0;

	if (tcgetattr(fd, &old) < 0)
		return -errno;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	sigaddset(&mask, SIGTSTP);
	if (sigprocmask(SIG_BLOCK, &mask, &saved) < 0)
		return -errno;
	_cleanup_close_ int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	quiet.c_lflag |= ICANON;
	if (sfd < 0 || tcsetattr(fd, TCSAFLUSH, &quiet) < 0) {
		r = -errno;
		sigprocmask(SIG_SETMASK, &saved, NULL);
		return r;
	}
	fputs(prompt, stderr);
	fflush(stderr);
	*len = 0;
	while (*len < room) {
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (p[1].revents) {
			r = -EINTR; /* the signal stays pending: delivered below, once the echo is back */
			break;
		}
		ssize_t k = read(fd, buf + *len, room - *len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			break;
		}
		if (k == 0)
			break;
		*len += (size_t)k;
		if (buf[*len - 1] == '\n')
			break;
	}
	if (tcsetattr(fd, TCSAFLUSH, &old) < 0 && r == 0)
		r = -errno;
	fputc('\n', stderr);
	sigprocmask(SIG_SETMASK, &saved, NULL);
	return r;
}

/* Read at most SECRET_MAX+1 bytes from FD into a locked buffer (no swap), then check the content.
 * With a PROMPT and a terminal on FD: the prompt, no echo, one line. */
static int read_secret(int fd, const char *what, const char *prompt, struct secret *s)
{
	int r = secret_no_core();
	if (r < 0)
		return r;
	char *buf = calloc(1, SECRET_MAX + 2);
	if (!buf)
		return -ENOMEM;
	mlock(buf, SECRET_MAX + 2); /* best effort: it may fail without CAP_IPC_LOCK */
	s->data = buf;
	size_t len = 0;
	if (prompt && isatty(fd)) {
		r = read_tty_line(fd, prompt, buf, SECRET_MAX + 1, &len);
		if (r < 0) {
			secret_wipe(s);
			return log_err(r, "%s: %s", what, r == -EINTR ? "interrupted" : strerror(-r));
		}
		if (len > SECRET_MAX) {
			secret_wipe(s);
			return log_err(-EINVAL, "%s: the password is longer than %d bytes", what, SECRET_MAX);
		}
	}
	for (; !(prompt && isatty(fd));) {
		ssize_t k = read(fd, buf + len, SECRET_MAX + 1 - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
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
	unsigned line = 0; /* where WHY is, when it is not on the first line */
	if (len == 0)
		why = "the password is empty";
	else if (memchr(buf, '\0', len))
		why = "the password contains a NUL byte";
	else if (memchr(buf, '\n', len) || memchr(buf, '\r', len))
		why = "the password has more than one line", line = 2;
	else if (buf[0] == ' ' || buf[0] == '\t' || buf[len - 1] == ' ' || buf[len - 1] == '\t')
		why = "the password begins or ends with a blank, which postmap would drop";
	else if ((why = secret_text_problem(buf, len)))
		why = streq(why, "a control character") ? "the password contains a control character (not shown)"
							 : "the password is not valid UTF-8 (not shown)";
	if (why) {
		secret_wipe(s);
		if (line)
			return log_err(-EINVAL, "%s:%u: %s", what, line, why);
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
	return read_secret(fd, file, NULL, s);
}

int secret_from_stdin(const char *what, const char *prompt, struct secret *s)
{
	*s = (struct secret){ 0 };
	return read_secret(STDIN_FILENO, what, prompt, s);
}
