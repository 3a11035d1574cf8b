/* fw-driver: drive the firewall step (src/system/firewall.h) from tests/t-firewall.sh.
 *
 *   fw-driver [OPTIONS] detect                    where: online|offline|absent (and why)
 *   fw-driver [OPTIONS] open MODE[,MODE]          open the services of the modes
 *   fw-driver [OPTIONS] close SERVICE:MASK...     close services (MASK: 1 permanent, 2 runtime, 3 both)
 *   fw-driver ports MODE[,MODE]                   ports to forward on the router
 *   fw-driver xml add|remove FILE SERVICE...      edit FILE's bytes, print the result on stdout
 * OPTIONS: --root=DIR (offline) --zone=ZONE --dry-run --write --no-write --timeout=SEC -q -v
 *
 * open/close print one line per item: "where W", "zone Z", "service NAME MASK", and for offline
 * "path P", "source S", "old-exists 0|1", "new-bytes N|-", "written 0|1". Offline results are
 * written with fw_offline_write() under --root unless --no-write or --dry-run; on the real root
 * (firewalld not running) only with --write, so that a stray run cannot edit the host's
 * /etc/firewalld (tests bind-mount a scratch directory there first).
 * Exit: 0 ok, 1 the call failed, 2 usage. */
#include <getopt.h>

#include "firewall.h"
#include "rootfs.h"
#include "settings.h"
#include "util.h"

static int parse_modes(const char *arg, unsigned *modes)
{
	_cleanup_free_ char *copy = strdup(arg);
	char *save = NULL;
	*modes = 0;
	if (!copy)
		return -ENOMEM;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		unsigned m;
		if (mode_parse(t, &m) < 0)
			return -EINVAL;
		*modes |= m;
	}
	return *modes ? 0 : -EINVAL;
}

static const char *where_str(enum fw_where w)
{
	return w == FW_ONLINE ? "online" : w == FW_OFFLINE ? "offline" : "absent";
}

static void print_result(const struct fw_result *r, bool written)
{
	printf("where %s\n", where_str(r->where));
	if (r->zone)
		printf("zone %s\n", r->zone);
	for (size_t i = 0; i < r->n_services; i++)
		printf("service %s %u\n", r->services[i].name, r->services[i].layers);
	if (r->where == FW_OFFLINE) {
		printf("path %s\nsource %s\nold-exists %d\n", r->path, r->source, r->old_exists);
		if (r->new_data)
			printf("new-bytes %zu\n", r->new_len);
		else
			printf("new-bytes -\n");
		printf("dir-missing %d\nwritten %d\n", r->dir_missing, written);
	}
}

static int usage_exit(void)
{
	fputs("usage: fw-driver [--root=DIR] [--zone=ZONE] [--dry-run] [--write|--no-write] [--timeout=SEC] [-q|-v]\n"
	      "                 detect | open MODES | close SERVICE:MASK... | ports MODES |\n"
	      "                 xml add|remove FILE SERVICE...\n",
	      stderr);
	return EXIT_USAGE;
}

static int do_xml(int argc, char **argv)
{
	if (argc < 3 || !(streq(argv[0], "add") || streq(argv[0], "remove")))
		return usage_exit();
	_cleanup_free_ char *data = NULL, *out = NULL;
	_cleanup_free_ bool *changed = calloc((size_t)argc, sizeof(bool));
	size_t len, outlen;
	int r = read_file(argv[1], false, &data, &len);
	if (r < 0) {
		log_err(r, "%s: %s", argv[1], strerror(-r));
		return EXIT_FAIL;
	}
	if (!changed)
		return EXIT_FAIL;
	r = fw_zone_xml_edit(data, len, argv[1], streq(argv[0], "add"), (const char *const *)argv + 2,
			     (size_t)argc - 2, changed, &out, &outlen);
	if (r < 0)
		return EXIT_FAIL;
	for (int i = 2; i < argc; i++)
		fprintf(stderr, "%s %s\n", argv[i], changed[i - 2] ? "changed" : "unchanged");
	if (out)
		fwrite(out, 1, outlen, stdout);
	else
		fwrite(data, 1, len, stdout);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' }, { "zone", required_argument, NULL, 'z' },
		{ "dry-run", no_argument, NULL, 'n' },    { "no-write", no_argument, NULL, 'W' },
		{ "timeout", required_argument, NULL, 't' }, { "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },    { "write", no_argument, NULL, 'w' },
		{ 0 }
	};
	struct fw_ctx c = { .root = "/" };
	bool no_write = false, force_write = false, rooted = false;
	int ch;

	while ((ch = getopt_long(argc, argv, "+nqv", opts, NULL)) >= 0)
		switch (ch) {
		case 'r': c.root = optarg; rooted = true; break;
		case 'z': c.zone = optarg; break;
		case 'n': c.dry_run = true; break;
		case 'W': no_write = true; break;
		case 'w': force_write = true; break;
		case 't': c.timeout_sec = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'q': log_verbosity = -1; break;
		case 'v': log_verbosity = 1; break;
		default: return usage_exit();
		}
	argc -= optind;
	argv += optind;
	offline_detect(c.root, rooted, &c.off); /* as op25b does, once (facts_offline()) */
	if (argc < 1)
		return usage_exit();

	if (streq(argv[0], "xml"))
		return do_xml(argc - 1, argv + 1);

	if (streq(argv[0], "ports")) {
		unsigned modes, ports[4];
		if (argc != 2 || parse_modes(argv[1], &modes) < 0)
			return usage_exit();
		size_t n = fw_router_ports(modes, ports);
		for (size_t i = 0; i < n; i++)
			printf("%s%u", i ? " " : "", ports[i]);
		_cleanup_free_ char *hint = fw_router_hint(modes);
		printf("\nhint %s\n", hint ? hint : "");
		return 0;
	}

	if (streq(argv[0], "detect")) {
		enum fw_where w;
		const char *why = "";
		if (fw_detect(&c, &w, &why) < 0)
			return EXIT_FAIL;
		printf("where %s\nwhy %s\n", where_str(w), why);
		return 0;
	}

	_cleanup_(fw_result_done) struct fw_result res = { 0 };
	int r;
	if (streq(argv[0], "open")) {
		unsigned modes;
		if (argc != 2 || parse_modes(argv[1], &modes) < 0)
			return usage_exit();
		r = fw_open(&c, modes, &res);
	} else if (streq(argv[0], "close")) {
		struct fw_service svcs[8];
		size_t n = 0;
		if (argc < 2 || argc - 1 > (int)ELEMENTSOF(svcs))
			return usage_exit();
		for (int i = 1; i < argc; i++) {
			char *colon = strrchr(argv[i], ':');
			unsigned mask = FW_BOTH;
			if (colon) {
				*colon = '\0';
				mask = (unsigned)strtoul(colon + 1, NULL, 10);
			}
			svcs[n++] = (struct fw_service){ .name = argv[i], .layers = mask };
		}
		r = fw_close(&c, c.zone, svcs, n, &res);
	} else
		return usage_exit();

	bool written = false;
	if (r >= 0 && res.where == FW_OFFLINE && res.new_data && !no_write && !c.dry_run &&
	    (c.off.offline || force_write)) {
		r = fw_offline_write(&res);
		written = r >= 0;
	}
	print_result(&res, written);
	if (r < 0) {
		printf("error %s\n", strerror(-r));
		return EXIT_FAIL;
	}
	return 0;
}
