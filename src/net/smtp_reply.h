/* SMTP replies (RFC 5321 4.2) and EHLO responses (RFC 5321 4.1.1.1, RFC 4954), parsed from bytes
 * already received: no I/O here, so every hostile input can be fed from a unit test or a fuzzer.
 *
 * A server is untrusted input: every reply is bounded (line length, number of lines, total bytes),
 * and anything that is not reply syntax is refused instead of being guessed at. */
#pragma once
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

/* RFC 5321 4.5.3.1.5 allows 512 octets per reply line; real servers stay far below, but a long
 * banner or a long AUTH list is not an attack, so be generous and bounded. */
#define SMTP_LINE_MAX 4096        /* bytes of one line, without its CRLF */
#define SMTP_REPLY_MAX_LINES 200  /* an EHLO reply has ~15 lines; 200 means "endless" */
#define SMTP_REPLY_MAX_BYTES (64u * 1024u)
/* RFC 4422 3.1: a SASL mechanism name is 1 to 20 characters of [A-Z0-9-_]. */
#define SMTP_MECH_MAX 20

/* One reply: a code and the text of each line (after "NNN-" / "NNN "). Filled line by line by
 * smtp_reply_feed(); free with smtp_reply_free(). */
struct smtp_reply {
	int code;       /* 200..599, 0 until the first line arrived */
	char **lines;   /* n_lines texts, NUL-terminated, printable ASCII/UTF-8 and TAB only */
	size_t n_lines;
	size_t bytes;   /* bytes consumed so far, CRLFs included (bounded by SMTP_REPLY_MAX_BYTES) */
	bool complete;  /* the last line ("NNN " or bare "NNN") was seen */
};

/* Errors returned (negated) by the parser; smtp_reply_strerror() turns them into words. */
enum {
	SMTP_EBADLINE = EBADMSG,  /* not "NNN-text" / "NNN text" / "NNN", or control bytes in it */
	SMTP_EMIXED = EPROTO,     /* lines of one reply carry different codes */
	SMTP_ELONGLINE = EMSGSIZE,/* a line longer than SMTP_LINE_MAX */
	SMTP_ETOOBIG = E2BIG,     /* more than SMTP_REPLY_MAX_LINES lines or SMTP_REPLY_MAX_BYTES */
};

/* Split one line (without CRLF) into code, "is last line" and text. Returns 0 or -SMTP_EBADLINE.
 * *text points into LINE. */
int smtp_line_parse(const char *line, size_t len, int *code, bool *last, const char **text);

/* Consume the complete lines at the front of BUF[0..LEN) into R, up to and including the last line
 * of the reply. *used tells how many bytes were consumed (also on error, where BUF + *used is the
 * offending line). Returns 1 when the reply is complete, 0 when more bytes are needed (the partial
 * line stays unconsumed), or a negative SMTP_E* errno. Lines end in CRLF; a bare LF is accepted
 * because being strict here would only make the probe fail where Postfix would not. */
int smtp_reply_feed(struct smtp_reply *r, const char *buf, size_t len, size_t *used);

void smtp_reply_free(struct smtp_reply *r);

/* What an smtp_reply_feed() error means, for messages ("reply line longer than 4096 bytes"). */
const char *smtp_reply_strerror(int r);

/* An EHLO response taken apart. */
struct smtp_ehlo {
	char *domain;   /* the server's name: first word of the first line */
	char **ext;     /* each following line as sent, keyword upper-cased ("SIZE 10240000") */
	size_t n_ext;
	char **mechs;   /* SASL mechanisms of every AUTH line, upper-cased, deduplicated, in order */
	size_t n_mechs;
	bool starttls;  /* STARTTLS keyword present */
	bool auth;      /* some AUTH line present (even with no valid mechanism on it) */
};

/* Parse a complete 250 EHLO reply. Returns 0, -EINVAL when R is not a complete 250 reply, or
 * -ENOMEM. Both "AUTH PLAIN LOGIN" and the pre-RFC "AUTH=LOGIN PLAIN" forms count; mechanism
 * names that are not RFC 4422 syntax are ignored rather than trusted. */
int smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ehlo *e);
void smtp_ehlo_free(struct smtp_ehlo *e);

/* True when E offers mechanism MECH (case-insensitive). */
bool smtp_ehlo_has_mech(const struct smtp_ehlo *e, const char *mech);
