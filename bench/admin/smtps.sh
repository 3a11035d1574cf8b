#!/bin/sh
# smtps by hand: the edits op25b makes, scripted the usual way (postconf for Postfix, sed for
# Dovecot), with the SASL wiring op25b adds (Postfix asks Dovecot's auth service). Usage: smtps.sh ROOT CERT KEY   (CERT, KEY: paths as the server sees them)
set -eu
root=$1 cert=$2 key=$3
pf=$root/etc/postfix
postconf -c "$pf" -e "smtpd_tls_cert_file = $cert" "smtpd_tls_key_file = $key" \
	'smtpd_tls_session_cache_database = btree:${data_directory}/smtpd_scache' \
	'smtpd_tls_security_level = may' 'smtpd_sasl_type = dovecot' 'smtpd_sasl_path = private/auth'
postconf -c "$pf" -Me 'submissions/inet = submissions inet n - y - - smtpd'
postconf -c "$pf" -Pe 'submissions/inet/syslog_name=postfix/submissions' \
	'submissions/inet/smtpd_tls_wrappermode=yes' 'submissions/inet/smtpd_sasl_auth_enable=yes' \
	'submissions/inet/smtpd_relay_restrictions=permit_sasl_authenticated,reject'
sed -i -e 's|^#*ssl = .*|ssl = yes|' -e "s|^#*ssl_cert = .*|ssl_cert = <$cert|" \
	-e "s|^#*ssl_key = .*|ssl_key = <$key|" "$root/etc/dovecot/conf.d/10-ssl.conf"
cat > "$root/etc/dovecot/conf.d/99-op25b-auth.conf" <<'CONF'
service auth {
  unix_listener /var/spool/postfix/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
CONF
