/* The one JSON writer (json.h). */
#include "json.h"

#include <stdint.h>

#include "util.h"

/* Length of the valid UTF-8 sequence at S (1..4), or 0 when the byte at S does not start one. */
static size_t utf8_len(const unsigned char *s, size_t left)
{
	uint32_t cp;
	size_t n;
	if (s[0] < 0x80)
		return 1;
	else if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

json_t *js_stringn(const char *s, size_t len)
{
	if (!s)
		return json_null();
	const unsigned char *p = (const unsigned char *)s;
	size_t valid = 0, n;
	while (valid < len && p[valid] && (n = utf8_len(p + valid, len - valid)) > 0)
		valid += n;
	if (valid == len)
		return json_stringn_nocheck(s, len);
	/* Each bad byte (3 bytes of U+FFFD) replaces one: at most three times the length. */
	_cleanup_free_ char *buf = malloc(len * 3 + 1);
	if (!buf)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		n = p[i] ? utf8_len(p + i, len - i) : 0;
		if (n == 0) {
			memcpy(buf + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		} else {
			memcpy(buf + o, p + i, n);
			o += n;
			i += n;
		}
	}
	return json_stringn_nocheck(buf, o);
}

json_t *js_string(const char *s)
{
	return s ? js_stringn(s, strlen(s)) : json_null();
}

int js_set(json_t *obj, const char *key, json_t *value)
{
	if (!value)
		return -ENOMEM;
	return json_object_set_new(obj, key, value) < 0 ? -ENOMEM : 0;
}

int js_set_str(json_t *obj, const char *key, const char *value) { return js_set(obj, key, js_string(value)); }
int js_set_bool(json_t *obj, const char *key, bool value) { return js_set(obj, key, json_boolean(value)); }
int js_set_int(json_t *obj, const char *key, long long value) { return js_set(obj, key, json_integer(value)); }

int js_push(json_t *arr, json_t *value)
{
	if (!value)
		return -ENOMEM;
	return json_array_append_new(arr, value) < 0 ? -ENOMEM : 0;
}

int js_push_str(json_t *arr, const char *value) { return js_push(arr, js_string(value)); }

int js_print(const json_t *j, FILE *f)
{
	/* JSON_COMPACT: one line per run, what `jq -c` and line-oriented readers expect. */
	if (json_dumpf(j, f, JSON_COMPACT) < 0 || fputc('\n', f) == EOF || fflush(f) != 0)
		return -EIO;
	return 0;
}
