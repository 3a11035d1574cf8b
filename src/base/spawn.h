/* Running Postfix's and Dovecot's own tools: no shell, a fixed environment, output captured. */
#pragma once
#include <stddef.h>
#include <sys/types.h>

/* The program NAME as op25b runs it: NAME itself when it holds a '/', else the first executable
 * regular file NAME in /usr/sbin:/usr/bin:/sbin:/bin (never the caller's PATH), into BUF.
 * 0, -ENOENT (none) or -ENAMETOOLONG. */
int spawn_resolve(const char *name, char *buf, size_t size);

/* Run ARGV[0] (spawn_resolve()) with stdin from /dev/null (or INPUT when not NULL, written to a
 * pipe: how a secret reaches a child without argv or the environment), capture stdout+stderr
 * (bounded to 64 KiB) into *OUTPUT (may be NULL). Returns the exit status (0..255), or a negative
 * errno when the program could not be run (-ENOENT, silently, when it is not installed). */
int spawn_run(char *const argv[], const char *input, size_t input_len, char **output);

/* spawn_run() with the directory DIR_FD handed to the child as its fd SPAWN_DIR_FD: an argument
 * "/proc/self/fd/3/NAME" then names NAME in exactly that directory, however the path to it may
 * have been swapped since it was resolved beneath the root (postmap's map and its .db). */
#define SPAWN_DIR_FD 3
int spawn_run_in(char *const argv[], int dir_fd, const char *input, size_t input_len, char **output);

/* spawn_run_in() without input, and the child killed after TIMEOUT_SEC seconds: -ETIMEDOUT
 * (printed). For tools that read files op25b did not check (postconf, doveconf: a FIFO would
 * block them). DIR_FD -1: none. */
int spawn_run_timeout(char *const argv[], int dir_fd, unsigned timeout_sec, char **output);


/* A child started by spawn_start(), running while op25b goes on. */
struct spawn {
	pid_t pid;                  /* <= 0: none (a zeroed struct has none) */
	int out;
	char name[32];
};
#define SPAWN_NONE ((struct spawn){ .pid = -1, .out = -1 })

/* Start ARGV[0] as spawn_run() does (stdin /dev/null), without waiting for it. 0, or a negative
 * errno, silently: a run started ahead of need leaves the reporting to the call that needs it. */
int spawn_start(char *const argv[], struct spawn *p);
/* Wait for P's end and take its output, as spawn_run() returns them. */
int spawn_wait(struct spawn *p, char **output);
/* Stop P, if it still runs, and reap it: for a child whose answer is no longer needed. */
void spawn_abandon(struct spawn *p);

/* The first line of TEXT, for messages. */
int first_line_len(const char *text);
