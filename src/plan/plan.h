/* Plans: from the mode, the options, the parsed files and the facts gathered before (plan-facts.h),
 * the edits each file needs (pure: they change the trees in memory; no process, no network, no
 * file read but through the file set; src/facts/ reads what they need). */
#pragma once
#include "conffile.h"
#include "plan-facts.h"
#include "settings.h"

/* The certificate and key of --domain or --cert/--key. */
int tls_paths_from(const struct tls_settings *o, struct tls_paths *t);
void tls_paths_free(struct tls_paths *t);

/* main.cf's server-side TLS keys (certificate, key, session cache, security level never lowered). */
int plan_tls_server(struct conf_set *s, struct conf_file *main_cf, const struct tls_paths *tls);
/* Service REL of master.cf (its "-o" smtpd_tls_cert_file, _key_file, _chain_files, when it has
 * them) gets TLS's files too. */
int plan_tls_stanza(struct conf_set *s, struct conf_file *master_cf, const char *rel, const struct tls_paths *tls);

/* F: facts_gather() for the mode (src/facts/facts.h): main.cf and master.cf are parsed in S. */
int plan_submission(struct conf_set *s, const struct target *t, const struct relay_settings *o,
		    const struct tls_paths *tls, const struct plan_facts *f);
int plan_smtps(struct conf_set *s, const struct target *t, const struct tls_paths *tls, const struct plan_facts *f);
/* --domain: the certbot deploy hook that runs `op25b reload-certs` (plan-hook.c). */
#define CERTBOT_HOOK_DIR "/etc/letsencrypt/renewal-hooks/deploy"
#define CERTBOT_HOOK CERTBOT_HOOK_DIR "/op25b"
/* F: facts_gather() with the hook asked for (src/facts/facts.h). */
int plan_certbot_hook(struct conf_set *s, const struct target *t, const struct hook_facts *f);
