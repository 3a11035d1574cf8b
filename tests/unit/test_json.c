/* Unit tests of json.c: every string op25b prints as JSON is valid UTF-8 (paths and server replies
 * are bytes), escaped where JSON wants it. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* The JSON text of the N bytes at S (NULL: null). */
static char *json(const char *s, size_t n)
{
	json_t *j = s ? js_stringn(s, n) : js_string(NULL);
	ck_assert_ptr_nonnull(j);
	char *out = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
	ck_assert_ptr_nonnull(out);
	json_decref(j);
	return out;
}

#define FFFD "\xef\xbf\xbd"
#define ck_json(in, want) do {                                  \
	char *_j = json(in, sizeof(in) - 1);                    \
	ck_assert_str_eq(_j, want);                             \
	free(_j);                                               \
} while (0)

START_TEST(json_escape)
{
	char *j = json(NULL, 0);
	ck_assert_str_eq(j, "null");
	free(j);
	ck_json("", "\"\"");
	ck_json("plain", "\"plain\"");
	ck_json("a\"b\\c", "\"a\\\"b\\\\c\"");
	ck_json("l1\nl2\r\t", "\"l1\\nl2\\r\\t\"");
	ck_json("\x01\x1f", "\"\\u0001\\u001F\"");
	ck_json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7\"");
	ck_json("\xff", "\"" FFFD "\"");
	ck_json("/etc/postfix\xff\xc3(x", "\"/etc/postfix" FFFD FFFD "(x\"");
	ck_json("\xc0\xaf", "\"" FFFD FFFD "\"");              /* overlong '/' */
	ck_json("\xed\xa0\x80", "\"" FFFD FFFD FFFD "\"");     /* surrogate */
	ck_json("\xf4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\""); /* above U+10FFFF */
	ck_json("\xc3", "\"" FFFD "\"");                       /* truncated at the end */
	ck_json("a\xe2\x82", "\"a" FFFD FFFD "\"");
	ck_json("a\0b", "\"a" FFFD "b\"");                     /* a NUL would cut C readers short */
}
END_TEST

START_TEST(json_set_and_print)
{
	json_t *o = json_object(), *a = json_array();
	ck_assert_int_eq(js_set_str(o, "path", "/x\xfe"), 0);
	ck_assert_int_eq(js_set_bool(o, "changed", true), 0);
	ck_assert_int_eq(js_set_int(o, "schema", OP25B_JSON_SCHEMA), 0);
	ck_assert_int_eq(js_push_str(a, NULL), 0);
	ck_assert_int_eq(js_set(o, "list", a), 0);
	ck_assert_int_eq(js_set(o, "gone", NULL), -ENOMEM);
	char *out = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&out, &size);
	ck_assert_int_eq(js_print(o, f), 0);
	fclose(f);
	ck_assert_str_eq(out, "{\"path\":\"/x" FFFD "\",\"changed\":true,\"schema\":1,\"list\":[null]}\n");
	free(out);
	json_decref(o);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("json");
	TCase *t = tcase_create("json");
	tcase_add_test(t, json_escape);
	tcase_add_test(t, json_set_and_print);
	suite_add_tcase(s, t);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
