/* Reaching systemd, and which units there are (units.h): whether to restart at all, the
 * connection, and the Postfix unit(s). The jobs are units-run.c's. */
#include "units.h"

#include "bus.h"
#include "rootfs.h"
#include "systemd-bus.h"
#include "util.h"

#define PRIVATE_ADDRESS "unix:path=/run/systemd/private"
#define DEFAULT_SYSTEM_ADDRESS "unix:path=/run/dbus/system_bus_socket"

/* ---- whether to restart at all ---- */

bool units_offline(const struct offline *off, char *buf, size_t size, const char **why)
{
	const char *dummy;

	if (!why)
		why = &dummy;
	*why = NULL;
	if (off->offline) {
		*why = off->why;
		return true;
	}
	if (off->forced_online)
		return false; /* whatever follows fails loudly if there is no systemd */

	/* Units need systemd itself, which the firewall does not. */
	if (dlopen_systemd() < 0) {
		*why = "libsystemd cannot be loaded";
		return true;
	}
	if (sym_sd_booted() <= 0) {
		_cleanup_free_ char *comm = NULL;
		size_t len = 0;
		if (read_file("/proc/1/comm", false, &comm, &len) >= 0) {
			comm[strcspn(comm, "\n")] = '\0';
			snprintf(buf, size, "not booted with systemd (PID 1 is %.64s)", comm);
			*why = buf;
		} else
			*why = "not booted with systemd";
		return true;
	}
	return false;
}

/* ---- connection ---- */

static int check_manager(sd_bus *bus, sd_bus_error *err)
{
	char version[64];
	int r = bus_get_string(bus, SD_DEST, SD_PATH, SD_MANAGER, "Version", SD_CALL_TIMEOUT_USEC, err, version,
			       sizeof version);
	if (r >= 0)
		log_debug("connected to systemd %s", version);
	return r;
}

/* What systemctl does as root: talk to PID 1 directly, no dbus-daemon needed. */
static int bus_open_private(sd_bus **ret)
{
	_cleanup_(sym_sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sym_sd_bus_error_freep) sd_bus_error err = SD_BUS_ERROR_NULL;
	int r;

	if (access("/run/systemd/private", F_OK) < 0)
		return -errno;
	r = sym_sd_bus_new(&bus);
	if (r < 0)
		return r;
	r = sym_sd_bus_set_address(bus, PRIVATE_ADDRESS);
	if (r < 0)
		return r;
	r = sym_sd_bus_start(bus);
	if (r < 0)
		return r;
	r = check_manager(bus, &err);
	if (r < 0) {
		log_debug("%s: %s", PRIVATE_ADDRESS, bus_error_text(&err, r));
		return r;
	}
	*ret = TAKE_PTR(bus);
	return 0;
}

int units_bus_open(sd_bus **ret)
{
	_cleanup_(sym_sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sym_sd_bus_error_freep) sd_bus_error err = SD_BUS_ERROR_NULL;
	const char *env = getenv("DBUS_SYSTEM_BUS_ADDRESS");
	const char *addr = strempty(env) ? DEFAULT_SYSTEM_ADDRESS : env;
	int r;

	*ret = NULL;
	if ((r = dlopen_systemd()) < 0)
		return r;
	if (strempty(env) && geteuid() == 0) {
		r = bus_open_private(&bus);
		if (r >= 0) {
			log_debug("using systemd's private socket");
			*ret = TAKE_PTR(bus);
			return 0;
		}
		log_debug("systemd's private socket: %s; trying the system bus", strerror(-r));
	}
	r = sym_sd_bus_open_system(&bus);
	if (r < 0)
		return log_err(r, "cannot connect to the system bus at %s: %s (is dbus running? SYSTEMD_OFFLINE=1 skips restarts)",
			       addr, strerror(-r));
	r = check_manager(bus, &err);
	if (r < 0)
		return log_err(r, "systemd does not answer on the system bus at %s: %s", addr, bus_error_text(&err, r));
	*ret = TAKE_PTR(bus);
	return 0;
}

/* ---- which Postfix units ---- */

/* UNIT's object path in *PATH (allocated), loading it if systemd has not yet (LoadUnit): a unit
 * it cannot find still gets a path, whose LoadState says "not-found". */
static int unit_load(sd_bus *bus, const char *unit, char **path)
{
	_cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(sym_sd_bus_error_freep) sd_bus_error err = SD_BUS_ERROR_NULL;
	const char *p;
	int r;

	r = bus_call(bus, SD_DEST, SD_PATH, SD_MANAGER, "LoadUnit", SD_CALL_TIMEOUT_USEC, 0, &err, &reply, "s", unit);
	if (r < 0)
		return log_err(r, "cannot load unit %s: %s", unit, bus_error_text(&err, r));
	r = sym_sd_bus_message_read(reply, "o", &p);
	if (r < 0)
		return log_err(r, "LoadUnit %s: bad reply: %s", unit, strerror(-r));
	*path = strdup(p);
	return *path ? 0 : log_err(-ENOMEM, "out of memory");
}

/* LoadState of UNIT at PATH ("loaded", "not-found", "masked", ...). */
static int unit_load_state(sd_bus *bus, const char *unit, const char *path, char *buf, size_t size)
{
	_cleanup_(sym_sd_bus_error_freep) sd_bus_error err = SD_BUS_ERROR_NULL;
	int r = bus_get_string(bus, SD_DEST, path, SD_UNIT, "LoadState", SD_CALL_TIMEOUT_USEC, &err, buf, size);
	if (r < 0)
		return log_err(r, "cannot read LoadState of %s: %s", unit, bus_error_text(&err, r));
	return 0;
}

/* Whether UNIT at PATH lists OTHER in its Conflicts= (false for a unit systemd does not know). */
static int unit_conflicts_with(sd_bus *bus, const char *unit, const char *path, const char *other, bool *out)
{
	_cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *val = NULL;
	_cleanup_(sym_sd_bus_error_freep) sd_bus_error err = SD_BUS_ERROR_NULL;
	const char *name;
	int r;

	*out = false;
	r = bus_get_property(bus, SD_DEST, path, SD_UNIT, "Conflicts", SD_CALL_TIMEOUT_USEC, "as", &err, &val);
	if (r < 0)
		return log_err(r, "cannot read Conflicts of %s: %s", unit, bus_error_text(&err, r));
	r = sym_sd_bus_message_enter_container(val, 'a', "s");
	while (r >= 0 && (r = sym_sd_bus_message_read(val, "s", &name)) > 0)
		if (streq(name, other))
			*out = true;
	if (r < 0)
		return log_err(r, "Conflicts of %s: bad reply: %s", unit, strerror(-r));
	return 0;
}

static int names_one(const char *name, char ***out)
{
	char **v = calloc(2, sizeof *v);
	if (!v || !(v[0] = strdup(name))) {
		free(v);
		return log_err(-ENOMEM, "out of memory");
	}
	*out = v;
	return 0;
}

int units_postfix_names_on(sd_bus *bus, char ***out)
{
	_cleanup_free_ char *pf = NULL, *pf_instance = NULL;
	char state[32];
	bool own_daemon;
	int r;

	*out = NULL;
	/* Debian 13: postfix.service runs the default instance itself and Conflicts= postfix@-.service,
	 * whose template would assert /etc/postfix-//main.cf. */
	if ((r = unit_load(bus, "postfix.service", &pf)) < 0 ||
	    (r = unit_conflicts_with(bus, "postfix.service", pf, "postfix@-.service", &own_daemon)) < 0)
		return r;
	log_debug("postfix.service conflicts with postfix@-.service: %s", own_daemon ? "yes" : "no");
	if (own_daemon)
		return names_one("postfix.service", out);
	/* Debian 11/12: postfix.service is a /bin/true wrapper; the daemon runs in the instance unit. */
	if ((r = unit_load(bus, "postfix@-.service", &pf_instance)) < 0 ||
	    (r = unit_load_state(bus, "postfix@-.service", pf_instance, state, sizeof state)) < 0)
		return r;
	log_debug("postfix@-.service: LoadState %s", state);
	if (streq(state, "loaded"))
		return names_one("postfix@-.service", out);
	r = unit_load_state(bus, "postfix.service", pf, state, sizeof state);
	if (r < 0)
		return r;
	log_debug("postfix.service: LoadState %s", state);
	if (streq(state, "not-found"))
		return log_err(-ENOENT, "no Postfix unit: systemd knows neither postfix@-.service nor postfix.service");
	return names_one("postfix.service", out); /* masked etc.: the restart says so */
}
