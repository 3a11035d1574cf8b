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
#include "relay-map.h"
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

/* Every file of S rendered, and txn_diff()'s text. */
static char *rendered_diff(struct conf_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		ck_assert_int_eq(conf_render(s, s->files[i]), 0);
	int fd = memfd_create("plan-diff", MFD_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(txn_diff(s, fd), 0);
	off_t size = lseek(fd, 0, SEEK_END);
	char *text = calloc((size_t)size + 1, 1);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(pread(fd, text, (size_t)size, 0), size);
	close(fd);
	return text;
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
	ck_assert_int_eq(facts_gather(&s, &t, mode, &relay, false, &f), 0);
	ck_assert_msg(s.postfix_defaults_job.pid <= 0, "postconf was started");
	int r = mode == MODE_SMTPS ? plan_smtps(&s, &t, &tls, &f) : plan_submission(&s, &t, &relay, &tls, &f);
	ck_assert_msg(r == 0, "%s %s: the plan failed: %d", fixture, mode_name(mode), r);
	facts_done(&f);
	char *text = rendered_diff(&s);
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

/* ---- Plans from facts made by hand: no facts_gather(), nothing read but the parsed files ---- */

#define PASSWORD "pa ss:w#rd-\xc3\xbcmlaut"

struct by_hand {
	char *root;
	struct target t;
	struct relay_settings relay;
	struct tls_paths tls;
	struct conf_set s;
	struct plan_facts f;
};

/* debian12's facts as facts_gather() finds them there (relay secure with the CAs main.cf names,
 * --mechanisms=PLAIN,LOGIN, hash tables, Dovecot including conf.d without the listener), the
 * files parsed: the map first (as facts_gather() puts it), then master.cf and main.cf. MAP_TEXT:
 * the map's content before, or NULL when there is none. */
static void by_hand_start(struct by_hand *h, const char *map_text)
{
	*h = (struct by_hand){ 0 };
	h->root = copy_fixture("debian12");
	h->t = (struct target){ .root = h->root, .postfix_dir = "/etc/postfix", .dovecot_dir = "/etc/dovecot",
				.state_dir = "/var/lib/op25b", .timeout_sec = 30 };
	h->relay = (struct relay_settings){ .host = "smtp.isp.example.test", .user = "homeuser",
					    .password_file = "/etc/op25b/relay.secret", .mechanisms = "PLAIN,LOGIN" };
	h->s = (struct conf_set){ .root = h->root, .postfix_dir = h->t.postfix_dir, .state_dir = h->t.state_dir };
	struct relay_facts *rf = &h->f.relay;
	const char *why;
	ck_assert_int_eq(relay_key(h->relay.host, &rf->hp, rf->key, &why), 0);
	/* secret_wipe() wipes the whole buffer secret.c reads into. */
	ck_assert_ptr_nonnull(rf->password.data = calloc(1, SECRET_MAX + 2));
	memcpy(rf->password.data, PASSWORD, strlen(PASSWORD));
	rf->password.len = strlen(PASSWORD);
	rf->tls = (struct relay_tls){ .level = "secure", .ca_path = strdup("/etc/ssl/certs") };
	ck_assert_ptr_nonnull(rf->mechanisms = strdup("plain, login"));
	ck_assert_ptr_nonnull(rf->table_type = strdup("hash"));
	ck_assert_ptr_nonnull(rf->map_path = strdup("/etc/postfix/ispinfo"));
	h->f.sasl = (struct sasl_facts){ .includes_confd = true, .confd_dir = true,
					 .queue_directory = strdup("/var/spool/postfix"), .mail_owner = strdup("postfix") };
	if (map_text) {
		char *path = NULL, *cmd = NULL;
		ck_assert_int_ge(asprintf(&path, "%s/etc/postfix/ispinfo", h->root), 0);
		FILE *mf = fopen(path, "w");
		ck_assert_ptr_nonnull(mf);
		fputs(map_text, mf);
		fclose(mf);
		ck_assert_int_ge(asprintf(&cmd, "chmod 600 '%s'", path), 0);
		ck_assert_int_eq(system(cmd), 0);
		free(cmd);
		free(path);
	}
	ck_assert_int_eq(conf_open_raw(&h->s, rf->map_path, 0600, &rf->map), 0);
	ck_assert_int_eq(postfix_open(&h->s, h->t.postfix_dir, &h->f.main_cf, &h->f.master_cf), 0);
}

static void by_hand_plan(struct by_hand *h)
{
	ck_assert_int_eq(plan_submission(&h->s, &h->t, &h->relay, &h->tls, &h->f), 0);
	ck_assert_msg(h->s.postfix_defaults == NULL && h->s.postfix_defaults_job.pid <= 0, "postconf was asked");
}

static void by_hand_end(struct by_hand *h)
{
	facts_done(&h->f);
	conf_set_done(&h->s);
	remove_tree(h->root);
}

/* main.cf's KEY after the plan ("" when absent). */
static const char *main_cf(struct by_hand *h, const char *key)
{
	bool present;
	const char *v = NULL;
	ck_assert_int_eq(conf_get(&h->s, h->f.main_cf, key, &present, &v), 0);
	return present && v ? v : "";
}

static struct conf_file *file_named(struct by_hand *h, const char *path)
{
	for (size_t i = 0; i < h->s.n; i++)
		if (streq(h->s.files[i]->path, path))
			return h->s.files[i];
	return NULL;
}

/* The facts alone make t-submission.sh's golden diff: the plan needs nothing else. */
START_TEST(submission_from_facts)
{
	struct by_hand h;
	by_hand_start(&h, NULL);
	by_hand_plan(&h);
	char *got = rendered_diff(&h.s), *want = read_golden("tests/golden/debian12.submission.diff");
	ck_assert_ptr_nonnull(want);
	ck_assert_msg(streq(got, want), "the plan from facts made by hand differs from the golden diff:\n%s", got);
	free(got);
	free(want);
	by_hand_end(&h);
}
END_TEST

/* What the relay offers, the table type and the port are written as the facts say. */
START_TEST(submission_fact_variations)
{
	struct by_hand h;
	by_hand_start(&h, NULL);
	free(h.f.relay.mechanisms);
	h.f.relay.mechanisms = strdup("cram-md5, scram-sha-256");
	free(h.f.relay.table_type);
	h.f.relay.table_type = strdup("lmdb");
	const char *why;
	ck_assert_int_eq(relay_key("[smtp.isp.example.test]:465", &h.f.relay.hp, h.f.relay.key, &why), 0);
	by_hand_plan(&h);
	ck_assert_str_eq(main_cf(&h, "smtp_sasl_mechanism_filter"), "cram-md5, scram-sha-256");
	ck_assert_str_eq(main_cf(&h, "smtp_sasl_password_maps"), "lmdb:/etc/postfix/ispinfo");
	ck_assert_str_eq(main_cf(&h, "relayhost"), "[smtp.isp.example.test]:465");
	ck_assert_str_eq(main_cf(&h, "smtp_tls_wrappermode"), "yes");
	ck_assert_str_eq(h.f.relay.map->postmap_type, "lmdb");
	ck_assert_ptr_nonnull(strstr(h.f.relay.map->new, "[smtp.isp.example.test]:465 homeuser:" PASSWORD "\n"));
	by_hand_end(&h);
}
END_TEST

/* fingerprint: the probed key is pinned (sha256), the CAs are not written. */
START_TEST(submission_pinned)
{
	struct by_hand h;
	by_hand_start(&h, NULL);
	free(h.f.relay.tls.ca_path);
	h.f.relay.tls = (struct relay_tls){ .level = "fingerprint", .pin = strdup("AB:CD:EF") };
	by_hand_plan(&h);
	ck_assert_str_eq(main_cf(&h, "smtp_tls_security_level"), "fingerprint");
	ck_assert_str_eq(main_cf(&h, "smtp_tls_fingerprint_digest"), "sha256");
	ck_assert_str_eq(main_cf(&h, "smtp_tls_fingerprint_cert_match"), "AB:CD:EF");
	ck_assert_str_eq(main_cf(&h, "smtp_tls_CAfile"), "");
	by_hand_end(&h);
}
END_TEST

/* A map that already holds the entry: left alone when it and its table are closed (root:root
 * 0600), rewritten (with the same bytes, mode 0600) when they are not. Other entries, and a
 * duplicate of the key in another letter case with its continuation line, as relay-map.h says. */
START_TEST(submission_map_facts)
{
	static const char same[] = "[smtp.isp.example.test]:587 homeuser:" PASSWORD "\n";
	for (int closed = 0; closed <= 1; closed++) {
		struct by_hand h;
		by_hand_start(&h, same);
		h.f.relay.map_closed = closed;
		by_hand_plan(&h);
		ck_assert_msg(closed ? !h.f.relay.map->new : h.f.relay.map->new && streq(h.f.relay.map->new, same),
			      "closed=%d: new map %s", closed, h.f.relay.map->new ? "written" : "left");
		by_hand_end(&h);
	}
	struct by_hand h;
	by_hand_start(&h, "# ISP\n[other.example]:25 a:b\n[SMTP.isp.example.test]:587 old:pw\n  continued\n[smtp.isp.example.test]:587 x:y");
	by_hand_plan(&h);
	ck_assert_str_eq(h.f.relay.map->new, "# ISP\n[other.example]:25 a:b\n[smtp.isp.example.test]:587 homeuser:" PASSWORD "\n");
	by_hand_end(&h);
}
END_TEST

/* The SASL wiring as the facts about Dovecot say: a listener there already (only main.cf is
 * pointed at it), Dovecot missing (nothing wired), dovecot.conf without conf.d (the listener goes
 * into dovecot.conf). */
START_TEST(sasl_wiring_facts)
{
	struct by_hand h;
	by_hand_start(&h, NULL);
	h.f.sasl.listener_found = true;
	by_hand_plan(&h);
	ck_assert_str_eq(main_cf(&h, "smtpd_sasl_type"), "dovecot");
	ck_assert_ptr_null(file_named(&h, "/etc/dovecot/conf.d/99-op25b-auth.conf"));
	by_hand_end(&h);

	by_hand_start(&h, NULL);
	h.f.sasl.dovecot_conf = -ENOENT;
	by_hand_plan(&h);
	ck_assert_str_eq(main_cf(&h, "smtpd_sasl_type"), "");
	by_hand_end(&h);

	by_hand_start(&h, NULL);
	h.f.sasl.includes_confd = false;
	by_hand_plan(&h);
	ck_assert_str_eq(main_cf(&h, "smtpd_sasl_path"), "private/auth");
	struct conf_file *dc = file_named(&h, "/etc/dovecot/dovecot.conf");
	ck_assert_ptr_nonnull(dc);
	ck_assert_ptr_null(file_named(&h, "/etc/dovecot/conf.d/99-op25b-auth.conf"));
	ck_assert_int_eq(conf_render(&h.s, dc), 0);
	ck_assert_ptr_nonnull(dc->new);
	ck_assert_ptr_nonnull(strstr(dc->new, "unix_listener /var/spool/postfix/private/auth"));
	by_hand_end(&h);
}
END_TEST

/* smtps without Dovecot (the facts say dovecot.conf is not there): Postfix only. */
START_TEST(smtps_without_dovecot)
{
	struct by_hand h;
	by_hand_start(&h, NULL);
	h.tls = (struct tls_paths){ .cert = "/etc/pki/fullchain.pem", .key = "/etc/pki/privkey.pem" };
	h.f.dovecot = (struct dovecot_ssl_facts){ .found = false };
	h.f.sasl.dovecot_conf = -ENOENT;
	ck_assert_int_eq(plan_smtps(&h.s, &h.t, &h.tls, &h.f), 0);
	for (size_t i = 0; i < h.s.n; i++)
		ck_assert_msg(strncmp(h.s.files[i]->path, "/etc/dovecot/", 13) != 0, "%s planned", h.s.files[i]->path);
	ck_assert_str_eq(main_cf(&h, "smtpd_tls_cert_file"), "/etc/pki/fullchain.pem");
	ck_assert_str_eq(main_cf(&h, "smtpd_sasl_type"), "");
	by_hand_end(&h);
}
END_TEST

/* The certbot hook from its facts: the binary's path in the script, the directories given; none
 * without certbot; a path that a shell would read otherwise is refused. */
START_TEST(certbot_hook_from_facts)
{
	struct by_hand h;
	by_hand_start(&h, NULL);
	h.t.postfix_dir = "/srv/postfix";
	ck_assert_int_eq(plan_certbot_hook(&h.s, &h.t, &h.f.hook), 0);
	ck_assert_ptr_null(file_named(&h, CERTBOT_HOOK));
	ck_assert_int_eq(conf_open_raw(&h.s, CERTBOT_HOOK, 0755, &h.f.hook.file), 0);
	ck_assert_ptr_nonnull(h.f.hook.exe = strdup("/usr/sbin/op25b"));
	ck_assert_int_eq(plan_certbot_hook(&h.s, &h.t, &h.f.hook), 0);
	ck_assert_ptr_nonnull(h.f.hook.file->new);
	ck_assert_ptr_nonnull(strstr(h.f.hook.file->new, "\nexec /usr/sbin/op25b reload-certs -q --postfix-dir=/srv/postfix\n"));
	free(h.f.hook.exe);
	ck_assert_ptr_nonnull(h.f.hook.exe = strdup("/opt/o'p/op25b"));
	ck_assert_int_eq(plan_certbot_hook(&h.s, &h.t, &h.f.hook), -EINVAL);
	by_hand_end(&h);
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
	TCase *th = tcase_create("facts by hand");
	tcase_set_timeout(th, 60);
	tcase_add_test(th, submission_from_facts);
	tcase_add_test(th, submission_fact_variations);
	tcase_add_test(th, submission_pinned);
	tcase_add_test(th, submission_map_facts);
	tcase_add_test(th, sasl_wiring_facts);
	tcase_add_test(th, smtps_without_dovecot);
	tcase_add_test(th, certbot_hook_from_facts);
	suite_add_tcase(s, th);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
