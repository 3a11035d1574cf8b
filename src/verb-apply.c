#include "verbs.h"
#include "util.h"
int verb_apply(const struct options *o) { (void)o; return log_err(EXIT_FAIL, "apply: not implemented yet"); }
