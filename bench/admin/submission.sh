#!/bin/sh
# submission by hand: relay through the ISP with SASL over TLS, clients on 587, the SASL wiring
# op25b adds; the map 0600 from its first byte, then postmap.
# Usage: submission.sh ROOT RELAYHOST USER PASSWORD-FILE
# With BACKDATE=1, main.cf is dated a minute back before postmap, so that postmap does not wait
# for a main.cf younger than ~2 s (FINDINGS: Postfix waits for a young main.cf).
set -eu
root=$1 relay=$2 user=$3 pwfile=$4
pf=$root/etc/postfix
postconf -c "$pf" -e "relayhost = [$relay]:587" 'smtp_sasl_auth_enable = yes' \
	'smtp_sasl_password_maps = hash:/etc/postfix/ispinfo' 'smtp_sasl_security_options = noanonymous' \
	'smtp_sasl_tls_security_options = noanonymous' 'smtp_sasl_mechanism_filter = plain, login' \
	'smtp_tls_security_level = encrypt' 'smtpd_sasl_type = dovecot' 'smtpd_sasl_path = private/auth'
postconf -c "$pf" -Me 'submission/inet = submission inet n - y - - smtpd'
postconf -c "$pf" -Pe 'submission/inet/syslog_name=postfix/submission' \
	'submission/inet/smtpd_sasl_auth_enable=yes' \
	'submission/inet/smtpd_relay_restrictions=permit_sasl_authenticated,reject' \
	'submission/inet/smtpd_tls_security_level=encrypt' 'submission/inet/smtpd_tls_auth_only=yes'
cat > "$root/etc/dovecot/conf.d/99-op25b-auth.conf" <<'CONF'
service auth {
  unix_listener /var/spool/postfix/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
CONF
IFS= read -r pw < "$root$pwfile"
(umask 077 && printf '[%s]:587 %s:%s\n' "$relay" "$user" "$pw" > "$pf/ispinfo")
if [ "${BACKDATE:-0}" = 1 ]; then touch -d '1 minute ago' "$pf/main.cf"; fi
postmap -c "$pf" "hash:$pf/ispinfo"
