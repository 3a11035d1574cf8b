/* posix_spawn with pipes; the child's environment is reduced to PATH and LANG=C so that nothing
 * of ours (and no secret) leaks into it, and its messages are in the language tests expect. */
#include "spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include "util.h"

#define OUTPUT_MAX (64 * 1024)

int first_line_len(const char *text)
{
	return text ? (int)strcspn(text, "\n") : 0;
}

/* Start ARGV[0] with stdin from IN_FD (-1: /dev/null) and stdout+stderr into a pipe. Failures
 * are printed unless QUIET. */
static int start(char *const argv[], int in_fd, struct spawn *p, bool quiet)
{
	int out[2] = { -1, -1 }, r;
	posix_spawn_file_actions_t fa;
	char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "LC_ALL=C", NULL };

	*p = SPAWN_NONE;
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
	r = posix_spawnp(&p->pid, argv[0], &fa, NULL, argv, envp);
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

int spawn_start(char *const argv[], struct spawn *p)
{
	return start(argv, -1, p, true);
}

int spawn_wait(struct spawn *p, char **output)
{
	if (output)
		*output = NULL;
	if (p->pid <= 0)
		return -ECHILD;
	size_t len = 0;
	_cleanup_free_ char *buf = malloc(OUTPUT_MAX + 1);
	for (;;) {
		if (!buf)
			break; /* still drained and reaped below */
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
	while (read(p->out, sink, sizeof(sink)) > 0) /* drain the rest */
		;
	close(p->out);
	p->out = -1;

	int status;
	pid_t pid = p->pid;
	p->pid = -1;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return log_err(-errno, "waitpid %s: %m", p->name);
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
	struct spawn p;
	int in[2] = { -1, -1 }, r;

	if (output)
		*output = NULL;
	if (input && pipe2(in, O_CLOEXEC) < 0) {
		r = -errno;
		return log_err(r, "pipe: %s", strerror(-r));
	}
	r = start(argv, in[0], &p, false);
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
