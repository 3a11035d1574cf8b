/* posix_spawn with pipes; the child's environment is reduced to PATH and LANG=C so that nothing
 * of ours (and no secret) leaks into it, and its messages are in the language tests expect. */
#include "spawn.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>

#include "util.h"

#define OUTPUT_MAX (64 * 1024)

static void close_pair(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0) {
			close(p[i]);
			p[i] = -1;
		}
}

int first_line_len(const char *text)
{
	return text ? (int)strcspn(text, "\n") : 0;
}

int spawn_run(char *const argv[], const char *input, size_t input_len, char **output)
{
	int out[2] = { -1, -1 }, in[2] = { -1, -1 }, r;
	posix_spawn_file_actions_t fa;
	char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "LC_ALL=C", NULL };
	pid_t pid;

	if (output)
		*output = NULL;
	if (pipe2(out, O_CLOEXEC) < 0 || (input && pipe2(in, O_CLOEXEC) < 0)) {
		r = -errno;
		close_pair(out);
		return log_err(r, "pipe: %s", strerror(-r));
	}
	posix_spawn_file_actions_init(&fa);
	if (input)
		posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, out[1], 2);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	out[1] = -1;
	if (input) {
		close(in[0]);
		in[0] = -1;
	}
	if (r != 0) {
		close_pair(out);
		close_pair(in);
		if (r == ENOENT)
			return -ENOENT; /* not installed: the caller decides whether that matters */
		return log_err(-r, "cannot run %s: %s", argv[0], strerror(r));
	}
	if (input) {
		/* Small inputs (a map line) fit the pipe buffer; write before reading. */
		r = write_all(in[1], input, input_len);
		close_pair(in);
		if (r < 0)
			log_warn("%s: could not write its input: %s", argv[0], strerror(-r));
	}

	size_t len = 0;
	_cleanup_free_ char *buf = malloc(OUTPUT_MAX + 1);
	if (!buf) {
		close_pair(out);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t k = read(out[0], buf + len, OUTPUT_MAX - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
		if (len == OUTPUT_MAX) { /* drain the rest, keep what fits */
			char sink[4096];
			while (read(out[0], sink, sizeof(sink)) > 0)
				;
			break;
		}
	}
	buf[len] = '\0';
	close_pair(out);

	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return log_err(-errno, "waitpid %s: %m", argv[0]);
	if (output)
		*output = TAKE_PTR(buf);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
