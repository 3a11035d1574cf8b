#!/bin/bash
# Special files where op25b expects a regular file (issue 13 §4): a FIFO, a UNIX socket or a
# character device as the certificate, the key, main.cf, master.cf, dovecot.conf, a conf.d file,
# firewalld.conf, a firewalld zone (op25b's and the stock one), the password map, op25b.conf, and
# files op25b wrote (status, revert). Each run must end by itself (every run is bounded by
# timeout(1); a run the test has to kill fails), refuse with "not a regular file" naming the file,
# exit 2 and change nothing. verify honours --timeout: postconf on a FIFO main.cf is stopped
# after it, and a FIFO certificate is refused while a TLS server answers (in a private network
# namespace, so no fixed address is shared with other tests).
. "$(dirname "$0")/lib/testlib.sh"

W=$SCRATCH/w
mkdir -p "$W"
make_pki "$PKI"
CERT=$PKI/fullchain.pem KEY=$PKI/privkey.pem
TLS=(--cert="$CERT" --key="$KEY")
RELAY=smtp.isp.example.test
PWF=/etc/op25b/relay.secret
SUB=(--mode=submission --relayhost="$RELAY" --relay-user=u --relay-password-file="$PWF" --mechanisms=PLAIN)
LIMIT=15

snap() {
	(cd "$1" && find . -printf '%p %y %m %l\n' | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum)
}

fresh() {
	[ -n "${R:-}" ] && rm -rf "$R" # new_root's names may come again ($RANDOM)
	R=$(new_root debian12)
	mkdir -p "$R/etc/op25b" "$R/etc/firewalld/zones" "$R/usr/lib/firewalld/zones"
	printf 'special-Secret-1\n' > "$R$PWF"; chmod 600 "$R$PWF"
	printf '<?xml version="1.0" encoding="utf-8"?>\n<zone>\n  <short>Public</short>\n</zone>\n' > "$R/usr/lib/firewalld/zones/public.xml"
	printf 'DefaultZone=public\n' > "$R/etc/firewalld/firewalld.conf"
}

# special KIND PATH: replace PATH by a FIFO, a socket or a character device (like /dev/null).
special() {
	rm -f "$2"
	case $1 in
	fifo) mkfifo "$2" ;;
	socket) python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$2" ;;
	device) mknod "$2" c 1 3 ;;
	esac
}

# refused DESC MESSAGE ARGS...: exit 2 by itself, MESSAGE printed, $R unchanged.
refused() {
	local d=$1 m=$2 before out rc why=""
	shift 2
	before=$(snap "$R")
	out=$(timeout "$LIMIT" "$OP25B" "$@" 2>&1 </dev/null); rc=$?
	[ $rc = 124 ] && why="$why, HUNG (killed after $LIMIT s)"
	[ $rc = 2 ] || why="$why, exit $rc"
	printf '%s' "$out" | grep -qF -- "$m" || why="$why, message lacks '$m'"
	[ "$before" = "$(snap "$R")" ] || why="$why, the tree changed"
	if [ -z "$why" ]; then ok "$d"; else fail "$d$why"; printf '%s\n' "$out" | sed 's/^/  | /' | head -n 4; fi
}

for kind in fifo socket device; do
	fresh; special $kind "$R$CERT"
	refused "$kind as the certificate" "certificate $CERT: not a regular file" apply --mode=smtps --root="$R" "${TLS[@]}"
	fresh; special $kind "$R$KEY"
	refused "$kind as the key" "key $KEY: not a regular file" apply --mode=smtps --root="$R" "${TLS[@]}"
	for f in etc/postfix/main.cf etc/postfix/master.cf etc/dovecot/dovecot.conf etc/dovecot/conf.d/10-ssl.conf; do
		fresh; special $kind "$R/$f"
		refused "$kind as $f" "$f: not a regular file" apply --mode=smtps --root="$R" "${TLS[@]}"
	done
	fresh; special $kind "$R/etc/firewalld/firewalld.conf"
	refused "$kind as firewalld.conf" "firewalld.conf: not a regular file" apply --mode=smtps --root="$R" "${TLS[@]}"
	fresh; special $kind "$R/etc/firewalld/zones/public.xml"
	refused "$kind as the zone file" "zones/public.xml: not a regular file" apply --mode=smtps --root="$R" "${TLS[@]}"
	fresh; special $kind "$R/usr/lib/firewalld/zones/public.xml"
	refused "$kind as the stock zone" "zones/public.xml: not a regular file" apply --mode=smtps --root="$R" "${TLS[@]}"
	fresh; special $kind "$R/etc/postfix/ispinfo"
	refused "$kind as the password map" "etc/postfix/ispinfo: not a regular file" apply --root="$R" "${SUB[@]}"
	fresh; special $kind "$W/op25b.conf"
	refused "$kind as op25b.conf" "op25b.conf: not a regular file" status --root="$R" --config="$W/op25b.conf"
done

# A FIFO among conf.d's other files (not one op25b edits): the scan for a SASL listener skips it,
# and nothing waits on it.
fresh; special fifo "$R/etc/dovecot/conf.d/20-other.conf"
out=$(timeout "$LIMIT" "$OP25B" apply --root="$R" "${SUB[@]}" 2>&1); rc=$?
check "a FIFO among conf.d/*.conf: the run ends by itself (exit $rc)" test $rc != 124

# Files op25b wrote, replaced since by a FIFO: status and revert end by themselves.
fresh
timeout "$LIMIT" "$OP25B" apply -q --mode=smtps --root="$R" "${TLS[@]}" || fail "setup: apply"
special fifo "$R/etc/postfix/main.cf"
out=$(timeout "$LIMIT" "$OP25B" status --root="$R" 2>&1); rc=$?
check "status with main.cf now a FIFO: exit 0, not 'as op25b wrote it' (exit $rc)" \
	bash -c '[ "$1" = 0 ] && grep -q "/etc/postfix/main.cf: missing" <<<"$2"' _ "$rc" "$out"
refused "revert with main.cf now a FIFO" "etc/postfix/main.cf: not a regular file" revert --root="$R"

# verify: postconf reads main.cf itself; a FIFO there made it (and op25b) wait forever.
fresh
timeout "$LIMIT" "$OP25B" apply -q --mode=smtps --root="$R" "${TLS[@]}" || fail "setup: apply"
special fifo "$R/etc/postfix/main.cf"
start=$(date +%s)
out=$(timeout 30 "$OP25B" verify --root="$R" --host=127.0.0.1 --timeout=3 2>&1); rc=$?
check "verify with a FIFO main.cf: stopped after --timeout=3 (exit $rc in $(($(date +%s) - start)) s)" \
	bash -c '[ "$1" = 1 ] && grep -q "postconf: no answer within 3 s" <<<"$2"' _ "$rc" "$out"

# verify: the certificate of the served one compared with the configured file, now a FIFO.
if unshare -n true 2>/dev/null && command -v ip >/dev/null; then
	fresh
	timeout "$LIMIT" "$OP25B" apply -q --mode=smtps --root="$R" "${TLS[@]}" || fail "setup: apply"
	special fifo "$R$CERT"
	out=$(timeout 40 unshare -n bash -c '
		ip link set lo up || exit 99
		openssl s_server -quiet -accept 127.0.0.1:465 -cert "$1" -key "$2" </dev/null >/dev/null 2>&1 &
		srv=$!
		for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/465) 2>/dev/null && break; sleep 0.1; done
		timeout 20 "$3" verify --root="$4" --host=127.0.0.1 --timeout=3; echo "rc=$?"
		kill $srv' _ "$CERT" "$KEY" "$OP25B" "$R" 2>&1)
	if printf '%s' "$out" | grep -q 'rc=99'; then
		skip "verify with a FIFO certificate: no loopback in a new network namespace"
	else
		check "verify with a FIFO certificate: refused as not a regular file, no hang" \
			bash -c '! grep -q "rc=124" <<<"$1" && grep -q "cannot be read: not a regular file" <<<"$1"' _ "$out"
		printf '%s\n' "$out" | grep -q 'cannot be read: not a regular file' || printf '%s\n' "$out" | sed 's/^/  | /' | head -n 8
	fi
else
	skip "verify with a FIFO certificate: needs unshare -n (root, network namespaces)"
fi

# A dangling symlink in place of a file op25b writes (A4 in the attack notes): refused (exit 2,
# naming the file), nothing written, and no directory made for the target (a write through it
# made ROOT/X/..., which revert left behind). master.cf was refused so already.
for f in etc/postfix/main.cf etc/postfix/master.cf etc/dovecot/conf.d/99-op25b-auth.conf \
	etc/postfix/ispinfo etc/postfix/ispinfo.db; do
	for target in /X/target ../../X/target; do
		fresh; rm -f "$R/$f"; ln -s "$target" "$R/$f"
		case $f in
		*ispinfo* | *99-op25b*) args=("${SUB[@]}") ;;
		*) args=(--mode=smtps "${TLS[@]}") ;;
		esac
		refused "apply ${args[0]#--mode=}: $f a dangling symlink ($target) is refused" \
			"/$f: a symlink whose target does not exist" apply --root="$R" "${args[@]}"
	done
done
# The password map in a directory another user owns, or anyone may write: refused (exit 2).
for how in "chmod 1777" "chmod 0775" "chown nobody"; do
	fresh; mkdir -p "$R/etc/maps"; $how "$R/etc/maps"
	refused "apply submission: the password map's directory ($how) is refused" \
		"the password map's directory is" apply --root="$R" "${SUB[@]}" --password-map=/etc/maps/ispinfo
done
fresh; mkdir -p "$R/etc/maps"; chmod 0755 "$R/etc/maps"
"$OP25B" apply --root="$R" "${SUB[@]}" --password-map=/etc/maps/ispinfo >/dev/null 2>&1
check "apply submission: a root-owned 0755 map directory is accepted" [ -s "$R/etc/maps/ispinfo.db" ]

finish
