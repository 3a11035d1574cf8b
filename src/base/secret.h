/* The ISP password: read from a strict file or from stdin, never from argv or the environment,
 * checked so it cannot break the map line, and wiped when done. */
#pragma once
#include <stddef.h>

#define SECRET_MAX 1024

struct secret {
	char *data; /* NUL-terminated, no newline */
	size_t len;
};

/* From FILE (a path on the target system, under ROOT): a regular file, not a symlink, owned by
 * root (or by us when not root), not readable or writable by group or others. One line; a final
 * newline is dropped. -EINVAL with the reason printed. */
int secret_from_file(const char *root, const char *file, struct secret *s);
/* From standard input (WHAT names it in messages), same rules for the content. On a terminal:
 * PROMPT on stderr, echo off, one line (ended by Enter, not Ctrl-D). */
int secret_from_stdin(const char *what, const char *prompt, struct secret *s);
/* NULL when S (N bytes) is valid UTF-8 without control characters (C0, DEL, C1); else what is
 * wrong, as words that do not quote S ("a control character", "bytes that are not valid UTF-8"). */
const char *secret_text_problem(const char *s, size_t n);
/* Make this process undumpable (no core file, no ptrace or /proc/PID/mem by others) and its core
 * size limit 0: done before a secret is read. -errno after a message. */
int secret_no_core(void);
/* Wipe and free. */
void secret_wipe(struct secret *s);
