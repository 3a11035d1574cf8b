/* Unit tests of hostport.c: HOST[:PORT] forms, validation, and Postfix's [HOST]:PORT output. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostport.h"

static const struct good {
	const char *in;
	const char *host;
	unsigned port;
	enum hostport_kind kind;
	bool bracketed, port_given;
	const char *postfix;  /* hostport_format() */
} goods[] = {
	{ "smtp.example.com", "smtp.example.com", 587, HOSTPORT_NAME, false, false, "[smtp.example.com]:587" },
	{ "smtp.example.com:465", "smtp.example.com", 465, HOSTPORT_NAME, false, true, "[smtp.example.com]:465" },
	{ "[smtp.example.com]:587", "smtp.example.com", 587, HOSTPORT_NAME, true, true, "[smtp.example.com]:587" },
	{ "[smtp.example.com]", "smtp.example.com", 587, HOSTPORT_NAME, true, false, "[smtp.example.com]:587" },
	{ "SMTP.Example.COM:25", "SMTP.Example.COM", 25, HOSTPORT_NAME, false, true, "[SMTP.Example.COM]:25" },
	{ "localhost", "localhost", 587, HOSTPORT_NAME, false, false, "[localhost]:587" },
	{ "xn--bcher-kva.example:2525", "xn--bcher-kva.example", 2525, HOSTPORT_NAME, false, true, "[xn--bcher-kva.example]:2525" },
	{ "mail_relay.corp.example", "mail_relay.corp.example", 587, HOSTPORT_NAME, false, false, "[mail_relay.corp.example]:587" },
	{ "3com.example", "3com.example", 587, HOSTPORT_NAME, false, false, "[3com.example]:587" },
	{ "192.0.2.1", "192.0.2.1", 587, HOSTPORT_IPV4, false, false, "[192.0.2.1]:587" },
	{ "192.0.2.1:25", "192.0.2.1", 25, HOSTPORT_IPV4, false, true, "[192.0.2.1]:25" },
	{ "[127.0.0.1]:1", "127.0.0.1", 1, HOSTPORT_IPV4, true, true, "[127.0.0.1]:1" },
	{ "[2001:db8::1]:587", "2001:db8::1", 587, HOSTPORT_IPV6, true, true, "[2001:db8::1]:587" },
	{ "[2001:db8::1]", "2001:db8::1", 587, HOSTPORT_IPV6, true, false, "[2001:db8::1]:587" },
	{ "[ipv6:2001:db8::1]:465", "2001:db8::1", 465, HOSTPORT_IPV6, true, true, "[2001:db8::1]:465" },
	{ "[IPv6:::1]:25", "::1", 25, HOSTPORT_IPV6, true, true, "[::1]:25" },
	{ "2001:db8::1", "2001:db8::1", 587, HOSTPORT_IPV6, false, false, "[2001:db8::1]:587" },
	{ "::1", "::1", 587, HOSTPORT_IPV6, false, false, "[::1]:587" },
	{ "::ffff:192.0.2.1", "::ffff:192.0.2.1", 587, HOSTPORT_IPV6, false, false, "[::ffff:192.0.2.1]:587" },
	/* Looks like ::1 port 587, but a bare IPv6 literal cannot carry a port: this is an address. */
	{ "::1:587", "::1:587", 587, HOSTPORT_IPV6, false, false, "[::1:587]:587" },
	{ "h:65535", "h", 65535, HOSTPORT_NAME, false, true, "[h]:65535" },
	{ "h:00587", "h", 587, HOSTPORT_NAME, false, true, "[h]:587" },
};

START_TEST(good_forms)
{
	const struct good *g = &goods[_i];
	struct hostport hp;
	const char *why = "unset";
	char out[HOSTPORT_FORMAT_MAX];

	ck_assert_msg(hostport_parse(g->in, 587, &hp, &why) == 0, "%s: %s", g->in, why);
	ck_assert_ptr_null(why);
	ck_assert_str_eq(hp.host, g->host);
	ck_assert_uint_eq(hp.port, g->port);
	ck_assert_int_eq(hp.kind, g->kind);
	ck_assert_int_eq(hp.bracketed, g->bracketed);
	ck_assert_int_eq(hp.port_given, g->port_given);
	ck_assert_int_eq(hostport_format(&hp, out, sizeof(out)), 0);
	ck_assert_str_eq(out, g->postfix);
}
END_TEST

static const struct bad {
	const char *in;
	const char *why_contains;
} bads[] = {
	{ "", "empty host" },
	{ ":587", "empty host" },
	{ "[]:587", "empty host" },
	{ "host:", "empty port" },
	{ "host:0", "out of range" },
	{ "host:65536", "out of range" },
	{ "host:99999999999999999999", "out of range" },
	{ "host:-1", "not a number" },
	{ "host:+25", "not a number" },
	{ "host:25x", "not a number" },
	{ "host:smtp", "not a number" },
	{ "host: 25", "whitespace" },
	{ "host name", "whitespace" },
	{ "host\n", "whitespace" },
	{ "host\r\nrelayhost = evil", "whitespace" },
	{ "\thost", "whitespace" },
	{ "host\x7f", "control" },
	{ "h\xc3\xb6st.example", "non-ASCII" },
	{ "[2001:db8::1", "missing ']'" },
	{ "[2001:db8::1]587", "after ']'" },
	{ "[2001:db8::1]:", "empty port" },
	{ "[2001:db8::1]:70000", "out of range" },
	{ "[smtp.example.com:587]", "IPv6" },
	{ "[ipv6:192.0.2.1]", "IPv6" },
	{ "[ipv6:]", "IPv6" },
	{ "2001:db8::zz", "IPv6" },
	{ "2001:db8::1:587:1:2:3:4:5", "[ADDR]:PORT" },
	{ "host]:25", "unbalanced" },
	{ "999.1.1.1", "IPv4" },
	{ "10.1.1", "IPv4" },
	{ "1.2.3.4.5:25", "IPv4" },
	{ "12345", "IPv4" },
	{ "-bad.example", "host name" },
	{ "bad-.example", "host name" },
	{ "a..b", "host name" },
	{ "trailing.dot.", "host name" },
	{ ".leading", "host name" },
	{ "smtp.example.com/path", "host name" },
	{ "user@smtp.example.com", "host name" },
	{ "smtp.example.com;reboot", "host name" },
	{ "a.b.123", "host name" },  /* all-numeric last label would be a mistyped address */
};

START_TEST(bad_forms)
{
	const struct bad *b = &bads[_i];
	struct hostport hp;
	const char *why = NULL;
	ck_assert_int_eq(hostport_parse(b->in, 587, &hp, &why), -EINVAL);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, b->why_contains), "'%s': got '%s', want '%s'", b->in, why, b->why_contains);
}
END_TEST

START_TEST(null_input)
{
	struct hostport hp;
	const char *why;
	ck_assert_int_eq(hostport_parse(NULL, 587, &hp, &why), -EINVAL);
}
END_TEST

START_TEST(lengths)
{
	struct hostport hp;
	const char *why;
	char name[300], label[70];

	/* labels: 63 is the maximum */
	memset(label, 'a', 63);
	label[63] = '\0';
	snprintf(name, sizeof(name), "%s.example", label);
	ck_assert_int_eq(hostport_parse(name, 587, &hp, &why), 0);
	snprintf(name, sizeof(name), "a%s.example", label);
	ck_assert_int_eq(hostport_parse(name, 587, &hp, &why), -EINVAL);

	/* names: 253 is the maximum (three labels of 63 and one of 61, with dots) */
	snprintf(name, sizeof(name), "%s.%s.%s.%.61s", label, label, label, label);
	ck_assert_uint_eq(strlen(name), 253);
	ck_assert_int_eq(hostport_parse(name, 587, &hp, &why), 0);
	char out[HOSTPORT_FORMAT_MAX];
	hp.port = 65535;
	ck_assert_int_eq(hostport_format(&hp, out, sizeof(out)), 0);  /* the longest output fits */
	ck_assert_uint_eq(strlen(out), HOSTPORT_FORMAT_MAX - 1);

	snprintf(name, sizeof(name), "%s.%s.%s.%.62s", label, label, label, label);
	ck_assert_int_eq(hostport_parse(name, 587, &hp, &why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "253"));
	/* and as HOST:PORT and [HOST]:PORT, which copy the host into a buffer first */
	strcat(name, ":25");
	ck_assert_int_eq(hostport_parse(name, 587, &hp, &why), -EINVAL);
	memmove(name + 1, name, strlen(name) + 1);
	name[0] = '[';
	memcpy(strrchr(name, ':'), "]:2", 3);
	ck_assert_int_eq(hostport_parse(name, 587, &hp, &why), -EINVAL);
}
END_TEST

START_TEST(default_port)
{
	struct hostport hp;
	const char *why;
	ck_assert_int_eq(hostport_parse("relay.example", 25, &hp, &why), 0);
	ck_assert_uint_eq(hp.port, 25);
	ck_assert_int_eq(hostport_parse("[relay.example]", 465, &hp, &why), 0);
	ck_assert_uint_eq(hp.port, 465);
}
END_TEST

START_TEST(format_small_buffer)
{
	struct hostport hp;
	const char *why;
	char out[8];
	ck_assert_int_eq(hostport_parse("smtp.example.com", 587, &hp, &why), 0);
	ck_assert_int_eq(hostport_format(&hp, out, sizeof(out)), -ENOBUFS);
}
END_TEST

START_TEST(valid_name)
{
	ck_assert(hostport_valid_name("a"));
	ck_assert(hostport_valid_name("mail.example.test"));
	ck_assert(hostport_valid_name("0-9.example"));
	ck_assert(!hostport_valid_name(""));
	ck_assert(!hostport_valid_name("123"));
	ck_assert(!hostport_valid_name("1.2.3.4"));
	ck_assert(!hostport_valid_name("a-"));
	ck_assert(!hostport_valid_name("a b"));
	ck_assert(!hostport_valid_name("."));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("hostport");
	TCase *t = tcase_create("parse");
	tcase_add_loop_test(t, good_forms, 0, (int)(sizeof(goods) / sizeof(goods[0])));
	tcase_add_loop_test(t, bad_forms, 0, (int)(sizeof(bads) / sizeof(bads[0])));
	tcase_add_test(t, null_input);
	tcase_add_test(t, lengths);
	tcase_add_test(t, default_port);
	suite_add_tcase(s, t);
	t = tcase_create("format");
	tcase_add_test(t, format_small_buffer);
	tcase_add_test(t, valid_name);
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
