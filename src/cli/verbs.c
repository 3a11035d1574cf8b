/* The one list of verbs (verbs.h). */
#include "verbs.h"

#include "option-table.h"
#include "util.h"

const struct verb verb_table[] = {
	{ "apply", V_APPLY, verb_apply,
	  "  op25b apply --mode=smtps (--domain=NAME | --cert=FILE --key=FILE) [OPTIONS]\n"
	  "  op25b apply --mode=submission --relayhost=HOST[:PORT] --relay-user=NAME\n"
	  "              (--relay-password-file=FILE | --relay-password-stdin)\n"
	  "              [--relay-tls=secure|fingerprint|encrypt] [--mechanisms=auto|LIST]\n"
	  "              [--password-map=PATH] [--cert/--key | --domain] [OPTIONS]\n" },
	{ "revert", V_REVERT, verb_revert,
	  "  op25b revert [--mode=MODE] [OPTIONS]   undo what op25b applied (all modes by default)\n" },
	{ "status", V_STATUS, verb_status,
	  "  op25b status [--json] [OPTIONS]        what is applied, and whether files still match\n" },
	{ "probe", V_PROBE, verb_probe,
	  "  op25b probe HOST[:PORT] [--json]       banner, EHLO, STARTTLS, AUTH before/after TLS\n" },
	{ "verify", V_VERIFY, verb_verify,
	  "  op25b verify [--host=ADDR] [--json]    check over the network what was applied\n"
	  "  op25b verify --send-test=ADDR --user=NAME (--password-file=FILE | --password-stdin)\n"
	  "                                         also submit a test message on 587 and follow it\n" },
	{ "log", V_LOG, verb_log,
	  "  op25b log [--json] [OPTIONS]           the runs that changed something, and their options\n" },
	{ "reload-certs", V_RELOAD_CERTS, verb_reload_certs,
	  "  op25b reload-certs [--check] [OPTIONS]  after a renewal: reload what serves a changed certificate\n" },
};
const size_t verb_count = ELEMENTSOF(verb_table);

/* Every verb has its own bit, and V_ALL is all of them: the option table's verbs are these. */
_Static_assert(ELEMENTSOF(verb_table) == __builtin_popcount(V_ALL), "one V_* bit per verb");

const struct verb *verb_find(const char *name)
{
	for (size_t i = 0; i < verb_count; i++)
		if (streq(name, verb_table[i].name))
			return &verb_table[i];
	return NULL;
}
