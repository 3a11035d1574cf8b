/* Small helpers shared by every file: cleanup attributes, messages, strings, paths. */
#pragma once
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* Exit statuses of the command-line contract (man/op25b.8, EXIT STATUS). */
enum {
	EXIT_DONE = 0,  /* done, changed or not */
	EXIT_FAIL = 1,  /* failed; anything written was rolled back */
	EXIT_USAGE = 2, /* bad usage or bad input; nothing was touched */
};

/* The one mapping from a negative errno to an exit status, for the verbs: what the machine did to
 * us (no memory, I/O, no space, a lock held past --timeout, a file changed under us) fails (1);
 * anything else is the input's fault (2): nothing was touched. 0 is EXIT_DONE. */
int exit_status_of(int r);

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_ __attribute__((unused))
#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd) { if (*fd >= 0) { int e = errno; close(*fd); errno = e; } }
static inline void fclosep(FILE **f) { if (*f) fclose(*f); }
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Take ownership out of a cleanup variable. */
#define TAKE_PTR(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })
#define TAKE_FD(fd) ({ int _t = (fd); (fd) = -1; _t; })

/* Verbosity lives with the options (the only global state): -1 quiet, 0 normal, 1+ verbose. */
extern int log_verbosity;

/* "op25b: MESSAGE" on stderr. Always printed. Returns r (a negative errno) for `return log_err(r, ...)`. */
int log_err(int r, const char *fmt, ...) _printf_(2, 3);
void log_warn(const char *fmt, ...) _printf_(1, 2);
/* Progress and results on stdout; silenced by --quiet. */
void log_info(const char *fmt, ...) _printf_(1, 2);
/* Details for --verbose. */
void log_debug(const char *fmt, ...) _printf_(1, 2);

/* Allocation that aborts the program on failure would hide the cause: these return NULL and
 * callers return -ENOMEM. */
char *strdup_printf(const char *fmt, ...) _printf_(1, 2);

/* Join ROOT and an absolute PATH ("/" root gives PATH unchanged): for messages only. Files under
 * the root are opened with rootfs.h, never through this string. */
char *path_under_root(const char *root, const char *path);

/* Lowercase hex SHA-256 of a buffer into out[65]. */
void sha256_hex(const void *data, size_t len, char out[65]);

/* Write all bytes, retrying on EINTR/short writes. */
int write_all(int fd, const void *buf, size_t len);

/* A DNS name as --domain takes it (it becomes a directory name under /etc/letsencrypt/live):
 * 1..253 letters, digits, '-' and '.', not starting with '.' or '-', no "..". */
bool is_dns_name(const char *s);

/* True when S is non-empty and has no whitespace, control characters or '#'. */
bool is_config_token(const char *s);

static inline bool streq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }
static inline bool strempty(const char *s) { return !s || !*s; }

/* CLOCK_MONOTONIC in microseconds: for deadlines and durations. */
uint64_t now_usec(void);
/* Sleep USEC microseconds (restarted after a signal). */
void sleep_usec(uint64_t usec);
