/* The one offline detector (offline.h). */
#include "offline.h"

#include <strings.h>
#include <sys/stat.h>

#include "util.h"

int env_bool(const char *name)
{
	const char *v = getenv(name);
	if (!v)
		return -1;
	static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
	static const char *const no[] = { "0", "no", "n", "false", "f", "off" };
	for (size_t i = 0; i < ELEMENTSOF(yes); i++)
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
	for (size_t i = 0; i < ELEMENTSOF(no); i++)
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	log_warn("ignoring %s=%s: not a boolean", name, v);
	return -1;
}

/* / differs from PID 1's root. Unknown counts as "not a chroot". */
static bool running_in_chroot(void)
{
	struct stat a, b;
	if (env_bool("SYSTEMD_IGNORE_CHROOT") == 1)
		return false;
	if (stat("/", &a) < 0 || stat("/proc/1/root", &b) < 0)
		return false;
	return a.st_dev != b.st_dev || a.st_ino != b.st_ino;
}

void offline_detect(const char *root, bool root_given, struct offline *ret)
{
	*ret = (struct offline){ 0 };
	if (root_given || (root && *root && !streq(root, "/"))) {
		ret->offline = true;
		ret->why = "--root given";
		return;
	}
	int r = env_bool("SYSTEMD_OFFLINE");
	if (r == 1) {
		ret->offline = true;
		ret->why = "SYSTEMD_OFFLINE=1";
		return;
	}
	if (r == 0) {
		ret->forced_online = true;
		return;
	}
	if (running_in_chroot()) {
		ret->offline = true;
		ret->why = "running in a chroot";
	}
}
