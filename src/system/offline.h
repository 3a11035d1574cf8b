/* Is op25b working on the running system, or on files only? Asked once per run (facts_offline(),
 * src/facts/facts.h); the answer goes to the restarts (units_offline()) and the firewall (struct
 * fw_ctx), so that both say the same thing and skip together. */
#pragma once
#include <stdbool.h>

struct offline {
	bool offline;
	bool forced_online;  /* SYSTEMD_OFFLINE=0: online whatever else says (a missing bus then fails loudly) */
	const char *why;     /* when offline, why: "--root given", "SYSTEMD_OFFLINE=1", "running in a chroot" */
};

/* Offline when --root was given (ROOT_GIVEN, or a ROOT other than "/"), when SYSTEMD_OFFLINE is true
 * (systemd's boolean spellings: 1 yes y true t on, any case), or in a chroot (/ is not PID 1's root;
 * SYSTEMD_IGNORE_CHROOT=1 says it is not). As systemctl does, a /proc/1/root that cannot be read
 * (a restricted /proc) means "not a chroot". Whether systemd itself is there is units.c's question. */
void offline_detect(const char *root, bool root_given, struct offline *ret);

/* systemd's environment booleans: 1 true, 0 false, -1 unset or not a boolean (with a warning). */
int env_bool(const char *name);
