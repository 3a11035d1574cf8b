/* libsystemd (sd-bus, sd-journal, sd-id128, sd_booted), loaded when a run first talks to systemd.
 *
 * Linked, libsystemd brings libgcrypt, libcap, liblz4, libzstd and liblzma into every process
 * (0.7 ms, 1.1 MiB), also into the runs that restart nothing: --root, --dry-run, a no-change
 * re-apply, status, probe. Calls go through the pointers below (typeof() keeps them checked against
 * the headers); dlopen_systemd() is called by every entry point that reaches systemd. */
#pragma once
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#define SYSTEMD_SYMBOLS(X) \
	X(sd_booted) X(sd_bus_call) X(sd_bus_error_free) X(sd_bus_error_has_name) \
	X(sd_bus_flush_close_unref) X(sd_bus_is_bus_client) X(sd_bus_match_signal) \
	X(sd_bus_message_append) X(sd_bus_message_appendv) X(sd_bus_message_enter_container) \
	X(sd_bus_message_new_method_call) X(sd_bus_message_read) X(sd_bus_message_set_auto_start) \
	X(sd_bus_message_unref) X(sd_bus_new) X(sd_bus_open_system) X(sd_bus_path_encode) \
	X(sd_bus_process) X(sd_bus_set_address) X(sd_bus_slot_unref) X(sd_bus_start) X(sd_bus_wait) \
	X(sd_journal_add_disjunction) X(sd_journal_add_match) X(sd_journal_close) \
	X(sd_journal_flush_matches) X(sd_journal_get_data) X(sd_journal_get_fd) \
	X(sd_journal_get_realtime_usec) X(sd_journal_open) X(sd_journal_previous) \
	X(sd_journal_seek_tail) X(sd_journal_wait) X(sd_id128_get_boot) X(sd_id128_to_string) \
	X(sd_journal_sendv) X(sd_journal_next) X(sd_journal_seek_realtime_usec)

#define SYSTEMD_DECLARE_SYM(name) extern typeof(name) *sym_##name;
SYSTEMD_SYMBOLS(SYSTEMD_DECLARE_SYM)
#undef SYSTEMD_DECLARE_SYM

/* Load libsystemd.so.0 and resolve every symbol above, once. 0, or -EOPNOTSUPP with the reason
 * printed. */
int dlopen_systemd(void);

/* Cleanup functions for _cleanup_(), in place of the headers' sd_*p ones, which would link the
 * library. Each object was made by the loaded library, or is still NULL. */
static inline void sym_sd_bus_message_unrefp(sd_bus_message **m) { if (*m) sym_sd_bus_message_unref(*m); }
static inline void sym_sd_bus_flush_close_unrefp(sd_bus **b) { if (*b) sym_sd_bus_flush_close_unref(*b); }
static inline void sym_sd_bus_slot_unrefp(sd_bus_slot **s) { if (*s) sym_sd_bus_slot_unref(*s); }
static inline void sym_sd_journal_closep(sd_journal **j) { if (*j) sym_sd_journal_close(*j); }
/* An error still SD_BUS_ERROR_NULL holds nothing, loaded library or not. */
static inline void sym_sd_bus_error_freep(sd_bus_error *e) { if (sym_sd_bus_error_free) sym_sd_bus_error_free(e); }
