/* Unit tests of the journal as it is read back (src/store/journal*.c): a meta file with every kind
 * of line loads into the transaction op25b wrote; each malformed line is a corrupted journal
 * (-EBADMSG), never a guess; unfinished entries (N.tmp) are discarded; a revert killed before it
 * was done (its intent) hides the lines it added, and is read as strictly; originals are checked
 * against their hash; the origins of what is applied are each named once. On a scratch root. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "settings.h"
#include "util.h"

#define STATE "/state"

static char root[64];

static void path_of(char *p, size_t size, const char *rel)
{
	snprintf(p, size, "%s" STATE "/tx/%s", root, rel);
}

/* REL under the state directory: made as a directory, or written with TEXT. */
static void mkdir_state(const char *rel)
{
	char p[256];
	snprintf(p, sizeof(p), "%s" STATE "/%s", root, rel);
	ck_assert_int_eq(mkdir(p, 0700), 0);
}

static void put_state(const char *rel, const char *text)
{
	char p[256];
	snprintf(p, sizeof(p), "%s" STATE "/%s", root, rel);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static void mkdir_tx(const char *name)
{
	char rel[128];
	snprintf(rel, sizeof(rel), "tx/%s", name);
	mkdir_state(rel);
}

static void put_tx(const char *name, const char *text)
{
	char rel[128];
	snprintf(rel, sizeof(rel), "tx/%s", name);
	put_state(rel, text);
}

static void setup(void)
{
	char p[128];
	snprintf(root, sizeof(root), "/tmp/op25b-unit-journal-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	snprintf(p, sizeof(p), "%s" STATE, root);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s" STATE "/tx", root);
	ck_assert_int_eq(mkdir(p, 0700), 0);
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
}

/* A meta file with one line of each kind, as journal-write.c and journal-rebase.c write them. */
static void put_full(const char *orig_hash)
{
	char meta[2048];
	snprintf(meta, sizeof(meta),
		 "op25b-journal 1\n"
		 "mode submission\n"
		 "options 0123abcd\n"
		 "time 1700000000\n"
		 "steps restart=1 firewall=0 zone=internal\n"
		 "origin rpm\n"
		 "file existed=1 uid=0 gid=12 mode=640 secret=1 orig=%s new=%s lens=- /etc/postfix/isp%%20info\n"
		 "postmap 0 lmdb\n"
		 "file existed=0 uid=0 gid=0 mode=644 secret=0 orig=- new=%s lens=Postfix_Main /etc/postfix/main.cf\n"
		 "edit 1 relayhost - =%%5Bisp.example%%5D:587\n"
		 "edit 1 smtp_sasl_auth_enable . =yes after:relayhost\n"
		 "firewall public submission 3\n"
		 "state feedbeef 1800000000\n",
		 orig_hash, orig_hash, orig_hash);
	mkdir_tx("000001");
	put_tx("000001/meta", meta);
}

START_TEST(every_line_loads)
{
	struct journal j;
	char h[65];
	sha256_hex("pw\n", 3, h);
	put_full(h);
	ck_assert_int_eq(journal_open(&j, root, STATE, false, 1), 0);
	ck_assert_uint_eq(j.n, 1);
	const struct tx *t = &j.txs[0];
	ck_assert_uint_eq(t->id, 1);
	ck_assert(!t->pending);
	ck_assert_uint_eq(t->mode, MODE_SUBMISSION);
	ck_assert_str_eq(t->opts_hash, "0123abcd");
	ck_assert(t->restarted && !t->firewall);
	ck_assert_str_eq(t->zone, "internal");
	ck_assert_str_eq(t->origin, "rpm");
	ck_assert_str_eq(t->state_hash, "feedbeef");
	ck_assert_int_eq((long long)t->cert_not_after, 1800000000LL);
	ck_assert_uint_eq(t->n, 2);
	ck_assert_str_eq(t->files[0].path, "/etc/postfix/isp info"); /* %20 decoded */
	ck_assert_ptr_null(t->files[0].lens);
	ck_assert(t->files[0].existed && t->files[0].secret);
	ck_assert_uint_eq(t->files[0].gid, 12);
	ck_assert_uint_eq(t->files[0].mode, 0640);
	ck_assert_str_eq(t->files[0].postmap_type, "lmdb");
	ck_assert_str_eq(t->files[1].lens, "Postfix_Main");
	ck_assert_uint_eq(t->files[1].n_edits, 2);
	const struct edit *e = &t->files[1].edits[0];
	ck_assert(!e->before_present && e->after_present);
	ck_assert_str_eq(e->after, "[isp.example]:587");
	e = &t->files[1].edits[1];
	ck_assert(e->before_present && !e->before); /* "." present without a value */
	ck_assert_str_eq(e->anchor, "relayhost");
	ck_assert(!e->anchor_before);
	ck_assert_uint_eq(t->n_fw, 1);
	ck_assert_str_eq(t->fw[0].name, "submission");
	ck_assert_uint_eq(t->fw[0].layers, 3);
	ck_assert_str_eq(t->fw_zone, "public");
	journal_close(&j);
}
END_TEST

/* A rebase line: the file starts from another copy, and the edits before it are forgotten. */
START_TEST(rebase_replaces_start_and_edits)
{
	struct journal j;
	mkdir_tx("000003.pending");
	put_tx("000003.pending/meta",
	       "op25b-journal 1\nmode smtps\n"
	       "file existed=1 uid=0 gid=0 mode=644 secret=0 orig=aa new=bb lens=Postfix_Main /etc/postfix/main.cf\n"
	       "edit 0 a - =1\n"
	       "rebase 0 existed=0 uid=0 gid=0 mode=600 orig=- new=cc copy=base.0.1\n"
	       "edit 0 b - =2\n");
	ck_assert_int_eq(journal_open(&j, root, STATE, false, 1), 0);
	ck_assert_uint_eq(j.n, 1);
	const struct tx *t = &j.txs[0];
	ck_assert(t->pending);
	ck_assert_uint_eq(t->rebases, 1);
	ck_assert(!t->files[0].existed);
	ck_assert_uint_eq(t->files[0].mode, 0600);
	ck_assert_str_eq(t->files[0].new_hash, "cc");
	ck_assert_str_eq(t->files[0].copy, "base.0.1");
	ck_assert_uint_eq(t->files[0].n_edits, 1);
	ck_assert_str_eq(t->files[0].edits[0].path, "b");
	journal_close(&j);
}
END_TEST

static const char *const bad_meta[] = {
	"op25b-journal 2\nmode smtps\n",                                              /* another version */
	"mode smtps\n",                                                               /* no header */
	"op25b-journal 1\n",                                                          /* no mode */
	"op25b-journal 1\nmode smtp\n",                                               /* unknown mode */
	"op25b-journal 1\nmode smtps\nbogus 1\n",                                     /* unknown line */
	"op25b-journal 1\nmode smtps\nsteps restart=2 firewall=0 zone=-\n",
	"op25b-journal 1\nmode smtps\nsteps restart=1 firewall=0\n",
	"op25b-journal 1\nmode smtps\norigin rpm extra\n",
	"op25b-journal 1\nmode smtps\nfile existed=1 uid=0 gid=0 mode=644 secret=0 orig=a new=b lens=- etc/x\n",
	"op25b-journal 1\nmode smtps\nfile existed=1 uid=0 gid=0 mode=644 secret=0 orig=a new=b lens=- /etc/../x\n",
	"op25b-journal 1\nmode smtps\nfile existed=1 uid=0 gid=0 mode=644 orig=a new=b lens=- /etc/x\n",
	"op25b-journal 1\nmode smtps\nedit 0 a - =1\n",                              /* no file 0 */
	"op25b-journal 1\nmode smtps\nfile existed=0 uid=0 gid=0 mode=644 secret=0 orig=- new=b lens=- /x\n"
	"edit 0 a - %zz\n",                                                           /* bad value */
	"op25b-journal 1\nmode smtps\nfile existed=0 uid=0 gid=0 mode=644 secret=0 orig=- new=b lens=- /x\n"
	"edit 0 a - =1 over:b\n",                                                     /* bad anchor */
	"op25b-journal 1\nmode smtps\nfile existed=0 uid=0 gid=0 mode=644 secret=0 orig=- new=b lens=- /x\n"
	"rebase 0 existed=1 uid=0 gid=0 mode=644 orig=a new=b copy=../orig.0\n",
	"op25b-journal 1\nmode smtps\npostmap 0 hash\n",                              /* no file 0 */
	"op25b-journal 1\nmode smtps\nfirewall public smtps\n",
	"op25b-journal 1\nmode smtps\nfirewall pub#lic smtps 1\n",
};

/* DIR/meta under the state dir holding TEXT: the journal does not open. */
static void corrupted(const char *dir, const char *text)
{
	struct journal j;
	char meta[64];
	mkdir_state(dir);
	snprintf(meta, sizeof(meta), "%s/meta", dir);
	put_state(meta, text);
	ck_assert_int_eq(journal_open(&j, root, STATE, false, 1), -EBADMSG);
	journal_close(&j);
}

START_TEST(malformed_line_is_corrupted)
{
	corrupted("tx/000001", bad_meta[_i]);
}
END_TEST

START_TEST(unfinished_entry_discarded)
{
	struct journal j;
	char p[256];
	mkdir_tx("000002.tmp");
	put_tx("000002.tmp/orig.0", "half\n");
	ck_assert_int_eq(journal_open(&j, root, STATE, false, 1), 0);
	ck_assert_uint_eq(j.n, 0);
	path_of(p, sizeof(p), "000002.tmp");
	ck_assert_int_eq(access(p, F_OK), -1);
	journal_close(&j);
}
END_TEST

#define STAYING_META "op25b-journal 1\nmode submission\n" \
	"file existed=1 uid=0 gid=0 mode=644 secret=0 orig=aa new=bb lens=Postfix_Main /etc/postfix/main.cf\n" \
	"edit 0 relayhost - =isp\n"

/* A revert killed while pending: the lines it appended to a staying transaction (its rebase) are
 * not read, so the journal is the one from before it; what it takes out and writes is known. */
START_TEST(pending_intent_hides_its_lines)
{
	struct journal j;
	char intent[512];
	mkdir_tx("000001");
	put_tx("000001/meta", "op25b-journal 1\nmode smtps\n"
			      "file existed=1 uid=0 gid=0 mode=644 secret=0 orig=aa new=cc lens=Postfix_Main /etc/postfix/main.cf\n");
	mkdir_tx("000002");
	put_tx("000002/meta", STAYING_META "rebase 0 existed=1 uid=0 gid=0 mode=644 orig=dd new=ee copy=base.0.1\n"
					   "edit 0 relayhost - =isp2\n");
	snprintf(intent, sizeof(intent),
		 "op25b-revert 1\nmode smtps\ndrop 1\nkeep 2 %zu\n"
		 "file existed=1 uid=0 gid=0 mode=644 before=%064d after=- postmap=hash /etc/postfix/isp%%20info\n",
		 strlen(STAYING_META), 0);
	mkdir_state("revert.pending");
	put_state("revert.pending/meta", intent);
	mkdir_state("revert.tmp"); /* an intent that never became pending: discarded */
	put_state("revert.tmp/meta", "half");
	ck_assert_int_eq(journal_open(&j, root, STATE, false, 1), 0);
	ck_assert_int_eq(j.intent.state, INTENT_PENDING);
	ck_assert_uint_eq(j.n, 2);
	const struct tx *t = &j.txs[1];
	ck_assert_uint_eq(t->rebases, 0);
	ck_assert_str_eq(t->files[0].new_hash, "bb");
	ck_assert_uint_eq(t->files[0].n_edits, 1);
	ck_assert_str_eq(t->files[0].edits[0].after, "isp");
	ck_assert_uint_eq(j.intent.n_drop, 1);
	ck_assert_uint_eq(j.intent.drop[0], 1);
	ck_assert_uint_eq(journal_intent_modes(&j), MODE_SMTPS);
	ck_assert_uint_eq(j.intent.n_files, 1);
	ck_assert_str_eq(j.intent.files[0].path, "/etc/postfix/isp info");
	ck_assert_str_eq(j.intent.files[0].postmap_type, "hash");
	ck_assert_str_eq(j.intent.files[0].after, "-");
	char p[256];
	snprintf(p, sizeof(p), "%s" STATE "/revert.tmp", root);
	ck_assert_int_eq(access(p, F_OK), -1);
	journal_close(&j);
}
END_TEST

/* Once done, every line it wrote counts: only its transactions are left to drop. */
START_TEST(done_intent_reads_everything)
{
	struct journal j;
	mkdir_tx("000002");
	put_tx("000002/meta", STAYING_META "rebase 0 existed=1 uid=0 gid=0 mode=644 orig=dd new=ee copy=base.0.1\n");
	mkdir_state("revert.done");
	put_state("revert.done/meta", "op25b-revert 1\nmode submission\ndrop 1\nkeep 2 10\n");
	ck_assert_int_eq(journal_open(&j, root, STATE, false, 1), 0);
	ck_assert_int_eq(j.intent.state, INTENT_DONE);
	ck_assert_uint_eq(journal_intent_modes(&j), MODE_SUBMISSION); /* tx 1 is gone already */
	ck_assert_uint_eq(j.txs[0].rebases, 1);
	ck_assert_str_eq(j.txs[0].files[0].new_hash, "ee");
	journal_close(&j);
}
END_TEST

static const char *const bad_intent[] = {
	"op25b-revert 2\n",                                                   /* another version */
	"",                                                                   /* empty */
	"op25b-revert 1\ndrop 0\n",
	"op25b-revert 1\ndrop x\n",
	"op25b-revert 1\nkeep 1\n",                                          /* no size */
	"op25b-revert 1\nkeep 1 -5\n",
	"op25b-revert 1\nwhat 1\n",
	"op25b-revert 1\nmode smtp\n",
	"op25b-revert 1\nmode\n",
	"op25b-revert 1\nfile existed=1 uid=0 gid=0 mode=644 before=- after=- postmap=- etc/x\n",
	"op25b-revert 1\nfile existed=1 uid=0 gid=0 mode=644 before=- after=- postmap=- /etc/../x\n",
	"op25b-revert 1\nfile existed=1 uid=0 gid=0 mode=644 before=ab after=- postmap=- /etc/x\n",
	"op25b-revert 1\nfile existed=2 uid=0 gid=0 mode=644 before=- after=- postmap=- /etc/x\n",
	"op25b-revert 1\nfile existed=1 uid=0 gid=0 mode=644 before=- after=- /etc/x\n",
	"op25b-revert 1\nfile existed=1 uid=0 gid=0 mode=644 before=- after=- postmap=- /etc/x extra\n",
};

START_TEST(malformed_intent_is_corrupted)
{
	corrupted("revert.pending", bad_intent[_i]);
}
END_TEST

START_TEST(original_checked_against_its_hash)
{
	struct journal j;
	char h[65], *data = NULL;
	size_t len = 0;
	sha256_hex("pw\n", 3, h);
	put_full(h);
	put_tx("000001/orig.0", "pw\n");
	ck_assert_int_eq(journal_open(&j, root, STATE, false, 1), 0);
	ck_assert_int_eq(journal_original(&j, &j.txs[0], 0, &data, &len), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(data, "pw\n", 3);
	free(data);
	data = NULL;
	put_tx("000001/orig.0", "px\n");
	ck_assert_int_eq(journal_original(&j, &j.txs[0], 0, &data, &len), -EBADMSG);
	ck_assert_ptr_null(data);
	journal_close(&j);
}
END_TEST

START_TEST(origins_each_once_pending_ignored)
{
	struct journal j;
	const char *v[4];
	static const char *const tx[][2] = {
		{ "000001", "origin rpm\n" }, { "000002", "" }, { "000003", "origin rpm\n" }, { "000004.pending", "origin ansible\n" },
	};
	for (size_t i = 0; i < ELEMENTSOF(tx); i++) {
		char name[32], meta[128];
		mkdir_tx(tx[i][0]);
		snprintf(name, sizeof(name), "%s/meta", tx[i][0]);
		snprintf(meta, sizeof(meta), "op25b-journal 1\nmode smtps\n%s", tx[i][1]);
		put_tx(name, meta);
	}
	ck_assert_int_eq(journal_open(&j, root, STATE, false, 1), 0);
	ck_assert_uint_eq(j.n, 4);
	ck_assert_uint_eq(journal_origins(&j, MODE_SMTPS, v, 4), 2);
	ck_assert_str_eq(v[0], "rpm");
	ck_assert_ptr_null(v[1]); /* by hand */
	ck_assert_uint_eq(journal_origins(&j, MODE_SUBMISSION, v, 4), 0);
	journal_close(&j);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("journal");
	TCase *t = tcase_create("read");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, every_line_loads);
	tcase_add_test(t, rebase_replaces_start_and_edits);
	tcase_add_loop_test(t, malformed_line_is_corrupted, 0, (int)ELEMENTSOF(bad_meta));
	tcase_add_test(t, unfinished_entry_discarded);
	tcase_add_test(t, pending_intent_hides_its_lines);
	tcase_add_test(t, done_intent_reads_everything);
	tcase_add_loop_test(t, malformed_intent_is_corrupted, 0, (int)ELEMENTSOF(bad_intent));
	tcase_add_test(t, original_checked_against_its_hash);
	tcase_add_test(t, origins_each_once_pending_ignored);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
