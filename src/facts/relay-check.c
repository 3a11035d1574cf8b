/* --relay-tls: the check op25b makes itself before anything is written. encrypt alone
 * authenticates nothing: a machine in the middle with a self-signed certificate received the
 * password (FINDINGS). Facts: the probe, the CA bundle on disk; the keys are planned by
 * relay_tls_set() (src/plan/relay-tls.c). */
#include "relay-check.h"

#include <sys/stat.h>

#include "probe.h"
#include "rootfs.h"
#include "tlsconn.h"
#include "util.h"

/* The mechanisms the relay offers inside TLS (where the password will travel), from the probe, as
 * "PLAIN,LOGIN". */
static int mechs_of(const struct hostport *hp, const struct probe_result *res, char **out)
{
	if (!res->have_after || res->after.n_mechs == 0)
		return log_err(-EPROTO, "%s: offers no AUTH mechanism after TLS", hp->host);
	size_t cap = 1;
	for (size_t i = 0; i < res->after.n_mechs; i++)
		cap += strlen(res->after.mechs[i]) + 2;
	_cleanup_free_ char *list = calloc(1, cap);
	if (!list)
		return -ENOMEM;
	for (size_t i = 0; i < res->after.n_mechs; i++)
		snprintf(list + strlen(list), cap - strlen(list), "%s%s", i ? "," : "", res->after.mechs[i]);
	log_info("%s offers AUTH %s after TLS%s", hp->host, list,
		 res->auth_before_tls ? " (and before it: op25b requires TLS first)" : "");
	*out = TAKE_PTR(list);
	return 0;
}

/* What is wrong with the relay's certificate, in words: "the name does not match (it is for X),
 * its issuer is unknown to FILE, it has expired (DATE)". malloc'd. */
static char *cert_problems(const struct probe_result *res, const char *cas)
{
	unsigned e = res->verify_errs;
	_cleanup_free_ char *name = NULL, *issuer = NULL, *date = NULL, *other = NULL;
	if (e & TLSCONN_BAD_NAME)
		name = strdup_printf("the name does not match (it is for %s)", res->cert_names ? res->cert_names : "?");
	if (e & TLSCONN_BAD_ISSUER)
		issuer = strdup_printf("its issuer is unknown (%s, not signed by a CA of %s)",
				       res->cert_issuer ? res->cert_issuer : "?", cas);
	if (e & TLSCONN_BAD_DATE)
		date = strdup_printf("it has expired or is not valid yet (valid until %s)",
				     res->cert_not_after ? res->cert_not_after : "?");
	if ((e & TLSCONN_BAD_OTHER) || !e)
		other = strdup(res->verify_other ? res->verify_other : res->verify_error ? res->verify_error : "not verified");
	return strdup_printf("%s%s%s%s%s%s%s", name ? name : "", name && (issuer || date || other) ? ", " : "",
			     issuer ? issuer : "", issuer && (date || other) ? ", " : "", date ? date : "",
			     date && other ? ", " : "", other ? other : "");
}

/* The relay's certificate is checked before anything is written: with secure, one that Postfix
 * would refuse stops the run with what failed and the two ways forward; with fingerprint, its
 * public key is what gets pinned. */
static int relay_checked(const struct hostport *hp, const char *level, const char *cas,
			 const struct probe_result *res)
{
	_cleanup_free_ char *why = res->verify_ok ? NULL : cert_problems(res, cas);
	const char *fp = res->pubkey_sha256 ? res->pubkey_sha256 : "?";
	if (!res->verify_ok && !why)
		return -ENOMEM;
	if (streq(level, "secure")) {
		if (res->verify_ok) {
			log_info("%s: certificate verified (%s, issued by %s)", hp->host, res->cert_subject, res->cert_issuer);
			return 0;
		}
		return log_err(-EPERM, "%s port %u: the relay's certificate does not verify: %s. Postfix would not "
				       "send it mail and op25b will not hand it the ISP password. Two ways forward:\n"
				       "  --relay-tls=fingerprint pins the public key it presents now, sha256 %s "
				       "(compare it with the one your ISP publishes first);\n"
				       "  --relay-tls=encrypt checks nothing: anyone in the middle can read the password",
			       hp->host, hp->port, why, fp);
	}
	if (streq(level, "fingerprint")) {
		if (!res->pubkey_sha256)
			return log_err(-EPROTO, "%s: presented no certificate to pin", hp->host);
		log_info("%s: pinning the relay's public key, sha256 %s (%s, issued by %s)%s%s: compare it with the "
			 "one your ISP publishes", hp->host, fp, res->cert_subject, res->cert_issuer,
			 why ? "; its certificate does not verify: " : "", why ? why : "");
		return 0;
	}
	if (why)
		log_warn("%s: its certificate does not verify either (%s)", hp->host, why);
	return 0;
}

/* Probe the relay: its certificate (checked with the CAs Postfix will use, read beneath --root like
 * every file of the tree) and its mechanisms. */
static int probe_relay(const struct hostport *hp, const struct target *tg, const char *ca_file, const char *ca_path,
		       bool fingerprint, struct probe_result *res)
{
	const char *why = fingerprint ? "the public key to pin (--relay-tls=fingerprint)"
				      : "its AUTH mechanisms and certificate (--mechanisms=LIST skips this)";
	log_info("probing %s port %u for %s", hp->host, hp->port, why);
	int r = probe_run_ca(hp->host, hp->port, tg->timeout_sec, tg->root_given ? tg->root : NULL, ca_file, ca_path, res);
	if (r < 0)
		return log_err(-EHOSTUNREACH, "the relay host could not be probed for %s; %s", why,
			       fingerprint ? "--relay-tls=fingerprint needs to see its key" :
					     "give --mechanisms=LIST to apply anyway");
	if (!res->tls)
		return log_err(-EPROTO, "%s: offers no TLS; op25b will not send the ISP password in clear", hp->host);
	return 0;
}

/* The CA bundles of the distributions (smtp_tls_CAfile), first found wins. */
static const char *const ca_bundles[] = {
	"/etc/ssl/certs/ca-certificates.crt",  /* Debian, Ubuntu, Arch, Alpine's ca-certificates */
	"/etc/pki/tls/certs/ca-bundle.crt",    /* RHEL, CentOS, Fedora */
	"/etc/ssl/ca-bundle.pem",              /* openSUSE */
	"/etc/ssl/cert.pem",                   /* Alpine, the BSDs */
};

/* For secure: the CAs Postfix will trust. smtp_tls_CAfile / smtp_tls_CApath already in main.cf are
 * kept; else the distribution's bundle under the root, to be written as smtp_tls_CAfile (Postfix
 * does not use OpenSSL's default store unless tls_append_default_CA = yes). Paths on the target
 * system into *CA_FILE / *CA_PATH, *WRITE when smtp_tls_CAfile is to be set. */
static int relay_cas(struct conf_set *s, struct conf_file *main_cf, const char *root, char **ca_file, char **ca_path,
		     bool *write)
{
	bool pf, pp;
	const char *vf, *vp;
	int r;
	*write = false;
	if ((r = conf_get(s, main_cf, "smtp_tls_CAfile", &pf, &vf)) < 0 ||
	    (r = conf_get(s, main_cf, "smtp_tls_CApath", &pp, &vp)) < 0)
		return r;
	if ((pf && !strempty(vf)) || (pp && !strempty(vp))) {
		if ((pf && !strempty(vf) && !(*ca_file = strdup(vf))) || (pp && !strempty(vp) && !(*ca_path = strdup(vp))))
			return -ENOMEM;
		return 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(ca_bundles); i++) {
		struct stat st;
		if (root_stat(root, ca_bundles[i], false, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
			*write = true;
			return (*ca_file = strdup(ca_bundles[i])) ? 0 : -ENOMEM;
		}
	}
	return log_err(-ENOENT, "--relay-tls=secure: no CA bundle under %s (%s, %s, ...): install the "
				"ca-certificates package, set smtp_tls_CAfile in main.cf, or choose "
				"--relay-tls=fingerprint", root, ca_bundles[0], ca_bundles[1]);
}


int relay_tls_check(struct conf_set *s, struct conf_file *main_cf, const struct target *tg,
		    const struct relay_settings *o, const struct hostport *hp, bool need_mechs, struct relay_tls *t)
{
	int r;
	t->level = o->tls ? o->tls : "secure";
	bool secure = streq(t->level, "secure"), fingerprint = streq(t->level, "fingerprint");
	/* Postfix matches the certificate against the relay's name, never its address (measured: an IP
	 * subjectAltName does not verify with secure). */
	if (secure && hp->kind != HOSTPORT_NAME)
		return log_err(-EINVAL, "--relayhost=%s: --relay-tls=secure needs the relay's name (Postfix checks the "
					"certificate against the name, not the address); give the name, or "
					"--relay-tls=fingerprint", o->host);
	if (secure && (r = relay_cas(s, main_cf, tg->root, &t->ca_file, &t->ca_path, &t->write_ca)) < 0)
		return r;
	/* The probe learns the mechanisms (auto), the key to pin (fingerprint), and checks the
	 * certificate (secure). --mechanisms=LIST with secure does not connect: Postfix itself then
	 * refuses a relay whose certificate does not verify, before any password is sent. */
	if (need_mechs || fingerprint) {
		_cleanup_(probe_result_free) struct probe_result res = { 0 };
		if ((r = probe_relay(hp, tg, t->ca_file, t->ca_path, fingerprint, &res)) < 0)
			return r;
		if ((r = relay_checked(hp, t->level, t->ca_file ? t->ca_file : t->ca_path ? t->ca_path : "the system",
				       &res)) < 0)
			return r;
		if (need_mechs && (r = mechs_of(hp, &res, &t->offered)) < 0)
			return r;
		if (res.pubkey_sha256 && !(t->pin = strdup(res.pubkey_sha256)))
			return -ENOMEM;
	} else if (secure) {
		const char *cas = t->ca_file ? t->ca_file : t->ca_path;
		struct stat st;
		log_info("%s: its certificate was not checked (--mechanisms=LIST, no probe); Postfix will check it "
			 "against %s and the name %s before it sends the password", hp->host, cas, hp->host);
		if ((r = root_stat(tg->root, cas, false, &st)) < 0)
			log_warn("%s: %s: Postfix cannot verify the relay without it", cas, file_strerror(r));
	}
	if (streq(t->level, "encrypt"))
		log_warn("--relay-tls=encrypt: the relay's certificate is not checked; anyone in the middle can "
			 "read the ISP password (prefer secure, or fingerprint)");
	return 0;
}
