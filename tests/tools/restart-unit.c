/* restart-unit: test driver for src/system/units*.c (not installed, not part of ./op25b).
 *
 * usage: restart-unit [-v] [--root=DIR] [--timeout=SECS] [--twice] [--journal=N] [--names] [UNIT...]
 *   Prints "offline: yes (WHY)" and exits 0 when units_offline() says so; else opens the bus,
 *   prints "postfix units: ..." with --names, restarts the UNITs (the word "@postfix" stands for
 *   units_postfix_names_on()) and prints one line per unit:
 *     "result UNIT ok|error job=RESULT state=ACTIVE/SUB usec=N"
 *   then "elapsed-ms N". --twice restarts them again on the same connection (as after a rollback);
 *   --journal=N prints units_last_journal_lines() of every unit after "journal UNIT:".
 * exit: 0 all ok (or offline), 1 a restart failed, 2 usage, 3 no bus / no Postfix unit.
 * build: cc -Isrc tests/tools/restart-unit.c build/libop25b.a $(pkg-config --cflags --libs ...) */
#include <getopt.h>
#include <time.h>

#include "units.h"
#include "util.h"

static int restart_and_print(sd_bus *bus, const char *const *units, size_t n, unsigned timeout)
{
	_cleanup_free_ struct unit_result *res = calloc(n ? n : 1, sizeof *res);
	if (!res)
		return log_err(-ENOMEM, "out of memory");
	uint64_t t0 = now_usec();
	int r = units_restart(bus, units, timeout, res);
	uint64_t t1 = now_usec();
	for (size_t i = 0; i < n; i++)
		printf("result %s %s job=%s state=%s/%s usec=%llu\n", res[i].unit, res[i].ok ? "ok" : "error",
		       res[i].job_result[0] ? res[i].job_result : "-", res[i].active_state[0] ? res[i].active_state : "-",
		       res[i].sub_state[0] ? res[i].sub_state : "-", (unsigned long long)res[i].usec);
	printf("elapsed-ms %llu\n", (unsigned long long)((t1 - t0 + 500) / 1000));
	fflush(stdout);
	return r;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "root", required_argument, NULL, 'r' },  { "timeout", required_argument, NULL, 't' },
		{ "twice", no_argument, NULL, '2' },       { "journal", required_argument, NULL, 'j' },
		{ "names", no_argument, NULL, 'n' },       { "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_strv_free_ char **postfix = NULL;
	_cleanup_free_ const char **units = NULL;
	const char *root = "/", *why = NULL;
	bool root_given = false, twice = false, names = false;
	unsigned timeout = 0, journal = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "v", longopts, NULL)) != -1)
		switch (c) {
		case 'r': root = optarg; root_given = true; break;
		case 't': timeout = (unsigned)strtoul(optarg, NULL, 10); break;
		case '2': twice = true; break;
		case 'j': journal = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'n': names = true; break;
		case 'v': log_verbosity = 1; break;
		default: return 2;
		}

	struct offline off;
	char reason[160];
	offline_detect(root, root_given, &off);
	if (units_offline(&off, reason, sizeof(reason), &why)) {
		printf("offline: yes (%s)\n", why);
		return 0;
	}
	printf("offline: no\n");
	fflush(stdout);
	if (units_bus_open(&bus) < 0)
		return 3;

	bool want_postfix = names;
	for (int i = optind; i < argc; i++)
		want_postfix |= streq(argv[i], "@postfix");
	size_t npf = 0;
	if (want_postfix) {
		if (units_postfix_names_on(bus, &postfix) < 0)
			return 3;
		printf("postfix units:");
		for (; postfix[npf]; npf++)
			printf(" %s", postfix[npf]);
		printf("\n");
	}

	units = calloc((size_t)(argc - optind) + npf + 1, sizeof *units);
	if (!units)
		return log_err(1, "out of memory");
	size_t n = 0;
	for (int i = optind; i < argc; i++) {
		if (streq(argv[i], "@postfix"))
			for (size_t k = 0; k < npf; k++)
				units[n++] = postfix[k];
		else
			units[n++] = argv[i];
	}
	if (n == 0)
		return 0;

	r = restart_and_print(bus, units, n, timeout);
	if (twice) {
		int r2 = restart_and_print(bus, units, n, timeout);
		if (r >= 0)
			r = r2;
	}
	for (size_t i = 0; journal > 0 && i < n; i++) {
		_cleanup_free_ char *text = NULL;
		if (units_last_journal_lines(units[i], journal, &text) < 0)
			return 1;
		printf("journal %s:\n%s", units[i], text);
	}
	return r < 0 ? 1 : 0;
}
