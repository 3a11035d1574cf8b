/* Unit tests of reload-policy.c: which file changes need a restart rather than a reload, the
 * value scanner under Postfix's and Dovecot's syntax, and the host 465 is asked on. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "reload-policy.h"

static const struct change {
	const char *old, *new;   /* NULL new: the file is removed */
	bool dovecot;
	bool restart;
} changes[] = {
	/* op25b's own edits: a reload applies them */
	{ "myhostname = a\n", "myhostname = a\nsmtpd_tls_cert_file = /c.pem\nsmtpd_tls_security_level = may\n", false, false },
	{ "relayhost =\n", "relayhost = [smtp.isp.example]:587\n", false, false },
	{ "inet_interfaces = all\nx = 1\n", "inet_interfaces = all\nx = 2\n", false, false },
	/* the same value written differently: continuation lines, blanks */
	{ "inet_interfaces = 127.0.0.1, [::1]\n", "inet_interfaces =\n  127.0.0.1,\n\t[::1]\n", false, false },
	/* read once at start */
	{ "inet_interfaces = all\n", "inet_interfaces = loopback-only\n", false, true },
	{ "x = 1\n", "x = 1\ninet_protocols = ipv4\n", false, true },
	{ "inet_protocols = all\n", "", false, true },
	{ "inet_interfaces = all\n", NULL, false, true },
	/* the last entry wins, as in Postfix */
	{ "inet_interfaces = all\n", "inet_interfaces = all\ninet_interfaces = 192.0.2.1\n", false, true },
	{ "inet_interfaces = 192.0.2.1\ninet_interfaces = all\n", "inet_interfaces = all\n", false, false },
	/* not a parameter line: a comment, an indented continuation, another name with the prefix */
	{ "x = 1\n", "#inet_interfaces = 192.0.2.1\nx = 1\n", false, false },
	{ "x = 1\n", "x = 1\n  inet_interfaces = 192.0.2.1\n", false, false },
	{ "x = 1\n", "x = 1\ninet_interfaces_extra = 2\n", false, false },
	/* no final newline */
	{ "inet_interfaces = all", "inet_interfaces = 192.0.2.1", false, true },
	/* Dovecot: ssl settings reload, base_dir does not; indentation is Dovecot's syntax */
	{ "ssl = no\n", "ssl = yes\nssl_cert = </c.pem\n", true, false },
	{ "service auth {\n}\n", "service auth {\n  unix_listener /var/spool/postfix/private/auth {\n  }\n}\n", true, false },
	{ "base_dir = /run/dovecot\n", "base_dir = /run/dovecot2\n", true, true },
	{ "", "  base_dir = /run/x\n", true, true },
	/* the Postfix name in a Dovecot file means nothing */
	{ "", "inet_interfaces = 192.0.2.1\n", true, false },
};

START_TEST(restart_needed)
{
	const struct change *c = &changes[_i];
	struct conf_file f = { .path = "/etc/x", .lens = "L", .old = (char *)c->old, .old_len = strlen(c->old) };
	if (c->new) {
		f.new = (char *)c->new;
		f.new_len = strlen(c->new);
	} else
		f.remove = true;
	ck_assert_msg(reload_restart_needed(&f, c->dovecot) == c->restart, "case %d: %s -> %s: expected %s", _i,
		      c->old, c->new ? c->new : "(removed)", c->restart ? "restart" : "reload");
}
END_TEST

START_TEST(values)
{
	bool absent;
	const char *cont = "a = 1\nkey = one\n two,\n\tthree\nb = 2\n";
	char *v = reload_conf_value(cont, strlen(cont), "key", false, &absent);
	ck_assert(!absent);
	ck_assert_str_eq(v, "one two, three");
	free(v);
	v = reload_conf_value("key =\n", 6, "key", false, &absent);
	ck_assert(!absent);
	ck_assert_str_eq(v, "");
	free(v);
	v = reload_conf_value("keyx = 1\n", 9, "key", false, &absent);
	ck_assert(absent && !v);
	/* LEN bounds the scan: the text after it is not looked at */
	v = reload_conf_value("a = 1\nkey = 2\n", 6, "key", false, &absent);
	ck_assert(absent && !v);
	v = reload_conf_value("  key = 3\n", 10, "key", true, &absent);
	ck_assert(!absent);
	ck_assert_str_eq(v, "3");
	free(v);
}
END_TEST

static const struct host {
	const char *main_cf;
	const char *host;
} hosts[] = {
	{ "myhostname = a\n", "localhost" },
	{ "inet_interfaces = all\n", "localhost" },
	{ "inet_interfaces = loopback-only\n", "localhost" },
	{ "inet_interfaces = 192.0.2.1, 127.0.0.1\n", "localhost" },
	{ "inet_interfaces = $myhostname\n", "localhost" },
	{ "inet_interfaces =\n", "localhost" },
	{ "inet_interfaces = 192.0.2.1\n", "192.0.2.1" },
	{ "inet_interfaces = 192.0.2.1, 198.51.100.2\n", "192.0.2.1" },
	{ "inet_interfaces = [2001:db8::1]\n", "2001:db8::1" },
	{ "inet_interfaces = mail.example.org\n", "mail.example.org" },
	/* "all" inside another word is not "all" */
	{ "inet_interfaces = smallhost.example\n", "smallhost.example" },
};

START_TEST(smtps_host)
{
	const struct host *h = &hosts[_i];
	char *v = reload_smtps_host(h->main_cf, strlen(h->main_cf));
	ck_assert_ptr_nonnull(v);
	ck_assert_msg(strcmp(v, h->host) == 0, "%s: got %s, expected %s", h->main_cf, v, h->host);
	free(v);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("reload_policy");
	TCase *t = tcase_create("policy");
	tcase_add_loop_test(t, restart_needed, 0, (int)(sizeof(changes) / sizeof(changes[0])));
	tcase_add_test(t, values);
	tcase_add_loop_test(t, smtps_host, 0, (int)(sizeof(hosts) / sizeof(hosts[0])));
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
