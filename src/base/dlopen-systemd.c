/* libsystemd, loaded on first use (see dlopen-systemd.h). */
#include "dlopen-systemd.h"

#include "dlopen.h"
#include "util.h"

/* Written once, by dlopen_systemd(), before any of them is called: the symbol table of a library
 * linked late, not program state. */
#define SYSTEMD_DEFINE_SYM(name) typeof(name) *sym_##name;
SYSTEMD_SYMBOLS(SYSTEMD_DEFINE_SYM)
#undef SYSTEMD_DEFINE_SYM

int dlopen_systemd(void)
{
	static const struct dlopen_sym syms[] = { SYSTEMD_SYMBOLS(DLOPEN_SYM) };
	return sym_sd_booted ? 0 : dlopen_library("libsystemd.so.0", "systemd", syms, ELEMENTSOF(syms));
}
