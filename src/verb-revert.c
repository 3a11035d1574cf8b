#include "verbs.h"
#include "util.h"
int verb_revert(const struct options *o) { (void)o; return log_err(EXIT_FAIL, "revert: not implemented yet"); }
