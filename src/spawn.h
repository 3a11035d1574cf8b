/* Running Postfix's and Dovecot's own tools: no shell, a fixed environment, output captured. */
#pragma once
#include <stddef.h>

/* Run ARGV[0] (searched in PATH) with stdin from /dev/null (or INPUT when not NULL, written to a
 * pipe: how a secret reaches a child without argv or the environment), capture stdout+stderr
 * (bounded to 64 KiB) into *OUTPUT (may be NULL). Returns the exit status (0..255), or a negative
 * errno when the program could not be run (-ENOENT, silently, when it is not installed). */
int spawn_run(char *const argv[], const char *input, size_t input_len, char **output);

/* The first line of TEXT, for messages. */
int first_line_len(const char *text);
