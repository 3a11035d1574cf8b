/* One D-Bus method call, the way units.c, jobwait.c and firewall-bus.c make theirs: build the
 * message, call with a bound, and give the peer's error back for the caller's message. Every
 * function returns >= 0 or a negative errno (sd-bus's, from the peer's error name where it maps
 * one); it logs nothing: the caller names what failed, with bus_error_text() for why. */
#pragma once
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "dlopen-systemd.h"

/* A service that is not running is not started by the call (firewalld: op25b never starts it). */
#define BUS_NO_AUTO_START (1u << 0)

/* Call IFACE.MEMBER on the object PATH of DEST with the arguments TYPES, ... (NULL: none),
 * waiting at most TIMEOUT_USEC (not 0, which sd-bus reads as its own default of 25 s). FLAGS:
 * BUS_NO_AUTO_START. *REPLY (REPLY may be NULL) on success; on failure, ERR holds the peer's
 * error when it sent one (it stays unset when the message could not be built or sent). */
int bus_call(sd_bus *bus, const char *dest, const char *path, const char *iface, const char *member,
	     uint64_t timeout_usec, unsigned flags, sd_bus_error *err, sd_bus_message **reply, const char *types, ...);
int bus_callv(sd_bus *bus, const char *dest, const char *path, const char *iface, const char *member,
	      uint64_t timeout_usec, unsigned flags, sd_bus_error *err, sd_bus_message **reply, const char *types,
	      va_list ap);

/* Why a call that returned R failed: the peer's message, else R's strerror(). */
const char *bus_error_text(const sd_bus_error *err, int r);

/* Property NAME of IFACE at PATH of DEST (org.freedesktop.DBus.Properties.Get), its variant
 * entered: *REPLY is positioned to read a value of type CONTENTS ("s", "as", ...). */
int bus_get_property(sd_bus *bus, const char *dest, const char *path, const char *iface, const char *name,
		     uint64_t timeout_usec, const char *contents, sd_bus_error *err, sd_bus_message **reply);
/* A string property, copied into BUF (cut to SIZE). */
int bus_get_string(sd_bus *bus, const char *dest, const char *path, const char *iface, const char *name,
		   uint64_t timeout_usec, sd_bus_error *err, char *buf, size_t size);
