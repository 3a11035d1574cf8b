/* The journal: one directory per transaction under STATE/tx/, holding byte copies of every file
 * before op25b changed it, hashes of what op25b wrote, and op25b's own edits. A transaction is
 * written as N.tmp, becomes N.pending before the first config file is touched, and N once every
 * file is written; a pending one found later (a crash) is rolled back. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "conffile.h"

struct tx_file {
	char *path;                 /* target-system path */
	char *lens;                 /* NULL: raw file */
	char *postmap_type;         /* a table source compiled with postmap (hash, lmdb, ...) */
	bool existed, secret;
	uid_t uid;
	gid_t gid;
	mode_t mode;
	char orig_hash[65], new_hash[65];
	struct edit *edits;
	size_t n_edits;
	char *copy;                 /* the original's copy in the transaction's dir (NULL: orig.INDEX) */
};

/* A firewalld service op25b opened over D-Bus, and in which layers (FW_* of firewall.h). */
struct tx_fw {
	char *name;
	unsigned layers;
};

/* The steps besides the files, as they stand after a transaction: whether the services were
 * (asked to be) restarted with its files, whether the firewall step ran and in which zone (NULL:
 * the default zone). A later apply with the same options still has work when they fall short. */
struct tx_steps {
	bool restarted, firewall;
	const char *zone;
	const char *origin;         /* who applied it (--origin, e.g. "rpm" from the package's %post); NULL: by hand */
};

struct tx {
	unsigned id;
	unsigned mode;
	bool pending;
	char opts_hash[65];
	char state_hash[65];        /* the configuration directories right after it was applied ("" unknown) */
	time_t cert_not_after;      /* the expiry of the certificate checked then (0: none or unknown) */
	bool restarted, firewall;   /* struct tx_steps (a journal written before them: both true) */
	char *zone;
	char *origin;               /* "origin" line: who applied it (NULL: by hand) */
	unsigned rebases;           /* "rebase" lines so far (names the next copy) */
	char *dir;
	struct tx_file *files;
	size_t n;
	char *fw_zone;              /* online firewall changes: the zone, and what was opened */
	struct tx_fw *fw;
	size_t n_fw;
};

/* A revert in progress (journal-intent.c), STATE/revert.pending then STATE/revert.done: written
 * before its first file is touched, it holds each file's bytes from before the revert. A revert
 * killed while pending (its files part written, its services maybe restarted, rebase lines maybe
 * appended) is undone by the next revert: files that hold what it wrote get their bytes back, the
 * staying transactions' meta files are cut to their size from before it. Once done (every rebase
 * line written), only the transactions it takes out are left to drop. */
enum intent_state { INTENT_NONE, INTENT_PENDING, INTENT_DONE };

struct intent_file {
	char *path;                 /* target-system path */
	char *postmap_type;         /* a table source: its compiled table follows it */
	bool existed;               /* before the revert */
	uid_t uid;
	gid_t gid;
	mode_t mode;
	char before[65], after[65]; /* hashes of the bytes before and of what the revert writes ("-": absent) */
};

struct intent_keep {
	unsigned id;
	off_t meta_size;            /* the size of the staying transaction's meta before the revert */
};

struct revert_intent {
	enum intent_state state;
	unsigned modes;             /* of the transactions it takes out (they may be gone once done) */
	unsigned *drop;             /* the transactions it takes out */
	size_t n_drop;
	struct intent_keep *keep;
	size_t n_keep;
	struct intent_file *files;
	size_t n_files;
};

struct journal {
	char *dir;                  /* ROOT/STATE, for messages */
	char *state_dir;            /* STATE, on the target system */
	int lock_fd;                /* the root directory, flock'ed; STATE is resolved beneath it */
	int dir_fd;                 /* STATE, opened beneath the root (-1 until it exists) */
	struct tx *txs;             /* ascending id */
	size_t n;
	struct revert_intent intent; /* an interrupted revert (its view: the journal from before it) */
};

/* Take the lock of every op25b run on ROOT (flock on the root directory; waiting at most TIMEOUT
 * seconds for another op25b), then check (and with CREATE, make) the state dir: a real directory,
 * owned by us, 0700. Loads every transaction. Without CREATE a missing state dir is an empty
 * journal, still locked. Errors in the state dir are usage errors (-EINVAL family) with the file
 * named. Call it before reading any configuration file. */
int journal_open(struct journal *j, const char *root, const char *state_dir, bool create, unsigned timeout);
/* Make the state dir of a journal opened without it (under the lock). */
int journal_make_dir(struct journal *j);
void journal_close(struct journal *j);

/* Write transaction for MODE with the originals of every changed file in S and the STEPS; returns it
 * pending. */
int journal_begin(struct journal *j, unsigned mode, const char *opts_hash, const struct tx_steps *steps,
		  struct conf_set *s, struct tx **out);
/* Record the firewall services opened online (before commit: a crash after opening them leaves a
 * pending transaction that knows about them). */
int journal_note_firewall(struct journal *j, struct tx *t, const char *zone, const struct tx_fw *fw, size_t n);
/* Record what the configuration looked like once T's files were written (a digest made by the
 * caller): a later apply with the same options and the same state has nothing to do. */
int journal_note_state(struct journal *j, struct tx *t, const char *state_hash, time_t cert_not_after);
int journal_commit(struct journal *j, struct tx *t);
/* Forget a transaction (after rollback or revert). */
int journal_drop(struct journal *j, struct tx *t);

/* After a revert took out an earlier transaction under T's edits of file I: T now starts from
 * ORIG (EXISTED, with UID/GID/MODE), holds NEW_HASH, and made EDITS (its claims among them). Written
 * to T's meta after the files, before the earlier transaction is dropped. */
int journal_rebase(struct journal *j, struct tx *t, size_t i, bool existed, uid_t uid, gid_t gid, mode_t mode,
		   const char *orig, size_t orig_len, const char *new_hash, const struct edit *edits, size_t n_edits);

/* Who applied MODE: the origins of its committed transactions, each once, oldest first (NULL: by
 * hand). Returns how many, at most MAX. */
size_t journal_origins(const struct journal *j, unsigned mode, const char **v, size_t max);

/* The original bytes of file I of T. */
int journal_original(const struct journal *j, const struct tx *t, size_t i, char **data, size_t *len);

/* The revert intent (struct revert_intent): begun before the first file of S is written, with the
 * transactions the revert takes out (DROP, N_DROP); done once every rebase line is written (the
 * revert then only has transactions to drop); ended when it is all written, or when its files were
 * put back. Each step is fsync'ed. */
int journal_intent_begin(struct journal *j, const struct conf_set *s, const unsigned *drop, size_t n_drop);
int journal_intent_done(struct journal *j);
int journal_intent_end(struct journal *j);
/* The modes of the transactions an interrupted revert takes out (0: none was interrupted). */
unsigned journal_intent_modes(const struct journal *j);
/* The bytes file I of the pending intent held before the revert. */
int journal_intent_before(const struct journal *j, size_t i, char **data, size_t *len);
/* A pending intent's files are back: the staying transactions' meta files lose the lines the
 * interrupted revert added (they were loaded without them). */
int journal_intent_cut(struct journal *j);
