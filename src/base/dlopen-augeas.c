/* libaugeas, loaded on first use (see dlopen-augeas.h). */
#include "dlopen-augeas.h"

#include "dlopen.h"
#include "util.h"

/* Written once, by dlopen_augeas(), before any of them is called: the symbol table of a library
 * linked late, not program state. */
#define AUGEAS_DEFINE_SYM(name) typeof(name) *sym_##name;
AUGEAS_SYMBOLS(AUGEAS_DEFINE_SYM)
#undef AUGEAS_DEFINE_SYM

int dlopen_augeas(void)
{
	static const struct dlopen_sym syms[] = { AUGEAS_SYMBOLS(DLOPEN_SYM) };
	/* The soname of every Augeas 1.x (1.0 .. 1.14). */
	return sym_aug_init ? 0 : dlopen_library("libaugeas.so.0", "Augeas", syms, ELEMENTSOF(syms));
}
