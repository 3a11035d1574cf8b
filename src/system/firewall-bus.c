/* firewalld over D-Bus (never bus-activated): detection, zones and services (firewall.h). */
#include "firewall.h"

#include "bus.h"
#include "firewall-internal.h"
#include "util.h"

#define FW_NAME "org.fedoraproject.FirewallD1"
#define FW_PATH "/org/fedoraproject/FirewallD1"
#define FW_CONFIG_PATH FW_PATH "/config"
#define FW_EXCEPTION FW_NAME ".Exception"

#define FW_DEFAULT_TIMEOUT_SEC 25u

/* ---------------------------------------------------------------- online (D-Bus) */

/* Call a method on firewalld without ever starting it by bus activation. */
static int fw_callv(struct fw_bus *b, const char *dest, const char *path, const char *iface,
		    const char *member, sd_bus_error *e, sd_bus_message **reply, const char *types, ...)
{
	va_list ap;
	va_start(ap, types);
	int r = bus_callv(b->bus, dest, path, iface, member, b->timeout_usec, BUS_NO_AUTO_START, e, reply, types, ap);
	va_end(ap);
	return r;
}

/* firewalld reports errors as org.fedoraproject.FirewallD1.Exception "CODE: detail". */
static bool fw_error_is(const sd_bus_error *e, const char *code)
{
	size_t l = strlen(code);
	return sym_sd_bus_error_has_name(e, FW_EXCEPTION) && e->message &&
	       strncmp(e->message, code, l) == 0 && (e->message[l] == '\0' || e->message[l] == ':');
}

static int fw_error(int r, const sd_bus_error *e, const char *what)
{
	static const struct { const char *code; int err; } map[] = {
		{ "INVALID_ZONE", -ENOENT }, { "INVALID_SERVICE", -ENOENT },
		{ "NOT_AUTHORIZED", -EACCES }, { "ACCESS_DENIED", -EACCES },
	};
	if (sym_sd_bus_error_has_name(e, FW_EXCEPTION)) {
		r = -EIO;
		for (size_t i = 0; i < ELEMENTSOF(map); i++)
			if (fw_error_is(e, map[i].code))
				r = map[i].err;
	}
	return log_err(r, "firewalld: %s: %s", what, bus_error_text(e, r));
}

/* 1 and *ret when firewalld owns its name on the system bus; 0 when it does not or the bus is
 * unreachable (offline). */
static int fw_bus_connect(const struct fw_ctx *c, struct fw_bus *ret)
{
	_cleanup_(sym_sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(sym_sd_bus_error_freep) sd_bus_error e = SD_BUS_ERROR_NULL;
	int has = 0, r;

	if (dlopen_systemd() < 0)
		return 0;
	r = sym_sd_bus_open_system(&bus);
	if (r < 0) {
		log_debug("system bus not reachable: %s", strerror(-r));
		return 0;
	}
	struct fw_bus b = {
		.bus = bus,
		.timeout_usec = (uint64_t)(c->timeout_sec ? c->timeout_sec : FW_DEFAULT_TIMEOUT_SEC) * 1000000u,
	};
	r = fw_callv(&b, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
		     "NameHasOwner", &e, &reply, "s", FW_NAME);
	if (r >= 0)
		r = sym_sd_bus_message_read(reply, "b", &has);
	if (r < 0) {
		log_debug("system bus: NameHasOwner(%s): %s", FW_NAME, bus_error_text(&e, r));
		return 0;
	}
	if (!has)
		return 0;
	ret->bus = TAKE_PTR(bus);
	ret->timeout_usec = b.timeout_usec;
	return 1;
}

void fw_bus_done(struct fw_bus *b)
{
	/* NULL when offline, where libsystemd may never have been loaded. */
	if (b->bus)
		b->bus = sym_sd_bus_flush_close_unref(b->bus);
}

int fw_detect_bus(const struct fw_ctx *c, enum fw_where *ret, const char **why, struct fw_bus *bus)
{
	const char *reason;
	int r;

	if (c->off.offline)
		reason = c->off.why;
	else {
		struct fw_bus b = { 0 };
		r = fw_bus_connect(c, &b);
		if (r > 0) {
			if (bus)
				*bus = b;
			else
				fw_bus_done(&b);
			*ret = FW_ONLINE;
			*why = "firewalld is running";
			return 0;
		}
		reason = "firewalld is not running";
	}
	/* Installed: the package's stock zones are there (a removed package may leave /etc behind). */
	if (fw_exists_under(c->root, "/usr/lib/firewalld/zones")) {
		*ret = FW_OFFLINE;
		*why = reason;
	} else {
		*ret = FW_ABSENT;
		*why = "firewalld is not installed";
	}
	return 0;
}

int fw_detect(const struct fw_ctx *c, enum fw_where *ret, const char **why)
{
	return fw_detect_bus(c, ret, why, NULL);
}

static int get_string(struct fw_bus *b, const char *path, const char *iface, const char *member,
		      const char *sig, const char *arg, char **ret)
{
	_cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(sym_sd_bus_error_freep) sd_bus_error e = SD_BUS_ERROR_NULL;
	const char *s;
	int r = arg ? fw_callv(b, FW_NAME, path, iface, member, &e, &reply, "s", arg)
		    : fw_callv(b, FW_NAME, path, iface, member, &e, &reply, NULL);
	if (r < 0) {
		_cleanup_free_ char *what = strdup_printf("%s(%s)", member, arg ? arg : "");
		return fw_error(r, &e, what ? what : member);
	}
	r = sym_sd_bus_message_read(reply, sig, &s);
	if (r < 0)
		return log_err(r, "firewalld: %s: unexpected reply: %s", member, strerror(-r));
	*ret = strdup(s);
	return *ret ? 0 : log_err(-ENOMEM, "out of memory");
}

static int online_zone(struct fw_bus *b, const char *zone_arg, char **zone, char **zpath)
{
	int r;
	if (zone_arg) {
		if (!fw_name_valid(zone_arg))
			return log_err(-EINVAL, "invalid firewalld zone name '%s'", zone_arg);
		*zone = strdup(zone_arg);
		if (!*zone)
			return log_err(-ENOMEM, "out of memory");
	} else {
		r = get_string(b, FW_PATH, FW_NAME, "getDefaultZone", "s", NULL, zone);
		if (r < 0)
			return r;
	}
	return get_string(b, FW_CONFIG_PATH, FW_NAME ".config", "getZoneByName", "o", *zone, zpath);
}

int fw_online_has_service(struct fw_bus *b, const char *name, bool *ret)
{
	_cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(sym_sd_bus_error_freep) sd_bus_error e = SD_BUS_ERROR_NULL;
	const char *s;
	int r = fw_callv(b, FW_NAME, FW_CONFIG_PATH, FW_NAME ".config", "getServiceNames", &e, &reply, NULL);
	if (r < 0)
		return fw_error(r, &e, "getServiceNames()");
	*ret = false;
	r = sym_sd_bus_message_enter_container(reply, 'a', "s");
	while (r >= 0 && (r = sym_sd_bus_message_read(reply, "s", &s)) > 0)
		if (streq(s, name))
			*ret = true;
	if (r < 0)
		return log_err(r, "firewalld: getServiceNames: unexpected reply: %s", strerror(-r));
	return 0;
}

static int online_query(struct fw_bus *b, const char *zone, const char *zpath, const char *svc,
			unsigned layer, bool *ret)
{
	_cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(sym_sd_bus_error_freep) sd_bus_error e = SD_BUS_ERROR_NULL;
	int v = 0, r;
	if (layer == FW_PERMANENT)
		r = fw_callv(b, FW_NAME, zpath, FW_NAME ".config.zone", "queryService", &e, &reply, "s", svc);
	else
		r = fw_callv(b, FW_NAME, FW_PATH, FW_NAME ".zone", "queryService", &e, &reply, "ss", zone, svc);
	if (r >= 0)
		r = sym_sd_bus_message_read(reply, "b", &v);
	if (r < 0) {
		_cleanup_free_ char *what = strdup_printf("%s queryService(%s) in zone %s",
							  layer == FW_PERMANENT ? "permanent" : "runtime", svc, zone);
		return fw_error(r, &e, what ? what : "queryService");
	}
	*ret = v;
	return 0;
}

/* Add (or remove) SVC in one layer. 1: changed, 0: already so (ALREADY_ENABLED / NOT_ENABLED). */
static int online_change(struct fw_bus *b, const char *zone, const char *zpath, const char *svc,
			 unsigned layer, bool add)
{
	_cleanup_(sym_sd_bus_error_freep) sd_bus_error e = SD_BUS_ERROR_NULL;
	const char *member = add ? "addService" : "removeService";
	int r;
	if (layer == FW_PERMANENT)
		r = fw_callv(b, FW_NAME, zpath, FW_NAME ".config.zone", member, &e, NULL, "s", svc);
	else if (add)
		r = fw_callv(b, FW_NAME, FW_PATH, FW_NAME ".zone", member, &e, NULL, "ssi", zone, svc, 0);
	else
		r = fw_callv(b, FW_NAME, FW_PATH, FW_NAME ".zone", member, &e, NULL, "ss", zone, svc);
	if (r >= 0)
		return 1;
	if (fw_error_is(&e, add ? "ALREADY_ENABLED" : "NOT_ENABLED"))
		return 0;
	_cleanup_free_ char *what = strdup_printf("%s %s(%s) in zone %s",
						  layer == FW_PERMANENT ? "permanent" : "runtime", member, svc, zone);
	return fw_error(r, &e, what ? what : member);
}

/* Apply (add) or undo (remove) SVCS in the layers of MASKS; on add failure, undo this call's adds. */
int fw_online_edit(const struct fw_ctx *c, struct fw_bus *b, const char *zone_arg, bool add,
		       const char *const *names, const unsigned *masks, size_t n, struct fw_result *res)
{
	_cleanup_free_ char *zone = NULL, *zpath = NULL;
	unsigned done[FW_MAX_SERVICES] = { 0 };
	int r, first_err = 0;

	if (n > FW_MAX_SERVICES)
		return log_err(-E2BIG, "too many firewall services (%zu)", n);
	r = online_zone(b, zone_arg, &zone, &zpath);
	if (r < 0)
		return r;

	for (size_t i = 0; i < n; i++) {
		static const unsigned layers[] = { FW_PERMANENT, FW_RUNTIME };
		for (size_t j = 0; j < ELEMENTSOF(layers); j++) {
			unsigned l = layers[j];
			if (!(masks[i] & l))
				continue;
			if (c->dry_run) {
				bool on = false;
				r = online_query(b, zone, zpath, names[i], l, &on);
				if (r >= 0 && on != add)
					done[i] |= l;
			} else {
				r = online_change(b, zone, zpath, names[i], l, add);
				if (r > 0)
					done[i] |= l;
			}
			if (r < 0 && add)
				goto undo;
			if (r < 0 && !first_err)
				first_err = r; /* revert: go on with the rest, report the first error */
		}
	}
	for (size_t i = 0; i < n; i++) {
		r = fw_result_add_service(res, names[i], done[i]);
		if (r < 0)
			return log_err(r, "out of memory");
	}
	res->zone = TAKE_PTR(zone);
	res->where = FW_ONLINE;
	return first_err;

undo:
	for (size_t i = 0; i < n; i++)
		for (unsigned l = FW_PERMANENT; l <= FW_RUNTIME; l <<= 1)
			if (!c->dry_run && (done[i] & l) && online_change(b, zone, zpath, names[i], l, false) < 0)
				log_warn("firewalld: could not take back %s %s in zone %s", fw_layers_str(l), names[i], zone);
	return r;
}
