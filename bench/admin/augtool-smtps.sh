#!/bin/sh
# smtps with augtool, default autoload (every stock lens), the edits as set commands and a save.
# The stock Postfix_Master lens reads a commented-out stanza as comments: the service is added.
# Usage: augtool-smtps.sh ROOT CERT KEY [noop]   (noop: AUG_SAVE_NOOP, augtool's dry run)
set -eu
root=$1 cert=$2 key=$3
m=/files/etc/postfix/main.cf a=/files/etc/dovecot/conf.d/99-op25b-auth.conf M=/files/etc/postfix/master.cf/submissions d=/files/etc/dovecot/conf.d/10-ssl.conf
{
	[ "${4:-}" = noop ] && echo 'set /augeas/save noop'
	cat <<-AUG
	set $m/smtpd_tls_cert_file $cert
	set $m/smtpd_tls_key_file $key
	set $m/smtpd_tls_session_cache_database "btree:\${data_directory}/smtpd_scache"
	set $m/smtpd_tls_security_level may
	rm $m/smtpd_use_tls
	set $M/type inet
	set $M/private n
	set $M/unprivileged -
	set $M/chroot y
	set $M/wakeup -
	set $M/limit -
	set $M/command "smtpd\n  -o syslog_name=postfix/submissions\n  -o smtpd_tls_wrappermode=yes\n  -o smtpd_sasl_auth_enable=yes\n  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject"
	set $d/ssl yes
	set $d/ssl_cert "<$cert"
	set $d/ssl_key "<$key"
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
