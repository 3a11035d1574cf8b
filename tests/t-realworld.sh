#!/bin/bash
# The forms real Postfix and Dovecot trees contain (issue 16), each on a tree the project writes
# (fixtures/realworld/, or a fixture tree changed the way the real files differ): apply --mode=smtps
# must succeed where Postfix and Dovecot accept the files, postconf/doveconf judge the result,
# unchanged bytes stay, and revert gives back every byte.
. "$(dirname "$0")/lib/testlib.sh"

CERT=$PKI/fullchain.pem KEY=$PKI/privkey.pem
make_pki "$PKI"

files="etc/postfix/main.cf etc/postfix/master.cf etc/dovecot/dovecot.conf etc/dovecot/conf.d/10-ssl.conf etc/dovecot/conf.d/10-auth.conf"

smtps() { "$OP25B" apply -q --mode=smtps --root="$1" --cert="$CERT" --key="$KEY" >"$SCRATCH/out" 2>&1; }
pf() { postconf -c "$1/etc/postfix" -h "$2" 2>/dev/null; }

postfix_ok() { # ROOT: 465 served by one smtpd in wrapper mode, our certificate in effect
	local svc
	svc=$(postconf -c "$1/etc/postfix" -M 2>&1 | awk '$2 == "inet" && ($1 ~ /(^|:)(smtps|submissions|465)$/)')
	[ "$(printf '%s\n' "$svc" | grep -c .)" = 1 ] || { echo "  465 services: $svc"; return 1; }
	case $svc in *"-o smtpd_tls_wrappermode=yes"*"-o smtpd_sasl_auth_enable=yes"*) ;; *) echo "  $svc"; return 1;; esac
	if [ -n "$(pf "$1" smtpd_tls_chain_files)" ]; then
		[ "$(pf "$1" smtpd_tls_chain_files)" = "$KEY, $CERT" ]
	else
		[ "$(pf "$1" smtpd_tls_cert_file)" = "$CERT" ] && [ "$(pf "$1" smtpd_tls_key_file)" = "$KEY" ]
	fi
}
dovecot_ok() { # ROOT: doveconf reads it without a warning, ssl on with the new certificate
	local conf=$1/etc/dovecot/dovecot.conf
	doveconf -c "$conf" -n >/dev/null 2>"$SCRATCH/doveconf.err" && ! [ -s "$SCRATCH/doveconf.err" ] || { cat "$SCRATCH/doveconf.err"; return 1; }
	[ "$(doveconf -c "$conf" -h ssl_cert)" = "<$CERT" ] && doveconf -c "$conf" -h ssl | grep -qx 'yes\|required'
}

# cycle NAME ROOT: apply (exit 0, accepted by postconf and doveconf), revert (every byte back).
cycle() {
	local name=$1 root=$2 orig=$SCRATCH/orig.cycle
	rm -rf "$orig"; cp -a "$root" "$orig"
	if smtps "$root"; then ok "$name: apply exit 0"; else fail "$name: apply exit $?"; sed 's/^/#   /' "$SCRATCH/out"; fi
	check "$name: postconf: one 465 service, TLS wrapper mode, the new certificate" postfix_ok "$root"
	if grep -qs '^dovecot_config_version' "$root/etc/dovecot/dovecot.conf"; then
		: # Dovecot 2.4: the doveconf here (2.3) cannot judge it; the callers check the text
	elif [ -f "$root/etc/dovecot/dovecot.conf" ]; then check "$name: doveconf accepts it, ssl on" dovecot_ok "$root"; fi
	if "$OP25B" revert -q --root="$root" >"$SCRATCH/out" 2>&1; then ok "$name: revert exit 0"; else fail "$name: revert"; cat "$SCRATCH/out"; fi
	check "$name: revert gave back every byte" same_tree "$orig" "$root"
}

# The result on the plain debian12 tree, the reference for the line-end variants.
std=$(new_root debian12)
smtps "$std" || { fail "debian12: apply"; cat "$SCRATCH/out"; }

# --- 5. no newline at the end of main.cf, master.cf, dovecot.conf, 10-ssl.conf
root=$(new_root debian12)
for f in $files; do printf '%s' "$(cat "$root/$f")" > "$root/$f.t" && mv "$root/$f.t" "$root/$f"; done
orig=$SCRATCH/orig.nonl; rm -rf "$orig"; cp -a "$root" "$orig"
cycle "no final newline" "$root"
smtps "$root"
same=1
for f in $files; do
	# The same edits as on the plain tree; the missing newline stays missing.
	cmp -s <(printf '%s' "$(cat "$std/$f")") "$root/$f" || { same=0; echo "  differs: $f"; diff "$std/$f" "$root/$f" | head -5; }
done
check "no final newline: the same edits as on the plain tree, no newline added" test $same = 1

# --- 6. CRLF line ends
root=$(new_root debian12)
for f in $files; do sed -i 's/$/\r/' "$root/$f"; done
cycle "CRLF line ends" "$root"
smtps "$root"
same=1
for f in $files; do
	cmp -s <(sed 's/$/\r/' "$std/$f") "$root/$f" || { same=0; echo "  differs: $f"; diff <(sed 's/$/\r/' "$std/$f") "$root/$f" | cat -A | head -5; }
done
check "CRLF line ends: the same edits as on the plain tree, every line CRLF" test $same = 1

# --- 7. main.cf forms postconf accepts
root=$(new_root debian12)
cat >> "$root/etc/postfix/main.cf" <<'CF'
smtpd_recipient_restrictions =
    permit_mynetworks,
# authenticated clients may relay
    permit_sasl_authenticated,

    reject_unauth_destination
CF
restr=$(pf "$root" smtpd_recipient_restrictions)
cycle "main.cf: a comment line inside a continued value" "$root"
smtps "$root"
check "main.cf: the continued value is kept" test "$(pf "$root" smtpd_recipient_restrictions)" = "$restr"

root=$(new_root debian12)
sed -i '1a smtpd_tls_cert_file = /etc/ssl/certs/old.pem\nmyhostname = old.example.test' "$root/etc/postfix/main.cf"
cycle "main.cf: duplicate parameters (postconf: overriding earlier entry)" "$root"

root=$(new_root debian12)
sed -i '1a config_directory = /etc/postfix' "$root/etc/postfix/main.cf"
cycle "main.cf: config_directory = /etc/postfix" "$root"

# --- 1. smtpd_tls_chain_files in effect: it is edited (in main.cf and the 465 service's -o),
# not the cert/key pair Postfix then ignores
root=$(new_root realworld/chain-files)
cycle "smtpd_tls_chain_files" "$root"
smtps "$root"
check "smtpd_tls_chain_files: main.cf's and the service's override name the new key and certificate" \
	eval '[ "$(pf "$root" smtpd_tls_chain_files)" = "$KEY, $CERT" ] &&
	      postconf -c "$root/etc/postfix" -P submissions/inet/smtpd_tls_chain_files | grep -qx "submissions/inet/smtpd_tls_chain_files = $KEY,$CERT" &&
	      [ "$(pf "$root" smtpd_tls_cert_file)" = /etc/ssl/certs/ssl-cert-snakeoil.pem ]'

# --- 2. services named by port or host:port: the one there is adjusted, no second one on the port
root=$(new_root realworld/by-port)
cycle "465 named by its port number" "$root"
smtps "$root"
check "465 by port: no submissions/smtps service enabled beside it" \
	eval '! postconf -c "$root/etc/postfix" -M 2>/dev/null | grep -Eq "^(submissions|smtps) "'
check "465 by port: its own options kept, op25b's added" \
	eval 'postconf -c "$root/etc/postfix" -P 465/inet/smtpd_client_restrictions 2>/dev/null | grep -q permit_sasl_authenticated,reject &&
	      postconf -c "$root/etc/postfix" -P 465/inet/smtpd_relay_restrictions 2>/dev/null | grep -q "= permit_sasl_authenticated,reject"'
root=$(new_root realworld/by-port)
orig=$SCRATCH/orig.byport; rm -rf "$orig"; cp -a "$root" "$orig"
mkdir -p "$root/etc/op25b"; printf 'pw\n' > "$root/etc/op25b/relay.secret"; chmod 600 "$root/etc/op25b/relay.secret"
out=$("$OP25B" apply -q --mode=submission --root="$root" --relayhost=smtp.isp.example.test --relay-user=u \
	--relay-password-file=/etc/op25b/relay.secret --mechanisms=PLAIN --cert="$CERT" --key="$KEY" 2>&1); rc=$?
check "587 by port: submission mode exit 0, one service on 587 (the one named 587)" \
	eval '[ $rc = 0 ] && [ "$(postconf -c "$root/etc/postfix" -M 2>/dev/null | grep -Ec "^(submission|587) +inet")" = 1 ] &&
	      postconf -c "$root/etc/postfix" -M 587/inet 2>/dev/null | grep -q smtpd_tls_auth_only=yes' || printf '%s\n' "$out"

# Only Debian's loopback-bound candidates are left commented out (the admin deleted the
# "#submission(s) inet" ones): op25b adds services of its own on every address, never enables
# "#127.0.0.1:submission(s)" (clients elsewhere could not connect); with a "#587 inet" candidate
# named by the port, that one is enabled.
lo_only() { # ROOT: master.cf without the unbound commented-out 587/465 stanzas and their -o lines
	awk '/^#(submission|submissions) +inet/ {skip=1; next} skip && /^#  -o/ {next} {skip=0; print}' \
		"$1/etc/postfix/master.cf" >"$1/master.tmp" && mv "$1/master.tmp" "$1/etc/postfix/master.cf"
}
secret() { mkdir -p "$1/etc/op25b"; printf 'pw\n' >"$1/etc/op25b/relay.secret"; chmod 600 "$1/etc/op25b/relay.secret"; }
both() { # ROOT
	smtps "$1" && "$OP25B" apply -q --mode=submission --root="$1" --relayhost=smtp.isp.example.test --relay-user=u \
		--relay-password-file=/etc/op25b/relay.secret --mechanisms=PLAIN >>"$SCRATCH/out" 2>&1
}
root=$(new_root debian12); lo_only "$root"; secret "$root"
orig=$SCRATCH/orig.lo; rm -rf "$orig"; cp -a "$root" "$orig"
both "$root"; rc=$?
svc=$(postconf -c "$root/etc/postfix" -M 2>/dev/null | awk '$2 == "inet" {print $1}' | tr '\n' ' ')
check "only loopback-bound candidates: both modes exit 0, 465 and 587 served on every address ($svc)" \
	eval '[ $rc = 0 ] && printf "%s" "$svc" | grep -Eq "(^| )(smtps|submissions) " && printf "%s" "$svc" | grep -q "submission " &&
	      ! printf "%s" "$svc" | grep -q "127.0.0.1:"'
check "only loopback-bound candidates: the #127.0.0.1 stanzas stay commented out" \
	eval '[ "$(grep -c "^#127.0.0.1:submissions\? " "$root/etc/postfix/master.cf")" = 2 ]'
"$OP25B" revert -q --root="$root"
check "only loopback-bound candidates: revert gives back every byte" same_tree "$orig" "$root"
root=$(new_root debian12); lo_only "$root"; secret "$root"
sed -i 's/^#127.0.0.1:submission inet n -   y       -       -       smtpd$/&\n#587 inet n - y - - smtpd/' "$root/etc/postfix/master.cf"
both "$root"
svc=$(postconf -c "$root/etc/postfix" -M 2>/dev/null | awk '$2 == "inet" {print $1}' | tr '\n' ' ')
check "'#587 inet' and '#127.0.0.1:submission': the one on every address is enabled ($svc)" \
	eval 'printf "%s" "$svc" | grep -q "587 " && ! printf "%s" "$svc" | grep -Eq "(127.0.0.1:|^| )submission "'

# A file Dovecot reads after 10-ssl.conf sets the certificate (Debian's "!include_try local.conf",
# the place its dovecot.conf names for local changes; a conf.d file sorted later): that file is
# edited, where the setting takes effect; one that sets no certificate changes nothing.
for case in local.conf conf.d/99-local.conf; do
	root=$(new_root debian12)
	printf 'ssl_cert = </etc/dovecot/private/local.pem\nssl_key = </etc/dovecot/private/local.key\n' >"$root/etc/dovecot/$case"
	[ $case = local.conf ] && echo '!include_try local.conf' >>"$root/etc/dovecot/dovecot.conf"
	orig=$SCRATCH/orig.override; rm -rf "$orig"; cp -a "$root" "$orig"
	smtps "$root"; rc=$?
	check "$case sets the certificate after 10-ssl.conf: apply exit 0, doveconf reads the new certificate and key" \
		eval '[ $rc = 0 ] && [ "$(doveconf -c "$root/etc/dovecot/dovecot.conf" -h ssl_cert)" = "<$CERT" ] &&
		      [ "$(doveconf -c "$root/etc/dovecot/dovecot.conf" -h ssl_key)" = "<$KEY" ] &&
		      doveconf -c "$root/etc/dovecot/dovecot.conf" -h ssl | grep -qx yes && grep -q "^ssl_cert = <$CERT" "$root/etc/dovecot/$case"'
	"$OP25B" revert -q --root="$root"
	check "$case sets the certificate after 10-ssl.conf: revert gives back every byte" same_tree "$orig" "$root"
done
root=$(new_root debian12)
printf 'mail_debug = yes\n' >"$root/etc/dovecot/local.conf"; echo '!include_try local.conf' >>"$root/etc/dovecot/dovecot.conf"
smtps "$root"
check "local.conf without a certificate: 10-ssl.conf is edited as before, local.conf untouched" \
	eval '[ "$(doveconf -c "$root/etc/dovecot/dovecot.conf" -h ssl_cert)" = "<$CERT" ] && grep -q "^ssl_cert = <$CERT" "$root/etc/dovecot/conf.d/10-ssl.conf" &&
	      [ "$(cat "$root/etc/dovecot/local.conf")" = "mail_debug = yes" ]'

root=$(new_root realworld/by-host)
cycle "465 named [::1]:465" "$root"
out=$("$OP25B" apply --mode=smtps --root="$root" --cert="$CERT" --key="$KEY" 2>&1)
check "[::1]:465: adjusted, not a second 465 service; the warning says it serves ::1 only" \
	eval 'postconf -c "$root/etc/postfix" -M "[::1]:465/inet" 2>/dev/null | grep -q smtpd_sasl_auth_enable=yes &&
	      printf "%s" "$out" | grep -q "bound to \[::1\] only"'

# --- 4. existing SASL wiring: kept, never a second listener
root=$(new_root realworld/sasl-elsewhere)
cycle "auth listener declared in local.conf" "$root"
smtps "$root"
check "auth listener in local.conf: no second one (no drop-in), main.cf wired to it" \
	eval '[ ! -e "$root/etc/dovecot/conf.d/99-op25b-auth.conf" ] &&
	      [ "$(pf "$root" smtpd_sasl_type)/$(pf "$root" smtpd_sasl_path)" = dovecot/private/auth ] &&
	      [ "$(doveconf -c "$root/etc/dovecot/dovecot.conf" -n 2>/dev/null | grep -c "unix_listener /var/spool/postfix/private/auth")" = 1 ]'
root=$(new_root realworld/sasl-inet)
cycle "smtpd_sasl_path = inet:dovecot:10001" "$root"
smtps "$root"
check "smtpd_sasl_path = inet:dovecot:10001: kept, no listener added to Dovecot" \
	eval '[ "$(pf "$root" smtpd_sasl_path)" = inet:dovecot:10001 ] && [ ! -e "$root/etc/dovecot/conf.d/99-op25b-auth.conf" ]'

# --- cosmetics: no new main.cf line below "# DO NOT EDIT ANYTHING BELOW"
root=$(new_root realworld/do-not-edit)
cycle "main.cf with a DO NOT EDIT marker" "$root"
smtps "$root"
check "DO NOT EDIT marker: op25b's new parameters above it, the part below untouched" \
	eval 'diff <(sed -n "/DO NOT EDIT/,\$p" "$root/etc/postfix/main.cf") <(sed -n "/DO NOT EDIT/,\$p" "$TOP/fixtures/realworld/do-not-edit/etc/postfix/main.cf") >/dev/null &&
	      sed -n "1,/DO NOT EDIT/p" "$root/etc/postfix/main.cf" | grep -q "^smtpd_tls_session_cache_database = "'

# --- 9. --root: postmap reads the root's files, not the host's (myorigin = /etc/mailname)
submission() { # ROOT: apply --mode=submission with a password file; output in $SCRATCH/out
	mkdir -p "$1/etc/op25b"; printf 'pw\n' > "$1/etc/op25b/relay.secret"; chmod 600 "$1/etc/op25b/relay.secret"
	"$OP25B" apply -q --mode=submission --root="$1" --relayhost=smtp.isp.example.test --relay-user=u \
		--relay-password-file=/etc/op25b/relay.secret --mechanisms=PLAIN >"$SCRATCH/out" 2>&1
}
if [ -e /etc/mailname ]; then
	skip "myorigin = /etc/mailname: this host has /etc/mailname (the case is a host without one)"
else
	root=$(new_root realworld/mailname)
	if submission "$root"; then ok "myorigin = /etc/mailname (only under --root): submission applies, postmap compiled the map"
	else fail "myorigin = /etc/mailname: submission exit $?"; sed 's/^/#   /' "$SCRATCH/out"; fi
	root=$(new_root realworld/mailname)
	rm "$root/etc/mailname"
	orig=$SCRATCH/orig.mailname; rm -rf "$orig"; cp -a "$root" "$orig"
	submission "$root"; rc=$?
	check "myorigin = /etc/mailname missing under the root too: refused, the root's file named, files put back" \
		eval '[ $rc != 0 ] && grep -qF "myorigin = /etc/mailname: No such file or directory under $root" "$SCRATCH/out" &&
		      diff -r -x op25b -x lib "$orig/etc" "$root/etc" >/dev/null' || cat "$SCRATCH/out"
fi

# --- a refusal that remains: file, line, the reason in words, what to do; exit 2, nothing changed
root=$(new_root debian12)
printf 'service auth {\n  unix_listener x {\n' >> "$root/etc/dovecot/conf.d/10-ssl.conf"
orig=$SCRATCH/orig.bad; rm -rf "$orig"; cp -a "$root" "$orig"
out=$("$OP25B" apply --mode=smtps --root="$root" --cert="$CERT" --key="$KEY" 2>&1); rc=$?
check "unclosed Dovecot block: exit 2, FILE:LINE, the syntax named, what to do, no lens jargon alone, nothing changed" \
	eval '[ $rc = 2 ] && printf "%s" "$out" | grep -q "10-ssl.conf:[0-9]*: .*not Dovecot configuration syntax.*correct it and run op25b again" &&
	      ! printf "%s" "$out" | grep -q "No error" && same_tree "$orig" "$root"' || printf '%s\n' "$out"

# --- 8. Dovecot's full syntax (blocks of any name and argument, nested, quoted, commands inside)
root=$(new_root realworld/dovecot-syntax)
cycle "Dovecot 2.3 blocks the stock lens cannot read" "$root"
smtps "$root"
ssl=$root/etc/dovecot/conf.d/10-ssl.conf
check "Dovecot: ssl, ssl_cert, ssl_key written 'NAME = VALUE' right below their commented defaults" \
	eval 'grep -A1 -x "#ssl = yes" "$ssl" | grep -qx "ssl = yes" &&
	      grep -A1 -x "#ssl_cert = </etc/dovecot/private/dovecot.pem" "$ssl" | grep -qx "ssl_cert = <$CERT" &&
	      grep -A1 -x "#ssl_key = </etc/dovecot/private/dovecot.key" "$ssl" | grep -qx "ssl_key = <$KEY"'
check "Dovecot: dovecot.conf, with its SNI block's own certificate, untouched" \
	cmp -s "$root/etc/dovecot/dovecot.conf" "$TOP/fixtures/realworld/dovecot-syntax/etc/dovecot/dovecot.conf"

# The same blocks in a dovecot.conf that holds everything (no conf.d): op25b edits that file, and
# adds the auth listener to it.
root=$(new_root realworld/dovecot-syntax)
rm -r "$root/etc/dovecot/conf.d"
sed -i '/^!include conf.d/d' "$root/etc/dovecot/dovecot.conf"
cycle "Dovecot 2.3 blocks in a single dovecot.conf" "$root"
smtps "$root"
check "Dovecot single file: the listener for Postfix inside a new service auth block" \
	eval 'doveconf -c "$root/etc/dovecot/dovecot.conf" -h -f service=auth 2>/dev/null | grep -q . ;
	      doveconf -c "$root/etc/dovecot/dovecot.conf" -n 2>/dev/null | grep -q "unix_listener /var/spool/postfix/private/auth"'

# Dovecot 2.4 block syntax with ssl = no (issue 14 section 3): ssl turned on, the ssl_server block
# edited where it is.
root=$(new_root realworld/dovecot24-ssl-no)
cycle "Dovecot 2.4, ssl = no" "$root"
smtps "$root"
ssl=$root/etc/dovecot/conf.d/10-ssl.conf
check "Dovecot 2.4, ssl = no: ssl = yes, ssl_server { cert_file, key_file } in place, nothing else changed" \
	eval 'diff <(sed -e "s|^ssl = no\$|ssl = yes|" -e "s|^  cert_file = .*|  cert_file = $CERT|" -e "s|^  key_file = .*|  key_file = $KEY|" \
		"$TOP/fixtures/realworld/dovecot24-ssl-no/etc/dovecot/conf.d/10-ssl.conf") "$ssl" &&
	      cmp -s "$root/etc/dovecot/dovecot.conf" "$TOP/fixtures/realworld/dovecot24-ssl-no/etc/dovecot/dovecot.conf"'

# Dovecot 2.4: dovecot.conf sets ssl_server after including conf.d, so that one takes effect.
root=$(new_root realworld/dovecot24-ssl-after-include)
cycle "Dovecot 2.4, ssl_server set after the conf.d include" "$root"
smtps "$root"
check "Dovecot 2.4, ssl_server after the include: dovecot.conf's block edited, 10-ssl.conf untouched" \
	eval 'grep -qx "  cert_file = $CERT" "$root/etc/dovecot/dovecot.conf" && grep -qx "  key_file = $KEY" "$root/etc/dovecot/dovecot.conf" &&
	      cmp -s "$root/etc/dovecot/conf.d/10-ssl.conf" "$TOP/fixtures/realworld/dovecot24-ssl-after-include/etc/dovecot/conf.d/10-ssl.conf" &&
	      ! grep -q "^ssl = " "$root/etc/dovecot/dovecot.conf"'

finish
