#!/bin/bash
# apply --mode=submission / revert on the fixture trees: Postfix's own parser as the oracle,
# postmap -q for the credentials, the map's mode and owner, the password in no output and in no
# file readable by others, modes adding up, and bad input refused with nothing touched.
. "$(dirname "$0")/lib/testlib.sh"

CERT=$PKI/fullchain.pem KEY=$PKI/privkey.pem
make_pki "$PKI"
RELAY=smtp.isp.example.test

# pwfile ROOT PASSWORD: a root-only password file inside ROOT at /etc/op25b/relay.secret.
pwfile() { mkdir -p "$1/etc/op25b"; printf '%s\n' "$2" > "$1/etc/op25b/relay.secret"; chmod 600 "$1/etc/op25b/relay.secret"; }

submission() { # ROOT [extra args...]: apply with the password file; output in $SCRATCH/out
	local root=$1; shift
	"$OP25B" apply --mode=submission --root="$root" --relayhost="$RELAY" --relay-user=homeuser \
		--relay-password-file=/etc/op25b/relay.secret --mechanisms=PLAIN,LOGIN "$@" >"$SCRATCH/out" 2>&1
}

pf() { postconf -c "$1/etc/postfix" -h "$2"; }

for t in debian12 centos7 rhel9 fedora42 debian13 single-file; do
	root=$(new_root "$t")
	pw='pa ss:w#rd-ümlaut'
	pwfile "$root" "$pw"
	orig=$SCRATCH/orig.$t; cp -a "$root" "$orig"

	if submission "$root" --dry-run && same_tree "$orig" "$root"; then ok "$t: --dry-run writes nothing"; else fail "$t: dry-run"; cat "$SCRATCH/out"; fi
	if [ "$t" = debian12 ]; then
		sed "s|$PKI|@PKI@|g" "$SCRATCH/out" | grep -v '^op25b: warning: no Cyrus SASL' > "$SCRATCH/got"
		[ "${UPDATE_GOLDEN:-0}" = 1 ] && cp "$SCRATCH/got" "$TOP/tests/golden/debian12.submission.diff"
		check "$t: dry-run diff matches debian12.submission.diff" diff -u "$TOP/tests/golden/debian12.submission.diff" "$SCRATCH/got"
	fi
	check "$t: dry-run does not show the password" sh -c "! grep -qF -- '$pw' '$SCRATCH/out'"

	if submission "$root"; then ok "$t: apply exit 0"; else fail "$t: apply exit $?"; cat "$SCRATCH/out"; fi
	check "$t: the password is in no output" sh -c "! grep -qF -- '$pw' '$SCRATCH/out'"
	check "$t: relayhost = [$RELAY]:587" test "$(pf "$root" relayhost)" = "[$RELAY]:587"
	# secure by default: the CAs main.cf names already (Debian's CApath, RHEL 9's CAfile), else
	# the distribution's bundle under the root written as smtp_tls_CAfile; the file exists there.
	case $t in debian12) ca=/etc/ssl/certs ;; rhel9|centos7|fedora42) ca=/etc/pki/tls/certs/ca-bundle.crt ;; *) ca=/etc/ssl/certs/ca-certificates.crt ;; esac
	case $t in debian12) want="secure||$ca" ;; rhel9) want="secure|$ca|/etc/pki/tls/certs" ;; *) want="secure|$ca|" ;; esac
	check "$t: the relay must verify: smtp_tls_security_level = secure, CAs $ca" \
		test "$(pf "$root" smtp_tls_security_level)|$(pf "$root" smtp_tls_CAfile)|$(pf "$root" smtp_tls_CApath)" = "$want"
	check "$t: ... and those CAs exist in the tree" test -e "$root$ca"
	check "$t: the output says the relay was not checked (--mechanisms=LIST)" grep -q 'its certificate was not checked' "$SCRATCH/out"
	check "$t: SASL client keys" test "$(pf "$root" smtp_sasl_auth_enable)/$(pf "$root" smtp_sasl_security_options)/$(pf "$root" smtp_sasl_tls_security_options)/$(pf "$root" smtp_sasl_mechanism_filter)" = "yes/noanonymous/noanonymous/plain, login"
	type=$(postconf -d -h default_database_type)
	check "$t: password map in the table type Postfix uses" test "$(pf "$root" smtp_sasl_password_maps)" = "$type:/etc/postfix/ispinfo"
	check "$t: postmap -q returns the credentials" test "$(postmap -c "$root/etc/postfix" -q "[$RELAY]:587" "$type:$root/etc/postfix/ispinfo")" = "homeuser:$pw"
	check "$t: map and its table are 0600 root" test "$(stat -c '%a %U' "$root/etc/postfix/ispinfo" "$root/etc/postfix/ispinfo.db" | sort -u)" = "600 root"
	check "$t: no journal file readable by others" test -z "$(find "$root/var/lib/op25b" -perm /077 ! -type l)"
	check "$t: the journal holds no password in clear outside 0600 files" sh -c "! grep -rlF -- '$pw' '$root/var/lib/op25b' | xargs -r stat -c %a | grep -qv 600"
	svc=$(postconf -c "$root/etc/postfix" -M submission/inet 2>/dev/null)
	case $svc in *smtpd_sasl_auth_enable=yes*smtpd_relay_restrictions=permit_sasl_authenticated,reject*|*smtpd_relay_restrictions=permit_sasl_authenticated,reject*smtpd_sasl_auth_enable=yes*) ok "$t: submission service enabled with SASL";;
		*) fail "$t: submission service: $svc";; esac
	# Warnings the fixture had before op25b are not op25b's (Postfix 3.10 warns of smtpd_use_tls).
	warn=$(postconf -c "$root/etc/postfix" -n 2>&1 >/dev/null | grep -v 'overriding earlier entry' | sed "s|$root|ROOT|g" |
		grep -vxF -f <(postconf -c "$orig/etc/postfix" -n 2>&1 >/dev/null | sed "s|$orig|ROOT|g"))
	check "$t: postconf -n prints no new warning" test -z "$warn"

	before=$(cd "$root" && find . -path ./var -prune -o -type f -printf '%p %T@\n' | sort)
	if submission "$root" && grep -q 'nothing to change' "$SCRATCH/out" && [ "$before" = "$(cd "$root" && find . -path ./var -prune -o -type f -printf '%p %T@\n' | sort)" ]; then
		ok "$t: second apply writes nothing"; else fail "$t: second apply"; cat "$SCRATCH/out"; fi
	"$OP25B" revert -q --root="$root"
	check "$t: revert gives back the original bytes (map and table removed)" same_tree "$orig" "$root"
done

# Passwords of every kind reach the map intact.
for pw in 'with space' 'co:lo:ns' 'hash#tag' 'ünïcödé-пароль' "quote'\"s" 'Zq'; do
	root=$(new_root debian12); pwfile "$root" "$pw"
	submission "$root"
	check "password '$pw' round-trips through postmap" test "$(postmap -c "$root/etc/postfix" -q "[$RELAY]:587" "hash:$root/etc/postfix/ispinfo")" = "homeuser:$pw"
	check "password '$pw' in no output" sh -c "! grep -qF -- \"\$1\" '$SCRATCH/out'" _ "$pw"
done

# --relay-password-stdin, IPv6 relay, port 465 (wrapper mode), an existing map keeps its other lines.
root=$(new_root debian12)
printf 'stdin-secret\n' | "$OP25B" apply -q --mode=submission --root="$root" --relayhost='[2001:db8::25]:465' \
	--relay-user=u --relay-password-stdin --mechanisms=plain --relay-tls=encrypt
check "IPv6 relay written as [2001:db8::25]:465" test "$(pf "$root" relayhost)" = "[2001:db8::25]:465"
check "port 465: smtp_tls_wrappermode = yes" test "$(pf "$root" smtp_tls_wrappermode)" = yes
check "stdin password in the map" test "$(postmap -c "$root/etc/postfix" -q '[2001:db8::25]:465' "hash:$root/etc/postfix/ispinfo")" = "u:stdin-secret"

root=$(new_root debian12); pwfile "$root" newpw
printf '# other relays\n[other.example]:587 someone:else\n' > "$root/etc/postfix/ispinfo"; chmod 644 "$root/etc/postfix/ispinfo"
cp -a "$root" "$SCRATCH/orig.map"
submission "$root"
check "existing map: other entries kept" test "$(postmap -c "$root/etc/postfix" -q '[other.example]:587' "hash:$root/etc/postfix/ispinfo")" = someone:else
check "existing map: tightened to 0600" test "$(stat -c %a "$root/etc/postfix/ispinfo")" = 600
"$OP25B" revert -q --root="$root"
rm -f "$root/etc/postfix/ispinfo.db"
check "existing map: revert gives back its bytes and mode" same_tree "$SCRATCH/orig.map" "$root" || ls -la "$root/etc/postfix" "$SCRATCH/orig.map/etc/postfix"

# Modes add up: smtps then submission; submission gets AUTH-after-TLS on 587; revert one, then all.
root=$(new_root debian12); pwfile "$root" pw1; cp -a "$root" "$SCRATCH/orig.both"
"$OP25B" apply -q --mode=smtps --root="$root" --cert="$CERT" --key="$KEY"
submission "$root"
svc=$(postconf -c "$root/etc/postfix" -M submission/inet)
check "after smtps: 587 requires TLS before AUTH" sh -c "case '$svc' in *smtpd_tls_security_level=encrypt*smtpd_tls_auth_only=yes*) exit 0;; esac; exit 1"
check "both modes applied" test "$("$OP25B" status --root="$root" | grep -c ': applied')" = 2
"$OP25B" revert -q --mode=submission --root="$root"
check "revert --mode=submission keeps smtps" sh -c "postconf -c '$root/etc/postfix' -M submissions/inet | grep -q wrappermode && test -z \"\$(postconf -c '$root/etc/postfix' -nh relayhost)\""
check "revert --mode=submission removed the map" test ! -e "$root/etc/postfix/ispinfo"
"$OP25B" revert -q --root="$root"
check "revert of all: original bytes" same_tree "$SCRATCH/orig.both" "$root"

# Bad input: exit 2, the message, nothing touched (not even a state dir).
bad() { # DESCRIPTION EXPECTED-MESSAGE-PART ARGS...
	local d=$1 m=$2; shift 2
	local root; root=$(new_root debian12); pwfile "$root" goodpw
	rm -rf "$SCRATCH/orig.bad"; cp -a "$root" "$SCRATCH/orig.bad"
	out=$("$OP25B" apply --mode=submission --root="$root" "$@" 2>&1 </dev/null); rc=$?
	if [ $rc = 2 ] && printf '%s' "$out" | grep -qF -- "$m" && same_tree "$SCRATCH/orig.bad" "$root" && [ ! -e "$root/var" ]; then
		ok "bad input: $d"
	else fail "bad input: $d (exit $rc: $out)"; fi
}
P=(--relay-user=homeuser --relay-password-file=/etc/op25b/relay.secret --mechanisms=PLAIN)
bad "relayhost with a blank" "--relayhost=smtp isp" --relayhost='smtp isp' "${P[@]}"
bad "relayhost with a newline" "--relayhost=" --relayhost=$'smtp\nisp' "${P[@]}"
bad "port 0" "--relayhost=smtp.isp:0" --relayhost=smtp.isp:0 "${P[@]}"
bad "port 70000" "--relayhost=smtp.isp:70000" --relayhost=smtp.isp:70000 "${P[@]}"
bad "no relayhost" "--relayhost=HOST[:PORT] is required" "${P[@]}"
bad "empty user" "--relay-user" --relayhost=smtp.isp --relay-user= --relay-password-file=/etc/op25b/relay.secret --mechanisms=PLAIN
bad "user with a colon" "--relay-user" --relayhost=smtp.isp --relay-user=a:b --relay-password-file=/etc/op25b/relay.secret --mechanisms=PLAIN
bad "no password option" "exactly one of" --relayhost=smtp.isp --relay-user=u --mechanisms=PLAIN
bad "two password options" "exactly one of" --relayhost=smtp.isp --relay-user=u --relay-password-file=/etc/op25b/relay.secret --relay-password-stdin --mechanisms=PLAIN
bad "missing password file" "No such file" --relayhost=smtp.isp --relay-user=u --relay-password-file=/etc/op25b/nope --mechanisms=PLAIN
bad "bad mechanism name" "not a SASL mechanism name" --relayhost=smtp.isp --relay-user=u --relay-password-file=/etc/op25b/relay.secret '--mechanisms=PLAIN,LO GIN!'
bad "empty password on stdin" "the password is empty" --relayhost=smtp.isp --relay-user=u --relay-password-stdin --mechanisms=PLAIN
root=$(new_root debian12); pwfile "$root" pw; chmod 644 "$root/etc/op25b/relay.secret"; cp -a "$root" "$SCRATCH/o"
out=$("$OP25B" apply --mode=submission --root="$root" --relayhost=smtp.isp --relay-user=u --relay-password-file=/etc/op25b/relay.secret --mechanisms=PLAIN 2>&1); rc=$?
check "bad input: world-readable password file refused" sh -c "[ $rc = 2 ] && printf '%s' '$out' | grep -q 'chmod 600'"
root=$(new_root debian12); mkdir -p "$root/etc/op25b"; printf 'two\nlines\n' > "$root/etc/op25b/relay.secret"; chmod 600 "$root/etc/op25b/relay.secret"
"$OP25B" apply --mode=submission --root="$root" --relayhost=smtp.isp --relay-user=u --relay-password-file=/etc/op25b/relay.secret --mechanisms=PLAIN >/dev/null 2>&1
check "bad input: multi-line password refused" test $? = 2
printf 'nul\0byte' | "$OP25B" apply --mode=submission --root="$root" --relayhost=smtp.isp --relay-user=u --relay-password-stdin --mechanisms=PLAIN >/dev/null 2>&1
check "bad input: NUL in the password refused" test $? = 2
head -c 2000 /dev/zero | tr '\0' x | "$OP25B" apply --mode=submission --root="$root" --relayhost=smtp.isp --relay-user=u --relay-password-stdin --mechanisms=PLAIN >/dev/null 2>&1
check "bad input: over-long password refused" test $? = 2

# secure with an address for a relay: Postfix never matches a certificate to an address.
root=$(new_root debian12); pwfile "$root" pw; cp -a "$root" "$SCRATCH/o6"
submission "$root" --relayhost=192.0.2.25
check "secure with --relayhost=ADDRESS: exit 2, asks for the name or fingerprint, nothing written" \
	sh -c "[ $? = 2 ] && grep -q 'secure needs the relay.s name.*--relay-tls=fingerprint' '$SCRATCH/out'" && same_tree "$SCRATCH/o6" "$root"

# --relay-tls: encrypt only when asked, with the warning; bad values and misplaced use refused.
root=$(new_root debian12); pwfile "$root" pw
submission "$root" --relay-tls=encrypt
check "--relay-tls=encrypt: exit 0, smtp_tls_security_level = encrypt" test "$?/$(pf "$root" smtp_tls_security_level)" = 0/encrypt
check "--relay-tls=encrypt: warns that the password can be intercepted" grep -q "^op25b: warning: --relay-tls=encrypt: .*anyone in the middle can read the ISP password" "$SCRATCH/out"
check "status shows the relay TLS level: encrypt, not authenticated" sh -c "'$OP25B' status --root='$root' | grep -q '^  relay TLS: encrypt: NOT authenticated'"
submission "$root"
check "status shows the relay TLS level: secure" sh -c "'$OP25B' status --root='$root' | grep -q '^  relay TLS: secure: its certificate must verify'"
check "status --json: relay_tls = secure" sh -c "'$OP25B' status --json --root='$root' | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)[\"modes\"][\"submission\"][\"relay_tls\"] == \"secure\" else 1)'"
check "then the default again: secure, no warning" sh -c "test \"\$(postconf -c '$root/etc/postfix' -h smtp_tls_security_level)\" = secure && ! grep -q 'anyone in the middle' '$SCRATCH/out'" || cat "$SCRATCH/out"
root=$(new_root debian12); pwfile "$root" pw; mkdir -p "$root/etc/op25b"
printf 'relay_tls = encrypt\n' >"$root/etc/op25b/op25b.conf"; chmod 600 "$root/etc/op25b/op25b.conf"
submission "$root" --config="$root/etc/op25b/op25b.conf"
check "op25b.conf relay_tls = encrypt: applied, with the warning" sh -c "test \"\$(postconf -c '$root/etc/postfix' -h smtp_tls_security_level)\" = encrypt && grep -q 'anyone in the middle' '$SCRATCH/out'"
root=$(new_root debian12); pwfile "$root" pw; cp -a "$root" "$SCRATCH/o3"
printf '# relay\nrelay_tls = none\n' >"$SCRATCH/bad.conf"; chmod 600 "$SCRATCH/bad.conf"
submission "$root" --config="$SCRATCH/bad.conf"
check "op25b.conf relay_tls = none: exit 2, FILE:LINE named" sh -c "[ $? = 2 ] && grep -q '^op25b: $SCRATCH/bad.conf:2: relay_tls = none' '$SCRATCH/out'"
bad "--relay-tls=none" "--relay-tls=none: expected secure, fingerprint or encrypt" --relayhost=smtp.isp --relay-tls=none "${P[@]}"
out=$("$OP25B" apply --mode=smtps --cert=/a --key=/b --relay-tls=secure 2>&1); rc=$?
check "--relay-tls with --mode=smtps: exit 2" sh -c "[ $rc = 2 ] && printf '%s' \"\$1\" | grep -q 'relay-tls'" _ "$out"
# secure needs CAs: none in main.cf and no bundle in the tree -> exit 2, nothing written.
root=$(new_root centos7); pwfile "$root" pw; rm -f "$root/etc/pki/tls/certs/ca-bundle.crt"; cp -a "$root" "$SCRATCH/o4"
submission "$root"
check "secure without any CA bundle in the tree: exit 2, names ca-certificates and the ways out" \
	sh -c "[ $? = 2 ] && grep -q 'no CA bundle under .*ca-certificates.*--relay-tls=fingerprint' '$SCRATCH/out'"
check "... nothing written" same_tree "$SCRATCH/o4" "$root"
# fingerprint has to see the key: an unreachable relay stops it even with --mechanisms=LIST.
root=$(new_root debian12); pwfile "$root" pw; cp -a "$root" "$SCRATCH/o5"
out=$("$OP25B" apply --mode=submission --root="$root" --relayhost=127.0.0.1:1 --relay-user=u --relay-password-file=/etc/op25b/relay.secret \
	--mechanisms=PLAIN --relay-tls=fingerprint --timeout=3 2>&1); rc=$?
check "fingerprint with an unreachable relay: stops (exit $rc), says it needs the key" sh -c "[ $rc -ne 0 ] && printf '%s' \"\$1\" | grep -q 'fingerprint needs to see its key'" _ "$out"
check "... nothing written" same_tree "$SCRATCH/o5" "$root"

# auto: the relay cannot be probed (a closed loopback port) -> say so, stop, touch nothing.
root=$(new_root debian12); pwfile "$root" pw; cp -a "$root" "$SCRATCH/o2"
out=$("$OP25B" apply --mode=submission --root="$root" --relayhost=localhost:1 --relay-user=u --relay-password-file=/etc/op25b/relay.secret --timeout=3 2>&1); rc=$?
check "mechanisms=auto with an unreachable relay stops (exit $rc) and says to give a list" sh -c "[ $rc -ne 0 ] && printf '%s' \"\$1\" | grep -q 'mechanisms=LIST'" _ "$out"
check "mechanisms=auto failure touched nothing" same_tree "$SCRATCH/o2" "$root"

finish
