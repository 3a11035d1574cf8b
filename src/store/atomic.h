/* Durable, atomic file replacement that refuses to overwrite a file someone changed meanwhile. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* Replace PATH with DATA: a temp file beside it (O_EXCL, 0600 until its final owner and mode are
 * set), fsync, then — only if PATH still holds EXPECT (EXPECT NULL: PATH must not exist) —
 * rename over it and fsync the directory. OWNER_LIKE gives uid/gid/mode; NULL uses MODE and root.
 * Returns -ESTALE when PATH changed since it was read. */
int atomic_replace(const char *path, const void *data, size_t len, const struct stat *owner_like, mode_t mode,
		   const char *expect, size_t expect_len);

/* Unlink PATH if it still holds EXPECT; fsync the directory. */
int atomic_remove(const char *path, const char *expect, size_t expect_len);
