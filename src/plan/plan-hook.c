/* apply --domain: a certbot deploy hook that runs `op25b reload-certs` after each renewal, so the
 * servers pick up the new certificate (reload-certs reloads only those whose files changed). A
 * whole file of op25b's own: journaled like the others, removed by revert. */
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include "conffile.h"
#include "plan.h"
#include "rootfs.h"
#include "util.h"


static bool shell_safe(const char *s)
{
	return s[strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._+-= ")] == '\0';
}

int plan_certbot_hook(struct conf_set *s, const struct target *o)
{
	/* certbot makes the directory when it is installed; without certbot there is nothing to hook. */
	_cleanup_close_ int dfd = root_open(o->root, CERTBOT_HOOK_DIR, O_RDONLY | O_DIRECTORY, 0);
	if (dfd < 0) {
		log_info("%s: not found (certbot not installed?): after a renewal run 'op25b reload-certs' "
			 "(op25b(8) shows acme.sh and systemd set-ups)", CERTBOT_HOOK_DIR);
		return 0;
	}
	/* The binary that runs now, where it is installed. */
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return log_err(-errno, "/proc/self/exe: %m");
	exe[n] = '\0';
	_cleanup_free_ char *dirs = strdup_printf("%s%s%s%s%s%s",
		streq(o->postfix_dir, "/etc/postfix") ? "" : " --postfix-dir=", streq(o->postfix_dir, "/etc/postfix") ? "" : o->postfix_dir,
		streq(o->dovecot_dir, "/etc/dovecot") ? "" : " --dovecot-dir=", streq(o->dovecot_dir, "/etc/dovecot") ? "" : o->dovecot_dir,
		streq(o->state_dir, "/var/lib/op25b") ? "" : " --state-dir=", streq(o->state_dir, "/var/lib/op25b") ? "" : o->state_dir);
	if (!dirs)
		return -ENOMEM;
	/* The paths go into a shell script unquoted: only characters that need no quoting. */
	if (!shell_safe(exe) || !shell_safe(dirs))
		return log_err(-EINVAL, "%s%s: a path op25b cannot put in a shell script; no certbot hook", exe, dirs);
	char *text = strdup_printf("#!/bin/sh\n"
				   "# Installed by op25b apply --domain (op25b revert removes it): after certbot renewed\n"
				   "# a certificate, reload the mail services that serve it. See op25b(8), reload-certs.\n"
				   "exec %s reload-certs -q%s\n", exe, dirs);
	if (!text)
		return -ENOMEM;
	return conf_open_whole(s, CERTBOT_HOOK, 0755, text);
}
