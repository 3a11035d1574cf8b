/* What the plans need from outside the parsed files, gathered before planning by facts_gather()
 * (src/facts/facts.c): the relay's password, what the relay and its certificate are, Postfix's
 * compiled defaults, and the few facts about files that are not edited (stat results, Dovecot's
 * includes). Plain data: the plans read it and touch nothing outside the trees they edit.
 * Defined here, below facts/, because plan/ is its reader and a layer includes only itself and the
 * ones below (tests/t-layers.sh); facts/ fills it. */
#pragma once
#include <stdbool.h>

#include "conffile.h"
#include "hostport.h"
#include "relay-tls.h"
#include "secret.h"

/* SASL wiring (src/plan/sasl.c): what Dovecot's configuration has, read only when main.cf names no
 * SASL server of its own (or names op25b's, to claim it). */
struct sasl_facts {
	int dovecot_conf;      /* 0: dovecot.conf was read; -ENOENT: Dovecot is not installed */
	bool dovecot_conf_regular; /* dovecot.conf is a regular file (claiming its listener) */
	bool dropin_regular;   /* DOVECOT_DIR/conf.d/99-op25b-auth.conf, not followed, is a regular file */
	bool includes_confd;   /* dovecot.conf has an active !include of every conf.d file ... */
	bool confd_dir;        /* ... and conf.d is a directory */
	bool listener_found;   /* a listener at QUEUE/private/auth is in dovecot.conf or a file it includes */
	char *queue_directory; /* Postfix's, as main.cf or postconf gives it (NULL when not needed) */
	char *mail_owner;
};

/* Dovecot's ssl (src/plan/dovecot.c, smtps), from dovecot.conf's lines: 2.4 requires
 * "dovecot_config_version" as its first setting; the stock file includes conf.d; a file may set ssl
 * itself after that include, and then its settings win over conf.d's (the last one read wins). */
struct dovecot_ssl_facts {
	bool found;             /* dovecot.conf exists (else Dovecot is not installed) */
	bool v24;
	bool includes_confd;
	bool ssl_after_include; /* dovecot.conf sets ssl, ssl_* or ssl_server { } after including conf.d */
	bool ssl_conf;          /* conf.d/10-ssl.conf is a regular file (it does not exist otherwise) */
	char *ssl_override;     /* a file read after 10-ssl.conf that sets the certificate itself (a
	                         * conf.d file sorted after it, Debian's local.conf): the last one,
	                         * where the setting takes effect; NULL when none */
};

/* The relay (apply --mode=submission). */
struct relay_facts {
	struct hostport hp;               /* --relayhost parsed, port 587 unless given */
	char key[HOSTPORT_FORMAT_MAX];    /* "[smtp.isp.example]:587": relayhost and the map's key */
	struct secret password;           /* read once (file or stdin), wiped by facts_done() */
	struct relay_tls tls;             /* the level, the CAs, the pin (relay_tls_check()) */
	char *mechanisms;                 /* "plain, login": --mechanisms, or what the relay offers */
	char *table_type;                 /* default_database_type: hash, lmdb, ... */
	char *map_path;                   /* relay_map_path() */
	struct conf_file *map;            /* the map as read (raw, in the file set, first) */
	bool map_closed;                  /* the map and its compiled table are root:root 0600 already */
};

/* apply --domain: the certbot deploy hook (src/plan/plan-hook.c). */
struct hook_facts {
	struct conf_file *file;           /* CERTBOT_HOOK parsed raw; NULL: certbot is not installed */
	char *exe;                        /* the binary that runs now, where it is installed */
};

struct plan_facts {
	struct conf_file *main_cf, *master_cf; /* parsed, in the file set */
	struct relay_facts relay;
	struct sasl_facts sasl;
	struct dovecot_ssl_facts dovecot; /* smtps only */
	struct hook_facts hook;           /* --domain only */
};
