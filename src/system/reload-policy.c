/* Which changes a reload does not apply, and where Postfix's 465 answers (see reload-policy.h). */
#include "reload-policy.h"

#include "util.h"

/* Parameters a reload does not apply: the daemons read them once, when they start.
 * Postfix: postconf(5) says of inet_interfaces and inet_protocols "you need to stop and start
 * Postfix when this parameter changes" (master keeps its listening sockets); every other main.cf
 * and master.cf change op25b makes (TLS, SASL, relay keys, a service enabled) is read on
 * `postfix reload`, which also opens a newly enabled master.cf service.
 * Dovecot: base_dir holds the master's own sockets and pid file; `doveadm reload` re-reads every
 * other setting (ssl, ssl_cert/ssl_key, a new auth unix_listener), keeping open sessions.
 * op25b itself never writes any of these: they matter when a revert puts back or merges a file
 * that has them changed. */
static const char *const postfix_restart_only[] = { "inet_interfaces", "inet_protocols", NULL };
static const char *const dovecot_restart_only[] = { "base_dir", NULL };

char *reload_conf_value(const char *text, size_t len, const char *key, bool dovecot, bool *absent)
{
	size_t kl = strlen(key);
	const char *end = text + len, *val = NULL, *val_end = NULL;

	*absent = true;
	for (const char *l = text; l && l < end;) {
		const char *nl = memchr(l, '\n', (size_t)(end - l)), *le = nl ? nl : end, *p = l;
		if (dovecot)
			while (p < le && (*p == ' ' || *p == '\t'))
				p++;
		if ((size_t)(le - p) > kl && memcmp(p, key, kl) == 0) {
			const char *q = p + kl;
			while (q < le && (*q == ' ' || *q == '\t'))
				q++;
			if (q < le && *q == '=') {
				val = q + 1;
				val_end = le;
				/* Postfix: lines that start with white space continue the value. */
				while (!dovecot && val_end < end && val_end + 1 < end &&
				       (val_end[1] == ' ' || val_end[1] == '\t')) {
					const char *n2 = memchr(val_end + 1, '\n', (size_t)(end - val_end - 1));
					val_end = n2 ? n2 : end;
				}
			}
		}
		l = nl ? nl + 1 : NULL;
	}
	if (!val)
		return NULL;
	*absent = false;
	/* Normalised: white space runs (and the newlines of continuations) become one blank. */
	char *out = malloc((size_t)(val_end - val) + 1), *o = out;
	if (!out)
		return NULL;
	bool blank = true;
	for (const char *c = val; c < val_end; c++) {
		if (*c == ' ' || *c == '\t' || *c == '\n' || *c == '\r') {
			blank = true;
			continue;
		}
		if (blank && o > out)
			*o++ = ' ';
		blank = false;
		*o++ = *c;
	}
	*o = '\0';
	return out;
}

bool reload_restart_needed(const struct conf_file *f, bool dovecot)
{
	const char *const *keys = dovecot ? dovecot_restart_only : postfix_restart_only;
	const char *nt = f->remove ? "" : f->new;
	size_t nl = f->remove ? 0 : f->new_len;
	for (size_t i = 0; keys[i]; i++) {
		bool a_old, a_new;
		_cleanup_free_ char *o = reload_conf_value(f->old ? f->old : "", f->old ? f->old_len : 0, keys[i], dovecot, &a_old);
		_cleanup_free_ char *n = reload_conf_value(nt, nl, keys[i], dovecot, &a_new);
		if ((!a_old && !o) || (!a_new && !n))
			return true; /* out of memory: the safe answer */
		if (a_old != a_new || (!a_old && !streq(o, n))) {
			log_debug("%s: %s changed: a reload does not apply it", f->path, keys[i]);
			return true;
		}
	}
	return false;
}

/* A loopback address, a name for this host, or every address (Postfix's "all"). */
static bool answers_on_loopback(const char *tok, size_t n)
{
	static const char *const here[] = { "all", "loopback-only", "localhost", "::1", "[::1]" };
	for (size_t i = 0; i < ELEMENTSOF(here); i++)
		if (strlen(here[i]) == n && strncmp(tok, here[i], n) == 0)
			return true;
	return (n > 4 && strncmp(tok, "127.", 4) == 0) || tok[0] == '$';
}

char *reload_smtps_host(const char *main_cf, size_t len)
{
	bool absent;
	_cleanup_free_ char *v = reload_conf_value(main_cf, len, "inet_interfaces", false, &absent);
	if (absent)
		return strdup("localhost");
	if (!v)
		return NULL;
	const char *first = NULL;
	size_t first_n = 0;
	for (const char *t = v; *t;) {
		t += strspn(t, " ,");
		size_t n = strcspn(t, " ,");
		if (n == 0)
			break;
		if (answers_on_loopback(t, n))
			return strdup("localhost");
		if (!first) {
			first = t;
			first_n = n;
		}
		t += n;
	}
	if (!first)
		return strdup("localhost"); /* empty: Postfix's default, all */
	if (first[0] == '[' && first_n > 2 && first[first_n - 1] == ']') { /* [2001:db8::1] */
		first++;
		first_n -= 2;
	}
	return strndup(first, first_n);
}
