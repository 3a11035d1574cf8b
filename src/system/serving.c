/* Checking what a reloaded service presents (see serving.h). */
#include "serving.h"

#include "smtp_reply.h"
#include "tlsconn.h"
#include "util.h"

#define RETRY_USEC (50 * 1000ull)
/* One attempt never takes longer than this: a port answered by something else (a daemon that
 * never greets) does not eat the whole deadline in one go. */
#define ATTEMPT_MS 1500u

bool serving_listens(const char *host, unsigned port)
{
	struct tlsconn c;
	bool up = tlsconn_connect(&c, host, port, 1, TLSCONN_SHARE_DEADLINE, NULL) >= 0;
	tlsconn_abort(&c);
	return up;
}

/* One look: 1 when WANT was presented (and greeted), 0 when not (WHY says what instead). */
static int attempt(const char *host, unsigned port, bool smtp, const char *want, char *why, size_t size)
{
	struct tlsconn c;
	struct smtp_reply reply = { 0 };
	_cleanup_free_ char *subject = NULL;
	char sha[65];
	int r;

	r = tlsconn_connect(&c, host, port, 2, TLSCONN_SHARE_DEADLINE, NULL);
	if (r >= 0) {
		tlsconn_limit(&c, ATTEMPT_MS);
		r = tlsconn_start_tls(&c, host);
	}
	if (r >= 0)
		r = tlsconn_peer_cert(&c, sha, &subject);
	if (r < 0) {
		snprintf(why, size, "%s", c.err[0] ? c.err : strerror(-r));
		tlsconn_abort(&c);
		return r == -ENOMEM ? r : 0;
	}
	if (!streq(sha, want)) {
		snprintf(why, size, "presents another certificate (%s)", subject ? subject : "no subject");
		tlsconn_abort(&c);
		return 0;
	}
	if (smtp) {
		r = tlsconn_read_reply(&c, &reply);
		if (r < 0 || reply.code != 220) {
			snprintf(why, size, "presents the certificate but no SMTP greeting (%s)",
				 r < 0 ? (c.err[0] ? c.err : strerror(-r)) : "not 220");
			smtp_reply_free(&reply);
			tlsconn_abort(&c);
			return 0;
		}
		smtp_reply_free(&reply);
		(void)tlsconn_command(&c, "QUIT", NULL, &reply); /* politeness: the verdict is in */
		smtp_reply_free(&reply);
	}
	tlsconn_close(&c);
	return 1;
}

int serving_wait(struct serving_port *v, size_t n, uint64_t deadline)
{
	for (;;) {
		size_t left = 0;
		for (size_t i = 0; i < n; i++) {
			if (v[i].ok)
				continue;
			int r = attempt(v[i].host, v[i].port, v[i].smtp, v[i].want, v[i].why, sizeof v[i].why);
			if (r < 0)
				return r;
			if (r > 0) {
				v[i].ok = true;
				v[i].usec = now_usec();
			} else
				left++;
		}
		if (left == 0)
			return 0;
		if (now_usec() + RETRY_USEC >= deadline)
			return -ETIMEDOUT;
		sleep_usec(RETRY_USEC);
	}
}
