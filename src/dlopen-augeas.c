/* libaugeas, loaded on first use (see dlopen-augeas.h). */
#include "dlopen-augeas.h"

#include <dlfcn.h>

#include "util.h"

/* Written once, by dlopen_augeas(), before any of them is called: the symbol table of a library
 * linked late, not program state. */
#define AUGEAS_DEFINE_SYM(name) typeof(name) *sym_##name;
AUGEAS_SYMBOLS(AUGEAS_DEFINE_SYM)
#undef AUGEAS_DEFINE_SYM

/* The soname of Augeas 1.x (all of 1.0 .. 1.14). */
#define AUGEAS_SONAME "libaugeas.so.0"

int dlopen_augeas(void)
{
	if (sym_aug_init)
		return 0;
	/* Never unloaded: the pointers stay valid for the life of the process. */
	void *dl = dlopen(AUGEAS_SONAME, RTLD_NOW | RTLD_NODELETE);
	if (!dl)
		return log_err(-EOPNOTSUPP, "cannot load %s (Augeas): %s", AUGEAS_SONAME, dlerror());
	struct { const char *name; void **slot; } syms[] = {
#define AUGEAS_SLOT(name) { #name, (void **)&sym_##name },
		AUGEAS_SYMBOLS(AUGEAS_SLOT)
#undef AUGEAS_SLOT
	};
	for (size_t i = 0; i < ELEMENTSOF(syms); i++) {
		dlerror();
		void *p = dlsym(dl, syms[i].name);
		if (!p) {
			const char *why = dlerror();
			for (size_t k = 0; k < ELEMENTSOF(syms); k++)
				*syms[k].slot = NULL;
			dlclose(dl);
			return log_err(-EOPNOTSUPP, "%s: no symbol %s: %s", AUGEAS_SONAME, syms[i].name,
				       why ? why : "(null)");
		}
		*syms[i].slot = p;
	}
	return 0;
}
