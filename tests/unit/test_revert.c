/* Revert's plan (plan_revert(), plan-revert.c) on every fixture tree: each mode applied alone and
 * both stacked in both orders (plans, journal and writes as apply makes them, on a scratch copy of
 * the fixture), then the revert planned for every choice of modes and compared byte for byte:
 * reverting everything gives the fixture's bytes back, reverting the mode applied last gives the
 * first mode's files exactly as it alone left them, reverting the first mode gives the diff held in
 * tests/unit/golden/revert/ (UPDATE_GOLDEN=1 writes it), and once that revert is written and the
 * journal rebased, reverting the rest gives the fixture's bytes back. Then what an admin, a crash or
 * an older op25b left: a line added since, a file op25b created and the admin edited, a journal
 * naming the stock Dovecot lens, a pending transaction, a mode applied twice around another, and a
 * damaged copy of an original the plan does not need. Run from the top of the source tree (make
 * check-unit does). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conffile.h"
#include "facts.h"
#include "fwstep.h"
#include "journal.h"
#include "plan-revert.h"
#include "plan.h"
#include "rootfs.h"
#include "txn.h"
#include "util.h"

static const char *const fixtures[] = { "debian12", "centos7", "rhel9", "fedora42", "debian13", "single-file",
					"realworld/dovecot-syntax", "realworld/dovecot24-ssl-after-include",
					"realworld/dovecot24-ssl-no" };

#define STATE "/var/lib/op25b"

static struct target target_in(char *root)
{
	return (struct target){ .root = root, .postfix_dir = "/etc/postfix", .dovecot_dir = "/etc/dovecot",
				.state_dir = STATE, .timeout_sec = 30 };
}

/* nftw() passes no context: the copy being made. */
static const char *copy_from, *copy_to;

static int copy_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	char *to = NULL;
	ck_assert_int_ge(asprintf(&to, "%s%s", copy_to, path + strlen(copy_from)), 0);
	if (type == FTW_D) {
		ck_assert_msg(mkdir(to, st->st_mode & 07777) == 0 || errno == EEXIST, "%s: %m", to);
	} else {
		ck_assert_msg(type == FTW_F, "%s: only directories and files in a fixture", path);
		char *data = NULL;
		size_t len = 0;
		ck_assert_int_eq(read_file(path, true, &data, &len), 0);
		int fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st->st_mode & 07777);
		ck_assert_msg(fd >= 0, "%s: %m", to);
		ck_assert_int_eq(write_all(fd, data, len), 0);
		ck_assert_int_eq(close(fd), 0);
		free(data);
	}
	free(to);
	return 0;
}

static void write_text(const char *root, const char *path, const char *text, mode_t mode)
{
	char *p = NULL;
	ck_assert_int_ge(asprintf(&p, "%s%s", root, path), 0);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ck_assert_msg(fd >= 0, "%s: %m", p);
	ck_assert_int_eq(write_all(fd, text, strlen(text)), 0);
	ck_assert_int_eq(close(fd), 0);
	free(p);
}

/* A copy of fixtures/NAME in a fresh directory (on tmpfs when there is one: the journal syncs), with
 * the relay's password file t-submission.sh writes. Copied here, not by cp: the whole file runs in
 * a fraction of a second. */
static char *copy_fixture(const char *name)
{
	struct stat st;
	char *dir = strdup(stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0
				   ? "/dev/shm/op25b-unit-revert.XXXXXX"
				   : "/tmp/op25b-unit-revert.XXXXXX"), *from = NULL, *op25b = NULL;
	ck_assert_ptr_nonnull(dir);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_ge(asprintf(&from, "fixtures/%s", name), 0);
	copy_from = from, copy_to = dir;
	ck_assert_int_eq(nftw(from, copy_one, 16, FTW_PHYS), 0);
	ck_assert_int_ge(asprintf(&op25b, "%s/etc/op25b", dir), 0);
	ck_assert_int_eq(mkdir(op25b, 0755), 0);
	write_text(dir, "/etc/op25b/relay.secret", "pa ss:w#rd\n", 0600);
	free(op25b);
	free(from);
	return dir;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	ck_assert_msg(remove(path) == 0, "%s: %m", path);
	return 0;
}

static void remove_tree(char *dir)
{
	ck_assert_int_eq(nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS), 0);
	free(dir);
}

/* "postconf -d -h queue_directory mail_owner default_database_type", as Debian's answers (as in
 * test_plans.c: no postconf runs). */
#define DEFAULTS "/var/spool/postfix\npostfix\nhash\n"
/* One Augeas handle, its lenses compiled once before the tests fork, lent to each conf_set (a run
 * of op25b uses one for all its files too); emptied of op25b's trees before each use. */
static augeas *shared_aug;

static void set_lend(struct conf_set *s)
{
	sym_aug_rm(shared_aug, "/op25b");
	s->aug = shared_aug;
}

static void set_done(struct conf_set *s)
{
	s->aug = NULL;
	conf_set_done(s);
}

static const struct relay_settings relay = { .host = "smtp.isp.example.test", .user = "homeuser",
					    .password_file = "/etc/op25b/relay.secret", .mechanisms = "PLAIN,LOGIN" };
static const struct tls_paths smtps_tls = { .cert = "/etc/pki/fullchain.pem", .key = "/etc/pki/privkey.pem" };

/* Plan MODE in S as apply does: the facts (facts_gather()), then the plan (smtps with TLS, NULL:
 * smtps_tls). */
static int plan_mode(struct conf_set *s, struct target *t, unsigned mode, const struct tls_paths *tls)
{
	struct plan_facts f = { 0 };
	struct tls_paths none = { 0 };
	if (!(s->postfix_defaults = strdup(DEFAULTS)))
		return -ENOMEM;
	int r = facts_gather(s, t, mode, &relay, false, &f);
	if (r == 0)
		r = mode == MODE_SMTPS ? plan_smtps(s, t, tls ? tls : &smtps_tls, &f) : plan_submission(s, t, &relay, &none, &f);
	facts_done(&f);
	return r;
}

/* apply --mode=MODE --no-restart --no-firewall, as verb-apply.c does it: facts, plan, render,
 * journal, write, and with COMMIT the commit (without, a run killed before it). */
static void apply_full(char *root, unsigned mode, const struct tls_paths *tls, bool commit, bool firewall)
{
	struct target t = target_in(root);
	struct conf_set s = { .root = root, .postfix_dir = t.postfix_dir, .state_dir = t.state_dir };
	set_lend(&s);
	int r = plan_mode(&s, &t, mode, tls);
	ck_assert_msg(r == 0, "%s: apply %s: the plan failed: %d", root, mode_name(mode), r);
	bool online = false;
	if (firewall) /* the firewall step offline (--root): the zone's XML joins the files */
		ck_assert_int_eq(fw_step_plan(&(struct fw_ctx){ .root = root, .off = { .offline = true, .why = "--root given" } }, mode, &s, &online, NULL), 0);
	ck_assert(!online);
	for (size_t i = 0; i < s.n; i++)
		ck_assert_int_eq(conf_render(&s, s.files[i]), 0);
	struct journal j = { .lock_fd = -1 };
	struct tx_steps steps = { .restarted = false };
	struct tx *tx;
	ck_assert_int_eq(journal_open(&j, root, STATE, true, 30), 0);
	ck_assert_int_eq(journal_begin(&j, mode, "unit", &steps, &s, &tx), 0);
	ck_assert_int_eq(txn_write(&s), 0);
	if (commit)
		ck_assert_int_eq(journal_commit(&j, tx), 0);
	journal_close(&j);
	set_done(&s);
}

static void apply_with(char *root, unsigned mode, const struct tls_paths *tls, bool commit)
{
	apply_full(root, mode, tls, commit, false);
}

static void apply(char *root, unsigned mode)
{
	apply_with(root, mode, NULL, true);
}

static int read_original(void *userdata, const struct tx *t, size_t i, char **data, size_t *len)
{
	return journal_original(userdata, t, i, data, len);
}

/* A revert planned: the journal, the files as the verb reads them, the plan. */
struct planned {
	struct journal j;
	struct conf_set s;
	struct revert_plan p;
};

/* Plan the revert of MODES on ROOT, as verb-revert.c does: the files every transaction taken out
 * names, newest first, then the plan. EDIT (may be NULL) changes the journal as read. */
static void plan_with(struct planned *w, char *root, unsigned modes, void (*edit)(struct journal *j),
		      const struct revert_originals *given)
{
	*w = (struct planned){ .j = { .lock_fd = -1 }, .s = { .root = root, .postfix_dir = "/etc/postfix", .state_dir = STATE } };
	set_lend(&w->s);
	ck_assert_int_eq(journal_open(&w->j, root, STATE, false, 30), 0);
	if (edit)
		edit(&w->j);
	struct target t = target_in(root);
	ck_assert_int_eq(revert_check_managed(&w->j, &t), 0);
	for (size_t k = w->j.n; k-- > 0;) {
		const struct tx *tx = &w->j.txs[k];
		struct conf_file *f;
		for (size_t i = 0; revert_takes(tx, modes) && i < tx->n; i++)
			if (!conf_find(&w->s, tx->files[i].path))
				ck_assert_int_eq(conf_open_raw(&w->s, tx->files[i].path, 0600, &f), 0);
	}
	struct revert_originals orig = { .read = read_original, .userdata = &w->j };
	ck_assert_int_eq(plan_revert(&w->s, &w->j, modes, given ? given : &orig, &w->p), 0);
}

static void plan(struct planned *w, char *root, unsigned modes, void (*edit)(struct journal *j))
{
	plan_with(w, root, modes, edit, NULL);
}

static void planned_done(struct planned *w)
{
	revert_plan_done(&w->p);
	set_done(&w->s);
	journal_close(&w->j);
}

/* Write the plan and record it in the journal, as verb-revert.c does (no restart, no firewall). */
static void write_plan(struct planned *w, unsigned modes)
{
	ck_assert_int_eq(txn_write(&w->s), 0);
	for (size_t i = 0; i < w->p.n_rebases; i++) {
		const struct revert_rebase *b = &w->p.rebases[i];
		ck_assert_int_eq(journal_rebase(&w->j, &w->j.txs[b->tx], b->i, b->existed, b->uid, b->gid, b->mode, b->orig,
						b->orig_len, b->new_hash, b->edits, b->n_edits), 0);
	}
	for (size_t k = w->j.n; k-- > 0;)
		if (revert_takes(&w->j.txs[k], modes))
			ck_assert_int_eq(journal_drop(&w->j, &w->j.txs[k]), 0);
}

/* What F holds once the plan is written: NULL for a file that is not there. */
static const char *planned_bytes(const struct conf_file *f, size_t *len)
{
	if (f->remove || (!f->new && !f->existed))
		return NULL;
	*len = f->new ? f->new_len : f->old_len;
	return f->new ? f->new : f->old;
}

/* The bytes of PATH in the fixture (NULL: not there). */
static char *fixture_bytes(const char *fixture, const char *path, size_t *len)
{
	char *p = NULL, *data = NULL;
	ck_assert_int_ge(asprintf(&p, "fixtures/%s%s", fixture, path), 0);
	int r = read_file(p, false, &data, len);
	ck_assert_msg(r == 0 || r == -ENOENT, "%s: %d", p, r);
	free(p);
	return data;
}

/* The files one apply left: path and bytes, to compare a revert with. */
struct snapshot {
	size_t n;
	char *path[16], *data[16];
	size_t len[16];
};

static void snapshot_take(struct snapshot *sn, char *root, unsigned mode)
{
	struct planned w;
	plan(&w, root, mode, NULL);
	*sn = (struct snapshot){ 0 };
	for (size_t i = 0; i < w.s.n; i++) {
		const struct conf_file *f = w.s.files[i];
		ck_assert_uint_lt(sn->n, ELEMENTSOF(sn->path));
		sn->path[sn->n] = strdup(f->path);
		sn->data[sn->n] = f->existed ? strndup(f->old, f->old_len) : NULL;
		sn->len[sn->n++] = f->old_len;
	}
	planned_done(&w);
}

static void snapshot_done(struct snapshot *sn)
{
	for (size_t i = 0; i < sn->n; i++)
		free(sn->path[i]), free(sn->data[i]);
}

/* Every file of the plan holds what SN has for it, and the fixture's bytes where SN has none. */
static void check_bytes(const struct planned *w, const char *fixture, const struct snapshot *sn, const char *what)
{
	for (size_t i = 0; i < w->s.n; i++) {
		const struct conf_file *f = w->s.files[i];
		size_t glen = 0, wlen = 0;
		const char *got = planned_bytes(f, &glen);
		char *from_fixture = NULL;
		const char *want = NULL;
		size_t k = 0;
		while (sn && k < sn->n && !streq(sn->path[k], f->path))
			k++;
		if (sn && k < sn->n)
			want = sn->data[k], wlen = sn->len[k];
		else
			want = from_fixture = fixture_bytes(fixture, f->path, &wlen);
		ck_assert_msg(!got == !want, "%s: %s: %s: %s", fixture, what, f->path, got ? "should be gone" : "missing");
		ck_assert_msg(!got || (glen == wlen && memcmp(got, want, glen) == 0), "%s: %s: %s: got\n%.*s\nwant\n%.*s",
			      fixture, what, f->path, (int)glen, got, (int)wlen, want);
		/* Owner and mode as they were (the copy has the fixture's modes; apply keeps them). */
		struct stat st;
		char *p = NULL;
		ck_assert_int_ge(asprintf(&p, "fixtures/%s%s", fixture, f->path), 0);
		if (got && from_fixture && stat(p, &st) == 0)
			ck_assert_msg((f->st.st_mode & 07777) == (st.st_mode & 07777), "%s: %s: %s: mode %o, want %o", fixture,
				      what, f->path, f->st.st_mode & 07777, st.st_mode & 07777);
		free(p);
		free(from_fixture);
	}
}

static void check_reverts_to(char *root, const char *fixture, unsigned modes, const struct snapshot *sn,
			     const char *what)
{
	struct planned w;
	plan(&w, root, modes, NULL);
	ck_assert_msg(w.p.done, "%s: %s: nothing to revert", fixture, what);
	check_bytes(&w, fixture, sn, what);
	planned_done(&w);
}

/* The plan's diff (what revert --dry-run prints) against GOLDEN. */
static void check_golden(const struct planned *w, const char *golden)
{
	int fd = memfd_create("revert-diff", MFD_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(txn_diff(&w->s, fd), 0);
	off_t size = lseek(fd, 0, SEEK_END);
	char *got = calloc((size_t)size + 1, 1), *want = NULL;
	size_t len = 0;
	ck_assert_ptr_nonnull(got);
	ck_assert_int_eq(pread(fd, got, (size_t)size, 0), size);
	close(fd);
	const char *update = getenv("UPDATE_GOLDEN");
	if (update && streq(update, "1")) {
		FILE *f = fopen(golden, "w");
		ck_assert_ptr_nonnull(f);
		fputs(got, f);
		fclose(f);
	}
	ck_assert_msg(read_file(golden, false, &want, &len) == 0, "%s: missing (UPDATE_GOLDEN=1 writes it)", golden);
	ck_assert_msg(streq(got, want), "the revert's diff differs from %s:\n%s", golden, got);
	free(got);
	free(want);
}

static void fixture_and_order(int i, const char **fixture, unsigned *first, unsigned *second)
{
	*fixture = fixtures[i / 2];
	*first = i % 2 ? MODE_SUBMISSION : MODE_SMTPS;
	*second = *first == MODE_SMTPS ? MODE_SUBMISSION : MODE_SMTPS;
}

static void golden_name(char *buf, size_t size, const char *fixture, unsigned first, unsigned second)
{
	char name[64];
	snprintf(name, sizeof(name), "%s", fixture);
	for (char *c = name; *c; c++)
		if (*c == '/')
			*c = '-';
	snprintf(buf, size, "tests/unit/golden/revert/%s.%s-%s.revert-%s.diff", name, mode_name(first),
		 mode_name(second), mode_name(first));
}

/* FIRST alone, reverted; FIRST then SECOND, reverted whole, or SECOND (FIRST's bytes as it alone
 * left them), or FIRST (the golden diff), which is written and rebased, and then the rest. */
START_TEST(stacked)
{
	const char *fixture;
	unsigned first, second;
	fixture_and_order(_i, &fixture, &first, &second);
	char *root = copy_fixture(fixture), golden[160];
	golden_name(golden, sizeof(golden), fixture, first, second);
	struct snapshot alone;
	apply(root, first);
	check_reverts_to(root, fixture, MODE_ALL, NULL, "one mode applied, revert");
	snapshot_take(&alone, root, first);
	apply(root, second);
	check_reverts_to(root, fixture, MODE_ALL, NULL, "both applied, revert all");
	check_reverts_to(root, fixture, second, &alone, "both applied, revert the last one");
	snapshot_done(&alone);

	struct planned w;
	plan(&w, root, first, NULL);
	ck_assert_uint_eq(w.p.done, first);
	check_golden(&w, golden);
	write_plan(&w, first);
	planned_done(&w);
	check_reverts_to(root, fixture, second, NULL, "the first one reverted, then the other");
	check_reverts_to(root, fixture, MODE_ALL, NULL, "the first one reverted, then all");
	remove_tree(root);
}
END_TEST

static void append(char *root, const char *path, const char *line)
{
	char *p = NULL;
	ck_assert_int_ge(asprintf(&p, "%s%s", root, path), 0);
	FILE *f = fopen(p, "a");
	ck_assert_ptr_nonnull(f);
	fputs(line, f);
	ck_assert_int_eq(fclose(f), 0);
	free(p);
}

static struct conf_file *find(struct planned *w, const char *path)
{
	struct conf_file *f = conf_find(&w->s, path);
	ck_assert_msg(f, "%s: not in the plan", path);
	return f;
}

/* F ends as the fixture's bytes followed by LINE. */
static void check_kept(const struct conf_file *f, const char *fixture, const char *line)
{
	size_t len = 0, glen = 0;
	char *orig = fixture_bytes(fixture, f->path, &len), *want = NULL;
	ck_assert_ptr_nonnull(orig);
	ck_assert_int_ge(asprintf(&want, "%s%s", orig, line), 0);
	const char *got = planned_bytes(f, &glen);
	ck_assert_msg(got && glen == strlen(want) && memcmp(got, want, glen) == 0, "%s: got\n%.*s\nwant\n%s", f->path,
		      (int)glen, got ? got : "", want);
	ck_assert(f->merged);
	free(orig);
	free(want);
}

/* A line an admin added after the apply survives the revert; op25b's own edits go. */
START_TEST(changed_since)
{
	char *root = copy_fixture("debian12");
	apply(root, MODE_SMTPS);
	append(root, "/etc/postfix/main.cf", "# the admin's\nmessage_size_limit = 20480000\n");
	struct planned w;
	plan(&w, root, MODE_ALL, NULL);
	check_kept(find(&w, "/etc/postfix/main.cf"), "debian12", "# the admin's\nmessage_size_limit = 20480000\n");
	planned_done(&w);
	remove_tree(root);
}
END_TEST

/* Both modes applied, a line added by the admin, the oldest mode reverted (the other way: the
 * file changed since), then the other: the admin's line stays and everything else is the
 * fixture's bytes: the certificate and SASL settings the staying mode needed went back to the
 * admin's values, not to the reverted mode's (ATTACK A9). Byte for byte on the fixtures where
 * the other way puts no setting back at the end (centos7's smtpd_use_tls, single-file's: t-stack
 * checks those with postconf); debian13 has no main.cf. */
START_TEST(changed_since_one_at_a_time)
{
	static const char *const some[] = { "debian12", "rhel9", "fedora42", "realworld/dovecot-syntax" };
	const char *fixture = some[_i / 2];
	unsigned first = _i % 2 ? MODE_SUBMISSION : MODE_SMTPS, second = first == MODE_SMTPS ? MODE_SUBMISSION : MODE_SMTPS;
	char *root = copy_fixture(fixture);
	const char *line = "# the admin's\nmessage_size_limit = 20480000\n";
	apply(root, first);
	apply(root, second);
	append(root, "/etc/postfix/main.cf", line);
	struct planned w;
	plan(&w, root, first, NULL);
	ck_assert_uint_eq(w.p.done, first);
	write_plan(&w, first);
	planned_done(&w);
	plan(&w, root, second, NULL);
	ck_assert_uint_eq(w.p.done, second);
	const struct conf_file *f = find(&w, "/etc/postfix/main.cf");
	size_t len = 0, glen = 0;
	char *orig = fixture_bytes(fixture, f->path, &len), *want = NULL;
	ck_assert_ptr_nonnull(orig);
	ck_assert_int_ge(asprintf(&want, "%s%s", orig, line), 0);
	const char *got = planned_bytes(f, &glen);
	ck_assert_msg(got && glen == strlen(want) && memcmp(got, want, glen) == 0, "%s: %s: got\n%.*s\nwant\n%s",
		      fixture, f->path, (int)glen, got ? got : "", want);
	planned_done(&w);
	free(orig);
	free(want);
	remove_tree(root);
}
END_TEST

/* The admin's edit of a file op25b created (the password map) stays, and so does the file; the
 * others are reverted. */
START_TEST(created_then_edited)
{
	char *root = copy_fixture("debian12");
	apply(root, MODE_SUBMISSION);
	struct planned w;
	plan(&w, root, MODE_ALL, NULL);
	const char *map = NULL;
	for (size_t i = 0; i < w.j.txs[0].n && !map; i++)
		if (!w.j.txs[0].files[i].existed && w.j.txs[0].files[i].postmap_type)
			map = w.j.txs[0].files[i].path;
	ck_assert_msg(map, "submission created no password map");
	char *path = strdup(map);
	planned_done(&w);
	append(root, path, "[backup.example.test]:587 homeuser:other\n");
	plan(&w, root, MODE_ALL, NULL);
	struct conf_file *f = find(&w, path);
	ck_assert(!f->remove && !f->new && f->existed);
	ck_assert(strstr(f->old, "backup.example.test"));
	for (size_t i = 0; i < w.s.n; i++)
		if (w.s.files[i] != f) {
			size_t glen, wlen;
			char *want = fixture_bytes("debian12", w.s.files[i]->path, &wlen);
			const char *got = planned_bytes(w.s.files[i], &glen);
			ck_assert_msg(!got == !want && (!got || (glen == wlen && !memcmp(got, want, glen))), "%s",
				      w.s.files[i]->path);
			free(want);
		}
	planned_done(&w);
	free(path);
	remove_tree(root);
}
END_TEST

/* op25b before lenses/op25b_dovecot.aug recorded Augeas' own Dovecot lens: such a journal still
 * undoes its edits in a Dovecot file changed since. */
static void stock_dovecot_lens(struct journal *j)
{
	for (size_t k = 0; k < j->n; k++)
		for (size_t i = 0; i < j->txs[k].n; i++) {
			struct tx_file *x = &j->txs[k].files[i];
			if (x->lens && streq(x->lens, "Op25b_Dovecot.lns")) {
				free(x->lens);
				ck_assert_ptr_nonnull(x->lens = strdup("Dovecot.lns"));
			}
		}
}

START_TEST(older_journal_lens)
{
	char *root = copy_fixture("debian12");
	apply(root, MODE_SMTPS);
	append(root, "/etc/dovecot/conf.d/10-ssl.conf", "# the admin's\nssl_prefer_server_ciphers = yes\n");
	struct planned w;
	plan(&w, root, MODE_ALL, stock_dovecot_lens);
	check_kept(find(&w, "/etc/dovecot/conf.d/10-ssl.conf"), "debian12", "# the admin's\nssl_prefer_server_ciphers = yes\n");
	planned_done(&w);
	remove_tree(root);
}
END_TEST

/* A run killed after its writes, before its commit, leaves a pending transaction: any revert takes
 * it out with the modes asked for. */
START_TEST(interrupted)
{
	char *root = copy_fixture("debian12");
	apply(root, MODE_SMTPS);
	apply_with(root, MODE_SUBMISSION, NULL, false);
	struct planned w;
	plan(&w, root, MODE_SMTPS, NULL);
	ck_assert_uint_eq(w.p.done, MODE_ALL);
	check_bytes(&w, "debian12", NULL, "smtps, submission interrupted, revert smtps");
	planned_done(&w);
	remove_tree(root);
}
END_TEST

/* smtps, submission, smtps again with another certificate: three transactions on main.cf. Reverting
 * submission replays both smtps ones on the original and rebases them; then smtps goes too. */
START_TEST(reapplied)
{
	char *root = copy_fixture("debian12");
	struct tls_paths other = { .cert = "/etc/pki/other/fullchain.pem", .key = "/etc/pki/other/privkey.pem" };
	apply(root, MODE_SMTPS);
	apply(root, MODE_SUBMISSION);
	apply_with(root, MODE_SMTPS, &other, true);
	check_reverts_to(root, "debian12", MODE_ALL, NULL, "smtps, submission, smtps again, revert all");
	struct planned w;
	plan(&w, root, MODE_SUBMISSION, NULL);
	ck_assert_uint_eq(w.p.done, MODE_SUBMISSION);
	ck_assert_uint_ge(w.p.n_rebases, 2);
	write_plan(&w, MODE_SUBMISSION);
	planned_done(&w);
	/* The second certificate stays, the first is gone with the replay. */
	plan(&w, root, MODE_SMTPS, NULL);
	const struct conf_file *main_cf = find(&w, "/etc/postfix/main.cf");
	ck_assert(strstr(main_cf->old, "/etc/pki/other/fullchain.pem") && !strstr(main_cf->old, "/etc/pki/fullchain.pem"));
	ck_assert(!strstr(main_cf->old, "smtp_sasl_password_maps"));
	check_bytes(&w, "debian12", NULL, "then revert smtps");
	planned_done(&w);
	remove_tree(root);
}
END_TEST

/* Counts the originals asked for and refuses main.cf's, as journal_original() refuses a damaged
 * copy. */
struct counting {
	struct journal *j;
	unsigned asked;
};

static int damaged_main_cf(void *userdata, const struct tx *t, size_t i, char **data, size_t *len)
{
	struct counting *c = userdata;
	c->asked++;
	if (streq(t->files[i].path, "/etc/postfix/main.cf"))
		return -EBADMSG;
	return journal_original(c->j, t, i, data, len);
}

/* The originals are read only when the plan needs them: main.cf, changed since, has its edits
 * undone in place, so a damaged copy of it does not stop the revert; a file that is as op25b left
 * it needs its copy. */
START_TEST(original_only_when_needed)
{
	char *root = copy_fixture("debian12");
	apply(root, MODE_SMTPS);
	append(root, "/etc/postfix/main.cf", "# the admin's\n");
	struct planned w;
	struct counting c = { .j = &w.j };
	plan_with(&w, root, MODE_ALL, NULL, &(struct revert_originals){ .read = damaged_main_cf, .userdata = &c });
	check_kept(find(&w, "/etc/postfix/main.cf"), "debian12", "# the admin's\n");
	unsigned want = 0;
	for (size_t i = 0; i < w.j.txs[0].n; i++)
		want += !streq(w.j.txs[0].files[i].path, "/etc/postfix/main.cf") && w.j.txs[0].files[i].existed;
	ck_assert_uint_eq(c.asked, want); /* one each, the drop-in op25b created none */
	planned_done(&w);
	remove_tree(root);
}
END_TEST

/* firewalld's stock zone (as /usr/lib/firewalld/zones/public.xml holds it) and what the apply's
 * firewall step makes of it for each mode alone (no "submission" service in the tree: firewalld
 * before 2.1 names 587 smtp-submission). */
#define ZONE "/etc/firewalld/zones/public.xml"
#define STOCK_HEAD "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone>\n  <short>Public</short>\n" \
		   "  <service name=\"ssh\"/>\n"
#define STOCK_TAIL "  <forward/>\n</zone>\n"
static const char stock_zone[] = STOCK_HEAD STOCK_TAIL;

static const char *zone_alone(unsigned mode)
{
	return mode == MODE_SMTPS ? STOCK_HEAD "  <service name=\"smtps\"/>\n  <service name=\"imaps\"/>\n"
					      "  <service name=\"pop3s\"/>\n" STOCK_TAIL
				  : STOCK_HEAD "  <service name=\"smtp-submission\"/>\n" STOCK_TAIL;
}

static char *zone_root(void)
{
	char *root = copy_fixture("debian12"), *dir = NULL;
	const char *const dirs[] = { "/usr", "/usr/lib", "/usr/lib/firewalld", "/usr/lib/firewalld/zones" };
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
		ck_assert_int_ge(asprintf(&dir, "%s%s", root, dirs[i]), 0);
		ck_assert_msg(mkdir(dir, 0755) == 0 || errno == EEXIST, "%s: %m", dir);
		free(dir);
	}
	write_text(root, "/usr/lib/firewalld/zones/public.xml", stock_zone, 0644);
	return root;
}

/* Revert MODES on ROOT with the stock zone (STOCK false: without it, as when the package is gone). */
static void plan_zone(struct planned *w, char *root, unsigned modes, bool stock)
{
	struct revert_zone_stock z = { .path = (char *)ZONE, .data = (char *)stock_zone, .len = strlen(stock_zone) };
	plan_with(w, root, modes, NULL, &(struct revert_originals){ read_original, &w->j, stock ? &z : NULL, stock });
}

static void check_zone(struct planned *w, const char *want, const char *what)
{
	size_t len = 0;
	const char *got = planned_bytes(find(w, ZONE), &len);
	ck_assert_msg(!got == !want && (!got || (len == strlen(want) && memcmp(got, want, len) == 0)),
		      "%s: the zone is\n%.*s\nwant\n%s", what, (int)len, got ? got : "(no file)", want ? want : "(no file)");
}

/* Stacked modes in a zone op25b created from the stock one (a whole file, no lens): reverting the
 * first leaves the zone as the second alone makes it, and the second, rebased, then removes it.
 * Without the stock zone the first mode's services still go (the file stays). */
START_TEST(zone_stacked)
{
	unsigned first = _i ? MODE_SUBMISSION : MODE_SMTPS, second = MODE_ALL & ~first;
	char *root = zone_root();
	apply_full(root, first, NULL, true, true);
	apply_full(root, second, NULL, true, true);
	struct planned w;
	plan_zone(&w, root, first, false);
	check_zone(&w, zone_alone(second), "without the stock zone, revert the first");
	planned_done(&w);
	plan_zone(&w, root, first, true);
	check_zone(&w, zone_alone(second), "revert the first");
	bool rebased = false;
	for (size_t i = 0; i < w.p.n_rebases; i++)
		if (streq(w.j.txs[w.p.rebases[i].tx].files[w.p.rebases[i].i].path, ZONE))
			rebased = !w.p.rebases[i].existed; /* the second now created it */
	ck_assert_msg(rebased, "the zone's transaction left is not rebased onto no file");
	write_plan(&w, first);
	planned_done(&w);
	plan_zone(&w, root, second, true);
	check_zone(&w, NULL, "then revert the second");
	check_bytes(&w, "debian12", NULL, "then revert the second");
	planned_done(&w);
	remove_tree(root);
}
END_TEST

/* revert --origin=rpm (the package's %preun) takes only the modes rpm alone applied, and never one
 * --mode leaves out. A journal in memory: no file is read. */
START_TEST(origin_modes)
{
	struct tx txs[3] = {
		{ .id = 1, .mode = MODE_SMTPS, .origin = "rpm" },
		{ .id = 2, .mode = MODE_SUBMISSION, .origin = "rpm" },
		{ .id = 3, .mode = MODE_SUBMISSION, .origin = NULL },
	};
	struct journal j = { .txs = txs, .n = 3, .lock_fd = -1 };
	ck_assert_uint_eq(revert_modes_of_origin(&j, MODE_ALL, "rpm"), MODE_SMTPS);
	ck_assert_uint_eq(revert_modes_of_origin(&j, MODE_SUBMISSION, "rpm"), 0);
	ck_assert_uint_eq(revert_modes_of_origin(&j, MODE_ALL, "ansible"), 0);
	j.n = 2;
	ck_assert_uint_eq(revert_modes_of_origin(&j, MODE_ALL, "rpm"), MODE_ALL);
	ck_assert_uint_eq(revert_modes_of_origin(&j, MODE_SMTPS, "rpm"), MODE_SMTPS);
	/* A pending transaction is nobody's yet: it does not make a mode the admin's. */
	txs[2].pending = true;
	j.n = 3;
	ck_assert_uint_eq(revert_modes_of_origin(&j, MODE_ALL, "rpm"), MODE_ALL);
}
END_TEST

int main(void)
{
	log_verbosity = -1;
	/* Before the tests fork: the lenses compiled in the shared handle, by plans on every fixture
	 * (they read, and change nothing on disk). */
	for (size_t i = 0; i < ELEMENTSOF(fixtures); i++) {
		char *dir = NULL, *root = asprintf(&dir, "fixtures/%s", fixtures[i]) < 0 ? NULL : realpath(dir, NULL);
		struct target t = target_in(root);
		struct conf_set cs = { .root = root, .postfix_dir = t.postfix_dir, .state_dir = t.state_dir, .aug = shared_aug };
		if (shared_aug)
			sym_aug_rm(shared_aug, "/op25b");
		if (!root || plan_mode(&cs, &t, MODE_SMTPS, NULL) < 0)
			return fprintf(stderr, "cannot plan on %s (run from the top of the tree)\n", dir), EXIT_FAILURE;
		shared_aug = TAKE_PTR(cs.aug);
		conf_set_done(&cs);
		free(root);
		free(dir);
	}
	Suite *s = suite_create("revert");
	TCase *tc = tcase_create("plan");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, stacked, 0, (int)ELEMENTSOF(fixtures) * 2);
	tcase_add_test(tc, changed_since);
	tcase_add_loop_test(tc, changed_since_one_at_a_time, 0, 8);
	tcase_add_test(tc, created_then_edited);
	tcase_add_test(tc, older_journal_lens);
	tcase_add_test(tc, interrupted);
	tcase_add_test(tc, reapplied);
	tcase_add_test(tc, original_only_when_needed);
	tcase_add_test(tc, origin_modes);
	tcase_add_loop_test(tc, zone_stacked, 0, 2);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	sym_aug_close(shared_aug);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
