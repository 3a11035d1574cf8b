/* verify's network checks: 465 (implicit TLS), 587 (STARTTLS before AUTH), 993/995 (TLS), and the
 * ISP relay, each compared with what the configuration says. */
#include "verify.h"

#include <stdarg.h>
#include <ctype.h>
#include <strings.h>

#include "hostport.h"
#include "probe.h"
#include "tlsconn.h"
#include "rootfs.h"
#include "util.h"

/* The recipient of the open-relay check: a reserved domain (RFC 2606) nobody can receive for. */
#define RELAY_PROBE_RCPT "op25b-verify@example.invalid"

void checks_add(struct checks *c, enum check_status st, const char *id, const char *fmt, ...)
{
	static const char *const word[] = { "ok", "FAIL", "skip" };
	va_list ap;
	char *text = NULL;
	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	struct check *v = realloc(c->v, (c->n + 1) * sizeof(*v));
	if (!v || !text) {
		/* Nothing can be recorded: at least the verdict must not be lost. */
		free(text);
		if (v)
			c->v = v;
		fprintf(stderr, "op25b: out of memory while recording a %s check\n", word[st]);
		if (st == CHECK_FAIL)
			c->lost_fail = true;
		return;
	}
	c->v = v;
	c->v[c->n++] = (struct check){ .status = st, .id = strdup(id), .text = text };
	if (c->print) {
		printf("%s %s\n", word[st], text);
		fflush(stdout);
	}
}

size_t checks_failed(const struct checks *c)
{
	size_t n = c->lost_fail;
	for (size_t i = 0; i < c->n; i++)
		n += c->v[i].status == CHECK_FAIL;
	return n;
}

void checks_free(struct checks *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].id);
		free(c->v[i].text);
		free(c->v[i].queue_id);
	}
	free(c->v);
	*c = (struct checks){ 0 };
}

char *verify_cert_words(const char *root, const char *cert, const char *served, const char *served_subject, bool *ok)
{
	char want[65];
	_cleanup_free_ char *subject = NULL;
	*ok = false;
	if (!cert)
		return strdup_printf("serves %s, and no certificate file is configured", served_subject);
	int r = tls_cert_file_sha256(root, cert, want, &subject);
	if (r < 0)
		return strdup_printf("serves %s; the configured %s cannot be read: %s", served_subject, cert,
				     r == -EBADMSG ? "no PEM certificate in it" : file_strerror(r));
	if (!streq(want, served))
		return strdup_printf("serves %s (sha256 %.16s...), not the configured %s (%s, sha256 %.16s...): "
				     "restart the server to load it", served_subject, served, cert, subject, want);
	*ok = true;
	return strdup_printf("certificate matches %s", cert);
}

/* After a TLS handshake on C: one check line comparing the certificate with CERT. */
static void cert_check(const struct target *o, struct tlsconn *c, const char *id, const char *what,
		       const char *cert, struct checks *out)
{
	char served[65];
	_cleanup_free_ char *subject = NULL, *words = NULL;
	bool ok = false;
	if (tlsconn_peer_cert(c, served, &subject) < 0) {
		checks_add(out, CHECK_FAIL, id, "%s: the server presented no certificate", what);
		return;
	}
	words = verify_cert_words(o->root, cert, served, subject, &ok);
	checks_add(out, ok ? CHECK_OK : CHECK_FAIL, id, "%s, %s", what, words ? words : "(out of memory)");
}

static char *join_mechs(const struct smtp_ehlo *e)
{
	size_t cap = 1;
	for (size_t i = 0; i < e->n_mechs; i++)
		cap += strlen(e->mechs[i]) + 1;
	char *s = calloc(1, cap);
	for (size_t i = 0; s && i < e->n_mechs; i++)
		snprintf(s + strlen(s), cap - strlen(s), "%s%s", i ? " " : "", e->mechs[i]);
	return s;
}

static void smtp_reply_freep(struct smtp_reply *r)
{
	smtp_reply_free(r);
}

/* Read the 220 greeting, then EHLO: 0 with *e filled, or a failure message in c->err. */
static int greet(struct tlsconn *c, bool greeting, struct smtp_ehlo *e)
{
	int r;
	if (greeting) {
		_cleanup_(smtp_reply_freep) struct smtp_reply g = { 0 };
		c->expect = "the 220 greeting";
		if ((r = tlsconn_read_reply(c, &g)) < 0)
			return r;
		if (g.code != 220)
			return snprintf(c->err, sizeof(c->err), "greeting %d %s", g.code, g.lines[0]), -ECONNREFUSED;
	}
	_cleanup_(smtp_reply_freep) struct smtp_reply ehlo = { 0 };
	if ((r = tlsconn_command(c, "EHLO op25b-verify.invalid", NULL, &ehlo)) < 0)
		return r;
	if (ehlo.code != 250)
		return snprintf(c->err, sizeof(c->err), "EHLO refused: %d %s", ehlo.code, ehlo.lines[0]), -EPROTO;
	return smtp_ehlo_parse(&ehlo, e) < 0 ? -ENOMEM : 0;
}

static void quit(struct tlsconn *c)
{
	_cleanup_(smtp_reply_freep) struct smtp_reply q = { 0 };
	tlsconn_command(c, "QUIT", NULL, &q);
}

/* Without AUTH, mail for a foreign domain must be refused (else: an open relay). */
static void relay_refused(struct tlsconn *c, const char *id, const char *what, struct checks *out)
{
	_cleanup_(smtp_reply_freep) struct smtp_reply m = { 0 }, rc = { 0 }, rs = { 0 };
	if (tlsconn_command(c, "MAIL FROM:<>", NULL, &m) < 0) {
		checks_add(out, CHECK_FAIL, id, "%s: %s", what, c->err);
		return;
	}
	if (m.code / 100 != 2) {
		checks_add(out, CHECK_OK, id, "%s refuses mail without AUTH (%d %s)", what, m.code, m.lines[0]);
		return;
	}
	if (tlsconn_command(c, "RCPT TO:<" RELAY_PROBE_RCPT ">", NULL, &rc) < 0) {
		checks_add(out, CHECK_FAIL, id, "%s: %s", what, c->err);
		return;
	}
	if (rc.code / 100 == 2)
		checks_add(out, CHECK_FAIL, id, "%s accepts mail for other domains without AUTH (%d %s): an open relay",
			   what, rc.code, rc.lines[0]);
	else
		checks_add(out, CHECK_OK, id, "%s refuses relaying without AUTH (%d %s)", what, rc.code, rc.lines[0]);
	tlsconn_command(c, "RSET", NULL, &rs);
}

static void check_465(const struct target *o, const char *host, const struct verify_config *vc, struct checks *out)
{
	_cleanup_(tlsconn_close) struct tlsconn c = TLSCONN_INIT;
	_cleanup_(smtp_ehlo_free) struct smtp_ehlo e = { 0 };
	if (!vc->svc_465) {
		checks_add(out, CHECK_FAIL, "465-tls", "465: master.cf has no active smtps/submissions service");
		return;
	}
	if (tlsconn_open(&c, host, 465, o->timeout_sec) < 0 || tlsconn_start_tls(&c, host) < 0) {
		checks_add(out, CHECK_FAIL, "465-tls", "465 implicit TLS: %s", c.err);
		return;
	}
	cert_check(o, &c, "465-tls", "465 implicit TLS", vc->smtpd_cert, out);
	if (greet(&c, true, &e) < 0) {
		checks_add(out, CHECK_FAIL, "465-auth", "465: %s", c.err);
		return;
	}
	_cleanup_free_ char *mechs = join_mechs(&e);
	if (e.n_mechs > 0)
		checks_add(out, CHECK_OK, "465-auth", "465 offers AUTH %s", mechs ? mechs : "");
	else
		checks_add(out, CHECK_FAIL, "465-auth", "465 offers no AUTH: is Dovecot running with its auth listener "
			   "(smtpd_sasl_type, smtpd_sasl_path)?");
	relay_refused(&c, "465-relay", "465", out);
	quit(&c);
}

/* 993/995: TLS first, then the protocol's greeting ("* OK" / "+OK"). */
static void check_tls_port(const struct target *o, const char *host, unsigned port, const char *what,
			   const char *greeting, const char *bye, const char *cert, struct checks *out)
{
	_cleanup_(tlsconn_close) struct tlsconn c = TLSCONN_INIT;
	_cleanup_free_ char *line = NULL;
	char id[16];
	snprintf(id, sizeof(id), "%u-tls", port);
	if (tlsconn_open(&c, host, port, o->timeout_sec) < 0 || tlsconn_start_tls(&c, host) < 0) {
		checks_add(out, CHECK_FAIL, id, "%u %s: %s", port, what, c.err);
		return;
	}
	c.expect = "the greeting";
	if (tlsconn_read_line(&c, &line) < 0) {
		checks_add(out, CHECK_FAIL, id, "%u %s: %s", port, what, c.err);
		return;
	}
	if (strncmp(line, greeting, strlen(greeting)) != 0) {
		checks_add(out, CHECK_FAIL, id, "%u %s: expected \"%s\", got \"%.60s\"", port, what, greeting, line);
		return;
	}
	char label[32];
	snprintf(label, sizeof(label), "%u %s", port, what);
	cert_check(o, &c, id, label, cert, out);
	tlsconn_send(&c, bye, strlen(bye));
}

void verify_smtps(const struct target *o, const char *host, const struct verify_config *vc, struct checks *out)
{
	check_465(o, host, vc, out);
	if (!vc->dovecot) {
		checks_add(out, CHECK_SKIP, "993-tls", "993/995: no Dovecot configuration to compare with");
		return;
	}
	if (vc->imap)
		check_tls_port(o, host, 993, "IMAPS", "* OK", "a LOGOUT\r\n", vc->dovecot_cert, out);
	else
		checks_add(out, CHECK_SKIP, "993-tls", "993 IMAPS: imap is not among Dovecot's protocols");
	if (vc->pop3)
		check_tls_port(o, host, 995, "POP3S", "+OK", "QUIT\r\n", vc->dovecot_cert, out);
	else
		checks_add(out, CHECK_SKIP, "995-tls", "995 POP3S: pop3 is not among Dovecot's protocols");
}

static void check_587(const struct target *o, const char *host, const struct verify_config *vc, struct checks *out)
{
	_cleanup_(tlsconn_close) struct tlsconn c = TLSCONN_INIT;
	_cleanup_(smtp_ehlo_free) struct smtp_ehlo before = { 0 }, after = { 0 };
	_cleanup_(smtp_reply_freep) struct smtp_reply st = { 0 };
	if (!vc->svc_587) {
		checks_add(out, CHECK_FAIL, "587-starttls", "587: master.cf has no active submission service");
		return;
	}
	if (tlsconn_open(&c, host, 587, o->timeout_sec) < 0 || greet(&c, true, &before) < 0) {
		checks_add(out, CHECK_FAIL, "587-starttls", "587: %s", c.err);
		return;
	}
	if (!before.starttls) {
		checks_add(out, CHECK_FAIL, "587-starttls", "587 offers no STARTTLS: passwords would cross in clear "
			   "(smtpd_tls_cert_file, -o smtpd_tls_security_level=encrypt)");
		return;
	}
	if (tlsconn_command(&c, "STARTTLS", NULL, &st) < 0 || st.code != 220) {
		checks_add(out, CHECK_FAIL, "587-starttls", "587 STARTTLS: %s",
			   c.err[0] ? c.err : st.n_lines ? st.lines[0] : "refused");
		return;
	}
	if (c.len > 0) {
		checks_add(out, CHECK_FAIL, "587-starttls", "587 sent bytes after its 220 to STARTTLS (response injection?)");
		return;
	}
	if (tlsconn_start_tls(&c, host) < 0) {
		checks_add(out, CHECK_FAIL, "587-starttls", "587 STARTTLS: %s", c.err);
		return;
	}
	cert_check(o, &c, "587-starttls", "587 STARTTLS", vc->smtpd_cert, out);
	if (greet(&c, false, &after) < 0) {
		checks_add(out, CHECK_FAIL, "587-auth", "587 after STARTTLS: %s", c.err);
		return;
	}
	_cleanup_free_ char *mechs = join_mechs(&after);
	if (before.n_mechs > 0)
		checks_add(out, CHECK_FAIL, "587-auth", "587 offers AUTH before STARTTLS: passwords can cross in clear "
			   "(-o smtpd_tls_auth_only=yes)");
	else if (after.n_mechs == 0)
		checks_add(out, CHECK_FAIL, "587-auth", "587 offers no AUTH after STARTTLS: is Dovecot running with its "
			   "auth listener (smtpd_sasl_type, smtpd_sasl_path)?");
	else
		checks_add(out, CHECK_OK, "587-auth", "587 offers AUTH %s, only after STARTTLS", mechs ? mechs : "");
	quit(&c);
}

/* smtp_sasl_mechanism_filter ("plain, login") shares a mechanism with what the relay offers? */
static bool mech_allowed(const char *filter, const struct smtp_ehlo *e)
{
	if (strempty(filter))
		return e->n_mechs > 0;
	_cleanup_free_ char *copy = strdup(filter);
	for (char *save = NULL, *w = copy ? strtok_r(copy, " \t,", &save) : NULL; w; w = strtok_r(NULL, " \t,", &save))
		if (smtp_ehlo_has_mech(e, w))
			return true;
	return false;
}

/* The public key fingerprint KEY ("AB:CD:...") is among the pins (smtp_tls_fingerprint_cert_match:
 * blank- or comma-separated, colons optional since Postfix 3.6, any case). */
static bool pin_matches(const char *pins, const char *key)
{
	char want[96], got[96];
	size_t n = 0;
	if (!pins || !key)
		return false;
	for (const char *k = key; *k && n + 1 < sizeof(want); k++)
		if (*k != ':')
			want[n++] = (char)toupper((unsigned char)*k);
	want[n] = '\0';
	for (const char *p = pins; *p;) {
		p += strspn(p, " \t,");
		size_t len = strcspn(p, " \t,"), m = 0;
		for (size_t i = 0; i < len && m + 1 < sizeof(got); i++)
			if (p[i] != ':')
				got[m++] = (char)toupper((unsigned char)p[i]);
		got[m] = '\0';
		if (len > 0 && streq(got, want))
			return true;
		p += len;
	}
	return false;
}

static void check_relay(const struct target *o, const struct verify_config *vc, struct checks *out)
{
	struct hostport hp;
	const char *why = NULL;
	if (strempty(vc->relayhost)) {
		checks_add(out, CHECK_FAIL, "relay", "relayhost is not set in main.cf: mail is not relayed through the ISP");
		return;
	}
	if (hostport_parse(vc->relayhost, 25, &hp, &why) < 0) {
		checks_add(out, CHECK_FAIL, "relay", "relayhost = %s: %s", vc->relayhost, why ? why : "not HOST[:PORT]");
		return;
	}
	/* Checked with the CAs Postfix uses for the relay (smtp_tls_CAfile / smtp_tls_CApath), read
	 * beneath --root like every file of the tree. */
	_cleanup_(probe_result_free) struct probe_result res = { 0 };
	if (probe_run_ca(hp.host, hp.port, o->timeout_sec, o->root_given ? o->root : NULL, vc->relay_ca_file,
			 vc->relay_ca_path, &res) < 0) {
		checks_add(out, CHECK_FAIL, "relay", "relay %s: %s", vc->relayhost, res.error ? res.error : "probe failed");
		return;
	}
	_cleanup_free_ char *mechs = join_mechs(&res.after);
	if (!res.tls)
		checks_add(out, CHECK_FAIL, "relay", "relay %s answers but offers no TLS: with smtp_tls_security_level = %s "
			   "Postfix %s", vc->relayhost, vc->tls_level ? vc->tls_level : "(none)",
			   vc->tls_level && strcmp(vc->tls_level, "may") != 0 && strcmp(vc->tls_level, "none") != 0
				   ? "will not send mail there" : "would send the password in clear");
	else if (!mech_allowed(vc->mech_filter, &res.after))
		checks_add(out, CHECK_FAIL, "relay",
			   "relay %s offers AUTH %s after TLS, none of smtp_sasl_mechanism_filter = %s",
			   vc->relayhost, mechs && *mechs ? mechs : "(nothing)", vc->mech_filter);
	else
		checks_add(out, CHECK_OK, "relay", "relay %s answers, TLS %s, AUTH %s after TLS (main.cf allows %s)",
			   vc->relayhost, res.tls_version ? res.tls_version : "", mechs ? mechs : "",
			   strempty(vc->mech_filter) ? "any" : vc->mech_filter);
	const char *level = vc->tls_level ? vc->tls_level : "(none)";
	if (!res.tls)
		return;
	if (streq(level, "secure") || streq(level, "verify"))
		checks_add(out, res.verify_ok ? CHECK_OK : CHECK_FAIL, "relay-tls", "relay %s: certificate %s (%s)%s",
			   vc->relayhost, res.verify_ok ? "verified" : "does NOT verify", res.verify_ok ? res.cert_subject :
			   res.verify_error ? res.verify_error : "?", res.verify_ok ? "" :
			   ": Postfix (smtp_tls_security_level = secure) defers the mail and sends no password");
	else if (streq(level, "fingerprint"))
		checks_add(out, pin_matches(vc->tls_pin, res.pubkey_sha256) ? CHECK_OK : CHECK_FAIL, "relay-tls",
			   "relay %s: public key sha256 %s %s", vc->relayhost, res.pubkey_sha256 ? res.pubkey_sha256 : "?",
			   pin_matches(vc->tls_pin, res.pubkey_sha256) ? "is the pinned one" :
			   "is NOT the pinned one: Postfix defers the mail (the ISP changed its key, or someone is in the middle)");
	else if (streq(level, "encrypt") || streq(level, "dane") || streq(level, "dane-only"))
		checks_add(out, CHECK_OK, "relay-tls", "relay %s: smtp_tls_security_level = %s%s", vc->relayhost, level,
			   streq(level, "encrypt") ? " (the relay is not authenticated: --relay-tls=secure or fingerprint would)" : "");
	else
		checks_add(out, CHECK_FAIL, "relay-tls", "smtp_tls_security_level = %s: Postfix may send the ISP password "
			   "without TLS (op25b writes secure)", level);
}

void verify_submission(const struct target *o, const char *host, const struct verify_config *vc, struct checks *out)
{
	check_587(o, host, vc, out);
	check_relay(o, vc, out);
}

void verify_config_free(struct verify_config *vc)
{
	char **strs[] = { &vc->smtpd_cert, &vc->relayhost, &vc->mech_filter, &vc->tls_level, &vc->maillog,
			  &vc->dovecot_cert, &vc->smtpd_key, &vc->dovecot_key, &vc->relay_ca_file, &vc->relay_ca_path,
			  &vc->tls_pin };
	for (size_t i = 0; i < ELEMENTSOF(strs); i++)
		free(*strs[i]);
	*vc = (struct verify_config){ 0 };
}
