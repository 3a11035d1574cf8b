/* libFuzzer target: the SMTP reply and EHLO parsers (src/net/smtp_reply.h), fed the way the probe feeds
 * them: bytes arriving in chunks of any size, several replies in a row. Invariants checked: the
 * bounds of smtp_reply.h hold, "used" never points past the input, a complete 250 reply parses as
 * EHLO without error, and every mechanism reported is RFC 4422 syntax. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "smtp_reply.h"

static void check_ehlo(const struct smtp_reply *r)
{
	struct smtp_ehlo e = { 0 };
	int k = smtp_ehlo_parse(r, &e);
	if (r->code == 250 && r->complete)
		assert(k == 0 || k == -ENOMEM);
	else
		assert(k == -EINVAL);
	for (size_t i = 0; k == 0 && i < e.n_mechs; i++) {
		size_t n = strlen(e.mechs[i]);
		assert(n >= 1 && n <= SMTP_MECH_MAX);
		for (size_t c = 0; c < n; c++)
			assert((e.mechs[i][c] >= 'A' && e.mechs[i][c] <= 'Z') || (e.mechs[i][c] >= '0' && e.mechs[i][c] <= '9') ||
			       e.mechs[i][c] == '-' || e.mechs[i][c] == '_');
		assert(smtp_ehlo_has_mech(&e, e.mechs[i]));
	}
	smtp_ehlo_free(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The first byte chooses the chunk size (how the bytes trickle in from the network). */
	size_t chunk = size ? (size_t)data[0] % 64 + 1 : 1;
	const char *buf = (const char *)data + (size ? 1 : 0);
	size_t len = size ? size - 1 : 0, pos = 0, avail = 0;
	for (int replies = 0; replies < 16 && pos < len; replies++) {
		struct smtp_reply r = { 0 };
		int k = 0;
		for (;;) {
			if (avail < len)
				avail = avail + chunk > len ? len : avail + chunk;
			size_t used = 0;
			k = smtp_reply_feed(&r, buf + pos, avail - pos, &used);
			assert(used <= avail - pos);
			assert(r.n_lines <= SMTP_REPLY_MAX_LINES);
			assert(r.bytes <= SMTP_REPLY_MAX_BYTES + SMTP_LINE_MAX + 2);
			pos += used;
			if (k != 0 || avail == len)
				break;
		}
		if (k < 0)
			assert(smtp_reply_strerror(k) != NULL);
		if (k == 1) {
			assert(r.complete && r.code >= 200 && r.code <= 599);
			check_ehlo(&r);
		}
		smtp_reply_free(&r);
		if (k <= 0)
			break;
	}
	/* One line on its own, too. */
	int code;
	bool last;
	const char *text;
	if (smtp_line_parse(buf, strnlen(buf, len), &code, &last, &text) == 0)
		assert(code >= 100 && code <= 999 && text >= buf && text <= buf + len);
	return 0;
}
