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
/* From standard input, same rules for the content. */
int secret_from_stdin(struct secret *s);
/* Wipe and free. */
void secret_wipe(struct secret *s);
