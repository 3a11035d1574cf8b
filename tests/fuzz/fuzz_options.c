/* libFuzzer target: command-line parsing (request_parse of src/cli/request.h). The input is split at
 * NUL bytes into argv[1..]. Run it with -close_fd_mask=3 (make fuzz does): it prints. Not fuzzed:
 * --config=FILE (it would read files of this host: tests/fuzz/fuzz_config.c covers that parser).
 * Invariants: the result is 0, EXIT_USAGE or EXIT_FAIL; on 0 the defaults are filled in and the
 * paths are absolute. */
#include <assert.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "request.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 8192)
		return 0;
	char *copy = malloc(size + 1);
	char **argv = calloc(size + 3, sizeof(char *));
	if (!copy || !argv) {
		free(copy);
		free(argv);
		return 0;
	}
	memcpy(copy, data, size);
	copy[size] = '\0';
	int argc = 0;
	argv[argc++] = "op25b";
	for (char *p = copy; p <= copy + size;) {
		size_t n = strlen(p);
		if (strncmp(p, "--config", 8) != 0 && strncmp(p, "--co", 4) != 0)
			argv[argc++] = p;
		p += n + 1;
	}
	argv[argc] = NULL;

	/* getopt keeps a pointer into the previous argv: start it afresh, as a new process would. */
	char *dummy[] = { "op25b", NULL };
	optind = 0;
	(void)getopt_long(1, dummy, "", NULL, NULL);

	struct request o = { 0 };
	bool exit_now = false;
	log_verbosity = 0;
	int r = request_parse(argc, argv, &o, &exit_now);
	assert(r == 0 || r == EXIT_USAGE || r == EXIT_FAIL);
	if (r == 0 && !exit_now) {
		assert(o.verb && o.target.root && o.target.root[0] == '/');
		assert(o.target.postfix_dir && o.target.postfix_dir[0] == '/' && o.target.state_dir && o.target.dovecot_dir);
		assert(o.target.timeout_sec >= 1 && o.target.timeout_sec <= 3600);
	}
	request_free(&o);
	free(argv);
	free(copy);
	return 0;
}
