#!/bin/bash
# End to end with the real servers: a home Postfix + Dovecot and an ISP Postfix + Dovecot (587,
# STARTTLS, SASL) from alternate config dirs on 127.77.25.x, in a private network namespace (the
# loopback there is ours alone). The REAL ./op25b applies smtps, then submission (relaying through a
# wire tap to the ISP), verifies, and reverts; the servers are started, reloaded and stopped here by
# PID. Checks are made over the wire: swaks, openssl s_client, curl (IMAPS/POP3S), the servers'
# logs, the tap's bytes, and `op25b verify`. Wrong-password cases come last (Dovecot delays the next
# login after a failure). Prints "N passed, N failed, N skipped" last.
# shellcheck disable=SC1091

# A network namespace of our own first (before testlib makes its scratch dir): nothing here can
# reach or disturb the host's network, and the addresses cannot clash.
if [ "$(id -u)" = 0 ] && [ -z "${OP25B_E2E_NETNS:-}" ] && unshare --net true 2>/dev/null; then
	exec unshare --net env OP25B_E2E_NETNS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib/testlib.sh"
T0=$(date +%s%N)
wall() { echo "# wall time: $((($(date +%s%N) - T0) / 1000000)) ms"; }
skip_all() { skip "$*"; wall; finish; exit 0; }

[ "$(id -u)" = 0 ] || skip_all "e2e: not root (real Postfix and Dovecot instances need root)"
[ -n "${OP25B_E2E_NETNS:-}" ] || skip_all "e2e: cannot make a private network namespace (unshare --net)"
[ -x "$OP25B" ] || skip_all "e2e: $OP25B is not built (make op25b)"
for c in postfix postconf postmap dovecot doveconf swaks openssl curl python3 script ip timeout base64; do
	command -v "$c" >/dev/null || skip_all "e2e: $c is not installed"
done
perl -MNet::SSLeay -e 1 2>/dev/null || skip_all "e2e: swaks cannot speak TLS without Net::SSLeay (libnet-ssleay-perl)"
[ -f /usr/share/postfix/master.cf.dist ] || skip_all "e2e: no stock /usr/share/postfix/master.cf.dist"
getent passwd postfix dovecot dovenull >/dev/null || skip_all "e2e: the postfix/dovecot users are missing"
compgen -G '/usr/lib*/sasl2/libplain.so' >/dev/null || compgen -G '/usr/lib/*/sasl2/libplain.so' >/dev/null ||
	skip_all "e2e: no Cyrus SASL client plugins (libsasl2-modules): Postfix cannot log in to the ISP"

E2E=$SCRATCH/e2e
mkdir -p "$E2E" && chmod 755 "$E2E"
export E2E
HERE=$TOP/tests/e2e
. "$HERE/env.sh"
. "$HERE/servers.sh"
TAP_PID=

stop_all() {
	[ -n "$TAP_PID" ] && stop_pid "$TAP_PID"
	pf_stop "$H"; dc_stop "$H"; pf_stop "$I"; dc_stop "$I"
}
trap 'stop_all; cleanup_scratch' EXIT
trap 'exit 130' INT TERM

ip link set lo up
for a in "$HOME_IP" "$ISP_IP" "$TAP_IP"; do ip addr add "$a/32" dev lo; done

HOME_LOG=$H/log/postfix.log ISP_LOG=$I/log/postfix.log
CERT=$PKI/home/fullchain.pem KEY=$PKI/home/privkey.pem
STATE=$E2E/state
COMMON=(--postfix-dir="$HPF" --dovecot-dir="$HDD" --state-dir="$STATE")
OUT=$SCRATCH/out
SW=(timeout 25 swaks --timeout 10 --from alice@home.example.test)
note() { sed 's/^/#   /' "$@"; }
has() { grep -qE -- "$1" "$OUT"; }
# The queue ID in swaks' (or verify's) output, and what the log finally says about it.
qid() { sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p' "$OUT" | tail -n 1; }
fate() { # LOG QID: the delivery status line, waiting at most 20 s
	[ -n "$2" ] && wait_log "$1" "$2: to=.*status=(sent|deferred|bounced)" 20 >/dev/null &&
		grep -E "$2: to=.*status=" "$1" | tail -n 1
}
# The SHA-256 fingerprint of the certificate served on IP:PORT, and of the first one in a file.
served_fp() { timeout 10 openssl s_client -connect "$1:$2" -servername mail.home.example.test </dev/null 2>/dev/null |
	openssl x509 -noout -fingerprint -sha256 2>/dev/null; }
file_fp() { openssl x509 -in "$1" -noout -fingerprint -sha256; }
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
# in_maildir DIR TEXT: a message holding TEXT arrives in maildir DIR/new within 15 s.
in_maildir() {
	local t=$(($(date +%s) + 15))
	until grep -rlqF -- "$2" "$1/new" 2>/dev/null; do [ "$(date +%s)" -ge "$t" ] && return 1; sleep 0.1; done
}
op() { "$OP25B" "$@" "${COMMON[@]}" >"$OUT" 2>&1; }

# ---------------------------------------------------------------- usage (nothing runs)
usage() { "$OP25B" verify "$@" >"$OUT" 2>&1; [ $? = 2 ] && grep -q '^op25b: .*\(--\|verify\)' "$OUT"; }
check "verify --send-test without --user: exit 2" usage --send-test=a@example.test --password-stdin
check "verify --send-test without a password source: exit 2" usage --send-test=a@example.test --user=a
check "verify --send-test with both password sources: exit 2" usage --send-test=a@example.test --user=a --password-stdin --password-file=/x
check "verify --send-test=not-an-address: exit 2" usage --send-test=nobody --user=a --password-stdin
check "verify --user without --send-test: exit 2" usage --user=a
check "apply --send-test: exit 2 (an option of verify)" bash -c "'$OP25B' apply --mode=smtps --cert=/a --key=/b --send-test=a@b.c >/dev/null 2>&1; [ \$? = 2 ]"

# ---------------------------------------------------------------- fixtures, servers before op25b
bash "$HERE/pki.sh" "$PKI" "home:mail.home.example.test:$HOME_IP" "isp:smtp.isp.example.test:$ISP_IP" >/dev/null ||
	skip_all "e2e: cannot make the test PKI"
bash "$HERE/setup.sh" home && bash "$HERE/setup.sh" isp || skip_all "e2e: cannot write the fixtures"
cp -a "$H/etc" "$SCRATCH/home-etc.orig"
mkdir -p "$E2E/secret"
printf 'isppass\n' >"$E2E/secret/isp.pw"; printf 'WRONG-isp\n' >"$E2E/secret/isp-wrong.pw"
printf 'alicepw\n' >"$E2E/secret/alice.pw"
chmod 600 "$E2E/secret"/*.pw

# Postfix first: Dovecot's auth listener lives in Postfix's queue directory.
if pf_start "$I" && dc_start "$I" && pf_start "$H" && dc_start "$H" &&
	wait_port "$ISP_IP" 587 && wait_port "$HOME_IP" 25 && wait_port "$HOME_IP" 143; then
	ok "servers up before op25b: home 25/143, ISP 587"
else
	fail "servers did not start"; note "$H/log/"* "$I/log/"* 2>/dev/null; wall; finish; exit 1
fi
before_ports=""
for p in 465 587 993 995; do port_open "$HOME_IP" $p && before_ports="$before_ports $p"; done
check "before op25b: 465, 587, 993, 995 closed on the home server" test -z "$before_ports"
"$OP25B" verify --host="$HOME_IP" "${COMMON[@]}" >"$OUT" 2>&1; rc=$?
check "before op25b: verify fails (exit 1: nothing applied)" bash -c "[ $rc = 1 ] && grep -q 'applied nothing' '$OUT'"

# ---------------------------------------------------------------- smtps
if op apply --mode=smtps --cert="$CERT" --key="$KEY" --no-restart --no-firewall; then ok "apply --mode=smtps exit 0"
else fail "apply --mode=smtps"; note "$OUT"; fi
check "SASL wiring: main.cf smtpd_sasl_type = dovecot, smtpd_sasl_path = private/auth" \
	test "$(postconf -c "$HPF" -h smtpd_sasl_type smtpd_sasl_path | tr '\n' ' ')" = "dovecot private/auth "
check "SASL wiring: Dovecot merges op25b's drop-in (doveconf -n shows the listener in the queue dir)" \
	bash -c "doveconf -c '$HDD/dovecot.conf' -n 2>/dev/null | grep -qF 'unix_listener $H/spool/private/auth {'"

# Not restarted yet: verify must see it (the served configuration is the old one).
"$OP25B" verify --host="$HOME_IP" --timeout=10 "${COMMON[@]}" >"$OUT" 2>&1; rc=$?
if [ $rc = 1 ] && has '^FAIL 465 implicit TLS: cannot connect: Connection refused'; then
	ok "verify on servers not yet reloaded: exit 1, FAIL 465 connection refused"
else fail "verify before reload (exit $rc)"; note "$OUT"; fi

pf_reload "$H"; dc_reload "$H"
if wait_port "$HOME_IP" 465 && wait_port "$HOME_IP" 993 && wait_port "$HOME_IP" 995 && wait_file "$H/spool/private/auth"; then
	ok "reloaded by PID: 465, 993, 995 listen, Dovecot's auth socket is in Postfix's queue dir"
else fail "reload after smtps"; note "$H/log/"*; fi

"${SW[@]}" --server "$HOME_IP" --port 465 --tlsc --tls-verify --tls-ca-path "$PKI/ca.pem" -a PLAIN -au alice -ap alicepw \
	--to alice@home.example.test --h-Subject e2e-smtps-1 >"$OUT" 2>&1
check "465: implicit TLS (CA-verified) + AUTH PLAIN accepted" has '235 2.7.0 Authentication successful'
f=$(fate "$HOME_LOG" "$(qid)")
check "465: the message is delivered to alice's maildir" grep -q 'status=sent (delivered to maildir)' <<<"$f"
"${SW[@]}" --server "$HOME_IP" --port 465 --tlsc --to bob@remote.example >"$OUT" 2>&1
check "465: relaying without AUTH is refused (554 5.7.1 ... Access denied)" has '554 5.7.1 <bob@remote.example>: .*Access denied'
"${SW[@]}" --server "$HOME_IP" --port 25 -tls --quit-after HELO >"$OUT" 2>&1
check "port 25: STARTTLS offered, AUTH not offered (not even after TLS)" bash -c "grep -q STARTTLS '$OUT' && ! grep -q 'AUTH' '$OUT'"
check "465: no plaintext SMTP (no banner within 1 s)" bash -c "exec 3<>/dev/tcp/$HOME_IP/465 && ! read -r -t 1 l <&3"
want=$(file_fp "$CERT")
for p in 465 993 995; do
	check "$p presents the configured certificate ($(basename "$CERT"))" test "$(served_fp "$HOME_IP" $p)" = "$want"
done
timeout 10 openssl s_client -connect "$HOME_IP:993" -CAfile "$PKI/ca.pem" -verify_hostname mail.home.example.test \
	-verify_return_error </dev/null >"$OUT" 2>&1
check "993: the chain verifies against the test CA for mail.home.example.test" has 'Verify return code: 0 \(ok\)'
CURL=(timeout 15 curl -sS --cacert "$PKI/ca.pem" -u alice:alicepw --resolve "mail.home.example.test:993:$HOME_IP"
	--resolve "mail.home.example.test:995:$HOME_IP")
"${CURL[@]}" 'imaps://mail.home.example.test/INBOX' -X 'SEARCH SUBJECT e2e-smtps-1' >"$OUT" 2>&1
check "IMAPS: the message is found in INBOX" has '^\* SEARCH [0-9]'
"${CURL[@]}" 'pop3s://mail.home.example.test/1' >"$OUT" 2>&1
check "POP3S: the message is read back" has '^Subject: e2e-smtps-1'

"$OP25B" verify --host="$HOME_IP" --timeout=10 "${COMMON[@]}" >"$OUT" 2>&1; rc=$?
if [ $rc = 0 ] && has "^ok 465 implicit TLS, certificate matches $CERT" && has '^ok 465 offers AUTH PLAIN LOGIN' &&
	has '^ok 465 refuses relaying without AUTH' && has "^ok 993 IMAPS, certificate matches $CERT" &&
	has "^ok 995 POP3S, certificate matches $CERT"; then
	ok "verify (smtps) passes: 465 TLS + certificate + AUTH + no open relay, 993, 995"
else fail "verify (smtps) exit $rc"; fi
note "$OUT"

# The certificate is renewed on disk (as certbot does) but Dovecot is not reloaded: verify says so.
cp -a "$PKI/home" "$SCRATCH/home-pki.orig"
bash "$HERE/pki.sh" "$E2E/pki2" "home:mail.home.example.test:$HOME_IP" >/dev/null && cp "$E2E/pki2/home/"*.pem "$PKI/home/"
"$OP25B" verify --host="$HOME_IP" --timeout=10 "${COMMON[@]}" >"$OUT" 2>&1; rc=$?
if [ $rc = 1 ] && has "^FAIL 993 IMAPS, serves CN=mail.home.example.test \(sha256 [0-9a-f]{16}\.\.\.\), not the configured $CERT .*restart"; then
	ok "verify after a renewal without reload: exit 1, FAIL 993 serves another certificate than the configured one"
else fail "verify after a renewal without reload (exit $rc)"; note "$OUT"; fi
cp -a "$SCRATCH/home-pki.orig/." "$PKI/home/"
pf_reload "$H" # a new smtpd may have loaded the renewed files meanwhile

# ---------------------------------------------------------------- submission, through the wire tap
TAP_LOG=$E2E/tap.bin
python3 "$HERE/tap.py" "$TAP_IP" "$ISP_IP" 587 "$TAP_LOG" 300 &
TAP_PID=$!
wait_port "$TAP_IP" 587 || fail "the wire tap did not start"
# The relay is reached by address here (the tap), which secure cannot match a certificate to:
# its public key is pinned (t-mitm.sh covers secure, by name).
if op apply --mode=submission --relayhost="[$TAP_IP]:587" --relay-user=homeuser --relay-tls=fingerprint \
	--relay-password-file="$E2E/secret/isp.pw" --no-restart --no-firewall; then
	ok "apply --mode=submission (mechanisms probed through the tap) exit 0"
else fail "apply --mode=submission"; fi
note "$OUT"
check "apply output never shows the ISP password" bash -c "! grep -q isppass '$OUT'"
isp_key=$(openssl x509 -in "$PKI/isp/cert.pem" -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -c | awk '{print toupper($2)}')
check "main.cf: relayhost, the ISP's public key pinned (seen through the tap), mechanisms found" \
	test "$(postconf -c "$HPF" -h relayhost smtp_tls_security_level smtp_tls_fingerprint_cert_match smtp_sasl_mechanism_filter | tr '\n' ' ')" = "[$TAP_IP]:587 fingerprint $isp_key plain, login "
op apply --mode=submission --relayhost="[$TAP_IP]:587" --relay-user=homeuser --relay-tls=fingerprint --relay-password-file="$E2E/secret/isp.pw" \
	--no-restart --no-firewall
check "the same apply again: nothing to change" has 'nothing to change'
pf_reload "$H"
check "reloaded: 587 listens" wait_port "$HOME_IP" 587

"${SW[@]}" --server "$HOME_IP" --port 587 --quit-after EHLO >"$OUT" 2>&1
check "587 before TLS: STARTTLS offered, no AUTH" bash -c "grep -q STARTTLS '$OUT' && ! grep -q '250-AUTH\|250 AUTH' '$OUT'"
: >"$TAP_LOG"
"${SW[@]}" --server "$HOME_IP" --port 587 -tls --tls-verify --tls-ca-path "$PKI/ca.pem" -a PLAIN -au alice -ap alicepw \
	--to bob@remote.example --h-Subject e2e-relay-ok >"$OUT" 2>&1
check "587: STARTTLS + AUTH accepted, message queued" bash -c "grep -q '235 2.7.0' '$OUT' && grep -q 'queued as' '$OUT'"
f=$(fate "$HOME_LOG" "$(qid)")
echo "#   home: $f"
check "relayed to the ISP through the tap: status=sent" grep -q "relay=$TAP_IP\[$TAP_IP\]:587.*status=sent" <<<"$f"
check "ISP log: TLS, then SASL login of homeuser" bash -c "grep -q 'Anonymous TLS connection established from unknown' '$ISP_LOG' &&
	grep -q 'sasl_method=PLAIN, sasl_username=homeuser' '$ISP_LOG'"
check "the message is in the ISP's sink maildir" in_maildir "$I/mail/sink" 'Subject: e2e-relay-ok'
plain=$(printf '\0homeuser\0isppass' | base64) plain2=$(printf 'homeuser\0homeuser\0isppass' | base64)
login=$(printf 'isppass' | base64)
check "the tap saw STARTTLS and then TLS records (the relay connection went through it)" \
	bash -c "grep -aq STARTTLS '$TAP_LOG' && LC_ALL=C grep -aqP '\x16\x03[\x01-\x04]' '$TAP_LOG'"
check "the wire carries no AUTH command in clear, no AUTH PLAIN/LOGIN base64, no password" \
	bash -c "! grep -aqE 'AUTH |$plain|$plain2|$login|isppass' '$TAP_LOG'"

"$OP25B" verify --host="$HOME_IP" --timeout=10 "${COMMON[@]}" >"$OUT" 2>&1; rc=$?
if [ $rc = 0 ] && has "^ok 587 STARTTLS, certificate matches $CERT" && has '^ok 587 offers AUTH PLAIN LOGIN, only after STARTTLS' &&
	has "^ok relay \[$TAP_IP\]:587 answers, TLS .*, AUTH PLAIN LOGIN after TLS"; then
	ok "verify (smtps + submission) passes: 587 STARTTLS before AUTH, relay reachable with the mechanisms"
else fail "verify (smtps + submission) exit $rc"; fi
note "$OUT"
"$OP25B" verify --host="$HOME_IP" --timeout=10 --json "${COMMON[@]}" >"$OUT" 2>&1
check "verify --json: one JSON object, ok true, no failed check" python3 -c "
import json, sys
d = json.load(open('$OUT'))
sys.exit(0 if d['ok'] and d['failed'] == 0 and d['modes'] == ['smtps', 'submission'] else 1)"

"$OP25B" verify -v --host="$HOME_IP" --timeout=20 --send-test=bob@remote.example --user=alice \
	--password-file="$E2E/secret/alice.pw" "${COMMON[@]}" >"$OUT" 2>&1; rc=$?
if [ $rc = 0 ] && has "^ok send-test to bob@remote.example queued as [0-9A-Za-z]+ on 587; $HOME_LOG: .*relay=$TAP_IP.*status=sent"; then
	ok "verify --send-test: submitted on 587, queue ID reported, the mail log says sent via the ISP"
else fail "verify --send-test (exit $rc)"; fi
note "$OUT"
check "verify --send-test: the ISP's sink got the test message" in_maildir "$I/mail/sink" 'Subject: op25b verify --send-test'
alice64=$(printf '\0alice\0alicepw' | base64)
check "verify -v output shows the AUTH step but never alice's password, nor its base64" \
	bash -c "grep -q 'AUTH PLAIN (credentials not shown)' '$OUT' && ! grep -qF -e alicepw -e '$alice64' '$OUT'"
# Without the mail log file (a journal-only system) and with no journal to read here: the delivery
# is "not seen", never reported OK.
mv "$HOME_LOG" "$HOME_LOG.away"
"$OP25B" verify --host="$HOME_IP" --timeout=5 --send-test=bob@remote.example --user=alice \
	--password-file="$E2E/secret/alice.pw" "${COMMON[@]}" >"$OUT" 2>&1; rc=$?
mv "$HOME_LOG.away" "$HOME_LOG"
check "verify --send-test without the mail log file: 'skip ... delivery not seen', not ok" \
	bash -c "grep -q '^skip send-test to bob@remote.example queued as [0-9A-Za-z]* on 587; delivery not seen' '$OUT' && ! grep -q '^ok send-test' '$OUT'"
note "$OUT"

# ---------------------------------------------------------------- wrong passwords (last)
op apply --mode=submission --relayhost="[$TAP_IP]:587" --relay-user=homeuser --relay-tls=fingerprint \
	--relay-password-file="$E2E/secret/isp-wrong.pw" --no-restart --no-firewall
check "apply with a new (wrong) ISP password: exit 0, the map rewritten" bash -c "grep -q 'ispinfo' '$OUT' && ! grep -q WRONG-isp '$OUT'"
pf_reload "$H"; sleep 0.5
"${SW[@]}" --server "$HOME_IP" --port 587 -tls -a PLAIN -au alice -ap alicepw --to bob@remote.example \
	--h-Subject e2e-relay-badpw >"$OUT" 2>&1
f=$(fate "$HOME_LOG" "$(qid)")
echo "#   home: $f"
check "wrong ISP password: deferred, with the ISP's 535 in the log line" \
	grep -q "status=deferred (SASL authentication failed; server $TAP_IP\[$TAP_IP\] said: 535 5.7.8" <<<"$f"
printf 'not-alicepw\n' | "$OP25B" verify --host="$HOME_IP" --timeout=15 --send-test=alice@home.example.test \
	--user=alice --password-stdin "${COMMON[@]}" >"$OUT" 2>&1; rc=$?
if [ $rc = 1 ] && has '^FAIL send-test to alice@home.example.test: 587 AUTH as alice refused: 535'; then
	ok "verify --send-test --password-stdin with a wrong user password: exit 1, FAIL with the server's 535"
else fail "verify --send-test, wrong password (exit $rc)"; fi
note "$OUT"

# ---------------------------------------------------------------- revert
if op revert --no-restart --no-firewall; then ok "revert exit 0"; else fail "revert"; fi
note "$OUT"
check "revert: the home configuration is byte for byte as before (map and drop-in removed)" \
	diff -r "$SCRATCH/home-etc.orig" "$H/etc"
pf_reload "$H"; dc_reload "$H"
check "after revert + reload: 465 closed" wait_closed "$HOME_IP" 465
check "after revert + reload: 587 closed" wait_closed "$HOME_IP" 587
check "after revert: relayhost gone" test -z "$(postconf -c "$HPF" -h relayhost)"
"${SW[@]}" --server "$HOME_IP" --port 25 --to alice@home.example.test --h-Subject e2e-after-revert >"$OUT" 2>&1
f=$(fate "$HOME_LOG" "$(qid)")
check "after revert: port 25 still delivers locally" grep -q 'status=sent (delivered to maildir)' <<<"$f"
"$OP25B" verify --host="$HOME_IP" "${COMMON[@]}" >"$OUT" 2>&1; rc=$?
check "after revert: verify says nothing is applied (exit 1)" bash -c "[ $rc = 1 ] && grep -q 'applied nothing' '$OUT'"

pids="$(pf_pid "$H") $(dc_pid "$H") $(pf_pid "$I") $(dc_pid "$I") $TAP_PID"
stop_all
TAP_PID=
left=""
for p in $pids; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
check "every server and the tap stopped by PID (${pids// /, })" test -z "$left"
wall
finish
