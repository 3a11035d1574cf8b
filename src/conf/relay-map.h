/* The relay's password map (apply --mode=submission): where it is, the key of the relay in it, and
 * the one reading of its lines that the plan (which writes it) and the fast path (which proves it
 * unchanged) share. The map is the one file op25b writes whole rather than through Augeas: its
 * content is a secret, and Augeas cannot wipe the strings it frees. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "hostport.h"
#include "secret.h"
#include "settings.h"

/* --relayhost as Postfix writes it ("[smtp.isp.example]:587", the port 587 unless given) into KEY,
 * with its parts in *HP. -EINVAL with *WHY (a phrase, or NULL: too long) for a host that does not
 * parse; src/cli/request.c has refused those already. */
int relay_key(const char *host, struct hostport *hp, char key[HOSTPORT_FORMAT_MAX], const char **why);

/* The map a submission run writes: --relay-password-map, else POSTFIX_DIR/ispinfo (malloc'd). */
char *relay_map_path(const struct target *t, const struct relay_settings *o);

/* TEXT (LEN bytes, the map as read) with the entry for KEY set to "KEY USER:PASSWORD". postmap's
 * reading: "KEY VALUE" lines, '#' comments, a line starting with a blank continues the one before.
 * Other entries stay as they are; a duplicate of KEY in any letter case goes, with its
 * continuation lines (postmap folds the case: the first would win). Into one buffer sized up
 * front (*OUT, *OUT_LEN, NUL-terminated), so that no copy of the password is left unwiped. */
int relay_map_with_line(const char *text, size_t len, const char *key, const char *user, const struct secret *pw,
			char **out, size_t *out_len);

/* Would planning leave TEXT as it is: relay_map_with_line() gives the same bytes. */
int relay_map_holds(const char *text, size_t len, const char *key, const char *user, const struct secret *pw,
		    bool *same);
