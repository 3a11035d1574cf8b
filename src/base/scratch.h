/* Scratch directories for Postfix's tools, which take a configuration directory, not a file
 * (postconf -c, postmap -c): /tmp/op25b-WHAT.PID.XXXXXX, mode 0700. A run killed while it holds
 * one leaves it behind; the next run that makes one removes those whose process is gone. */
#pragma once

#define SCRATCH_MAX 64

/* Make one (and first clean up after killed runs). 0 or a negative errno (printed). */
int scratch_make(const char *what, char dir[static SCRATCH_MAX]);

/* Remove the scratch dirs of op25b runs that no longer exist (main() calls it in every run). */
void scratch_clean_stale(void);

/* Remove DIR and the files in it. */
void scratch_remove(const char *dir);
