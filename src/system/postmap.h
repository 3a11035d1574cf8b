/* Compiling a Postfix lookup table (postmap), and removing the compiled file with its source. */
#pragma once

/* The suffixes of TYPE's compiled files (".db" for hash), NULL-terminated. */
const char *const *postmap_suffixes(const char *type);

/* Run `postmap -c CONF TYPE:ROOT/PATH`, then give the compiled table PATH's owner and mode. CONF is a private, back-dated copy of the current main.cf
 * (postmap reads main.cf and waits ~2 s when it is younger than that). PATH is on the
 * target system. The map's secret never appears on postmap's command line: it reads the file. */
int postmap_run(const char *root, const char *postfix_dir, const char *type, const char *path);

/* Remove the compiled table of PATH (PATH.db, .lmdb, .cdb ...) for TYPE, when it exists. */
int postmap_remove(const char *root, const char *type, const char *path);
