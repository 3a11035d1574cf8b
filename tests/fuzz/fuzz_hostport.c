/* libFuzzer target: the relay-host parser (src/net/hostport.h). Invariants: a parsed host is one that
 * Postfix can take (no blanks, no control bytes, no '#'), the port is 1..65535, and formatting then
 * parsing again gives the same host and port (what op25b writes into main.cf and the map reads
 * back the same). */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hostport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	struct hostport hp;
	const char *why = NULL;
	unsigned def = size ? (unsigned)data[0] * 257u % 65536u : 587u;
	if (def == 0)
		def = 587;
	if (hostport_parse(s, def, &hp, &why) == 0) {
		size_t n = strlen(hp.host);
		assert(n >= 1 && n <= HOSTPORT_NAME_MAX);
		for (size_t i = 0; i < n; i++)
			assert((unsigned char)hp.host[i] > ' ' && hp.host[i] != 0x7f && hp.host[i] != '#');
		assert(hp.port >= 1 && hp.port <= 65535);
		assert(hp.port_given || hp.port == def);
		if (hp.kind == HOSTPORT_NAME)
			assert(hostport_valid_name(hp.host));
		char buf[HOSTPORT_FORMAT_MAX];
		assert(hostport_format(&hp, buf, sizeof(buf)) == 0);
		struct hostport again;
		assert(hostport_parse(buf, 1, &again, &why) == 0);
		assert(strcmp(again.host, hp.host) == 0 && again.port == hp.port && again.kind == hp.kind);
		/* Too small a buffer is refused, never overrun. */
		char tiny[8];
		if (strlen(buf) >= sizeof(tiny))
			assert(hostport_format(&hp, tiny, sizeof(tiny)) < 0);
	} else {
		assert(why != NULL);
	}
	(void)hostport_valid_name(s);
	free(s);
	return 0;
}
