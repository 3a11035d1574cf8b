/* posix_spawn with pipes; the child's environment is reduced to PATH and LANG=C so that nothing
 * of ours (and no secret) leaks into it, and its messages are in the language tests expect. The
 * program itself is looked up in that same fixed PATH (spawn_resolve), never in the caller's: a
 * root run with a user's directory first in PATH must not execute that user's postconf. */
#include "spawn.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <time.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "util.h"

#define OUTPUT_MAX (64 * 1024)
#define FIXED_PATH "/usr/sbin:/usr/bin:/sbin:/bin"

int spawn_resolve(const char *name, char *buf, size_t size)
{
	if (strchr(name, '/')) {
		if ((size_t)snprintf(buf, size, "%s", name) >= size)
			return -ENAMETOOLONG;
		return 0;
	}
	for (const char *dir = FIXED_PATH; *dir;) {
		size_t len = strcspn(dir, ":");
		struct stat st;
		if ((size_t)snprintf(buf, size, "%.*s/%s", (int)len, dir, name) >= size)
			return -ENAMETOOLONG;
		if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
			return 0;
		dir += len + (dir[len] == ':');
	}
	return -ENOENT;
}

static int wait_until(struct spawn *p, char **output, long long deadline);

int first_line_len(const char *text)
{
	return text ? (int)strcspn(text, "\n") : 0;
}

/* Start ARGV[0] with stdin from IN_FD (-1: /dev/null) and stdout+stderr into a pipe. Failures
 * are printed unless QUIET. */
static int start(char *const argv[], int in_fd, int dir_fd, struct spawn *p, bool quiet)
{
	int out[2] = { -1, -1 }, r;
	posix_spawn_file_actions_t fa;
	char *envp[] = { "PATH=" FIXED_PATH, "LANG=C", "LC_ALL=C", NULL };
	char path[PATH_MAX];

	*p = SPAWN_NONE;
	r = spawn_resolve(argv[0], path, sizeof(path));
	if (r < 0) {
		if (r == -ENOENT || quiet)
			return r; /* not installed: the caller decides whether that matters */
		return log_err(r, "cannot run %s: %s", argv[0], strerror(-r));
	}
	if (pipe2(out, O_CLOEXEC) < 0) {
		r = -errno;
		return quiet ? r : log_err(r, "pipe: %s", strerror(-r));
	}
	posix_spawn_file_actions_init(&fa);
	if (in_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, out[1], 2);
	if (dir_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, dir_fd, SPAWN_DIR_FD);
	r = posix_spawn(&p->pid, path, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	if (r != 0) {
		close(out[0]);
		p->pid = -1;
		if (r == ENOENT || quiet)
			return -r; /* not installed: the caller decides whether that matters */
		return log_err(-r, "cannot run %s: %s", argv[0], strerror(r));
	}
	p->out = out[0];
	snprintf(p->name, sizeof(p->name), "%s", argv[0]);
	return 0;
}

int spawn_wait(struct spawn *p, char **output)
{
	return wait_until(p, output, 0);
}

int spawn_run_timeout(char *const argv[], int dir_fd, unsigned timeout_sec, char **output)
{
	struct spawn p;
	struct timespec ts;
	_cleanup_close_ int moved = dir_fd == SPAWN_DIR_FD ? fcntl(dir_fd, F_DUPFD_CLOEXEC, SPAWN_DIR_FD + 1) : -1;
	if (dir_fd == SPAWN_DIR_FD) {
		if (moved < 0)
			return log_err(-errno, "fcntl: %m");
		dir_fd = moved;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	long long deadline = ((long long)ts.tv_sec + timeout_sec) * 1000 + ts.tv_nsec / 1000000;
	int r = start(argv, -1, dir_fd, &p, false);
	if (r < 0)
		return r;
	r = wait_until(&p, output, deadline);
	if (r == -ETIMEDOUT)
		return log_err(r, "%s: no answer within %u s (--timeout); stopped it", argv[0], timeout_sec);
	return r;
}

int spawn_start(char *const argv[], struct spawn *p)
{
	return start(argv, -1, -1, p, true);
}

/* Milliseconds left until DEADLINE (CLOCK_MONOTONIC, ms); -1: no deadline. */
static int left_ms(long long deadline)
{
	if (deadline <= 0)
		return -1;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	long long now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return now >= deadline ? 0 : (int)(deadline - now > INT_MAX ? INT_MAX : deadline - now);
}

/* Wait for P's output to end; past DEADLINE the child is killed: -ETIMEDOUT. */
static int wait_until(struct spawn *p, char **output, long long deadline)
{
	if (output)
		*output = NULL;
	if (p->pid <= 0)
		return -ECHILD;
	size_t len = 0;
	bool timed_out = false;
	_cleanup_free_ char *buf = malloc(OUTPUT_MAX + 1);
	for (;;) {
		if (!buf)
			break; /* still drained and reaped below */
		struct pollfd pfd = { .fd = p->out, .events = POLLIN };
		int pr = poll(&pfd, 1, left_ms(deadline));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0) {
			/* A child that reads a FIFO (or waits on anything) does not hold op25b past
			 * --timeout. */
			kill(p->pid, SIGKILL);
			timed_out = true;
			break;
		}
		ssize_t k = read(p->out, buf + len, OUTPUT_MAX - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
		if (len == OUTPUT_MAX)
			break; /* keep what fits */
	}
	char sink[4096];
	while (!timed_out && read(p->out, sink, sizeof(sink)) > 0) /* drain the rest */
		;
	close(p->out);
	p->out = -1;

	int status;
	pid_t pid = p->pid;
	p->pid = -1;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return log_err(-errno, "waitpid %s: %m", p->name);
	if (timed_out)
		return -ETIMEDOUT;
	if (!buf)
		return -ENOMEM;
	buf[len] = '\0';
	if (output)
		*output = TAKE_PTR(buf);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

void spawn_abandon(struct spawn *p)
{
	if (p->pid <= 0) /* never 0: kill(0) would signal op25b's own process group */
		return;
	kill(p->pid, SIGTERM);
	spawn_wait(p, NULL);
}

int spawn_run(char *const argv[], const char *input, size_t input_len, char **output)
{
	return spawn_run_in(argv, -1, input, input_len, output);
}

int spawn_run_in(char *const argv[], int dir_fd, const char *input, size_t input_len, char **output)
{
	/* dup2(3, 3) would keep its close-on-exec flag: hand over a copy at another number. */
	_cleanup_close_ int moved = dir_fd == SPAWN_DIR_FD ? fcntl(dir_fd, F_DUPFD_CLOEXEC, SPAWN_DIR_FD + 1) : -1;
	if (dir_fd == SPAWN_DIR_FD) {
		if (moved < 0)
			return log_err(-errno, "fcntl: %m");
		dir_fd = moved;
	}
	struct spawn p;
	int in[2] = { -1, -1 }, r;

	if (output)
		*output = NULL;
	if (input && pipe2(in, O_CLOEXEC) < 0) {
		r = -errno;
		return log_err(r, "pipe: %s", strerror(-r));
	}
	r = start(argv, in[0], dir_fd, &p, false);
	if (input)
		close(in[0]);
	if (r < 0) {
		if (input)
			close(in[1]);
		return r;
	}
	if (input) {
		/* Small inputs (a map line) fit the pipe buffer; write before reading. */
		r = write_all(in[1], input, input_len);
		close(in[1]);
		if (r < 0)
			log_warn("%s: could not write its input: %s", argv[0], strerror(-r));
	}
	return spawn_wait(&p, output);
}
