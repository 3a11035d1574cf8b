/* Dovecot's configuration as read before planning: dovecot.conf read once for the plans that need
 * it (the SASL wiring, smtps's ssl), and the facts of smtps's ssl (struct dovecot_ssl_facts of
 * src/plan/plan-facts.h). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "conffile.h"
#include "plan-facts.h"
#include "settings.h"

/* dovecot.conf's text, read on first use. */
struct dovecot_conf {
	bool read;
	int r;          /* 0, or -ENOENT: there is none */
	char *text;
	size_t len;
};

/* C filled for O's dovecot.conf on first use: 0 (C->r says whether it exists), or a negative errno
 * after a message for a file that is there but cannot be read. */
int dovecot_conf_read(struct conf_set *s, const struct target *o, struct dovecot_conf *c);
void dovecot_conf_done(struct dovecot_conf *c);

/* Where smtps's ssl settings go: dovecot.conf's lines (C) and conf.d/10-ssl.conf's presence. 0,
 * or a negative errno after a message (dovecot.conf unreadable, 10-ssl.conf not a regular file). */
int dovecot_ssl_facts_gather(struct conf_set *s, const struct target *o, struct dovecot_conf *c,
			     struct dovecot_ssl_facts *f);
