#!/bin/bash
# The two mail servers as they are BEFORE op25b touches anything, written from scratch:
#   home: Postfix receiving mail for home.example.test into maildirs (user alice), Dovecot serving
#         them over IMAP/POP3 without TLS; no SASL wiring, no 465, no 587 (op25b adds those).
#         master.cf is the stock file installed on this machine (chroot column off: the instance's
#         queue directory is not a prepared chroot).
#   isp:  the ISP's submission server: 587 only, STARTTLS, AUTH only after TLS (Dovecot SASL, user
#         homeuser), delivering remote.example into one sink maildir.
# Usage: setup.sh home|isp   (E2E and the addresses come from env.sh)
set -euo pipefail
. "$(dirname "$0")/env.sh"

stock_master() { # DIR: the installed master.cf, every chroot column (active or commented) set to n
	cp /usr/share/postfix/master.cf.dist "$1/master.cf"
	sed -E -i 's/^(#?[[:alnum:]_.:-]+[[:space:]]+(inet|unix|unix-dgram|fifo|pass)[[:space:]]+[-yn][[:space:]]+[-yn][[:space:]]+)y([[:space:]])/\1n\3/' "$1/master.cf"
}

base_postfix() { # R IP HOSTNAME
	local R=$1 D=$1/etc/postfix
	mkdir -p "$D" "$R/spool" "$R/data" "$R/log" "$R/mail"
	stock_master "$D"
	cat >"$D/main.cf" <<EOC
# e2e fixture ($3), written by tests/e2e/setup.sh
compatibility_level = 3.6
queue_directory = $R/spool
data_directory = $R/data
mail_owner = postfix
setgid_group = postdrop
myhostname = $3
mydestination =
inet_interfaces = $2
inet_protocols = ipv4
mynetworks = $2/32
smtp_bind_address = $2
smtpd_peername_lookup = no
maillog_file_prefixes = $E2E
maillog_file = $R/log/postfix.log
alias_maps =
alias_database =
biff = no
smtpd_banner = \$myhostname ESMTP
smtpd_tls_loglevel = 1
smtp_tls_loglevel = 1
virtual_mailbox_base = $R/mail
virtual_uid_maps = static:$VUID
virtual_gid_maps = static:$VUID
EOC
	chown -R "$VUID:$VUID" "$R/mail"
	chown postfix "$R/data"
}

# The installed Dovecot's version (2.3.19, 2.4.1, ...): 2.4 wants its own syntax and names.
DOVECOT_VERSION=$(dovecot --version 2>/dev/null | sed 's/[- ].*//')
case $DOVECOT_VERSION in 2.[0-3].*|2.[0-3]) DOVECOT24=0 ;; *) DOVECOT24=1 ;; esac

base_dovecot() { # R IP PROTOCOLS USER PASSWORD
	local R=$1 D=$1/etc/dovecot
	mkdir -p "$D/conf.d" "$R/run" "$R/state"
	[ $DOVECOT24 = 0 ] || base_dovecot24 "$@"
	[ $DOVECOT24 = 1 ] || base_dovecot23 "$@"
	printf '%s:{PLAIN}%s\n' "$4" "$5" >"$D/users"
	chmod 640 "$D/users"
	chgrp dovecot "$D/users"
}

base_dovecot23() {
	local R=$1 D=$1/etc/dovecot
	cat >"$D/dovecot.conf" <<EOC
# e2e fixture, written by tests/e2e/setup.sh
instance_name = dovecot-$(basename "$R")
base_dir = $R/run/dovecot
state_dir = $R/state
log_path = $R/log/dovecot.log
listen = $2
protocols = $3
!include conf.d/*.conf
EOC
	cat >"$D/conf.d/10-auth.conf" <<EOC
auth_mechanisms = plain login
auth_verbose = yes
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n $D/users
}
userdb {
  driver = static
  args = uid=$VUID gid=$VUID home=$R/mail/%n
}
EOC
	printf 'mail_location = maildir:~\n' >"$D/conf.d/10-mail.conf"
}

# The same servers in Dovecot 2.4's syntax: the version line first, named passdb/userdb blocks,
# settings renamed (passwd_file_path, mail_driver/mail_path), %{...} variables.
base_dovecot24() {
	local R=$1 D=$1/etc/dovecot
	cat >"$D/dovecot.conf" <<EOC
dovecot_config_version = $DOVECOT_VERSION
# e2e fixture, written by tests/e2e/setup.sh
dovecot_storage_version = $DOVECOT_VERSION
instance_name = dovecot-$(basename "$R")
base_dir = $R/run/dovecot
state_dir = $R/state
log_path = $R/log/dovecot.log
listen = $2
protocols = $3
!include conf.d/*.conf
EOC
	cat >"$D/conf.d/10-auth.conf" <<EOC
auth_mechanisms = plain login
auth_verbose = yes
passdb passwd-file {
  passwd_file_path = $D/users
  default_password_scheme = PLAIN
}
userdb static {
  fields {
    uid = $VUID
    gid = $VUID
    home = $R/mail/%{user}
  }
}
EOC
	printf 'mail_driver = maildir\nmail_path = %%{home}\n' >"$D/conf.d/10-mail.conf"
}

case ${1:-} in
home)
	rm -rf "$H"
	base_postfix "$H" "$HOME_IP" mail.home.example.test
	postconf -c "$HPF" -e 'mydomain = home.example.test' 'myorigin = $mydomain' \
		'virtual_mailbox_domains = home.example.test' "virtual_mailbox_maps = texthash:$HPF/vmailbox"
	echo 'alice@home.example.test alice/' >"$HPF/vmailbox"
	base_dovecot "$H" "$HOME_IP" "imap pop3" alice alicepw
	printf '# TLS off until someone turns it on\nssl = no\n' >"$HDD/conf.d/10-ssl.conf"
	;;
isp)
	rm -rf "$I"
	base_postfix "$I" "$ISP_IP" smtp.isp.example.test
	postconf -c "$IPF" -MX smtp/inet
	postconf -c "$IPF" -e 'virtual_mailbox_domains = remote.example' 'virtual_mailbox_maps = static:sink/' \
		"smtpd_tls_cert_file = $PKI/isp/fullchain.pem" "smtpd_tls_key_file = $PKI/isp/privkey.pem" \
		'smtpd_tls_security_level = may' 'smtpd_tls_auth_only = yes' \
		'smtpd_sasl_type = dovecot' 'smtpd_sasl_path = private/auth'
	postconf -c "$IPF" -M 'submission/inet=submission inet n - n - - smtpd'
	postconf -c "$IPF" -P 'submission/inet/syslog_name=postfix/submission' \
		'submission/inet/smtpd_sasl_auth_enable=yes' \
		'submission/inet/smtpd_relay_restrictions=permit_sasl_authenticated,reject'
	base_dovecot "$I" "$ISP_IP" "" homeuser isppass
	cat >"$IDD/conf.d/10-master.conf" <<EOC
service auth {
  unix_listener $I/spool/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
EOC
	;;
*)
	echo "usage: $0 home|isp" >&2
	exit 2
	;;
esac
