/* Libraries opened on first use, their functions reached through pointers (dlopen-augeas.h,
 * dlopen-systemd.h). Linked, each would be mapped, relocated and initialized before main() in every
 * run, also in the many runs that never call it. */
#pragma once
#include <stddef.h>

struct dlopen_sym {
	const char *name;
	void **slot;
};
#define DLOPEN_SYM(name) { #name, (void **)&sym_##name },

/* Open SONAME (WHAT names it in messages) and fill every slot of SYMS, all or none. The library is
 * never unloaded. 0, or -EOPNOTSUPP with the reason printed. */
int dlopen_library(const char *soname, const char *what, const struct dlopen_sym *syms, size_t n);
