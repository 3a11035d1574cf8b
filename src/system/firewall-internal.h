/* Inside the firewall step (firewall.c, firewall-zone.c, firewall-bus.c): what the three files
 * share. Not for use outside them: firewall.h is the interface. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "dlopen-systemd.h"
#include "firewall.h"

#define FW_MAX_SERVICES 4

/* A connection to firewalld (firewall-bus.c). */
struct fw_bus {
	sd_bus *bus;
	uint64_t timeout_usec;
};

void fw_aug_matches_free(char **v, int n);
void fw_bus_done(struct fw_bus *b);
int fw_detect_bus(const struct fw_ctx *c, enum fw_where *ret, const char **why, struct fw_bus *bus);
bool fw_exists_under(const char *root, const char *path);
bool fw_is_blank(const char *s);
bool fw_is_dir_under(const char *root, const char *path);
const char *fw_layers_str(unsigned l);
bool fw_name_valid(const char *s);
int fw_offline_edit(const struct fw_ctx *c, const char *zone_arg, bool add,
			const char *const *names, const unsigned *masks, size_t n, struct fw_result *res);
int fw_online_edit(const struct fw_ctx *c, struct fw_bus *b, const char *zone_arg, bool add,
		       const char *const *names, const unsigned *masks, size_t n, struct fw_result *res);
int fw_online_has_service(struct fw_bus *b, const char *name, bool *ret);
int fw_result_add_service(struct fw_result *r, const char *name, unsigned layers);
