/* `op25b verify`: what op25b applied (the journal) and what the files say now (postconf, doveconf),
 * checked over the network the way a mail client and the ISP will see it. Each check is one line:
 * "ok ...", "FAIL ..." or "skip ...". */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "settings.h"

enum check_status { CHECK_OK, CHECK_FAIL, CHECK_SKIP };

struct check {
	enum check_status status;
	char *id;        /* stable name for --json: "465-tls", "relay", "send-test", ... */
	char *text;      /* the line, without the "ok "/"FAIL " prefix; never holds a secret */
	char *queue_id;  /* send-test: the queue ID from the 250 reply */
};

struct checks {
	struct check *v;
	size_t n;
	bool print;      /* print each line as it is added (text output) */
	bool lost_fail;  /* a failed check could not be recorded (no memory): still a failure */
};

void checks_add(struct checks *c, enum check_status st, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
size_t checks_failed(const struct checks *c);
void checks_free(struct checks *c);

/* What is configured, as paths on the target system; NULL or false when not set. */
struct verify_config {
	unsigned modes;          /* applied and committed, from the journal */
	bool interrupted;        /* a pending transaction */
	char *smtpd_cert;        /* smtpd_tls_cert_file, or the last of smtpd_tls_chain_files */
	char *relayhost, *mech_filter, *tls_level; /* relayhost, smtp_sasl_mechanism_filter, smtp_tls_security_level */
	char *relay_ca_file, *relay_ca_path;       /* smtp_tls_CAfile, smtp_tls_CApath */
	char *tls_pin;                             /* smtp_tls_fingerprint_cert_match */
	char *maillog;           /* maillog_file, or /var/log/mail.log */
	bool svc_465, svc_587;   /* master.cf serves smtps/submissions, submission */
	bool dovecot;            /* doveconf answered */
	char *dovecot_cert;      /* ssl_cert without '<', or ssl_server_cert_file */
	bool imap, pop3;         /* in Dovecot's protocols */
	char *smtpd_key;         /* smtpd_tls_key_file (reload-certs) */
	char *dovecot_key;       /* ssl_key without '<', or ssl_server_key_file */
};

/* Filled by src/facts/verify-config.h. */
void verify_config_free(struct verify_config *vc);

/* The network checks of each mode, against HOST. */
void verify_smtps(const struct target *o, const char *host, const struct verify_config *vc, struct checks *out);
void verify_submission(const struct target *o, const char *host, const struct verify_config *vc,
		       struct checks *out);
/* --send-test: submit one message (587 with STARTTLS, else 465) and follow it in the mail log. */
void verify_send_test(const struct target *t, const struct verify_settings *o, const char *host, const struct verify_config *vc,
		      struct checks *out);

/* "does the served certificate (SHA-256 SERVED) match the one in CERT (a target path)?" as a check
 * line's words; *ok tells the verdict. malloc'd. */
char *verify_cert_words(const char *root, const char *cert, const char *served, const char *served_subject, bool *ok);
