#include "verbs.h"
#include "util.h"
int verb_probe(const struct options *o) { (void)o; return log_err(EXIT_FAIL, "probe: not implemented yet"); }
