/* Durable, atomic file replacement beneath the root that never overwrites a file someone changed
 * meanwhile, and leaves no new name in a configuration directory when killed at any point. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* The directory where writes link their new file before it is exchanged into place: STATE/stage
 * (0700, op25b's own), emptied of what a killed run left there. A negative errno (and writes
 * stage in the target's own directory) when STATE_DIR is NULL or cannot be used. Close it when
 * done. */
int atomic_stage_open(const char *root, const char *state_dir);

/* Replace PATH (a target-system path, resolved beneath ROOT; a last symlink is followed inside the
 * root) with DATA:
 *   - an unnamed O_TMPFILE in PATH's directory, written, owned (OWNER_LIKE's uid/gid/mode; NULL:
 *     root and MODE), dated 2 s in the past (below), fsync'ed: a crash up to here leaves nothing;
 *   - new file (EXPECT NULL): linked under PATH's name; -ESTALE when a file appeared there;
 *   - else linked into STAGE_FD (or, -1 or another file system, beside PATH), exchanged with PATH
 *     (renameat2 RENAME_EXCHANGE), and the bytes swapped out compared with EXPECT: when they differ
 *     (an edit landed since op25b read the file), exchanged back, -ESTALE, nothing lost;
 *   - the directory fsync'ed.
 * Missing directories on the way are created (0750) for a new file. The mtime is set 2 s in the
 * past: Postfix re-reads a main.cf younger than ~2 s until it "cools down" (issue 19); op25b's
 * writes are atomic, so the file is complete the moment its name appears. Errors are printed. */
int atomic_replace(const char *root, const char *path, const void *data, size_t len, const struct stat *owner_like,
		   mode_t mode, const char *expect, size_t expect_len, int stage_fd);

/* Remove PATH if it still holds EXPECT (moved into STAGE_FD first and compared there, so an edit
 * landing meanwhile is put back, not lost); fsync the directory. -ESTALE when it changed. */
int atomic_remove(const char *root, const char *path, const char *expect, size_t expect_len, int stage_fd);

/* Does PATH beneath ROOT hold exactly DATA (NULL: is it absent)? 1, 0 or a negative errno. */
int file_holds(const char *root, const char *path, const char *data, size_t len);
