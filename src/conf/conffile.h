/* The files of one run: their original bytes, their Augeas trees, the edits op25b made to them
 * (recorded, so that revert can undo exactly those), and their new bytes. */
#pragma once
#include "dlopen-augeas.h"
#include "spawn.h"
#include <stdbool.h>
#include <sys/stat.h>

/* An edit with the same state before and after is a claim: the mode needs the node as it found it
 * (often as another op25b mode left it), and revert keeps it while that mode stays applied. */
struct edit {
	char *path;                   /* relative to the file's tree, e.g. "smtps[1]/disabled" */
	bool before_present, after_present;
	char *before, *after;         /* values; NULL when absent or value-less */
	char *anchor;                 /* conf_insert(): the node it went after (or before) */
	bool anchor_before;
};

struct conf_file {
	char *path;                   /* on the target system: /etc/postfix/main.cf */
	char *host_path;              /* the same file here, for messages only: ROOT/etc/postfix/main.cf
	                               * (files are reached beneath the root: rootfs.h) */
	const char *lens;             /* NULL for a file op25b writes whole (password map) */
	char tree[48];                /* "/op25b/tree/N" */
	bool existed;
	struct stat st;               /* of the original, when it existed; owner and mode to write */
	char *old;
	size_t old_len;
	char *new;                    /* NULL: unchanged; set by conf_render() */
	size_t new_len;
	bool remove;                  /* revert: the file goes away (op25b created it) */
	bool written;                 /* txn_write() replaced it (rollback knows what to undo) */
	bool merged;                  /* revert: only op25b's edits were undone (changed since) */
	bool claimed;                 /* a whole file (a drop-in) this run needs as it is: journaled unchanged */
	mode_t create_mode;           /* mode of a file op25b creates */
	mode_t force_mode;            /* non-zero: written with this mode whatever it had (the map) */
	bool force_root;              /* written root:root whatever owner it had (the map); st keeps
	                               * the owner it had, which the journal records */
	bool secret;                  /* never shown in a diff or a message */
	char *postmap_type;           /* a Postfix table source: compiled (postmap) after each write */
	struct edit *edits;
	size_t n_edits;
};

struct conf_set {
	augeas *aug;                  /* NULL until a file is parsed: conf_set_augeas() */
	const char *root;
	const char *postfix_dir;      /* for postmap: its main.cf */
	const char *state_dir;        /* where writes stage (atomic.h); NULL: beside each file */
	char *postfix_defaults;       /* postconf -d's answer for postfix_param's keys, read once */
	struct spawn postfix_defaults_job; /* that postconf, started early by postfix_defaults_prefetch() */
	struct conf_file **files;
	size_t n;
};

/* A conf_set starts as { .root = ..., .postfix_dir = ... }, the rest zero; conf_set_done() ends it. */
/* Open S's Augeas handle (s->aug) unless it is open: only a run that parses a file loads Augeas.
 * conf_open() and conf_open_try() do it themselves. */
int conf_set_augeas(struct conf_set *s);
void conf_set_done(struct conf_set *s);

/* Read PATH (target-system path) under the root and parse it with LENS. A missing file is an error
 * when MUST_EXIST, otherwise it starts empty (and will be created). */
int conf_open(struct conf_set *s, const char *path, const char *lens, bool must_exist, struct conf_file **out);
/* The same for an existing file, silently: -EBADMSG when LENS cannot parse it. */
int conf_open_try(struct conf_set *s, const char *path, const char *lens, struct conf_file **out);
/* A file whose new content op25b supplies whole (no lens). */
int conf_open_raw(struct conf_set *s, const char *path, mode_t create_mode, struct conf_file **out);
/* An op25b file (a drop-in) whose whole content is TEXT (taken, freed here): unchanged when it
 * already holds it, else written with MODE. */
int conf_open_whole(struct conf_set *s, const char *path, mode_t mode, char *text);
/* The same for F, opened with conf_open_raw() (not a secret). */
void conf_whole(struct conf_file *f, char *text);
struct conf_file *conf_find(struct conf_set *s, const char *path);

/* Absolute Augeas path of REL in F's tree (malloc'd). */
char *conf_node(const struct conf_file *f, const char *rel);

/* State of a node (last match wins). */
int conf_get(struct conf_set *s, struct conf_file *f, const char *rel, bool *present, const char **value);

/* Make REL present with VALUE (NULL: value-less), recording the edit when that changes anything.
 * A missing "disabled" marker is put back as its parent's first child (where the lens wants it). */
int conf_set(struct conf_set *s, struct conf_file *f, const char *rel, const char *value);
/* Remove every node matching REL, recording the last one's value. */
int conf_remove(struct conf_set *s, struct conf_file *f, const char *rel);
/* Record that the run needs REL as it is now (a claim; see struct edit). */
int conf_claim(struct conf_set *s, struct conf_file *f, const char *rel);
/* Insert a new value-less node LABEL after (before=false) or before the node AT and record it. */
int conf_insert(struct conf_set *s, struct conf_file *f, const char *at, bool before, const char *label);

/* Undo recorded EDITS on F's current tree, newest first, each only when the node still holds what
 * op25b wrote. Returns the number of edits skipped because someone changed them since. */
int conf_undo(struct conf_set *s, struct conf_file *f, const struct edit *edits, size_t n);

/* Render the new text; f->new stays NULL when the bytes do not change. */
int conf_render(struct conf_set *s, struct conf_file *f);

void edit_free(struct edit *e);
bool edit_is_claim(const struct edit *e);
/* The edits of F that change something (claims not counted). */
size_t conf_changes(const struct conf_file *f);
int edit_append(struct edit **v, size_t *n, const char *path, bool bp, const char *b, bool ap, const char *a);
