/* The planning layer against golden diffs: plan_smtps() and plan_submission() on a copy of every
 * fixture tree, each planned file rendered, and the diff txn_diff() makes compared with the one
 * `op25b apply --dry-run` is held to (tests/golden/, checked by t-smtps.sh and t-submission.sh;
 * the lines before the diff are what the run said, not the plan's diff). Golden files that only this test
 * holds are under tests/unit/golden/; UPDATE_GOLDEN=1 writes them from the current code.
 * The facts are gathered by facts_gather() with what would come from outside the tree given: Postfix's
 * compiled defaults as `postconf -d` answers them (no postconf runs), --mechanisms given with
 * --relay-tls=secure (no probe). Then plans with facts made by hand: the same diff from facts alone
 * (the plan reads nothing else), and the facts that change what is written (the mechanisms, the
 * table type, a pinned relay, a map already closed).
 * Run from the top of the source tree (make check-unit does). */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conffile.h"
#include "facts.h"
#include "plan.h"
#include "postfix.h"
#include "postfix-read.h"
#include "rootfs.h"
#include "txn.h"
#include "util.h"

#define DEFAULTS "/var/spool/postfix\npostfix\nhash\n"

static const char *const fixtures[] = { "debian12", "centos7", "rhel9", "fedora42", "debian13", "single-file" };

/* A copy of fixtures/NAME in a fresh directory, with the relay's password file t-submission.sh
 * writes. */
static char *copy_fixture(const char *name)
{
	char *dir = strdup("/tmp/op25b-unit-plans.XXXXXX");
	ck_assert_ptr_nonnull(dir);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char *cmd = NULL;
	ck_assert_int_ge(asprintf(&cmd, "cp -a 'fixtures/%s/.' '%s/' && mkdir -p '%s/etc/op25b' && "
				  "printf 'pa ss:w#rd-%s\\n' > '%s/etc/op25b/relay.secret' && chmod 600 '%s/etc/op25b/relay.secret'",
				  name, dir, dir, "\xc3\xbcmlaut", dir, dir), 0);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	return dir;
}

static void remove_tree(char *dir)
{
	char *cmd = NULL;
	ck_assert_int_ge(asprintf(&cmd, "rm -rf '%s'", dir), 0);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(dir);
}

/* The golden diff from its first line of txn_diff() on: what comes before is what the run said
 * while planning (the firewall step's notice, a note about the relay), not the plan's diff. */
static char *read_golden(const char *path)
{
	char *text = NULL;
	size_t len = 0;
	if (read_file(path, false, &text, &len) < 0)
		return NULL;
	char *l = text;
	while (*l && strncmp(l, "--- ", 4) != 0) {
		char *nl = strchr(l, '\n');
		if (strstr(l, "(contents not shown: it holds a secret)") && (!nl || strstr(l, "(contents not shown") < nl))
			break;
		l = nl ? nl + 1 : l + strlen(l);
	}
	char *out = strdup(l);
	free(text);
	return out;
}

/* Plan MODE on a copy of FIXTURE as apply does, and return txn_diff()'s text. */
static char *plan_diff(const char *fixture, unsigned mode)
{
	char *root = copy_fixture(fixture);
	struct target t = { .root = root, .postfix_dir = "/etc/postfix", .dovecot_dir = "/etc/dovecot",
			    .state_dir = "/var/lib/op25b", .timeout_sec = 30 };
	struct relay_settings relay = { .host = "smtp.isp.example.test", .user = "homeuser",
					.password_file = "/etc/op25b/relay.secret", .mechanisms = "PLAIN,LOGIN" };
	struct tls_paths tls = { 0 };
	if (mode == MODE_SMTPS)
		tls = (struct tls_paths){ .cert = "@PKI@/fullchain.pem", .key = "@PKI@/privkey.pem" };
	struct conf_set s = { .root = root, .postfix_dir = t.postfix_dir, .state_dir = t.state_dir };
	struct plan_facts f = { 0 };

	/* "postconf -d -h queue_directory mail_owner default_database_type", as Debian's answers. */
	ck_assert_ptr_nonnull(s.postfix_defaults = strdup(DEFAULTS));
	ck_assert_int_eq(facts_gather(&s, &t, mode, &relay, &f), 0);
	ck_assert_msg(s.postfix_defaults_job.pid <= 0, "postconf was started");
	int r = mode == MODE_SMTPS ? plan_smtps(&s, &t, &tls, &f) : plan_submission(&s, &t, &relay, &tls, &f);
	ck_assert_msg(r == 0, "%s %s: the plan failed: %d", fixture, mode_name(mode), r);
	facts_done(&f);
	for (size_t i = 0; i < s.n; i++)
		ck_assert_int_eq(conf_render(&s, s.files[i]), 0);

	int fd = memfd_create("plan-diff", MFD_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(txn_diff(&s, fd), 0);
	off_t size = lseek(fd, 0, SEEK_END);
	char *text = calloc((size_t)size + 1, 1);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(pread(fd, text, (size_t)size, 0), size);
	close(fd);
	conf_set_done(&s);
	remove_tree(root);
	return text;
}

static void check_golden(const char *fixture, unsigned mode, const char *golden)
{
	char *got = plan_diff(fixture, mode), *want = read_golden(golden);
	const char *update = getenv("UPDATE_GOLDEN");
	if (update && streq(update, "1") && strncmp(golden, "tests/unit/", 11) == 0) {
		FILE *f = fopen(golden, "w");
		ck_assert_ptr_nonnull(f);
		fputs(got, f);
		fclose(f);
		free(want);
		want = strdup(got);
	}
	ck_assert_msg(want, "%s: missing (UPDATE_GOLDEN=1 writes it)", golden);
	ck_assert_msg(streq(got, want), "%s %s: the plan's diff differs from %s:\n%s", fixture, mode_name(mode),
		      golden, got);
	free(got);
	free(want);
}

START_TEST(smtps_golden)
{
	char path[128];
	snprintf(path, sizeof(path), "tests/golden/%s.smtps.diff", fixtures[_i]);
	check_golden(fixtures[_i], MODE_SMTPS, path);
}
END_TEST

START_TEST(submission_golden)
{
	char path[128];
	/* debian12's is t-submission.sh's too; the others only this test's. */
	if (_i == 0)
		snprintf(path, sizeof(path), "tests/golden/%s.submission.diff", fixtures[_i]);
	else
		snprintf(path, sizeof(path), "tests/unit/golden/%s.submission.diff", fixtures[_i]);
	check_golden(fixtures[_i], MODE_SUBMISSION, path);
}
END_TEST

int main(void)
{
	log_verbosity = -1;
	Suite *s = suite_create("plans");
	TCase *tc = tcase_create("golden");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, smtps_golden, 0, (int)ELEMENTSOF(fixtures));
	tcase_add_loop_test(tc, submission_golden, 0, (int)ELEMENTSOF(fixtures));
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
