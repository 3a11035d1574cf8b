#!/bin/bash
# The CAs that vouch for the relay come from the root (issue 13: no file outside --root, ever; the
# ISP password only to a verified relay). Before apply --mode=submission --relay-tls=secure writes
# anything, op25b checks the relay's certificate against the CAs Postfix will use: smtp_tls_CAfile /
# smtp_tls_CApath of R's main.cf, or the distribution's bundle under R. Those files are read beneath
# R like every other file, symlinks resolved inside R as after chroot(R):
#   - a CA file, or a CApath entry, that is a symlink to a file OUTSIDE R (absolute, or climbing out
#     with "..") holding the CA that signed the relay's certificate is not used: the relay does not
#     verify, exit 2, nothing written, no password map;
#   - the same file reached by a symlink INSIDE R (Debian's /etc/ssl/certs -> /usr/share/...) is
#     used: verified, exit 0;
#   - a CApath directory is read as OpenSSL reads one (Postfix passes it to OpenSSL): the hashed
#     names (HASH.N, as c_rehash / update-ca-certificates make them), not any other file;
#   - --relay-tls=fingerprint only reports whether the key's certificate verifies, against OpenSSL's
#     default store ($SSL_CERT_FILE here) beneath R, not the host's;
#   - strace: apply --root opens no CA file or directory outside R.
# The relay is tests/fake-smtp.py on 127.0.0.1 (any free port) with a certificate for "localhost"
# signed by a throwaway CA (tests/e2e/pki.sh).
. "$(dirname "$0")/lib/testlib.sh"

FAKE=$TOP/tests/fake-smtp.py
OUTSIDE=$SCRATCH/outside
FAKE_PID=
stop_fake() { # bounded: SIGTERM, then SIGKILL after 5 s
	[ -n "$FAKE_PID" ] || return 0
	local end=$(($(date +%s) + 5))
	kill -TERM "$FAKE_PID" 2>/dev/null
	while kill -0 "$FAKE_PID" 2>/dev/null; do
		[ "$(date +%s)" -ge "$end" ] && { kill -KILL "$FAKE_PID" 2>/dev/null; break; }
		sleep 0.05
	done
	wait "$FAKE_PID" 2>/dev/null
	FAKE_PID=
}
trap 'stop_fake; cleanup_scratch' EXIT
trap 'exit 130' INT TERM

[ -x "$OP25B" ] || { fail "$OP25B is not built (make op25b)"; finish; exit 1; }
for c in openssl python3 postconf; do
	command -v "$c" >/dev/null || { skip "catrust: $c is not installed"; finish; exit 0; }
done
getent ahosts localhost 2>/dev/null | grep -q '^127\.0\.0\.1' || { skip "catrust: localhost does not resolve to 127.0.0.1"; finish; exit 0; }
bash "$TOP/tests/e2e/pki.sh" "$SCRATCH/ca" "relay:localhost:127.0.0.1" || { fail "cannot make the test PKI"; finish; exit 1; }
CA=$SCRATCH/ca/ca.pem
# The relay's certificate names its CA's key (authorityKeyIdentifier), as public CAs' do: OpenSSL
# 1.1.1 otherwise takes any CA of the issuer's name (the re-keyed twin below) and fails on it.
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\nauthorityKeyIdentifier=keyid\n' \
	>"$SCRATCH/ca/relay/ext.cnf"
(cd "$SCRATCH/ca" && openssl x509 -req -in relay/req.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -sha256 \
	-extfile relay/ext.cnf -out relay/cert.pem 2>/dev/null) || { fail "cannot sign the relay's certificate"; finish; exit 1; }
HASH=$(openssl x509 -in "$CA" -noout -subject_hash)
mkdir -p "$OUTSIDE"; cp "$CA" "$OUTSIDE/ca.pem"
# OpenSSL's default store must not decide anything here: an empty one, on the host.
: >"$SCRATCH/no-ca.pem"; mkdir -p "$SCRATCH/no-ca.d"
export SSL_CERT_FILE=$SCRATCH/no-ca.pem SSL_CERT_DIR=$SCRATCH/no-ca.d
make_pki "$PKI"

# start_fake [CONNS]: the relay, one connection (or CONNS), on a free port ($PORT; a file of its
# own per server).
N=0
start_fake() {
	stop_fake
	N=$((N + 1))
	python3 "$FAKE" normal --cert "$SCRATCH/ca/relay/cert.pem" --key "$SCRATCH/ca/relay/privkey.pem" \
		--conns "${1:-1}" --lifetime 30 >"$SCRATCH/port.$N" 2>"$SCRATCH/fake.err" &
	FAKE_PID=$!
	local end=$(($(date +%s) + 10))
	until [ -s "$SCRATCH/port.$N" ]; do [ "$(date +%s)" -ge "$end" ] && return 1; sleep 0.05; done
	PORT=$(head -n 1 "$SCRATCH/port.$N")
}

# A debian12 root whose main.cf names no CA (each case says which), a password file, and no CA
# that trusts the relay anywhere in it.
fresh() {
	R=$(new_root debian12)
	postconf -c "$R/etc/postfix" -X smtp_tls_CApath smtp_tls_CAfile
	mkdir -p "$R/etc/op25b" "$R/usr/share/ca-certificates/test"
	printf 'catrust-Secret-1\n' >"$R/etc/op25b/relay.secret"; chmod 600 "$R/etc/op25b/relay.secret"
	rm -rf "$R/etc/ssl/certs"; mkdir -p "$R/etc/ssl/certs"
	cp -a "$R" "$SCRATCH/orig"; ORIG=$SCRATCH/orig
}
cafile() { postconf -c "$R/etc/postfix" -e "smtp_tls_CAfile = $1"; }
capath() { postconf -c "$R/etc/postfix" -e "smtp_tls_CApath = $1"; }
snapshot() { rm -rf "$ORIG"; cp -a "$R" "$ORIG"; }

OUT=$SCRATCH/out
# apply_secure [ARGS...]: apply submission (secure, the default) against the relay; exit status in RC.
# KEEP_FAKE=N: a relay for N connections, left running.
apply_secure() {
	start_fake "${KEEP_FAKE:-1}" || { fail "the fake relay did not start"; RC=99; return; }
	timeout 60 "$OP25B" apply --mode=submission --root="$R" --relayhost="[localhost]:$PORT" --relay-user=homeuser \
		--relay-password-file=/etc/op25b/relay.secret --no-restart --no-firewall --timeout=10 "$@" >"$OUT" 2>&1
	RC=$?
	[ -n "${KEEP_FAKE:-}" ] || stop_fake
}
has() { grep -qE -- "$1" "$OUT"; }
show() { sed 's/^/#   /' "$OUT"; }
main_cf() { postconf -c "$R/etc/postfix" -h "$1"; }
# refused DESC: exit 2, the issuer unknown, nothing written (the tree as before, no password map).
refused() {
	if [ "$RC" = 2 ] && has "certificate does not verify: .*its issuer is unknown" && same_tree "$ORIG" "$R" &&
		! grep -rqF catrust-Secret-1 "$R/etc/postfix"; then
		ok "$1: not verified, exit 2, nothing written"
	else
		fail "$1: exit $RC, expected 2 with the issuer unknown and nothing written"; show
	fi
}
verified() {
	if [ "$RC" = 0 ] && has "^localhost: certificate verified"; then
		ok "$1: verified, exit 0"
	else
		fail "$1: exit $RC, expected the relay verified"; show
	fi
}

# ---------------------------------------------------------------- a CA file outside the root
fresh; cafile /etc/ssl/relay-ca.pem
ln -s "$OUTSIDE/ca.pem" "$R/etc/ssl/relay-ca.pem"; snapshot
apply_secure; refused "smtp_tls_CAfile a symlink to a host file outside R (absolute)"

fresh; cafile /etc/ssl/relay-ca.pem
ln -s "../../../../../../../../../..$OUTSIDE/ca.pem" "$R/etc/ssl/relay-ca.pem"; snapshot
apply_secure; refused "smtp_tls_CAfile a symlink climbing out of R with .."

# The distribution's bundle (nothing in main.cf) a symlink out of R: there is no bundle under R.
fresh; ln -s "$OUTSIDE/ca.pem" "$R/etc/ssl/certs/ca-certificates.crt"; snapshot
apply_secure
check "the distribution's bundle a symlink out of R: exit 2, no CA bundle under R, nothing written" \
	sh -c "[ $RC = 2 ] && grep -q 'no CA bundle under' '$OUT'" && same_tree "$ORIG" "$R"

# ---------------------------------------------------------------- the same file, inside the root
fresh; cp "$CA" "$R/usr/share/ca-certificates/test/ca.crt"
ln -s /usr/share/ca-certificates/test/ca.crt "$R/etc/ssl/certs/ca-certificates.crt"
cafile /etc/ssl/certs/ca-certificates.crt
apply_secure; verified "smtp_tls_CAfile a symlink inside R (absolute, to R/usr/share/...)"
check "... main.cf: secure, smtp_tls_CAfile kept" \
	test "$(main_cf smtp_tls_security_level)|$(main_cf smtp_tls_CAfile)" = "secure|/etc/ssl/certs/ca-certificates.crt"
# The same where the kernel has no openat2: rootfs's own walk resolves the links.
"$OP25B" revert -q --root="$R"
OP25B_TEST_NO_OPENAT2=1 apply_secure; verified "the same without openat2 (rootfs's walk)"

fresh; cp "$CA" "$R/usr/share/ca-certificates/test/ca.crt"
ln -s ../../../usr/share/ca-certificates/test/ca.crt "$R/etc/ssl/certs/ca-certificates.crt"
apply_secure; verified "the distribution's bundle (not in main.cf) a relative symlink inside R"
check "... main.cf: smtp_tls_CAfile set to the bundle" test "$(main_cf smtp_tls_CAfile)" = /etc/ssl/certs/ca-certificates.crt

# A bundle of many certificates (the fixture's public roots), the test CA in the middle of them.
fresh; { cat "$TOP/fixtures/debian12/etc/ssl/certs/ca-certificates.crt"; cat "$CA"
	cat "$TOP/fixtures/debian12/etc/ssl/certs/ca-certificates.crt"; } >"$R/etc/ssl/bundle.pem"
cafile /etc/ssl/bundle.pem
apply_secure; verified "smtp_tls_CAfile a bundle with the CA among others"

# ---------------------------------------------------------------- verify --root: the same CAs
# op25b verify checks the relay's certificate against main.cf's CAs too, beneath the root.
fresh; cp "$CA" "$R/usr/share/ca-certificates/test/ca.crt"
ln -s /usr/share/ca-certificates/test/ca.crt "$R/etc/ssl/certs/ca-certificates.crt"
KEEP_FAKE=3 apply_secure; verified "verify: applied with the distribution's bundle inside R"
timeout 60 "$OP25B" verify --root="$R" --timeout=5 >"$OUT" 2>&1
check "verify --root: the relay's certificate verified with R's bundle (a symlink inside R)" has "^ok relay .*: certificate verified"
ln -sf "$OUTSIDE/ca.pem" "$R/etc/ssl/certs/ca-certificates.crt"
timeout 60 "$OP25B" verify --root="$R" --timeout=5 >"$OUT" 2>&1
check "verify --root: R's bundle now a symlink to a host file outside R: the certificate does NOT verify" \
	has "^FAIL relay .*: certificate does NOT verify"
stop_fake

# ---------------------------------------------------------------- smtp_tls_CApath
fresh; cp "$CA" "$R/usr/share/ca-certificates/test/ca.crt"; capath /etc/ssl/certs
ln -s /usr/share/ca-certificates/test/ca.crt "$R/etc/ssl/certs/test-ca.pem"
ln -s test-ca.pem "$R/etc/ssl/certs/$HASH.0"
apply_secure; verified "smtp_tls_CApath, its hashed entry a symlink chain inside R (as update-ca-certificates makes them)"
check "... main.cf: smtp_tls_CApath kept, no CAfile added" \
	test "$(main_cf smtp_tls_CApath)|$(main_cf smtp_tls_CAfile)" = "/etc/ssl/certs|"

# Two CAs of the same name (a root re-keyed): HASH.0 and HASH.1, both looked at, in that order.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj "/CN=op25b e2e CA" \
	-keyout "$SCRATCH/twin.key" -out "$SCRATCH/twin.pem" 2>/dev/null
check "a second CA of the same name has the same hash" test "$(openssl x509 -in "$SCRATCH/twin.pem" -noout -subject_hash)" = "$HASH"
fresh; capath /etc/pki/anchors; mkdir -p "$R/etc/pki/anchors"
cp "$TOP/fixtures/debian12/etc/ssl/certs/ca-certificates.crt" "$R/etc/pki/anchors/ca-certificates.crt"
cp "$SCRATCH/twin.pem" "$R/etc/pki/anchors/$HASH.0"; cp "$CA" "$R/etc/pki/anchors/$HASH.1"
apply_secure; verified "smtp_tls_CApath, the CA a regular file HASH.1 after another CA of its name in HASH.0"
# ... and OpenSSL stops at the first HASH.N missing: HASH.1 alone is not looked at.
fresh; capath /etc/pki/anchors; mkdir -p "$R/etc/pki/anchors"; cp "$CA" "$R/etc/pki/anchors/$HASH.1"; snapshot
apply_secure; refused "smtp_tls_CApath, the CA in HASH.1 with no HASH.0 (OpenSSL does not look further)"

fresh; capath /etc/ssl/certs; ln -s "$OUTSIDE/ca.pem" "$R/etc/ssl/certs/$HASH.0"; snapshot
apply_secure; refused "smtp_tls_CApath, its hashed entry a symlink to a host file outside R"

fresh; capath /etc/ssl/certs; ln -s "../../../../../../../../../..$OUTSIDE/ca.pem" "$R/etc/ssl/certs/$HASH.0"; snapshot
apply_secure; refused "smtp_tls_CApath, its hashed entry a symlink climbing out of R"

fresh; capath /etc/ssl/out; ln -s "$OUTSIDE" "$R/etc/ssl/out"; cp "$CA" "$OUTSIDE/$HASH.0"; snapshot
apply_secure; refused "smtp_tls_CApath itself a symlink to a host directory outside R"
rm -f "$OUTSIDE/$HASH.0"

# OpenSSL (and so Postfix) looks a CA up in CApath by the hash of its name: a file under another
# name is not one of its CAs, nor is a HASH.N file holding a CA of another name.
fresh; cp "$CA" "$R/etc/ssl/certs/test-ca.pem"; capath /etc/ssl/certs; snapshot
apply_secure; refused "smtp_tls_CApath, the CA only under a name that is not its hash"

# ---------------------------------------------------------------- fingerprint: the default store
# With fingerprint the certificate is only reported on, against OpenSSL's default store: beneath R.
fresh; export SSL_CERT_FILE=$OUTSIDE/ca.pem
apply_secure --relay-tls=fingerprint
check "fingerprint: \$SSL_CERT_FILE is looked up beneath R (the host's file there is not used)" \
	sh -c "[ $RC = 0 ] && grep -q 'its certificate does not verify: its issuer is unknown' '$OUT'"
fresh; mkdir -p "$R$OUTSIDE"; cp "$CA" "$R$OUTSIDE/ca.pem"
apply_secure --relay-tls=fingerprint
check "fingerprint: \$SSL_CERT_FILE beneath R holds the CA: no complaint about the certificate" \
	sh -c "[ $RC = 0 ] && grep -q 'pinning the relay' '$OUT' && ! grep -q 'does not verify' '$OUT'"
export SSL_CERT_FILE=$SCRATCH/no-ca.pem

# ---------------------------------------------------------------- strace: no CA read outside R
if command -v strace >/dev/null && strace -f -o /dev/null true 2>/dev/null; then
	fresh; cp "$CA" "$R/usr/share/ca-certificates/test/ca.crt"; capath /etc/ssl/certs
	cafile /etc/ssl/certs/ca-certificates.crt
	ln -s /usr/share/ca-certificates/test/ca.crt "$R/etc/ssl/certs/ca-certificates.crt"
	ln -s /usr/share/ca-certificates/test/ca.crt "$R/etc/ssl/certs/$HASH.0"
	start_fake
	strace -f -qq -e trace=open,openat,openat2,stat,newfstatat,statx,readlink,readlinkat -o "$SCRATCH/strace" \
		"$OP25B" apply --mode=submission --root="$R" --relayhost="[localhost]:$PORT" --relay-user=homeuser \
		--relay-password-file=/etc/op25b/relay.secret --no-restart --no-firewall --timeout=10 >"$OUT" 2>&1
	RC=$?
	stop_fake
	verified "strace run"
	# Every path op25b itself (its children, postconf and postmap, are given R's files by name)
	# names on the host: not the ones it resolves beneath the root (openat2 RESOLVE_IN_ROOT).
	pid=$(head -n 1 "$SCRATCH/strace" | awk '{print $1}')
	grep -E "^$pid " "$SCRATCH/strace" | grep -v RESOLVE_IN_ROOT | grep -oE '"/[^"]*"' | tr -d '"' | sort -u >"$SCRATCH/paths"
	grep -E '(^|/)(ssl|pki|ca-certificates|certs)(/|$)|\.(pem|crt)$' "$SCRATCH/paths" |
		grep -vxE '/usr/lib/ssl/openssl\.cnf' >"$SCRATCH/ca-paths"
	check "strace: op25b opens no certificate file or CA directory by a host path (R's go through the root fd)" \
		test ! -s "$SCRATCH/ca-paths"
	sed 's/^/#   opened: /' "$SCRATCH/ca-paths" | head -n 10
	[ -n "${CATRUST_SHOW_PATHS:-}" ] && sed "s/^/#   host path: /" "$SCRATCH/paths"
	echo "# strace: $(wc -l <"$SCRATCH/paths") distinct paths named by op25b itself; outside R: $(grep -vc "^$R" "$SCRATCH/paths")"
else
	skip "strace: not installed or not permitted"
fi

finish
