/* SMTP reply and EHLO parsing: pure functions over bytes, bounded, strict about syntax. */
#include "smtp_reply.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "strv.h"
#include "util.h"

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_blank(char c) { return c == ' ' || c == '\t'; }
static bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static char to_upper(char c) { return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c; }

/* C0 controls and DEL have no business in reply text (RFC 5321 textstring is HT and 32..126); they
 * are what binary garbage is made of, and they would reach the admin's terminal. Bytes >= 0x80
 * are tolerated (some banners carry UTF-8) but replaced when copied, see copy_text(). */
static bool is_bad_byte(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }

int smtp_line_parse(const char *line, size_t len, int *code, bool *last, const char **text)
{
	/* RFC 5321 4.2: first digit 2..5, second 0..5, third 0..9. */
	if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' || !is_digit(line[2]))
		return -SMTP_EBADLINE;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return -SMTP_EBADLINE;  /* "2500", "250X": not a code followed by SP or "-" */
	for (size_t i = 3; i < len; i++)
		if (is_bad_byte((unsigned char)line[i]))
			return -SMTP_EBADLINE;
	*code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	*last = len == 3 || line[3] == ' ';
	*text = len > 3 ? line + 4 : line + 3;
	return 0;
}

/* Whether the start of a line that has not ended yet can still become a valid reply line, so that
 * a server talking HTTP or binary is refused at once instead of after the timeout. */
static bool partial_line_ok(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '\r' && i == n - 1)
			break;  /* the CR of a CRLF split across reads */
		if (i == 0 && (c < '2' || c > '5'))
			return false;
		if (i == 1 && (c < '0' || c > '5'))
			return false;
		if (i == 2 && !is_digit(c))
			return false;
		if (i == 3 && c != ' ' && c != '-')
			return false;
		if (i >= 3 && is_bad_byte((unsigned char)c))
			return false;
	}
	return true;
}

/* A NUL-terminated copy of reply text with non-ASCII bytes replaced by '?': what we keep is meant to
 * be printed and compared, and a lone high byte could be half of a terminal escape sequence. */
static char *copy_text(const char *text, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++)
		s[i] = (unsigned char)text[i] >= 0x80 ? '?' : text[i];
	s[n] = '\0';
	return s;
}

static int reply_add_line(struct smtp_reply *r, const char *line, size_t len)
{
	int code;
	bool last;
	const char *text;
	int k = smtp_line_parse(line, len, &code, &last, &text);
	if (k < 0)
		return k;
	if (r->n_lines > 0 && code != r->code)
		return -SMTP_EMIXED;

	char **lines = realloc(r->lines, (r->n_lines + 1) * sizeof(char *));
	if (!lines)
		return -ENOMEM;
	r->lines = lines;
	if (!(lines[r->n_lines] = copy_text(text, len - (size_t)(text - line))))
		return -ENOMEM;
	r->n_lines++;
	r->code = code;
	r->complete = last;
	return 0;
}

int smtp_reply_feed(struct smtp_reply *r, const char *buf, size_t len, size_t *used)
{
	*used = 0;
	if (r->complete)
		return 1;
	while (*used < len) {
		const char *line = buf + *used;
		size_t avail = len - *used;
		const char *nl = memchr(line, '\n', avail);
		if (!nl) {
			/* Too long already, unless the one byte over is the CR of a full-length line. */
			if (avail > SMTP_LINE_MAX && !(avail == SMTP_LINE_MAX + 1 && line[avail - 1] == '\r'))
				return -SMTP_ELONGLINE;
			return partial_line_ok(line, avail) ? 0 : -SMTP_EBADLINE;
		}
		size_t total = (size_t)(nl - line) + 1, n = total - 1;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n > SMTP_LINE_MAX)
			return -SMTP_ELONGLINE;
		if (r->n_lines >= SMTP_REPLY_MAX_LINES || r->bytes + total > SMTP_REPLY_MAX_BYTES)
			return -SMTP_ETOOBIG;
		int k = reply_add_line(r, line, n);
		if (k < 0)
			return k;
		r->bytes += total;
		*used += total;
		if (r->complete)
			return 1;
	}
	return 0;
}

void smtp_reply_free(struct smtp_reply *r)
{
	for (size_t i = 0; i < r->n_lines; i++)
		free(r->lines[i]);
	free(r->lines);
	*r = (struct smtp_reply){ 0 };
}

const char *smtp_reply_strerror(int r)
{
	switch (-r) {
	case SMTP_EBADLINE: return "not an SMTP reply line";
	case SMTP_EMIXED: return "reply lines carry different reply codes";
	case SMTP_ELONGLINE: return "reply line longer than 4096 bytes";
	case SMTP_ETOOBIG: return "reply longer than 200 lines or 64 KiB";
	case ENOMEM: return "out of memory";
	default: return "unexpected reply";
	}
}

bool smtp_ehlo_has_mech(const struct smtp_ehlo *e, const char *mech)
{
	for (size_t i = 0; i < e->n_mechs; i++)
		if (strcasecmp(e->mechs[i], mech) == 0)
			return true;
	return false;
}

/* RFC 4422 3.1 sasl-mech: 1*20 of upper-case letters, digits, '-' and '_' (we accept lower case
 * and upper-case it: servers do send "auth plain"). */
static bool mech_valid(const char *s, size_t n)
{
	if (n == 0 || n > SMTP_MECH_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

/* The mechanisms listed in P (after "AUTH" and its SP or "="), added to E once each. */
static int add_mechs(struct smtp_ehlo *e, const char *p)
{
	while (*p) {
		while (is_blank(*p) || *p == '=')
			p++;
		size_t n = 0;
		while (p[n] && !is_blank(p[n]))
			n++;
		if (n == 0)
			break;
		char name[SMTP_MECH_MAX + 1];
		if (mech_valid(p, n)) {
			for (size_t i = 0; i < n; i++)
				name[i] = to_upper(p[i]);
			name[n] = '\0';
			if (!smtp_ehlo_has_mech(e, name)) {
				int k = strv_push_n(&e->mechs, &e->n_mechs, name, n);
				if (k < 0)
					return k;
			}
		}
		p += n;
	}
	return 0;
}

/* One extension line: trimmed, keyword upper-cased, AUTH and STARTTLS recognised. */
static int add_extension(struct smtp_ehlo *e, const char *text)
{
	while (is_blank(*text))
		text++;
	size_t n = strlen(text);
	while (n > 0 && is_blank(text[n - 1]))
		n--;
	if (n == 0)
		return 0;
	int k = strv_push_n(&e->ext, &e->n_ext, text, n);
	if (k < 0)
		return k;
	char *line = e->ext[e->n_ext - 1];
	size_t kw;
	for (kw = 0; is_alnum(line[kw]) || line[kw] == '-'; kw++)
		line[kw] = to_upper(line[kw]);

	if (kw == 8 && strncmp(line, "STARTTLS", 8) == 0 && line[kw] == '\0')
		e->starttls = true;
	/* "AUTH PLAIN LOGIN" (RFC 4954) or "AUTH=PLAIN LOGIN" (pre-standard, still sent for old
	 * Outlook clients). "AUTHX" is some other keyword. */
	if (kw == 4 && strncmp(line, "AUTH", 4) == 0 && (line[4] == '\0' || is_blank(line[4]) || line[4] == '=')) {
		e->auth = true;
		return add_mechs(e, line + 4);
	}
	return 0;
}

int smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ehlo *e)
{
	*e = (struct smtp_ehlo){ 0 };
	if (!r->complete || r->code != 250 || r->n_lines == 0)
		return -EINVAL;

	const char *first = r->lines[0];
	while (is_blank(*first))
		first++;
	size_t n = 0;
	while (first[n] && !is_blank(first[n]))
		n++;
	int k = 0;
	if (!(e->domain = strndup(first, n)))
		k = -ENOMEM;
	for (size_t i = 1; k == 0 && i < r->n_lines; i++)
		k = add_extension(e, r->lines[i]);
	if (k < 0)
		smtp_ehlo_free(e);
	return k;
}

void smtp_ehlo_free(struct smtp_ehlo *e)
{
	free(e->domain);
	strv_free(e->ext);
	strv_free(e->mechs);
	*e = (struct smtp_ehlo){ 0 };
}
