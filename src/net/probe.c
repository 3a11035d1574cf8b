/* The SMTP submission probe: a small, non-blocking client with one deadline for the whole run.
 *
 * The connection is tlsconn.c's: every wait polls until the probe's deadline, also under TLS, so
 * no read, write or handshake can outlive the timeout, and replies are bounded by smtp_reply.c.
 * Failures leave one message, in probe.msg or else in the connection's err, printed once by
 * probe_run(). */
#include "probe.h"

#include <signal.h>
#include <stdint.h>

#include "hostport.h"
#include "tlsconn.h"
#include "util.h"

/* QUIT is a courtesy: never wait longer than this for its reply. */
#define QUIT_WAIT_MS 5000

struct probe {
	struct tlsconn c;
	const char *ca_root, *ca_file, *ca_path;  /* as tlsconn.h's */
	char msg[512];          /* the failure, as the probe saw it (the connection's own are in c.err) */
};

_printf_(3, 4) static int probe_msg(struct probe *p, int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
	va_end(ap);
	return r;
}

static void probe_done(struct probe *p)
{
	tlsconn_abort(&p->c);
}

/* ---- TLS ---- */

static int start_tls(struct probe *p, const char *host, struct probe_result *out)
{
	_cleanup_(tlsconn_info_free) struct tlsconn_info info = { 0 };
	char fp[96];
	p->c.ca_root = p->ca_root;
	p->c.ca_file = p->ca_file;
	p->c.ca_path = p->ca_path;
	int r = tlsconn_start_tls(&p->c, host);
	if (r < 0)
		return r;
	out->tls = true;
	out->verify_errs = p->c.verify_errs;
	if (p->c.verify_other[0] && !(out->verify_other = strdup(p->c.verify_other)))
		return -ENOMEM;
	if (tlsconn_peer_pubkey_sha256(&p->c, fp) == 0 && !(out->pubkey_sha256 = strdup(fp)))
		return -ENOMEM;
	out->cert_names = tlsconn_peer_names(&p->c);
	r = tlsconn_info(&p->c, &info);
	log_debug("TLS established: %s %s", info.version ? info.version : "?",
		  info.cipher ? info.cipher : "?");
	out->tls_version = TAKE_PTR(info.version);
	out->tls_cipher = TAKE_PTR(info.cipher);
	out->cert_subject = TAKE_PTR(info.subject);
	out->cert_issuer = TAKE_PTR(info.issuer);
	out->cert_not_after = TAKE_PTR(info.not_after);
	out->verify_ok = info.verified && out->verify_errs == 0;
	out->verify_error = TAKE_PTR(info.verify_error);
	return r;
}

/* ---- reading and writing ---- */

/* A short, printable rendering of what the server sent, for messages. */
static void snippet(const char *p, size_t n, char *out, size_t size)
{
	size_t o = 0, i;
	/* o + 8 < size: room for one "\xNN", the "..." and the NUL. */
	for (i = 0; i < n && i < 60 && p[i] != '\n' && p[i] != '\r' && o + 8 < size; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
			out[o++] = (char)ch;
		else
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", ch);
	}
	if (i < n && p[i] != '\n' && p[i] != '\r') {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

static int read_reply(struct probe *p, struct smtp_reply *reply)
{
	int r = tlsconn_read_reply(&p->c, reply);
	if (r == -SMTP_EBADLINE) {
		char got[128];
		/* The offending line is at the start of the buffer. */
		snippet(p->c.buf, p->c.len, got, sizeof(got));
		return probe_msg(p, r, "expected %s, got \"%s\" (not SMTP)", p->c.expect, got);
	}
	return r;
}

/* Send CMD and read the reply to it; EXPECT names the reply in messages. */
static int smtp_command(struct probe *p, const char *cmd, const char *expect, struct smtp_reply *reply)
{
	char line[600];
	int n = snprintf(line, sizeof(line), "%s\r\n", cmd);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -ENAMETOOLONG;
	log_debug("-> %s", cmd);
	p->c.expect = expect;
	int r = tlsconn_send(&p->c, line, (size_t)n);
	if (r < 0)
		return r;
	r = read_reply(p, reply);
	if (r >= 0)
		log_debug("<- %d (%zu lines)", reply->code, reply->n_lines);
	return r;
}

/* ---- the dialogue ---- */

static char *join_lines(const struct smtp_reply *r)
{
	size_t n = 1;
	for (size_t i = 0; i < r->n_lines; i++)
		n += strlen(r->lines[i]) + 1;
	char *s = malloc(n), *p = s;
	if (!s)
		return NULL;
	for (size_t i = 0; i < r->n_lines; i++)
		p += sprintf(p, "%s%s", i ? "\n" : "", r->lines[i]);
	*p = '\0';
	return s;
}

static int read_greeting(struct probe *p, struct probe_result *out)
{
	_cleanup_(smtp_reply_free) struct smtp_reply reply = { 0 };
	p->c.expect = "the 220 greeting";
	int r = read_reply(p, &reply);
	if (r < 0)
		return r;
	/* 554 instead of 220 is how a server refuses a client (RFC 5321 3.1). */
	if (reply.code != 220)
		return probe_msg(p, -ECONNREFUSED, "expected the 220 greeting, got: %d %s", reply.code,
				 reply.lines[0]);
	return (out->banner = join_lines(&reply)) ? 0 : -ENOMEM;
}

/* What to say after EHLO: the local host name when it is a plausible FQDN (strict servers reject
 * a bare "localhost"), else a name that is obviously nobody's (RFC 2606). */
static void ehlo_name(char *buf, size_t size)
{
	if (gethostname(buf, size) == 0 && memchr(buf, '\0', size) && strchr(buf, '.') &&
	    hostport_valid_name(buf))
		return;
	snprintf(buf, size, "op25b.invalid");
}

static int do_ehlo(struct probe *p, const char *name, struct smtp_ehlo *e, const char *expect)
{
	_cleanup_(smtp_reply_free) struct smtp_reply reply = { 0 };
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "EHLO %s", name);
	int r = smtp_command(p, cmd, expect, &reply);
	if (r < 0)
		return r;
	if (reply.code != 250)
		return probe_msg(p, -EPROTO, "EHLO refused: %d %s", reply.code, reply.lines[0]);
	r = smtp_ehlo_parse(&reply, e);
	return r < 0 ? probe_msg(p, r, "cannot parse the EHLO reply: %s", strerror(-r)) : 0;
}

/* STARTTLS: 1 when the server agreed (TLS to be started), 0 when it refused (recorded). */
static int do_starttls(struct probe *p, struct probe_result *out)
{
	_cleanup_(smtp_reply_free) struct smtp_reply reply = { 0 };
	int r = smtp_command(p, "STARTTLS", "the reply to STARTTLS", &reply);
	if (r < 0)
		return r;
	if (reply.code != 220) {
		out->starttls_refused = strdup_printf("%d %s", reply.code, reply.lines[0]);
		return out->starttls_refused ? 0 : -ENOMEM;
	}
	/* Anything already received was sent in clear and must not be read as if it came inside TLS
	 * (the client side of CVE-2011-0411, "STARTTLS response injection"). */
	if (p->c.len > 0)
		return probe_msg(p, -EPROTO, "the server sent %zu bytes after its 220 reply to STARTTLS "
				 "(response injection?)", p->c.len);
	return 1;
}

/* QUIT is polite, not needed: failures only show with --verbose, and it waits at most 5 s. */
static void do_quit(struct probe *p)
{
	_cleanup_(smtp_reply_free) struct smtp_reply reply = { 0 };
	tlsconn_limit(&p->c, QUIT_WAIT_MS);
	int r = smtp_command(p, "QUIT", "the reply to QUIT", &reply);
	/* A message that only restates the errno says "timed out after the full timeout": not so. */
	if (r < 0)
		log_debug("QUIT: %s", p->msg[0] ? p->msg : p->c.err[0] && !p->c.err_is_errno ? p->c.err :
			  strerror(-r));
	/* Send our close_notify; not waiting for the server's saves a round trip. */
	if (tlsconn_shutdown(&p->c) < 0)
		log_debug("TLS shutdown failed");
}

static int probe_dialogue(struct probe *p, const char *host, unsigned port, unsigned timeout_sec,
			  struct probe_result *out)
{
	char name[256];
	int r;

	ehlo_name(name, sizeof(name));
	r = tlsconn_connect(&p->c, host, port, timeout_sec, TLSCONN_SHARE_DEADLINE | TLSCONN_CHECK_PEER,
			    &out->address);
	if (r < 0)
		return r;
	log_debug("connected to %s port %u", out->address, port);
	if (out->implicit_tls && (r = start_tls(p, host, out)) < 0)
		return r;
	if ((r = read_greeting(p, out)) < 0)
		return r;

	if (!out->implicit_tls) {
		if ((r = do_ehlo(p, name, &out->before, "the reply to EHLO")) < 0)
			return r;
		out->have_before = true;
		out->starttls_offered = out->before.starttls;
		if (out->starttls_offered) {
			if ((r = do_starttls(p, out)) < 0)
				return r;
			if (r > 0 && (r = start_tls(p, host, out)) < 0)
				return r;
		}
	}
	if (out->tls) {
		if ((r = do_ehlo(p, name, &out->after, "the reply to EHLO after TLS")) < 0)
			return r;
		out->have_after = true;
	}
	out->auth_before_tls = out->have_before && out->before.n_mechs > 0;
	out->auth_only_after_tls = !out->auth_before_tls && out->have_after && out->after.n_mechs > 0;
	do_quit(p);
	return 0;
}

/* The one message of a failed probe: what the probe or the connection recorded, or the errno in
 * context. */
static int probe_fail(struct probe *p, struct probe_result *out, const char *peer, int r)
{
	const struct tlsconn *c = &p->c;
	const char *what = c->expect ? c->expect : "the server";
	if (p->msg[0] || c->err[0])
		out->error = strdup_printf("%s: %s", peer, p->msg[0] ? p->msg : c->err);
	else if (r == -ETIMEDOUT)
		out->error = strdup_printf("%s: timed out after %u s waiting for %s", peer, c->timeout_sec, what);
	else if (r == -ECONNRESET || r == -EPIPE)
		out->error = strdup_printf("%s: connection closed by the server while waiting for %s", peer, what);
	else
		out->error = strdup_printf("%s: %s while waiting for %s", peer, strerror(-r), what);
	return log_err(r, "probe %s", out->error ? out->error : peer);
}

int probe_run(const char *host, unsigned port, unsigned timeout_sec, struct probe_result *out)
{
	return probe_run_ca(host, port, timeout_sec, NULL, NULL, NULL, out);
}

int probe_run_ca(const char *host, unsigned port, unsigned timeout_sec, const char *ca_root, const char *ca_file,
		 const char *ca_path, struct probe_result *out)
{
	_cleanup_(probe_done) struct probe p = { .c = TLSCONN_INIT, .ca_root = ca_root, .ca_file = ca_file,
						 .ca_path = ca_path };
	struct sigaction ignore = { .sa_handler = SIG_IGN }, old;
	char peer[HOSTPORT_FORMAT_MAX];

	*out = (struct probe_result){ .port = port, .implicit_tls = port == PROBE_IMPLICIT_TLS_PORT };
	snprintf(peer, sizeof(peer), "[%s]:%u", host, port);
	if (!(out->host = strdup(host)))
		return log_err(-ENOMEM, "probe %s: out of memory", peer);
	/* OpenSSL writes to the socket with write(): a server that hangs up must give EPIPE, not
	 * SIGPIPE. Restored afterwards, as the caller may be the apply verb. */
	if (sigaction(SIGPIPE, &ignore, &old) < 0)
		return log_err(-errno, "probe: cannot ignore SIGPIPE: %m");

	int r = probe_dialogue(&p, host, port, timeout_sec, out);

	if (sigaction(SIGPIPE, &old, NULL) < 0)
		log_warn("probe: cannot restore SIGPIPE: %m");
	return r < 0 ? probe_fail(&p, out, peer, r) : 0;
}

void probe_result_free(struct probe_result *r)
{
	char **strs[] = { &r->host, &r->address, &r->banner, &r->starttls_refused, &r->tls_version,
			  &r->tls_cipher, &r->cert_subject, &r->cert_issuer, &r->cert_not_after,
			  &r->verify_error, &r->verify_other, &r->cert_names, &r->pubkey_sha256, &r->error };
	for (size_t i = 0; i < ELEMENTSOF(strs); i++)
		free(*strs[i]);
	smtp_ehlo_free(&r->before);
	smtp_ehlo_free(&r->after);
	*r = (struct probe_result){ 0 };
}

/* ---- output ---- */

static json_t *strv_json(char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		if (js_push_str(a, v[i]) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *ehlo_json(bool have, const struct smtp_ehlo *e)
{
	if (!have)
		return json_null();
	json_t *x = json_object();
	if (x && (js_set_str(x, "server", e->domain) < 0 || js_set(x, "extensions", strv_json(e->ext, e->n_ext)) < 0 ||
		  js_set_bool(x, "starttls", e->starttls) < 0 || js_set(x, "auth", strv_json(e->mechs, e->n_mechs)) < 0)) {
		json_decref(x);
		return NULL;
	}
	return x;
}

static json_t *tls_json(const struct probe_result *r)
{
	if (!r->tls)
		return json_null();
	json_t *x = json_object();
	if (x && (js_set_str(x, "version", r->tls_version) < 0 || js_set_str(x, "cipher", r->tls_cipher) < 0 ||
		  js_set_str(x, "subject", r->cert_subject) < 0 || js_set_str(x, "issuer", r->cert_issuer) < 0 ||
		  js_set_str(x, "not_after", r->cert_not_after) < 0 || js_set_bool(x, "verified", r->verify_ok) < 0 ||
		  js_set_str(x, "verify", r->verify_ok ? "ok" : r->verify_error) < 0 ||
		  js_set_str(x, "pubkey_sha256", r->pubkey_sha256) < 0)) {
		json_decref(x);
		return NULL;
	}
	return x;
}

json_t *probe_result_json(const struct probe_result *r)
{
	json_t *x = json_object();
	if (x && (js_set_str(x, "host", r->host) < 0 || js_set_int(x, "port", r->port) < 0 ||
		  js_set_str(x, "address", r->address) < 0 || js_set_bool(x, "implicit_tls", r->implicit_tls) < 0 ||
		  js_set_str(x, "banner", r->banner) < 0 || js_set(x, "before_tls", ehlo_json(r->have_before, &r->before)) < 0 ||
		  js_set_bool(x, "starttls_offered", r->starttls_offered) < 0 ||
		  js_set_str(x, "starttls_refused", r->starttls_refused) < 0 || js_set(x, "tls", tls_json(r)) < 0 ||
		  js_set(x, "after_tls", ehlo_json(r->have_after, &r->after)) < 0 ||
		  js_set_bool(x, "auth_before_tls", r->auth_before_tls) < 0 ||
		  js_set_bool(x, "auth_only_after_tls", r->auth_only_after_tls) < 0 || js_set_str(x, "error", r->error) < 0)) {
		json_decref(x);
		return NULL;
	}
	return x;
}

static void text_list(FILE *f, const char *label, char *const *v, size_t n, const char *sep)
{
	fprintf(f, "  %-13s", label);
	if (n == 0)
		fputs(" (none)", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? sep : " ", v[i]);
	fputc('\n', f);
}

static void text_ehlo(FILE *f, const char *title, const struct smtp_ehlo *e)
{
	fprintf(f, "%-15s EHLO answered by %s\n", title, strempty(e->domain) ? "?" : e->domain);
	text_list(f, "extensions:", e->ext, e->n_ext, ", ");
	text_list(f, "AUTH:", e->mechs, e->n_mechs, " ");
}

static void text_verdict(const struct probe_result *r, FILE *f)
{
	const struct smtp_ehlo *e = r->have_after ? &r->after : &r->before;
	fprintf(f, "%-15s ", "AUTH:");
	if (r->auth_before_tls && r->tls)
		fputs("offered in clear too: unless the client insists on TLS, the password crosses the "
		      "network unencrypted (relay with smtp_tls_security_level = encrypt)\n", f);
	else if (r->auth_before_tls)
		fputs("offered in clear, and no TLS: the password would cross the network unencrypted\n", f);
	else if (r->auth_only_after_tls)
		fputs("offered only after TLS (good)\n", f);
	else
		fputs("not offered\n", f);
	if (e->n_mechs > 0)
		text_list(f, "mechanisms:", e->mechs, e->n_mechs, " ");
}

static void print_text(const struct probe_result *r, FILE *f)
{
	fprintf(f, "%-15s [%s]:%u (%s)%s\n", "Server:", r->host, r->port, r->address ? r->address : "?",
		r->implicit_tls ? ", implicit TLS" : "");
	/* Multi-line banners: continuation lines indented under the first. */
	fprintf(f, "%-15s 220 ", "Banner:");
	for (const char *p = r->banner ? r->banner : ""; *p; p++) {
		if (*p == '\n')
			fprintf(f, "\n%-15s 220 ", "");
		else
			fputc(*p, f);
	}
	fputc('\n', f);
	if (r->have_before)
		text_ehlo(f, "Before TLS:", &r->before);
	if (!r->implicit_tls)
		fprintf(f, "%-15s %s%s\n", "STARTTLS:", r->starttls_refused ? "refused: " :
			r->starttls_offered ? "offered" : "not offered (no TLS: passwords would cross in clear)",
			r->starttls_refused ? r->starttls_refused : "");
	if (r->tls) {
		fprintf(f, "%-15s %s, %s\n", "TLS:", r->tls_version, r->tls_cipher);
		fprintf(f, "  %-13s %s\n", "subject:", r->cert_subject ? r->cert_subject : "(none)");
		fprintf(f, "  %-13s %s\n", "issuer:", r->cert_issuer ? r->cert_issuer : "(none)");
		fprintf(f, "  %-13s %s\n", "not after:", r->cert_not_after ? r->cert_not_after : "(none)");
		fprintf(f, "  %-13s %s%s\n", "verify:", r->verify_ok ? "ok" : "FAILED: ",
			r->verify_ok ? "" : r->verify_error);
		/* What --relay-tls=fingerprint would pin, to compare with the ISP's published one. */
		fprintf(f, "  %-13s sha256 %s\n", "public key:", r->pubkey_sha256 ? r->pubkey_sha256 : "(none)");
	}
	if (r->have_after)
		text_ehlo(f, "After TLS:", &r->after);
	text_verdict(r, f);
}

void probe_result_print(const struct probe_result *r, FILE *f)
{
	print_text(r, f);
}
