#!/bin/bash
# apply --mode=smtps / revert on every fixture tree, on the machine's stock files, and on
# ../shared/reference-configs when present. Golden diffs (postconf style), Postfix's and Dovecot's
# own parsers as the oracle, idempotence, dry-run, byte-for-byte revert.
. "$(dirname "$0")/lib/testlib.sh"

UPDATE_GOLDEN=${UPDATE_GOLDEN:-0}
CERT=$PKI/fullchain.pem KEY=$PKI/privkey.pem
make_pki "$PKI"

files_state() { (cd "$1" && find . -path ./var -prune -o -type f -printf '%p %s %T@ %m\n' | sort); }

# The installed Dovecot checks the trees written for its own generation only: 2.4 requires
# dovecot_config_version first and refuses 2.3's names; 2.3 cannot parse 2.4's.
DOVECOT24=0
case $(dovecot --version 2>/dev/null) in 2.[4-9]*|[3-9].*) DOVECOT24=1 ;; esac
tree24() { grep -qs '^dovecot_config_version' "$1/etc/dovecot/dovecot.conf"; }
dovecot_checkable() {
	[ -f "$1/etc/dovecot/dovecot.conf" ] || return 1
	if tree24 "$1"; then [ $DOVECOT24 = 1 ]; else [ $DOVECOT24 = 0 ]; fi
}

# A warning without its line number, and for duplicates without the value.
warn_key() { sed -e 's/line [0-9]*: //' -e 's/\(overriding earlier entry: [a-z_]*\)=.*/\1/'; }

postfix_ok() { # ROOT ORIG: postconf reads it without a warning, 465 is served by smtpd with TLS wrapper mode
	local root=$1 pf=$1/etc/postfix warn svc
	# Warnings the tree had before op25b (e.g. duplicate keys) are not op25b's.
	warn=$(postconf -c "$pf" -n 2>&1 >/dev/null | warn_key | sort -u |
		grep -vxF -f <(postconf -c "$2/etc/postfix" -n 2>&1 >/dev/null | warn_key | sed "s|$2|$1|g"))
	[ -z "$warn" ] || { echo "  postconf: $warn"; return 1; }
	svc=$(postconf -c "$pf" -M 2>&1 | awk '($1 == "smtps" || $1 == "submissions") && $2 == "inet"')
	[ "$(printf '%s\n' "$svc" | grep -c .)" = 1 ] || { echo "  services: $svc"; return 1; }
	case $svc in *"-o smtpd_tls_wrappermode=yes"*"-o smtpd_sasl_auth_enable=yes"*) ;; *) echo "  $svc"; return 1;; esac
	case $svc in *"smtpd_relay_restrictions=permit_sasl_authenticated,reject"*) ;; *) echo "  $svc"; return 1;; esac
	[ "$(postconf -c "$pf" -h smtpd_tls_cert_file)" = "$CERT" ] && [ "$(postconf -c "$pf" -h smtpd_tls_key_file)" = "$KEY" ] &&
		postconf -c "$pf" -h smtpd_tls_security_level | grep -qx 'may\|encrypt' &&
		[ -z "$(postconf -c "$pf" -n smtpd_use_tls 2>/dev/null)" ]
}

dc24_ssl_server() { # CONF NAME: NAME (cert_file, key_file) as Dovecot 2.4 resolves it
	doveconf -c "$1" ssl_server 2>/dev/null | sed -n -e "s/^ *$2 = //p" -e "s/^ssl_server_$2 = //p" | tail -n 1
}

dovecot_ok() { # ROOT
	local conf=$1/etc/dovecot/dovecot.conf
	doveconf -c "$conf" -n >/dev/null 2>"$SCRATCH/doveconf.err" || { cat "$SCRATCH/doveconf.err"; return 1; }
	if tree24 "$1"; then
		# 2.4.1 answers -h ssl_server_cert_file with the empty default and shows the value in
		# its ssl_server { cert_file = ... } block.
		[ "$(dc24_ssl_server "$conf" cert_file)" = "$CERT" ] && [ "$(dc24_ssl_server "$conf" key_file)" = "$KEY" ]
	else
		[ "$(doveconf -c "$conf" -h ssl_cert)" = "<$CERT" ] && [ "$(doveconf -c "$conf" -h ssl_key)" = "<$KEY" ]
	fi && doveconf -c "$conf" -h ssl | grep -qx 'yes\|required'
}

# run_tree NAME ROOT [GOLDEN]: the whole cycle on one tree.
run_tree() {
	local name=$1 root=$2 golden=${3:-} orig out before
	orig=$SCRATCH/orig.$name; rm -rf "$orig"; cp -a "$root" "$orig"

	out=$("$OP25B" apply --mode=smtps --root="$root" --cert="$CERT" --key="$KEY" --dry-run 2>&1 | grep -v '^certificate ')
	if [ -n "$golden" ]; then
		local got=$SCRATCH/got.$name
		printf '%s\n' "$out" | sed "s|$PKI|@PKI@|g" > "$got"
		if [ "$UPDATE_GOLDEN" = 1 ]; then cp "$got" "$golden"; fi
		if diff -u "$golden" "$got" > "$SCRATCH/golden.diff"; then ok "$name: dry-run diff matches $(basename "$golden")"
		else fail "$name: dry-run diff differs from $(basename "$golden")"; cat "$SCRATCH/golden.diff"; fi
	fi
	check "$name: --dry-run wrote nothing" same_tree "$orig" "$root"

	if "$OP25B" apply -q --mode=smtps --root="$root" --cert="$CERT" --key="$KEY"; then ok "$name: apply exit 0"
	else fail "$name: apply exit $?"; fi
	check "$name: postconf accepts it, 465 enabled with TLS wrapper mode and SASL" postfix_ok "$root" "$orig"
	if [ ! -f "$root/etc/dovecot/dovecot.conf" ]; then skip "$name: no Dovecot in this tree"
	elif dovecot_checkable "$root"; then check "$name: doveconf accepts it, ssl on with the certificate" dovecot_ok "$root"
	elif tree24 "$root"; then
		# 2.4 names: the Dovecot 2.3 here cannot parse them; check the names themselves.
		if grep -rqsE "^(ssl_server_cert_file|[ \t]+cert_file) ?= ?$CERT\$" "$root/etc/dovecot" && ! grep -rqs '^ssl_cert' "$root/etc/dovecot"; then
			ok "$name: Dovecot 2.4 names written (doveconf 2.3 cannot check 2.4 syntax)"
		else fail "$name: Dovecot 2.4 names"; fi
	else
		# 2.3 names: the Dovecot 2.4 here refuses them; check the names themselves.
		if grep -rqsE "^ssl_cert ?= ?<$CERT\$" "$root/etc/dovecot" && grep -rqsE "^ssl_key ?= ?<$KEY\$" "$root/etc/dovecot"; then
			ok "$name: Dovecot 2.3 names written (doveconf 2.4 cannot check 2.3 syntax)"
		else fail "$name: Dovecot 2.3 names"; fi
	fi

	before=$(files_state "$root")
	out=$("$OP25B" apply --mode=smtps --root="$root" --cert="$CERT" --key="$KEY" 2>&1)
	if [ $? = 0 ] && printf '%s' "$out" | grep -q 'nothing to change' && [ "$before" = "$(files_state "$root")" ]; then
		ok "$name: second apply writes nothing"
	else fail "$name: second apply: $out"; fi
	check "$name: status says applied" sh -c "'$OP25B' status --root='$root' | grep -qx 'smtps: applied'"

	if "$OP25B" revert -q --root="$root"; then ok "$name: revert exit 0"; else fail "$name: revert exit $?"; fi
	check "$name: revert gave back the original bytes and modes" same_tree "$orig" "$root"
	check "$name: status says not applied" sh -c "'$OP25B' status --root='$root' | grep -qx 'smtps: not applied'"
}

for t in debian12 centos7 rhel9 fedora42 debian13 single-file; do
	run_tree "$t" "$(new_root "$t")" "$TOP/tests/golden/$t.smtps.diff"
done

# Edited after apply: revert undoes op25b's edits only and keeps the admin's.
root=$(new_root debian12)
"$OP25B" apply -q --mode=smtps --root="$root" --cert="$CERT" --key="$KEY"
echo 'message_size_limit = 20480000' >> "$root/etc/postfix/main.cf"
sed -i 's/^#tlsproxy  unix/tlsproxy  unix/' "$root/etc/postfix/master.cf"
"$OP25B" revert -q --root="$root"
check "edited since: admin's main.cf line kept" grep -qx 'message_size_limit = 20480000' "$root/etc/postfix/main.cf"
check "edited since: admin's master.cf change kept" grep -q '^tlsproxy  unix' "$root/etc/postfix/master.cf"
check "edited since: op25b's certificate gone, the old one back" \
	test "$(postconf -c "$root/etc/postfix" -h smtpd_tls_cert_file)" = /etc/ssl/certs/ssl-cert-snakeoil.pem
check "edited since: 465 disabled again" sh -c "! postconf -c '$root/etc/postfix' -M submissions/inet 2>/dev/null | grep -q ."
check "edited since: the rest is byte-identical" bash -c "diff <(grep -v message_size_limit '$root/etc/postfix/main.cf') '$TOP/fixtures/debian12/etc/postfix/main.cf' >/dev/null"

# The no-change fast path proves from the journal that the certificate and key are the bytes it
# checked before; a replaced pair is checked again.
root=$(new_root debian12)
"$OP25B" apply -q --mode=smtps --root="$root" --cert="$CERT" --key="$KEY"
out=$("$OP25B" apply --mode=smtps --root="$root" --cert="$CERT" --key="$KEY" 2>&1)
check "fast path: the unchanged certificate is not parsed again, its expiry is shown" \
	eval 'printf "%s" "$out" | grep -q "unchanged since op25b checked it, expires .* (in 89 days)" && printf "%s" "$out" | grep -q "nothing to change"'
make_pki "$SCRATCH/other" 90 other.example.test
cp "$SCRATCH/other/privkey.pem" "$root$KEY"
before=$(files_state "$root")
out=$("$OP25B" apply --mode=smtps --root="$root" --cert="$CERT" --key="$KEY" 2>&1); rc=$?
check "fast path: a key replaced by one that does not match is caught (exit 2, nothing written)" \
	eval '[ $rc = 2 ] && printf "%s" "$out" | grep -q "does not match" && [ "$before" = "$(files_state "$root")" ]'
cp "$SCRATCH/other/fullchain.pem" "$root$CERT"
out=$("$OP25B" apply --mode=smtps --root="$root" --cert="$CERT" --key="$KEY" 2>&1); rc=$?
check "fast path: a renewed pair is parsed again (its new subject shown), nothing to change" \
	eval '[ $rc = 0 ] && printf "%s" "$out" | grep -q "CN *= *other.example.test, expires" && printf "%s" "$out" | grep -q "nothing to change"'
cp "$PKI/fullchain.pem" "$root$CERT"; cp "$PKI/privkey.pem" "$root$KEY"

# A commented-out "-o" line above the first service: op25b's fast stand-in lens cannot read it,
# the full lens can (and writes the tree back).
root=$(new_root debian12)
sed -i '1i #  -o smtpd_tls_auth_only=yes' "$root/etc/postfix/master.cf"
run_tree "master.cf with an orphan -o line on top" "$root"

# An empty 10-ssl.conf (valid for Dovecot; Debian 13 ships an empty conf.d/99-local.conf): the
# Dovecot lens's parser refuses an empty text, op25b reads it as one empty line.
root=$(new_root debian12)
: >"$root/etc/dovecot/conf.d/10-ssl.conf"
run_tree "empty 10-ssl.conf" "$root"

# The stock files installed on this machine.
if [ -f /usr/share/postfix/master.cf.dist ] && [ -d /etc/dovecot ]; then
	root=$(new_root debian12)
	cp /usr/share/postfix/master.cf.dist "$root/etc/postfix/master.cf"
	rm -rf "$root/etc/dovecot"; cp -a /etc/dovecot "$root/etc/dovecot"
	run_tree stock-installed "$root"
else
	skip "stock files: /usr/share/postfix/master.cf.dist or /etc/dovecot missing"
fi

# The reference configs of several distros, when shared/ is beside the checkout.
REF=$TOP/../shared/reference-configs
if [ -d "$REF" ]; then
	for m in "$REF"/*master.cf*; do
		root=$(new_root debian12)
		cp "$m" "$root/etc/postfix/master.cf"
		run_tree "ref:$(basename "$m")" "$root"
	done
	for d in "$REF"/*10-ssl.conf; do
		# A 2.4 file goes into a 2.4 tree (Debian 13's shape): beside Debian 12's conf.d, whose
		# 2.3 settings (disable_plaintext_auth) Dovecot 2.4 refuses, doveconf could not check it.
		case $d in *dovecot24*|*2.4*) root=$(new_root debian13)
			cp "$REF/dovecot24-10-ssl-keys.try" "$root/etc/dovecot/conf.d/" 2>/dev/null;;
		*) root=$(new_root debian12);; esac
		cp "$d" "$root/etc/dovecot/conf.d/10-ssl.conf"
		# The distro files point at their own dh/ca paths; only the ssl settings matter here.
		sed -i '/^ssl_dh\|^ssl_client_ca\|^ssl_ca /d' "$root/etc/dovecot/conf.d/10-ssl.conf"
		run_tree "ref:$(basename "$d")" "$root"
	done
else
	skip "reference configs: $REF not present"
fi

finish
