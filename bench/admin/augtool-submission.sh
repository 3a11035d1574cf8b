#!/bin/sh
# submission with augtool, default autoload; the map is not one the stock lenses load (their filter
# wants *passwd), so it is written 0600 by the shell and compiled with postmap, main.cf dated a
# minute back first (as in submission.sh with BACKDATE=1: augtool is measured, not Postfix's wait).
# Usage: augtool-submission.sh ROOT RELAYHOST USER PASSWORD-FILE [noop]
set -eu
root=$1 relay=$2 user=$3 pwfile=$4
pf=$root/etc/postfix
m=/files/etc/postfix/main.cf a=/files/etc/dovecot/conf.d/99-op25b-auth.conf M=/files/etc/postfix/master.cf/submission
{
	[ "${5:-}" = noop ] && echo 'set /augeas/save noop'
	cat <<-AUG
	set $m/relayhost [$relay]:587
	set $m/smtp_sasl_auth_enable yes
	set $m/smtp_sasl_password_maps hash:/etc/postfix/ispinfo
	set $m/smtp_sasl_security_options noanonymous
	set $m/smtp_sasl_tls_security_options noanonymous
	set $m/smtp_sasl_mechanism_filter "plain, login"
	set $m/smtp_tls_security_level encrypt
	set $M/type inet
	set $M/private n
	set $M/unprivileged -
	set $M/chroot y
	set $M/wakeup -
	set $M/limit -
	set $M/command "smtpd\n  -o syslog_name=postfix/submission\n  -o smtpd_sasl_auth_enable=yes\n  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n  -o smtpd_tls_security_level=encrypt\n  -o smtpd_tls_auth_only=yes"
	set $m/smtpd_sasl_type dovecot
	set $m/smtpd_sasl_path private/auth
	set $a/service auth
	set $a/service/unix_listener /var/spool/postfix/private/auth
	set $a/service/unix_listener/mode 0660
	set $a/service/unix_listener/user postfix
	set $a/service/unix_listener/group postfix
	save
	AUG
} | augtool -r "$root" >/dev/null
[ "${5:-}" = noop ] && exit 0
IFS= read -r pw < "$root$pwfile"
(umask 077 && printf '[%s]:587 %s:%s\n' "$relay" "$user" "$pw" > "$pf/ispinfo")
touch -d '1 minute ago' "$pf/main.cf"
postmap -c "$pf" "hash:$pf/ispinfo"
