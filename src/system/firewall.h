/* The firewall step: open (and on revert close) firewalld services for the modes applied.
 *
 * Three situations, chosen by fw_detect():
 *   FW_ONLINE   firewalld owns org.fedoraproject.FirewallD1 on the system bus (never bus-activated):
 *               each service goes into the zone's permanent config AND its runtime, over D-Bus.
 *   FW_OFFLINE  --root given, SYSTEMD_OFFLINE=1, a chroot, or firewalld installed but not on the bus:
 *               the zone's permanent XML (ROOT/etc/firewalld/zones/ZONE.xml, first copied from
 *               ROOT/usr/lib/firewalld/zones/ZONE.xml) is edited as firewall-offline-cmd would.
 *               fw_open()/fw_close() only compute the new bytes: the caller writes them (its
 *               journal does the atomic save), or calls fw_offline_write().
 *   FW_ABSENT   firewalld is not installed (not on the bus, no ROOT/usr/lib/firewalld): a notice,
 *               nothing to do, success.
 *
 * All functions return 0 or a negative errno after printing the cause (log_err). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "offline.h"
#include "settings.h"

/* Where a service was opened or closed: bit mask. */
enum {
	FW_PERMANENT = 1u << 0, /* the zone's permanent configuration (XML on disk) */
	FW_RUNTIME = 1u << 1,   /* the running firewall (lost at reload/restart unless permanent) */
	FW_BOTH = FW_PERMANENT | FW_RUNTIME,
};

enum fw_where {
	FW_ABSENT = 0,
	FW_ONLINE,
	FW_OFFLINE,
};

struct fw_ctx {
	const char *root;      /* files are under ROOT ("/" or NULL: the running system) */
	struct offline off;    /* the run's answer (facts_offline(), src/facts/facts.h): offline, never
	                        * D-Bus; the restarts get the same answer */
	const char *zone;      /* NULL: the default zone */
	bool dry_run;          /* online: only query; offline: the new bytes are computed anyway */
	unsigned timeout_sec;  /* limit for each D-Bus call; 0: 25 s */
	bool no_firewall;      /* --no-firewall: the firewall step (fwstep.c) leaves it alone */
};

/* One service and the layers op25b changed: after fw_open() the layers it ADDED the service to
 * (0 = it was already open everywhere: a later revert must leave it alone); after fw_close() the
 * layers it REMOVED it from. An offline open reports FW_BOTH for an added service, since
 * firewalld loads it into the runtime at its next start. Journal name + mask, and hand both back
 * to fw_close(). */
struct fw_service {
	char *name;
	unsigned layers;
};

struct fw_result {
	enum fw_where where;
	char *zone;                 /* zone used (NULL when FW_ABSENT) */
	struct fw_service *services;
	size_t n_services;
	/* FW_OFFLINE only: */
	char *path;                 /* ROOT/etc/firewalld/zones/ZONE.xml: the file to write (messages) */
	char *file;                 /* the same on the target system, reached beneath root (rootfs.h) */
	const char *root;
	char *source;               /* file the new bytes were computed from: path, or the stock copy */
	bool old_exists;            /* path existed; then old_data/old_len are its bytes */
	char *old_data;
	size_t old_len;
	char *new_data;             /* new bytes for path; NULL when it needs no change */
	size_t new_len;
	bool dir_missing;           /* the zones directory does not exist yet (create it 0750) */
};

/* Free what *r holds and zero it; usable as _cleanup_(fw_result_done). */
void fw_result_done(struct fw_result *r);

/* Online, offline or absent, and why (a static string for messages). */
int fw_detect(const struct fw_ctx *c, enum fw_where *ret, const char **why);

/* The firewalld service names for MODES (MODE_* bits), in a stable order: smtps, imaps, pop3s,
 * then submission or smtp-submission (have_submission: the daemon or the offline tree knows a
 * service called "submission", firewalld >= 2.1). Returns the count (at most 4). */
size_t fw_services_for_modes(unsigned modes, bool have_submission, const char *out[static 4]);

/* TCP ports the home router must forward to this host for MODES: 465, 993, 995 / 587.
 * Returns the count (at most 4). */
size_t fw_router_ports(unsigned modes, unsigned out[static 4]);
/* "465, 993, 995, 587" style list for MODES, malloc'ed (NULL on ENOMEM). */
char *fw_router_hint(unsigned modes);

/* Open the services of MODES. On failure nothing stays changed (what this call added online is
 * removed again) and *res is empty. */
int fw_open(const struct fw_ctx *c, unsigned modes, struct fw_result *res);

/* Close services that an earlier fw_open() added: removes each from the layers in its mask
 * (online; a service that is no longer enabled is fine) or from the zone's XML (offline).
 * ZONE: the zone fw_open() reported (NULL: the default zone). */
int fw_close(const struct fw_ctx *c, const char *zone, const struct fw_service *svcs, size_t n,
	     struct fw_result *res);

/* Write res->new_data to res->path atomically (temp file, fsync, rename, fsync of the directory;
 * zones directory created 0750, file 0644) for callers without a journal. No-op without new data. */
int fw_offline_write(const struct fw_result *res);

/* Pure edit of a zone XML document (Augeas Xml lens): add (or remove) NAMES as
 * <service name="..."/> the way firewall-offline-cmd lays them out. changed[i] tells whether
 * NAMES[i] was added (removed); *ret is NULL when nothing changed. WHAT names the document in
 * messages. */
int fw_zone_xml_edit(const char *xml, size_t len, const char *what, bool add,
		     const char *const *names, size_t n, bool *changed, char **ret, size_t *ret_len);

/* Pure: the names of the <service name="..."/> elements of a zone XML document, in document order,
 * as a strv (empty when none). WHAT names the document in messages. */
int fw_zone_xml_services(const char *xml, size_t len, const char *what, char ***ret);
