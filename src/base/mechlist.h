/* --mechanisms=LIST: SASL mechanism names (RFC 4422: letters, digits, '-' and '_'), separated by
 * commas or blanks. One reading of the list for the request's check (src/cli/option-check.c) and
 * for the facts that hand it to Postfix (src/facts/facts.c). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* The next name in *P, skipping separators: *NAME points at it, its length is returned and *P
 * moves past it; 0 at the end of the list. */
size_t mech_list_next(const char **p, const char **name);

/* Whether the N bytes at S are a SASL mechanism name. */
bool mech_name_valid(const char *s, size_t n);
