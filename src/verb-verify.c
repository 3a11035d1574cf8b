/* op25b verify: placeholder until the network checks land. */
#include "util.h"
#include "verbs.h"

int verb_verify(const struct options *o)
{
	(void)o;
	return log_err(EXIT_FAIL, "verify: not implemented yet");
}
