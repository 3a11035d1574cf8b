/* One file per verb (verb-*.c), as systemctl does; each returns an exit status of util.h. */
#pragma once
#include "options.h"

int verb_apply(const struct options *o);
int verb_revert(const struct options *o);
int verb_status(const struct options *o);
int verb_probe(const struct options *o);
int verb_verify(const struct options *o);
int verb_log(const struct options *o);
