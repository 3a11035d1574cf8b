/* verify --send-test: one real message through the local submission service (STARTTLS, then AUTH
 * PLAIN with the given user's password), its queue ID from the 250 reply, and its fate from the
 * mail log. The password is read from a strict file or stdin, sent only inside TLS, and wiped. */
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <time.h>

#include "maillog-journal.h"
#include "secret.h"
#include "tlsconn.h"
#include "rootfs.h"
#include "util.h"
#include "verify.h"

#define LOG_TAIL_MAX (512u * 1024u) /* bytes of the mail log looked at */
#define LOG_WAIT_MAX 60u            /* seconds to wait for the delivery status */

static void smtp_reply_freep(struct smtp_reply *r)
{
	smtp_reply_free(r);
}

static void secret_wipep(struct secret *s)
{
	secret_wipe(s);
}

/* "AUTH PLAIN base64(\0user\0password)" (RFC 4616, empty authorization identity). */
static char *auth_plain(const char *user, const struct secret *pw)
{
	size_t ul = strlen(user), n = 2 + ul + pw->len;
	_cleanup_free_ unsigned char *raw = malloc(n);
	char *cmd = malloc(11 + 4 * ((n + 2) / 3) + 1);
	if (!raw || !cmd) {
		free(cmd);
		return NULL;
	}
	raw[0] = '\0';
	memcpy(raw + 1, user, ul);
	raw[1 + ul] = '\0';
	memcpy(raw + 2 + ul, pw->data, pw->len);
	memcpy(cmd, "AUTH PLAIN ", 11);
	EVP_EncodeBlock((unsigned char *)cmd + 11, raw, (int)n);
	explicit_bzero(raw, n);
	return cmd;
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* "queued as 4XyZ1" in the final 250 reply (Postfix's wording). */
static char *queue_id_of(const struct smtp_reply *r)
{
	for (size_t i = 0; i < r->n_lines; i++) {
		const char *p = strstr(r->lines[i], "queued as ");
		if (!p)
			continue;
		p += 10;
		size_t n = strspn(p, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
		if (n > 0)
			return strndup(p, n);
	}
	return NULL;
}

/* The message itself: headers that say what it is, CRLF line ends, no line starting with a dot. */
static char *message(const char *from, const char *to)
{
	char date[64], host[128];
	time_t now = time(NULL);
	struct tm tm;
	if (!localtime_r(&now, &tm) || strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		snprintf(date, sizeof(date), "Thu, 01 Jan 1970 00:00:00 +0000");
	if (gethostname(host, sizeof(host)) < 0 || !memchr(host, '\0', sizeof(host)) || !is_config_token(host))
		snprintf(host, sizeof(host), "localhost");
	return strdup_printf("From: <%s>\r\nTo: <%s>\r\nSubject: op25b verify --send-test from %s\r\nDate: %s\r\n"
			     "Message-ID: <op25b-verify.%lld.%d@%s>\r\nMIME-Version: 1.0\r\n"
			     "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
			     "This message was submitted by 'op25b verify --send-test' on %s to check that mail\r\n"
			     "submitted by an authenticated client is delivered. It needs no answer.\r\n.\r\n",
			     from, to, host, date, (long long)now, (int)getpid(), host, host);
}

/* Submit on PORT (587: STARTTLS first; 465: implicit TLS). 0 with *qid (may stay NULL), or a failure
 * text in *why. */
static int submit(const struct target *t, const struct verify_settings *o, const char *host, unsigned port,
		  const struct verify_config *vc, const struct secret *pw, char **qid, char **why)
{
	_cleanup_(tlsconn_close) struct tlsconn c = TLSCONN_INIT;
	_cleanup_(smtp_reply_freep) struct smtp_reply g = { 0 }, e1 = { 0 }, st = { 0 }, e2 = { 0 }, a = { 0 },
		m = { 0 }, rc = { 0 }, d = { 0 }, end = { 0 }, q = { 0 };
	const char *from = strchr(o->user, '@') ? o->user : o->send_test;
	int r;

	*qid = *why = NULL;
#define STEP_FAIL(...) do { *why = strdup_printf(__VA_ARGS__); return -EPROTO; } while (0)
	if (tlsconn_open(&c, host, port, t->timeout_sec) < 0 || (port == 465 && tlsconn_start_tls(&c, host) < 0))
		STEP_FAIL("%u: %s", port, c.err);
	c.expect = "the 220 greeting";
	if (tlsconn_read_reply(&c, &g) < 0)
		STEP_FAIL("%u: %s", port, c.err);
	if (g.code != 220)
		STEP_FAIL("%u: greeting %d %s", port, g.code, g.lines[0]);
	if (port != 465) {
		if (tlsconn_command(&c, "EHLO op25b-verify.invalid", NULL, &e1) < 0)
			STEP_FAIL("%u: %s", port, c.err);
		if ((r = tlsconn_command(&c, "STARTTLS", NULL, &st)) < 0 || st.code != 220)
			STEP_FAIL("%u: STARTTLS %s: not sending a password without TLS", port,
				  r < 0 ? c.err : st.lines[0]);
		if (c.len > 0 || tlsconn_start_tls(&c, host) < 0)
			STEP_FAIL("%u STARTTLS: %s", port, c.len > 0 ? "bytes after the 220 (response injection?)" : c.err);
	}
	/* The password goes only to the server that presents the configured certificate, checked on
	 * this very connection (another one may have reached another server). */
	char served[65];
	_cleanup_free_ char *subject = NULL, *words = NULL;
	bool same = false;
	if (tlsconn_peer_cert(&c, served, &subject) < 0)
		STEP_FAIL("%u: not sending the password: the server presented no certificate", port);
	words = verify_cert_words(t->root, vc->smtpd_cert, served, subject, &same);
	if (!same)
		STEP_FAIL("%u: not sending the password: %s", port, words ? words : "its certificate cannot be checked");
	if (tlsconn_command(&c, "EHLO op25b-verify.invalid", NULL, &e2) < 0 || e2.code != 250)
		STEP_FAIL("%u: EHLO %s", port, c.err[0] ? c.err : e2.lines[0]);

	char *cmd = auth_plain(o->user, pw);
	if (!cmd)
		return -ENOMEM;
	r = tlsconn_command(&c, cmd, "AUTH PLAIN (credentials not shown)", &a);
	wipe_free(cmd);
	if (r < 0)
		STEP_FAIL("%u AUTH: %s", port, c.err);
	if (a.code != 235)
		STEP_FAIL("%u AUTH as %s refused: %d %s", port, o->user, a.code, a.lines[0]);

	_cleanup_free_ char *mail = strdup_printf("MAIL FROM:<%s>", from);
	_cleanup_free_ char *rcpt = strdup_printf("RCPT TO:<%s>", o->send_test);
	_cleanup_free_ char *msg = message(from, o->send_test);
	if (!mail || !rcpt || !msg)
		return -ENOMEM;
	if (tlsconn_command(&c, mail, NULL, &m) < 0 || m.code / 100 != 2)
		STEP_FAIL("%u %s: %s", port, mail, c.err[0] ? c.err : m.lines[0]);
	if (tlsconn_command(&c, rcpt, NULL, &rc) < 0 || rc.code / 100 != 2)
		STEP_FAIL("%u %s: %d %s", port, rcpt, rc.code, c.err[0] ? c.err : rc.lines[0]);
	if (tlsconn_command(&c, "DATA", NULL, &d) < 0 || d.code != 354)
		STEP_FAIL("%u DATA: %s", port, c.err[0] ? c.err : d.lines[0]);
	c.expect = "the reply to the message";
	if (tlsconn_send(&c, msg, strlen(msg)) < 0 || tlsconn_read_reply(&c, &end) < 0)
		STEP_FAIL("%u: %s", port, c.err);
	if (end.code / 100 != 2)
		STEP_FAIL("%u: message refused: %d %s", port, end.code, end.lines[0]);
	*qid = queue_id_of(&end);
	if (!*qid)
		*why = strdup_printf("%d %s", end.code, end.lines[end.n_lines - 1]);
	tlsconn_command(&c, "QUIT", NULL, &q);
#undef STEP_FAIL
	return 0;
}

/* The last line of the log tail (at most LOG_TAIL_MAX bytes) that tells QID's fate, or NULL. */
static char *status_line(const char *root, const char *path, const char *qid, int *err)
{
	/* Beneath the root; a FIFO (or device) as maillog_file is refused, never read: it would block. */
	_cleanup_close_ int fd = root_open(root, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
	struct stat st;
	*err = fd == -ENXIO ? -ENOTREGULAR : fd < 0 ? fd : fd_verify_regular(fd, &st);
	if (*err < 0)
		return NULL;
	off_t start = st.st_size > (off_t)LOG_TAIL_MAX ? st.st_size - (off_t)LOG_TAIL_MAX : 0;
	size_t want = (size_t)(st.st_size - start);
	_cleanup_free_ char *buf = malloc(want + 1);
	if (!buf) {
		*err = -ENOMEM;
		return NULL;
	}
	ssize_t n = pread(fd, buf, want, start);
	if (n < 0) {
		*err = -errno;
		return NULL;
	}
	buf[n] = '\0';
	_cleanup_free_ char *key = strdup_printf(" %s: to=<", qid);
	const char *found = NULL;
	for (const char *p = buf; key && (p = strstr(p, key)); p++) {
		const char *eol = p + strcspn(p, "\n");
		if (memmem(p, (size_t)(eol - p), "status=", 7))
			found = p;
	}
	if (!found)
		return NULL;
	found += strlen(qid) + 3; /* from "to=<" on */
	return strndup(found, strcspn(found, "\n"));
}

void verify_send_test(const struct target *t, const struct verify_settings *o, const char *host, const struct verify_config *vc, struct checks *out)
{
	_cleanup_(secret_wipep) struct secret pw = { 0 };
	_cleanup_free_ char *qid = NULL, *why = NULL;
	unsigned port = vc->svc_587 ? 587 : vc->svc_465 ? 465 : 0;
	int r;

	if (port == 0) {
		checks_add(out, CHECK_FAIL, "send-test", "send-test: master.cf has neither 587 nor 465 enabled");
		return;
	}
	r = o->password_file ? secret_from_file(t->root, o->password_file, &pw)
			     : secret_from_stdin("--password-stdin", "Password of the mail user (not shown): ", &pw);
	if (r < 0) {
		checks_add(out, CHECK_FAIL, "send-test", "send-test: no usable password (see above)");
		return;
	}
	/* The journal's entries from a second before the submission on (the same clock). */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t submitted_usec = ((uint64_t)ts.tv_sec - 1) * 1000000u;
	if (submit(t, o, host, port, vc, &pw, &qid, &why) < 0) {
		checks_add(out, CHECK_FAIL, "send-test", "send-test to %s: %s", o->send_test, why ? why : "out of memory");
		return;
	}
	secret_wipe(&pw);
	if (!qid) {
		checks_add(out, CHECK_OK, "send-test", "send-test to %s accepted on %u (%s); no queue ID to follow",
			   o->send_test, port, why ? why : "");
		return;
	}
	const char *log = vc->maillog;
	_cleanup_free_ char *line = NULL;
	unsigned wait = t->timeout_sec < LOG_WAIT_MAX ? t->timeout_sec : LOG_WAIT_MAX;
	time_t until = time(NULL) + wait;
	int err = 0;
	while (log && !(line = status_line(t->root, log, qid, &err)) && err == 0 && time(NULL) < until)
		nanosleep(&(struct timespec){ .tv_nsec = 200 * 1000 * 1000 }, NULL);

	/* No mail log file: Postfix logs to the journal (RHEL, Fedora), unless --root names another
	 * system, whose journal this is not. */
	const char *where = vc->maillog;
	if (log && err == -ENOENT && !t->root_given) {
		where = "the journal";
		err = maillog_journal_find(qid, submitted_usec, until, &line);
		err = err < 0 ? err : 0;
	}
	struct check *c;
	if (!log || err) {
		/* Not seen is not OK: the delivery was not followed. */
		checks_add(out, CHECK_SKIP, "send-test", "send-test to %s queued as %s on %u; delivery not seen: %s %s: "
			   "look for %s in the mail log", o->send_test, qid, port, where ? where : "no mail log",
			   err == -ENODATA ? "has no mail entries" : err == -ENOENT && where == vc->maillog ? "does not exist" :
			   "cannot be read", qid);
	} else if (!line) {
		checks_add(out, CHECK_FAIL, "send-test", "send-test to %s queued as %s on %u; no delivery status in %s "
			   "within %u s", o->send_test, qid, port, where, wait);
	} else {
		bool sent = strstr(line, "status=sent") != NULL;
		checks_add(out, sent ? CHECK_OK : CHECK_FAIL, "send-test", "send-test to %s queued as %s on %u; %s: %s",
			   o->send_test, qid, port, where, line);
	}
	c = out->n ? &out->v[out->n - 1] : NULL;
	if (c && streq(c->id, "send-test"))
		c->queue_id = TAKE_PTR(qid);
}
