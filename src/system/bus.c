/* One D-Bus method call (bus.h). */
#include "bus.h"

#include "util.h"

int bus_callv(sd_bus *bus, const char *dest, const char *path, const char *iface, const char *member,
	      uint64_t timeout_usec, unsigned flags, sd_bus_error *err, sd_bus_message **reply, const char *types,
	      va_list ap)
{
	_cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *m = NULL;
	int r = sym_sd_bus_message_new_method_call(bus, &m, dest, path, iface, member);
	if (r < 0)
		return r;
	if (flags & BUS_NO_AUTO_START) {
		r = sym_sd_bus_message_set_auto_start(m, 0);
		if (r < 0)
			return r;
	}
	if (types) {
		r = sym_sd_bus_message_appendv(m, types, ap);
		if (r < 0)
			return r;
	}
	return sym_sd_bus_call(bus, m, timeout_usec, err, reply);
}

int bus_call(sd_bus *bus, const char *dest, const char *path, const char *iface, const char *member,
	     uint64_t timeout_usec, unsigned flags, sd_bus_error *err, sd_bus_message **reply, const char *types, ...)
{
	va_list ap;
	va_start(ap, types);
	int r = bus_callv(bus, dest, path, iface, member, timeout_usec, flags, err, reply, types, ap);
	va_end(ap);
	return r;
}

const char *bus_error_text(const sd_bus_error *err, int r)
{
	return err && err->message ? err->message : strerror(-r);
}

int bus_get_property(sd_bus *bus, const char *dest, const char *path, const char *iface, const char *name,
		     uint64_t timeout_usec, const char *contents, sd_bus_error *err, sd_bus_message **reply)
{
	_cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *m = NULL;
	int r = bus_call(bus, dest, path, "org.freedesktop.DBus.Properties", "Get", timeout_usec, 0, err, &m, "ss",
			 iface, name);
	if (r < 0)
		return r;
	r = sym_sd_bus_message_enter_container(m, 'v', contents);
	if (r < 0)
		return r;
	*reply = TAKE_PTR(m);
	return 0;
}

int bus_get_string(sd_bus *bus, const char *dest, const char *path, const char *iface, const char *name,
		   uint64_t timeout_usec, sd_bus_error *err, char *buf, size_t size)
{
	_cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *s;
	int r = bus_get_property(bus, dest, path, iface, name, timeout_usec, "s", err, &reply);
	if (r < 0)
		return r;
	r = sym_sd_bus_message_read(reply, "s", &s);
	if (r < 0)
		return r;
	snprintf(buf, size, "%s", s);
	return 0;
}
