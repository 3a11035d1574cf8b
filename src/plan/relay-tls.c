/* --relay-tls: how the ISP relay is authenticated before Postfix hands it the password: the
 * main.cf keys (the check op25b makes itself before anything is written is relay_tls_check() of
 * src/facts/relay-check.c). encrypt alone authenticates nothing: a
 * machine in the middle with a self-signed certificate received the password (FINDINGS). */
#include "relay-tls.h"

#include <strings.h>

#include "postfix.h"
#include "util.h"

/* A pin that changes is said aloud: the ISP's new key, or someone in the middle of this run. */
static int pin_changed(struct conf_set *s, struct conf_file *main_cf, const char *pin)
{
	bool present;
	const char *old;
	int r = conf_get(s, main_cf, "smtp_tls_fingerprint_cert_match", &present, &old);
	if (r < 0)
		return r;
	if (present && !strempty(old) && strcasecmp(old, pin) != 0)
		log_warn("the relay's key is not the one pinned before (%s): pinning %s instead; make sure this is "
			 "your ISP's new key", old, pin);
	return 0;
}

void relay_tls_done(struct relay_tls *t)
{
	free(t->ca_file);
	free(t->ca_path);
	free(t->pin);
	free(t->offered);
	*t = (struct relay_tls){ 0 };
}

int relay_tls_set(struct conf_set *s, struct conf_file *main_cf, const struct relay_tls *t)
{
	int r;
	/* Without a level Postfix never sends STARTTLS, and the ISP either refuses AUTH or gets the
	 * password in clear; encrypt alone gives it to anyone in the middle (FINDINGS). */
	if ((r = main_cf_set(s, main_cf, "smtp_tls_security_level", t->level)) < 0)
		return r;
	if (t->write_ca && (r = main_cf_set(s, main_cf, "smtp_tls_CAfile", t->ca_file)) < 0)
		return r;
	if (!streq(t->level, "fingerprint"))
		return 0;
	/* Postfix 3.7 defaults to md5 below compatibility_level 3.6; the pin is of the public key (it
	 * survives a renewal of the certificate that keeps the key). */
	if ((r = pin_changed(s, main_cf, t->pin)) < 0 ||
	    (r = main_cf_set(s, main_cf, "smtp_tls_fingerprint_digest", "sha256")) < 0)
		return r;
	return main_cf_set(s, main_cf, "smtp_tls_fingerprint_cert_match", t->pin);
}
