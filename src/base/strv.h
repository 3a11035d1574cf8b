/* The one kind of string list: a NULL-terminated array of allocated strings ("strv"). */
#pragma once
#include <stddef.h>

/* Free each string and the array; NULL is fine. */
void strv_free(char **v);
static inline void strv_freep(char ***v) { strv_free(*v); }
#define _cleanup_strv_free_ __attribute__((cleanup(strv_freep)))

/* Append a copy of S[0..LEN) to *V, which holds *N strings (kept NULL-terminated); 0 or -ENOMEM. */
int strv_push_n(char ***v, size_t *n, const char *s, size_t len);
