#!/bin/bash
# --config=FILE (op25b.conf(5)): the lens, values applied, the command line winning, and every
# refusal (unknown key, bad value, password, root, unsafe file) with exit 2, FILE:LINE and nothing
# touched.
. "$(dirname "$0")/lib/testlib.sh"

# The tree's ./op25b is replaced in place by every `make`: run a private copy (with the tree's
# lenses beside it, where it looks for them), so that a build during this test cannot change the
# program under valgrind's feet.
if [ "$OP25B" = "$TOP/op25b" ]; then
	mkdir -p "$SCRATCH/bin"
	cp "$OP25B" "$SCRATCH/bin/op25b"
	ln -s "$TOP/lenses" "$SCRATCH/lenses"
	OP25B=$SCRATCH/bin/op25b
fi
CERT=$PKI/fullchain.pem KEY=$PKI/privkey.pem
make_pki "$PKI"
CONFDIR=$SCRATCH/conf
mkdir -p "$CONFDIR"

# conf NAME LINE...: a configuration file of those lines, mode 0600; prints its path.
conf() {
	local f=$CONFDIR/$1
	shift
	rm -f "$f"
	printf '%s\n' "$@" > "$f"
	chmod 600 "$f"
	echo "$f"
}

# refused DESCRIPTION EXPECTED-MESSAGE-REGEX op25b-args...: exit 2, the message, nothing touched.
refused() {
	local d=$1 re=$2 root out rc
	shift 2
	root=$(new_root debian12)
	cp -a "$root" "$SCRATCH/orig.refused"
	out=$("$OP25B" apply --root="$root" "$@" 2>&1)
	rc=$?
	if [ $rc -eq 2 ] && printf '%s\n' "$out" | grep -Eq "$re" && same_tree "$SCRATCH/orig.refused" "$root" >/dev/null; then
		ok "$d"
	else
		fail "$d (exit $rc): $out"
	fi
	rm -rf "$SCRATCH/orig.refused"
}

# ---- the lens ----
if command -v augparse >/dev/null 2>&1; then
	if out=$(augparse -I "$TOP/lenses" "$TOP/lenses/tests/test_op25b_conf.aug" 2>&1); then
		ok "augparse: lenses/tests/test_op25b_conf.aug"
	else
		fail "augparse: $out"
	fi
else
	skip "augparse is not installed (augeas-tools)"
fi
check "the example etc/op25b.conf parses and sets no mode" \
	sh -c "cp '$TOP/etc/op25b.conf' '$CONFDIR/example' && chmod 600 '$CONFDIR/example' &&
	       '$OP25B' status --config='$CONFDIR/example' --root='$(new_root debian12)' >/dev/null &&
	       ! grep -Eq '^[[:space:]]*mode[[:space:]]*=' '$CONFDIR/example'"

# ---- values applied ----
root=$(new_root debian12)
f=$(conf smtps.conf "# the site's settings" "" "mode = smtps" "  cert=$CERT   # the chain" "key = $KEY" \
	"no-restart = yes" "no_firewall = on" "timeout = 30" "host = mail.example.test # verify only: ignored")
if "$OP25B" apply --root="$root" --config="$f" -q; then ok "apply --config: exit 0 with mode, cert and key from the file"
else fail "apply --config: exit $?"; fi
check "apply --config: the file's certificate is in main.cf" \
	test "$(postconf -c "$root/etc/postfix" -h smtpd_tls_cert_file)" = "$CERT"
check "apply --config: 465 enabled (postconf -M)" \
	sh -c "postconf -c '$root/etc/postfix' -M 2>/dev/null | grep -Eq '^(smtps|submissions) +inet .*smtpd_tls_wrappermode=yes'"
check "status --config: reads the common keys and ignores mode/cert/key" \
	sh -c "'$OP25B' status --root='$root' --config='$f' | grep -qx 'smtps: applied'"
check "revert --config: ignores the file's mode and key, reverts" "$OP25B" revert -q --root="$root" --config="$f"
check "revert --config: original bytes back" same_tree "$TOP/fixtures/debian12/etc" "$root/etc"

# state_dir from the file: the journal goes there; without the file, op25b looks elsewhere.
root=$(new_root debian12)
f=$(conf state.conf "mode = smtps" "cert = $CERT" "key = $KEY" "state_dir = /var/lib/op25b-site")
"$OP25B" apply -q --root="$root" --config="$f"
check "state_dir from the file: journal in /var/lib/op25b-site" test -d "$root/var/lib/op25b-site"
check "state_dir from the file: status without --config finds nothing there" \
	sh -c "'$OP25B' status --root='$root' | grep -qx 'smtps: not applied'"
check "state_dir from the file: revert --config puts the files back" \
	sh -c "'$OP25B' revert -q --root='$root' --config='$f' && '$OP25B' status --root='$root' --config='$f' | grep -qx 'smtps: not applied'"

# dry_run from the file writes nothing.
root=$(new_root debian12)
f=$(conf dry.conf "mode = smtps" "cert = $CERT" "key = $KEY" "dry_run = yes")
out=$("$OP25B" apply --root="$root" --config="$f" 2>&1)
check "dry_run = yes: a diff, nothing written" \
	sh -c "printf '%s' \"\$1\" | grep -q '^+.*smtpd_tls_cert_file' && ! [ -d '$root/var/lib/op25b' ]" _ "$out"
check "dry_run = yes: the tree is untouched" same_tree "$TOP/fixtures/debian12/etc" "$root/etc"

# ---- the command line wins ----
PKI2=$SCRATCH/pki2
make_pki "$PKI2" 90 other.example.test
root=$(new_root debian12)
mkdir -p "$root$PKI2"; cp -a "$PKI2/." "$root$PKI2/"
f=$(conf cli.conf "mode = smtps" "cert = $CERT" "key = $KEY")
"$OP25B" apply -q --root="$root" --config="$f" --cert="$PKI2/fullchain.pem" --key="$PKI2/privkey.pem"
check "command line wins: --cert/--key over the file's cert/key" \
	test "$(postconf -c "$root/etc/postfix" -h smtpd_tls_cert_file)" = "$PKI2/fullchain.pem"
refused "command line wins: --domain replaces the file's cert/key as a group (no 'alternatives' error)" \
	"/etc/letsencrypt/live/mail\.example\.org/fullchain\.pem" --config="$f" --domain=mail.example.org
# --mode on the command line: the file's submission settings do not get in the way of smtps.
f=$(conf modes.conf "mode = submission" "relayhost = [smtp.isp.example]:587" "relay_user = homeuser" \
	"relay_password_file = /etc/op25b/relay-password" "mechanisms = PLAIN LOGIN" "cert = $CERT" "key = $KEY")
root=$(new_root debian12)
check "command line wins: --mode=smtps over mode = submission; the relay keys are left out" \
	sh -c "'$OP25B' apply -q --root='$root' --config='$f' --mode=smtps &&
	       [ \"\$(postconf -c '$root/etc/postfix' -h relayhost)\" = '' ]"
f=$(conf dirs.conf "mode = smtps" "cert = $CERT" "key = $KEY" "postfix_dir = /nonexistent/postfix")
root=$(new_root debian12)
"$OP25B" apply -q --root="$root" --config="$f" --postfix-dir=/etc/postfix
check "command line wins: --postfix-dir over postfix_dir" \
	test "$(postconf -c "$root/etc/postfix" -h smtpd_tls_cert_file)" = "$CERT"
f=$(conf quiet.conf "mode = smtps" "cert = $CERT" "key = $KEY" "quiet = yes")
root=$(new_root debian12)
out=$("$OP25B" apply --root="$root" --config="$f" 2>&1)
check "quiet = yes: nothing printed" test -z "$out"
"$OP25B" revert -q --root="$root"
out=$("$OP25B" apply --root="$root" --config="$f" -v 2>&1)
check "-v on the command line wins over quiet = yes" sh -c "printf '%s' \"\$1\" | grep -q 'cert = '" _ "$out"

# ---- refusals: exit 2, FILE:LINE, nothing touched ----
f=$(conf unknown.conf "# comment" "mode = smtps" "foo = bar" "cert = $CERT" "key = $KEY")
refused "unknown key: exit 2 with the line number" "^op25b: $f:3: unknown key 'foo'\$" --config="$f"
f=$(conf badmode.conf "mode = smtp")
refused "bad mode: exit 2, FILE:1" "^op25b: $f:1: mode = smtp: unknown mode" --config="$f"
f=$(conf badbool.conf "mode = smtps" "cert = $CERT" "key = $KEY" "" "no_restart = maybe")
refused "bad switch value: exit 2, FILE:5" "^op25b: $f:5: no_restart = maybe: expected yes or no" --config="$f"
f=$(conf badtimeout.conf "timeout = 0" "mode = smtps")
refused "bad timeout: exit 2, FILE:1" "^op25b: $f:1: timeout = 0:" --config="$f"
f=$(conf plustimeout.conf "mode = smtps" "timeout = +5")
refused "timeout = +5: exit 2, FILE:2 (the rule of --timeout too)" "^op25b: $f:2: timeout = \\+5: expected seconds from 1 to 3600" --config="$f"
f=$(conf relpath.conf "mode = smtps" "cert = fullchain.pem" "key = $KEY")
refused "relative path: exit 2, FILE:2" "^op25b: $f:2: cert = fullchain.pem: must be an absolute path" --config="$f"
f=$(conf novalue.conf "mode = smtps" "zone =")
refused "key without a value: exit 2, FILE:2" "^op25b: $f:2: 'zone' needs a value" --config="$f"
f=$(conf dup.conf "mode = smtps" "cert = $CERT" "key = $KEY" "cert = $CERT")
refused "key set twice: exit 2, FILE:4" "^op25b: $f:4: 'cert' is already set on line 2" --config="$f"
f=$(conf certonly.conf "mode = smtps" "cert = $CERT")
refused "cert without key: exit 2" "^op25b: $f:2: 'cert' needs 'key'" --config="$f"
# --mechanisms has one rule, the request's (src/cli/option-check.c): a name that is not SASL's is
# refused at its line, like every other key, whatever the mode.
SUBM=("mode = submission" "relayhost = [smtp.isp.example]:587" "relay_user = u" "relay_password_file = /etc/op25b/relay-password")
f=$(conf badmech.conf "${SUBM[@]}" "mechanisms = PLAIN,LO GIN!")
refused "mechanisms not SASL names: exit 2, FILE:5" "^op25b: $f:5: mechanisms = PLAIN,LO GIN!: 'GIN!' is not a SASL mechanism name\$" --config="$f"
f=$(conf emptymech.conf "${SUBM[@]}" "mechanisms = , ,")
refused "mechanisms with no name: exit 2, FILE:5" "^op25b: $f:5: mechanisms: give auto or a list such as PLAIN,LOGIN\$" --config="$f"
f=$(conf badmech2.conf "mechanisms = PLAIN;LOGIN" "mode = smtps" "cert = $CERT" "key = $KEY")
refused "mechanisms not SASL names, with mode = smtps: refused all the same, FILE:1" "^op25b: $f:1: mechanisms = PLAIN;LOGIN: 'PLAIN;LOGIN' is not a SASL mechanism name\$" --config="$f"
f=$(conf syntax.conf "mode = smtps" "" "just some words")
refused "not a key = value line: exit 2, FILE:3" "^op25b: $f:3: not a 'key = value' line" --config="$f"
f=$(conf root.conf "mode = smtps" "root = /srv/other")
refused "root in the file: refused" "^op25b: $f:2: 'root' is not allowed in a configuration file" --config="$f"
f=$(conf pw.conf "mode = submission" "relayhost = [smtp.isp.example]:587" "relay_user = u" "relay_password = Sekr1t-pw")
refused "relay_password in the file: refused" "^op25b: $f:4: 'relay_password': relay passwords do not belong" --config="$f"
out=$("$OP25B" apply --root="$(new_root debian12)" --config="$f" 2>&1)
check "relay_password in the file: the value is never printed" sh -c "! printf '%s' \"\$1\" | grep -q Sekr1t" _ "$out"
f=$(conf pw2.conf "password = Sekr1t-pw")
refused "password in the file: refused" "^op25b: $f:1: 'password': relay passwords do not belong" --config="$f"
f=$(conf stdin.conf "relay-password-stdin = yes")
refused "relay_password_stdin in the file: refused" "^op25b: $f:1: 'relay_password_stdin' is not allowed" --config="$f"
refused "missing file: exit 2" "^op25b: $CONFDIR/none.conf: cannot open the configuration file: No such file" \
	--config="$CONFDIR/none.conf"
refused "a directory: exit 2" "^op25b: $CONFDIR: not a regular file" --config="$CONFDIR"

# ---- unsafe files ----
good=$(conf good.conf "mode = smtps" "cert = $CERT" "key = $KEY")
chmod 666 "$good"
refused "world-writable file refused" "^op25b: $good: writable by everyone \(mode 0666\); refusing it" --config="$good"
chmod 620 "$good"
refused "group-writable file refused" "^op25b: $good: writable by its group \(mode 0620\); refusing it" --config="$good"
chmod 644 "$good"
check "a world-readable (not writable) file is accepted" \
	sh -c "'$OP25B' apply -q -n --root='$(new_root debian12)' --config='$good' >/dev/null"
ln -s "$good" "$CONFDIR/link.conf"
refused "symlink refused (O_NOFOLLOW)" "^op25b: $CONFDIR/link.conf: is a symbolic link; refusing it" \
	--config="$CONFDIR/link.conf"
if [ "$(id -u)" -eq 0 ]; then
	chown 65534 "$good"
	refused "file not owned by root refused" "^op25b: $good: owned by uid 65534; refusing it" --config="$good"
	chown 0 "$good"
else
	skip "file not owned by root: needs root to chown"
fi
# The path is a host path even with --root: the same file name under the root is not read.
root=$(new_root debian12)
mkdir -p "$root$CONFDIR"
printf 'foo = bar\n' > "$root$CONFDIR/good.conf"; chmod 600 "$root$CONFDIR/good.conf"
check "--config is a host path, not under --root" sh -c "'$OP25B' apply -q -n --root='$root' --config='$good' >/dev/null"

# ---- valgrind ----
if command -v valgrind >/dev/null 2>&1; then
	# Exit 99: valgrind found something; 128+N: a signal. op25b's own exit statuses are 0 to 2.
	vg() {
		valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
			"$OP25B" "$@" >/dev/null 2>"$SCRATCH/vg.err"
		local rc=$?
		[ $rc -le 2 ] || { head -n 20 "$SCRATCH/vg.err"; return 1; }
	}
	root=$(new_root debian12)
	f=$(conf vg.conf "mode = smtps" "cert = $CERT" "key = $KEY" "no-restart = yes" "zone = public" "timeout = 9")
	check "valgrind: apply --config (values taken)" vg apply -q --root="$root" --config="$f"
	check "valgrind: status --config (values not used)" vg status --root="$root" --config="$f"
	check "valgrind: unknown key" vg apply --root="$root" --config="$CONFDIR/unknown.conf"
	check "valgrind: syntax error" vg apply --root="$root" --config="$CONFDIR/syntax.conf"
	check "valgrind: set twice" vg apply --root="$root" --config="$CONFDIR/dup.conf"
	f=$(conf vg2.conf "mode = smtps" "cert = $CERT" "key = $KEY")
	check "valgrind: command line wins (file values freed)" \
		vg apply -q -n --root="$root" --config="$f" --cert="$CERT" --key="$KEY"
else
	skip "valgrind is not installed"
fi

finish
