/* op25b reload-certs: after a certificate renewal, reload the services whose certificate or key
 * bytes changed since op25b last gave them theirs (certseen.h), and only those; with --check, also
 * those whose port serves another certificate than the configured one. Called by the certbot
 * deploy hook that `apply --domain` installs (plan-smtps.c), by acme.sh's --reloadcmd, or by a
 * .path unit (man/op25b.8). */
#include "cert.h"
#include "certseen.h"
#include "facts.h"
#include "journal.h"
#include "report.h"
#include "restart.h"
#include "tlsconn.h"
#include "util.h"
#include "verbs.h"
#include "verify-config.h"

#define CHECK_HOST "127.0.0.1"

static const char *const service_name[SEEN_N] = { "postfix", "dovecot" };

/* The SHA-256 of the certificate HOST:PORT serves over implicit TLS into out[65]; "" when the port
 * does not answer with TLS (the reason in --verbose). */
static void served_cert(unsigned port, unsigned timeout, char out[65])
{
	struct tlsconn c = TLSCONN_INIT;
	_cleanup_free_ char *subject = NULL;
	out[0] = '\0';
	if (tlsconn_open(&c, CHECK_HOST, port, timeout) < 0 || tlsconn_start_tls(&c, CHECK_HOST) < 0 ||
	    tlsconn_peer_cert(&c, out, &subject) < 0) {
		log_debug("%s:%u: %s", CHECK_HOST, port, c.err);
		out[0] = '\0';
	}
	tlsconn_close(&c);
}

/* The port service I of VC serves TLS on, that --check looks at (0: none). */
static unsigned service_port(const struct verify_config *vc, int i)
{
	return i == SEEN_POSTFIX ? (vc->svc_465 ? 465 : 0) : (vc->imap ? 993 : vc->pop3 ? 995 : 0);
}

/* Which services need a reload (NEED): their certificate or key changed since op25b last gave
 * them to the server (SEEN against NOW, which this fills in), or, with --check, their port serves
 * another certificate than CERT's file. Each service goes into the report's "services". A
 * negative errno (logged) when a certificate or key cannot be read. */
static int decide(const struct request *o, const struct verify_config *vc, const char *const cert[SEEN_N],
		  const char *const key[SEEN_N], const struct certs_seen *seen, struct certs_seen *now,
		  bool need[SEEN_N], struct report *rep)
{
	json_t *services = json_object();
	int r;

	report_set(rep, "services", services);
	for (int i = 0; i < SEEN_N; i++) {
		if (!cert[i] || !key[i])
			continue;
		if ((r = cert_pair_hash(o->target.root, cert[i], key[i], now->hash[i])) < 0)
			return log_err(r, "%s: the certificate %s or key %s cannot be read: %s", service_name[i], cert[i],
				       key[i], strerror(-r));
		need[i] = !streq(now->hash[i], seen->hash[i]);
		if (need[i])
			log_info("%s: %s", service_name[i], seen->hash[i][0] ? "the certificate or key changed since op25b "
					   "last gave it to the server" : "op25b has no record of the certificate it serves");
		/* --check: what the port serves now, against the certificate file. */
		unsigned port = service_port(vc, i);
		char want[65], served[65] = "";
		/* With --root the ports here are not the tree's. */
		if (o->check && port && !o->target.root_given) {
			_cleanup_free_ char *subject = NULL;
			served_cert(port, o->target.timeout_sec < 10 ? o->target.timeout_sec : 10, served);
			if (served[0] && tls_cert_file_sha256(o->target.root, cert[i], want, &subject) == 0 && !streq(want, served)) {
				log_info("%s: port %u serves another certificate than %s", service_name[i], port, cert[i]);
				need[i] = true;
			}
		}
		json_t *x = json_object();
		if (!services || !x || js_set(services, service_name[i], x) < 0 || js_set_str(x, "cert", cert[i]) < 0 ||
		    js_set_bool(x, "reload", need[i]) < 0 ||
		    (o->check && (js_set_int(x, "port", port) < 0 ||
				  js_set_str(x, "served_sha256", served[0] ? served : NULL) < 0)))
			rep->enomem = true;
	}
	return 0;
}

static int reload_certs(const struct request *o, struct report *rep)
{
	_cleanup_(verify_config_free) struct verify_config vc = { 0 };
	_cleanup_(journal_close) struct journal j = { .lock_fd = -1 };
	struct certs_seen seen, now = { 0 };
	struct restart_report units = { 0 };
	const char *cert[SEEN_N], *key[SEEN_N];
	bool need[SEEN_N] = { false };
	int r;

	/* What op25b applied (the journal), then the certificate paths configured now. */
	if ((r = verify_read_journal(&o->target, &vc)) < 0)
		return exit_status_of(r);
	if ((r = verify_read_config(&o->target, &vc)) < 0)
		return EXIT_FAIL;
	if (vc.interrupted)
		return log_err(EXIT_FAIL, "an earlier run was interrupted; run 'op25b revert' first");
	if (!vc.modes) {
		log_info("op25b has applied nothing here: no certificate to reload");
		return EXIT_DONE;
	}
	/* Held from here to the record of what the services were given: a concurrent apply or
	 * reload-certs waits. */
	if ((r = journal_open(&j, o->target.root, o->target.state_dir, false, o->target.timeout_sec)) < 0)
		return exit_status_of(r);
	if ((r = certs_seen_read(o->target.root, o->target.state_dir, &seen)) < 0)
		return EXIT_FAIL;

	cert[SEEN_POSTFIX] = vc.smtpd_cert, key[SEEN_POSTFIX] = vc.smtpd_key;
	cert[SEEN_DOVECOT] = vc.dovecot ? vc.dovecot_cert : NULL, key[SEEN_DOVECOT] = vc.dovecot_key;
	if (decide(o, &vc, cert, key, &seen, &now, need, rep) < 0)
		return EXIT_FAIL;
	if (!need[SEEN_POSTFIX] && !need[SEEN_DOVECOT]) {
		log_info("certificates unchanged: nothing to reload");
		return EXIT_DONE;
	}
	/* A renewal caught half-way (the new certificate, the old key) must not reach the servers. */
	for (int i = 0; i < SEEN_N; i++)
		if (need[i] && cert_check(o->target.root, cert[i], key[i], NULL) < 0)
			return log_err(EXIT_FAIL, "%s: not reloaded", service_name[i]);
	report_bool(rep, "changed", true);
	if (o->dry_run) {
		for (int i = 0; i < SEEN_N; i++)
			if (need[i])
				log_info("would reload %s", service_name[i]);
		return EXIT_DONE;
	}
	struct serve_expect expect = { .cert = vc.smtpd_cert, .smtps = vc.svc_465 };
	struct offline off;
	facts_offline(&o->target, &off);
	r = services_reload(&o->target, &off, o->no_restart, need[SEEN_POSTFIX], need[SEEN_DOVECOT], false, &expect, &units);
	report_units(rep, &units);
	if (r < 0)
		return log_err(EXIT_FAIL, "reload-certs: a service did not come back with the new certificate");
	if (units.skipped) {
		/* Nothing was reloaded: no record, so that the next run does it. */
		report_bool(rep, "changed", false);
		return EXIT_DONE;
	}
	for (int i = 0; i < SEEN_N; i++)
		if (need[i])
			memcpy(seen.hash[i], now.hash[i], 65);
	if (certs_seen_write(o->target.root, o->target.state_dir, &seen) < 0)
		return EXIT_FAIL;
	return EXIT_DONE;
}

int verb_reload_certs(const struct request *o)
{
	struct report rep;
	report_init(&rep, o, "reload-certs");
	report_set(&rep, "units", json_array());
	return report_end(&rep, reload_certs(o, &rep));
}
