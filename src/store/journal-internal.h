/* Inside the journal: journal.c (the lock, the state directory, loading every transaction),
 * journal-meta.c (the meta file's lines, read and written), journal-write.c (a transaction from
 * begin to commit or drop) and journal-rebase.c (originals: reading them back, and rebasing a
 * file on another one). journal.h is the interface. */
#pragma once
#include <stdio.h>

#include "journal.h"

/* Every journal file is reached through the state dir's fd (j->dir_fd), which was resolved
 * beneath the root (rootfs.h), and through tx/ and tx/N opened from it with O_NOFOLLOW; j->dir and
 * t->dir (ROOT/STATE...) only name them in messages. */
int tx_fd(const struct journal *j);           /* tx/, opened; a negative errno */
const char *tx_name(const struct tx *t);      /* "N", "N.pending", "N.tmp" */
int tx_dir_fd(const struct journal *j, const struct tx *t); /* tx/N of T, opened */
void tx_free(struct tx *t);

/* Read T's meta file, tx/NAME/meta under the tx/ dir TXFD (DIR names tx/ in messages), into T:
 * its files, edits, steps and firewall services. A line that is not as op25b writes it is
 * -EBADMSG with FILE:LINE. */
int tx_load(int txfd, const char *dir, const char *name, struct tx *t, off_t limit);
/* Remove directory NAME in DFD and what is in it, best effort (what stays goes next time). */
void journal_discard_dir(int dfd, const char *name);

/* The revert intent (journal-intent.c): read at open, before the transactions (a pending one
 * limits how much of a staying transaction's meta is read: intent_meta_limit, -1 for all). */
int intent_load(struct journal *j);
off_t intent_meta_limit(const struct journal *j, unsigned id);
void intent_free(struct revert_intent *in);

/* A value in a meta line: %XX for bytes <= ' ', '%' and DEL; meta_dec() reads one back (NULL:
 * malformed or out of memory). */
void meta_put_value(FILE *f, const char *s);
char *meta_dec(const char *s);
/* "edit I PATH BEFORE AFTER [after:ANCHOR|before:ANCHOR]" */
void meta_put_edit(FILE *f, size_t i, const struct edit *e);
/* The meta file of a pending transaction, opened to add lines to it (*META names it). */
int meta_append(const struct journal *j, const struct tx *t, char **meta, FILE **f);
