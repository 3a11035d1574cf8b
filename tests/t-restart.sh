#!/bin/bash
# The expansions in `check ... eval '...'` are meant to happen when the check runs.
# shellcheck disable=SC2016,SC2034,SC1091
# t-restart.sh: apply/revert end to end through the real ./op25b, against a REAL systemd 252 booted in
# private namespaces (tests/lib/sysd.sh) running the real postfix@-.service and dovecot.service on
# the instance's private /etc/postfix and /etc/dovecot: reload after apply (no restart), nothing
# reloaded when nothing changes, rollback when Postfix or Dovecot does not serve the new files (a
# Postfix that died on its reload is restarted), the offline modes (SYSTEMD_OFFLINE=1, --root),
# --no-restart, and revert. Postfix really serves implicit TLS on 465. (t-reload.sh: open sessions.)
#
# Inside the instance /tmp and /run are private; the binary and its lenses are copied to its /run,
# the certificate lives there too (/run/op25b/pki), the journal in /run/op25b/state. firewalld is
# hidden inside (tmpfs over /usr/lib/firewalld and /etc/firewalld in the instance's mount
# namespace) and every run passes --no-firewall: the firewall step is t-fwapply.sh's job.
# Prints "ok - ...", "FAIL - ...", "skip - ...", "# ..." notes (what op25b printed, timings), and
# finally "N passed, N failed, N skipped"; exits non-zero when a check failed.
. "$(dirname "$0")/lib/testlib.sh"
SYSD=$TOP/tests/lib/sysd.sh
PFU=$(bash "$SYSD" postfix-unit)   # postfix@-.service (Debian 11, 12) or postfix.service (13)
S=$SCRATCH/sysd
started=0

skip_all() { skip "$*"; finish; exit 0; }
[ "$(id -u)" = 0 ] || skip_all "not root (a real systemd in namespaces needs root)"
[ -x "$OP25B" ] || skip_all "$OP25B is not built (make op25b)"
for c in postconf dovecot doveconf openssl sha256sum timeout; do
	command -v "$c" >/dev/null || skip_all "no $c"
done
why=$("$SYSD" check 2>&1) || skip_all "systemd harness cannot run here: ${why#no: }"

cleanup() {
	if [ "$started" = 1 ]; then "$SYSD" stop "$S" || echo "# warning: sysd.sh stop $S failed" >&2; fi
	cleanup_scratch
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ms() { echo $(($(date +%s%N) / 1000000)); }
us() { date +%s%6N; }
has() { grep -qF -- "$1" "$OUT"; }
show() { sed 's/^/#   /' "$OUT"; }

# What the host has, to prove at the end that nothing of it was touched.
host_state() {
	for d in /etc/postfix /etc/dovecot /etc/firewalld /var/lib/op25b; do
		if [ -e "$d" ]; then find "$d" -type f -print0 | sort -z | xargs -0r sha256sum; else echo "no $d"; fi
	done
}
host_before=$(host_state)

# ---- boot ----------------------------------------------------------------------------------------
t0=$(ms)
if ! "$SYSD" start "$S" >"$SCRATCH/start.log" 2>&1; then
	started=1
	sed 's/^/# /' "$SCRATCH/start.log" | tail -20
	fail "harness: systemd booted in private namespaces"
	finish
	exit 1
fi
started=1
ok "harness: systemd 252 booted in private namespaces ($(($(ms) - t0)) ms)"

X() { timeout 200 "$SYSD" exec "$S" "$@"; }   # every command inside is bounded
IN=/run/op25b/bin/op25b
install -d "$S/run/op25b/bin"
install -m 755 "$OP25B" "$S/run/op25b/bin/op25b"
cp -a "$TOP/lenses" "$S/run/op25b/bin/lenses"
make_pki "$S/run/op25b/pki" 30 mail.example.test
CERT=/run/op25b/pki/fullchain.pem KEY=/run/op25b/pki/privkey.pem
# The same certificate under /tmp: op25b and doveconf see it, dovecot.service (PrivateTmp=true) does not.
mkdir -p "$S/tmp/op25b-pki" && cp -a "$S/run/op25b/pki/." "$S/tmp/op25b-pki/"
STATE=/run/op25b/state
COMMON=(--state-dir="$STATE" --no-firewall)

# firewalld must be invisible inside: the instance's / is the host's, except what sysd.sh binds.
guard=ok
for d in /usr/lib/firewalld /etc/firewalld; do
	[ -d "$d" ] || continue
	X mount -t tmpfs -o size=1m,mode=0755 op25b-nofw "$d" || guard=failed
done
check "firewalld hidden inside the instance (tmpfs over /usr/lib/firewalld, /etc/firewalld)" \
	eval '[ $guard = ok ] && [ -z "$(X ls -A /usr/lib/firewalld 2>/dev/null)" ]'

# Postfix waits ~2 s for a main.cf younger than that: the harness has just written it.
touch -d '-1 min' "$S/etc-postfix/main.cf"
X systemctl start $PFU dovecot.service
check "baseline: $PFU and dovecot.service running inside" \
	eval '[ "$(X systemctl is-active $PFU dovecot.service | tr "\n" " ")" = "active active " ]'
ORIG=$SCRATCH/orig
mkdir -p "$ORIG" && cp -a "$S/etc-postfix" "$S/etc-dovecot" "$ORIG/"
orig_files() { same_tree "$ORIG/etc-postfix" "$S/etc-postfix" && same_tree "$ORIG/etc-dovecot" "$S/etc-dovecot"; }
files_sum() { (cd "$S" && find etc-postfix etc-dovecot -type f -printf '%p %m ' -exec sha256sum {} \; | sort); }

# op [VAR=VALUE...] ARGS...: run op25b inside (plain environment, at most 180 s); output in $OUT, status $rc.
OUT=$SCRATCH/out
op() {
	local envs=()
	while [ $# -gt 0 ] && [[ $1 == [A-Z]*=* ]]; do envs+=("$1"); shift; done
	X timeout 180 env -u SYSTEMD_OFFLINE -u DBUS_SYSTEM_BUS_ADDRESS "${envs[@]}" "$IN" "$@" >"$OUT" 2>&1
	rc=$?
}
inv() { X systemctl show -P InvocationID $PFU dovecot.service | tr '\n' ' '; }
both_active() { [ "$(X systemctl is-active $PFU dovecot.service | tr '\n' ' ')" = "active active " ]; }
# Between cases: no failed state or start-rate counter carried over.
reset() { X systemctl reset-failed $PFU dovecot.service 2>/dev/null; }
# "subject=CN=..." of the certificate served on 127.0.0.1:PORT (implicit TLS); OpenSSL 3.0 prints
# "CN = ...", 3.5 "CN=...".
served_cn() { X timeout 10 openssl s_client -connect "127.0.0.1:$1" </dev/null 2>/dev/null | sed -n 's/^subject=//p' | sed 's/ = /=/g'; }
smtps_session() {
	# -crlf turns each LF into CRLF (OpenSSL 3.5 would send "\r\r\n" for "\r\n"); QUIT waits for
	# the EHLO reply: Postfix 3.9+ (smtpd_forbid_unauth_pipelining) drops a client that pipelines.
	{ sleep 0.5; printf 'EHLO op25b-test\n'; sleep 0.5; printf 'QUIT\n'; } |
		X timeout 10 openssl s_client -connect 127.0.0.1:465 -crlf -ign_eof -servername op25b.test 2>&1
}
listening() { [ -n "$(X ss -Htln "sport = :$1")" ]; }
banner25() { X timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/25 && head -1 <&3 && printf "QUIT\r\n" >&3' 2>/dev/null; }
# A reload returns before the daemon has re-read its files: what it serves is asked for up to 5 s.
eventually() { local i; for i in $(seq 50); do "$@" && return 0; sleep 0.1; done; return 1; }
status_is() { X "$IN" status --state-dir="$STATE" 2>&1 | grep -qx "smtps: $1"; }

# ---- 1. apply --mode=smtps: written, reloaded, served ----------------------------------------------
i0=$(inv)
t0=$(us)
op apply --mode=smtps --cert="$CERT" --key="$KEY" "${COMMON[@]}"
t1=$(us)
echo "# op25b apply --mode=smtps --cert=$CERT --key=$KEY ${COMMON[*]}:"
show
check "apply: exit 0" test "$rc" = 0
check "apply: $PFU reloaded, job done, active/running" has "reloaded $PFU (active/running"
check "apply: dovecot.service reloaded, job done, active/running" has "reloaded dovecot.service (active/running"
check "apply: op25b saw 465 and 993 serve the new certificate before it committed" \
	eval 'has "465 serves $CERT" && has "993 serves $CERT"'
i1=$(inv)
check "apply: both units kept their InvocationID (reloaded, not restarted) and are active" \
	eval 'both_active && [ "$i1" = "$i0" ]'
echo "# time: apply start -> op25b exited, 465 and 993 seen serving the new certificate: $(((t1 - t0) / 1000)) ms"
svc=$(X postconf -M submissions/inet smtps/inet 2>/dev/null)
check "apply: postconf -M inside shows the 465 service with wrapper mode and SASL" \
	eval '[[ $svc == *"inet"*"smtpd_tls_wrappermode=yes"*"smtpd_sasl_auth_enable=yes"* ]]'
check "apply: postconf inside uses the new certificate" \
	test "$(X postconf -h smtpd_tls_cert_file)" = "$CERT"
sess=$(smtps_session)
check "apply: 127.0.0.1:465 answers implicit TLS with the new certificate, SMTP banner, EHLO, QUIT" \
	eval 'grep -qE "subject=CN ?= ?mail.example.test" <<<"$sess" && grep -aq "^220 .*ESMTP" <<<"$sess" &&
	grep -aq "^250 " <<<"$sess" && grep -aq "^221 " <<<"$sess"'
grep -aE '^(subject=|220 |250 |    Protocol)' <<<"$sess" | tr -d '\r' | sed 's/^ */#   465: /'
check "apply: dovecot serves the new certificate on 993" test "$(served_cn 993)" = "CN=mail.example.test"
check "apply: status says applied" status_is applied

# ---- 2. the same apply again: nothing to change, nothing reloaded --------------------------------
sum1=$(files_sum)
op apply --mode=smtps --cert="$CERT" --key="$KEY" "${COMMON[@]}"
check "second apply: exit 0, \"nothing to change\"" eval '[ $rc = 0 ] && has "nothing to change"'
check "second apply: no reload (InvocationIDs unchanged, nothing said about reloads)" \
	eval '[ "$(inv)" = "$i1" ] && ! has reload'
check "second apply: no file written" eval '[ "$(files_sum)" = "$sum1" ]'

# ---- 3. revert: original bytes, reloaded -----------------------------------------------------------
t0=$(us)
op revert "${COMMON[@]}"
t1=$(us)
echo "# op25b revert:"
show
i2=$(inv)
check "revert: exit 0, both units reloaded" \
	eval '[ $rc = 0 ] && has "reloaded $PFU (active/running" && has "reloaded dovecot.service (active/running"'
check "revert: same InvocationIDs (no restart), both active" \
	eval 'both_active && [ "$i2" = "$i1" ]'
check "revert: /etc/postfix and /etc/dovecot byte for byte (and modes) as before" orig_files
check "revert: 465 no longer served, dovecot back on its old certificate" \
	eventually eval '! listening 465 && [ "$(served_cn 993)" = "CN=op25b.test" ]'
echo "# time: revert (files + reloads) $(((t1 - t0) / 1000)) ms"
check "revert: status says not applied" status_is "not applied"

# ---- 4. Postfix does not start with the new files: 465 is taken by another daemon ------------------
# (as an stunnel left from an older recipe would do). postconf has nothing to say about it; the
# master daemon fails to bind on the reload and exits: 465 does not greet, op25b puts the files back
# and restarts the dead Postfix with them.
reset
X systemd-run --unit=op25b-blocker --collect -q openssl s_server -quiet -accept 127.0.0.1:465 \
	-cert "$CERT" -key "$KEY" >/dev/null 2>&1
for _ in $(seq 100); do listening 465 && break; sleep 0.05; done
check "another daemon (openssl s_server, op25b-blocker) listens on 127.0.0.1:465" listening 465
i3=$(inv)
op apply --mode=smtps --cert="$CERT" --key="$KEY" "${COMMON[@]}"
echo "# op25b apply with 465 taken:"
show
check "postfix fails: exit 1" test "$rc" = 1
check "postfix fails: op25b says 465 does not serve the certificate with an SMTP greeting" \
	has "op25b: Postfix was reloaded, but localhost port 465 does not serve $CERT: presents the certificate but no SMTP greeting"
check "postfix fails: says the files were put back, Postfix restarted with them" \
	eval 'has "the files were put back; reloading with them" && has "restarted $PFU (active/running" &&
	has "smtps: failed; the configuration was put back as it was"'
check "postfix fails: files rolled back byte for byte" orig_files
check "postfix fails: $PFU and dovecot.service active again (restarted with the old files)" \
	eval 'both_active && [ "$(inv)" != "$i3" ]'
check "postfix fails: Postfix runs the old configuration (no 465 service, port 25 answers)" \
	eval '[ -z "$(X postconf -M submissions/inet 2>/dev/null)" ] && banner25 | grep -q "^220 "'
why=$(grep -a 'port 465' "$S/lib-postfix/maillog" 2>/dev/null | tail -1)
if [ -n "$why" ] || ! X postconf -h mail_version | grep -qE '^3\.(1[0-9]|[2-9][0-9])'; then
	check "postfix fails: Postfix's own reason in its maillog: ${why#* * * }" eval '[[ $why == *"Address already in use"* ]]'
else
	# Measured on Debian 13: Postfix 3.10's master that cannot bind dies before postlogd runs, and
	# its reason reaches neither the maillog nor the journal.
	skip "postfix fails: Postfix $(X postconf -h mail_version) logs no reason for a master that cannot bind"
fi
check "postfix fails: nothing left in the journal (status: not applied)" status_is "not applied"
X systemctl stop op25b-blocker.service

# ---- 5. Dovecot does not start with the new files: the certificate is under /tmp ------------------
# op25b and doveconf read /tmp/op25b-pki, but dovecot.service has PrivateTmp=true and sees an empty /tmp.
reset
i4=$(inv)
op apply --mode=smtps --cert=/tmp/op25b-pki/fullchain.pem --key=/tmp/op25b-pki/privkey.pem "${COMMON[@]}"
echo "# op25b apply with the certificate in /tmp (dovecot.service has PrivateTmp=true):"
show
check "dovecot fails: exit 1" test "$rc" = 1
# Debian 11 (Dovecot 2.3.13): the unit's ExecReload, doveadm reload, reads the configuration with
# its certificate files and fails: op25b restarts the unit instead (which fails too). Later
# Dovecots reload, and 993 serves nothing new.
reload_failed=0
has "restarting dovecot.service, whose reload failed" && reload_failed=1
check "dovecot fails: op25b says 993 does not serve the certificate (or the reload failed) and shows Dovecot's reason from the journal" \
	eval '{ has "op25b: Dovecot was reloaded, but localhost port 993 does not serve /tmp/op25b-pki/fullchain.pem" ||
	{ [ $reload_failed = 1 ] && has "op25b: dovecot.service: job failed, unit failed (failed/failed, exit-code)"; }; } &&
	{ has "ssl_cert: Can'"'"'t open file /tmp/op25b-pki/fullchain.pem" ||
	has "ssl_server_cert_file: open(/tmp/op25b-pki/fullchain.pem) failed"; }'   # Dovecot 2.3 / 2.4 wording
check "dovecot fails: files rolled back byte for byte" orig_files
if [ $reload_failed = 0 ]; then
	check "dovecot fails: both units active again, reloaded with the old files (no restart)" \
		eval 'has "reloaded dovecot.service (active/running" && both_active && [ "$(inv)" = "$i4" ]'
else
	check "dovecot fails: both units active again, Dovecot restarted with the old files (its reload had failed)" \
		eval 'has "restarted dovecot.service (active/running" && both_active && [ "$(inv)" != "$i4" ]'
fi
check "dovecot fails: Dovecot serves its old certificate" eventually eval '[ "$(served_cn 993)" = "CN=op25b.test" ]'
check "dovecot fails: nothing left in the journal (status: not applied)" status_is "not applied"

# ---- 6./7. offline: SYSTEMD_OFFLINE=1 and --root ---------------------------------------------------
reset
offline_case() { # NAME REASON [VAR=VALUE] [OPTIONS...]: apply and revert, files edited, nothing restarted
	local name=$1 reason=$2 e=() i
	shift 2
	[[ ${1:-} == [A-Z]*=* ]] && { e=("$1"); shift; }
	i=$(inv)
	op "${e[@]}" apply --mode=smtps --cert="$CERT" --key="$KEY" "${COMMON[@]}" "$@"
	echo "# op25b apply ($name):"
	show
	check "$name apply: exit 0, \"restarts skipped ($reason)\"" \
		eval '[ $rc = 0 ] && has "restarts skipped ($reason): reload Postfix and Dovecot to use the new configuration"'
	# Postfix 3.5's stock master.cf (Debian 11) names the 465 service smtps, later ones submissions.
	check "$name apply: files edited (postconf -M shows the 465 service)" \
		eval '! orig_files >/dev/null && [ -n "$(X postconf -M submissions/inet smtps/inet 2>/dev/null)" ]'
	check "$name apply: nothing restarted (InvocationIDs unchanged, 465 not served)" \
		eval '[ "$(inv)" = "$i" ] && both_active && ! listening 465'
	op "${e[@]}" revert "${COMMON[@]}" "$@"
	check "$name revert: exit 0, restarts skipped, original bytes back, nothing restarted" \
		eval '[ $rc = 0 ] && has "restarts skipped ($reason)" && orig_files && [ "$(inv)" = "$i" ]'
}
offline_case "SYSTEMD_OFFLINE=1" "SYSTEMD_OFFLINE=1" SYSTEMD_OFFLINE=1
offline_case "--root=/" "--root given" --root=/

# ---- 8. --no-restart ---------------------------------------------------------------------------------
i5=$(inv)
op apply --mode=smtps --cert="$CERT" --key="$KEY" "${COMMON[@]}" --no-restart
echo "# op25b apply --no-restart:"
show
check "--no-restart: exit 0, says what still needs a restart" \
	eval '[ $rc = 0 ] && has "not restarting (--no-restart): reload Postfix and Dovecot to use the new configuration"'
check "--no-restart: files edited, nothing restarted" eval '! orig_files >/dev/null && [ "$(inv)" = "$i5" ]'
op revert "${COMMON[@]}" --no-restart
check "revert --no-restart: exit 0, says so, original bytes, nothing restarted" \
	eval '[ $rc = 0 ] && has "not restarting (--no-restart)" && orig_files && [ "$(inv)" = "$i5" ]'
op revert "${COMMON[@]}"
check "revert with nothing applied: \"nothing to revert\", no restart" \
	eval '[ $rc = 0 ] && has "nothing to revert" && [ "$(inv)" = "$i5" ]'

# ---- the host --------------------------------------------------------------------------------------
check "host /etc/postfix, /etc/dovecot, /etc/firewalld, /var/lib/op25b untouched" \
	eval '[ "$(host_state)" = "$host_before" ]'

t0=$(ms)
started=0
if "$SYSD" stop "$S" 2>"$SCRATCH/stop.log"; then
	ok "harness stopped: every process gone, cgroup removed ($(($(ms) - t0)) ms)"
else
	sed 's/^/# /' "$SCRATCH/stop.log"
	fail "harness stopped: every process gone, cgroup removed"
fi
finish
