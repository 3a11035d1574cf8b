/* apply --domain: a certbot deploy hook that runs `op25b reload-certs` after each renewal, so the
 * servers pick up the new certificate (reload-certs reloads only those whose files changed). A
 * whole file of op25b's own: journaled like the others, removed by revert. */
#include "conffile.h"
#include "plan.h"
#include "util.h"


static bool shell_safe(const char *s)
{
	return s[strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._+-= ")] == '\0';
}

int plan_certbot_hook(struct conf_set *s, const struct target *o, const struct hook_facts *f)
{
	(void)s;
	/* Without certbot there is nothing to hook (facts_gather() said so). */
	if (!f->file)
		return 0;
	_cleanup_free_ char *dirs = strdup_printf("%s%s%s%s%s%s",
		streq(o->postfix_dir, "/etc/postfix") ? "" : " --postfix-dir=", streq(o->postfix_dir, "/etc/postfix") ? "" : o->postfix_dir,
		streq(o->dovecot_dir, "/etc/dovecot") ? "" : " --dovecot-dir=", streq(o->dovecot_dir, "/etc/dovecot") ? "" : o->dovecot_dir,
		streq(o->state_dir, "/var/lib/op25b") ? "" : " --state-dir=", streq(o->state_dir, "/var/lib/op25b") ? "" : o->state_dir);
	if (!dirs)
		return -ENOMEM;
	/* The paths go into a shell script unquoted: only characters that need no quoting. */
	if (!shell_safe(f->exe) || !shell_safe(dirs))
		return log_err(-EINVAL, "%s%s: a path op25b cannot put in a shell script; no certbot hook", f->exe, dirs);
	char *text = strdup_printf("#!/bin/sh\n"
				   "# Installed by op25b apply --domain (op25b revert removes it): after certbot renewed\n"
				   "# a certificate, reload the mail services that serve it. See op25b(8), reload-certs.\n"
				   "exec %s reload-certs -q%s\n", f->exe, dirs);
	if (!text)
		return -ENOMEM;
	conf_whole(f->file, text);
	return 0;
}
