#!/bin/bash
# The machine in the middle, for real (issue 13 §2): a home Postfix relaying to the ISP's Postfix +
# Dovecot (587, STARTTLS, SASL), both from alternate config dirs in a private network and mount
# namespace, and a fake relay (tests/e2e/fake-relay.py) with a self-signed certificate for another
# name that accepts any password and records every byte it is sent, TLS or not. The relay's name,
# smtp.isp.example.test, is resolved through an /etc/hosts of this namespace: pointing it at the
# fake relay is the attack. The REAL ./op25b applies submission with each --relay-tls level:
#   - secure (the default) refuses before writing anything when the name leads to the fake relay,
#     and says what failed and the two ways forward; applied against the real relay, Postfix then
#     relays there, and defers (nothing sent) when the name leads to the fake one;
#   - fingerprint pins the REAL relay's public key: mail reaches the real relay, the fake one gets
#     no AUTH and no password;
#   - encrypt is applied only when asked, with a warning, and the fake relay does get the password
#     (the finding, reproduced: it shows the fake relay would have seen it in the other cases);
#   - verify --send-test sends no AUTH to a server whose certificate is not the configured one.
# Run under the services lock: flock /tmp/op25b-services.lock bash tests/t-mitm.sh
# shellcheck disable=SC1091

if [ "$(id -u)" = 0 ] && [ -z "${OP25B_MITM_NS:-}" ] && unshare --net --mount true 2>/dev/null; then
	exec unshare --net --mount env OP25B_MITM_NS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib/testlib.sh"
T0=$(date +%s%N)
wall() { echo "# wall time: $((($(date +%s%N) - T0) / 1000000)) ms"; }
skip_all() { skip "$*"; wall; finish; exit 0; }

[ "$(id -u)" = 0 ] || skip_all "mitm: not root (real Postfix and Dovecot instances need root)"
[ -n "${OP25B_MITM_NS:-}" ] || skip_all "mitm: cannot make a private network and mount namespace (unshare --net --mount)"
[ -x "$OP25B" ] || skip_all "mitm: $OP25B is not built (make op25b)"
for c in postfix postconf postmap postqueue postsuper dovecot doveconf swaks openssl python3 script ip timeout base64; do
	command -v "$c" >/dev/null || skip_all "mitm: $c is not installed"
done
perl -MNet::SSLeay -e 1 2>/dev/null || skip_all "mitm: swaks cannot speak TLS without Net::SSLeay (libnet-ssleay-perl)"
[ -f /usr/share/postfix/master.cf.dist ] || skip_all "mitm: no stock /usr/share/postfix/master.cf.dist"
getent passwd postfix dovecot dovenull >/dev/null || skip_all "mitm: the postfix/dovecot users are missing"
compgen -G '/usr/lib*/sasl2/libplain.so' >/dev/null || compgen -G '/usr/lib/*/sasl2/libplain.so' >/dev/null ||
	skip_all "mitm: no Cyrus SASL client plugins (libsasl2-modules): Postfix cannot log in to the ISP"

E2E=$SCRATCH/e2e
mkdir -p "$E2E" && chmod 755 "$E2E"
export E2E
HERE=$TOP/tests/e2e
. "$HERE/env.sh"
. "$HERE/servers.sh"
FAKE_IP=127.77.25.4 RELAY=smtp.isp.example.test
FAKE_PID=

stop_all() {
	[ -n "$FAKE_PID" ] && stop_pid "$FAKE_PID"
	pf_stop "$H"; dc_stop "$H"; pf_stop "$I"; dc_stop "$I"
}
trap 'stop_all; cleanup_scratch' EXIT
trap 'exit 130' INT TERM

ip link set lo up
for a in "$HOME_IP" "$ISP_IP" "$FAKE_IP"; do ip addr add "$a/32" dev lo; done
# This namespace's /etc/hosts (a bind mount, private to the mount namespace): the relay's name
# leads where the test says. Rewritten in place, so the bind mount keeps showing it.
printf '127.0.0.1 localhost\n' >"$E2E/hosts"
mount --bind "$E2E/hosts" /etc/hosts || skip_all "mitm: cannot bind-mount a private /etc/hosts"
relay_at() { printf '127.0.0.1 localhost\n%s %s\n' "$1" "$RELAY" >"$E2E/hosts"; }

HOME_LOG=$H/log/postfix.log ISP_LOG=$I/log/postfix.log FAKE_LOG=$E2E/fake.bin
STATE=$E2E/state
COMMON=(--postfix-dir="$HPF" --dovecot-dir="$HDD" --state-dir="$STATE" --no-restart --no-firewall --timeout=10)
SUB=(apply --mode=submission --relayhost="$RELAY" --relay-user=homeuser --relay-password-file="$E2E/secret/isp.pw")
OUT=$SCRATCH/out
note() { sed 's/^/#   /' "$@"; }
has() { grep -qE -- "$1" "$OUT"; }
op() { "$OP25B" "$@" "${COMMON[@]}" >"$OUT" 2>&1; }
pf() { postconf -c "$HPF" -h "$1"; }
# What the fake relay would have learnt: any AUTH command, the credentials in base64 (PLAIN, with or
# without an authorization identity, and LOGIN), or the password itself.
PLAIN64=$(printf '\0homeuser\0isppass' | base64) PLAIN64B=$(printf 'homeuser\0homeuser\0isppass' | base64)
LOGIN64=$(printf 'isppass' | base64) ALICE64=$(printf '\0alice\0alicepw' | base64)
fake_learnt_nothing() { ! grep -aqiE "AUTH |$PLAIN64|$PLAIN64B|$LOGIN64|isppass|$ALICE64|alicepw" "$FAKE_LOG"; }
# send SUBJECT: a message for the ISP's domain, submitted to the home server; prints its queue ID.
send() {
	timeout 25 swaks --timeout 10 --server "$HOME_IP" --port 25 --from alice@home.example.test --to bob@remote.example \
		--h-Subject "$1" 2>&1 | sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p' | tail -n 1
}
# fate QID: the delivery status line of QID in the home log (waits at most 20 s).
fate() {
	[ -n "$1" ] && wait_log "$HOME_LOG" "$1: to=.*status=(sent|deferred|bounced)" 20 >/dev/null &&
		grep -E "$1: to=.*status=" "$HOME_LOG" | tail -n 1
}
# flush QID: let the queue manager try QID again now, and wait for a newer status line.
flush() {
	local n; n=$(grep -c "$1: to=.*status=" "$HOME_LOG")
	postqueue -c "$HPF" -i "$1" 2>/dev/null || postqueue -c "$HPF" -f
	local t=$(($(date +%s) + 20))
	until [ "$(grep -c "$1: to=.*status=" "$HOME_LOG")" -gt "$n" ]; do [ "$(date +%s)" -ge "$t" ] && break; sleep 0.1; done
	grep -E "$1: to=.*status=" "$HOME_LOG" | tail -n 1
}
in_sink() { # TEXT: the ISP's sink maildir receives a message holding TEXT within 15 s
	local t=$(($(date +%s) + 15))
	until grep -rlqF -- "$1" "$I/mail/sink/new" 2>/dev/null; do [ "$(date +%s)" -ge "$t" ] && return 1; sleep 0.1; done
}
pubkey_fp() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -c | awk '{print toupper($2)}'; }

# ---------------------------------------------------------------- fixtures and servers
bash "$HERE/pki.sh" "$PKI" "home:mail.home.example.test:$HOME_IP" "isp:$RELAY:$ISP_IP" >/dev/null ||
	skip_all "mitm: cannot make the test PKI"
mkdir -p "$E2E/fake"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj "/CN=mitm.attacker.test" \
	-addext "subjectAltName=DNS:mitm.attacker.test" -keyout "$E2E/fake/key.pem" -out "$E2E/fake/cert.pem" 2>/dev/null ||
	skip_all "mitm: cannot make the fake relay's certificate"
bash "$HERE/setup.sh" home && bash "$HERE/setup.sh" isp || skip_all "mitm: cannot write the fixtures"
# The home machine trusts the CA that signed the ISP's certificate (as a distribution's bundle
# holds the public CAs), resolves names through /etc/hosts, and retries deferred mail at once.
postconf -c "$HPF" -e "smtp_tls_CAfile = $PKI/ca.pem" 'smtp_host_lookup = native' 'smtp_connection_cache_on_demand = no' \
	'minimal_backoff_time = 1s' 'maximal_backoff_time = 2s' 'queue_run_delay = 1s'
mkdir -p "$E2E/secret"
printf 'isppass\n' >"$E2E/secret/isp.pw"; printf 'alicepw\n' >"$E2E/secret/alice.pw"
chmod 600 "$E2E/secret"/*.pw
cp -a "$H/etc" "$SCRATCH/home-etc.orig"

python3 "$HERE/fake-relay.py" "$FAKE_IP" 587 "$E2E/fake/cert.pem" "$E2E/fake/key.pem" "$FAKE_LOG" 600 &
FAKE_PID=$!
if pf_start "$I" && dc_start "$I" && pf_start "$H" && dc_start "$H" &&
	wait_port "$ISP_IP" 587 && wait_port "$HOME_IP" 25 && wait_port "$FAKE_IP" 587; then
	ok "servers up: home 25, ISP 587, the fake relay 587"
else
	fail "servers did not start"; note "$H/log/"* "$I/log/"* 2>/dev/null; wall; finish; exit 1
fi
: >"$FAKE_LOG"

# ---------------------------------------------------------------- 1. secure, the name leads to the fake relay
relay_at "$FAKE_IP"
op "${SUB[@]}"; rc=$?
note "$OUT"
check "secure (default), the relay's name leads to the fake relay: apply exits 2" test "$rc" = 2
check "... it says the name does not match (naming the certificate's) and the issuer is unknown" \
	has "certificate does not verify: the name does not match \(it is for mitm.attacker.test\), its issuer is unknown"
check "... and the two ways forward: --relay-tls=fingerprint (with the key it saw) or --relay-tls=encrypt" \
	bash -c "grep -q -- '--relay-tls=fingerprint pins the public key it presents now, sha256 $(pubkey_fp "$E2E/fake/cert.pem")' '$OUT' &&
		grep -q -- '--relay-tls=encrypt checks nothing' '$OUT'"
check "... nothing written: the home configuration is byte for byte as before, no journal" \
	bash -c "diff -r '$SCRATCH/home-etc.orig' '$H/etc' && test ! -e '$STATE'"
check "... the fake relay learnt nothing (op25b's probe never authenticates)" fake_learnt_nothing

# ---------------------------------------------------------------- 2. secure, applied against the real relay
relay_at "$ISP_IP"
if op "${SUB[@]}" --cert="$PKI/home/fullchain.pem" --key="$PKI/home/privkey.pem"; then
	ok "secure, the name leads to the real relay: apply exit 0"
else fail "secure against the real relay"; fi
note "$OUT"
check "... it says the certificate verified" has "^$RELAY: certificate verified"
check "... main.cf: secure, the CAs main.cf already named kept, relayhost by name" \
	test "$(pf smtp_tls_security_level)|$(pf smtp_tls_CAfile)|$(pf relayhost)" = "secure|$PKI/ca.pem|[$RELAY]:587"
pf_reload "$H"; dc_reload "$H"; sleep 0.5
q=$(send mitm-secure-real); f=$(fate "$q")
echo "#   home: $f"
check "secure: mail relayed to the real relay (status=sent)" grep -q "relay=$RELAY\[$ISP_IP\]:587.*status=sent" <<<"$f"
check "... the real relay saw homeuser log in" grep -q 'sasl_method=PLAIN, sasl_username=homeuser' "$ISP_LOG"
check "... Postfix logged a Verified TLS connection to it" grep -q "Verified TLS connection established to $RELAY\[$ISP_IP\]:587" "$HOME_LOG"
relay_at "$FAKE_IP"
q=$(send mitm-secure-fake); f=$(fate "$q")
echo "#   home: $f"
# (Postfix 3.5, Debian 11, says "not trusted"; 3.7 and later "not verified".)
check "secure: the name now leads to the fake relay: Postfix defers (certificate not verified)" \
	grep -qE "relay=$RELAY\[$FAKE_IP\]:587.*status=deferred \(Server certificate not (verified|trusted)\)" <<<"$f"
check "... the fake relay learnt nothing" fake_learnt_nothing

# ---------------------------------------------------------------- 3. fingerprint of the REAL relay's key
relay_at "$ISP_IP"
real_fp=$(pubkey_fp "$PKI/isp/cert.pem")
if op "${SUB[@]}" --relay-tls=fingerprint; then ok "fingerprint, pinned from the real relay: apply exit 0"
else fail "fingerprint apply"; fi
note "$OUT"
check "... it prints the real relay's public-key fingerprint to compare ($real_fp)" has "pinning the relay's public key, sha256 $real_fp"
check "... main.cf: fingerprint, sha256, that key" \
	test "$(pf smtp_tls_security_level)|$(pf smtp_tls_fingerprint_digest)|$(pf smtp_tls_fingerprint_cert_match)" = "fingerprint|sha256|$real_fp"
pf_reload "$H"; sleep 0.5
postsuper -c "$HPF" -d ALL >/dev/null 2>&1
relay_at "$FAKE_IP"
q=$(send mitm-fingerprint); f=$(fate "$q")
echo "#   home: $f"
check "fingerprint: the name leads to the fake relay: Postfix defers" grep -q "relay=$RELAY\[$FAKE_IP\]:587.*status=deferred" <<<"$f"
check "... the fake relay learnt nothing" fake_learnt_nothing
relay_at "$ISP_IP"
f=$(flush "$q")
echo "#   home: $f"
check "fingerprint: the name back on the real relay: the same message is sent there" grep -q "relay=$RELAY\[$ISP_IP\]:587.*status=sent" <<<"$f"
check "... it arrived in the ISP's sink" in_sink 'Subject: mitm-fingerprint'
check "... the fake relay still learnt nothing" fake_learnt_nothing

# A pin is not renewed silently: the name leads to the fake relay while applying again.
relay_at "$FAKE_IP"
op "${SUB[@]}" --relay-tls=fingerprint
check "fingerprint applied again against another key: warns that the pinned key changed" \
	has "warning: the relay's key is not the one pinned before \($real_fp\): pinning $(pubkey_fp "$E2E/fake/cert.pem") instead"
relay_at "$ISP_IP"
op "${SUB[@]}" --relay-tls=fingerprint

# ---------------------------------------------------------------- 4. verify --send-test and the fake server
# The home server answers 587 with the configured certificate; the fake relay does not.
pf_reload "$H"; wait_port "$HOME_IP" 587
"$OP25B" verify --host="$FAKE_IP" --send-test=bob@remote.example --user=alice --password-file="$E2E/secret/alice.pw" \
	--postfix-dir="$HPF" --dovecot-dir="$HDD" --state-dir="$STATE" --timeout=10 >"$OUT" 2>&1; rc=$?
note "$OUT"
check "verify --send-test against a server with another certificate: exit 1, FAIL send-test, no AUTH sent" \
	bash -c "[ $rc = 1 ] && grep -q '^FAIL send-test to bob@remote.example: 587: not sending the password: ' '$OUT'"
check "... the fake server learnt nothing (no AUTH, not alice's password)" fake_learnt_nothing
"$OP25B" verify --host="$HOME_IP" --send-test=bob@remote.example --user=alice --password-file="$E2E/secret/alice.pw" \
	--postfix-dir="$HPF" --dovecot-dir="$HDD" --state-dir="$STATE" --timeout=20 >"$OUT" 2>&1; rc=$?
check "control: verify --send-test against the home server (the configured certificate): AUTH, queued" \
	has '^ok send-test to bob@remote.example queued as'
note "$OUT"

# ---------------------------------------------------------------- 5. encrypt: only when asked, with a warning
relay_at "$ISP_IP"
op "${SUB[@]}" --relay-tls=encrypt; rc=$?
note "$OUT"
check "encrypt, asked for: exit 0, a warning that the password can be intercepted" \
	bash -c "[ $rc = 0 ] && grep -q '^op25b: warning: --relay-tls=encrypt: .*anyone in the middle can read the ISP password' '$OUT'"
check "... main.cf: encrypt" test "$(pf smtp_tls_security_level)" = encrypt
pf_reload "$H"; sleep 0.5
postsuper -c "$HPF" -d ALL >/dev/null 2>&1
relay_at "$FAKE_IP"
q=$(send mitm-encrypt); f=$(fate "$q")
echo "#   home: $f"
check "encrypt: the fake relay gets the ISP password (the finding: what secure and fingerprint prevent)" \
	grep -aqE "$PLAIN64|$PLAIN64B|$LOGIN64" "$FAKE_LOG"

# ---------------------------------------------------------------- revert
relay_at "$ISP_IP"
if "$OP25B" revert "${COMMON[@]}" >"$OUT" 2>&1; then ok "revert exit 0"; else fail "revert"; note "$OUT"; fi
check "revert: the home configuration is byte for byte as before" diff -r "$SCRATCH/home-etc.orig" "$H/etc"

pids="$(pf_pid "$H") $(dc_pid "$H") $(pf_pid "$I") $(dc_pid "$I") $FAKE_PID"
stop_all
FAKE_PID=
left=""
for p in $pids; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
check "every server and the fake relay stopped by PID (${pids// /, })" test -z "$left"
wall
finish
