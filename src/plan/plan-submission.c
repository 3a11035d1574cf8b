/* submission: outbound mail relayed through the ISP's submission server with SASL over TLS, and
 * clients submitting on this server's 587. What the hand recipe gets wrong is fixed here: TLS is
 * required before the password goes out, to a relay that proves who it is (relay-tls.c; src/facts/relay-check.c checks it), the map
 * is root's and 0600 from its first byte, and the table type is the one this Postfix uses. */
#include "plan.h"
#include "postfix.h"
#include "relay-map.h"
#include "relay-tls.h"
#include "sasl.h"
#include "util.h"


/* The map, raw for the journal (edits would carry the password), secret for diffs, 0600 always. */
static int plan_map(const struct relay_settings *o, const struct relay_facts *rf)
{
	struct conf_file *f = rf->map;
	if (!(f->postmap_type = strdup(rf->table_type)))
		return -ENOMEM;
	/* Never readable by others, whatever mode and owner it had (root:root, as its compiled table:
	 * see postmap_run()). */
	f->force_mode = 0600;
	f->force_root = true;
	char *text;
	size_t len;
	int r = relay_map_with_line(f->old, f->old_len, rf->key, o->user, &rf->password, &text, &len);
	if (r < 0)
		return r;
	bool same = f->existed && len == f->old_len && memcmp(text, f->old, len) == 0;
	if (same && rf->map_closed) {
		explicit_bzero(text, len);
		free(text);
		return 0;
	}
	f->new = text;
	f->new_len = len;
	return 0;
}

/* main.cf: the relay, SASL towards it with the mechanisms and the map, TLS towards it. */
static int plan_relay(struct conf_set *s, struct conf_file *main_cf, const struct relay_facts *rf)
{
	_cleanup_free_ char *maps = strdup_printf("%s:%s", rf->table_type, rf->map_path);
	int r;
	if (!maps)
		return -ENOMEM;
	const char *keys[][2] = {
		{ "relayhost", rf->key },
		{ "smtp_sasl_auth_enable", "yes" },
		{ "smtp_sasl_password_maps", maps },
		{ "smtp_sasl_security_options", "noanonymous" },
		{ "smtp_sasl_tls_security_options", "noanonymous" },
		{ "smtp_sasl_mechanism_filter", rf->mechanisms },
	};
	for (size_t i = 0; i < ELEMENTSOF(keys); i++)
		if ((r = main_cf_set(s, main_cf, keys[i][0], keys[i][1])) < 0)
			return r;
	if ((r = relay_tls_set(s, main_cf, &rf->tls)) < 0)
		return r;
	if (rf->hp.port == 465 && (r = main_cf_set(s, main_cf, "smtp_tls_wrappermode", "yes")) < 0)
		return r;
	return 0;
}

/* The clients' certificate on 587: the one given here, or the one main.cf has (claimed: this mode
 * needs it as it is). *HAVE_CERT: there is one. */
static int plan_server_cert(struct conf_set *s, struct conf_file *main_cf, const struct tls_paths *tls, bool *have_cert)
{
	bool present;
	const char *cert;
	int r;
	/* A certificate given here is set up for the clients' 587 too. */
	if (tls->cert && (r = plan_tls_server(s, main_cf, tls)) < 0)
		return r;
	if ((r = conf_get(s, main_cf, "smtpd_tls_cert_file", &present, &cert)) < 0)
		return r;
	*have_cert = present && !strempty(cert);
	/* 587's "TLS before AUTH" relies on the certificate: this mode needs it as it is, also when
	 * smtps set it (reverting smtps then leaves it; without it 587 would refuse every client). */
	if (*have_cert && !tls->cert &&
	    ((r = conf_claim(s, main_cf, "smtpd_tls_cert_file")) < 0 || (r = conf_claim(s, main_cf, "smtpd_tls_key_file")) < 0))
		return r;
	if (!*have_cert && (r = conf_get(s, main_cf, "smtpd_tls_chain_files", &present, &cert)) < 0)
		return r;
	if (!*have_cert && present && !strempty(cert)) {
		*have_cert = true;
		if (!tls->cert && (r = conf_claim(s, main_cf, "smtpd_tls_chain_files")) < 0)
			return r;
	}
	return 0;
}

/* master.cf: the submission service on 587, AUTH only inside TLS when there is a certificate. */
static int plan_submission_service(struct conf_set *s, struct conf_file *master_cf, const struct tls_paths *tls,
				   bool have_cert)
{
	static const char *const names[] = { "submission", NULL };
	static const char *const after[] = { "smtp", NULL };
	_cleanup_free_ char *rel = NULL;
	int r;
	if ((r = master_find(s, master_cf, names, &rel)) < 0)
		return r;
	if (!rel && (r = master_add(s, master_cf, "submission", after, &rel)) < 0)
		return r;
	const struct master_opt opts[] = {
		{ "syslog_name", "postfix/submission", true },
		{ "smtpd_sasl_auth_enable", "yes", false },
		{ "smtpd_relay_restrictions", "permit_sasl_authenticated,reject", false },
		/* AUTH only inside TLS on the clients' 587, when there is a certificate to offer. */
		{ "smtpd_tls_security_level", "encrypt", false },
		{ "smtpd_tls_auth_only", "yes", false },
	};
	master_warn_host(s, master_cf, rel, 587);
	if ((r = master_enable(s, master_cf, rel, opts, have_cert ? 5 : 3)) < 0)
		return r;
	if (tls->cert && (r = plan_tls_stanza(s, master_cf, rel, tls)) < 0)
		return r;
	return 0;
}

int plan_submission(struct conf_set *s, const struct target *t, const struct relay_settings *o,
		    const struct tls_paths *tls, const struct plan_facts *f)
{
	bool have_cert;
	int r;
	if ((r = plan_map(o, &f->relay)) < 0 || (r = plan_relay(s, f->main_cf, &f->relay)) < 0 ||
	    (r = plan_server_cert(s, f->main_cf, tls, &have_cert)) < 0 ||
	    (r = plan_submission_service(s, f->master_cf, tls, have_cert)) < 0)
		return r;
	if (!have_cert)
		log_warn("no TLS certificate is configured: clients would send their passwords to port 587 in "
			 "clear; give --cert/--key or --domain (or apply --mode=smtps first)");
	return plan_sasl_wiring(s, t, f->main_cf, &f->sasl);
}
