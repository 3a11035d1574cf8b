/* libaugeas, loaded when a run first needs it.
 *
 * Linked normally, libaugeas brings libxml2, ICU and libstdc++ into every process: 1.4 ms and
 * 3.7 MiB before main(), paid also by the runs that never parse a file (a no-change re-apply, a
 * byte-for-byte revert, status, probe). So op25b opens it with dlopen() in aug_open() and calls it
 * through the pointers below, the way systemd loads its optional libraries. typeof() keeps every
 * call checked against <augeas.h>. */
#pragma once
#include <augeas.h>

#define AUGEAS_SYMBOLS(X) \
	X(aug_close) X(aug_error) X(aug_error_message) X(aug_error_minor_message) X(aug_get) \
	X(aug_init) X(aug_insert) X(aug_label) X(aug_load) X(aug_match) X(aug_rename) X(aug_rm) \
	X(aug_set) X(aug_span) X(aug_text_retrieve) X(aug_text_store)

#define AUGEAS_DECLARE_SYM(name) extern typeof(name) *sym_##name;
AUGEAS_SYMBOLS(AUGEAS_DECLARE_SYM)
#undef AUGEAS_DECLARE_SYM

/* Load libaugeas.so.0 and resolve every symbol above, once; later calls return at once. 0, or
 * -EOPNOTSUPP with the reason printed. */
int dlopen_augeas(void);
