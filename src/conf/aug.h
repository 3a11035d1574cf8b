/* A restricted Augeas handle: no autoload, no file access by Augeas itself. op25b reads the bytes
 * (it needs them for the journal anyway), parses them with one named lens into a tree, edits the
 * tree, and asks the same lens for the new text. Only the lenses a run needs are ever compiled. */
#pragma once
#include "dlopen-augeas.h"
#include <stdbool.h>

#include "util.h"

static inline void aug_closep(augeas **a) { if (*a) sym_aug_close(*a); }
#define _cleanup_aug_ _cleanup_(aug_closep)

/* Open the handle with the project's lens directory first (then Augeas' own lenses for
 * Postfix_Main and Dovecot). AUGEAS_LENS_LIB is ignored so a stray lens cannot shadow ours. */
int aug_open(augeas **out);

/* The project's lens directory: ./lenses beside the binary when run from the tree, otherwise the
 * installed one. */
const char *lens_dir(char *buf, size_t size);

/* Parse TEXT with LENS into TREE (an Augeas path such as "/op25b/tree/3"). On a parse error prints
 * "op25b: FILE:LINE:COL: reason" (FILE as the user knows it) and returns -EBADMSG; with
 * FILE_FOR_MSG NULL it only returns -EBADMSG (the caller has a fallback). */
int aug_parse_text(augeas *a, const char *lens, const char *text, const char *tree, const char *file_for_msg);

/* Render TREE back to text with LENS, starting from the ORIGINAL text (so untouched parts keep
 * their bytes). *out is malloc'd. */
int aug_render_text(augeas *a, const char *lens, const char *original, const char *tree,
		    const char *file_for_msg, char **out);

/* Node state: absent (*present=false), or present with value (*value NULL for a value-less node).
 * PATH may match several nodes; the last one counts (Postfix and Dovecot: the last setting wins). */
int aug_state(augeas *a, const char *path, bool *present, const char **value);
