#include "verbs.h"
#include "util.h"
int verb_status(const struct options *o) { (void)o; return log_err(EXIT_FAIL, "status: not implemented yet"); }
