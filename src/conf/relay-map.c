/* The relay's password map: its path, its key and its lines (see relay-map.h). */
#include "relay-map.h"

#include <strings.h>

#include "util.h"

int relay_key(const char *host, struct hostport *hp, char key[HOSTPORT_FORMAT_MAX], const char **why)
{
	*why = NULL;
	if (!host || hostport_parse(host, 587, hp, why) < 0 || hostport_format(hp, key, HOSTPORT_FORMAT_MAX) < 0)
		return -EINVAL;
	return 0;
}

char *relay_map_path(const struct target *t, const struct relay_settings *o)
{
	return o->password_map ? strdup(o->password_map) : strdup_printf("%s/ispinfo", t->postfix_dir);
}

/* W gets "KEY USER:PASSWORD\n"; returns the end. */
static char *put_entry(char *w, const char *key, const char *user, const struct secret *pw)
{
	w += sprintf(w, "%s %s:", key, user);
	memcpy(w, pw->data, pw->len);
	w += pw->len;
	*w++ = '\n';
	return w;
}

int relay_map_with_line(const char *text, size_t len, const char *key, const char *user, const struct secret *pw,
			char **out, size_t *out_len)
{
	size_t klen = strlen(key), ulen = strlen(user);
	size_t cap = len + klen + ulen + pw->len + 8; /* line, newlines, NUL */
	char *buf = malloc(cap), *w = buf;
	bool placed = false, skipping = false;
	if (!buf)
		return -ENOMEM;
	for (const char *l = text; l < text + len;) {
		const char *nl = memchr(l, '\n', (size_t)(text + len - l));
		size_t ll = nl ? (size_t)(nl - l) + 1 : (size_t)(text + len - l);
		bool continuation = l[0] == ' ' || l[0] == '\t';
		size_t tok = strcspn(l, " \t\n");
		/* postmap folds keys to lower case: [SMTP.ISP.EXAMPLE]:587 is the same entry. */
		bool ours = !continuation && l[0] != '#' && tok == klen && tok < ll && strncasecmp(l, key, klen) == 0;
		if (continuation && skipping) {
			l += ll;
			continue;
		}
		skipping = ours;
		if (ours && !placed) {
			w = put_entry(w, key, user, pw);
			placed = true;
		} else if (!ours) {
			memcpy(w, l, ll);
			w += ll;
			if (!nl)
				*w++ = '\n'; /* the last line gets its newline */
		}
		l += ll;
	}
	if (!placed)
		w = put_entry(w, key, user, pw);
	*w = '\0';
	*out = buf;
	*out_len = (size_t)(w - buf);
	return 0;
}

int relay_map_holds(const char *text, size_t len, const char *key, const char *user, const struct secret *pw,
		    bool *same)
{
	char *want;
	size_t n;
	int r = relay_map_with_line(text, len, key, user, pw, &want, &n);
	if (r < 0)
		return r;
	*same = n == len && memcmp(want, text, n) == 0;
	explicit_bzero(want, n);
	free(want);
	return 0;
}
