#!/bin/bash
# t-probe.sh: `op25b probe` against tests/fake-smtp.py (one scenario per server: well-behaved and
# hostile), then, as root, against a real Postfix + Dovecot SASL on a 127.x address.
#
# Only 127.0.0.0/8 is used; every process started is stopped by its PID; every wait is bounded.
# Prints "ok - ", "FAIL - ", "skip - " lines and "N passed, N failed, N skipped"; exits 1 on failure.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # also when started as `sh t-probe.sh`
set -u
cd "$(dirname "$0")/.." || exit 1
TOP=$PWD
OP25B=${OP25B:-$TOP/op25b}
FAKE=$TOP/tests/fake-smtp.py
PASSED=0 FAILED=0 SKIPPED=0
FAKE_PIDS=()
PF_DIR='' DC_CONF=''

T=$(mktemp -d /tmp/op25b-t-probe.XXXXXX) || exit 1
# Postfix and Dovecot's unprivileged processes must traverse it (only test keys live here).
chmod 755 "$T"

ok()   { PASSED=$((PASSED + 1)); echo "ok - $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $*"; }
skip() { SKIPPED=$((SKIPPED + 1)); echo "skip - $*"; }
# check DESCRIPTION CMD...: ok when CMD succeeds
check() { local d=$1; shift; if "$@" >/dev/null 2>&1; then ok "$d"; else fail "$d"; fi; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# stop_pid PID [SECS]: SIGTERM, bounded wait, then SIGKILL.
stop_pid() {
	local pid=$1 end=$(( $(date +%s) + ${2:-5} ))
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null; do
		[ "$(date +%s)" -ge "$end" ] && { kill -KILL "$pid" 2>/dev/null; break; }
		sleep 0.05
	done
	wait "$pid" 2>/dev/null
	return 0
}

# wait_until SECS CMD...: poll CMD every 50 ms, at most SECS seconds.
wait_until() {
	local end=$(( $(date +%s) + $1 )); shift
	until "$@" 2>/dev/null; do
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.05
	done
}

cleanup() {
	local pid
	for pid in "${FAKE_PIDS[@]}"; do stop_pid "$pid"; done
	[ -n "$PF_DIR" ] && pf_stop
	[ -n "$DC_CONF" ] && dc_stop
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- PKI: a CA and a leaf for 127.0.0.1 / fake.example.test ----
mkpki() { # DIR CN IP
	local d=$1
	mkdir -p "$d" &&
	openssl req -x509 -config "$TOP/tests/lib/ca.cnf" -newkey rsa:2048 -nodes -sha256 -days 2 \
		-subj "/CN=op25b probe test CA" -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null &&
	openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=$2" -keyout "$d/key.pem" \
		-out "$d/req.csr" 2>/dev/null &&
	printf 'subjectAltName=DNS:%s,IP:%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' \
		"$2" "$3" > "$d/ext.cnf" &&
	openssl x509 -req -in "$d/req.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
		-sha256 -extfile "$d/ext.cnf" -out "$d/cert.pem" 2>/dev/null &&
	cat "$d/cert.pem" "$d/ca.pem" > "$d/fullchain.pem"
}
mkpki "$T/pki" fake.example.test 127.0.0.1 || { echo "FAIL - cannot make test certificates"; exit 1; }
# OpenSSL's default CA store is $SSL_CERT_FILE/$SSL_CERT_DIR when set: make it empty, so that the
# results do not depend on the machine; checks that want a trusted CA point SSL_CERT_FILE at it.
: > "$T/no-ca.pem"
export SSL_CERT_FILE=$T/no-ca.pem SSL_CERT_DIR=$T/no-ca.d

# ---- fake server helpers ----
# start_fake SCENARIO [fake-smtp.py options]: sets PORT and FAKE_PID; server log in $T/fake.err
N=0
start_fake() {
	local s=$1; shift
	N=$((N + 1))
	python3 "$FAKE" "$s" --cert "$T/pki/cert.pem" --key "$T/pki/key.pem" --lifetime 20 "$@" \
		> "$T/port.$N" 2> "$T/fake.err" &
	FAKE_PID=$!
	FAKE_PIDS+=("$FAKE_PID")
	PORT=
	if wait_until 10 test -s "$T/port.$N"; then PORT=$(head -1 "$T/port.$N"); fi
	[ -n "$PORT" ]
}

# probe ARGS...: run op25b probe (bounded by timeout(1) too), set RC, MS, $T/out, $T/err
probe() {
	local t0; t0=$(now_ms)
	timeout 60 "$OP25B" probe "$@" > "$T/out" 2> "$T/err"
	RC=$?
	MS=$(( $(now_ms) - t0 ))
}

end_fake() { stop_pid "$FAKE_PID" 5; }

out_has() { grep -qF -- "$1" "$T/out"; }
err_has() { grep -qF -- "$1" "$T/err"; }
# jcheck PYTHON-EXPR: evaluated with d = the JSON object printed by the last probe
jcheck() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' \
		"$T/out" "$1"
}
rc_is() { [ "$RC" -eq "$1" ]; }

# run SCENARIO [fake-smtp.py options] -- PROBE ARGS: start the server, probe it (@PORT@ in the
# probe arguments becomes its port), stop it
run() {
	local s=$1; shift
	local fopts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do fopts+=("$1"); shift; done
	[ "${1:-}" = -- ] && shift
	if ! start_fake "$s" "${fopts[@]}"; then
		fail "$s: fake server did not start"
		RC=99
		return 1
	fi
	probe "${@//@PORT@/$PORT}"
	end_fake
}

[ -x "$OP25B" ] || { echo "FAIL - $OP25B not built (make op25b)"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
# Run a private copy: `make` rewrites ./op25b in place, and valgrind (which maps the binary itself,
# without the kernel's ETXTBSY protection) crashes in odd ways when that happens mid-run.
cp "$OP25B" "$T/op25b" || exit 1
OP25B=$T/op25b

# ---- usage errors: exit 2, nothing contacted ----
for bad in "host:0" "host:65536" "host:99999999999" "host:x" "host name" $'host\nevil' "[::1" "[::1]x" \
	   "999.1.1.1" "" "-bad.example" "a..b"; do
	probe "$bad" --timeout=2
	check "usage: '$(printf %q "$bad")' -> exit 2" rc_is 2
done
probe --timeout=2
check "usage: no HOST -> exit 2" rc_is 2
probe a.example b.example --timeout=2
check "usage: two HOSTs -> exit 2" rc_is 2
probe "host:70000" --timeout=2
check "usage: port out of range is explained" err_has "port out of range 1..65535"
probe $'bad\nhost' --timeout=2
check "usage: a newline in HOST is refused and not echoed" \
	bash -c '[ "$(wc -l < "$1")" -eq 1 ] && grep -q "whitespace or control" "$1"' _ "$T/err"

# ---- well-behaved servers ----
run normal -- "127.0.0.1:@PORT@" --timeout=5 && {
	check "normal: exit 0" rc_is 0
	check "normal: banner" out_has "220 fake.example.test ESMTP fake-smtp"
	check "normal: STARTTLS offered" out_has "STARTTLS:       offered"
	check "normal: no AUTH before TLS" bash -c 'sed -n "/^Before TLS/,/^STARTTLS/p" "$1" | grep -q "AUTH:         (none)"' _ "$T/out"
	check "normal: AUTH PLAIN LOGIN after TLS" bash -c 'sed -n "/^After TLS/,\$p" "$1" | grep -q "AUTH:         PLAIN LOGIN$"' _ "$T/out"
	check "normal: AUTH only after TLS" out_has "offered only after TLS"
	check "normal: certificate subject" out_has "subject:      CN=fake.example.test"
	check "normal: certificate issuer" out_has "issuer:       CN=op25b probe test CA"
	check "normal: notAfter" grep -Eq "not after: +20[0-9]{2}-[0-9]{2}-[0-9]{2}T" "$T/out"
	check "normal: unknown CA reported, not fatal" out_has "verify:       FAILED: unable to get local issuer certificate"
	check "normal: no SNI for an address" grep -q "sni=None" "$T/fake.err"
}

run normal -- "[127.0.0.1]:@PORT@" --json --timeout=5 && {
	check "normal --json: exit 0" rc_is 0
	check "normal --json: one valid JSON object" python3 -m json.tool "$T/out"
	check "normal --json: host and port" jcheck "d['host'] == '127.0.0.1' and d['port'] == $PORT"
	check "normal --json: AUTH before/after" jcheck 'd["before_tls"]["auth"] == [] and d["after_tls"]["auth"] == ["PLAIN", "LOGIN"]'
	check "normal --json: auth_only_after_tls" jcheck 'd["auth_only_after_tls"] is True and d["auth_before_tls"] is False'
	check "normal --json: starttls and tls" jcheck 'd["starttls_offered"] and d["tls"]["version"].startswith("TLS") and d["tls"]["verified"] is False'
	check "normal --json: error null" jcheck 'd["error"] is None and d["address"] == "127.0.0.1"'
	check "normal --json: extensions" jcheck '"STARTTLS" in d["before_tls"]["extensions"] and "SIZE 10240000" in d["after_tls"]["extensions"]'
}

export SSL_CERT_FILE=$T/pki/ca.pem
run normal -- "127.0.0.1:@PORT@" --json --timeout=5 && {
	check "verify: ok against the right CA" jcheck 'd["tls"]["verified"] is True and d["tls"]["verify"] == "ok"'
}
run normal --addr 127.0.0.2 -- "127.0.0.2:@PORT@" --json --timeout=5 && {
	check "verify: wrong IP reported, probe still completes" \
		jcheck 'd["tls"]["verified"] is False and "mismatch" in d["tls"]["verify"] and d["after_tls"]["auth"] == ["PLAIN", "LOGIN"]'
}
if getent ahosts localhost 2>/dev/null | grep -q '^127\.0\.0\.1'; then
	run normal -- "localhost:@PORT@" --json --timeout=5 && {
		check "name: exit 0 (tries each address)" rc_is 0
		check "name: SNI sent" grep -q "sni=localhost" "$T/fake.err"
		# OpenSSL 1.1.1 (Debian 11) says "Hostname mismatch", 3.x "hostname mismatch"
		check "name: host name checked against the certificate" jcheck '"hostname mismatch" in d["tls"]["verify"].lower()'
	}
else
	skip "name: localhost does not resolve to 127.0.0.1"
fi
export SSL_CERT_FILE=$T/no-ca.pem

run auth-before-tls -- "127.0.0.1:@PORT@" --timeout=5 && {
	check "auth-before-tls: exit 0" rc_is 0
	check "auth-before-tls: warns that AUTH is offered in clear" out_has "offered in clear"
	check "auth-before-tls: mechanisms" out_has "mechanisms:   PLAIN LOGIN CRAM-MD5"
}
run auth-before-tls -- "127.0.0.1:@PORT@" --json --timeout=5 && {
	check "auth-before-tls --json" jcheck 'd["auth_before_tls"] is True and d["auth_only_after_tls"] is False and d["before_tls"]["auth"] == ["PLAIN", "LOGIN", "CRAM-MD5"]'
}
run old-auth -- "127.0.0.1:@PORT@" --json --timeout=5 && {
	check "old AUTH= form: exit 0" rc_is 0
	check "old AUTH= form: mechanisms" jcheck 'd["after_tls"]["auth"] == ["LOGIN", "PLAIN"]'
}
run multi-auth -- "127.0.0.1:@PORT@" --timeout=5 && {
	check "several AUTH lines: merged, deduplicated, upper-cased" out_has "mechanisms:   PLAIN LOGIN CRAM-MD5 XOAUTH2"
}
run starttls-refused -- "127.0.0.1:@PORT@" --timeout=5 && {
	check "starttls-refused: exit 0" rc_is 0
	check "starttls-refused: reported" out_has "refused: 454 4.7.0 TLS not available"
}
run no-starttls -- "127.0.0.1:@PORT@" --json --timeout=5 && {
	check "no-starttls: exit 0, no TLS, AUTH in clear" jcheck 'd["tls"] is None and d["starttls_offered"] is False and d["auth_before_tls"] is True'
}

# Port 465 means implicit TLS; binding it needs root (or CAP_NET_BIND_SERVICE).
IP465=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 2))
if [ "$(id -u)" -eq 0 ] && start_fake implicit-tls --addr "$IP465" --port 465 --conns 2; then
	probe "$IP465:465" --timeout=5
	check "implicit-tls (465): exit 0" rc_is 0
	check "implicit-tls (465): says so" out_has "implicit TLS"
	check "implicit-tls (465): mechanisms" out_has "mechanisms:   PLAIN LOGIN"
	check "implicit-tls (465): certificate" out_has "subject:      CN=fake.example.test"
	probe "[$IP465]:465" --json --timeout=5
	check "implicit-tls (465) --json" jcheck 'd["implicit_tls"] and d["before_tls"] is None and d["after_tls"]["auth"] == ["PLAIN", "LOGIN"] and d["auth_only_after_tls"]'
	end_fake
else
	skip "implicit-tls (465): needs root to bind port 465"
fi

# ---- hostile servers: exit 1, a message naming the server and what was expected ----
run not-smtp -- "127.0.0.1:@PORT@" --timeout=10 && {
	check "not-smtp: exit 1" rc_is 1
	check "not-smtp: message" err_has "op25b: probe [127.0.0.1]:$PORT: expected the 220 greeting, got \"HTTP/1.1 400 Bad Request\""
	check "not-smtp: refused at once, not after the timeout" test "$MS" -lt 5000
}
run refuse-554 -- "127.0.0.1:@PORT@" --timeout=5 && {
	check "refuse-554: exit 1 with the server's words" \
		bash -c '[ "$1" = 1 ] && grep -qF "expected the 220 greeting, got: 554 5.7.1" "$2"' _ "$RC" "$T/err"
}
run close-early -- "127.0.0.1:@PORT@" --timeout=5 && {
	check "close-early: exit 1" rc_is 1
	check "close-early: message" err_has "[127.0.0.1]:$PORT: connection closed by the server while waiting for the 220 greeting"
}
run close-after-banner -- "127.0.0.1:@PORT@" --timeout=5 && {
	check "close-after-banner: exit 1, waiting for EHLO reply" \
		bash -c '[ "$1" = 1 ] && grep -qF "connection closed by the server while waiting for the reply to EHLO" "$2"' _ "$RC" "$T/err"
}
run ehlo-refused -- "127.0.0.1:@PORT@" --timeout=5 && {
	check "ehlo-refused: exit 1, reply shown" \
		bash -c '[ "$1" = 1 ] && grep -qF "EHLO refused: 502 5.5.2" "$2"' _ "$RC" "$T/err"
}
run garbage -- "127.0.0.1:@PORT@" --timeout=10 && {
	check "garbage: exit 1" rc_is 1
	check "garbage: message, binary escaped" err_has 'expected the 220 greeting, got "\x00\x01\x02'
	check "garbage: refused at once" test "$MS" -lt 5000
}
run garbage-partial -- "127.0.0.1:@PORT@" --timeout=10 && {
	check "garbage-partial (no newline): exit 1 at once" bash -c '[ "$1" = 1 ] && [ "$2" -lt 5000 ]' _ "$RC" "$MS"
	check "garbage-partial: message" err_has "not SMTP"
}
run endless -- "127.0.0.1:@PORT@" --timeout=10 && {
	check "endless multi-line: exit 1" rc_is 1
	check "endless multi-line: message" err_has "reply longer than 200 lines or 64 KiB while waiting for the reply to EHLO"
}
run long-line -- "127.0.0.1:@PORT@" --timeout=10 && {
	check "over-long line: exit 1" rc_is 1
	check "over-long line: message" err_has "reply line longer than 4096 bytes while waiting for the reply to EHLO"
}
run stall -- "127.0.0.1:@PORT@" --timeout=2 && {
	check "stall: exit 1" rc_is 1
	check "stall: message names host and what was expected" err_has "op25b: probe [127.0.0.1]:$PORT: timed out after 2 s waiting for the 220 greeting"
	check "stall: the timeout is kept (2..6 s, took ${MS} ms)" bash -c '[ "$1" -ge 1900 ] && [ "$1" -lt 6000 ]' _ "$MS"
}
run stall-ehlo -- "127.0.0.1:@PORT@" --timeout=2 && {
	check "stall after EHLO: message" err_has "timed out after 2 s waiting for the reply to EHLO"
}
run stall -- "127.0.0.1:@PORT@" --timeout=2 --json && {
	check "stall --json: exit 1 and an object with the error" \
		bash -c '[ "$1" = 1 ]' _ "$RC"
	check "stall --json: error field" jcheck '"timed out after 2 s" in d["error"] and d["banner"] is None'
}
run injection -- "127.0.0.1:@PORT@" --timeout=5 && {
	check "STARTTLS response injection: refused" \
		bash -c '[ "$1" = 1 ] && grep -qF "after its 220 reply to STARTTLS" "$2"' _ "$RC" "$T/err"
}
run tls-garbage -- "127.0.0.1:@PORT@" --timeout=5 && {
	check "not TLS after STARTTLS: exit 1, handshake failure" \
		bash -c '[ "$1" = 1 ] && grep -qF "TLS handshake failed" "$2"' _ "$RC" "$T/err"
}

# A port nobody listens on: a server that exited frees its port.
start_fake stall --lifetime 1 --conns 0 && { end_fake; probe "127.0.0.1:$PORT" --timeout=5; }
check "connection refused: exit 1 with the cause" \
	bash -c '[ "$1" = 1 ] && grep -qF "cannot connect: Connection refused" "$2"' _ "$RC" "$T/err"

# ---- valgrind (when installed): no leaks or errors, on success and on failure paths ----
if command -v valgrind >/dev/null; then
	VG="valgrind -q --leak-check=full --errors-for-leak-kinds=definite,possible --error-exitcode=9"
	for s in normal endless stall-ehlo not-smtp; do
		if start_fake "$s"; then
			timeout 60 $VG "$OP25B" probe "127.0.0.1:$PORT" --timeout=5 --json > "$T/out" 2> "$T/err"
			RC=$?
			end_fake
			check "valgrind clean: $s (exit $RC)" bash -c '[ "$1" -ne 9 ] && ! grep -q "==[0-9]*==" "$2"' _ "$RC" "$T/err"
		else
			fail "valgrind: $s: fake server did not start"
		fi
	done
else
	skip "valgrind not installed"
fi

# ---- a real Postfix (submission 587 with smtpd_tls_auth_only, smtps 465) + Dovecot SASL ----
pf_stop() {
	local pid
	pid=$(awk 'NR==1{print $1}' "$T/pf/spool/pid/master.pid" 2>/dev/null)
	[ -n "$pid" ] || return 0
	stop_pid "$pid" 10
	kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null
	return 0
}
dc_stop() {
	local pid
	pid=$(cat "$T/dc/run/master.pid" 2>/dev/null)
	[ -n "$pid" ] && stop_pid "$pid" 10
	return 0
}

real_postfix() {
	local IP=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 2))
	local PF=$T/pf/etc DCC=$T/dc/dovecot.conf
	mkpki "$T/pf/pki" smtp.isp.example.test "$IP" || return 1
	chmod 755 "$T/pf/pki"; chmod 644 "$T/pf/pki/fullchain.pem"; chmod 600 "$T/pf/pki/key.pem"
	mkdir -p "$PF" "$T/pf/spool" "$T/pf/data" "$T/pf/log" "$T/dc/run" "$T/dc/state"
	cp /etc/postfix/master.cf "$PF/master.cf" || return 1
	postconf -c "$PF" -F '*/*/chroot = n'
	cat > "$PF/main.cf" <<-EOF
	compatibility_level = 3.6
	queue_directory = $T/pf/spool
	data_directory = $T/pf/data
	mail_owner = postfix
	setgid_group = postdrop
	myhostname = smtp.isp.example.test
	inet_interfaces = 127.0.0.1
	inet_protocols = ipv4
	mynetworks = $IP/32
	smtpd_peername_lookup = no
	maillog_file_prefixes = $T
	maillog_file = $T/pf/log/postfix.log
	alias_maps =
	alias_database =
	biff = no
	smtpd_banner = \$myhostname ESMTP op25b-test
	smtpd_tls_cert_file = $T/pf/pki/fullchain.pem
	smtpd_tls_key_file = $T/pf/pki/key.pem
	smtpd_tls_security_level = may
	smtpd_tls_auth_only = yes
	smtpd_sasl_type = dovecot
	smtpd_sasl_path = private/auth
	EOF
	postconf -c "$PF" -MX smtp/inet
	postconf -c "$PF" -M 'submission/inet=submission inet n - n - - smtpd' \
		'smtps/inet=smtps inet n - n - - smtpd'
	postconf -c "$PF" -P 'submission/inet/smtpd_sasl_auth_enable=yes' \
		'smtps/inet/smtpd_sasl_auth_enable=yes' 'smtps/inet/smtpd_tls_wrappermode=yes'
	# every inet service on our address only
	sed -E -i "s/^(submission|smtps)([[:space:]]+inet[[:space:]])/$IP:\1\2/" "$PF/master.cf"
	chown postfix "$T/pf/data"
	# Dovecot 2.4 (Debian 13): the version line first, named passdb/userdb blocks.
	local v24 dbs
	v24=$(dovecot --version | sed -n 's/^\(2\.[4-9][.0-9]*\).*/\1/p')
	if [ -n "$v24" ]; then
		printf 'dovecot_config_version = %s\ndovecot_storage_version = %s\n' "$v24" "$v24" > "$DCC"
		dbs="passdb passwd-file {
	  passwd_file_path = $T/dc/users
	  default_password_scheme = PLAIN
	}
	userdb static {
	  fields {
	    uid = 5000
	    gid = 5000
	    home = $T/dc/home/%{user}
	  }
	}"
	else
		: > "$DCC"
		dbs="passdb {
	  driver = passwd-file
	  args = scheme=PLAIN username_format=%n $T/dc/users
	}
	userdb {
	  driver = static
	  args = uid=5000 gid=5000 home=$T/dc/home/%n
	}"
	fi
	cat >> "$DCC" <<-EOF
	instance_name = op25b-t-probe-$$
	base_dir = $T/dc/run
	state_dir = $T/dc/state
	log_path = $T/dc/dovecot.log
	protocols =
	listen = $IP
	ssl = no
	auth_mechanisms = plain login
	$dbs
	service auth {
	  unix_listener $T/pf/spool/private/auth {
	    mode = 0660
	    user = postfix
	    group = postfix
	  }
	}
	EOF
	echo 'homeuser:{PLAIN}isppass' > "$T/dc/users"
	chgrp dovecot "$T/dc/users" 2>/dev/null; chmod 640 "$T/dc/users"

	touch -d '-10 sec' "$PF/main.cf"   # Postfix waits for a main.cf younger than 2 s
	PF_DIR=$PF
	script -qec "postfix -c $PF start" /dev/null > "$T/pf/start.log" 2>&1 ||
		{ echo "# postfix start failed:"; sed 's/^/#   /' "$T/pf/start.log"; return 1; }
	wait_until 10 test -s "$T/pf/spool/pid/master.pid" || return 1
	DC_CONF=$DCC
	dovecot -c "$DCC" || return 1
	wait_until 10 test -s "$T/dc/run/master.pid" || return 1
	wait_until 10 test -S "$T/pf/spool/private/auth" || return 1
	wait_until 10 bash -c "exec 3<>/dev/tcp/$IP/587" || return 1
	wait_until 10 bash -c "exec 3<>/dev/tcp/$IP/465" || return 1
	REAL_IP=$IP
}

if [ "$(id -u)" -ne 0 ]; then
	skip "real Postfix: needs root"
elif ! command -v postfix >/dev/null || ! command -v dovecot >/dev/null || ! command -v script >/dev/null ||
     [ ! -f /etc/postfix/master.cf ]; then
	skip "real Postfix: postfix, dovecot or script(1) not installed"
elif ! real_postfix; then
	fail "real Postfix: could not start Postfix/Dovecot on 127.x (see $T/pf/log)"
	sed 's/^/#   /' "$T/pf/log/postfix.log" "$T/dc/dovecot.log" 2>/dev/null | tail -20
else
	export SSL_CERT_FILE=$T/pf/pki/ca.pem
	probe "$REAL_IP:587" --timeout=10
	echo "# op25b probe $REAL_IP:587 against Postfix $(postconf -dh mail_version):"
	sed 's/^/#   /' "$T/out" "$T/err"
	check "Postfix 587: exit 0" rc_is 0
	check "Postfix 587: banner" out_has "220 smtp.isp.example.test ESMTP op25b-test"
	check "Postfix 587: STARTTLS offered, no AUTH in clear (smtpd_tls_auth_only)" \
		bash -c 'grep -q "STARTTLS:       offered" "$1" && sed -n "/^Before TLS/,/^STARTTLS/p" "$1" | grep -q "AUTH:         (none)"' _ "$T/out"
	check "Postfix 587: AUTH PLAIN LOGIN after TLS" out_has "mechanisms:   PLAIN LOGIN"
	check "Postfix 587: AUTH only after TLS" out_has "offered only after TLS"
	check "Postfix 587: certificate verified (CA + IP SAN)" out_has "verify:       ok"
	probe "$REAL_IP:587" --timeout=10 --json
	check "Postfix 587 --json" jcheck 'd["before_tls"]["auth"] == [] and d["after_tls"]["auth"] == ["PLAIN", "LOGIN"] and d["auth_only_after_tls"] and d["tls"]["verified"] and d["tls"]["subject"] == "CN=smtp.isp.example.test"'
	probe "$REAL_IP:465" --timeout=10 --json
	echo "# op25b probe $REAL_IP:465 --json:"
	sed 's/^/#   /' "$T/out" "$T/err"
	check "Postfix 465 (smtps wrappermode): implicit TLS, AUTH PLAIN LOGIN" \
		jcheck 'd["implicit_tls"] and d["banner"].startswith("smtp.isp.example.test") and d["after_tls"]["auth"] == ["PLAIN", "LOGIN"] and d["tls"]["verified"]'
	# the system store does not know the test CA, which Postfix sends along (fullchain.pem);
	# OpenSSL 1.1.1 (Debian 11) says "self signed", 3.x "self-signed"
	export SSL_CERT_FILE=$T/no-ca.pem
	probe "$REAL_IP:587" --timeout=10 --json
	check "Postfix 587 without the CA: verify failure reported, exit 0" \
		jcheck 'd["error"] is None and d["tls"]["verified"] is False and d["tls"]["verify"].replace("self signed", "self-signed") == "self-signed certificate in certificate chain"'
fi

echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" -eq 0 ]
