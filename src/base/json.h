/* The one JSON writer of op25b: Jansson objects, built with strings that are made valid UTF-8
 * first (paths and server replies are bytes; a JSON text must be UTF-8), printed as one line.
 * Every --json output goes through here (report.c for apply/revert/status, probe.c, verify). */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/* Version of the --json schema documented in man/op25b.8; raised when a field changes meaning or
 * goes away (new fields do not raise it). */
#define OP25B_JSON_SCHEMA 1

static inline void js_freep(json_t **j) { if (*j) json_decref(*j); }
#define _cleanup_json_ __attribute__((cleanup(js_freep)))

/* S as a JSON string (NULL as null). Each byte that is not part of a valid UTF-8 sequence
 * (overlong forms and surrogates included) becomes U+FFFD. NULL only when out of memory. */
json_t *js_string(const char *s);
/* The same for LEN bytes that may hold NULs (each becomes U+FFFD: a JSON consumer would cut the
 * string there). */
json_t *js_stringn(const char *s, size_t len);

/* Set or append, taking care of the references; -ENOMEM on failure. A NULL VALUE is null. */
int js_set(json_t *obj, const char *key, json_t *value);
int js_set_str(json_t *obj, const char *key, const char *value);
int js_set_bool(json_t *obj, const char *key, bool value);
int js_set_int(json_t *obj, const char *key, long long value);
int js_push(json_t *arr, json_t *value);
int js_push_str(json_t *arr, const char *value);

/* The object as one line on F, then flushed. -EIO when it cannot be written. */
int js_print(const json_t *j, FILE *f);
