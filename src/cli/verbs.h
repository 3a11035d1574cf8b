/* One file per verb (verb-*.c), as systemctl does; each returns an exit status of util.h. */
#pragma once
#include "request.h"

int verb_apply(const struct request *o);
int verb_revert(const struct request *o);
int verb_status(const struct request *o);
int verb_probe(const struct request *o);
int verb_verify(const struct request *o);
int verb_reload_certs(const struct request *o);
int verb_log(const struct request *o);
