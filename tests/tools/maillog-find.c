/* Test driver for src/net/maillog-journal.c: `maillog-find QID SECONDS` looks for QID's delivery
 * status among the journal's mail entries of the last minute, waiting at most SECONDS for it.
 * Prints "found LINE", "none" or "error ERRNO-NAME"; exit 0, 1, 2. Used by tests/t-log.sh inside
 * the systemd harness (a real journald). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "maillog-journal.h"
#include "util.h"


int main(int argc, char **argv)
{
	if (argc != 3)
		return fprintf(stderr, "usage: maillog-find QID SECONDS\n"), 2;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	char *line = NULL;
	int r = maillog_journal_find(argv[1], ((uint64_t)ts.tv_sec - 60) * 1000000u, time(NULL) + atoi(argv[2]), &line);
	if (r > 0)
		printf("found %s\n", line);
	else if (r == 0 || r == -ENODATA)
		printf("none%s\n", r ? " (no mail entries)" : "");
	else
		printf("error %s\n", strerror(-r));
	free(line);
	return r > 0 ? 0 : r == 0 || r == -ENODATA ? 1 : 2;
}
