/* libFuzzer target: the configuration file parser (config_read of src/cli/config.h, op25b's own
 * Augeas lens Op25b_Conf): the input is written to a private file (0600, ours) and read into
 * the table's values. Run it with -close_fd_mask=3 (make fuzz does): it prints. Invariants: 0 or a negative errno; what it fills in
 * passes the same checks as the command line (absolute paths without blanks). */
#include <assert.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "option-check.h"
#include "util.h"

static char path[] = "/tmp/op25b-fuzz-config-XXXXXX";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	int fd = mkstemp(path);
	assert(fd >= 0);
	close(fd);
	return 0;
}

__attribute__((destructor)) static void cleanup(void)
{
	unlink(path);
}

static void path_ok(const char *p)
{
	assert(!p || (p[0] == '/' && is_config_token(p)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 70 * 1024)
		return 0;
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write_all(fd, data, size) < 0) {
		close(fd);
		return 0;
	}
	close(fd);
	struct config_values v = { 0 };
	log_verbosity = 0;
	int r = config_read(path, &v);
	assert(r <= 0);
	if (r == 0) {
		for (unsigned i = 0; i < N_OPTS; i++)
			if (opt_defs[i].kind == K_PATH)
				path_ok(v.value[i]);
		assert(!v.value[OPT_ROOT] && !v.value[OPT_CONFIG]);
	}
	config_values_done(&v);
	return 0;
}
