/* Unit tests of smtp_reply.c (reply framing, EHLO/AUTH parsing). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"
#include "smtp_reply.h"

/* Feed the whole of S at once. */
static int feed(const char *s, struct smtp_reply *r, size_t *used)
{
	return smtp_reply_feed(r, s, strlen(s), used);
}

static int feed_n(const char *s, size_t n, struct smtp_reply *r, size_t *used)
{
	return smtp_reply_feed(r, s, n, used);
}

/* Parse S as one complete EHLO reply into E; returns what smtp_ehlo_parse() returns. */
static int ehlo(const char *s, struct smtp_ehlo *e)
{
	struct smtp_reply r = { 0 };
	size_t used;
	ck_assert_int_eq(feed(s, &r, &used), 1);
	int k = smtp_ehlo_parse(&r, e);
	smtp_reply_free(&r);
	return k;
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);
	ck_assert_ptr_nonnull(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

START_TEST(single_line)
{
	struct smtp_reply r = { 0 };
	size_t used;
	const char *s = "220 mail.example.test ESMTP Postfix\r\n";
	ck_assert_int_eq(feed(s, &r, &used), 1);
	ck_assert_uint_eq(used, strlen(s));
	ck_assert_int_eq(r.code, 220);
	ck_assert_uint_eq(r.n_lines, 1);
	ck_assert_str_eq(r.lines[0], "mail.example.test ESMTP Postfix");
	ck_assert(r.complete);
	smtp_reply_free(&r);
}
END_TEST

START_TEST(multi_line)
{
	struct smtp_reply r = { 0 };
	size_t used;
	const char *s = "250-mail.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 STARTTLS\r\n";
	ck_assert_int_eq(feed(s, &r, &used), 1);
	ck_assert_uint_eq(used, strlen(s));
	ck_assert_int_eq(r.code, 250);
	ck_assert_uint_eq(r.n_lines, 4);
	ck_assert_str_eq(r.lines[0], "mail.example.test");
	ck_assert_str_eq(r.lines[2], "SIZE 10240000");
	ck_assert_str_eq(r.lines[3], "STARTTLS");
	ck_assert_uint_eq(r.bytes, strlen(s));
	smtp_reply_free(&r);
}
END_TEST

START_TEST(bare_code_and_empty_text)
{
	struct smtp_reply r = { 0 };
	size_t used;
	ck_assert_int_eq(feed("250-\r\n250\r\n", &r, &used), 1);
	ck_assert_uint_eq(r.n_lines, 2);
	ck_assert_str_eq(r.lines[0], "");
	ck_assert_str_eq(r.lines[1], "");
	smtp_reply_free(&r);
	ck_assert_int_eq(feed("221 \r\n", &r, &used), 1);
	ck_assert_str_eq(r.lines[0], "");
	smtp_reply_free(&r);
}
END_TEST

START_TEST(bare_lf_accepted)
{
	struct smtp_reply r = { 0 };
	size_t used;
	ck_assert_int_eq(feed("250-a\n250 b\n", &r, &used), 1);
	ck_assert_uint_eq(used, 12);
	ck_assert_str_eq(r.lines[0], "a");
	ck_assert_str_eq(r.lines[1], "b");
	smtp_reply_free(&r);
}
END_TEST

START_TEST(partial_then_rest)
{
	struct smtp_reply r = { 0 };
	size_t used;
	const char *s = "250-a\r\n250-b";
	ck_assert_int_eq(feed(s, &r, &used), 0);
	ck_assert_uint_eq(used, 7);  /* "250-b" stays for the next read */
	ck_assert_uint_eq(r.n_lines, 1);
	ck_assert(!r.complete);
	ck_assert_int_eq(feed("250-b\r\n250 c\r\n", &r, &used), 1);
	ck_assert_uint_eq(r.n_lines, 3);
	ck_assert_str_eq(r.lines[2], "c");
	smtp_reply_free(&r);
}
END_TEST

/* The network may deliver one byte at a time; the result must not depend on it. */
START_TEST(byte_by_byte)
{
	const char *s = "250-mail.example.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n";
	struct smtp_reply r = { 0 };
	char buf[128];
	size_t have = 0, used;
	int k = 0;
	for (size_t i = 0; s[i] && k == 0; i++) {
		buf[have++] = s[i];
		k = feed_n(buf, have, &r, &used);
		ck_assert_int_ge(k, 0);
		if (used) {
			memmove(buf, buf + used, have - used);
			have -= used;
		}
	}
	ck_assert_int_eq(k, 1);
	ck_assert_uint_eq(have, 0);
	ck_assert_uint_eq(r.n_lines, 3);
	ck_assert_str_eq(r.lines[1], "AUTH PLAIN LOGIN");
	smtp_reply_free(&r);
}
END_TEST

START_TEST(leftover_after_reply)
{
	struct smtp_reply r = { 0 };
	size_t used;
	ck_assert_int_eq(feed("220 a\r\n250 pipelined\r\n", &r, &used), 1);
	ck_assert_uint_eq(used, 7);
	ck_assert_int_eq(r.code, 220);
	/* A complete reply takes nothing more. */
	ck_assert_int_eq(feed("250 x\r\n", &r, &used), 1);
	ck_assert_uint_eq(used, 0);
	smtp_reply_free(&r);
}
END_TEST

static const char *const bad_lines[] = {
	"2x0 text\r\n",     /* not digits */
	"199 text\r\n",     /* 1yz is not an SMTP reply */
	"600 text\r\n",     /* first digit above 5 */
	"260 text\r\n",     /* second digit above 5 */
	"20 text\r\n",      /* two digits */
	"\r\n",             /* empty line */
	"250X text\r\n",    /* missing space or dash */
	"2500 text\r\n",    /* four digits */
	"250_text\r\n",
	" 250 text\r\n",    /* leading space */
	"HTTP/1.1 400 Bad Request\r\n",
	"SSH-2.0-OpenSSH_9.2\r\n",
	"250 a\x01" "b\r\n",  /* control byte */
	"250 a\x7f" "b\r\n",  /* DEL */
	"250 a\rb\r\n",     /* CR inside the line */
	"250 a\x1b[2Jb\r\n",  /* terminal escape */
};

START_TEST(bad_line)
{
	struct smtp_reply r = { 0 };
	size_t used;
	ck_assert_int_eq(feed(bad_lines[_i], &r, &used), -SMTP_EBADLINE);
	ck_assert_uint_eq(used, 0);
	smtp_reply_free(&r);
}
END_TEST

START_TEST(nul_byte)
{
	struct smtp_reply r = { 0 };
	size_t used;
	ck_assert_int_eq(feed_n("250 a\0b\r\n", 9, &r, &used), -SMTP_EBADLINE);
	smtp_reply_free(&r);
}
END_TEST

/* Garbage is refused before its newline arrives, so a binary server does not cost a timeout. */
START_TEST(partial_garbage)
{
	struct smtp_reply r = { 0 };
	size_t used;
	ck_assert_int_eq(feed("HTTP/1.1", &r, &used), -SMTP_EBADLINE);
	ck_assert_int_eq(feed_n("\x16\x03\x01\x02", 4, &r, &used), -SMTP_EBADLINE);  /* a TLS record */
	ck_assert_int_eq(feed("220 fake \x01", &r, &used), -SMTP_EBADLINE);
	ck_assert_int_eq(feed("2509", &r, &used), -SMTP_EBADLINE);
	/* ... but a valid start waits for more */
	ck_assert_int_eq(feed("2", &r, &used), 0);
	ck_assert_int_eq(feed("22", &r, &used), 0);
	ck_assert_int_eq(feed("220", &r, &used), 0);
	ck_assert_int_eq(feed("220 ok\r", &r, &used), 0);
	ck_assert_uint_eq(r.n_lines, 0);
	smtp_reply_free(&r);
}
END_TEST

START_TEST(mixed_codes)
{
	struct smtp_reply r = { 0 };
	size_t used;
	ck_assert_int_eq(feed("250-a\r\n251 b\r\n", &r, &used), -SMTP_EMIXED);
	ck_assert_uint_eq(used, 7);  /* points at the offending line */
	smtp_reply_free(&r);
	ck_assert_int_eq(feed("250-a\r\n550-b\r\n", &r, &used), -SMTP_EMIXED);
	smtp_reply_free(&r);
}
END_TEST

START_TEST(long_line)
{
	struct smtp_reply r = { 0 };
	size_t used;
	char *a = repeat('A', SMTP_LINE_MAX - 4);  /* "250 " + A... = exactly SMTP_LINE_MAX */
	char *line = NULL;
	ck_assert_int_ge(asprintf(&line, "250 %s\r\n", a), 0);
	ck_assert_int_eq(feed(line, &r, &used), 1);
	ck_assert_uint_eq(strlen(r.lines[0]), SMTP_LINE_MAX - 4);
	smtp_reply_free(&r);
	free(line);
	free(a);

	a = repeat('A', SMTP_LINE_MAX - 3);  /* one byte too many */
	ck_assert_int_ge(asprintf(&line, "250 %s\r\n", a), 0);
	ck_assert_int_eq(feed(line, &r, &used), -SMTP_ELONGLINE);
	smtp_reply_free(&r);
	/* the same without its newline yet: refused as soon as it cannot fit any more */
	line[strlen(line) - 2] = '\0';
	ck_assert_int_eq(feed(line, &r, &used), -SMTP_ELONGLINE);
	smtp_reply_free(&r);
	free(line);
	free(a);

	/* a full-length line whose LF has not arrived yet still fits */
	a = repeat('A', SMTP_LINE_MAX - 4);
	ck_assert_int_ge(asprintf(&line, "250 %s\r", a), 0);
	ck_assert_int_eq(feed(line, &r, &used), 0);
	smtp_reply_free(&r);
	free(line);
	free(a);

	a = repeat('A', 5000);
	ck_assert_int_ge(asprintf(&line, "250-%s", a), 0);
	ck_assert_int_eq(feed(line, &r, &used), -SMTP_ELONGLINE);
	smtp_reply_free(&r);
	free(line);
	free(a);
}
END_TEST

START_TEST(too_many_lines)
{
	struct smtp_reply r = { 0 };
	size_t used;
	char *s = malloc(16 * (SMTP_REPLY_MAX_LINES + 2));
	ck_assert_ptr_nonnull(s);
	s[0] = '\0';
	for (int i = 0; i < SMTP_REPLY_MAX_LINES - 1; i++)
		strcat(s, "250-X\r\n");
	strcat(s, "250 X\r\n");
	ck_assert_int_eq(feed(s, &r, &used), 1);  /* exactly the limit */
	ck_assert_uint_eq(r.n_lines, SMTP_REPLY_MAX_LINES);
	smtp_reply_free(&r);

	s[0] = '\0';
	for (int i = 0; i < SMTP_REPLY_MAX_LINES + 1; i++)
		strcat(s, "250-X\r\n");
	ck_assert_int_eq(feed(s, &r, &used), -SMTP_ETOOBIG);
	smtp_reply_free(&r);
	free(s);
}
END_TEST

START_TEST(too_many_bytes)
{
	struct smtp_reply r = { 0 };
	size_t used, len = 0;
	char *a = repeat('B', 4000);
	char *s = malloc(20 * 4010);
	ck_assert_ptr_nonnull(s);
	for (int i = 0; i < 20; i++)  /* 20 * 4006 bytes > 64 KiB, in 20 lines */
		len += (size_t)sprintf(s + len, "250-%s\r\n", a);
	ck_assert_int_eq(feed_n(s, len, &r, &used), -SMTP_ETOOBIG);
	ck_assert_uint_le(r.bytes, SMTP_REPLY_MAX_BYTES);
	smtp_reply_free(&r);
	free(s);
	free(a);
}
END_TEST

START_TEST(non_ascii_replaced)
{
	struct smtp_reply r = { 0 };
	size_t used;
	ck_assert_int_eq(feed("220 caf\xc3\xa9 \x9b" "1m\r\n", &r, &used), 1);
	ck_assert_str_eq(r.lines[0], "caf?? ?1m");
	smtp_reply_free(&r);
}
END_TEST

START_TEST(line_parse)
{
	int code;
	bool last;
	const char *text;
	ck_assert_int_eq(smtp_line_parse("354 go", 6, &code, &last, &text), 0);
	ck_assert_int_eq(code, 354);
	ck_assert(last);
	ck_assert_str_eq(text, "go");
	ck_assert_int_eq(smtp_line_parse("421-x", 5, &code, &last, &text), 0);
	ck_assert_int_eq(code, 421);
	ck_assert(!last);
	ck_assert_int_eq(smtp_line_parse("25", 2, &code, &last, &text), -SMTP_EBADLINE);
	ck_assert_ptr_nonnull(smtp_reply_strerror(-SMTP_ETOOBIG));
	ck_assert_str_eq(smtp_reply_strerror(-SMTP_ELONGLINE), "reply line longer than 4096 bytes");
}
END_TEST

START_TEST(ehlo_standard)
{
	struct smtp_ehlo e;
	ck_assert_int_eq(ehlo("250-mail.example.test Hello client\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
			      "250-AUTH PLAIN LOGIN\r\n250 STARTTLS\r\n", &e), 0);
	ck_assert_str_eq(e.domain, "mail.example.test");
	ck_assert_uint_eq(e.n_ext, 4);
	ck_assert_str_eq(e.ext[1], "SIZE 10240000");
	ck_assert_uint_eq(e.n_mechs, 2);
	ck_assert_str_eq(e.mechs[0], "PLAIN");
	ck_assert_str_eq(e.mechs[1], "LOGIN");
	ck_assert(e.starttls);
	ck_assert(e.auth);
	smtp_ehlo_free(&e);
}
END_TEST

START_TEST(ehlo_old_auth_form)
{
	struct smtp_ehlo e;
	ck_assert_int_eq(ehlo("250-x\r\n250-AUTH=LOGIN PLAIN\r\n250 8BITMIME\r\n", &e), 0);
	ck_assert_uint_eq(e.n_mechs, 2);
	ck_assert_str_eq(e.mechs[0], "LOGIN");
	ck_assert_str_eq(e.mechs[1], "PLAIN");
	ck_assert(!e.starttls);
	smtp_ehlo_free(&e);
}
END_TEST

START_TEST(ehlo_lowercase)
{
	struct smtp_ehlo e;
	ck_assert_int_eq(ehlo("250-x\r\n250-auth plain login\r\n250 starttls\r\n", &e), 0);
	ck_assert_uint_eq(e.n_mechs, 2);
	ck_assert_str_eq(e.mechs[0], "PLAIN");
	ck_assert_str_eq(e.mechs[1], "LOGIN");
	ck_assert_str_eq(e.ext[0], "AUTH plain login");  /* keyword upper-cased, parameters as sent */
	ck_assert(e.starttls);
	ck_assert(smtp_ehlo_has_mech(&e, "login"));
	ck_assert(!smtp_ehlo_has_mech(&e, "CRAM-MD5"));
	smtp_ehlo_free(&e);
}
END_TEST

START_TEST(ehlo_several_auth_lines)
{
	struct smtp_ehlo e;
	ck_assert_int_eq(ehlo("250-x\r\n250-AUTH PLAIN LOGIN\r\n250-AUTH=LOGIN\r\n250-Auth cram-md5 plain\r\n"
			      "250 AUTH\tXOAUTH2   SCRAM-SHA-256 \r\n", &e), 0);
	ck_assert_uint_eq(e.n_mechs, 5);
	const char *want[] = { "PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "SCRAM-SHA-256" };
	for (size_t i = 0; i < 5; i++)
		ck_assert_str_eq(e.mechs[i], want[i]);
	ck_assert_str_eq(e.ext[3], "AUTH\tXOAUTH2   SCRAM-SHA-256");  /* trailing blank trimmed */
	smtp_ehlo_free(&e);
}
END_TEST

START_TEST(ehlo_bad_mechanisms_ignored)
{
	struct smtp_ehlo e;
	ck_assert_int_eq(ehlo("250-x\r\n250-AUTH PLAIN <script> A-MECHANISM-NAME-TOO-LONG LOG/IN LOGIN\r\n"
			      "250 AUTH\r\n", &e), 0);
	ck_assert_uint_eq(e.n_mechs, 2);
	ck_assert_str_eq(e.mechs[0], "PLAIN");
	ck_assert_str_eq(e.mechs[1], "LOGIN");
	ck_assert(e.auth);
	smtp_ehlo_free(&e);

	ck_assert_int_eq(ehlo("250-x\r\n250 AUTH\r\n", &e), 0);
	ck_assert(e.auth);
	ck_assert_uint_eq(e.n_mechs, 0);
	smtp_ehlo_free(&e);
}
END_TEST

START_TEST(ehlo_lookalike_keywords)
{
	struct smtp_ehlo e;
	ck_assert_int_eq(ehlo("250-x\r\n250-AUTHX PLAIN\r\n250-X-AUTH LOGIN\r\n250-STARTTLSX\r\n"
			      "250 STARTTLS now\r\n", &e), 0);
	ck_assert(!e.auth);
	ck_assert_uint_eq(e.n_mechs, 0);
	ck_assert(!e.starttls);
	ck_assert_uint_eq(e.n_ext, 4);
	smtp_ehlo_free(&e);
}
END_TEST

START_TEST(ehlo_no_extensions)
{
	struct smtp_ehlo e;
	ck_assert_int_eq(ehlo("250 mail.example.test\r\n", &e), 0);
	ck_assert_str_eq(e.domain, "mail.example.test");
	ck_assert_uint_eq(e.n_ext, 0);
	ck_assert_uint_eq(e.n_mechs, 0);
	smtp_ehlo_free(&e);
	ck_assert_int_eq(ehlo("250-x\r\n250-   \r\n250 \r\n", &e), 0);  /* blank lines are skipped */
	ck_assert_uint_eq(e.n_ext, 0);
	smtp_ehlo_free(&e);
}
END_TEST

START_TEST(ehlo_not_250)
{
	struct smtp_ehlo e;
	ck_assert_int_eq(ehlo("502 5.5.2 Error: command not recognized\r\n", &e), -EINVAL);
	ck_assert_ptr_null(e.domain);
	struct smtp_reply r = { 0 };
	size_t used;
	ck_assert_int_eq(feed("250-x\r\n", &r, &used), 0);
	ck_assert_int_eq(smtp_ehlo_parse(&r, &e), -EINVAL);  /* incomplete */
	smtp_reply_free(&r);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("smtp_reply");
	TCase *t = tcase_create("reply");
	tcase_add_test(t, single_line);
	tcase_add_test(t, multi_line);
	tcase_add_test(t, bare_code_and_empty_text);
	tcase_add_test(t, bare_lf_accepted);
	tcase_add_test(t, partial_then_rest);
	tcase_add_test(t, byte_by_byte);
	tcase_add_test(t, leftover_after_reply);
	tcase_add_loop_test(t, bad_line, 0, (int)(sizeof(bad_lines) / sizeof(bad_lines[0])));
	tcase_add_test(t, nul_byte);
	tcase_add_test(t, partial_garbage);
	tcase_add_test(t, mixed_codes);
	tcase_add_test(t, long_line);
	tcase_add_test(t, too_many_lines);
	tcase_add_test(t, too_many_bytes);
	tcase_add_test(t, non_ascii_replaced);
	tcase_add_test(t, line_parse);
	suite_add_tcase(s, t);

	t = tcase_create("ehlo");
	tcase_add_test(t, ehlo_standard);
	tcase_add_test(t, ehlo_old_auth_form);
	tcase_add_test(t, ehlo_lowercase);
	tcase_add_test(t, ehlo_several_auth_lines);
	tcase_add_test(t, ehlo_bad_mechanisms_ignored);
	tcase_add_test(t, ehlo_lookalike_keywords);
	tcase_add_test(t, ehlo_no_extensions);
	tcase_add_test(t, ehlo_not_250);
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
