/* Opening a library on first use (see dlopen.h). */
#include "dlopen.h"

#include <dlfcn.h>

#include "util.h"

int dlopen_library(const char *soname, const char *what, const struct dlopen_sym *syms, size_t n)
{
	/* RTLD_NODELETE: the pointers stay valid for the life of the process. */
	void *dl = dlopen(soname, RTLD_NOW | RTLD_NODELETE);
	if (!dl)
		return log_err(-EOPNOTSUPP, "cannot load %s (%s): %s", soname, what, dlerror());
	for (size_t i = 0; i < n; i++) {
		dlerror();
		void *p = dlsym(dl, syms[i].name);
		if (!p) {
			const char *why = dlerror();
			for (size_t k = 0; k < n; k++)
				*syms[k].slot = NULL;
			dlclose(dl);
			return log_err(-EOPNOTSUPP, "%s (%s): no symbol %s: %s", soname, what, syms[i].name,
				       why ? why : "(null)");
		}
		*syms[i].slot = p;
	}
	return 0;
}
